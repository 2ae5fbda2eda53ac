//! Peak memory of each step of loading a rule pack (run under /usr/bin/time -f %M):
//! `load_memory STEP RULES...` with STEP `read`, `parse`, `prefilter` or `all`.
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pack = evtx_triage::rule_source::RuleTexts::default();
    for p in &args[1..] {
        pack.extend(evtx_triage::rule_source::from_path(std::path::Path::new(p)));
    }
    match args[0].as_str() {
        "read" => println!("{} texts", pack.texts.len()),
        "parse" => {
            let a = evtx_triage::rule_load::parse_texts(&pack.texts, &pack.unreadable, &Default::default()).analytics;
            println!("{} analytics", a.len());
        }
        "prefilter" => {
            let a = evtx_triage::rule_load::parse_texts(&pack.texts, &pack.unreadable, &Default::default()).analytics;
            let p = evtx_triage::prefilter::Prefilter::for_rules(a.iter().map(|x| &x.rule));
            println!("{} literals", p.literals().len());
        }
        _ => println!("{}", evtx_triage::rules::RuleSet::load(&pack, &Default::default()).load_report().summary()),
    }
}
