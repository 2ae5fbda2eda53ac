//! The 300 real logs of `../shared/corpus` against `expected.json`: exactly
//! the expected (analytic, EventRecordID) pairs, and at least the records
//! `evtx_dump` reads. Under CI the corpus must be there; elsewhere the test
//! skips with a notice when it is not.

use evtx_triage::rules::RuleSet;
use evtx_triage::scan::scan_bytes;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if dir.join("expected.json").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the corpus is missing at {}", dir.display());
    }
    eprintln!("NOTICE: corpus not found at {}; skipping the corpus test", dir.display());
    None
}

#[test]
fn every_corpus_file_gives_exactly_the_expected_findings() {
    let Some(dir) = corpus_dir() else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert_eq!(expected.len(), 300);
    let rules = RuleSet::builtin();
    let mut failures = Vec::new();
    let mut total_matches = 0;
    for (rel, want) in expected {
        let bytes = std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let scan = scan_bytes(rel, &bytes, &rules);
        let got: BTreeSet<(String, u64)> = scan.findings().iter().map(|f| (f.analytic_id.to_string(), f.event_record_id)).collect();
        let want_set: BTreeSet<(String, u64)> = want["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["analytic"].as_str().unwrap().to_string(), m["event_record_id"].as_u64().unwrap()))
            .collect();
        total_matches += want_set.len();
        if got != want_set {
            failures.push(format!("{rel}: findings {got:?}, expected {want_set:?}"));
        }
        let want_records = want["records"].as_u64().unwrap();
        if scan.records() < want_records {
            failures.push(format!("{rel}: read {} records, evtx_dump reads {want_records}", scan.records()));
        }
    }
    assert_eq!(total_matches, 8, "expected.json lists 8 matches in all");
    assert!(failures.is_empty(), "{} file(s) differ:\n{}", failures.len(), failures.join("\n"));
}

/// The shortcuts (literal prefilter, quick System fields) change nothing:
/// every file's report and findings equal those of rendering every record.
#[test]
fn shortcuts_give_the_results_of_a_full_parse() {
    let Some(dir) = corpus_dir() else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let fast = RuleSet::builtin();
    let full = RuleSet::builtin().exhaustive();
    let mut compared = 0;
    for rel in expected.as_object().unwrap().keys() {
        let bytes = std::fs::read(dir.join(rel)).unwrap();
        let mut a = evtx_triage::scan::RunBuilder::new();
        a.add_file(scan_bytes(rel, &bytes, &fast));
        let mut b = evtx_triage::scan::RunBuilder::new();
        b.add_file(scan_bytes(rel, &bytes, &full));
        let (mut a, b) = (a.finish(&fast), b.finish(&full));
        // Only the skipping counters and the literal list may differ.
        a.files[0].chunks_skipped = b.files[0].chunks_skipped;
        a.prefilter_literals = b.prefilter_literals.clone();
        assert_eq!(a.files, b.files, "{rel}: file reports differ");
        assert_eq!(a.totals, b.totals, "{rel}: totals differ");
        assert_eq!(a.findings, b.findings, "{rel}: findings differ");
        assert_eq!(a, b, "{rel}");
        compared += 1;
    }
    assert_eq!(compared, 300);
}

/// A story reads the chunks the index names for its GUID, and looks back for
/// a parent's creation only in the chunks the index says create it. Read
/// without rendering (the quick path), the index must name every chunk
/// where a rendered record holds (or creates) that GUID.
#[test]
fn the_index_read_quickly_names_every_chunk_that_holds_or_creates_a_process() {
    let Some(dir) = corpus_dir() else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let (fast, full) = (RuleSet::builtin(), RuleSet::builtin().exhaustive());
    let (mut rendered_pairs, mut quick_pairs, mut missing) = (0, 0, Vec::new());
    for rel in expected.as_object().unwrap().keys() {
        let bytes = std::fs::read(dir.join(rel)).unwrap();
        let index_of = |rules: &RuleSet| {
            let mut run = evtx_triage::scan::RunBuilder::new();
            run.add_file(scan_bytes(rel, &bytes, rules));
            run.take_index().file(rel).cloned().unwrap_or_default()
        };
        let (quick, rendered) = (index_of(&fast), index_of(&full));
        quick_pairs += quick.creations().map(|(_, c)| c.len()).sum::<usize>();
        for (guid, chunks) in rendered.creations() {
            rendered_pairs += chunks.len();
            let named = quick.chunks_creating(guid);
            missing.extend(chunks.iter().filter(|c| !named.contains(c)).map(|c| format!("{rel}: creation of {guid} in chunk {c}")));
        }
        for (guid, chunks) in rendered.guids() {
            let named = quick.chunks_with(guid);
            missing.extend(chunks.iter().filter(|c| !named.contains(c)).map(|c| format!("{rel}: {guid} in chunk {c}")));
        }
    }
    assert!(missing.is_empty(), "the quick index misses {} chunks:\n{}", missing.len(), missing[..missing.len().min(20)].join("\n"));
    // Rendered, an EventID 1 names the one process it creates; read quickly,
    // a template without a ProcessGuid field gives every GUID of the record.
    assert_eq!((rendered_pairs, quick_pairs), (1870, 2806));
}

/// The browser's workers fold their part's chunks into one tally each, send
/// it as JSON, and the page adds the tallies in file order: the report,
/// findings and statistics are those of adding chunk by chunk.
#[test]
fn folding_chunks_in_parts_gives_the_report_of_chunk_by_chunk() {
    use evtx_triage::reader::ChunkSplitter;
    use evtx_triage::scan::{analyze_chunk, ChunkTally, FileScan};
    let Some(dir) = corpus_dir() else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let rules = RuleSet::builtin();
    let mut multi_part = 0;
    for rel in expected.as_object().unwrap().keys() {
        let bytes = std::fs::read(dir.join(rel)).unwrap();
        let mut splitter = ChunkSplitter::new();
        let Ok(mut chunks) = splitter.push(&bytes) else { continue };
        chunks.extend(splitter.finish().unwrap());
        let mut by_parts = FileScan::new(rel, bytes.len() as u64);
        by_parts.set_sha256(evtx_triage::digest::sha256_hex(&bytes));
        if let Some(h) = splitter.header() {
            by_parts.header(h);
        }
        for part in chunks.chunks(3) {
            let mut tally = ChunkTally::default();
            part.iter().for_each(|raw| tally.add(analyze_chunk(rel, raw, &rules)));
            by_parts.add_tally(serde_json::from_str(&serde_json::to_string(&tally).unwrap()).unwrap());
        }
        multi_part += usize::from(chunks.len() > 3);
        assert_eq!(by_parts.finish(), scan_bytes(rel, &bytes, &rules).finish(), "{rel}");
    }
    assert!(multi_part >= 30, "only {multi_part} corpus files have more than one part");
}

/// The scan lifts each record's fields while parsing its JSON (no tree):
/// on every record of the corpus that gives the view the tree gives, in
/// the same order. Most records are lifted that way; the rest (a data
/// field named as a System one, evtx's own odd shapes) go through the tree.
#[test]
fn lifting_fields_while_parsing_gives_the_view_of_the_whole_tree() {
    use evtx_triage::event::EventView;
    let Some(dir) = corpus_dir() else { return };
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let (mut records, mut through_tree, mut differ) = (0, 0, Vec::new());
    for rel in expected.as_object().unwrap().keys() {
        let Ok(mut parser) = evtx::EvtxParser::from_path(dir.join(rel)) else { continue };
        let settings = evtx::ParserSettings::default().num_threads(1);
        parser = parser.with_configuration(settings);
        for record in parser.records_json().filter_map(Result::ok) {
            records += 1;
            let text = record.data.as_bytes();
            let tree = EventView::from_rendered(&serde_json::from_slice(text).unwrap()).fields;
            let lifted = EventView::lifted_while_parsing(text);
            through_tree += usize::from(lifted.is_none());
            let view = EventView::from_evtx_json(text).unwrap().fields;
            // In the same order too.
            let order = |v: &serde_json::Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
            if view != tree || order(&view) != order(&tree) {
                differ.push(format!("{rel}: record {}", record.event_record_id));
            }
        }
    }
    assert!(differ.is_empty(), "{} records differ:\n{}", differ.len(), differ[..differ.len().min(20)].join("\n"));
    eprintln!("{records} records, {through_tree} through the tree");
    assert_eq!((records, through_tree), (26818, 16));
}
