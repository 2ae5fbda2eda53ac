//! What the rule-pack examples share: the log and the pack named on their command line.

use evtx_triage::rule_source::{from_path, RuleTexts};
use evtx_triage::rules::RuleSet;

/// `LOG RULES...`: the log's bytes, and the rules of every file, folder or zip after it.
pub fn log_and_rules() -> (Vec<u8>, RuleSet) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bytes = std::fs::read(&args[0]).expect("log");
    let mut pack = RuleTexts::default();
    for path in &args[1..] {
        pack.extend(from_path(std::path::Path::new(path)));
    }
    (bytes, RuleSet::load(&pack, &Default::default()))
}
