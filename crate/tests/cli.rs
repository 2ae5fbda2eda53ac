//! The `evtx-triage` binary on temporary files: output formats, exit codes,
//! folders, custom rules. Its output is compared with what the library makes
//! of the same files in process.

mod support;

use evtx_triage::analytics::custom_analytics;
use evtx_triage::export;
use evtx_triage::report::RunReport;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::writer::write_evtx;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

const WHOAMI_RULE: &str = r#"title: Whoami run
id: whoami-run
status: test
description: whoami.exe was started.
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    EventID: 1
    Image|endswith: '\whoami.exe'
  condition: selection
level: low
tags:
  - attack.discovery
  - attack.t1033
"#;

/// Findings: MINIDUMP on 11, TASKMGR on 12; whoami.exe started in 13.
fn log() -> Vec<u8> {
    let mut events = benign_run(1, 10);
    events.push(access(11, "WKS-01", r"C:\Users\bob\Desktop\dumper.exe", LSASS, DBGHELP_TRACE));
    events.push(file_create(12, "WKS-02", r"C:\Windows\system32\taskmgr.exe", r"C:\Temp\lsass.DMP"));
    events.push(process_create(13, "WKS-01", r"C:\Windows\System32\whoami.exe", "whoami /all"));
    events.extend(benign_run(14, 10));
    write_evtx(&events)
}

/// What the library reports for these files, scanned in process.
fn in_process(files: &[PathBuf], rules: &RuleSet) -> RunReport {
    let mut run = RunBuilder::new();
    for f in files {
        run.add_file(scan_bytes(&f.display().to_string(), &std::fs::read(f).unwrap(), rules));
    }
    // Incidents as the CLI tells them: their stories read again from the files.
    let index = run.take_index();
    let mut report = run.finish(rules);
    let paths = files.iter().map(|f| (f.display().to_string(), f.clone())).collect();
    report.incidents = evtx_triage::incident::incidents_from_disk(&report.findings, &index, &paths, 2);
    report
}

fn json_pairs(v: &Value) -> std::collections::BTreeSet<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["analytic_id"].as_str().unwrap().to_string(), f["event_record_id"].as_u64().unwrap()))
        .collect()
}

/// The JSON's findings as (analytic, EventRecordID, file), in order.
fn findings_with_file(v: &Value) -> Vec<(String, u64, String)> {
    let key =
        |f: &Value| (f["analytic_id"].as_str().unwrap().into(), f["event_record_id"].as_u64().unwrap(), f["file"].as_str().unwrap().into());
    v["findings"].as_array().unwrap().iter().map(key).collect()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn json_output() {
    let dir = TempDir::new("json");
    let file = dir.write("log.evtx", &log());
    let out = cli(&[&"scan", &"--format", &"json", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], 5);
    assert_eq!(v["rules"], serde_json::json!({"loaded": 2, "skipped": []}));
    assert_eq!(json_pairs(&v), set(&[(MINIDUMP, 11), (TASKMGR, 12)]));
    assert_eq!(v["files"][0]["file"], Value::from(s(&file)));
    assert_eq!(v["files"][0]["status"], "ok");
    assert_eq!(v["files"][0]["records"], 23);
    assert_eq!(v["findings"][0]["attack"], serde_json::json!(["T1003", "T1003.001", "TA0006"]));
    assert_eq!(v["findings"][1]["source_process"], r"C:\Windows\system32\taskmgr.exe");
    assert_eq!(v["totals"]["records"], 23);
    assert_eq!(v["prefilter_literals"], serde_json::json!(RuleSet::builtin().prefilter().literals()));
    // Exactly what the library makes of the file.
    assert_eq!(text, export::to_json(&in_process(&[file], &RuleSet::builtin())) + "\n");
}

#[test]
fn jsonl_output() {
    let dir = TempDir::new("jsonl");
    let file = dir.write("log.evtx", &log());
    let out = cli(&[&"scan", &"--format", &"jsonl", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rules", "finding", "finding", "file", "coverage", "coverage"]);
    assert_eq!(lines[0]["loaded"], 2);
    assert_eq!((lines[1]["analytic_id"].as_str(), lines[1]["event_record_id"].as_u64()), (Some(MINIDUMP), Some(11)));
    assert_eq!((lines[2]["analytic_id"].as_str(), lines[2]["event_record_id"].as_u64()), (Some(TASKMGR), Some(12)));
    assert_eq!(lines[3]["file"], Value::from(s(&file)));
    assert_eq!(lines[4]["could_fire"], true);
    assert_eq!(stdout(&out), export::to_jsonl(&in_process(&[file], &RuleSet::builtin())));
}

#[test]
fn csv_output() {
    let dir = TempDir::new("csv");
    let file = dir.write("log.evtx", &log());
    let out = cli(&[&"scan", &"--format", &"csv", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], export::CSV_COLUMNS.join(","));
    assert_eq!(lines.len(), 3);
    let path = s(&file);
    assert!(lines[1].starts_with(&format!("CAR-2020-05-001,MiniDump of LSASS,{path},11,10,{},WKS-01,", time(11))), "{}", lines[1]);
    assert!(
        lines[2].starts_with(&format!("CAR-2019-08-001,Credential Dumping via Windows Task Manager,{path},12,11,{},WKS-02,", time(12))),
        "{}",
        lines[2]
    );
    assert_eq!(text, export::findings_csv(&in_process(&[file], &RuleSet::builtin()).findings));
}

#[test]
fn table_output_is_the_default() {
    let dir = TempDir::new("table");
    let file = dir.write("log.evtx", &log());
    let out = cli(&[&"scan", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().next().unwrap(), format!("1 file(s), 23 records, 2 finding(s), {} .. {}", time(1), time(23)));
    assert!(text.contains("\nFINDINGS\n"));
    let row = text.lines().find(|l| l.starts_with(MINIDUMP)).unwrap();
    assert!(row.contains(&time(11)) && row.contains(" 11 ") && row.contains("WKS-01") && row.ends_with(&s(&file)), "{row}");
    assert!(text.contains(&format!("ok               23 records    1 chunks   2 findings  {}", s(&file))), "{text}");
    assert!(
        text.contains("\nCOVERAGE\nCAR-2020-05-001  6 events of Microsoft-Windows-Sysmon/Operational EventID 10 were checked\n"),
        "{text}"
    );
    let explicit = cli(&[&"scan", &"--format", &"table", &"--threads", &"1", &file]);
    assert_eq!(stdout(&explicit), text);
    assert_eq!(text, export::to_table(&in_process(&[file], &RuleSet::builtin())));
}

/// Threads share a file's chunks; the output does not depend on how many.
#[test]
fn thread_count_does_not_change_the_output() {
    let dir = TempDir::new("threads");
    let mut chunks = Vec::new();
    for c in 0..5u64 {
        let mut events = benign_run(c * 100 + 1, 20);
        events.push(access(c * 100 + 50, "WKS-01", r"C:\x\y.exe", LSASS, DBGCORE_TRACE));
        chunks.push(events);
    }
    let file = dir.write("multi.evtx", &log_of_chunks(&chunks));
    let one = cli(&[&"scan", &"--format", &"json", &"--threads", &"1", &file]);
    let four = cli(&[&"scan", &"--format", &"json", &"--threads", &"4", &file]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(stdout(&one), stdout(&four));
    let v: Value = serde_json::from_str(&stdout(&one)).unwrap();
    assert_eq!(json_pairs(&v), set(&[(MINIDUMP, 50), (MINIDUMP, 150), (MINIDUMP, 250), (MINIDUMP, 350), (MINIDUMP, 450)]));
    let chunks: Vec<u64> = v["findings"].as_array().unwrap().iter().map(|f| f["chunk"].as_u64().unwrap()).collect();
    assert_eq!(chunks, [0, 1, 2, 3, 4]);
}

/// A log larger than one read of the CLI (8 MiB) and one batch of chunks
/// (256): findings on both sides of each boundary keep their chunk index.
#[test]
fn a_log_larger_than_a_read_and_a_batch() {
    let dir = TempDir::new("big");
    let benign_chunk = one_chunk(&benign_run(1, 40));
    let hit_chunks = [0usize, 127, 128, 255, 256, 299];
    let mut bytes = log()[..FILE_HEADER].to_vec();
    for c in 0..300 {
        if hit_chunks.contains(&c) {
            let mut events = benign_run(1, 20);
            events.push(access(50_000 + c as u64, "WKS-01", r"C:\x\y.exe", LSASS, DBGHELP_TRACE));
            events.extend(benign_run(21, 20));
            bytes.extend(one_chunk(&events));
        } else {
            bytes.extend_from_slice(&benign_chunk);
        }
    }
    set_header(&mut bytes, 300, 50_300);
    assert!(bytes.len() > (8 << 20) * 2);
    let file = dir.write("big.evtx", &bytes);
    let out = cli(&[&"scan", &"--format", &"json", &"--threads", &"2", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let found: Vec<(u64, u64)> =
        v["findings"].as_array().unwrap().iter().map(|f| (f["chunk"].as_u64().unwrap(), f["event_record_id"].as_u64().unwrap())).collect();
    assert_eq!(found, hit_chunks.iter().map(|&c| (c as u64, 50_000 + c as u64)).collect::<Vec<_>>());
    assert_eq!(v["files"][0]["chunks"], 300);
    assert_eq!(v["files"][0]["records"], 300 * 40 + 6);
    assert_eq!(v["files"][0]["status"], "ok");
    assert_eq!(stdout(&out), export::to_json(&in_process(&[file], &RuleSet::builtin())) + "\n");
}

#[test]
fn an_unreadable_input_exits_1_and_the_others_are_still_reported() {
    let dir = TempDir::new("unreadable");
    let good = dir.write("good.evtx", &log());
    let bad = dir.write("notes.evtx", b"these are my notes, not a log\n");
    let out = cli(&[&"scan", &"--format", &"json", &bad, &good]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "evtx-triage: {}: not an EVTX file: it starts with 74 68 65 73 65 20 61 72 (text), not the \"ElfFile\" signature, {}\n",
            s(&bad),
            evtx_triage::input::FORMATS_TRIED
        )
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json_pairs(&v), set(&[(MINIDUMP, 11), (TASKMGR, 12)]));
    assert_eq!(v["files"][0]["file"], Value::from(s(&bad)));
    assert_eq!(v["files"][0]["status"], "unreadable");
    assert_eq!(v["files"][1]["status"], "ok");
    // The table says it too, under the file.
    let out = cli(&[&"scan", &bad, &good]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!(
            "unreadable        0 records    0 chunks   0 findings  {}\n           sha256 {}  30 bytes\n           not an EVTX file",
            s(&bad),
            evtx_triage::digest::sha256_hex(b"these are my notes, not a log\n")
        )),
        "{}",
        stdout(&out)
    );
    // An empty file, too.
    let empty = dir.write("empty.evtx", b"");
    let out = cli(&[&"scan", &"--format", &"csv", &empty]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), format!("evtx-triage: {}: empty file (0 bytes): not an EVTX log\n", s(&empty)));
    assert_eq!(stdout(&out), export::CSV_COLUMNS.join(",") + "\n");
}

/// A damaged but readable file is partial, not a failure of the run.
#[test]
fn a_partial_file_exits_0() {
    let dir = TempDir::new("partial");
    let bytes = log();
    let file = dir.write("cut.evtx", &bytes[..FILE_HEADER + 20_000]);
    let out = cli(&[&"scan", &"--format", &"json", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["files"][0]["status"], "partial");
    assert_eq!(v["files"][0]["issues"][0]["kind"], "truncated");
    assert_eq!(json_pairs(&v), set(&[(MINIDUMP, 11), (TASKMGR, 12)]));
}

#[test]
fn usage_errors_exit_2() {
    let dir = TempDir::new("usage");
    let file = dir.write("log.evtx", &log());
    // No PATH.
    let out = cli(&[&"scan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("<PATH>"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    // No subcommand.
    let out = cli(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    // An unknown flag.
    let out = cli(&[&"scan", &"--bogus", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--bogus"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    // An unknown format.
    let out = cli(&[&"scan", &"--format", &"xml", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("xml"), "{}", stderr(&out));
    // A path that does not exist.
    let missing = dir.path().join("missing.evtx");
    let out = cli(&[&"scan", &file, &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), format!("evtx-triage: {}: no such file or folder\n", s(&missing)));
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_broken_rule_file_exits_2_and_is_named() {
    let dir = TempDir::new("broken-rules");
    let file = dir.write("log.evtx", &log());
    let broken = dir.write("rules/broken.yml", b"title: x\ndetection: [\n");
    let out = cli(&[&"scan", &"--rules", &broken, &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with(&format!("evtx-triage: {}: not a usable Sigma rule: ", s(&broken))), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    // In a folder of rules, a bad rule is skipped and reported; the rest runs.
    let out = cli(&[&"scan", &"--format", &"json", &"--rules", &dir.path().join("rules"), &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("evtx-triage: 2 rule(s) loaded, 1 skipped: 1 invalid YAML or Sigma\n"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("evtx-triage: skipped {}: ", s(&broken))), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["rules"]["loaded"], 2);
    assert_eq!(v["rules"]["skipped"][0]["source"], Value::from(s(&broken)));
    assert_eq!(v["rules"]["skipped"][0]["kind"], "invalid");
    assert_eq!(v["rules"]["skipped"][0]["title"], "x");
    assert_eq!(json_pairs(&v), set(&[(MINIDUMP, 11), (TASKMGR, 12)]));
    // A rule file that is not there.
    let missing = dir.path().join("rules/missing.yml");
    let out = cli(&[&"scan", &"--rules", &missing, &file]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), format!("evtx-triage: {}: no such file or folder\n", s(&missing)));
    // A rule whose id is a built-in's.
    let dup = dir.write("dup/dup.yml", WHOAMI_RULE.replace("id: whoami-run", "id: CAR-2020-05-001").as_bytes());
    let out = cli(&[&"scan", &"--rules", &dup, &file]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!("evtx-triage: {}: not a usable Sigma rule: rule id \"CAR-2020-05-001\" is already loaded from builtin\n", s(&dup))
    );
}

#[test]
fn folders_are_searched_recursively_for_logs_by_content() {
    let dir = TempDir::new("folders");
    let bytes = log();
    let mut other = benign_run(1, 5);
    other.push(access(6, "WKS-09", r"C:\x\y.exe", LSASS, DBGCORE_TRACE));
    let a = dir.write("case/a.evtx", &bytes);
    let b = dir.write("case/sub/deeper/b.EVTX", &write_evtx(&other));
    let mut third = benign_run(1, 3);
    third.push(access(4, "WKS-11", r"C:\x\z.exe", LSASS, DBGCORE_TRACE));
    let renamed = dir.write("case/sub/log.evtx.txt", &write_evtx(&third)); // an EVTX log, but not named .evtx
    let export = dir.write("case/sub/x/export.log", br#"{"EventID":10,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WKS-10","RecordNumber":7,"TargetImage":"C:\\Windows\\system32\\lsass.exe","CallTrace":"C:\\Windows\\SYSTEM32\\dbghelp.dll+1"}"#);
    dir.write("case/notes.txt", b"not a log");
    dir.write("case/sub/readme.md", b"# not a log");
    dir.write("case/sub/case.json", br#"{"case": 7, "files": ["a.evtx"]}"#); // JSON, but no events
    let out = cli(&[&"scan", &"--format", &"json", &dir.path().join("case")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let files: Vec<&str> = v["files"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(files, [s(&a), s(&b), s(&renamed), s(&export)]);
    let found = findings_with_file(&v);
    assert_eq!(
        found,
        [
            (MINIDUMP.to_string(), 11, s(&a)),
            (TASKMGR.to_string(), 12, s(&a)),
            (MINIDUMP.to_string(), 6, s(&b)),
            (MINIDUMP.to_string(), 4, s(&renamed)),
            (MINIDUMP.to_string(), 7, s(&export)),
        ]
    );
    assert_eq!(v["files"][3]["format"], "security-datasets");
    assert_eq!(v["totals"]["records"], 23 + 6 + 4 + 1);
    // A folder with no .evtx in it: nothing to do, nothing wrong.
    let empty = TempDir::new("no-logs");
    empty.write("x/readme.txt", b"nothing here");
    let out = cli(&[&"scan", &"--format", &"csv", &empty.path()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), export::CSV_COLUMNS.join(",") + "\n");
}

#[test]
fn custom_rules_add_their_findings() {
    let dir = TempDir::new("custom");
    let file = dir.write("log.evtx", &log());
    let rule = dir.write("rules/whoami.yml", WHOAMI_RULE.as_bytes());
    let out = cli(&[&"scan", &"--format", &"json", &"--rules", &rule, &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json_pairs(&v), set(&[(MINIDUMP, 11), (TASKMGR, 12), ("whoami-run", 13)]));
    let f = v["findings"].as_array().unwrap().iter().find(|f| f["analytic_id"] == "whoami-run").unwrap();
    assert_eq!(f["analytic_title"], "Whoami run");
    assert_eq!(f["attack"], serde_json::json!(["T1033", "TA0007"]));
    assert_eq!(f["source_process"], r"C:\Windows\System32\whoami.exe");
    assert_eq!(f["matched"][1]["field"], "Image");
    assert_eq!(f["matched"][1]["value"], r"C:\Windows\System32\whoami.exe");
    let analytics: Vec<&str> = v["analytics"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(analytics, [MINIDUMP, TASKMGR, "whoami-run"]);
    assert_eq!(v["analytics"][2]["source"], Value::from(s(&rule)));
    assert_eq!(v["coverage"][2]["could_fire"], true);
    // The custom rule's literal joins the prefilter's.
    let rules = RuleSet::with_extra(custom_analytics(&s(&rule), WHOAMI_RULE).unwrap()).unwrap();
    assert_eq!(v["prefilter_literals"], serde_json::json!(rules.prefilter().literals()));
    assert!(rules.prefilter().literals().iter().any(|l| l.contains("whoami")), "{:?}", rules.prefilter().literals());
    // As the library makes it.
    assert_eq!(stdout(&out), export::to_json(&in_process(std::slice::from_ref(&file), &rules)) + "\n");

    // A folder of rules is searched for .yml / .yaml; a rule without an id takes its file's name.
    dir.write(
        "more/nested/net.yaml",
        b"title: Net use\nlogsource: {product: windows}\ndetection:\n  sel:\n    CommandLine|contains: 'whoami /all'\n  condition: sel\n",
    );
    dir.write("more/ignored.txt", b"not: [a rule");
    let out = cli(&[&"scan", &"--format", &"csv", &"--rules", &rule, &"--rules", &dir.path().join("more"), &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out).lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect();
    assert_eq!(ids, [MINIDUMP, TASKMGR, "whoami-run", "net"]);
}

#[test]
fn every_input_gets_its_sha256_and_a_copy_is_analyzed_once() {
    let dir = TempDir::new("hashes");
    let bytes = log();
    // Bigger than one read of the CLI (256 KiB), so the hash spans many reads.
    let mut many = benign_run(1, 3000);
    many.push(access(3001, "WKS-03", r"C:\x\big.exe", LSASS, DBGHELP_TRACE));
    let big_bytes = write_evtx(&many);
    assert!(big_bytes.len() > 1 << 20, "{} bytes", big_bytes.len());
    let mut same_size = benign_run(1, 10);
    same_size.push(access(11, "WKS-04", r"C:\x\other.exe", LSASS, DBGHELP_TRACE));
    let same_size_bytes = write_evtx(&same_size);
    assert_eq!(same_size_bytes.len(), bytes.len(), "a log of the same size, other bytes");
    let first = dir.write("a.evtx", &bytes);
    let copy = dir.write("copy/a-again.evtx", &bytes);
    let other = dir.write("other.evtx", &same_size_bytes);
    let big = dir.write("big.evtx", &big_bytes);
    let junk = dir.write("junk.evtx", b"not a log at all");
    let out = cli(&[&"scan", &"--format", &"json", &first, &copy, &other, &big, &first, &junk]);
    assert_eq!(out.status.code(), Some(1), "junk.evtx is unreadable");
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let files: Vec<(String, String, String, Option<String>)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            (text("file"), text("status"), text("sha256"), f.get("duplicate_of").map(|d| d.as_str().unwrap().to_string()))
        })
        .collect();
    let sha = evtx_triage::digest::sha256_hex;
    assert_eq!(
        files,
        [
            (s(&first), "ok".into(), sha(&bytes), None),
            (s(&copy), "duplicate".into(), sha(&bytes), Some(s(&first))),
            (s(&other), "ok".into(), sha(&same_size_bytes), None),
            (s(&big), "ok".into(), sha(&big_bytes), None),
            (s(&first), "duplicate".into(), sha(&bytes), Some(s(&first))),
            (s(&junk), "unreadable".into(), sha(b"not a log at all"), None),
        ]
    );
    let found = findings_with_file(&v);
    assert_eq!(
        found,
        [
            (MINIDUMP.to_string(), 11, s(&first)),
            (TASKMGR.to_string(), 12, s(&first)),
            (MINIDUMP.to_string(), 11, s(&other)),
            (MINIDUMP.to_string(), 3001, s(&big)),
        ]
    );
    assert_eq!(v["totals"]["records"], 23 + 11 + 3001);
    let table = stdout(&cli(&[&"scan", &first, &copy]));
    assert!(
        table.contains(&format!(
            "duplicate  the same bytes as {}: not analyzed again  {}\n           sha256 {}\n",
            s(&first),
            s(&copy),
            sha(&bytes)
        )),
        "{table}"
    );
}

#[test]
fn the_html_report_names_the_evidence_loads_nothing_and_escapes_event_text() {
    let dir = TempDir::new("report");
    let mut events = benign_run(1, 4);
    events.push(access(5, "WKS-<b>7</b>", r#"C:\x\<img src=x onerror="alert(1)">.exe"#, LSASS, DBGHELP_TRACE));
    let hostile = dir.write("hostile.evtx", &write_evtx(&events));
    let good = dir.write("good.evtx", &log());
    let copy = dir.write("copy.evtx", &log());
    let rule = dir.write("rules/whoami.yml", WHOAMI_RULE.as_bytes());
    let html_of = |format: &str| {
        let path = dir.path().join(format!("report-{format}.html"));
        let out = cli(&[&"scan", &"--format", &format, &"--rules", &rule, &"--report", &path, &hostile, &good, &copy]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let html = std::fs::read_to_string(&path).unwrap();
        // The one line that differs run to run: when it was written.
        let written = html.find(" · written ").unwrap();
        let end = html[written..].find("Z · ").unwrap() + written;
        format!("{}{}", &html[..written], &html[end..])
    };
    let html = html_of("json");
    assert_eq!(html_of("jsonl"), html, "a run that streams its findings writes the same report");
    // No markup from the event: its text is escaped.
    assert!(!html.contains("<img") && !html.contains("<b>7"), "{html}");
    assert!(html.contains(r#"C:\x\&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.exe"#));
    assert!(html.contains("WKS-&lt;b&gt;7&lt;/b&gt;"));
    // Nothing that loads or runs anything: every `<` opens one of the report's own tags (event text
    // has none left), and no tag or style names a URL.
    let tags: Vec<&str> = html.split('<').skip(1).map(|rest| &rest[..rest.find('>').expect("a tag ends")]).collect();
    let names: BTreeSet<&str> = tags.iter().map(|t| t.split([' ', '\n']).next().unwrap().trim_start_matches('/')).collect();
    let allowed =
        ["!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span", "b", "br", "table", "thead"];
    let allowed: BTreeSet<&str> = allowed.into_iter().chain(["tbody", "tr", "th", "td", "details", "summary", "ul", "li"]).collect();
    assert!(names.is_subset(&allowed), "tags: {names:?}");
    for needle in ["src=", "href=", "url(", "action=", "http:", "https:"] {
        assert!(!tags.iter().any(|t| t.contains(needle)), "a tag holds {needle:?}");
    }
    let style = &html[html.find("<style>").unwrap()..html.find("</style>").unwrap()];
    assert!(!style.contains("url(") && !style.contains("@import"), "{style}");
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-"));
    // The inputs' hashes are sha256sum's, the copy is listed as a duplicate.
    let sums = Command::new("sha256sum").args([&hostile, &good, &copy]).output().expect("sha256sum runs");
    for line in String::from_utf8(sums.stdout).unwrap().lines() {
        let (hash, file) = line.split_once("  ").unwrap();
        assert!(html.contains(&format!("<span class=\"mono file\">{file}</span><br><span class=\"hash\">{hash}</span>")), "{file} {hash}");
    }
    assert!(html.contains(&format!("<td>duplicate of {}</td>", s(&good))));
    // The rule file by its SHA-256, the findings by rule, the ATT&CK table.
    let rule_hash = evtx_triage::digest::sha256_hex(WHOAMI_RULE.as_bytes());
    assert!(html.contains(&format!("<td class=\"mono\">{}</td><td class=\"hash\">{rule_hash}</td>", s(&rule))), "{html}");
    assert!(html.contains(
        "<h3>MiniDump of LSASS <span class=\"muted\">CAR-2020-05-001</span> · <span class=\"level-high\">high</span> · 2 finding(s)</h3>"
    ));
    assert!(html
        .contains("<tr><td class=\"mono\">T1003.001</td><td>OS Credential Dumping: LSASS Memory</td><td>Credential Access</td><td>3</td>"));
}

/// `scan --events` reads a chunk once for all of its findings: over the
/// corpus's credential-access samples, where chunks hold several findings,
/// every finding's event (jsonl and json) is the one the library reads
/// again for that finding alone.
#[test]
fn the_cli_gives_each_finding_its_own_event_when_a_chunk_holds_several() {
    let Some(dir) = corpus_dir("the --events corpus test") else { return };
    let folder = dir.join("attack-samples").join("Credential Access");
    let jsonl: Vec<Value> = stdout(&cli(&[&"scan", &"--events", &"--format", &"jsonl", &folder]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l["type"] == "finding")
        .collect();
    let report: Value = serde_json::from_str(&stdout(&cli(&[&"scan", &"--events", &"--format", &"json", &folder]))).unwrap();
    let json = report["findings"].as_array().unwrap().clone();
    for findings in [&jsonl, &json] {
        let mut per_chunk = std::collections::BTreeMap::new();
        for f in findings.iter() {
            let (file, chunk, offset) = (f["file"].as_str().unwrap(), f["chunk"].as_u64().unwrap(), f["offset"].as_u64().unwrap());
            *per_chunk.entry((file.to_string(), chunk)).or_insert(0) += 1;
            let bytes = std::fs::read(file).unwrap();
            let chunk_bytes = &bytes[chunk_range(chunk as usize).start..chunk_range(chunk as usize).end.min(bytes.len())];
            let want = evtx_triage::reread::event_in_chunk(chunk_bytes, chunk, offset).unwrap();
            assert_eq!(f["event"], want, "{file}, record {}", f["event_record_id"]);
        }
        let shared = per_chunk.values().filter(|&&n| n > 1).count();
        println!("{} findings in {} chunks, {shared} chunks with several", findings.len(), per_chunk.len());
        assert!(shared > 0, "some chunk holds several findings");
    }
    // The CAR findings `../shared/corpus/expected.json` lists for these samples.
    assert_eq!((jsonl.len(), json.len()), (8, 8));
}
