//! Broken and hostile input: every case gets an exact FileReport (status,
//! error or issues with their kind, chunk and offset, and what the message
//! says is wrong), and whatever can still be read is read and analyzed.

mod support;

use evtx_triage::export;
use evtx_triage::report::{FileStatus, Finding, Issue, Recovered, RecoveryCounts};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::writer::{write_evtx, EventSpec};
use serde_json::Value;
use support::*;

const DUMPER: &str = r"C:\Users\bob\Desktop\dumper.exe";
const TASKMGR_EXE: &str = r"C:\Windows\system32\taskmgr.exe";

/// Three chunks of 41, 41 and 46 records, with one finding in each:
/// MINIDUMP on 21 (chunk 0), TASKMGR on 121 (chunk 1), MINIDUMP on 205 (chunk 2, sixth record).
fn three_chunks() -> Vec<u8> {
    let mut c0 = benign_run(1, 20);
    c0.push(access(21, "WKS-01", DUMPER, LSASS, DBGHELP_TRACE));
    c0.extend(benign_run(22, 20));
    let mut c1 = benign_run(100, 21);
    c1.push(file_create(121, "WKS-01", TASKMGR_EXE, r"C:\Temp\lsass.dmp"));
    c1.extend(benign_run(122, 19));
    let mut c2 = benign_run(200, 5);
    c2.push(access(205, "WKS-02", DUMPER, LSASS, DBGCORE_TRACE));
    c2.extend(benign_run(206, 40));
    log_of_chunks(&[c0, c1, c2])
}

fn all_three() -> std::collections::BTreeSet<(String, u64)> {
    set(&[(MINIDUMP, 21), (TASKMGR, 121), (MINIDUMP, 205)])
}

fn issue(kind: &str, chunk: Option<u64>, offset: u64, reason: &str) -> Issue {
    Issue { kind: kind.into(), chunk, offset, line: None, reason: reason.into() }
}

/// The message for a file that is no event log: why not EVTX, then the text formats tried.
fn not_a_log(why_not_evtx: &str) -> String {
    format!("{why_not_evtx}, {}", evtx_triage::input::FORMATS_TRIED)
}

/// The file report of a file that cannot be read at all, checked in full, through `RunBuilder`.
fn assert_unreadable(bytes: &[u8], error: &str) {
    let rules = RuleSet::builtin();
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes("good.evtx", &three_chunks(), &rules));
    run.add_file(scan_bytes("bad.evtx", bytes, &rules));
    let report = run.finish(&rules);
    assert_eq!(report.files.len(), 2);
    let bad = &report.files[1];
    assert_eq!(bad.file, "bad.evtx");
    assert_eq!(bad.size, bytes.len() as u64);
    assert_eq!(bad.status, FileStatus::Unreadable);
    assert_eq!(bad.error.as_deref(), Some(error));
    assert_eq!((bad.chunks, bad.records, bad.findings), (0, 0, 0));
    assert_eq!(bad.issues, vec![]);
    // The good file of the same run is unaffected.
    assert_eq!(report.files[0].status, FileStatus::Ok);
    assert_eq!(pairs(&report.findings), all_three());
    assert_eq!(report.totals.records, 128);
}

#[test]
fn the_three_chunk_log_is_clean() {
    let bytes = three_chunks();
    assert_eq!(bytes.len(), FILE_HEADER + 3 * CHUNK);
    let (report, findings) = scan("x.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![]);
    assert_eq!((report.chunks, report.records), (3, 128));
    assert_eq!(
        triples(&findings),
        [(MINIDUMP, 21, 0), (TASKMGR, 121, 1), (MINIDUMP, 205, 2)].iter().map(|(a, r, c)| (a.to_string(), *r, *c)).collect()
    );
    let ids: Vec<u64> = records_of_chunk(&bytes[chunk_range(2)]).iter().map(|r| r.2).collect();
    assert_eq!(ids, (200..246).collect::<Vec<u64>>());
}

#[test]
fn an_empty_file() {
    assert_unreadable(b"", "empty file (0 bytes): not an EVTX log");
}

#[test]
fn a_file_header_only() {
    assert_unreadable(&three_chunks()[..FILE_HEADER], "EVTX file header only: the file holds no chunks, so no records");
}

#[test]
fn a_file_cut_inside_its_header() {
    assert_unreadable(&three_chunks()[..100], "truncated EVTX file header: 100 bytes, a header is 4096; no chunk to read");
}

#[test]
fn random_bytes() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..10_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    bytes[0] = 0xfe;
    bytes[3] = 0x00;
    let shown: Vec<String> = bytes[..8].iter().map(|b| format!("{b:02x}")).collect();
    assert_unreadable(
        &bytes,
        &not_a_log(&format!("not an EVTX file: it starts with {} (unknown binary data), not the \"ElfFile\" signature", shown.join(" "))),
    );
}

#[test]
fn a_text_file() {
    let text = "EventID,Computer\n10,WKS-01\n".repeat(500);
    assert_unreadable(
        text.as_bytes(),
        &not_a_log("not an EVTX file: it starts with 45 76 65 6e 74 49 44 2c (text), not the \"ElfFile\" signature"),
    );
}

#[test]
fn a_png_image() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(70_000, 0x42);
    assert_unreadable(
        &png,
        &not_a_log("not an EVTX file: it starts with 89 50 4e 47 0d 0a 1a 0a (a PNG image), not the \"ElfFile\" signature"),
    );
}

#[test]
fn a_lone_chunk_without_the_file_header() {
    assert_unreadable(
        &three_chunks()[chunk_range(0)],
        &not_a_log(
            "not an EVTX file: it starts with 45 6c 66 43 68 6e 6b 00 (a lone EVTX chunk without the file header), not the \"ElfFile\" signature",
        ),
    );
}

/// Cut at a record boundary after the match early in the last chunk.
#[test]
fn a_file_cut_between_two_records_of_its_last_chunk() {
    let bytes = three_chunks();
    let recs = records_of_chunk(&bytes[chunk_range(2)]);
    assert_eq!(recs[5].2, 205);
    let cut_in_chunk = recs[8].0; // records 200..=207 are whole
    let cut = chunk_range(2).start + cut_in_chunk;
    let (report, findings) = scan("cut.evtx", &bytes[..cut]);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.error, None);
    assert_eq!(
        report.issues,
        vec![issue(
            "truncated",
            Some(2),
            chunk_offset(2),
            &format!("the file ends {cut_in_chunk} bytes into this chunk; the whole records before the cut are read"),
        )]
    );
    assert_eq!(report.chunks, 3);
    assert_eq!(report.records, 41 + 41 + 8);
    assert_eq!(triples(&findings).len(), 3);
    assert_eq!(pairs(&findings), all_three());
    assert_eq!(findings[2].chunk, 2);
    assert_eq!(report.stats.first_time, Some(time(1)));
    assert_eq!(report.stats.last_time, Some(time(207)));
}

/// Cut inside the BinXML of a record: the whole records before it are read,
/// the cut one is reported.
#[test]
fn a_file_cut_inside_a_record_body() {
    let bytes = three_chunks();
    let recs = records_of_chunk(&bytes[chunk_range(2)]);
    let cut_in_chunk = recs[8].0 + 100;
    let (report, findings) = scan("cut.evtx", &bytes[..chunk_range(2).start + cut_in_chunk]);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.records, 41 + 41 + 8);
    assert_eq!(pairs(&findings), all_three());
    assert_eq!(report.issues.len(), 2, "{:#?}", report.issues);
    assert_eq!(
        report.issues[0],
        issue(
            "truncated",
            Some(2),
            chunk_offset(2),
            &format!("the file ends {cut_in_chunk} bytes into this chunk; the whole records before the cut are read"),
        )
    );
    let cut_record = &report.issues[1];
    assert_eq!((cut_record.kind.as_str(), cut_record.chunk), ("truncated", Some(2)));
    assert_eq!(
        cut_record.reason,
        format!(
            "record 208 is cut by the end of the file after 100 of its {} bytes; nothing of it can be read (the cut is before its first value)",
            recs[8].1
        )
    );
    assert_eq!(report.recovery, RecoveryCounts::default());
    assert_eq!(report.stats.last_time, Some(time(207)));
}

/// Cut 10 bytes into a record's 24-byte header: the record is not whole, so
/// it must not be counted (nor its zero time taken as the log's first time).
#[test]
fn a_record_cut_inside_its_header_is_not_counted() {
    let bytes = three_chunks();
    let recs = records_of_chunk(&bytes[chunk_range(2)]);
    for k in [8usize, 10, 16, 24, 28] {
        let (report, findings) = scan("cut.evtx", &bytes[..chunk_range(2).start + recs[8].0 + k]);
        assert_eq!(pairs(&findings), all_three(), "cut {k} bytes into record 208");
        assert_eq!(report.records, 41 + 41 + 8, "cut {k} bytes into record 208");
        assert_eq!(report.stats.first_time, Some(time(1)), "cut {k} bytes into record 208");
        assert_eq!(report.stats.last_time, Some(time(207)), "cut {k} bytes into record 208");
        let counted: u64 = report.stats.event_counts.iter().map(|c| c.count).sum();
        assert_eq!(counted, report.records, "every record counted has an EventID (cut {k} bytes into record 208)");
        assert_eq!(report.issues[0].kind, "truncated");
    }
}

#[test]
fn a_file_cut_inside_a_chunk_header() {
    let bytes = three_chunks();
    let (report, findings) = scan("cut.evtx", &bytes[..chunk_range(2).start + 300]);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(
        report.issues,
        vec![issue(
            "truncated",
            Some(2),
            chunk_offset(2),
            "the file ends 300 bytes into this chunk, inside its 512-byte header; nothing to read",
        )]
    );
    assert_eq!((report.chunks, report.records), (2, 82));
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 21), (TASKMGR, 121)]));
}

/// The stored records CRC is in the chunk header, which its own CRC covers:
/// changing it makes the header CRC stale. Records are read anyway.
#[test]
fn a_chunk_with_a_stale_header_crc() {
    let mut bytes = three_chunks();
    bytes[chunk_range(1).start + 52] ^= 0x5a;
    let (report, findings) = scan("crc.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![issue("checksum", Some(1), chunk_offset(1), "chunk header CRC32 is stale; records read anyway")]);
    assert_eq!((report.chunks, report.records), (3, 128));
    assert_eq!(pairs(&findings), all_three());
}

/// A byte of a record's string data changed: the records CRC is stale, and
/// the changed record is still read (and still matches).
#[test]
fn a_chunk_with_a_stale_records_crc() {
    let mut bytes = three_chunks();
    let chunk = &mut bytes[chunk_range(2)];
    let needle: Vec<u8> = "dumper".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let at = chunk.windows(needle.len()).position(|w| w == needle.as_slice()).unwrap();
    chunk[at] = b'D';
    let (report, findings) = scan("crc.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![issue("checksum", Some(2), chunk_offset(2), "chunk records CRC32 is stale; records read anyway")]);
    assert_eq!(report.records, 128);
    assert_eq!(pairs(&findings), all_three());
    assert_eq!(findings[2].source_process.as_deref(), Some(r"C:\Users\bob\Desktop\Dumper.exe"));
}

#[test]
fn a_chunk_with_a_bad_magic_is_skipped_and_reported() {
    let mut bytes = three_chunks();
    bytes[chunk_range(1)][..8].copy_from_slice(b"XXXXXXXX");
    let (report, findings) = scan("magic.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.issues.len(), 1);
    let i = &report.issues[0];
    assert_eq!((i.kind.as_str(), i.chunk, i.offset), ("chunk", Some(1), 4096 + 65536));
    assert!(i.reason.starts_with("broken chunk header ("), "{}", i.reason);
    assert!(i.reason.contains("magic"), "{}", i.reason);
    assert!(i.reason.contains("[58, 58, 58, 58, 58, 58, 58, 58]"), "{}", i.reason);
    // Its 41 whole records are carved, counted apart from the 87 live ones.
    assert_eq!((report.chunks, report.records), (3, 41 + 46));
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 41, duplicates: 0 });
    assert_eq!(pairs(&findings), all_three());
    let carved: Vec<_> = findings.iter().map(|f| (f.chunk, f.recovered.as_deref().copied())).collect();
    assert_eq!(carved, [(0, None), (2, None), (1, Some(Recovered::BrokenChunkHeader))]);
}

/// Garbage where a chunk's header and records were: nothing to carve.
#[test]
fn a_chunk_of_garbage_is_skipped_and_reported() {
    let mut bytes = three_chunks();
    bytes[chunk_range(1)].fill(0x3a);
    let (report, findings) = scan("garbage.evtx", &bytes);
    assert_eq!(issue_shapes(&report.issues), [("chunk".to_string(), Some(1), chunk_offset(1))]);
    assert!(report.issues[0].reason.starts_with("chunk skipped: "), "{}", report.issues[0].reason);
    assert_eq!((report.chunks, report.records), (2, 41 + 46));
    assert_eq!(report.recovery, RecoveryCounts::default());
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 21), (MINIDUMP, 205)]));
}

/// Zeros where chunk 1's magic was, its records intact: that is a damaged
/// chunk, not unused space, and losing its 41 records must be reported.
#[test]
fn a_chunk_with_a_zeroed_magic_is_reported() {
    let mut bytes = three_chunks();
    bytes[chunk_range(1)][..8].fill(0);
    let (report, findings) = scan("magic.evtx", &bytes);
    assert_eq!(pairs(&findings), all_three());
    assert_eq!(report.recovery, RecoveryCounts { partial: 0, recovered: 41, duplicates: 0 });
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    let i = &report.issues[0];
    assert_eq!((i.kind.as_str(), i.chunk, i.offset), ("chunk", Some(1), chunk_offset(1)));
    assert!(i.reason.contains("magic"), "{}", i.reason);
}

/// Unused, zeroed space after the last chunk is no issue.
#[test]
fn a_zeroed_chunk_after_the_last_one_is_unused_space() {
    let mut bytes = three_chunks();
    bytes.resize(bytes.len() + 2 * CHUNK + 1000, 0);
    let (report, findings) = scan("zeros.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![]);
    assert_eq!((report.chunks, report.records), (3, 128));
    assert_eq!(pairs(&findings), all_three());
}

#[test]
fn a_record_whose_size_points_past_the_chunk() {
    let mut bytes = three_chunks();
    let chunk = &mut bytes[chunk_range(1)];
    let recs = records_of_chunk(chunk);
    assert_eq!(recs[3].2, 103);
    put_u32(chunk, recs[3].0 + 4, 0x0001_0000);
    fix_chunk_crcs(chunk);
    let (report, findings) = scan("size.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    let i = &report.issues[0];
    assert_eq!((i.kind.as_str(), i.chunk, i.offset), ("record", Some(1), chunk_offset(1) + recs[3].0 as u64));
    assert!(i.reason.contains(&format!("offset {:#x} of its chunk", recs[3].0)), "{}", i.reason);
    assert!(i.reason.contains("record number 103"), "{}", i.reason);
    assert!(i.reason.contains("out of bounds"), "{}", i.reason);
    // Only that record is lost; the chunk's other 40 are read, its finding too.
    assert_eq!(report.records, 127);
    assert_eq!(pairs(&findings), all_three());
}

/// Record 103's first name reference (the `Event` element's) points past the chunk.
fn bad_name_offset() -> (Vec<u8>, usize) {
    let mut bytes = three_chunks();
    let chunk = &mut bytes[chunk_range(1)];
    let recs = records_of_chunk(chunk);
    // Record header (24), fragment header (4), open-element token (1), data size (4), name.
    let at = recs[3].0 + 24 + 4 + 1 + 4;
    assert_eq!(u32_at(chunk, at), 512 + 24 + 4 + 1 + 4 + 4, "record 103 refers to the name stored by record 100");
    put_u32(chunk, at, 0x0001_2345);
    fix_chunk_crcs(chunk);
    (bytes, recs[3].0)
}

#[test]
fn a_name_offset_pointing_outside_the_chunk() {
    let (bytes, _) = bad_name_offset();
    let (report, findings) = scan("name.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    let i = &report.issues[0];
    assert_eq!((i.kind.as_str(), i.chunk), ("record", Some(1)));
    assert!(i.reason.contains("record number 103"), "{}", i.reason);
    assert!(i.reason.contains("past the end of the data"), "{}", i.reason);
    assert_eq!(report.records, 127);
    assert_eq!(pairs(&findings), all_three());
}

/// A record that cannot be rendered is reported at its own offset, like one
/// that cannot be read, not at its chunk's.
#[test]
fn a_record_issue_gives_the_record_offset() {
    let (bytes, record_at) = bad_name_offset();
    let (report, _) = scan("name.evtx", &bytes);
    assert_eq!(report.issues[0].offset, chunk_offset(1) + record_at as u64);
    // The same for the record a truncation cuts in its body.
    let bytes = three_chunks();
    let recs = records_of_chunk(&bytes[chunk_range(2)]);
    let (report, _) = scan("cut.evtx", &bytes[..chunk_range(2).start + recs[8].0 + 100]);
    assert_eq!(report.issues[1].offset, chunk_offset(2) + recs[8].0 as u64);
}

#[test]
fn a_string_table_offset_pointing_outside_the_chunk() {
    let mut bytes = three_chunks();
    let chunk = &mut bytes[chunk_range(1)];
    let bucket = (128..384).step_by(4).find(|&b| u32_at(chunk, b) != 0).unwrap();
    put_u32(chunk, bucket, 0x0001_2345);
    fix_chunk_crcs(chunk);
    let (report, findings) = scan("strings.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Partial);
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    let i = &report.issues[0];
    assert_eq!((i.kind.as_str(), i.chunk, i.offset), ("chunk", Some(1), chunk_offset(1)));
    assert!(i.reason.starts_with("chunk skipped: "), "{}", i.reason);
    assert!(i.reason.contains("string cache"), "{}", i.reason);
    assert!(i.reason.contains("past the end of the data"), "{}", i.reason);
    assert_eq!((report.chunks, report.records), (2, 87));
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 21), (MINIDUMP, 205)]));
}

/// The template table is read by the prefilter (a literal inside a template
/// definition makes every record a candidate): an offset outside the chunk,
/// and a chain linking to itself, must neither crash nor hang it.
#[test]
fn template_table_offsets_outside_the_chunk_or_in_a_loop() {
    for (name, at, value) in [("outside", 0usize, 0x0001_2345u32), ("last bucket outside", 31, 0xffff_fff0), ("self loop", 5, 65_500)] {
        let mut bytes = three_chunks();
        let chunk = &mut bytes[chunk_range(2)];
        put_u32(chunk, 384 + 4 * at, value);
        if value == 65_500 {
            // In the free space: a definition whose next-offset is itself.
            assert!(u32_at(chunk, 48) < 65_500);
            put_u32(chunk, 65_500, 65_500);
        }
        fix_chunk_crcs(chunk);
        let (report, findings) = scan("templates.evtx", &bytes);
        assert_eq!(report.status, FileStatus::Ok, "{name}");
        assert_eq!(report.issues, vec![], "{name}");
        assert_eq!(report.records, 128, "{name}");
        assert_eq!(pairs(&findings), all_three(), "{name}");
    }
}

/// The header's chunk count is 16 bits (it wraps or saturates past 4 GiB):
/// chunks are counted from the file size, so a header claiming fewer hides none.
#[test]
fn a_header_claiming_fewer_chunks_than_the_file_has() {
    for claimed in [0u16, 1, 2] {
        let mut bytes = three_chunks();
        set_header(&mut bytes, claimed, 246);
        let (report, findings) = scan("fewer.evtx", &bytes);
        assert_eq!(report.status, FileStatus::Ok, "header says {claimed}");
        assert_eq!(report.issues, vec![], "header says {claimed}");
        assert_eq!((report.chunks, report.records), (3, 128), "header says {claimed}");
        assert_eq!(pairs(&findings), all_three(), "header says {claimed}");
    }
}

/// A header claiming more chunks than the file holds: the file was cut at a
/// chunk boundary. Every chunk present is read.
#[test]
fn a_header_claiming_more_chunks_than_the_file_has() {
    let mut bytes = three_chunks();
    set_header(&mut bytes, 9, 246);
    let (report, findings) = scan("more.evtx", &bytes);
    assert_ne!(report.status, FileStatus::Unreadable);
    assert_eq!((report.chunks, report.records), (3, 128));
    assert_eq!(pairs(&findings), all_three());
    assert!(report.issues.iter().all(|i| i.kind == "header" || i.kind == "truncated"), "{:#?}", report.issues);
}

/// ... and says so: six chunks the header counts are missing.
#[test]
fn a_header_claiming_more_chunks_than_the_file_has_is_reported() {
    let mut bytes = three_chunks();
    set_header(&mut bytes, 9, 246);
    let (report, _) = scan("more.evtx", &bytes);
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    let i = &report.issues[0];
    assert!(i.kind == "header" || i.kind == "truncated", "{i:?}");
    assert!(i.reason.contains('9') && i.reason.contains('3') && i.reason.contains("chunk"), "{}", i.reason);
}

/// Header problems are warnings: the file is read on.
#[test]
fn file_header_warnings() {
    let mut bytes = three_chunks();
    bytes[120] = 1; // flags, after the CRC'd bytes: the CRC stays valid
    bytes[100] ^= 0xff; // inside the CRC'd bytes
    let stored = u32_at(&bytes, 124);
    let computed = crc32fast::hash(&bytes[..120]);
    let (report, findings) = scan("dirty.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(
        report.issues,
        vec![issue(
            "header",
            None,
            0,
            &format!("file header CRC32 is stale (stored {stored:#010x}, computed {computed:#010x}); reading on")
        )]
    );
    assert_eq!(report.records, 128);
    assert_eq!(pairs(&findings), all_three());

    let mut bytes = three_chunks();
    bytes[38] = 2; // major version
    fix_file_header_crc(&mut bytes);
    let (report, findings) = scan("v2.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![issue("header", None, 0, "unexpected EVTX version 2.1; reading on")]);
    assert_eq!(pairs(&findings), all_three());
}

/// A file none of whose chunks can be read is unreadable, and says why.
#[test]
fn a_file_whose_only_chunk_cannot_be_read() {
    let bytes = three_chunks();
    let mut one = bytes[..FILE_HEADER + CHUNK].to_vec();
    set_header(&mut one, 1, 42);
    one[FILE_HEADER..FILE_HEADER + 8].copy_from_slice(b"ElfFile\0");
    one[FILE_HEADER + 512..].fill(0x3a); // and no whole record left to carve
    let (report, findings) = scan("bad-chunk.evtx", &one);
    assert_eq!(report.status, FileStatus::Unreadable);
    assert_eq!(report.error.as_deref(), Some("no chunk of this file could be read"));
    assert_eq!(issue_shapes(&report.issues), [("chunk".to_string(), Some(0), 4096)]);
    assert!(report.issues[0].reason.contains("magic"), "{}", report.issues[0].reason);
    assert!(findings.is_empty());

    let (report, _) = scan("cut-chunk.evtx", &bytes[..FILE_HEADER + 300]);
    assert_eq!(report.status, FileStatus::Unreadable);
    assert_eq!(report.error.as_deref(), Some("no chunk of this file could be read"));
    assert_eq!(issue_shapes(&report.issues), [("truncated".to_string(), Some(0), 4096)]);
}

/// A header with a stale CRC and nothing but unused (zeroed) space after it
/// is an empty log, as it is with a clean header: not an unreadable one.
#[test]
fn a_dirty_header_over_unused_space_is_an_empty_log() {
    let mut bytes = three_chunks()[..FILE_HEADER].to_vec();
    bytes.resize(FILE_HEADER + CHUNK, 0);
    set_header(&mut bytes, 0, 1);
    let (clean, _) = scan("clean.evtx", &bytes);
    assert_eq!((clean.status, clean.records, clean.issues.len()), (FileStatus::Ok, 0, 0));
    bytes[100] ^= 0xff;
    let (dirty, _) = scan("dirty.evtx", &bytes);
    assert_eq!(dirty.issues.len(), 1);
    assert_eq!(dirty.issues[0].kind, "header");
    assert_eq!(dirty.status, FileStatus::Ok);
    assert_eq!(dirty.error, None);
}

/// A chunk with a valid header and no records, between two chunks with findings.
#[test]
fn a_chunk_without_records() {
    let mut bytes = three_chunks();
    let chunk = &mut bytes[chunk_range(1)];
    chunk[8..40].fill(0); // first / last record numbers and ids
    put_u32(chunk, 44, 0); // last record offset
    put_u32(chunk, 48, CHUNK_HEADER as u32); // free space right after the header
    chunk[128..].fill(0); // string and template tables, records
    fix_chunk_crcs(chunk);
    let (report, findings) = scan("empty-chunk.evtx", &bytes);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![]);
    assert_eq!((report.chunks, report.chunks_skipped, report.records), (3, 0, 87));
    assert_eq!(pairs(&findings), set(&[(MINIDUMP, 21), (MINIDUMP, 205)]));
    // A log of that one empty chunk is readable, and empty.
    let mut only = bytes[..FILE_HEADER].to_vec();
    only.extend_from_slice(&bytes[chunk_range(1)]);
    set_header(&mut only, 1, 1);
    let (report, findings) = scan("one-empty-chunk.evtx", &only);
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![]);
    assert_eq!((report.chunks, report.records), (1, 0));
    assert!(findings.is_empty());
}

// ---------------------------------------------------------------------------
// Hostile strings

const IMG: &str = "<img src=x onerror=alert(1)>";
const SCRIPT_END: &str = "</script><script>alert(1)</script>";
const JS: &str = "javascript:alert(1)";
const RLO: &str = "\u{202E}";

fn hostile_events() -> (Vec<EventSpec>, String) {
    let long = format!("C:\\Windows\\System32\\dbghelp.dll+{}", "A".repeat(100_000));
    let mut access_with_names = access(306, "WKS-06", JS, LSASS, DBGCORE_TRACE);
    access_with_names.data.push((IMG.into(), SCRIPT_END.into()));
    access_with_names.data.push((format!("x{RLO}y"), format!("{RLO}exe.txt")));
    let events = vec![
        access(301, "=HYPERLINK(\"http://x\")", IMG, LSASS, &format!("{DBGHELP_TRACE}|{SCRIPT_END}")),
        access(302, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", LSASS, &format!("{DBGCORE_TRACE}|{JS}")),
        access(303, "@SUM(1,1)", &format!("C:\\Users\\bob\\{RLO}gpj.exe"), LSASS, DBGHELP_TRACE),
        file_create(304, "\tTAB", TASKMGR_EXE, &format!("C:\\Temp\\lsass{RLO}pmd.dmp")),
        access(305, "\rCR", r"C:\Tools\x.exe", LSASS, &long),
        access_with_names,
        // Not a finding: hostile text alone.
        process_create(307, IMG, SCRIPT_END, JS),
    ];
    (events, long)
}

#[test]
fn hostile_strings_are_read_exported_and_neutralized() {
    let (events, long) = hostile_events();
    let bytes = write_evtx(&events);
    let rules = RuleSet::builtin();
    let report = run("=cmd|' /C calc'!A0.evtx", &bytes, &rules);
    let file = &report.files[0];
    assert_eq!(file.status, FileStatus::Ok);
    assert_eq!(file.issues, vec![]);
    assert_eq!(file.records, 7);
    assert_eq!(
        pairs(&report.findings),
        set(&[(MINIDUMP, 301), (MINIDUMP, 302), (MINIDUMP, 303), (TASKMGR, 304), (MINIDUMP, 305), (MINIDUMP, 306)])
    );
    let f = &report.findings;
    assert_eq!(f[0].computer.as_deref(), Some("=HYPERLINK(\"http://x\")"));
    assert_eq!(f[0].source_process.as_deref(), Some(IMG));
    assert_eq!(f[2].source_process.as_deref(), Some(format!("C:\\Users\\bob\\{RLO}gpj.exe").as_str()));
    let matched = |f: &Finding, field: &str| f.matched.iter().find(|m| &*m.field == field).map(|m| m.value.json()).unwrap();
    assert_eq!(matched(&f[3], "TargetFilename"), Value::from(format!("C:\\Temp\\lsass{RLO}pmd.dmp")));
    let event = evtx_triage::reread::event_in_chunk(&bytes[chunk_range(f[5].chunk as usize)], f[5].chunk, f[5].offset).unwrap();
    assert_eq!(event["Event"]["EventData"][IMG], Value::from(SCRIPT_END));
    assert_eq!(event["Event"]["EventData"][format!("x{RLO}y").as_str()], Value::from(format!("{RLO}exe.txt")));
    // The 100 KB call trace was cut to fit its chunk, on the writer's side.
    let trace = matched(&f[4], "CallTrace");
    let trace = trace.as_str().unwrap();
    assert!(long.starts_with(trace));
    assert!((30_000..33_000).contains(&trace.len()), "{}", trace.len());

    // JSON: the strings come back exactly.
    let json: Value = serde_json::from_str(&export::to_json(&report)).unwrap();
    assert_eq!(json["findings"][0]["computer"], Value::from("=HYPERLINK(\"http://x\")"));
    assert_eq!(json["findings"][0]["matched"][1]["field"], "CallTrace");
    assert_eq!(json["findings"][0]["matched"][1]["value"], Value::from(format!("{DBGHELP_TRACE}|{SCRIPT_END}")));
    assert_eq!(json["findings"][2]["source_process"], Value::from(format!("C:\\Users\\bob\\{RLO}gpj.exe")));
    let lines: Vec<Value> = export::to_jsonl(&report).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1 + 6 + 1 + 2);
    assert_eq!(lines[1]["computer"], Value::from("=HYPERLINK(\"http://x\")"));

    // CSV: formula-looking cells get a leading quote, the others are untouched.
    let csv_text = export::findings_csv(&report.findings);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), export::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let col = |name: &str| export::CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    let cell = |row: usize, name: &str| rows[row][col(name)].to_string();
    assert_eq!(cell(0, "computer"), "'=HYPERLINK(\"http://x\")");
    assert!(cell(0, "computer").starts_with("'="));
    assert_eq!(cell(0, "file"), "'=cmd|' /C calc'!A0.evtx");
    assert_eq!(cell(0, "source_process"), IMG);
    assert_eq!(cell(1, "computer"), "'+cmd|' /C calc'!A0");
    assert_eq!(cell(1, "source_process"), "'-2+3+cmd|' /C calc'!A0");
    assert_eq!(cell(2, "computer"), "'@SUM(1,1)");
    assert_eq!(cell(3, "computer"), "'\tTAB");
    assert_eq!(cell(4, "computer"), "'\rCR");
    assert_eq!(cell(5, "source_process"), JS);
    assert_eq!(cell(0, "event_record_id"), "301");
    assert_eq!(cell(0, "attack"), "T1003 T1003.001 TA0006");
    assert!(cell(0, "matched").starts_with("TargetImage=C:\\Windows\\system32\\lsass.exe; CallTrace="), "{}", cell(0, "matched"));

    // The table renders whatever the text.
    let table = export::to_table(&report);
    assert!(table.starts_with("1 file(s), 7 records, 6 finding(s), "), "{table}");
}

/// Four zero bytes where the first record's magic was: that record is lost,
/// and reported; the chunk's other 45 records, and the finding on 205, are not.
/// (The quick statistics must not take the zeros for the end of the records.)
#[test]
fn a_zeroed_record_magic_loses_only_that_record() {
    let mut bytes = three_chunks();
    let at = chunk_range(2).start + CHUNK_HEADER;
    bytes[at..at + 4].fill(0);
    for rules in [RuleSet::builtin(), RuleSet::builtin().exhaustive()] {
        let (report, findings, _) = scan_bytes("zero-magic.evtx", &bytes, &rules).finish();
        let which = if rules.quick_stats() { "default" } else { "exhaustive" };
        assert_eq!(pairs(&findings), all_three(), "{which}");
        assert_eq!(report.records, 41 + 41 + 45, "{which}");
        assert_eq!(report.status, FileStatus::Partial, "{which}");
        assert_eq!(
            issue_shapes(&report.issues),
            [("checksum".to_string(), Some(2), chunk_offset(2)), ("record".to_string(), Some(2), at as u64)],
            "{which}"
        );
        assert_eq!(report.issues[0].reason, "chunk records CRC32 is stale; records read anyway");
        assert!(report.issues[1].reason.contains("record header magic"), "{which}: {}", report.issues[1].reason);
    }
}
