//! Integrity notes on logs this project writes: EventRecordID gaps inside
//! and between chunks (a ring's chunks in record order), time running
//! backwards, cleared logs; in the report, the CLI's JSON and its exit status.

mod support;

use evtx_triage::integrity::{Note, NoteKind};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use support::*;

fn notes_of(bytes: &[u8]) -> Vec<Note> {
    let rules = RuleSet::builtin();
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes("log.evtx", bytes, &rules));
    run.finish(&rules).files.remove(0).notes
}

fn reasons(notes: &[Note]) -> Vec<(NoteKind, &str)> {
    notes.iter().map(|n| (n.kind, n.reason.as_str())).collect()
}

#[test]
fn records_removed_between_chunks_and_inside_one() {
    // 5 is missing inside chunk 0; 31..=100 between the chunks.
    let first: Vec<_> = (1..=30).filter(|&r| r != 5).map(benign).collect();
    let log = log_of_chunks(&[first, benign_run(101, 30)]);
    let notes = notes_of(&log);
    assert_eq!(
        reasons(&notes),
        vec![
            (NoteKind::RecordIdGap, "EventRecordID 5 missing in chunk 0 (1 record(s))"),
            (NoteKind::RecordIdGap, "EventRecordIDs 31–100 missing between chunk 0 and chunk 1 (70 record(s))"),
        ]
    );
    assert_eq!((notes[1].chunk, notes[1].first_id, notes[1].last_id, notes[1].offset), (None, Some(31), Some(100), chunk_offset(1) + 512));
}

#[test]
fn a_wrapped_ring_is_read_in_record_order() {
    // The ring wrapped: chunk 0 holds the newest records. Contiguous ids: no note.
    let whole = notes_of(&log_of_chunks(&[benign_run(31, 30), benign_run(1, 30)]));
    assert_eq!(reasons(&whole), vec![]);
    // The same ring with records 61..=70 gone before chunk 0's.
    let cut = notes_of(&log_of_chunks(&[benign_run(71, 30), benign_run(31, 30)]));
    assert_eq!(reasons(&cut), vec![(NoteKind::RecordIdGap, "EventRecordIDs 61–70 missing between chunk 1 and chunk 0 (10 record(s))")]);
}

#[test]
fn cleared_logs_and_time_running_backwards() {
    let mut events = benign_run(1, 4);
    events.push(other_channel(5, "Security", "Microsoft-Windows-Eventlog", 1102, &[("SubjectUserName", "mallory")]));
    let mut rewound = benign(6);
    rewound.time = "2024-01-01T00:00:00.000Z".into(); // before record 5 by far
    events.push(rewound);
    events.extend(benign_run(7, 3));
    events.push(other_channel(10, "System", "Microsoft-Windows-Eventlog", 104, &[]));
    let log = log_of_chunks(&[events]);
    let notes = notes_of(&log);
    let kinds: Vec<NoteKind> = notes.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec![NoteKind::LogCleared, NoteKind::TimeBackwards, NoteKind::LogCleared]);
    assert!(notes[0].reason.starts_with("Security EventID 1102 (the log was cleared) at record 5, "), "{}", notes[0].reason);
    assert!(notes[1].reason.starts_with("time runs backwards in chunk 0: record 6 at 2024-01-01T00:00:00"), "{}", notes[1].reason);
    assert!(notes[2].reason.starts_with("System EventID 104 (the log was cleared) at record 10, "), "{}", notes[2].reason);
    // Facts about the evidence: the CLI reports them in its JSON and still exits 0.
    let dir = std::env::temp_dir().join(format!("evtx-triage-integrity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cleared.evtx");
    std::fs::write(&path, &log).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_evtx-triage")).args(["scan", "--format", "json"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let json_notes: Vec<Note> = serde_json::from_value(v["files"][0]["notes"].clone()).unwrap();
    assert_eq!(json_notes, notes);
    assert_eq!(v["files"][0]["notes"][0]["kind"], "log_cleared");
    assert_eq!(v["files"][0]["status"], "ok");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_corpus_cleared_security_log() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/attack-samples/Defense Evasion/DE_1102_security_log_cleared.evtx");
    if !path.exists() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI=true but {} is missing", path.display());
        eprintln!("NOTICE: {} not found; skipping", path.display());
        return;
    }
    let notes = notes_of(&std::fs::read(&path).unwrap());
    assert_eq!(
        reasons(&notes),
        vec![(NoteKind::LogCleared, "Security EventID 1102 (the log was cleared) at record 1, 2019-03-19T23:35:07.5242021Z")]
    );
}
