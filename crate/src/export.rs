//! Output formats for a run: JSON (the schema), JSON Lines, CSV, a table.

use crate::report::{Finding, RunReport};

/// The whole run as pretty JSON (the documented schema).
pub fn to_json(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).expect("report serializes")
}

/// The same JSON and a line end, written as it is made (the page writes it
/// into a `Blob` part by part instead of holding it whole).
pub fn write_json(report: &RunReport, mut out: impl std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, report)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// One JSON Lines line: `{"type": kind, ...the object's fields}`.
pub fn jsonl_line(kind: &str, v: serde_json::Value) -> String {
    let mut obj = serde_json::Map::new();
    obj.insert("type".into(), kind.into());
    if let serde_json::Value::Object(m) = v {
        obj.extend(m);
    }
    let mut line = serde_json::Value::Object(obj).to_string();
    line.push('\n');
    line
}

/// A finding's JSON Lines line: `"type": "finding"`, its fields, then its
/// event when it was read again (`--events`).
#[derive(serde::Serialize)]
struct FindingLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    finding: &'a Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a serde_json::Value>,
}

/// Appends a finding's line, serialized straight from the finding, as
/// [`jsonl_line`] of its `serde_json::Value` would print it (going through
/// the value cost the hit-rich bench log's CLI run 0.5 of its 3.7 CPU s).
pub fn push_finding_line(out: &mut Vec<u8>, finding: &Finding, event: Option<&serde_json::Value>) {
    serde_json::to_writer(&mut *out, &FindingLine { kind: "finding", finding, event }).expect("finding serializes");
    out.push(b'\n');
}

/// One JSON object per line, in the order the CLI streams them: the rule
/// load report (`"type": "rules"`), each finding (`"type": "finding"`),
/// each file report (`"type": "file"`), then the coverage notes.
pub fn to_jsonl(report: &RunReport) -> String {
    let mut out = jsonl_line("rules", serde_json::to_value(&report.rules).expect("report serializes"));
    let mut lines = Vec::new();
    report.findings.iter().for_each(|f| push_finding_line(&mut lines, f, None));
    out.push_str(std::str::from_utf8(&lines).expect("JSON is UTF-8"));
    for f in &report.files {
        out.push_str(&jsonl_line("file", serde_json::to_value(f).expect("file report serializes")));
    }
    for c in &report.coverage {
        out.push_str(&jsonl_line("coverage", serde_json::to_value(c).expect("coverage serializes")));
    }
    out
}

pub const CSV_COLUMNS: &[&str] = &[
    "analytic_id",
    "analytic_title",
    "file",
    "event_record_id",
    "event_id",
    "time_created",
    "computer",
    "source_process",
    "attack",
    "false_positive_hint",
    "matched",
    "recovery",
];

/// The findings as CSV. Cells that a spreadsheet would run as a formula
/// (leading `=`, `+`, `-`, `@`, tab, CR) get a leading `'`.
pub fn findings_csv(findings: &[Finding]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).expect("writes to memory");
    let rows = findings_csv_rows(findings);
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("csv is utf-8") + &rows
}

/// CSV rows of findings, without the header (streamed output).
pub fn findings_csv_rows(findings: &[Finding]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for f in findings {
        let row = [
            f.analytic_id.to_string(),
            f.analytic_title.to_string(),
            f.file.to_string(),
            f.event_record_id.to_string(),
            f.event_id.map(|i| i.to_string()).unwrap_or_default(),
            f.time_created.clone().unwrap_or_default(),
            f.computer.as_deref().unwrap_or_default().to_string(),
            f.source_process.as_deref().unwrap_or_default().to_string(),
            f.attack.join(" "),
            f.false_positive_hint.as_deref().unwrap_or_default().to_string(),
            matched_cell(f),
            f.recovery_text().unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|c| neutralize_formula(c))).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).expect("csv is utf-8")
}

/// The fields that matched, as one cell: `Field=value; Field=value`.
fn matched_cell(f: &Finding) -> String {
    f.matched.iter().map(|m| format!("{}={}", m.field, m.value.text().unwrap_or_default())).collect::<Vec<_>>().join("; ")
}

/// Timesketch's CSV import: `message`, `datetime` (ISO 8601, UTC) and
/// `timestamp_desc` first, then the finding's fields.
pub const TIMESKETCH_COLUMNS: &[&str] = &[
    "message",
    "datetime",
    "timestamp_desc",
    "analytic_id",
    "analytic_title",
    "level",
    "file",
    "event_record_id",
    "event_id",
    "computer",
    "channel",
    "source_process",
    "attack",
    "matched",
];

/// The findings as a Timesketch CSV (header included when `header`).
pub fn timesketch_csv(findings: &[Finding], header: bool) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(TIMESKETCH_COLUMNS).expect("writes to memory");
    }
    for f in findings {
        let message = format!(
            "{}: {} on {}{}",
            f.analytic_id,
            f.analytic_title,
            f.computer.as_deref().unwrap_or("?"),
            f.source_process.as_deref().map(|p| format!(" by {p}")).unwrap_or_default()
        );
        let row = [
            message,
            f.time_created.clone().unwrap_or_default(),
            "Event Recorded".to_string(),
            f.analytic_id.to_string(),
            f.analytic_title.to_string(),
            f.level.as_deref().unwrap_or_default().to_string(),
            f.file.to_string(),
            f.event_record_id.to_string(),
            f.event_id.map(|i| i.to_string()).unwrap_or_default(),
            f.computer.as_deref().unwrap_or_default().to_string(),
            f.channel.as_deref().unwrap_or_default().to_string(),
            f.source_process.as_deref().unwrap_or_default().to_string(),
            f.attack.join(" "),
            matched_cell(f),
        ];
        w.write_record(row.iter().map(|c| neutralize_formula(c))).expect("writes to memory");
    }
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("csv is utf-8")
}

/// The columns of a search's CSV (`evtx-triage search --format csv`, and the page's export).
pub const SEARCH_COLUMNS: &[&str] = &["file", "event_record_id", "event_id", "time_created", "computer", "channel", "recovery", "event"];

/// A search hit as one JSON line.
pub fn search_jsonl_line(hit: &crate::query::SearchHit) -> String {
    let mut line = String::new();
    push_search_jsonl_line(&mut line, hit);
    line
}

/// [`search_jsonl_line`], put at the end of `out`.
pub fn push_search_jsonl_line(out: &mut String, hit: &crate::query::SearchHit) {
    let fields = serde_json::to_string(hit).expect("a hit serializes");
    // The event last, as the JSON text it is.
    out.push_str(&fields[..fields.len() - 1]);
    out.push_str(",\"event\":");
    out.push_str(hit.event.get());
    out.push_str("}\n");
}

/// The header line of a search's CSV.
pub fn search_csv_header() -> String {
    csv_line(SEARCH_COLUMNS.iter().copied())
}

/// A search hit as a CSV row; the event as compact JSON in its cell.
pub fn search_csv_row(hit: &crate::query::SearchHit) -> String {
    let cells = [
        hit.file.clone(),
        hit.event_record_id.to_string(),
        hit.event_id.map(|i| i.to_string()).unwrap_or_default(),
        hit.time_created.clone().unwrap_or_default(),
        hit.computer.clone().unwrap_or_default(),
        hit.channel.clone().unwrap_or_default(),
        hit.recovery.clone().unwrap_or_default(),
        hit.event.get().to_string(),
    ];
    csv_line(cells.iter().map(String::as_str))
}

/// One CSV line; cells a spreadsheet would run as a formula are defused.
fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(cells.map(neutralize_formula)).expect("writes to memory");
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("csv is utf-8")
}

/// Prefixes a cell that spreadsheets would evaluate as a formula.
pub fn neutralize_formula(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

pub const NOTES_CSV_COLUMNS: &[&str] = &["file", "kind", "chunk", "offset", "first_id", "last_id", "reason"];

/// The files' integrity notes as CSV, one row per note.
pub fn notes_csv(files: &[crate::report::FileReport]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(NOTES_CSV_COLUMNS).expect("writes to memory");
    let text = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    for f in files {
        for n in &f.notes {
            let kind = serde_json::to_value(n.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let row = [f.file.to_string(), kind, text(n.chunk), n.offset.to_string(), text(n.first_id), text(n.last_id), n.reason.clone()];
            w.write_record(row.iter().map(|c| neutralize_formula(c))).expect("writes to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("csv is utf-8")
}

/// A readable summary for a terminal.
pub fn to_table(report: &RunReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let t = &report.totals;
    let _ = writeln!(
        out,
        "{} file(s), {} records, {} finding(s){}",
        report.files.len(),
        t.records,
        report.findings.len(),
        match (&t.first_time, &t.last_time) {
            (Some(a), Some(b)) => format!(", {a} .. {b}"),
            _ => String::new(),
        }
    );
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\nFINDINGS");
        let _ =
            writeln!(out, "{:<16} {:<28} {:>10} {:>5}  {:<14} {:<40} FILE", "ANALYTIC", "TIME", "RECORD", "EVENT", "COMPUTER", "PROCESS");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "{:<16} {:<28} {:>10} {:>5}  {:<14} {:<40} {}{}",
                f.analytic_id,
                f.time_created.as_deref().unwrap_or("-"),
                f.event_record_id,
                f.event_id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                clip(f.computer.as_deref().unwrap_or("-"), 14),
                clip(f.source_process.as_deref().unwrap_or("-"), 40),
                f.file,
                if f.false_positive_hint.is_some() { "  [known false positive?]" } else { "" }
            );
            if let Some(how) = f.recovery_text() {
                let _ = writeln!(out, "{:<16} {how}", "");
            }
        }
    }
    let _ = writeln!(out, "\nFILES");
    for f in &report.files {
        let status = f.status.as_str();
        if let Some(first) = &f.duplicate_of {
            let _ = writeln!(out, "{status:<10} the same bytes as {first}: not analyzed again  {}", f.file);
            let _ = writeln!(out, "           sha256 {}", f.sha256.as_deref().unwrap_or("-"));
            continue;
        }
        let _ = writeln!(out, "{:<10} {:>8} records {:>11} {:>3} findings  {}", status, f.records, f.layout(), f.findings, f.file);
        let _ = writeln!(
            out,
            "           sha256 {}  {} bytes",
            f.sha256.as_deref().unwrap_or("not computed (the file was not read to its end)"),
            f.size
        );
        if let Some(e) = &f.error {
            let _ = writeln!(out, "           {e}");
        }
        for i in f.issues.iter().take(20) {
            let _ = writeln!(out, "           {}: {}", i.location(), i.reason);
        }
        if let Some(recovery) = f.recovery.summary() {
            let _ = writeln!(out, "           {recovery}");
        }
        for n in f.notes.iter().take(20) {
            let _ = writeln!(out, "           note: {}", n.reason);
        }
        if f.issues.len() > 20 {
            let _ = writeln!(out, "           ... {} more issue(s), see --format json", f.issues.len() - 20);
        }
    }
    if !report.incidents.is_empty() {
        let _ = writeln!(out, "\nINCIDENTS (the findings of one process on one computer, and correlation hits)");
        for i in &report.incidents {
            let _ = writeln!(out, "{:>4} finding(s), {:>5} event(s)  {}", i.findings.len(), i.events.len(), i.summary);
        }
    }
    let _ = writeln!(out, "\nCOVERAGE");
    for c in &report.coverage {
        let _ = writeln!(out, "{:<16} {}", c.analytic_id, c.note);
    }
    out
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo log's findings, matched fields and snippets included, print
    /// the same line straight as through their `serde_json::Value`, with and
    /// without an event.
    #[test]
    fn finding_lines_equal_their_value_lines() {
        let scan = crate::scan::scan_bytes("demo.evtx", &crate::demo::demo_log(), &crate::rules::RuleSet::builtin());
        let findings = scan.findings();
        assert!(findings.iter().any(|f| !f.matched.is_empty()), "the demo log has findings with matched fields");
        let event = serde_json::json!({ "Event": { "System": { "EventID": 10 } } });
        for f in findings {
            for event in [None, Some(&event)] {
                let mut value = serde_json::to_value(f).unwrap();
                if let Some(e) = event {
                    value.as_object_mut().unwrap().insert("event".into(), e.clone());
                }
                let mut line = Vec::new();
                push_finding_line(&mut line, f, event);
                assert_eq!(String::from_utf8(line).unwrap(), jsonl_line("finding", value));
            }
        }
    }

    #[test]
    fn formulas_are_neutralized() {
        assert_eq!(neutralize_formula("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(neutralize_formula("+1"), "'+1");
        assert_eq!(neutralize_formula("-2"), "'-2");
        assert_eq!(neutralize_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize_formula("C:\\x.exe"), "C:\\x.exe");
    }
}
