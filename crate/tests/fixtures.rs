//! Hermetic fixtures: logs built with `writer::write_evtx`, scanned with the
//! built-in CAR analytics. Case variants that must fire, near misses that
//! must not, what a finding carries, statistics, coverage notes, and that the
//! byte prefilter never changes a result.

mod support;

use evtx_triage::analytics::{builtin_analytics, custom_analytics};
use evtx_triage::reader::{ChunkSplitter, RawChunk};
use evtx_triage::report::{Coverage, EventCount, Finding};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, scan_bytes};
use evtx_triage::writer::{write_evtx, EventSpec};
use serde_json::{json, Value};
use support::*;

const WERFAULT: &str = r"C:\Windows\System32\WerFault.exe";
const TASKLIST: &str = r"C:\Windows\system32\tasklist.exe";
const DUMPER: &str = r"C:\Users\bob\Desktop\dumper.exe";

/// Every case variant and near miss, one record each (ids 101..).
fn cases() -> Vec<EventSpec> {
    vec![
        // --- must fire ---
        // Upper-case lsass path and DBGHELP.DLL.
        access(
            101,
            "WKS-01",
            DUMPER,
            r"c:\WINDOWS\System32\LSASS.EXE",
            r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\DBGHELP.DLL+e6f0|C:\Users\bob\Desktop\dumper.exe+1a2b",
        ),
        // dbgcore.dll, source werfault.exe (a known false positive).
        access(102, "WKS-01", WERFAULT, LSASS, DBGCORE_TRACE),
        // dbghelp.dll, source tasklist.exe (a known false positive).
        access(103, "WKS-02", TASKLIST, LSASS, DBGHELP_TRACE),
        // Task Manager (SysWOW64, mixed case) writing "LSASS (2).DMP".
        file_create(104, "WKS-01", r"c:\windows\SysWOW64\TaskMgr.exe", r"C:\Temp\LSASS (2).DMP"),
        // Task Manager in System32 writing lsass.DMP in a user's temp folder.
        file_create(105, "WKS-02", r"C:\WINDOWS\system32\taskmgr.exe", r"c:\users\bob\appdata\local\temp\lsass.DMP"),
        // --- must not fire ---
        // dbghelp in the call trace of an access to another process.
        access(201, "WKS-01", DUMPER, r"C:\Windows\system32\svchost.exe", DBGHELP_TRACE),
        // lsass.exe at another path.
        access(202, "WKS-01", DUMPER, r"C:\Temp\lsass.exe", DBGHELP_TRACE),
        access(203, "WKS-01", DUMPER, r"C:\Windows\SysWOW64\lsass.exe", DBGCORE_TRACE),
        // lsass accessed without dbghelp / dbgcore in the call trace.
        access(204, "WKS-01", DUMPER, LSASS, PLAIN_TRACE),
        // lsass.dmp written by procdump.exe.
        file_create(205, "WKS-01", r"C:\Tools\procdump.exe", r"C:\Temp\lsass.dmp"),
        // taskmgr.exe outside C:\Windows.
        file_create(206, "WKS-01", r"C:\Users\x\taskmgr.exe", r"C:\Temp\lsass.dmp"),
        // lsass in a folder name, not in the file name.
        file_create(207, "WKS-01", r"C:\Windows\system32\taskmgr.exe", r"C:\lsass_dumps\notes.dmp"),
        // The file name does not start with lsass / does not end with .dmp.
        file_create(208, "WKS-01", r"C:\Windows\system32\taskmgr.exe", r"C:\Temp\mylsass.dmp"),
        file_create(209, "WKS-01", r"C:\Windows\system32\taskmgr.exe", r"C:\Temp\lsass.dmp.txt"),
        // EventID 10 with matching fields in a non-Sysmon channel.
        other_channel(
            210,
            "Security",
            "Microsoft-Windows-Security-Auditing",
            10,
            &[("SourceImage", DUMPER), ("TargetImage", LSASS), ("CallTrace", DBGHELP_TRACE)],
        ),
        // EventID 11 with matching fields in a non-Sysmon channel.
        other_channel(
            211,
            "Application",
            "Some-Provider",
            11,
            &[("Image", r"C:\Windows\system32\taskmgr.exe"), ("TargetFilename", r"C:\Temp\lsass.dmp")],
        ),
        // Sysmon EventID 1 with the fields of both rules.
        EventSpec::sysmon(
            212,
            &time(212),
            1,
            "WKS-01",
            &[
                ("Image", r"C:\Windows\system32\taskmgr.exe"),
                ("SourceImage", DUMPER),
                ("TargetImage", LSASS),
                ("CallTrace", DBGHELP_TRACE),
                ("TargetFilename", r"C:\Temp\lsass.dmp"),
            ],
        ),
        // Sysmon EventID 11 for lsass.exe access fields, EventID 10 for dump fields.
        EventSpec::sysmon(213, &time(213), 11, "WKS-01", &[("SourceImage", DUMPER), ("TargetImage", LSASS), ("CallTrace", DBGHELP_TRACE)]),
        EventSpec::sysmon(
            214,
            &time(214),
            10,
            "WKS-01",
            &[("Image", r"C:\Windows\system32\taskmgr.exe"), ("TargetFilename", r"C:\Temp\lsass.dmp")],
        ),
    ]
}

fn expected_pairs() -> std::collections::BTreeSet<(String, u64)> {
    set(&[(MINIDUMP, 101), (MINIDUMP, 102), (MINIDUMP, 103), (TASKMGR, 104), (TASKMGR, 105)])
}

fn finding(findings: &[Finding], analytic: &str, rid: u64) -> Finding {
    let mut it = findings.iter().filter(|f| &*f.analytic_id == analytic && f.event_record_id == rid);
    let f = it.next().unwrap_or_else(|| panic!("no finding {analytic} on record {rid}"));
    assert!(it.next().is_none(), "{analytic} fired twice on record {rid}");
    f.clone()
}

fn matched(f: &Finding) -> Vec<(String, Value, Option<String>)> {
    f.matched.iter().map(|m| (m.field.to_string(), m.value.json(), m.selection.as_deref().map(String::from))).collect()
}

fn keys(snippet: &evtx_triage::report::Snippet) -> Vec<String> {
    snippet.fields().keys().cloned().collect()
}

#[test]
fn case_variants_fire_and_near_misses_do_not() {
    let (report, findings) = scan("cases.evtx", &write_evtx(&cases()));
    assert_eq!(report.status, evtx_triage::report::FileStatus::Ok);
    assert_eq!(report.issues, vec![]);
    assert_eq!(report.records, cases().len() as u64);
    assert_eq!(pairs(&findings), expected_pairs());
    assert_eq!(findings.len(), 5, "one finding per (analytic, record)");
    assert_eq!(report.findings, 5);
    // Findings come in file order.
    let order: Vec<u64> = findings.iter().map(|f| f.event_record_id).collect();
    assert_eq!(order, [101, 102, 103, 104, 105]);
}

/// Each rule decides alone: one event per log, so nothing else can mask a result.
#[test]
fn each_case_alone_gives_its_own_result() {
    let want = expected_pairs();
    for event in cases() {
        let (_, findings) = scan("one.evtx", &write_evtx(std::slice::from_ref(&event)));
        let expect: std::collections::BTreeSet<_> = want.iter().filter(|(_, r)| *r == event.record_id).cloned().collect();
        assert_eq!(pairs(&findings), expect, "record {} ({:?})", event.record_id, event.data);
    }
}

#[test]
fn a_minidump_finding_says_what_matched_and_how_it_maps() {
    let (_, findings) = scan("cases.evtx", &write_evtx(&cases()));
    let f = finding(&findings, MINIDUMP, 101);
    assert_eq!(&*f.analytic_title, "MiniDump of LSASS");
    assert_eq!(&*f.file, "cases.evtx");
    assert_eq!(f.chunk, 0);
    assert_eq!(f.event_id, Some(10));
    assert_eq!(f.time_created.as_deref(), Some("2024-05-06T07:01:41.0101101Z"));
    assert_eq!(f.computer.as_deref(), Some("WKS-01"));
    assert_eq!(f.channel.as_deref(), Some(sysmon_channel()));
    assert_eq!(*f.attack, ["T1003", "T1003.001", "TA0006"]);
    assert_eq!(*f.d3fend, ["D3-SCA"]);
    assert_eq!(f.source_process.as_deref(), Some(DUMPER));
    assert_eq!(f.false_positive_hint, None);
    let call_trace = r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\DBGHELP.DLL+e6f0|C:\Users\bob\Desktop\dumper.exe+1a2b";
    let sel = Some("selection".to_string());
    assert_eq!(
        matched(&f),
        vec![
            ("TargetImage".into(), json!(r"c:\WINDOWS\System32\LSASS.EXE"), sel.clone()),
            ("CallTrace".into(), json!(call_trace), sel.clone()),
        ]
    );
    assert_eq!(keys(&f.snippet), ["SourceImage"]);
    assert_eq!(f.event_record_id, 101);
    assert_eq!(f.snippet.fields()["SourceImage"], json!(DUMPER));
    // The full event, read again from the file at the finding's place.
    let bytes = write_evtx(&cases());
    let chunk = &bytes[chunk_range(f.chunk as usize)];
    let event = evtx_triage::reread::event_in_chunk(chunk, f.chunk, f.offset).unwrap();
    assert_eq!(event["Event"]["System"]["EventRecordID"], json!(101));
    assert_eq!(event["Event"]["EventData"]["GrantedAccess"], json!("0x1fffff"));
    assert_eq!(event["Event"]["EventData"]["TargetImage"], json!(r"c:\WINDOWS\System32\LSASS.EXE"));
    // Any other offset is refused, not answered with a neighbour.
    assert!(evtx_triage::reread::event_in_chunk(chunk, f.chunk, f.offset + 8).is_err());
}

#[test]
fn a_task_manager_finding_says_what_matched_and_how_it_maps() {
    let (_, findings) = scan("cases.evtx", &write_evtx(&cases()));
    let f = finding(&findings, TASKMGR, 104);
    assert_eq!(&*f.analytic_title, "Credential Dumping via Windows Task Manager");
    assert_eq!(f.event_id, Some(11));
    assert_eq!(*f.attack, ["T1003", "T1003.001", "TA0006"]);
    assert_eq!(*f.d3fend, ["D3-FCA"]);
    assert_eq!(f.source_process.as_deref(), Some(r"c:\windows\SysWOW64\TaskMgr.exe"));
    assert_eq!(f.false_positive_hint, None);
    let file = json!(r"C:\Temp\LSASS (2).DMP");
    assert_eq!(
        matched(&f),
        vec![
            ("Image".into(), json!(r"c:\windows\SysWOW64\TaskMgr.exe"), Some("selection".into())),
            ("TargetFilename".into(), file.clone(), Some("selection".into())),
            ("TargetFilename".into(), file.clone(), Some("dump_file_name".into())),
        ]
    );
    // Every field the rule looks at matched: nothing else to show.
    assert_eq!(keys(&f.snippet), Vec::<String>::new());
    let g = finding(&findings, TASKMGR, 105);
    assert_eq!(g.computer.as_deref(), Some("WKS-02"));
    assert_eq!(g.source_process.as_deref(), Some(r"C:\WINDOWS\system32\taskmgr.exe"));
}

#[test]
fn false_positive_hints_name_werfault_and_tasklist_only() {
    let (_, findings) = scan("cases.evtx", &write_evtx(&cases()));
    let hints: Vec<(u64, Option<String>)> =
        findings.iter().map(|f| (f.event_record_id, f.false_positive_hint.as_deref().map(String::from))).collect();
    assert_eq!(
        hints,
        vec![
            (101, None),
            (102, Some("werfault.exe is a known false positive of CAR-2020-05-001 (CAR: standard Windows process)".into())),
            (103, Some("tasklist.exe is a known false positive of CAR-2020-05-001 (CAR: standard Windows process)".into())),
            (104, None),
            (105, None),
        ]
    );
    assert_eq!(finding(&findings, MINIDUMP, 102).source_process.as_deref(), Some(WERFAULT));
    assert_eq!(finding(&findings, MINIDUMP, 103).source_process.as_deref(), Some(TASKLIST));
}

#[test]
fn statistics_count_every_record() {
    let (report, _) = scan("cases.evtx", &write_evtx(&cases()));
    let s = &report.stats;
    assert_eq!(s.records, 19);
    assert_eq!(s.first_time.as_deref(), Some("2024-05-06T07:01:41.0101101Z"));
    assert_eq!(s.last_time.as_deref(), Some("2024-05-06T07:03:34.0214214Z"));
    assert_eq!(s.computers, ["WKS-01", "WKS-02"]);
    let count = |channel: &str, event_id: u64, count: u64| EventCount { channel: channel.into(), event_id, count };
    assert_eq!(
        s.event_counts,
        vec![
            count("Application", 11, 1),
            count(sysmon_channel(), 1, 1),
            count(sysmon_channel(), 10, 8),
            count(sysmon_channel(), 11, 8),
            count("Security", 10, 1),
        ]
    );
}

#[test]
fn coverage_says_which_analytic_could_not_fire() {
    let rules = RuleSet::builtin();
    // File creations only, and an EventID 10 outside the Sysmon channel.
    let events = vec![
        file_create(1, "WKS-01", r"C:\Windows\system32\taskmgr.exe", r"C:\Temp\lsass.dmp"),
        file_create(2, "WKS-01", r"C:\Windows\explorer.exe", r"C:\Temp\a.txt"),
        other_channel(3, "Security", "Microsoft-Windows-Security-Auditing", 10, &[("TargetImage", LSASS)]),
        logon(4, "WKS-01"),
    ];
    let report = run("files.evtx", &write_evtx(&events), &rules);
    assert_eq!(pairs(&report.findings), set(&[(TASKMGR, 1)]));
    assert_eq!(
        report.coverage,
        vec![
            Coverage {
                analytic_id: MINIDUMP.into(),
                could_fire: Some(false),
                note: "no Microsoft-Windows-Sysmon/Operational EventID 10 in any file, so it could not fire".into(),
            },
            Coverage {
                analytic_id: TASKMGR.into(),
                could_fire: Some(true),
                note: "2 events of Microsoft-Windows-Sysmon/Operational EventID 11 were checked".into(),
            },
        ]
    );
    // A rule for every Windows event could fire on any log.
    let extra = custom_analytics(
        "rules/keyword.yml",
        "title: Any whoami\nlogsource: {product: windows}\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n",
    )
    .unwrap();
    let rules = RuleSet::with_extra(extra).unwrap();
    let report = run("cases.evtx", &write_evtx(&cases()), &rules);
    let coverage: Vec<(String, Option<bool>, String)> =
        report.coverage.iter().map(|c| (c.analytic_id.clone(), c.could_fire, c.note.clone())).collect();
    assert_eq!(
        coverage,
        vec![
            (MINIDUMP.into(), Some(true), "8 events of Microsoft-Windows-Sysmon/Operational EventID 10 were checked".into()),
            (TASKMGR.into(), Some(true), "8 events of Microsoft-Windows-Sysmon/Operational EventID 11 were checked".into()),
            ("keyword".into(), None, "its logsource is every Windows event; it ran on every event".into()),
        ]
    );
}

/// A log of several chunks: the cases spread over them, between benign events,
/// and whole chunks holding none of the prefilter's literals.
fn prefilter_log() -> (Vec<u8>, Vec<EventSpec>) {
    let cases = cases();
    let mut chunks = vec![benign_run(1, 40)];
    for (n, part) in cases.chunks(5).enumerate() {
        let first = 1000 + n as u64 * 100;
        let mut c = benign_run(first, 15);
        c.extend(part.iter().cloned());
        c.extend(benign_run(first + 50, 15));
        chunks.push(c);
        chunks.push(benign_run(first + 5000, 40));
    }
    (log_of_chunks(&chunks), chunks.concat())
}

#[test]
fn the_prefilter_never_changes_a_result() {
    let (bytes, events) = prefilter_log();
    let logons = events.iter().filter(|e| e.event_id == 4624).count();
    assert_eq!(logons, 78);
    let builtin = RuleSet::builtin();
    assert!(builtin.prefilter().is_active());
    assert!(!builtin.prefilter().literals().is_empty());
    // A rule with no literal keeps the others' literals: its logsource alone
    // decides which records it needs.
    let mut all = builtin_analytics();
    all.extend(custom_analytics("rules/logon.yml", "title: Logon\nid: logon-4624\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n").unwrap());
    let full = RuleSet::new(all).unwrap();
    assert!(full.prefilter().is_active());
    assert_eq!(full.prefilter().literals(), builtin.prefilter().literals());

    let exhaustive = RuleSet::builtin().exhaustive();
    assert!(!exhaustive.prefilter().is_active() && !exhaustive.quick_stats());

    let fast = scan_bytes("p.evtx", &bytes, &builtin);
    let slow = scan_bytes("p.evtx", &bytes, &full);
    let all_off = scan_bytes("p.evtx", &bytes, &exhaustive);
    assert_eq!(fast.findings(), all_off.findings());
    assert_eq!(fast.stats(), all_off.stats());
    let slow_findings: Vec<Finding> = slow.findings().iter().filter(|f| &*f.analytic_id != "logon-4624").cloned().collect();
    assert_eq!(slow.findings().len() - slow_findings.len(), logons, "the logon rule fired on every 4624");
    assert_eq!(fast.findings(), slow_findings.as_slice());
    assert_eq!(pairs(fast.findings()), expected_pairs());
    assert_eq!(fast.stats(), slow.stats());
    assert_eq!(fast.records(), 40 + 19 + 30 * 4 + 40 * 4);

    let (fast_report, _, _) = fast.finish();
    let (slow_report, _, _) = slow.finish();
    let (all_off_report, _, _) = all_off.finish();
    assert_eq!(fast_report.issues, vec![]);
    assert_eq!(all_off_report.issues, vec![]);
    assert_eq!(all_off_report.chunks_skipped, 0);
    assert_eq!(fast_report.stats, slow_report.stats);
    assert_eq!(fast_report.chunks, 9);
    assert_eq!(slow_report.chunks, 9);
    // The five benign chunks were skipped by the prefilter (and perhaps the
    // case chunks without a finding: 3, 5, 7), never by the full parse.
    assert!((5..=8).contains(&fast_report.chunks_skipped), "{}", fast_report.chunks_skipped);
    assert_eq!(slow_report.chunks_skipped, 0);

    // Chunk by chunk: the prefilter renders fewer records, with the same outcome.
    let mut splitter = ChunkSplitter::new();
    let mut raws: Vec<RawChunk> = splitter.push(&bytes).unwrap();
    raws.extend(splitter.finish().unwrap());
    assert_eq!(raws.len(), 9);
    let mut rendered_fast = 0;
    for raw in &raws {
        let a = analyze_chunk("p.evtx", raw, &builtin);
        let b = analyze_chunk("p.evtx", raw, &full);
        let c = analyze_chunk("p.evtx", raw, &exhaustive);
        assert_eq!(a.stats, b.stats, "chunk {}", raw.index);
        assert_eq!(a.issues, b.issues, "chunk {}", raw.index);
        assert_eq!((&a.stats, &a.issues, &a.findings), (&c.stats, &c.issues, &c.findings), "chunk {}", raw.index);
        assert_eq!(b.rendered, b.stats.records, "a full parse renders every record");
        assert_eq!(c.rendered, c.stats.records, "an exhaustive parse renders every record");
        rendered_fast += a.rendered;
    }
    // Only records holding the rules' literals were rendered: at most the 19
    // cases (no benign event holds lsass, dbghelp or dbgcore), at least the 5 that fire.
    assert!((5..=19).contains(&rendered_fast), "{rendered_fast} records rendered");
}
