//! Shared helpers for the integration tests: event builders, logs laid out
//! chunk by chunk, byte-level surgery on chunks, scanning, temp folders and
//! the corpus location.
#![allow(dead_code)]

pub mod logons;

use evtx_triage::report::{FileReport, Finding, Issue, RunReport};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::writer::{write_evtx, EventSpec, SYSMON_CHANNEL};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const FILE_HEADER: usize = 4096;
pub const CHUNK: usize = 65536;
pub const CHUNK_HEADER: usize = 512;

pub const LSASS: &str = r"C:\Windows\system32\lsass.exe";
pub const DBGHELP_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\KERNELBASE.dll+2bcb5|C:\Windows\System32\dbghelp.dll+e6f0|C:\Users\bob\Desktop\dumper.exe+1a2b";
pub const DBGCORE_TRACE: &str =
    r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\dbgcore.dll+6e05|C:\Windows\System32\KERNELBASE.dll+2bcb5";
pub const PLAIN_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\KERNELBASE.dll+2bcb5|UNKNOWN(00000000001A2B3C)";

pub const MINIDUMP: &str = "CAR-2020-05-001";
pub const TASKMGR: &str = "CAR-2019-08-001";

/// The time of record `n` (n < 60,000): 2024-05-06 07:00:00 plus `n` seconds,
/// with a fraction that differs per record, as `evtx` renders it.
pub fn time(n: u32) -> String {
    format!("2024-05-06T{:02}:{:02}:{:02}.{:07}Z", 7 + n / 3600, n / 60 % 60, n % 60, n as u64 * 1_001 % 10_000_000)
}

/// Sysmon EventID 10 (process access).
pub fn access(rid: u64, computer: &str, source: &str, target: &str, call_trace: &str) -> EventSpec {
    EventSpec::sysmon(
        rid,
        &time(rid as u32),
        10,
        computer,
        &[
            ("RuleName", "-"),
            ("UtcTime", "2024-05-06 07:08:09.123"),
            ("SourceProcessGUID", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"),
            ("SourceProcessId", "4242"),
            ("SourceThreadId", "4243"),
            ("SourceImage", source),
            ("TargetProcessGUID", "{5770385f-c22a-43e0-bf4c-06f5698ffbd0}"),
            ("TargetProcessId", "640"),
            ("TargetImage", target),
            ("GrantedAccess", "0x1fffff"),
            ("CallTrace", call_trace),
        ],
    )
}

/// Sysmon EventID 11 (file create).
pub fn file_create(rid: u64, computer: &str, image: &str, target_filename: &str) -> EventSpec {
    EventSpec::sysmon(
        rid,
        &time(rid as u32),
        11,
        computer,
        &[
            ("RuleName", "-"),
            ("UtcTime", "2024-05-06 07:08:09.123"),
            ("ProcessGuid", "{5770385f-c22a-43e0-bf4c-06f5698ffbd1}"),
            ("ProcessId", "5150"),
            ("Image", image),
            ("TargetFilename", target_filename),
            ("CreationUtcTime", "2024-05-06 07:08:09.123"),
        ],
    )
}

/// Sysmon EventID 1 (process create).
pub fn process_create(rid: u64, computer: &str, image: &str, command_line: &str) -> EventSpec {
    EventSpec::sysmon(
        rid,
        &time(rid as u32),
        1,
        computer,
        &[
            ("RuleName", "-"),
            ("ProcessId", "7000"),
            ("Image", image),
            ("CommandLine", command_line),
            ("ParentImage", r"C:\Windows\explorer.exe"),
            ("User", r"CORP\bob"),
        ],
    )
}

/// A Security 4624 logon (not Sysmon).
pub fn logon(rid: u64, computer: &str) -> EventSpec {
    EventSpec {
        record_id: rid,
        time: time(rid as u32),
        provider: "Microsoft-Windows-Security-Auditing".into(),
        event_id: 4624,
        channel: "Security".into(),
        computer: computer.into(),
        data: vec![
            ("SubjectUserSid".into(), "S-1-5-18".into()),
            ("TargetUserName".into(), "bob".into()),
            ("TargetDomainName".into(), "CORP".into()),
            ("LogonType".into(), "2".into()),
            ("ProcessName".into(), r"C:\Windows\System32\svchost.exe".into()),
        ],
    }
}

/// An event in another channel with the given id and data.
pub fn other_channel(rid: u64, channel: &str, provider: &str, event_id: u16, data: &[(&str, &str)]) -> EventSpec {
    EventSpec {
        record_id: rid,
        time: time(rid as u32),
        provider: provider.into(),
        event_id,
        channel: channel.into(),
        computer: "WKS-01".into(),
        data: data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

/// A benign event that none of the built-in rules can match (and that holds
/// none of the prefilter's literals): rid decides which of a few kinds.
pub fn benign(rid: u64) -> EventSpec {
    match rid % 4 {
        0 => {
            process_create(rid, "WKS-01", r"C:\Windows\System32\svchost.exe", r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule")
        }
        1 => access(rid, "WKS-01", r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\winlogon.exe", PLAIN_TRACE),
        2 => {
            file_create(rid, "WKS-02", r"C:\Program Files\Mozilla Firefox\firefox.exe", r"C:\Users\bob\AppData\Local\Temp\cache2\entry.tmp")
        }
        _ => logon(rid, "WKS-02"),
    }
}

/// `n` benign events with ids `first..first + n`.
pub fn benign_run(first: u64, n: u64) -> Vec<EventSpec> {
    (first..first + n).map(benign).collect()
}

/// The one 64 KiB chunk `write_evtx` makes of these events (panics if they do not fit in one).
pub fn one_chunk(events: &[EventSpec]) -> Vec<u8> {
    let file = write_evtx(events);
    assert_eq!(file.len(), FILE_HEADER + CHUNK, "the events of one chunk must fit in one chunk");
    file[FILE_HEADER..].to_vec()
}

/// A log whose chunk `i` holds exactly `chunks[i]` (each chunk written on its own).
pub fn log_of_chunks(chunks: &[Vec<EventSpec>]) -> Vec<u8> {
    let all: Vec<EventSpec> = chunks.iter().flatten().cloned().collect();
    let mut file = write_evtx(&all[..1])[..FILE_HEADER].to_vec();
    for events in chunks {
        file.extend(one_chunk(events));
    }
    let next_id = all.iter().map(|e| e.record_id + 1).max().unwrap_or(1);
    set_header(&mut file, chunks.len() as u16, next_id);
    file
}

/// Rewrites the file header's chunk count, last chunk number and next record id, with a fresh CRC.
pub fn set_header(file: &mut [u8], chunk_count: u16, next_record_id: u64) {
    file[16..24].copy_from_slice(&(chunk_count.saturating_sub(1) as u64).to_le_bytes());
    file[24..32].copy_from_slice(&next_record_id.to_le_bytes());
    file[42..44].copy_from_slice(&chunk_count.to_le_bytes());
    fix_file_header_crc(file);
}

pub fn fix_file_header_crc(file: &mut [u8]) {
    let crc = crc32fast::hash(&file[..120]);
    file[124..128].copy_from_slice(&crc.to_le_bytes());
}

/// Byte range of chunk `i` in a file.
pub fn chunk_range(i: usize) -> std::ops::Range<usize> {
    FILE_HEADER + i * CHUNK..FILE_HEADER + (i + 1) * CHUNK
}

/// File offset of chunk `i`.
pub fn chunk_offset(i: usize) -> u64 {
    (FILE_HEADER + i * CHUNK) as u64
}

pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The records of a well-formed chunk: (chunk offset, size, record id), walked by size fields.
pub fn records_of_chunk(chunk: &[u8]) -> Vec<(usize, usize, u64)> {
    let free = u32_at(chunk, 48) as usize;
    let mut out = Vec::new();
    let mut at = CHUNK_HEADER;
    while at < free {
        assert_eq!(&chunk[at..at + 4], b"\x2a\x2a\0\0", "record magic at {at}");
        let size = u32_at(chunk, at + 4) as usize;
        out.push((at, size, u64_at(chunk, at + 8)));
        at += size;
    }
    out
}

/// Recomputes a chunk's header and records CRC32s (after deliberate edits).
pub fn fix_chunk_crcs(chunk: &mut [u8]) {
    let free = u32_at(chunk, 48) as usize;
    let events = crc32fast::hash(&chunk[CHUNK_HEADER..free.min(CHUNK)]);
    put_u32(chunk, 52, events);
    let mut h = crc32fast::Hasher::new();
    h.update(&chunk[..120]);
    h.update(&chunk[128..CHUNK_HEADER]);
    put_u32(chunk, 124, h.finalize());
}

/// (analytic id, event record id) of findings.
pub fn pairs(findings: &[Finding]) -> BTreeSet<(String, u64)> {
    findings.iter().map(|f| (f.analytic_id.to_string(), f.event_record_id)).collect()
}

/// (analytic id, event record id, chunk) of findings.
pub fn triples(findings: &[Finding]) -> BTreeSet<(String, u64, u64)> {
    findings.iter().map(|f| (f.analytic_id.to_string(), f.event_record_id, f.chunk)).collect()
}

pub fn set(items: &[(&str, u64)]) -> BTreeSet<(String, u64)> {
    items.iter().map(|(a, r)| (a.to_string(), *r)).collect()
}

/// One file scanned in memory with the built-in rules, through `FileScan::finish`.
pub fn scan(name: &str, bytes: &[u8]) -> (FileReport, Vec<Finding>) {
    let rules = RuleSet::builtin();
    let (report, findings, _) = scan_bytes(name, bytes, &rules).finish();
    (report, findings)
}

/// One file scanned in memory, folded through `RunBuilder` into a run report.
pub fn run(name: &str, bytes: &[u8], rules: &RuleSet) -> RunReport {
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes(name, bytes, rules));
    run.finish(rules)
}

/// Issues without their reason text: (kind, chunk, offset).
pub fn issue_shapes(issues: &[Issue]) -> Vec<(String, Option<u64>, u64)> {
    issues.iter().map(|i| (i.kind.clone(), i.chunk, i.offset)).collect()
}

/// A fresh, empty folder under the system temp folder, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("evtx-triage-test-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to `rel` (creating folders) and returns the full path.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `../shared/corpus` (next to the repository), when present. Under CI it
/// must be: a missing corpus fails the test; elsewhere it is skipped with a notice.
pub fn corpus_dir(what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    if dir.join("expected.json").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the corpus is missing at {}", dir.display());
    }
    eprintln!("NOTICE: corpus not found at {}; skipping {what}", dir.display());
    None
}

/// Every `.evtx` file under `dir`, sorted.
pub fn evtx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("evtx")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The Sysmon channel, for assertions.
pub fn sysmon_channel() -> &'static str {
    SYSMON_CHANNEL
}

/// Runs the built `evtx-triage` binary with these arguments.
pub fn cli(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_evtx-triage");
    std::process::Command::new(bin).args(args.iter().map(|a| a.as_ref())).output().expect("run evtx-triage")
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}
