//! Logs that are not `.evtx`: the corpus converted by this test into each
//! text format gives the same findings as the `.evtx` itself, CAR's own
//! Mordor true positive fires, and each format's edge cases (BOM, CRLF, a
//! cut last line, unnamed `Data`, numbers as text) are read as they should.

use evtx_triage::input::InputFormat;
use evtx_triage::report::FileStatus;
use evtx_triage::rule_load::LoadOptions;
use evtx_triage::rule_source;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::text_export::{records, system, TextForm};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn shared(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared").join(sub);
    if dir.exists() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {} is missing", dir.display());
    }
    eprintln!("NOTICE: {} not found; skipping", dir.display());
    None
}

/// A byte-order mark in front and CRLF line ends, as Windows tools write text.
fn with_bom_and_crlf(text: &[u8]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

type Pairs = BTreeSet<(String, u64)>;

fn pairs(findings: &[evtx_triage::report::Finding]) -> Pairs {
    findings.iter().map(|f| (f.analytic_id.to_string(), f.event_record_id)).collect()
}

/// The built-ins and SigmaHQ's pack, as an analyst would load them.
fn pack_rules() -> Option<RuleSet> {
    let sigma = shared("sigma")?;
    let mut texts = rule_source::RuleTexts::default();
    for folder in ["rules/windows", "rules-threat-hunting/windows", "rules-emerging-threats"] {
        texts.extend(rule_source::from_path(&sigma.join(folder)));
    }
    Some(RuleSet::load(&texts, &LoadOptions::default()))
}

#[test]
fn every_corpus_log_converted_to_each_format_gives_the_findings_of_its_evtx() {
    let (Some(corpus), Some(rules)) = (shared("corpus"), pack_rules()) else { return };
    let expected: Value = serde_json::from_slice(&std::fs::read(corpus.join("expected.json")).unwrap()).unwrap();
    let formats =
        [InputFormat::EvtxJson, InputFormat::EvtxJson, InputFormat::EventXml, InputFormat::Winlogbeat, InputFormat::SecurityDatasets];
    let (mut files, mut findings, mut failures) = (0, 0, Vec::new());
    for rel in expected.as_object().unwrap().keys() {
        let bytes = std::fs::read(corpus.join(rel)).unwrap();
        let (json, xml) = records(&bytes);
        if json.is_empty() {
            continue;
        }
        // Compared on the records both read (the scanner also reads records of damaged chunks).
        let ids: BTreeSet<u64> = json.iter().filter_map(|e| system(e, "EventRecordID").and_then(Value::as_u64)).collect();
        let want: Pairs = pairs(scan_bytes(rel, &bytes, &rules).findings()).into_iter().filter(|(_, id)| ids.contains(id)).collect();
        files += 1;
        findings += want.len();
        for (n, (form, format)) in TextForm::ALL.iter().zip(&formats).enumerate() {
            let mut text = form.write(&json, &xml);
            if *form == TextForm::EvtxJsonl {
                text = with_bom_and_crlf(&text);
            }
            let name = format!("{rel}.{n}");
            let mut run = RunBuilder::new();
            run.add_file(scan_bytes(&name, &text, &rules));
            let report = run.finish(&rules);
            let file = &report.files[0];
            if pairs(&report.findings) != want || file.format != Some(*format) || file.records != json.len() as u64 {
                failures.push(format!(
                    "{name} ({format:?}): format {:?}, {} of {} records, issues {:?}; findings {:?} instead of {:?}",
                    file.format,
                    file.records,
                    json.len(),
                    file.issues.iter().map(|i| &i.reason).collect::<Vec<_>>(),
                    pairs(&report.findings).symmetric_difference(&want).collect::<Vec<_>>(),
                    want.len()
                ));
            }
        }
    }
    eprintln!("{files} logs in 5 text forms each, {findings} findings per form");
    assert!(files >= 290, "only {files} corpus logs converted");
    assert!(findings > 1000, "the pack fires {findings} times on the corpus");
    assert!(failures.is_empty(), "{} conversions differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn cars_own_true_positive_fires_on_record_258042() {
    let Some(seeds) = shared("seeds/car") else { return };
    let rules = RuleSet::builtin();
    for name in ["CAR-2019-08-001-mordor-01.json", "CAR-2019-08-001-mordor-01-snippet.json"] {
        let bytes = std::fs::read(seeds.join(name)).unwrap();
        let mut run = RunBuilder::new();
        run.add_file(scan_bytes(name, &bytes, &rules));
        let report = run.finish(&rules);
        assert_eq!(pairs(&report.findings), Pairs::from([("CAR-2019-08-001".to_string(), 258042)]), "{name}");
        let f = &report.findings[0];
        assert_eq!(f.computer.as_deref(), Some("it001.shire.com"));
        assert_eq!(f.source_process.as_deref(), Some(r"c:\windows\system32\taskmgr.exe"));
        assert_eq!((f.line, f.length), (Some(1), Some(bytes.len() as u64)));
        assert_eq!(report.files[0].format, Some(InputFormat::Helk));
        // Its full event is read again from the file's own bytes.
        let event = evtx_triage::reread::event_of(&bytes, f).unwrap();
        assert_eq!(event["record_number"], json!(258042));
    }
}

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn dump_line(id: u64, image: &str, call_trace: &str) -> String {
    json!({"winlog": {"event_id": "10", "record_id": id.to_string(), "channel": SYSMON, "computer_name": "WKS-1",
        "event_data": {"SourceImage": image, "TargetImage": "C:\\Windows\\system32\\lsass.exe", "CallTrace": call_trace}},
        "@timestamp": format!("2024-05-01T10:00:{id:02}.000Z")})
    .to_string()
}

#[test]
fn winlogbeat_edge_cases_bom_crlf_numbers_as_text_and_a_cut_last_line() {
    let rules = RuleSet::builtin();
    let hit = "C:\\Windows\\SYSTEM32\\ntdll.dll+1|C:\\Windows\\System32\\dbghelp.dll+2";
    let mut text = String::from("\u{feff}");
    text.push_str(&dump_line(1, "C:\\a.exe", hit));
    text.push_str("\r\n");
    text.push_str(&dump_line(2, "C:\\b.exe", "C:\\Windows\\SYSTEM32\\ntdll.dll+1"));
    text.push_str("\r\n{\"winlog\": broken\r\n");
    text.push_str(&dump_line(4, "C:\\c.exe", hit));
    text.push_str("\r\n");
    let cut = dump_line(5, "C:\\d.exe", hit);
    text.push_str(&cut[..cut.len() / 2]);
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes("beats.ndjson", text.as_bytes(), &rules));
    let report = run.finish(&rules);
    let file = &report.files[0];
    assert_eq!(pairs(&report.findings), Pairs::from([("CAR-2020-05-001".into(), 1), ("CAR-2020-05-001".into(), 4)]));
    assert_eq!(report.findings.iter().map(|f| f.line).collect::<Vec<_>>(), [Some(1), Some(4)]);
    assert_eq!((file.records, file.status, file.format), (3, FileStatus::Partial, Some(InputFormat::Winlogbeat)));
    let issues: Vec<(Option<u64>, &str)> = file.issues.iter().map(|i| (i.line, i.reason.as_str())).collect();
    assert_eq!(
        issues,
        [
            (Some(3), "a JSON document that does not end on its line (malformed or cut); line skipped"),
            (Some(5), "the file ends inside a JSON document (a partial last record); not read"),
        ]
    );
    assert_eq!(report.findings[1].event_id, Some(10), "EventID given as text is a number");
}

#[test]
fn event_xml_with_unnamed_data_and_a_bare_sequence_of_events() {
    let rules = RuleSet::builtin();
    let event = |id: u64, data: &str| {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon'/>\
             <EventID>11</EventID><TimeCreated SystemTime='2024-05-01T10:00:00.0000000Z'/><EventRecordID>{id}</EventRecordID>\
             <Channel>{SYSMON}</Channel><Computer>WKS-2</Computer></System><EventData>{data}</EventData></Event>\n"
        )
    };
    let hit = "<Data Name='Image'>C:\\Windows\\System32\\Taskmgr.exe</Data><Data Name='TargetFilename'>C:\\Users\\x\\AppData\\Local\\Temp\\lsass (2).DMP</Data>";
    let text = [event(7, hit), event(8, "<Data>one</Data><Data>two</Data>"), event(9, hit)].concat();
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes("events.xml", text.as_bytes(), &rules));
    let report = run.finish(&rules);
    assert_eq!(pairs(&report.findings), Pairs::from([("CAR-2019-08-001".into(), 7), ("CAR-2019-08-001".into(), 9)]));
    assert_eq!(report.files[0].records, 3);
    assert_eq!(report.files[0].issues, vec![]);
    let f = &report.findings[1];
    let (start, length) = evtx_triage::reread::span_of(f);
    let reread = evtx_triage::reread::event_of(&text.as_bytes()[start as usize..(start + length) as usize], f).unwrap();
    assert_eq!(reread["Event"]["System"]["EventRecordID"], json!("9"));
    // The unnamed Data values of record 8, as evtx renders them.
    let view = evtx_triage::text_scan::events_of_text(event(8, "<Data>one</Data><Data>two</Data>").as_bytes()).unwrap().remove(0).view;
    assert_eq!(view.fields["Data"], json!(["one", "two"]));
}

#[test]
fn a_file_of_no_known_format_says_which_were_tried() {
    let rules = RuleSet::builtin();
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes("notes.json", b"{\"case\": 7}\n{\"case\": 8}\n", &rules));
    run.add_file(scan_bytes("notes.txt", b"case notes", &rules));
    let report = run.finish(&rules);
    assert_eq!(report.files[0].status, FileStatus::Unreadable);
    assert_eq!(
        report.files[0].error.as_deref(),
        Some("no event could be read; the first problem: line 1: a JSON document of no known format (keys case); expected evtx_dump's Event, Winlogbeat's winlog, HELK's event_id, or Security-Datasets' EventID")
    );
    assert_eq!(report.files[0].issues.len(), 2);
    assert_eq!(
        report.files[1].error.as_deref(),
        Some(
            format!(
                "not an EVTX file: it starts with 63 61 73 65 20 6e 6f 74 (text), not the \"ElfFile\" signature, {}",
                evtx_triage::input::FORMATS_TRIED
            )
            .as_str()
        )
    );
}

#[test]
fn the_cli_reads_the_true_positive_and_its_event_again() {
    let Some(seeds) = shared("seeds/car") else { return };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_evtx-triage"))
        .args(["scan", "--events", "--format", "jsonl"])
        .arg(seeds.join("CAR-2019-08-001-mordor-01.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let findings: Vec<&Value> = lines.iter().filter(|l| l["type"] == "finding").collect();
    assert_eq!(findings.len(), 1);
    assert_eq!((&findings[0]["analytic_id"], &findings[0]["event_record_id"]), (&json!("CAR-2019-08-001"), &json!(258042)));
    assert_eq!(findings[0]["event"]["process_name"], json!("taskmgr.exe"), "the full event, read again from the file");
    let file = lines.iter().find(|l| l["type"] == "file").unwrap();
    assert_eq!((&file["format"], &file["status"], &file["records"]), (&json!("helk"), &json!("ok"), &json!(1)));
}
