//! Stories and incidents: each story's events are exactly the events that
//! carry its process (computed here independently, from every parsed
//! event), its ancestors are found, and its summary says what happened.

mod support;

use evtx_triage::event::EventView;
use evtx_triage::incident::{incidents_from_disk, Incident};
use evtx_triage::report::RunReport;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::writer::{write_evtx, EventSpec};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::TempDir;

/// Scans the files as the CLI does and tells every incident's story from disk.
fn run_with_incidents(paths: &[PathBuf], rules: &RuleSet) -> RunReport {
    let mut run = RunBuilder::new();
    for p in paths {
        run.add_file(scan_bytes(&p.display().to_string(), &std::fs::read(p).unwrap(), rules));
    }
    let index = run.take_index();
    let mut report = run.finish(rules);
    let by_name: BTreeMap<String, PathBuf> = paths.iter().map(|p| (p.display().to_string(), p.clone())).collect();
    report.incidents = incidents_from_disk(&report.findings, &index, &by_name, 2);
    report
}

/// Every event of a file, parsed by `evtx` directly, as flat views.
fn all_events(path: &Path) -> Vec<EventView> {
    let mut parser = evtx::EvtxParser::from_path(path).unwrap();
    parser.records_json_value().filter_map(Result::ok).map(|r| EventView::from_rendered(&r.data)).collect()
}

fn text(view: &EventView, name: &str) -> Option<String> {
    view.fields.get(name).and_then(Value::as_str).map(str::to_string)
}

/// The record ids of the events that carry process `guid` as its own
/// (`ProcessGuid`, `SourceProcessGUID`) or as a parent (`ParentProcessGuid`) on `computer`.
fn carrying(events: &[EventView], guid: &str, computer: &str) -> BTreeSet<u64> {
    let is = |v: &EventView, f: &str| text(v, f).is_some_and(|g| g.eq_ignore_ascii_case(guid));
    events
        .iter()
        .filter(|v| text(v, "Computer").is_some_and(|c| c.eq_ignore_ascii_case(computer)))
        .filter(|v| ["ProcessGuid", "SourceProcessGUID", "SourceProcessGuid", "ParentProcessGuid"].iter().any(|f| is(v, f)))
        .map(|v| v.basics().event_record_id.unwrap())
        .collect()
}

fn ids(incident: &Incident) -> Vec<u64> {
    incident.events.iter().map(|e| e.event_record_id).collect()
}

/// Each incident's events equal the events carrying its GUID, in time order.
fn assert_stories_are_exact(report: &RunReport, events: &[EventView]) {
    assert!(!report.incidents.is_empty());
    for incident in &report.incidents {
        let guid = incident.process_guid.as_deref().expect("a Sysmon incident has a GUID");
        let expected = carrying(events, guid, incident.computer.as_deref().unwrap());
        let got: BTreeSet<u64> = ids(incident).into_iter().collect();
        assert_eq!(got, expected, "story of {guid}");
        assert_eq!(got.len(), incident.events.len(), "no event twice");
        let times: Vec<&str> = incident.events.iter().map(|e| e.time_created.as_deref().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "time order: {times:?}");
        for &i in &incident.findings {
            let f = &report.findings[i];
            assert_eq!(f.actor.as_ref().unwrap().process_guid.as_deref(), Some(guid));
            assert!(got.contains(&f.event_record_id), "the finding's own event is in its story");
        }
    }
    let grouped: usize = report.incidents.iter().map(|i| i.findings.len()).sum();
    assert_eq!(grouped, report.findings.len(), "every Sysmon finding names its process, so is in an incident");
}

#[test]
fn the_dumpert_log_tells_three_stories_of_exactly_their_processes_events() {
    let Some(corpus) = support::corpus_dir("the story test on the Dumpert log") else { return };
    let path = corpus.join("attack-samples/Credential Access/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx");
    let report = run_with_incidents(std::slice::from_ref(&path), &RuleSet::builtin());
    assert_stories_are_exact(&report, &all_events(&path));
    let summaries: Vec<&str> = report.incidents.iter().map(|i| i.summary.as_str()).collect();
    assert_eq!(
        summaries,
        [
            "Outflank-Dumpert.exe (PID 3572, started 07:35:37 by cmd.exe as insecurebank\\Administrator: `Outflank-Dumpert.exe`) \
             wrote C:\\Windows\\Temp\\dumpert.dmp at 07:35:37 and opened lsass.exe through dbghelp.dll at 07:35:37",
            "rundll32.exe (PID 1568, started 07:35:50 by cmd.exe as insecurebank\\Administrator: \
             `rundll32.exe  .\\Outflank-Dumpert-DLL.dll, Dump`) wrote C:\\Windows\\Temp\\dumpert.dmp 2 times, first at 07:35:50 \
             and opened lsass.exe through dbghelp.dll 2 times, first at 07:35:50",
            "AndrewSpecial.exe (PID 3552, started 07:36:50 by cmd.exe as insecurebank\\Administrator: `AndrewSpecial.exe`) \
             wrote C:\\Users\\administrator\\Desktop\\Andrew.dmp at 07:36:51 and opened lsass.exe through dbghelp.dll at 07:36:51",
        ]
    );
    assert_eq!(report.incidents.iter().map(|i| i.findings.clone()).collect::<Vec<_>>(), [vec![0], vec![1, 2], vec![3]]);
    assert_eq!(ids(&report.incidents[1]), [238378, 238379, 238380, 238381, 238382, 238383, 238384]);
}

#[test]
fn the_demo_logs_procdump_story_goes_back_to_its_parent_and_names_the_dump() {
    let dir = TempDir::new("story-demo");
    let path = dir.path().join(evtx_triage::demo::DEMO_FILE_NAME);
    std::fs::write(&path, evtx_triage::demo::demo_log()).unwrap();
    let report = run_with_incidents(std::slice::from_ref(&path), &RuleSet::builtin());
    let events = all_events(&path);
    assert_stories_are_exact(&report, &events);
    let procdump = report.incidents.iter().find(|i| i.image.as_deref().is_some_and(|i| i.ends_with("procdump64.exe"))).unwrap();
    // Its parent is cmd.exe, whose creation the log holds (record 1057).
    assert_eq!(procdump.ancestors.iter().map(|a| (a.event_record_id, a.event_id)).collect::<Vec<_>>(), [(1057, Some(1))]);
    let cmd = events.iter().find(|v| v.basics().event_record_id == Some(1057)).unwrap();
    assert!(text(cmd, "Image").unwrap().ends_with("cmd.exe"));
    assert_eq!(procdump.events.first().map(|e| e.event_id), Some(Some(1)), "its creation comes first");
    let s = &procdump.summary;
    assert!(s.starts_with("procdump64.exe (PID "), "{s}");
    assert!(s.contains(" by cmd.exe as "), "{s}");
    assert!(s.contains(": `procdump64.exe  -accepteula -ma lsass.exe C:\\Users\\jdoe\\Downloads\\lsass.dmp`)"), "{s}");
    assert!(s.contains(" opened lsass.exe through dbghelp.dll at "), "{s}");
    assert!(s.contains(" wrote C:\\Users\\jdoe\\Downloads\\lsass.dmp at "), "{s}");
}

/// A Security event of the fixture below (channel Security, hex PIDs as Windows writes them).
fn security(rid: u64, time: &str, event_id: u16, data: &[(&str, &str)]) -> EventSpec {
    EventSpec {
        record_id: rid,
        time: time.into(),
        provider: "Microsoft-Windows-Security-Auditing".into(),
        event_id,
        channel: "Security".into(),
        computer: "DC-01".into(),
        data: data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

fn creation(rid: u64, time: &str, new_pid: &str, image: &str, parent_pid: &str, parent: &str, cmd: &str) -> EventSpec {
    let data = [
        ("SubjectUserSid", "S-1-5-21-1-2-3-1104"),
        ("SubjectUserName", "jdoe"),
        ("SubjectDomainName", "CORP"),
        ("NewProcessId", new_pid),
        ("NewProcessName", image),
        ("ProcessId", parent_pid),
        ("CommandLine", cmd),
        ("ParentProcessName", parent),
    ];
    security(rid, time, 4688, &data)
}

fn object_access(rid: u64, time: &str, pid: &str, image: &str, object: &str) -> EventSpec {
    let data = [("SubjectUserSid", "S-1-5-21-1-2-3-1104"), ("ObjectName", object), ("ProcessId", pid), ("ProcessName", image)];
    security(rid, time, 4663, &data)
}

const LSASS_HANDLE_RULE: &str = r#"
title: LSASS handle by a user process (test)
id: 5b0f9d4e-7c1a-4a9f-9b1e-000000004663
status: test
level: high
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4663
        ObjectName|endswith: '\lsass.exe'
    condition: selection
"#;

#[test]
fn a_security_story_follows_the_pid_within_its_lifetime_and_its_parent_by_pid() {
    let explorer = r"C:\Windows\explorer.exe";
    let cmd = r"C:\Windows\System32\cmd.exe";
    let dumper = r"C:\Tools\dumper.exe";
    let events = vec![
        creation(1, "2024-05-06T08:00:00.0000000Z", "0x1a0", cmd, "0x300", explorer, "cmd.exe"),
        // An earlier process with the PID the dumper gets later: not its story.
        creation(2, "2024-05-06T08:10:00.0000000Z", "0x1f4", r"C:\Windows\System32\notepad.exe", "0x300", explorer, "notepad.exe"),
        object_access(3, "2024-05-06T08:11:00.0000000Z", "0x1f4", r"C:\Windows\System32\notepad.exe", r"C:\notes.txt"),
        creation(4, "2024-05-06T09:00:00.0000000Z", "0x1f4", dumper, "0x1a0", cmd, r"dumper.exe -o C:\temp\l.bin"),
        object_access(5, "2024-05-06T09:00:05.0000000Z", "0x1f4", dumper, r"\Device\HarddiskVolume2\Windows\System32\lsass.exe"),
        object_access(6, "2024-05-06T09:00:06.0000000Z", "0x2a8", r"C:\Windows\System32\svchost.exe", r"C:\x.txt"),
        creation(7, "2024-05-06T09:00:07.0000000Z", "0x2b0", r"C:\Windows\System32\conhost.exe", "0x1f4", dumper, "conhost.exe"),
    ];
    let dir = TempDir::new("story-security");
    let path = dir.path().join("security.evtx");
    std::fs::write(&path, write_evtx(&events)).unwrap();
    let extra = evtx_triage::analytics::custom_analytics("lsass-handle.yml", LSASS_HANDLE_RULE).unwrap();
    let report = run_with_incidents(std::slice::from_ref(&path), &RuleSet::with_extra(extra).unwrap());
    assert_eq!(report.findings.len(), 1);
    let [incident] = report.incidents.as_slice() else { panic!("one incident: {:?}", report.incidents) };
    assert_eq!((incident.process_guid.as_deref(), incident.process_id, incident.image.as_deref()), (None, Some(0x1f4), Some(dumper)));
    assert_eq!(ids(incident), [4, 5, 7], "its creation, its access, the child it started; not notepad's events");
    assert_eq!(incident.ancestors.iter().map(|a| a.event_record_id).collect::<Vec<_>>(), [1], "cmd.exe, by the creator's PID");
    assert_eq!(
        incident.summary,
        "dumper.exe (PID 500, started 09:00:00 by cmd.exe as CORP\\jdoe: `dumper.exe -o C:\\temp\\l.bin`) \
         triggered \u{201c}LSASS handle by a user process (test)\u{201d} at 09:00:05"
    );
}
