//! Round trips through `evtx_triage::writer`: what it writes, the `evtx` crate reads back
//! exactly, with every checksum valid.

use std::collections::BTreeSet;
use std::sync::Arc;

use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
use evtx_triage::demo::{demo_events, demo_log, DEMO_COMPUTER, DEMO_EVENT_COUNT, DEMO_EXPECTED, DEMO_FIRST_RECORD_ID};
use evtx_triage::writer::{parse_filetime, try_write_evtx, write_evtx, EventSpec};
use serde_json::Value;

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// Every record of the file, parsed with checksums validated, as (record ID, JSON).
fn parse_file(bytes: &[u8]) -> Vec<(u64, Value)> {
    let settings = ParserSettings::default().validate_checksums(true);
    let mut parser = EvtxParser::from_buffer(bytes.to_vec()).expect("file header").with_configuration(settings);
    assert!(parser.header().validate_checksum(), "file header CRC32");
    parser
        .records_json_value()
        .map(|record| {
            let record = record.expect("record parses");
            (record.event_record_id, record.data)
        })
        .collect()
}

/// Every record, chunk by chunk, each chunk checked with `EvtxChunkData::new(.., true)`.
fn parse_chunks(bytes: &[u8]) -> Vec<Vec<(u64, Value)>> {
    assert_eq!((bytes.len() - FILE_HEADER) % CHUNK, 0, "whole chunks");
    bytes[FILE_HEADER..]
        .chunks(CHUNK)
        .map(|chunk_bytes| {
            let mut chunk = EvtxChunkData::new(chunk_bytes.to_vec(), true).expect("valid chunk");
            assert!(chunk.validate_checksum());
            let mut chunk = chunk.parse(Arc::new(ParserSettings::default())).expect("chunk parses");
            chunk
                .iter()
                .map(|record| {
                    let record = record.expect("record parses");
                    let id = record.event_record_id;
                    (id, record.into_json_value().expect("record renders").data)
                })
                .collect()
        })
        .collect()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// The `EventData` of a rendered event as ordered (name, value) pairs.
fn event_data(event: &Value) -> Vec<(String, String)> {
    match &event["Event"]["EventData"] {
        Value::Null => Vec::new(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned())).collect(),
        other => panic!("EventData {other}"),
    }
}

/// Asserts that `event` renders `spec` field by field (with `data` as given).
fn assert_event(event: &Value, spec: &EventSpec, data: &[(String, String)]) {
    let system = &event["Event"]["System"];
    assert_eq!(event["Event"]["#attributes"]["xmlns"], "http://schemas.microsoft.com/win/2004/08/events/event");
    assert_eq!(system["Provider"]["#attributes"]["Name"], spec.provider.as_str());
    assert_eq!(system["EventID"], spec.event_id);
    assert_eq!(system["EventRecordID"], spec.record_id);
    assert_eq!(
        system["TimeCreated"]["#attributes"]["SystemTime"],
        spec.time.as_str(),
        "times here are written with 7 fraction digits, as evtx renders them"
    );
    assert_eq!(system["Channel"], spec.channel.as_str());
    assert_eq!(system["Computer"], spec.computer.as_str());
    assert_eq!(event_data(event), data);
}

fn hostile_events() -> Vec<EventSpec> {
    let mut other = EventSpec::sysmon(
        43,
        "2024-02-29T23:59:59.9999999Z",
        4688,
        "<svg onload=alert(1)>",
        &[("#attributes", "not attributes"), ("xmlns", "not a namespace"), ("\u{202e}exe.gpj", "\u{202e}cod.scr")],
    );
    other.provider = "Microsoft-Windows-Security-Auditing".into();
    other.channel = "Security".into();
    vec![
        EventSpec::sysmon(
            4434,
            "2019-03-17T19:09:41.3288680Z",
            10,
            "IEWIN7",
            &[
                ("RuleName", ""),
                ("UtcTime", "2019-03-17 19:09:41.328"),
                ("SourceImage", "<img src=x onerror=alert(1)>"),
                ("TargetImage", "</script><script>alert(document.domain)</script>"),
                ("CallTrace", "C:\\Windows\\SYSTEM32\\ntdll.dll+9c534|\"quoted\" & 'apos' &amp;"),
                ("Rtl", "evil\u{202e}fdp.exe"),
                ("Unicode", "Ünïcödé 日本語 עברית 😀🔥 \u{feff}\u{200b}"),
                ("Whitespace", "  lead\ttab\r\nCRLF trail  "),
                ("Json", "{\"a\":[1,2],\"b\":null}\\"),
                ("Controls", "\u{1}\u{7}\u{1b}[31m\u{7f}"),
            ],
        ),
        EventSpec::sysmon(4435, "1601-01-01T00:00:00.0000000Z", 65535, " ", &[("<Data Name=\"x\">", "</Data></EventData></Event>")]),
        other,
        EventSpec::sysmon(44, "2026-03-02T09:00:00.0000001Z", 1, "WKS", &[]),
    ]
}

#[test]
fn hostile_strings_round_trip_exactly() {
    let events = hostile_events();
    let bytes = write_evtx(&events);
    let records = parse_file(&bytes);
    assert_eq!(records.len(), events.len());
    for ((id, event), spec) in records.iter().zip(&events) {
        assert_eq!(*id, spec.record_id);
        assert_event(event, spec, &spec.data);
    }

    // The same, chunk by chunk.
    let chunks = parse_chunks(&bytes);
    assert_eq!(chunks.len(), 1);
    for ((id, event), spec) in chunks[0].iter().zip(&events) {
        assert_eq!(*id, spec.record_id);
        assert_event(event, spec, &spec.data);
    }

    // Sysmon events look like Windows' own.
    let system = &records[0].1["Event"]["System"];
    assert_eq!(system["Provider"]["#attributes"]["Guid"], "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}");
    assert_eq!(system["Version"], 3);
    assert_eq!(system["Level"], 4);
    assert_eq!(system["Task"], 10);
    assert_eq!(system["Keywords"], "0x8000000000000000");
    assert_eq!(system["Correlation"], Value::Null);
    assert_eq!(system["Security"]["#attributes"]["UserID"], "S-1-5-18");
}

#[test]
fn record_header_timestamps_match() {
    let events = hostile_events();
    let mut parser = EvtxParser::from_buffer(write_evtx(&events)).unwrap();
    for (record, spec) in parser.records_json_value().zip(&events) {
        let record = record.unwrap();
        let filetime = parse_filetime(&spec.time).unwrap();
        // FILETIME: 100 ns since 1601-01-01; Unix epoch at 11644473600 s.
        let unix_nanos = (i128::from(filetime) - 116_444_736_000_000_000) * 100;
        assert_eq!(record.timestamp.as_nanosecond(), unix_nanos, "{}", spec.time);
    }
}

#[test]
fn huge_strings_are_truncated_to_fit_a_chunk() {
    let big_ascii = "A".repeat(100_000);
    let big_emoji = "😀".repeat(50_000); // 100,000 UTF-16 code units
    let events = vec![
        EventSpec::sysmon(1, "2026-03-02T09:00:00.0000000Z", 1, "WKS", &[("Small", "kept")]),
        EventSpec::sysmon(2, "2026-03-02T09:00:01.0000000Z", 1, "WKS", &[("CommandLine", &big_ascii), ("Image", "C:\\x.exe")]),
        EventSpec::sysmon(3, "2026-03-02T09:00:02.0000000Z", 1, "WKS", &[("A", &big_emoji), ("B", &big_ascii)]),
        EventSpec::sysmon(4, "2026-03-02T09:00:03.0000000Z", 1, "WKS", &[("After", "kept too")]),
    ];
    let bytes = write_evtx(&events);
    let records = parse_file(&bytes);
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);

    let data = event_data(&records[1].1);
    assert_eq!(data[0].0, "CommandLine");
    assert!(data[0].1.len() > 30_000 && big_ascii.starts_with(&data[0].1));
    assert_eq!(data[1], ("Image".into(), "C:\\x.exe".into()));

    let data = event_data(&records[2].1);
    assert!(big_emoji.starts_with(&data[0].1) && big_ascii.starts_with(&data[1].1));
    assert!(data[0].1.len() + data[1].1.len() > 30_000);

    assert_event(&records[0].1, &events[0], &events[0].data);
    assert_event(&records[3].1, &events[3], &events[3].data);
    for chunk in parse_chunks(&bytes) {
        assert!(!chunk.is_empty());
    }
}

#[test]
fn five_thousand_events_span_chunks() {
    let events: Vec<EventSpec> = (0..5000u64)
        .map(|i| {
            let time = format!("2026-03-02T{:02}:{:02}:{:02}.{:07}Z", 10 + i / 3600, i / 60 % 60, i % 60, i * 7919 % 10_000_000);
            let command_line = format!("cmd.exe /c echo {}", "x".repeat((i % 97) as usize));
            EventSpec::sysmon(
                100_000 + i,
                &time,
                [1, 3, 10, 11][(i % 4) as usize],
                &format!("HOST-{}", i % 13),
                &[("RuleName", "-"), ("ProcessId", &i.to_string()), ("CommandLine", &command_line)],
            )
        })
        .collect();
    let bytes = write_evtx(&events);

    let chunk_count = (bytes.len() - FILE_HEADER) / CHUNK;
    assert!(chunk_count >= 5, "{chunk_count} chunks");
    // File header: chunk numbers, next record ID, sizes, versions.
    assert_eq!(&bytes[..8], b"ElfFile\0");
    assert_eq!(u64_at(&bytes, 8), 0);
    assert_eq!(u64_at(&bytes, 16), chunk_count as u64 - 1);
    assert_eq!(u64_at(&bytes, 24), 105_000);
    assert_eq!((u16_at(&bytes, 36), u16_at(&bytes, 38)), (1, 3));
    assert_eq!(u16_at(&bytes, 40), 4096);
    assert_eq!(u16_at(&bytes, 42) as usize, chunk_count);

    let records = parse_file(&bytes);
    assert_eq!(records.len(), events.len());
    for ((id, event), spec) in records.iter().zip(&events) {
        assert_eq!(*id, spec.record_id);
        assert_event(event, spec, &spec.data);
    }

    let chunks = parse_chunks(&bytes);
    assert_eq!(chunks.len(), chunk_count);
    let ids: Vec<u64> = chunks.iter().flatten().map(|(id, _)| *id).collect();
    let expected: Vec<u64> = events.iter().map(|e| e.record_id).collect();
    assert_eq!(ids, expected);
    // Chunk headers name their first and last records.
    for (n, chunk) in chunks.iter().enumerate() {
        let header = &bytes[FILE_HEADER + n * CHUNK..];
        assert_eq!(u64_at(header, 24), chunk.first().unwrap().0);
        assert_eq!(u64_at(header, 32), chunk.last().unwrap().0);
    }
}

#[test]
fn repeated_and_unordered_record_ids_all_come_back() {
    let ids = [5u64, 7, 5, 3, 7, 7];
    let events: Vec<EventSpec> =
        ids.iter().map(|&id| EventSpec::sysmon(id, "2026-03-02T09:00:00.0000000Z", 1, "WKS", &[("Id", &id.to_string())])).collect();
    let bytes = write_evtx(&events);
    let records = parse_file(&bytes);
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), ids);
    assert_eq!(parse_chunks(&bytes).iter().map(Vec::len).sum::<usize>(), ids.len());
    assert_eq!(u64_at(&bytes, 24), 8, "next record ID");
}

#[test]
fn empty_strings_render_as_evtx_renders_them() {
    // evtx renders an element or attribute with empty text as null; an empty `Data` value
    // stays an empty string.
    let mut event = EventSpec::sysmon(1, "2026-03-02T09:00:00.0000000Z", 1, "", &[("RuleName", "")]);
    event.channel = String::new();
    let records = parse_file(&write_evtx(&[event]));
    let system = &records[0].1["Event"]["System"];
    assert_eq!(system["Computer"], Value::Null);
    assert_eq!(system["Channel"], Value::Null);
    assert_eq!(event_data(&records[0].1), [("RuleName".to_owned(), String::new())]);
}

#[test]
fn no_events_make_a_header_only_file() {
    let bytes = write_evtx(&[]);
    assert_eq!(bytes.len(), FILE_HEADER);
    assert!(parse_file(&bytes).is_empty());
}

#[test]
fn bad_times_are_errors() {
    let mut event = EventSpec::sysmon(9, "2026-03-02T09:00:00Z", 1, "WKS", &[]);
    assert!(try_write_evtx(std::slice::from_ref(&event)).is_ok());
    event.time = "yesterday".into();
    let err = try_write_evtx(&[event]).unwrap_err();
    assert_eq!(err.record_id, 9);
}

#[test]
fn demo_log_parses_fully() {
    let bytes = demo_log();
    assert_eq!(bytes, demo_log(), "deterministic");
    let events = demo_events();
    assert_eq!(events.len(), DEMO_EVENT_COUNT);

    let records = parse_file(&bytes);
    assert_eq!(records.len(), DEMO_EVENT_COUNT);
    let chunked: usize = parse_chunks(&bytes).iter().map(Vec::len).sum();
    assert_eq!(chunked, DEMO_EVENT_COUNT);

    let mut previous_time = String::new();
    for (n, ((id, event), spec)) in records.iter().zip(&events).enumerate() {
        assert_eq!(*id, DEMO_FIRST_RECORD_ID + n as u64);
        assert_event(event, spec, &spec.data);
        assert_eq!(spec.computer, DEMO_COMPUTER);
        assert!(spec.time.starts_with("2026-03-02T") && spec.time > previous_time);
        previous_time = spec.time.clone();
    }
    let span = parse_filetime(&events.last().unwrap().time).unwrap() - parse_filetime(&events[0].time).unwrap();
    let minutes = span / 600_000_000;
    assert!((25..=35).contains(&minutes), "{minutes} minutes");
}

/// Plain re-statements of the two CAR analytics, to check `DEMO_EXPECTED` against.
fn reference_findings(records: &[(u64, Value)]) -> BTreeSet<(&'static str, u64)> {
    let mut found = BTreeSet::new();
    for (id, event) in records {
        let system = &event["Event"]["System"];
        let data = &event["Event"]["EventData"];
        let field = |name: &str| data[name].as_str().unwrap_or("").to_ascii_lowercase();
        if system["Channel"] != "Microsoft-Windows-Sysmon/Operational" {
            continue;
        }
        match system["EventID"].as_u64() {
            Some(10) => {
                let trace = field("CallTrace");
                if field("TargetImage") == r"c:\windows\system32\lsass.exe"
                    && (trace.contains("dbghelp.dll") || trace.contains("dbgcore.dll"))
                {
                    found.insert(("CAR-2020-05-001", *id));
                }
            }
            Some(11) => {
                let target = field("TargetFilename");
                let file = target.rsplit(['\\', '/']).next().unwrap();
                let image = field("Image");
                let taskmgr = image.starts_with(r"c:\windows\") && image.ends_with(r"\taskmgr.exe");
                if file.starts_with("lsass") && file.ends_with(".dmp") && taskmgr {
                    found.insert(("CAR-2019-08-001", *id));
                }
            }
            _ => {}
        }
    }
    found
}

#[test]
fn demo_expected_findings_are_exactly_the_matches() {
    let records = parse_file(&demo_log());
    let expected: BTreeSet<(&str, u64)> = DEMO_EXPECTED.iter().copied().collect();
    assert_eq!(expected.len(), DEMO_EXPECTED.len());
    assert_eq!(reference_findings(&records), expected);

    // The story's other steps are there too: procdump's own dump file, Task Manager's dump of
    // Edge, WerFault's dump of explorer (none of which the analytics report).
    let data_of = |id: u64| event_data(&records[(id - DEMO_FIRST_RECORD_ID) as usize].1);
    let has = |id: u64, name: &str, value: &str| data_of(id).iter().any(|(k, v)| k == name && v == value);
    let file_creates: Vec<(String, String)> = records
        .iter()
        .filter(|(_, e)| e["Event"]["System"]["EventID"] == 11)
        .map(|(_, e)| {
            let d = &e["Event"]["EventData"];
            (d["Image"].as_str().unwrap().to_owned(), d["TargetFilename"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(file_creates.contains(&(r"C:\Users\jdoe\Downloads\procdump64.exe".into(), r"C:\Users\jdoe\Downloads\lsass.dmp".into())));
    assert!(file_creates.contains(&(r"C:\Windows\system32\taskmgr.exe".into(), r"C:\Users\jdoe\AppData\Local\Temp\lsass.DMP".into())));
    for &(analytic, id) in DEMO_EXPECTED {
        if analytic == "CAR-2020-05-001" {
            assert!(has(id, "GrantedAccess", "0x1fffff"));
            assert!(has(id, "TargetImage", r"C:\Windows\system32\lsass.exe"));
        }
    }
}
