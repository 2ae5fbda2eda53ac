//! Reports for a case file: the ATT&CK Navigator layer (format 4.5) of the
//! techniques hit, and Timesketch's CSV, on logs this project writes.

mod support;

use evtx_triage::demo::{demo_log, DEMO_EXPECTED};
use evtx_triage::export::{timesketch_csv, TIMESKETCH_COLUMNS};
use evtx_triage::rule_load::LoadOptions;
use evtx_triage::rule_source::{RuleText, RuleTexts};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use serde_json::{json, Value};
use support::*;

/// A Sigma rule on Sysmon process creation, tagged as PowerShell under Execution.
const POWERSHELL_RULE: &str = r#"
title: Encoded PowerShell
id: 0a6f4a0b-5d51-4b9e-9d48-7c0e8b5c3a11
status: test
level: medium
tags: [attack.execution, attack.t1059.001]
logsource: {product: windows, category: process_creation}
detection:
  selection: {Image|endswith: '\powershell.exe', CommandLine|contains: ' -enc '}
  condition: selection
"#;

fn run(files: &[(&str, Vec<u8>)], rules: &RuleSet) -> evtx_triage::report::RunReport {
    let mut run = RunBuilder::new();
    for (name, bytes) in files {
        run.add_file(scan_bytes(name, bytes, rules));
    }
    run.finish(rules)
}

fn rules_with_powershell() -> RuleSet {
    let texts = RuleTexts { texts: vec![RuleText { source: "ps.yml".into(), text: POWERSHELL_RULE.into() }], unreadable: Vec::new() };
    RuleSet::load(&texts, &LoadOptions::default())
}

fn powershell_log() -> Vec<u8> {
    let mut events = benign_run(1, 3);
    events.push(process_create(
        4,
        "WKS-1",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        "powershell.exe -nop -enc SQBFAFgA",
    ));
    events.push(process_create(5, "WKS-1", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell.exe -File x.ps1"));
    events.push(process_create(6, "WKS-1", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", "powershell -w hidden -enc AAAA"));
    log_of_chunks(&[events])
}

#[test]
fn the_navigator_layer_scores_each_technique_by_its_findings() {
    let rules = rules_with_powershell();
    let report = run(&[("demo.evtx", demo_log()), ("ps.evtx", powershell_log())], &rules);
    assert_eq!(report.findings.len(), DEMO_EXPECTED.len() + 2, "{:?}", report.rules);
    let layer = evtx_triage::navigator::layer(&report);
    // The format's required fields.
    assert_eq!(layer["versions"], json!({"attack": "18", "navigator": "4.5", "layer": "4.5"}));
    assert_eq!(layer["domain"], json!("enterprise-attack"));
    assert_eq!(layer["name"], json!("EVTX Triage findings"));
    let cells: Vec<(String, String, u64, String)> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap().to_string(),
                t["tactic"].as_str().unwrap_or("").to_string(),
                t["score"].as_u64().unwrap(),
                t["comment"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let lsass =
        "CAR-2019-08-001 (Credential Dumping via Windows Task Manager): 1 finding(s); CAR-2020-05-001 (MiniDump of LSASS): 3 finding(s)";
    assert_eq!(
        cells,
        vec![
            ("T1003".into(), "credential-access".into(), 4, lsass.into()),
            ("T1003.001".into(), "credential-access".into(), 4, lsass.into()),
            ("T1059.001".into(), "execution".into(), 2, "0a6f4a0b-5d51-4b9e-9d48-7c0e8b5c3a11 (Encoded PowerShell): 2 finding(s)".into()),
        ]
    );
    assert_eq!(layer["gradient"]["maxValue"], json!(4));
    assert_eq!(layer["description"], json!("6 finding(s) over 2 file(s), by evtx-triage 0.1.0: score = findings, comment = rules"));
}

#[test]
fn the_timesketch_csv_starts_with_its_three_columns() {
    let report = run(&[("demo.evtx", demo_log())], &RuleSet::builtin());
    let text = timesketch_csv(&report.findings, true);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, TIMESKETCH_COLUMNS);
    assert_eq!(&header[..3], ["message", "datetime", "timestamp_desc"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), DEMO_EXPECTED.len());
    for (row, f) in rows.iter().zip(&report.findings) {
        assert_eq!(&row[1], f.time_created.as_deref().unwrap(), "datetime is the event's UTC time");
        assert!(row[1].ends_with('Z') && row[1].contains('T'), "ISO 8601 UTC: {}", &row[1]);
        assert_eq!(&row[2], "Event Recorded");
        assert_eq!(&row[3], &*f.analytic_id);
        assert_eq!(row[7].parse::<u64>().unwrap(), f.event_record_id);
        assert!(row[0].starts_with(&format!("{}: {} on WKS-FINANCE-07 by ", f.analytic_id, f.analytic_title)), "{}", &row[0]);
    }
}

#[test]
fn the_cli_writes_the_layer_and_timesketch_csv() {
    let dir = std::env::temp_dir().join(format!("evtx-triage-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("demo.evtx");
    std::fs::write(&log, demo_log()).unwrap();
    let layer_path = dir.join("layer.json");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_evtx-triage"))
        .args(["scan", "--format", "timesketch", "--navigator"])
        .arg(&layer_path)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = run(&[(log.to_str().unwrap(), demo_log())], &RuleSet::builtin());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), timesketch_csv(&report.findings, true));
    let written: Value = serde_json::from_slice(&std::fs::read(&layer_path).unwrap()).unwrap();
    assert_eq!(written, evtx_triage::navigator::layer(&report), "streamed output gives the layer of all findings");
    std::fs::remove_dir_all(&dir).unwrap();
}
