//! The run as one self-contained HTML file for a case file: the inputs with
//! their SHA-256, the tool and rule set (with the hashes of the user's rule
//! files), coverage, the findings with their evidence, the ATT&CK techniques
//! hit and the signs of removed records.
//!
//! It holds no script and loads nothing (its CSP allows only its own style,
//! by hash), and it prints on A4. Every text from an event or a rule is
//! escaped. Built from findings as they go by, like the Navigator layer, so
//! a run that streams its findings can still write it: per rule it keeps the
//! counts and the first [`ROWS_PER_RULE`] findings, not all of them.

use crate::intern::SharedText;
use crate::report::{Finding, RunReport};
use crate::rules::RuleCatalog;
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Findings shown per rule; the others are counted (the JSON export has them all).
pub const ROWS_PER_RULE: usize = 200;
/// Characters of a finding's event snippet shown.
const SNIPPET_CHARS: usize = 600;

const STYLE: &str = "
@page { size: A4; margin: 14mm 12mm; }
body { font: 9.5pt/1.35 system-ui, sans-serif; color: #111; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; margin: 6mm 0 2mm; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; }
th, td { border: 0.2mm solid #999; padding: 0.6mm 1.2mm; text-align: left; vertical-align: top; }
th { background: #eee; } thead { display: table-header-group; } tr, tbody.finding { break-inside: avoid; }
.findings td.evidence { background: #fafafa; border-top: none; }
.inputs td:first-child { width: 44%; }
.hash, .mono { font-family: ui-monospace, monospace; font-size: 8pt; word-break: break-all; }
.muted { color: #555; } .level-critical, .level-high { color: #a00; font-weight: 700; }
";

/// Per rule: how many findings, and the first ones.
#[derive(Default)]
struct RuleFindings {
    title: SharedText,
    level: Option<SharedText>,
    count: u64,
    first_time: Option<String>,
    last_time: Option<String>,
    computers: BTreeSet<SharedText>,
    shown: Vec<Finding>,
}

/// Findings per ATT&CK technique, and the rules that found them.
#[derive(Default)]
struct TechniqueHits {
    count: u64,
    rules: BTreeSet<SharedText>,
}

/// The report, fed findings as they come.
#[derive(Default)]
pub struct HtmlReportBuilder {
    by_rule: BTreeMap<SharedText, RuleFindings>,
    techniques: BTreeMap<String, TechniqueHits>,
    findings: u64,
}

impl HtmlReportBuilder {
    pub fn add(&mut self, f: &Finding) {
        self.findings += 1;
        let rule = self.by_rule.entry(f.analytic_id.clone()).or_default();
        rule.title.clone_from(&f.analytic_title);
        rule.level.clone_from(&f.level);
        rule.count += 1;
        if let Some(t) = &f.time_created {
            if rule.first_time.as_ref().is_none_or(|first| t < first) {
                rule.first_time = Some(t.clone());
            }
            if rule.last_time.as_ref().is_none_or(|last| t > last) {
                rule.last_time = Some(t.clone());
            }
        }
        if let Some(c) = &f.computer {
            if !rule.computers.contains(c) {
                rule.computers.insert(c.clone());
            }
        }
        if rule.shown.len() < ROWS_PER_RULE {
            rule.shown.push(f.clone());
        }
        for id in f.attack.iter().filter(|id| crate::attack::technique(id).is_some()) {
            let hits = self.techniques.entry(id.to_ascii_uppercase()).or_default();
            hits.count += 1;
            hits.rules.insert(f.analytic_id.clone());
        }
    }

    /// The whole document. `generated_at` is the time it is written (UTC, ISO 8601).
    pub fn finish(self, report: &RunReport, rules: &RuleCatalog, generated_at: &str) -> String {
        let mut body = String::new();
        let _ = writeln!(body, "<h1>EVTX Triage report</h1>");
        let _ = writeln!(
            body,
            "<p>{} · written {} · {} input(s), {} records, {} finding(s). Made offline: no byte of the evidence left the machine it was analyzed on. Times are UTC.</p>",
            esc(&report.tool),
            esc(generated_at),
            report.files.len(),
            report.totals.records,
            self.findings
        );
        inputs(&mut body, report);
        rule_set(&mut body, report, rules);
        coverage(&mut body, report);
        self.attack_table(&mut body);
        incidents(&mut body, report, self.findings);
        self.findings_by_rule(&mut body);
        integrity(&mut body, report);
        document(&body)
    }

    fn attack_table(&self, out: &mut String) {
        let _ = writeln!(out, "<h2 id=\"attack\">ATT&amp;CK techniques hit</h2>");
        if self.techniques.is_empty() {
            let _ = writeln!(out, "<p>No finding carries an ATT&amp;CK technique.</p>");
            return;
        }
        let _ = writeln!(
            out,
            "<table><thead><tr><th>Technique</th><th>Name</th><th>Tactics</th><th>Findings</th><th>Rules</th></tr></thead><tbody>"
        );
        for (id, hits) in &self.techniques {
            let t = crate::attack::technique(id).expect("kept only known techniques");
            let tactics: Vec<&str> = t.tactics.iter().map(|t| t.name.as_str()).collect();
            let rules: Vec<&str> = hits.rules.iter().map(AsRef::as_ref).collect();
            let _ = writeln!(
                out,
                "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                esc(&t.name),
                esc(&tactics.join(", ")),
                hits.count,
                esc(&rules.join(", "))
            );
        }
        let _ = writeln!(out, "</tbody></table>");
    }

    fn findings_by_rule(&self, out: &mut String) {
        let _ = writeln!(out, "<h2 id=\"findings\">Findings by rule</h2>");
        if self.by_rule.is_empty() {
            let _ = writeln!(out, "<p>No finding.</p>");
            return;
        }
        let mut rules: Vec<(&SharedText, &RuleFindings)> = self.by_rule.iter().collect();
        // Most severe first, then most findings.
        let rank = |r: &RuleFindings| r.level.as_deref().and_then(crate::rule_load::level_rank);
        rules.sort_by(|a, b| rank(b.1).cmp(&rank(a.1)).then(b.1.count.cmp(&a.1.count)).then(a.0.cmp(b.0)));
        for (id, r) in rules {
            let level = r.level.as_deref().unwrap_or("no level");
            let _ = writeln!(
                out,
                "<h3>{} <span class=\"muted\">{}</span> · <span class=\"level-{}\">{}</span> · {} finding(s)</h3>",
                esc(&r.title),
                esc(id),
                esc(level),
                esc(level),
                r.count
            );
            let span = match (&r.first_time, &r.last_time) {
                (Some(a), Some(b)) => format!("from {} to {}", esc(a), esc(b)),
                _ => "no time".into(),
            };
            let computers: Vec<&str> = r.computers.iter().map(AsRef::as_ref).collect();
            let _ = writeln!(out, "<p>{span} · on {}</p>", esc(&computers.join(", ")));
            finding_table(out, &r.shown);
            if r.count > r.shown.len() as u64 {
                let _ = writeln!(
                    out,
                    "<p class=\"muted\">… and {} more finding(s) of this rule: see the JSON export.</p>",
                    r.count - r.shown.len() as u64
                );
            }
        }
    }
}

/// The report of a run whose findings it holds.
pub fn html_report(report: &RunReport, rules: &RuleCatalog, generated_at: &str) -> String {
    let mut builder = HtmlReportBuilder::default();
    report.findings.iter().for_each(|f| builder.add(f));
    builder.finish(report, rules, generated_at)
}

fn document(body: &str) -> String {
    let style_hash = base64::engine::general_purpose::STANDARD.encode(sha2_digest(STYLE.as_bytes()));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<title>EVTX Triage report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

fn sha2_digest(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

fn inputs(out: &mut String, report: &RunReport) {
    let _ = writeln!(out, "<h2 id=\"inputs\">Inputs</h2>");
    let _ = writeln!(
        out,
        "<table class=\"inputs\"><thead><tr><th>File and SHA-256</th><th>Bytes</th><th>Read as</th><th>Status</th><th>Records</th><th>First and last record</th><th>Findings</th></tr></thead><tbody>"
    );
    for f in &report.files {
        let status = match (&f.duplicate_of, &f.error) {
            (Some(first), _) => format!("duplicate of {}", esc(first)),
            (None, Some(e)) => format!("{}: {}", f.status.as_str(), esc(e)),
            (None, None) if !f.issues.is_empty() => format!("{} ({} problem(s))", f.status.as_str(), f.issues.len()),
            (None, None) => f.status.as_str().to_string(),
        };
        let span = match (&f.stats.first_time, &f.stats.last_time) {
            (Some(a), Some(b)) => format!("{}<br>{}", esc(a), esc(b)),
            _ => "-".into(),
        };
        let read_as = if f.duplicate_of.is_some() { "-".to_string() } else { esc(&f.layout()) };
        let _ = writeln!(
            out,
            "<tr><td><span class=\"mono file\">{}</span><br><span class=\"hash\">{}</span></td><td>{}</td><td>{read_as}</td><td>{status}</td><td>{}</td><td class=\"mono\">{span}</td><td>{}</td></tr>",
            esc(&f.file),
            esc(f.sha256.as_deref().unwrap_or("SHA-256 not computed: the file was not read to its end")),
            f.size,
            f.records,
            f.findings
        );
    }
    let _ = writeln!(out, "</tbody></table>");
}

fn rule_set(out: &mut String, report: &RunReport, rules: &RuleCatalog) {
    let _ = writeln!(out, "<h2 id=\"rules\">Rule set</h2>");
    let builtins: Vec<String> =
        rules.analytics().filter(|a| a.source == "builtin").map(|a| format!("{} ({})", esc(&a.id), esc(&a.title))).collect();
    let _ = writeln!(out, "<p>Built in: {}.</p>", builtins.join("; "));
    let load = &report.rules;
    let skipped: Vec<String> = load.counts().iter().map(|(kind, n)| format!("{n} {}", esc(kind.label()))).collect();
    let _ = writeln!(
        out,
        "<p>{} rule(s) active{}.</p>",
        load.loaded,
        if skipped.is_empty() { String::new() } else { format!("; skipped: {}", skipped.join(", ")) }
    );
    let files = rules.rule_files();
    if files.is_empty() {
        let _ = writeln!(out, "<p>No rule file of the user's: the built-in analytics only.</p>");
        return;
    }
    let _ =
        writeln!(out, "<details open><summary>{} rule file(s) of the user's, with the SHA-256 of each as loaded</summary>", files.len());
    let _ = writeln!(out, "<table><thead><tr><th>Rule file</th><th>SHA-256</th></tr></thead><tbody>");
    for f in files {
        let _ = writeln!(out, "<tr><td class=\"mono\">{}</td><td class=\"hash\">{}</td></tr>", esc(&f.source), esc(&f.sha256));
    }
    let _ = writeln!(out, "</tbody></table></details>");
}

fn coverage(out: &mut String, report: &RunReport) {
    let _ = writeln!(out, "<h2 id=\"coverage\">Coverage</h2>");
    let count = |v: Option<bool>| report.coverage.iter().filter(|c| c.could_fire == v).count();
    let _ = writeln!(
        out,
        "<p>Of {} rule(s): {} could fire on these logs, {} could not (no event of the kind they look at), {} cannot tell.</p>",
        report.coverage.len(),
        count(Some(true)),
        count(Some(false)),
        count(None)
    );
    let shown: Vec<_> =
        report.coverage.iter().filter(|c| c.analytic_id.starts_with("CAR-") || c.could_fire == Some(true)).take(500).collect();
    let _ = writeln!(out, "<table><thead><tr><th>Rule</th><th>Could fire</th><th>Why</th></tr></thead><tbody>");
    for c in shown {
        let could = match c.could_fire {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let _ = writeln!(out, "<tr><td class=\"mono\">{}</td><td>{could}</td><td>{}</td></tr>", esc(&c.analytic_id), esc(&c.note));
    }
    let _ = writeln!(out, "</tbody></table>");
}

fn finding_table(out: &mut String, findings: &[Finding]) {
    let _ =
        writeln!(out, "<table class=\"findings\"><thead><tr><th>Time</th><th>Computer</th><th>Record</th><th>Process</th></tr></thead>");
    for f in findings {
        let matched: Vec<String> =
            f.matched.iter().map(|m| format!("{} = {}", esc(&m.field), esc(&m.value.text().unwrap_or_default()))).collect();
        let mut record =
            format!("{} · EventID {}<br>{}", f.event_record_id, f.event_id.map_or("-".into(), |i| i.to_string()), esc(&f.file));
        if let Some(how) = f.recovery_text() {
            let _ = write!(record, "<br>{}", esc(&how));
        }
        // Two rows per finding, kept together on a page: where and who, then the evidence.
        let _ = writeln!(
            out,
            "<tbody class=\"finding\"><tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{record}</td><td class=\"mono\">{}</td></tr>\n\
             <tr><td colspan=\"4\" class=\"mono evidence\"><b>Matched</b> {}<br><b>Event</b> {}</td></tr></tbody>",
            esc(f.time_created.as_deref().unwrap_or("-")),
            esc(f.computer.as_deref().unwrap_or("-")),
            esc(f.source_process.as_deref().unwrap_or("-")),
            matched.join("; "),
            esc(&snippet_text(f.snippet.json()))
        );
    }
    let _ = writeln!(out, "</table>");
}

/// The snippet as compact JSON, cut to [`SNIPPET_CHARS`].
fn snippet_text(text: &str) -> String {
    match text.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// One line per incident: its process, counts and the summary of its story.
fn incidents(out: &mut String, report: &RunReport, findings: u64) {
    let _ = writeln!(out, "<h2 id=\"incidents\">Incidents: the findings of one process on one computer, and correlation hits</h2>");
    if report.incidents.is_empty() {
        let why =
            if findings == 0 { "No finding, so no incident." } else { "No finding names its acting process (no process GUID or PID)." };
        let _ = writeln!(out, "<p>{why}</p>");
        return;
    }
    let _ = writeln!(
        out,
        "<table><thead><tr><th>Computer</th><th>Process or rule</th><th>Findings</th><th>Events</th><th>What happened</th></tr></thead><tbody>"
    );
    for i in &report.incidents {
        let process = i.subject();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"value\">{}</td><td>{}</td><td>{}{}</td><td class=\"value\">{}</td></tr>",
            esc(i.computer.as_deref().unwrap_or("")),
            esc(&process),
            i.findings.len(),
            i.events.len(),
            if i.truncated { "+" } else { "" },
            esc(&i.summary)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
}

fn integrity(out: &mut String, report: &RunReport) {
    let _ = writeln!(out, "<h2 id=\"integrity\">Integrity of the evidence</h2>");
    let noted: Vec<_> = report.files.iter().filter(|f| !f.notes.is_empty() || f.recovery.summary().is_some()).collect();
    if noted.is_empty() {
        let _ = writeln!(out, "<p>No sign of removed records (EventRecordID gaps, time running backwards, cleared logs) and no record found beyond the live ones.</p>");
        return;
    }
    for f in noted {
        let _ = writeln!(out, "<h3 class=\"mono\">{}</h3><ul>", esc(&f.file));
        if let Some(recovery) = f.recovery.summary() {
            let _ = writeln!(out, "<li>Beyond its live records: {}</li>", esc(&recovery));
        }
        for n in &f.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(&n.reason));
        }
        let _ = writeln!(out, "</ul>");
    }
}

/// Text as HTML text: the five characters that could open markup or end an attribute.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(esc(r#"<img src=x onerror="a('b')">&"#), "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;");
    }

    #[test]
    fn snippets_are_cut_on_a_character() {
        let long = serde_json::json!({ "k": "é".repeat(SNIPPET_CHARS) });
        let text = snippet_text(&long.to_string());
        assert_eq!(text.chars().count(), SNIPPET_CHARS + 1);
        assert!(text.ends_with('…'));
    }
}
