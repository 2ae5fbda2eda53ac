//! Deterministic mutation testing: a multi-chunk log (and, when the corpus is
//! there, logs made of real Windows chunks) damaged thousands of ways, with a
//! fixed seed: bit flips, byte-range overwrites, truncations, inserted and
//! deleted bytes, swapped and copied chunks.
//!
//! For every case: scanning returns (no panic escapes), the report is
//! consistent, exporting it works, reading it in pieces of any size gives the
//! same result, and every chunk whose bytes the mutation left alone (wherever
//! it moved to) yields exactly the findings and issues it yields in the
//! original. Panics the parser raised and `analyze_chunk` caught (issue kind
//! `internal`) are counted and printed with their inputs.

mod support;

use evtx_triage::export;
use evtx_triage::reader::ChunkSplitter;
use evtx_triage::report::{FileStatus, Finding, Issue};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, scan_bytes, FileScan, RunBuilder};
use evtx_triage::writer::EventSpec;
use std::collections::BTreeSet;
use support::*;

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { pos: usize, bit: u8 },
    Overwrite { start: usize, len: usize, fill: Fill },
    Truncate { at: usize },
    Insert { pos: usize, len: usize },
    Delete { pos: usize, len: usize },
    SwapChunks { a: usize, b: usize },
    CopyChunk { from: usize, to: usize },
}

#[derive(Debug, Clone, Copy)]
enum Fill {
    Random,
    Zero,
    Ff,
    /// Bytes copied from elsewhere in the file (plausible structures).
    CopyFrom(usize),
}

/// The file being mutated, and which original chunk each chunk position holds.
struct Subject {
    bytes: Vec<u8>,
    /// `holds[p]`: the original chunk whose bytes are (or were, before any
    /// damage) at chunk position `p`; `None` once misaligned.
    holds: Vec<Option<usize>>,
}

impl Subject {
    fn apply(&mut self, m: &Mutation, rng: &mut Rng) {
        let b = &mut self.bytes;
        match *m {
            Mutation::Flip { pos, bit } => b[pos] ^= 1 << bit,
            Mutation::Overwrite { start, len, fill } => {
                let src: Vec<u8> = match fill {
                    Fill::Random => rng.bytes(len),
                    Fill::Zero => vec![0; len],
                    Fill::Ff => vec![0xff; len],
                    Fill::CopyFrom(from) => b[from..from + len].to_vec(),
                };
                b[start..start + len].copy_from_slice(&src);
            }
            Mutation::Truncate { at } => b.truncate(at),
            Mutation::Insert { pos, len } => {
                let extra = rng.bytes(len);
                b.splice(pos..pos, extra);
                self.misalign_from(pos);
            }
            Mutation::Delete { pos, len } => {
                b.drain(pos..pos + len);
                self.misalign_from(pos);
            }
            Mutation::SwapChunks { a, b: c } => {
                self.cover(a.max(c));
                let b = &mut self.bytes;
                let (ra, rc) = (chunk_range(a), chunk_range(c));
                let tmp = b[ra.clone()].to_vec();
                b.copy_within(rc.clone(), ra.start);
                b[rc].copy_from_slice(&tmp);
                self.holds.swap(a, c);
            }
            Mutation::CopyChunk { from, to } => {
                self.cover(from.max(to));
                let b = &mut self.bytes;
                b.copy_within(chunk_range(from), chunk_range(to).start);
                self.holds[to] = self.holds[from];
            }
        }
    }

    /// Makes `holds` reach chunk position `p`.
    fn cover(&mut self, p: usize) {
        if self.holds.len() <= p {
            self.holds.resize(p + 1, None);
        }
    }

    /// Every chunk position from the one holding `pos` on no longer holds an original chunk.
    fn misalign_from(&mut self, pos: usize) {
        let first = pos.saturating_sub(FILE_HEADER) / CHUNK;
        for h in self.holds.iter_mut().skip(first) {
            *h = None;
        }
    }

    fn chunks(&self) -> usize {
        self.bytes.len().saturating_sub(FILE_HEADER) / CHUNK
    }
}

/// A random position, biased toward the file header, chunk headers and record headers.
fn position(rng: &mut Rng, bytes: &[u8]) -> usize {
    let len = bytes.len();
    let chunks = len.saturating_sub(FILE_HEADER) / CHUNK;
    match rng.below(10) {
        0 => rng.below(FILE_HEADER.min(len)),
        1..=3 if chunks > 0 => chunk_range(rng.below(chunks)).start + rng.below(CHUNK_HEADER),
        4..=5 if chunks > 0 => {
            // Near a record header: the record magic's neighbourhood.
            let c = chunk_range(rng.below(chunks));
            let start = c.start + CHUNK_HEADER + rng.below(CHUNK - CHUNK_HEADER);
            let hit = bytes[start..c.end].windows(4).position(|w| w == b"\x2a\x2a\0\0");
            match hit {
                Some(h) => (start + h + rng.below(32)).min(len - 1),
                None => start,
            }
        }
        _ => rng.below(len),
    }
}

fn random_mutation(rng: &mut Rng, s: &Subject) -> Mutation {
    let len = s.bytes.len();
    let chunks = s.chunks();
    loop {
        let m = match rng.below(100) {
            0..=34 => Mutation::Flip { pos: position(rng, &s.bytes), bit: rng.below(8) as u8 },
            35..=59 => {
                let start = position(rng, &s.bytes);
                let max = if rng.chance(80) { 64 } else { 4096 };
                let len = (1 + rng.below(max)).min(len - start);
                let fill = match rng.below(4) {
                    0 => Fill::Random,
                    1 => Fill::Zero,
                    2 => Fill::Ff,
                    _ => Fill::CopyFrom(rng.below(s.bytes.len() - len + 1)),
                };
                Mutation::Overwrite { start, len, fill }
            }
            60..=74 => Mutation::Truncate { at: if rng.chance(20) { rng.below(FILE_HEADER + 600) } else { rng.below(len) } },
            75..=79 => Mutation::Insert { pos: position(rng, &s.bytes), len: 1 + rng.below(100) },
            80..=84 => {
                let pos = position(rng, &s.bytes);
                Mutation::Delete { pos, len: (1 + rng.below(100)).min(len - pos) }
            }
            85..=94 if chunks >= 2 => {
                let a = rng.below(chunks);
                let b = (a + 1 + rng.below(chunks - 1)) % chunks;
                Mutation::SwapChunks { a, b }
            }
            95..=99 if chunks >= 2 => {
                let from = rng.below(chunks);
                let to = (from + 1 + rng.below(chunks - 1)) % chunks;
                Mutation::CopyChunk { from, to }
            }
            _ => continue,
        };
        return m;
    }
}

/// What one chunk yields, in terms that do not depend on where it sits.
#[derive(Debug, Clone, PartialEq, Default)]
struct ChunkOutcome {
    findings: BTreeSet<(String, u64)>,
    /// (kind, offset in the chunk, reason)
    issues: Vec<(String, u64, String)>,
}

fn outcomes(findings: &[Finding], issues: &[Issue], chunks: usize) -> Vec<ChunkOutcome> {
    let mut out = vec![ChunkOutcome::default(); chunks + 1];
    for f in findings {
        let c = f.chunk as usize;
        assert!(c <= chunks, "finding in chunk {c} of a file of {chunks} whole chunks");
        out[c].findings.insert((f.analytic_id.to_string(), f.event_record_id));
    }
    for i in issues {
        if let Some(c) = i.chunk {
            let c = c as usize;
            assert!(c <= chunks, "issue in chunk {c} of a file of {chunks} whole chunks");
            let base = chunk_offset(c);
            assert!(i.offset >= base && i.offset < base + CHUNK as u64, "issue offset {:#x} outside chunk {c}: {i:?}", i.offset);
            out[c].issues.push((i.kind.clone(), i.offset - base, i.reason.clone()));
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    cases: usize,
    unreadable: usize,
    partial: usize,
    untouched_chunks_checked: usize,
    internal: Vec<String>,
}

/// Runs `cases` mutations of `original` and checks each.
fn mutate_and_check(label: &str, original: &[u8], cases: usize, seed: u64, rules: &RuleSet, tally: &mut Tally) {
    let (report, findings, _) = scan_bytes(label, original, rules).finish();
    let n = (original.len() - FILE_HEADER) / CHUNK;
    assert_eq!(original.len(), FILE_HEADER + n * CHUNK);
    let base = outcomes(&findings, &report.issues, n);
    let mut rng = Rng::new(seed);
    for case in 0..cases {
        let mut s = Subject { bytes: original.to_vec(), holds: (0..n).map(Some).collect() };
        let count = 1 + rng.below(3) * usize::from(rng.chance(30));
        let mut applied = Vec::new();
        for _ in 0..count {
            if s.bytes.is_empty() {
                break;
            }
            let m = random_mutation(&mut rng, &s);
            s.apply(&m, &mut rng);
            applied.push(m);
        }
        let what = format!("{label} case {case} (seed {seed:#x}): {applied:?}");
        check_case(&what, original, &s, &base, rules, &mut rng, tally);
    }
}

fn check_case(what: &str, original: &[u8], s: &Subject, base: &[ChunkOutcome], rules: &RuleSet, rng: &mut Rng, tally: &mut Tally) {
    let bytes = &s.bytes;
    let scan = scan_bytes("m.evtx", bytes, rules);
    let (report, findings, stats) = scan.finish();
    tally.cases += 1;
    for i in report.issues.iter().filter(|i| i.kind == "internal") {
        tally.internal.push(format!("{what}: {i:?}"));
        let path = std::env::temp_dir().join(format!("evtx-triage-internal-{}.evtx", tally.internal.len()));
        let _ = std::fs::write(&path, bytes);
        eprintln!("INTERNAL (parser panic caught) in {what}: {}; input written to {}", i.reason, path.display());
    }

    // The report is consistent with itself.
    assert_eq!(report.findings, findings.len() as u64, "{what}");
    assert_eq!(report.records, stats.records, "{what}");
    assert_eq!(report.size, bytes.len() as u64, "{what}");
    let magic_ok = bytes.len() >= 8 && &bytes[..8] == b"ElfFile\0";
    if !magic_ok || bytes.len() <= FILE_HEADER {
        assert_eq!(report.status, FileStatus::Unreadable, "{what}");
        let e = report.error.as_deref().unwrap_or_else(|| panic!("{what}: no error"));
        let expect = if bytes.is_empty() {
            "empty file"
        } else if !magic_ok {
            "not an EVTX file"
        } else if bytes.len() < FILE_HEADER {
            "truncated EVTX file header"
        } else {
            "EVTX file header only"
        };
        assert!(e.starts_with(expect), "{what}: error {e:?}, expected {expect:?}");
        assert!(findings.is_empty() && report.issues.is_empty(), "{what}");
        tally.unreadable += 1;
        return;
    }
    match report.status {
        FileStatus::Unreadable => {
            assert_eq!(report.error.as_deref(), Some("no chunk of this file could be read"), "{what}");
            tally.unreadable += 1;
        }
        FileStatus::Partial => {
            assert_eq!(report.error, None, "{what}");
            tally.partial += 1;
        }
        FileStatus::Ok => assert_eq!(report.error, None, "{what}"),
        FileStatus::Duplicate => panic!("{what}: one input cannot be a duplicate"),
    }

    // Every chunk left whole and untouched yields what it yields in the original.
    let chunks = s.chunks();
    let got = outcomes(&findings, &report.issues, chunks);
    for p in 0..chunks {
        let Some(q) = s.holds.get(p).copied().flatten() else { continue };
        if bytes[chunk_range(p)] != original[chunk_range(q)] {
            continue;
        }
        tally.untouched_chunks_checked += 1;
        assert_eq!(got[p], base[q], "{what}: untouched chunk {q}, now at position {p}");
    }

    // Reading in pieces of any size gives the same result (as the CLI and the browser read).
    if rng.chance(10) {
        let piece = [1usize, 7, 512, 4096, 65535, 65537, 1 << 20][rng.below(7)];
        let mut splitter = ChunkSplitter::new();
        let mut scan = FileScan::new("m.evtx", bytes.len() as u64);
        let mut header_done = false;
        let mut failed = None;
        let mut digest = evtx_triage::digest::StreamDigest::new();
        for p in bytes.chunks(piece) {
            digest.update(p);
            match splitter.push(p) {
                Ok(raws) => {
                    if !header_done {
                        if let Some(h) = splitter.header() {
                            scan.header(h);
                            header_done = true;
                        }
                    }
                    for raw in raws {
                        scan.add(analyze_chunk("m.evtx", &raw, rules));
                    }
                }
                Err(e) => {
                    failed = Some(e.0);
                    break;
                }
            }
        }
        if failed.is_none() {
            match splitter.finish() {
                Ok(tail) => tail.into_iter().for_each(|raw| scan.add(analyze_chunk("m.evtx", &raw, rules))),
                Err(e) => failed = Some(e.0),
            }
        }
        if let Some(e) = failed {
            scan.fail(e);
        }
        scan.set_sha256(digest.finish(bytes.len() as u64).expect("every byte was hashed"));
        let (pieces, pieces_findings, _) = scan.finish();
        assert_eq!(pieces, report, "{what}: read in pieces of {piece}");
        assert_eq!(pieces_findings, findings, "{what}: read in pieces of {piece}");
    }

    // Every export works on whatever the damaged file held.
    let mut run = RunBuilder::new();
    run.add_file(scan_bytes("m.evtx", bytes, rules));
    let run = run.finish(rules);
    let jsonl = export::to_jsonl(&run);
    // The rules line, each finding, the file line, each coverage note.
    assert_eq!(jsonl.lines().count(), 1 + run.findings.len() + 1 + run.coverage.len(), "{what}");
    let csv = export::findings_csv(&run.findings);
    assert!(csv.starts_with(&export::CSV_COLUMNS.join(",")), "{what}");
    let table = export::to_table(&run);
    assert!(table.starts_with("1 file(s), "), "{what}");
    if rng.chance(5) {
        let json: serde_json::Value = serde_json::from_str(&export::to_json(&run)).unwrap();
        assert_eq!(json["findings"].as_array().unwrap().len(), run.findings.len(), "{what}");
    }
}

fn print_tally(label: &str, t: &Tally, started: std::time::Instant) {
    println!(
        "{label}: {} cases in {:.1?}: {} unreadable, {} partial, {} untouched chunks compared, {} internal (caught parser panics)",
        t.cases,
        started.elapsed(),
        t.unreadable,
        t.partial,
        t.untouched_chunks_checked,
        t.internal.len()
    );
    for i in &t.internal {
        println!("  INTERNAL: {i}");
    }
}

/// Six chunks: findings in chunks 0, 1, 2, 4 and 5, none in 3 (a near miss
/// there), a short chunk 5. Record ids increase through the file.
fn generated_log() -> (Vec<u8>, Vec<BTreeSet<(String, u64)>>) {
    let dumper = r"C:\Users\bob\Desktop\dumper.exe";
    let werfault = r"C:\Windows\System32\WerFault.exe";
    let taskmgr = r"C:\Windows\system32\taskmgr.exe";
    type Make = Box<dyn Fn(u64) -> EventSpec>;
    // `n` events from id `first`; the event at index `at` made by `make`.
    let chunk = |first: u64, n: u64, hits: Vec<(u64, Make)>| -> Vec<EventSpec> {
        (first..first + n)
            .map(|rid| match hits.iter().find(|(at, _)| first + at == rid) {
                Some((_, make)) => make(rid),
                None => benign(rid),
            })
            .collect()
    };
    let chunks = vec![
        chunk(1, 38, vec![(3, Box::new(move |r| access(r, "WKS-01", dumper, LSASS, DBGHELP_TRACE)))]),
        chunk(
            100,
            36,
            vec![
                (0, Box::new(move |r| access(r, "WKS-01", werfault, r"c:\windows\system32\LSASS.exe", DBGCORE_TRACE))),
                (20, Box::new(move |r| file_create(r, "WKS-02", taskmgr, r"C:\Temp\lsass (3).dmp"))),
            ],
        ),
        chunk(
            200,
            30,
            vec![
                (5, Box::new(move |r| file_create(r, "WKS-02", taskmgr, r"C:\Users\bob\AppData\Local\Temp\lsass.DMP"))),
                (6, Box::new(move |r| access(r, "WKS-02", dumper, LSASS, DBGCORE_TRACE))),
                (29, Box::new(move |r| access(r, "WKS-02", dumper, r"C:\Windows\system32\svchost.exe", DBGHELP_TRACE))),
            ],
        ),
        chunk(300, 40, vec![(10, Box::new(|r| file_create(r, "WKS-03", r"C:\Tools\procdump.exe", r"C:\Temp\lsass.dmp")))]),
        chunk(400, 35, vec![(34, Box::new(move |r| access(r, "WKS-04", dumper, LSASS, DBGHELP_TRACE)))]),
        chunk(500, 6, vec![(2, Box::new(move |r| file_create(r, "WKS-05", taskmgr, r"C:\Temp\lsass.dmp")))]),
    ];
    let expected = vec![
        set(&[(MINIDUMP, 4)]),
        set(&[(MINIDUMP, 100), (TASKMGR, 120)]),
        set(&[(TASKMGR, 205), (MINIDUMP, 206)]),
        set(&[]),
        set(&[(MINIDUMP, 434)]),
        set(&[(TASKMGR, 502)]),
    ];
    (log_of_chunks(&chunks), expected)
}

#[test]
fn mutations_of_a_generated_log() {
    let started = std::time::Instant::now();
    let rules = RuleSet::builtin();
    let (log, expected) = generated_log();
    // The original, chunk by chunk.
    let (report, findings, _) = scan_bytes("gen.evtx", &log, &rules).finish();
    assert_eq!(report.status, FileStatus::Ok);
    assert_eq!(report.issues, vec![]);
    let per_chunk: Vec<BTreeSet<(String, u64)>> = (0..6)
        .map(|c| findings.iter().filter(|f| f.chunk == c).map(|f| (f.analytic_id.to_string(), f.event_record_id)).collect())
        .collect();
    assert_eq!(per_chunk, expected);

    let mut tally = Tally::default();
    mutate_and_check("generated", &log, 2500, 0x5eed_0001, &rules, &mut tally);
    print_tally("generated log", &tally, started);
    assert_eq!(tally.cases, 2500);
    assert!(tally.untouched_chunks_checked > 5000, "{}", tally.untouched_chunks_checked);
    assert!(tally.partial > 100 && tally.unreadable > 10, "the mutations reach the interesting cases");
}

/// Chunks of real Windows logs (templates, many providers), six to a log.
#[test]
fn mutations_of_corpus_chunks() {
    let Some(dir) = corpus_dir("the corpus part of the mutation test") else { return };
    let started = std::time::Instant::now();
    let rules = RuleSet::builtin();
    let expected: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let with_matches: BTreeSet<String> = expected
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v["matches"].as_array().unwrap().is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(with_matches.len(), 3);
    let files = evtx_files(&dir);
    assert_eq!(files.len(), 300);
    // The files with matches, and every 15th other file: their first two chunks.
    let mut pool: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, path) in files.iter().enumerate() {
        let rel = path.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
        if !(with_matches.contains(&rel) || n % 15 == 0) {
            continue;
        }
        let bytes = std::fs::read(path).unwrap();
        for c in 0..2 {
            if bytes.len() >= chunk_range(c).end {
                pool.push((format!("{rel}#{c}"), bytes[chunk_range(c)].to_vec()));
            }
        }
    }
    let header = generated_log().0[..FILE_HEADER].to_vec();
    let mut tally = Tally::default();
    let mut total_findings = 0;
    for (n, group) in pool.chunks(6).enumerate() {
        let mut log = header.clone();
        for (_, c) in group {
            log.extend_from_slice(c);
        }
        set_header(&mut log, group.len() as u16, 1);
        let names: Vec<&str> = group.iter().map(|(name, _)| name.as_str()).collect();
        total_findings += scan_bytes("corpus.evtx", &log, &rules).findings().len();
        mutate_and_check(&format!("corpus log {n} {names:?}"), &log, 300, 0xc0de_0000 + n as u64, &rules, &mut tally);
    }
    print_tally(&format!("corpus chunks ({} chunks in {} logs)", pool.len(), pool.len().div_ceil(6)), &tally, started);
    assert_eq!(total_findings, 8, "the corpus's 8 findings are all in the pool");
    assert!(tally.untouched_chunks_checked > 1000);
}

/// The prefilter and the quick statistics are shortcuts: on damaged chunks
/// too, a scan with them gives what a scan without them (`exhaustive`) gives,
/// apart from the count of chunks the prefilter skipped.
fn shortcuts_change_nothing(label: &str, original: &[u8], cases: usize, seed: u64, differ: &mut Vec<String>) -> usize {
    let fast = RuleSet::builtin();
    let slow = RuleSet::builtin().exhaustive();
    let mut rng = Rng::new(seed);
    let n = (original.len() - FILE_HEADER) / CHUNK;
    for case in 0..cases {
        let mut s = Subject { bytes: original.to_vec(), holds: (0..n).map(Some).collect() };
        // Damage inside chunks only: the file stays readable.
        let m = loop {
            let m = random_mutation(&mut rng, &s);
            match m {
                Mutation::Flip { pos, .. } | Mutation::Overwrite { start: pos, .. } if pos >= FILE_HEADER => break m,
                Mutation::Truncate { at } if at > FILE_HEADER => break m,
                _ => {}
            }
        };
        s.apply(&m, &mut rng);
        let (a, af, _) = scan_bytes("m.evtx", &s.bytes, &fast).finish();
        let (b, bf, _) = scan_bytes("m.evtx", &s.bytes, &slow).finish();
        let a_cmp = evtx_triage::report::FileReport { chunks_skipped: 0, ..a.clone() };
        if a_cmp != b || af != bf {
            differ.push(format!(
                "{label} case {case} (seed {seed:#x}) {m:?}:\n    with shortcuts: {} records, findings {:?}, issues {:?}\n    exhaustive:     {} records, findings {:?}, issues {:?}",
                a.records, pairs(&af), a.issues, b.records, pairs(&bf), b.issues
            ));
        }
    }
    cases
}

/// Undamaged real logs: the shortcuts give exactly the exhaustive results.
#[test]
fn shortcuts_change_no_result_on_the_corpus() {
    let Some(dir) = corpus_dir("the corpus shortcut check") else { return };
    let fast = RuleSet::builtin();
    let slow = RuleSet::builtin().exhaustive();
    let mut skipped = 0;
    for path in evtx_files(&dir) {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        let (a, af, _) = scan_bytes(&name, &bytes, &fast).finish();
        let (b, bf, _) = scan_bytes(&name, &bytes, &slow).finish();
        skipped += a.chunks_skipped;
        assert_eq!(af, bf, "{name}");
        assert_eq!(evtx_triage::report::FileReport { chunks_skipped: 0, ..a }, b, "{name}");
    }
    assert!(skipped > 100, "the prefilter skipped {skipped} corpus chunks");
}

#[test]
fn shortcuts_change_no_result_on_damaged_chunks() {
    let started = std::time::Instant::now();
    let mut differ = Vec::new();
    let mut cases = shortcuts_change_nothing("generated", &generated_log().0, 300, 0xfa57_0001, &mut differ);
    if let Some(dir) = corpus_dir("the corpus part of the shortcut test") {
        for (n, path) in evtx_files(&dir).iter().enumerate().filter(|(n, _)| n % 6 == 0) {
            let bytes = std::fs::read(path).unwrap();
            let one = bytes[..FILE_HEADER + CHUNK].to_vec();
            let label = path.strip_prefix(&dir).unwrap().display().to_string();
            cases += shortcuts_change_nothing(&label, &one, 20, 0xfa57_1000 + n as u64, &mut differ);
        }
    }
    println!("shortcuts vs exhaustive: {cases} cases in {:.1?}, {} differ", started.elapsed(), differ.len());
    for d in differ.iter().take(10) {
        println!("  {d}");
    }
    assert!(differ.is_empty(), "{} of {cases} damaged files scan differently with the shortcuts; first:\n{}", differ.len(), differ[0]);
}
