//! Sigma correlation rules: on a Security log the project writes, each of
//! `event_count`, `value_count`, `temporal` and `temporal_ordered` gives
//! exactly the incidents a responder counts by hand, with the events that
//! made them; the CLI gives the same in `json` and `jsonl`.

mod support;

use evtx_triage::incident::Incident;
use evtx_triage::rule_load::{LoadOptions, SkipKind};
use evtx_triage::rule_source::{RuleText, RuleTexts};
use evtx_triage::rules::RuleSet;
use evtx_triage::writer::write_evtx;
use serde_json::Value;
use support::logons::{events, RULES};
use support::{cli, stdout, TempDir};

const MISSING: &str = r#"
title: Counts a rule nobody loaded (test)
id: 6f1c5a7e-0000-4000-8000-0000000000e5
correlation:
    type: event_count
    rules:
        - no_such_rule
    group-by:
        - TargetUserName
    timespan: 1h
    condition:
        gte: 2
"#;

fn rules_of(texts: &[(&str, &str)]) -> RuleSet {
    let pack = RuleTexts {
        texts: texts.iter().map(|(s, t)| RuleText { source: s.to_string(), text: t.to_string() }).collect(),
        unreadable: Vec::new(),
    };
    RuleSet::load(&pack, &LoadOptions::default())
}

/// (title, group, value, fired, record ids of its events in time order).
type Shape = (String, Vec<(String, String)>, f64, u64, Vec<u64>);

fn shape(i: &Incident) -> Shape {
    let c = i.correlation.as_ref().expect("a correlation incident");
    (c.title.clone(), c.group.clone(), c.value, c.fired, i.events.iter().map(|e| e.event_record_id).collect())
}

fn group(field: &str, value: &str) -> Vec<(String, String)> {
    vec![(field.to_string(), value.to_string())]
}

/// Record ids, as `events()` numbers them.
const BOB_FIRST: [u64; 7] = [6, 7, 8, 9, 10, 11, 12];
const BOB_LOGON: u64 = 13;
const BOB_LATER: [u64; 5] = [1, 2, 3, 4, 5];
const SPRAY: [u64; 4] = [17, 18, 19, 20];
const CAROL: [u64; 2] = [21, 22];

fn expected() -> Vec<Shape> {
    let with_logon = |ids: &[u64]| ids.iter().copied().chain([BOB_LOGON]).collect::<Vec<_>>();
    vec![
        // At its 5th, 6th and 7th failure, merged: one incident of 7 events.
        ("Many failed logons for one user (test)".into(), group("TargetUserName", "bob"), 7.0, 3, BOB_FIRST.to_vec()),
        ("Failed and successful logon of one user (test)".into(), group("TargetUserName", "bob"), 2.0, 1, with_logon(&BOB_FIRST)),
        ("Failed then successful logon of one user (test)".into(), group("TargetUserName", "bob"), 2.0, 1, with_logon(&BOB_FIRST)),
        // u3 makes 3 users, u4 makes 4.
        ("Password spray from one address (test)".into(), group("IpAddress", "10.0.0.9"), 4.0, 2, SPRAY.to_vec()),
        // Carol logs on, then fails: both happened (temporal), not in that order (temporal_ordered).
        ("Failed and successful logon of one user (test)".into(), group("TargetUserName", "carol"), 2.0, 1, CAROL.to_vec()),
        // Two hours later: a new incident, not the first one's tail.
        ("Many failed logons for one user (test)".into(), group("TargetUserName", "bob"), 5.0, 1, BOB_LATER.to_vec()),
    ]
}

fn correlation_incidents(incidents: &[Incident]) -> Vec<&Incident> {
    incidents.iter().filter(|i| i.correlation.is_some()).collect()
}

#[test]
fn each_kind_of_correlation_gives_the_incidents_counted_by_hand() {
    let rules = rules_of(&[("logons.yml", RULES)]);
    assert_eq!(rules.load_report().loaded, 2 + 2 + 4, "the built-ins, two detection rules, four correlations");
    assert_eq!(rules.load_report().skipped, []);
    let report = support::run("logons.evtx", &write_evtx(&events()), &rules);
    // The rules a correlation counts keep their findings: every event of an incident is a finding.
    assert_eq!(report.findings.len(), 22);
    let incidents = correlation_incidents(&report.incidents);
    assert_eq!(incidents.iter().map(|i| shape(i)).collect::<Vec<_>>(), expected());
    for i in &incidents {
        let findings: Vec<u64> = i.findings.iter().map(|&f| report.findings[f].event_record_id).collect();
        assert_eq!(findings, i.events.iter().map(|e| e.event_record_id).collect::<Vec<_>>(), "an incident's findings are its events");
        assert_eq!(i.computer.as_deref(), Some("DC-01"));
        assert!(!i.truncated);
    }
    let first = &incidents[0];
    assert_eq!(first.correlation.as_ref().unwrap().kind, "event_count");
    assert_eq!(first.correlation.as_ref().unwrap().first_fired, "2024-05-06T10:01:20Z");
    assert_eq!(first.correlation.as_ref().unwrap().last_fired, "2024-05-06T10:02:00Z");
    assert_eq!(
        first.summary,
        "Many failed logons for one user (test) (event_count 7, gte 5 within 300 s) for TargetUserName=bob: \
         7 event(s) of Failed logon (test) from 10:00:00 to 10:02:00"
    );
}

#[test]
fn a_correlation_of_a_rule_not_loaded_is_skipped_with_its_reason() {
    let rules = rules_of(&[("logons.yml", RULES), ("missing.yml", MISSING)]);
    let skipped = &rules.load_report().skipped;
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (skipped[0].kind, skipped[0].source.as_str(), skipped[0].reason.as_str()),
        (SkipKind::MissingRule, "missing.yml", "it counts rule(s) not loaded: no_such_rule")
    );
    assert_eq!(rules.load_report().loaded, 8);
    // Alone, a correlation file has nothing to count.
    let alone = rules_of(&[("missing.yml", MISSING)]);
    assert_eq!(alone.load_report().loaded, 2);
    assert_eq!(alone.load_report().skipped[0].kind, SkipKind::MissingRule);
}

#[test]
fn the_cli_gives_the_same_incidents_in_json_and_jsonl() {
    let dir = TempDir::new("correlation-cli");
    let log = dir.write("logons.evtx", &write_evtx(&events()));
    let rules = dir.write("logons.yml", RULES.as_bytes());
    let json = cli(&[&"scan", &"--format", &"json", &"--rules", &rules, &log]);
    let report: Value = serde_json::from_str(&stdout(&json)).unwrap();
    let incidents: Vec<Incident> = serde_json::from_value(report["incidents"].clone()).unwrap();
    let shapes: Vec<Shape> = correlation_incidents(&incidents).into_iter().map(shape).collect();
    assert_eq!(shapes, expected());

    let jsonl = cli(&[&"scan", &"--format", &"jsonl", &"--rules", &rules, &log]);
    let lines: Vec<Value> = stdout(&jsonl).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let streamed: Vec<Incident> = lines
        .iter()
        .filter(|l| l["type"] == "incident")
        .map(|l| {
            let mut v = l.clone();
            v.as_object_mut().unwrap().remove("type");
            serde_json::from_value(v).unwrap()
        })
        .collect();
    assert_eq!(streamed.iter().map(shape).collect::<Vec<_>>(), expected());
    let finding_lines: Vec<&Value> = lines.iter().filter(|l| l["type"] == "finding").collect();
    assert_eq!(finding_lines.len(), 22);
    for i in &streamed {
        let named: Vec<u64> = i.findings.iter().map(|&f| finding_lines[f]["event_record_id"].as_u64().unwrap()).collect();
        assert_eq!(named, i.events.iter().map(|e| e.event_record_id).collect::<Vec<_>>(), "findings index the finding lines");
    }
}
