//! Zips rule folders the way the page exports a rule set (`rule_source::zip_of`):
//! `cargo run --release --example zip_rules -- OUT.zip PATH...`. The e2e tests load such a
//! zip in the page.
use evtx_triage::rule_source::{from_path, zip_of, RuleTexts};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args.next().expect("usage: zip_rules OUT.zip PATH...");
    let mut pack = RuleTexts::default();
    for p in args {
        pack.extend(from_path(std::path::Path::new(&p)));
    }
    std::fs::write(&out, zip_of(&pack.texts)).expect("write the zip");
    println!("{out}: {} rule files ({} unreadable)", pack.texts.len(), pack.unreadable.len());
}
