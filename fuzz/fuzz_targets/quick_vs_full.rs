//! Differential: the quick System-field reader (`quick.rs`) against full
//! rendering. The input is one 64 KiB chunk (shorter inputs are skipped),
//! its CRC32s made right so the quick reader may read it; it is analyzed
//! with the built-in rules and with the same rules `exhaustive()` (every
//! record rendered, no shortcut). `RuleSet::exhaustive` promises the same
//! results, so where neither run reports an issue, statistics and findings
//! must be equal.

#![no_main]

use evtx_triage::reader::{RawChunk, CHUNK_SIZE, FILE_HEADER_SIZE};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::analyze_chunk;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "common.rs"]
mod common;

fn quick() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::builtin)
}

fn exhaustive() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().exhaustive())
}

fuzz_target!(|input: &[u8]| {
    if input.len() < CHUNK_SIZE {
        return;
    }
    let data = input[..CHUNK_SIZE].to_vec();
    let data = common::with_fixed_crcs(&data).unwrap_or(data);
    let raw = RawChunk { index: 0, file_offset: FILE_HEADER_SIZE as u64, data };
    let a = analyze_chunk("fuzz.evtx", &raw, quick());
    let b = analyze_chunk("fuzz.evtx", &raw, exhaustive());
    for analysis in [&a, &b] {
        if let Some(issue) = analysis.issues.iter().find(|i| i.kind == "internal") {
            panic!("analyze_chunk reported an internal error: {}", issue.reason);
        }
    }
    if a.issues.is_empty() && b.issues.is_empty() {
        assert_eq!(a.stats, b.stats, "statistics differ between the quick reader and full rendering");
        assert_eq!(a.findings, b.findings, "findings differ between the quick reader and full rendering");
    }
});
