//! Times loading a rule pack: `cargo run --release --example load_timing -- PATH...`.
use std::time::Instant;
fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let t = Instant::now();
    let mut pack = evtx_triage::rule_source::RuleTexts::default();
    for p in &paths {
        pack.extend(evtx_triage::rule_source::from_path(std::path::Path::new(p)));
    }
    let read = t.elapsed();
    let t = Instant::now();
    let rules = evtx_triage::rules::RuleSet::load(&pack, &Default::default());
    println!(
        "read {} texts in {read:?}; loaded in {:?}: {}; {} prefilter literals",
        pack.texts.len(),
        t.elapsed(),
        rules.load_report().summary(),
        rules.prefilter().literals().len()
    );
}
