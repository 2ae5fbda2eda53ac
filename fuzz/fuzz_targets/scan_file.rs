//! A whole file in: the input is read as an .evtx file with `scan_bytes`
//! (reader, then every chunk analyzed with the built-in rules), folded into a
//! run report, and exported in every format, none of which may panic. When
//! some chunk's CRC32s are stale, a copy with every chunk's CRCs made right
//! is read too (the quick System-field reader only reads intact chunks).
//!
//! `analyze_chunk` catches panics and reports them as an issue of kind
//! `internal`; here such an issue is a crash, so libFuzzer keeps the input.

#![no_main]

use evtx_triage::export::{findings_csv, to_json, to_jsonl, to_table};
use evtx_triage::reader::{CHUNK_SIZE, FILE_HEADER_SIZE};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "common.rs"]
mod common;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::builtin)
}

fuzz_target!(|input: &[u8]| {
    check(input);
    if input.len() > FILE_HEADER_SIZE {
        let mut fixed = input.to_vec();
        let mut changed = false;
        for chunk in fixed[FILE_HEADER_SIZE..].chunks_mut(CHUNK_SIZE) {
            if let Some(c) = common::with_fixed_crcs(chunk) {
                chunk.copy_from_slice(&c);
                changed = true;
            }
        }
        if changed {
            check(&fixed);
        }
    }
});

fn check(input: &[u8]) {
    let rules = rules();
    let scan = scan_bytes("fuzz.evtx", input, rules);
    let records = scan.records();
    let mut run = RunBuilder::new();
    run.add_file(scan);
    let report = run.finish(rules);

    assert_eq!(report.files.len(), 1);
    let file = &report.files[0];
    if let Some(issue) = file.issues.iter().find(|i| i.kind == "internal") {
        panic!("analyze_chunk reported an internal error: {}", issue.reason);
    }
    assert_eq!(file.size, input.len() as u64);
    assert_eq!(file.records, records);
    assert_eq!(file.findings, report.findings.len() as u64);

    // Every export, and the JSON must read back as JSON.
    let json = to_json(&report);
    let _: serde_json::Value = serde_json::from_str(&json).expect("to_json gives valid JSON");
    for line in to_jsonl(&report).lines() {
        let _: serde_json::Value = serde_json::from_str(line).expect("to_jsonl gives valid JSON lines");
    }
    let _ = findings_csv(&report.findings);
    let _ = to_table(&report);
}
