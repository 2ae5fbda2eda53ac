//! Logs that are not `.evtx`: the corpus converted by this test into each
//! text format gives the same findings as the `.evtx` itself, CAR's own
//! Mordor true positive fires, and each format's edge cases (BOM, CRLF, a
//! cut last line, unnamed `Data`, numbers as text) are read as they should.

use evtx::{EvtxParser, ParserSettings};
use evtx_triage::input::InputFormat;
use evtx_triage::report::FileStatus;
use evtx_triage::rule_load::LoadOptions;
use evtx_triage::rule_source;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use serde_json::{json, Map, Value};
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

/// Every record the `evtx` crate reads, as its JSON and its XML.
fn records(bytes: &[u8]) -> (Vec<Value>, Vec<String>) {
    let settings = ParserSettings::default().num_threads(1);
    let parse = || EvtxParser::from_buffer(bytes.to_vec()).map(|p| p.with_configuration(settings.clone()));
    let Ok(mut parser) = parse() else { return (Vec::new(), Vec::new()) };
    let json: Vec<Value> = parser.records_json_value().filter_map(Result::ok).map(|r| r.data).collect();
    let mut parser = parse().unwrap();
    let xml: Vec<String> = parser.records().filter_map(Result::ok).map(|r| r.data).collect();
    (json, xml)
}

/// evtx_dump's JSONL, with a byte-order mark and CRLF line ends.
fn to_jsonl(events: &[Value]) -> Vec<u8> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    for e in events {
        out.extend_from_slice(serde_json::to_string(e).unwrap().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// evtx_dump's JSON: "Record N" and the pretty document.
fn to_pretty_json(events: &[Value]) -> Vec<u8> {
    let mut out = String::new();
    for (i, e) in events.iter().enumerate() {
        out.push_str(&format!("Record {}\n{}\n", i + 1, serde_json::to_string_pretty(e).unwrap()));
    }
    out.into_bytes()
}

/// Event Viewer's "Save as XML": one `<Events>` element, CRLF line ends.
fn to_event_xml(xml: &[String]) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Events>\r\n");
    for record in xml {
        let body = record.trim_start_matches(|c| c != '>').get(1..).filter(|_| record.starts_with("<?xml")).unwrap_or(record);
        out.push_str(body.trim());
        out.push_str("\r\n");
    }
    out.push_str("</Events>\r\n");
    out.into_bytes()
}

fn system<'a>(e: &'a Value, name: &str) -> Option<&'a Value> {
    let v = e.pointer(&format!("/Event/System/{name}"))?;
    Some(v.get("#text").unwrap_or(v))
}

fn attr<'a>(e: &'a Value, element: &str, name: &str) -> Option<&'a Value> {
    e.pointer(&format!("/Event/System/{element}/#attributes/{name}"))
}

/// Winlogbeat writes every event data value as text.
fn as_text(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(as_text).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
        other => other.clone(),
    }
}

/// An event's data fields by name, as the event view lifts them.
fn data_fields(e: &Value, section: &str) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(data)) = e.pointer(&format!("/Event/{section}")) {
        for (k, v) in data.iter().filter(|(k, _)| *k != "#attributes") {
            out.insert(k.clone(), v.get("#text").cloned().unwrap_or_else(|| v.clone()));
        }
    }
    out
}

/// Winlogbeat/ECS NDJSON: `winlog.*`, event data as text, the EventID as text too.
fn to_winlogbeat(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let doc = json!({
            "@timestamp": attr(e, "TimeCreated", "SystemTime"),
            "event": {"code": system(e, "EventID").map(as_text), "kind": "event"},
            "winlog": {
                "event_id": system(e, "EventID").map(as_text),
                "channel": system(e, "Channel"),
                "computer_name": system(e, "Computer"),
                "record_id": system(e, "EventRecordID"),
                "provider_name": attr(e, "Provider", "Name"),
                "process": {"pid": attr(e, "Execution", "ProcessID")},
                "event_data": as_text(&Value::Object(data_fields(e, "EventData"))),
                "user_data": as_text(&Value::Object(data_fields(e, "UserData"))),
            }
        });
        out.extend_from_slice(serde_json::to_string(&doc).unwrap().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Security-Datasets JSON lines: flat, the event data at the top level.
fn to_security_datasets(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let mut doc = Map::new();
        let mut put = |k: &str, v: Option<&Value>| {
            if let Some(v) = v {
                doc.insert(k.into(), v.clone());
            }
        };
        put("EventID", system(e, "EventID"));
        put("Channel", system(e, "Channel"));
        put("Hostname", system(e, "Computer"));
        put("RecordNumber", system(e, "EventRecordID"));
        put("SourceName", attr(e, "Provider", "Name"));
        put("@timestamp", attr(e, "TimeCreated", "SystemTime"));
        for section in ["EventData", "UserData"] {
            for (k, v) in data_fields(e, section) {
                if let Value::Object(inner) = &v {
                    inner.iter().for_each(|(k, v)| {
                        doc.entry(k.clone()).or_insert(v.clone());
                    });
                } else {
                    doc.entry(k).or_insert(v);
                }
            }
        }
        out.extend_from_slice(serde_json::to_string(&doc).unwrap().as_bytes());
        out.push(b'\n');
    }
    out
}

type Pairs = BTreeSet<(String, u64)>;

fn pairs(findings: &[evtx_triage::report::Finding]) -> Pairs {
    findings.iter().map(|f| (f.analytic_id.clone(), f.event_record_id)).collect()
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
    let converters: [(InputFormat, fn(&[Value], &[String]) -> Vec<u8>); 5] = [
        (InputFormat::EvtxJson, |j, _| to_jsonl(j)),
        (InputFormat::EvtxJson, |j, _| to_pretty_json(j)),
        (InputFormat::EventXml, |_, x| to_event_xml(x)),
        (InputFormat::Winlogbeat, |j, _| to_winlogbeat(j)),
        (InputFormat::SecurityDatasets, |j, _| to_security_datasets(j)),
    ];
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
        for (n, (format, convert)) in converters.iter().enumerate() {
            let text = convert(&json, &xml);
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
    let (_, view) = evtx_triage::text_scan::events_of_text(event(8, "<Data>one</Data><Data>two</Data>").as_bytes()).unwrap().remove(0);
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
