//! Analysis of text exports: documents in, findings and statistics out, in
//! the same [`ChunkTally`] an EVTX chunk run gives, so files of every
//! format fold into one report.

use crate::doc_map::DocumentEvent;
use crate::event::EventView;
use crate::input::{Container, InputFormat};
use crate::report::Issue;
use crate::rules::RuleSet;
use crate::scan::{make_finding, ChunkTally};
use crate::text_split::{TextSplitter, TextUnit};

/// The events of one document's text (JSON or an `<Event>` element).
pub fn events_of_text(text: &[u8]) -> Result<Vec<DocumentEvent>, String> {
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        let text = std::str::from_utf8(text).map_err(|e| format!("not UTF-8 text: {e}"))?;
        let full = crate::xml_event::event_json(text)?;
        return Ok(vec![DocumentEvent { format: InputFormat::EventXml, view: EventView::from_rendered(&full), full }]);
    }
    let doc: serde_json::Value = serde_json::from_slice(text).map_err(|e| format!("malformed JSON: {e}"))?;
    crate::doc_map::events_of_document(doc).map_err(|e| e.0)
}

/// Analyzes documents: each event gets the rules of its logsource.
pub fn analyze_units(file: &str, units: &[TextUnit], rules: &RuleSet) -> ChunkTally {
    let mut out = ChunkTally::default();
    for unit in units {
        let events = match events_of_text(&unit.text) {
            Ok(events) => events,
            Err(reason) => {
                out.issues.push(Issue { kind: "record".into(), chunk: None, offset: unit.offset, line: Some(unit.line), reason });
                continue;
            }
        };
        for DocumentEvent { format, view, .. } in events {
            out.format.get_or_insert(format);
            let b = view.basics();
            out.stats.add_record(b.time_created.as_deref(), b.computer.as_deref(), b.channel.as_deref(), b.event_id);
            for hit in rules.evaluate(&view) {
                let mut f = make_finding(file, 0, unit.offset, 0, &view, hit, rules);
                f.line = Some(unit.line);
                f.length = Some(unit.text.len() as u64);
                out.findings.push(f);
            }
        }
    }
    out
}

/// Reads a whole text export held in memory (tests, small inputs); `tally`
/// is what [`crate::scan::FileScan::add_tally`] takes.
pub fn scan_text(file: &str, bytes: &[u8], container: Container, rules: &RuleSet) -> ChunkTally {
    let mut splitter = TextSplitter::new(container);
    let mut units = splitter.push(bytes);
    units.extend(splitter.finish());
    let mut tally = analyze_units(file, &units, rules);
    add_splitter_issues(&mut tally, splitter.take_issues());
    tally
}

/// Adds the splitter's issues (malformed lines) among the documents' own, in file order.
pub fn add_splitter_issues(tally: &mut ChunkTally, issues: Vec<Issue>) {
    if issues.is_empty() {
        return;
    }
    tally.issues.extend(issues);
    tally.issues.sort_by_key(|i| i.offset);
}

/// Why a text file that gave no event at all is unreadable, if it is.
pub fn no_events_reason(tally: &ChunkTally) -> Option<String> {
    if tally.stats.records > 0 {
        return None;
    }
    Some(match tally.issues.first() {
        Some(first) => format!("no event could be read; the first problem: line {}: {}", first.line.unwrap_or(0), first.reason),
        None => "no event documents in this file".into(),
    })
}
