//! Records a walk by record sizes misses: cut by the end of the file, hidden
//! inside the record before them, left after a chunk's free space, behind a
//! zeroed chunk header, and the old records of a cleared and partly
//! rewritten log. Fixtures are written by the project's EVTX writer, then
//! edited byte by byte as the tools that cause each case do.

mod support;

use evtx_triage::integrity::NoteKind;
use evtx_triage::report::{PartialRecord, Recovered, RecoveryCounts};
use evtx_triage::writer::EventSpec;
use support::*;

const DUMPER: &str = r"C:\Users\bob\Desktop\dumper.exe";

fn hit(rid: u64) -> EventSpec {
    access(rid, "WKS-01", DUMPER, LSASS, DBGHELP_TRACE)
}

/// A one-chunk log of `events`, with its chunk edited by `edit` (CRCs fixed after).
fn log_with(events: &[EventSpec], edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut file = log_of_chunks(&[events.to_vec()]);
    let chunk = &mut file[chunk_range(0)];
    edit(chunk);
    fix_chunk_crcs(chunk);
    file
}

/// Where `text` (as UTF-16LE) ends in `bytes`.
fn end_of_utf16(bytes: &[u8], text: &str) -> usize {
    let needle: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let at = bytes.windows(needle.len()).position(|w| w == needle).unwrap_or_else(|| panic!("{text} not in the record"));
    at + needle.len()
}

/// Cuts `file` at every byte of the record at file offset `record` (`size`
/// bytes): whenever the bytes present hold `TargetImage` and `dbghelp.dll`,
/// the finding is there, flagged partial; before that, none; never a crash.
fn cut_at_every_byte(file: &[u8], record: usize, size: usize, record_id: u64, live_before: u64) {
    let bytes = &file[record..record + size];
    let need = end_of_utf16(bytes, LSASS).max(end_of_utf16(bytes, "dbghelp.dll"));
    let mut partial_findings = 0;
    for present in 0..size {
        let (report, findings) = scan("cut.evtx", &file[..record + present]);
        assert_eq!(report.records, live_before, "cut after {present} bytes: the whole records before it");
        if present < need {
            assert!(findings.is_empty(), "cut after {present} bytes: the matched fields are not there, yet {findings:?}");
            continue;
        }
        assert_eq!(pairs(&findings), set(&[(MINIDUMP, record_id)]), "cut after {present} of {size} bytes");
        assert_eq!(
            findings[0].partial.as_deref().copied(),
            Some(PartialRecord { bytes_present: present as u64, record_size: size as u64 })
        );
        assert_eq!(findings[0].offset, record as u64);
        assert_eq!(report.recovery, RecoveryCounts { partial: 1, recovered: 0, duplicates: 0 });
        assert!(report.issues.iter().any(|i| i.reason.contains("read as a partial record")), "{:?}", report.issues);
        let trace = findings[0].matched.iter().find(|m| &*m.field == "CallTrace").expect("CallTrace matched");
        assert!(trace.value.text().is_some_and(|v| v.contains("dbghelp.dll")), "{:?}", trace.value);
        partial_findings += 1;
    }
    assert_eq!(partial_findings, size - need);
    let (_, whole) = scan("whole.evtx", &file[..record + size]);
    assert_eq!(whole[0].partial, None, "the whole record is not partial");
}

#[test]
fn a_record_cut_at_any_byte_is_read_as_far_as_its_bytes_go() {
    let file = log_of_chunks(&[vec![benign(1), hit(2)]]);
    let (at, size, _) = records_of_chunk(&file[chunk_range(0)])[1];
    cut_at_every_byte(&file, FILE_HEADER + at, size, 2, 1);
}

/// The real case: Windows' template records, the Dumpert access to lsass.
#[test]
fn the_dumpert_record_cut_at_any_byte_is_read_as_far_as_its_bytes_go() {
    let Some(dir) = corpus_dir("the Dumpert record cut at every byte") else { return };
    let file =
        std::fs::read(dir.join("attack-samples/Credential Access/sysmon_10_11_outlfank_dumpert_and_andrewspecial_memdump.evtx")).unwrap();
    let (_, findings) = scan("whole.evtx", &file);
    let record = findings[0].offset as usize;
    let size = u32_at(&file, record + 4) as usize;
    cut_at_every_byte(&file, record, size, findings[0].event_record_id, 3);
}

#[test]
fn a_record_swallowed_by_its_neighbour_is_carved() {
    let events = [benign(1), benign(2), hit(3), benign(4)];
    let mut container = 0;
    let file = log_with(&events, |chunk| {
        let records = records_of_chunk(chunk);
        let (at, size, _) = records[1];
        let (_, hidden_size, _) = records[2];
        // The editor's way: record 2 grows over record 3, the size copy at its new end.
        put_u32(chunk, at + 4, (size + hidden_size) as u32);
        put_u32(chunk, at + size + hidden_size - 4, (size + hidden_size) as u32);
        container = FILE_HEADER + at;
    });
    let (report, findings) = scan("edited.evtx", &file);
    assert_eq!(report.records, 3, "the walk reads records 1, 2 and 4");
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 3)]));
    assert_eq!(
        findings[0].recovered.as_deref().copied(),
        Some(Recovered::InsideRecord { container_offset: container as u64, container_record_id: 2 })
    );
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 1, duplicates: 0 });
    let covers: Vec<_> = report.notes.iter().filter(|n| n.kind == NoteKind::RecordCoversRecord).collect();
    assert_eq!(covers.len(), 1);
    assert_eq!((covers[0].first_id, covers[0].last_id, covers[0].offset), (Some(2), Some(3), container as u64));
    assert!(report.notes.iter().any(|n| n.kind == NoteKind::RecordIdGap && n.first_id == Some(3)), "{:?}", report.notes);
    // The event is read again from its chunk, as the page does.
    let event = evtx_triage::reread::event_in_chunk(&file[chunk_range(0)], 0, findings[0].offset).unwrap();
    assert_eq!(event["Event"]["EventData"]["TargetImage"], LSASS);
    assert_eq!(event["Event"]["System"]["EventRecordID"], 3);
}

#[test]
fn records_after_a_shortened_free_space_offset_are_carved() {
    let file = log_with(&[benign(1), hit(2), benign(3)], |chunk| {
        let records = records_of_chunk(chunk);
        put_u32(chunk, 48, records[1].0 as u32); // free space starts at record 2
        chunk[32..40].copy_from_slice(&1u64.to_le_bytes()); // last record id
        put_u32(chunk, 44, CHUNK_HEADER as u32); // last record offset
    });
    let (report, findings) = scan("slack.evtx", &file);
    assert_eq!(report.records, 1);
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 2)]));
    assert_eq!(findings[0].recovered.as_deref().copied(), Some(Recovered::ChunkSlack));
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 2, duplicates: 0 });
    let event = evtx_triage::reread::event_in_chunk(&file[chunk_range(0)], 0, findings[0].offset).unwrap();
    assert_eq!(event["Event"]["EventData"]["CallTrace"], DBGHELP_TRACE);
}

#[test]
fn a_chunk_with_a_zeroed_header_gives_its_whole_records() {
    let mut file = log_of_chunks(&[vec![benign(1)], vec![hit(2), benign(3)]]);
    file[chunk_range(1)][..CHUNK_HEADER].fill(0);
    let (report, findings) = scan("zeroed.evtx", &file);
    assert_eq!(report.records, 1);
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 2)]));
    assert_eq!(findings[0].recovered.as_deref().copied(), Some(Recovered::BrokenChunkHeader));
    assert_eq!(findings[0].chunk, 1);
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 2, duplicates: 0 });
    let broken: Vec<_> = report.issues.iter().filter(|i| i.chunk == Some(1)).map(|i| i.reason.as_str()).collect();
    assert_eq!(broken.len(), 1);
    assert!(broken[0].starts_with("broken chunk header (") && broken[0].ends_with("its whole records are carved and flagged recovered"));
}

#[test]
fn a_cleared_and_partly_rewritten_log_keeps_its_old_records() {
    // The old log: records 1..=9 of May 6; the hit is record 8.
    let old: Vec<EventSpec> = (1..=9).map(|rid| if rid == 8 { hit(rid) } else { benign(rid) }).collect();
    let old_chunk = one_chunk(&old);
    // Cleared, then two records of a new log (ids from 1 again, a day later) written over the start.
    let new: Vec<EventSpec> = (1..=2).map(|rid| EventSpec { time: time(rid as u32).replace("05-06", "05-07"), ..benign(rid) }).collect();
    let new_chunk = one_chunk(&new);
    let new_free = u32_at(&new_chunk, 48) as usize;
    let mut chunk = old_chunk.clone();
    chunk[..new_free].copy_from_slice(&new_chunk[..new_free]);
    fix_chunk_crcs(&mut chunk);
    let mut file = log_of_chunks(std::slice::from_ref(&new));
    file[chunk_range(0)].copy_from_slice(&chunk);

    let (report, findings) = scan("cleared.evtx", &file);
    assert_eq!(report.records, 2);
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 8)]));
    assert_eq!(findings[0].recovered.as_deref().copied(), Some(Recovered::ChunkSlack));
    assert_eq!(findings[0].time_created.as_deref(), Some(time(8).as_str()));
    // Every old record wholly after the new free space, none a copy of a live one.
    let survivors = records_of_chunk(&old_chunk).iter().filter(|(at, _, _)| *at >= new_free).count() as u64;
    assert!(survivors >= 5, "the fixture keeps old records: {survivors}");
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: survivors, duplicates: 0 });
}

#[test]
fn a_carved_copy_of_a_live_record_is_dropped() {
    // Chunk 1 is chunk 0 with its free space moved back to its first record,
    // so its slack holds copies of chunk 0's live records 2 and 3.
    let chunk = one_chunk(&[benign(1), hit(2), benign(3)]);
    let mut reused = chunk.clone();
    let records = records_of_chunk(&chunk);
    put_u32(&mut reused, 48, records[1].0 as u32);
    reused[32..40].copy_from_slice(&1u64.to_le_bytes());
    put_u32(&mut reused, 44, CHUNK_HEADER as u32);
    fix_chunk_crcs(&mut reused);
    let mut file = log_of_chunks(&[vec![benign(1)], vec![benign(1)]]);
    file[chunk_range(0)].copy_from_slice(&chunk);
    file[chunk_range(1)].copy_from_slice(&reused);

    let (report, findings) = scan("copies.evtx", &file);
    assert_eq!(report.records, 4);
    assert_eq!(triples(&findings), [(MINIDUMP.to_string(), 2, 0)].into_iter().collect());
    assert_eq!(findings[0].recovered.as_deref().copied(), None);
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 0, duplicates: 2 });

    // A copy in the same chunk as its live record.
    let doubled = log_with(&[benign(1), hit(2)], |chunk| {
        let (at, size, _) = records_of_chunk(chunk)[1];
        let copy = chunk[at..at + size].to_vec();
        chunk[at + size..at + 2 * size].copy_from_slice(&copy);
    });
    let (report, findings) = scan("doubled.evtx", &doubled);
    assert_eq!((report.records, findings.len()), (2, 1));
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 0, duplicates: 1 });
}

#[test]
fn found_records_are_flagged_in_the_json() {
    let file = log_with(&[benign(1), hit(2), benign(3)], |chunk| {
        let records = records_of_chunk(chunk);
        put_u32(chunk, 48, records[1].0 as u32);
        chunk[32..40].copy_from_slice(&1u64.to_le_bytes());
        put_u32(chunk, 44, CHUNK_HEADER as u32);
    });
    let report = run("slack.evtx", &file, &evtx_triage::rules::RuleSet::builtin());
    let json: serde_json::Value = serde_json::from_str(&evtx_triage::export::to_json(&report)).unwrap();
    assert_eq!(json["findings"][0]["recovered"], serde_json::json!({"found": "chunk_slack"}));
    assert_eq!(json["files"][0]["recovery"], serde_json::json!({"partial": 0, "recovered": 2, "duplicates": 0}));
    assert!(json["findings"][0].get("partial").is_none());
}

#[test]
fn found_records_and_notes_in_the_csv_and_the_table() {
    let events = [benign(1), benign(2), hit(3), benign(4)];
    let file = log_with(&events, |chunk| {
        let records = records_of_chunk(chunk);
        let (at, size, _) = records[1];
        let grown = size + records[2].1;
        put_u32(chunk, at + 4, grown as u32);
        put_u32(chunk, at + grown - 4, grown as u32);
    });
    let report = run("edited.evtx", &file, &evtx_triage::rules::RuleSet::builtin());
    let container = report.findings[0].recovered.as_deref().map(|r| match *r {
        Recovered::InsideRecord { container_offset, .. } => container_offset,
        other => panic!("{other:?}"),
    });
    let csv = evtx_triage::export::findings_csv(&report.findings);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let recovery = reader.records().next().unwrap().unwrap().iter().next_back().unwrap().to_string();
    assert_eq!(recovery, format!("recovered: inside record 2 (offset {:#x})", container.unwrap()));

    let notes = evtx_triage::export::notes_csv(&report.files);
    let rows: Vec<Vec<String>> =
        csv::Reader::from_reader(notes.as_bytes()).records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect();
    let kinds: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1].as_str(), r[4].as_str(), r[5].as_str())).collect();
    assert_eq!(kinds, [("record_covers_record", "2", "3"), ("record_id_gap", "3", "3")]);

    let table = evtx_triage::export::to_table(&report);
    assert!(table.contains(&format!("recovered: inside record 2 (offset {:#x})", container.unwrap())), "{table}");
    assert!(table.contains("1 record(s) recovered (0 copy(ies) of live records dropped), 0 partial"), "{table}");
}

/// A chunk cut short with the next chunk right after it (a carved or
/// concatenated file): the record the next chunk's header falls in is cut
/// there, and read as far as its bytes go.
#[test]
fn a_record_cut_by_the_start_of_another_chunk_is_read_as_far_as_its_bytes_go() {
    let first = one_chunk(&[benign(1), benign(2)]);
    let cut_chunk = one_chunk(&[benign(3), hit(4), benign(5)]);
    let next = one_chunk(&[benign(6), benign(7)]);
    let (at, size, _) = records_of_chunk(&cut_chunk)[1];
    let need = end_of_utf16(&cut_chunk[at..at + size], LSASS).max(end_of_utf16(&cut_chunk[at..at + size], "dbghelp.dll"));
    let present = need + 10;
    let mut file = log_of_chunks(&[vec![benign(1)], vec![benign(3)]])[..FILE_HEADER].to_vec();
    file.extend_from_slice(&first);
    file.extend_from_slice(&cut_chunk[..at + present]);
    file.extend_from_slice(&next);
    let (report, findings) = scan("concatenated.evtx", &file);
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 4)]));
    assert_eq!(findings[0].partial.as_deref().copied(), Some(PartialRecord { bytes_present: present as u64, record_size: size as u64 }));
    assert_eq!(findings[0].offset, chunk_offset(1) + at as u64);
    let reasons: Vec<&str> = report.issues.iter().filter(|i| i.chunk == Some(1)).map(|i| i.reason.as_str()).collect();
    assert!(reasons.iter().any(|r| r.starts_with("another chunk's header starts here")), "{reasons:?}");
    let header_at = at + present;
    assert!(
        reasons.contains(&format!("record 4 is cut by a chunk header at chunk offset {header_at:#x} after {present} of its {size} bytes; read as a partial record").as_str()),
        "{reasons:?}"
    );
    assert_eq!(report.records, 3, "records 1, 2 and 3");
}
