//! Writes a large, valid EVTX file for benchmarks by stitching real chunks.
//!
//! It takes, in a fixed order (sorted paths, then chunk order), every chunk of
//! the corpus that is intact (magic, header and records CRC correct), holds at
//! least 20 records and holds Sysmon events, and repeats that list behind a
//! fresh 4 KiB file header until the file reaches the asked size. EVTX chunks
//! are independent, so the result is a valid log; the header's chunk count
//! is 16 bits, so past 65,535 chunks a reader must go on to the file's end.
//!
//! Usage: cargo run --release --example build_bench_input -- CORPUS_DIR OUT.evtx SIZE_MIB
//!
//! With `--alternate LOG_A LOG_B OUT.evtx SIZE_MIB` it writes a log in which every chunk holds
//! hits instead: the whole chunks of two logs (the corpus's Dumpert and lsass_memdump samples),
//! alternating (57,344 built-in findings per GiB): a benchmark of findings at scale.

use evtx::{EvtxChunkData, ParserSettings};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 6 && args[1] == "--alternate" {
        let (a, b) = (whole_chunks(&args[2]), whole_chunks(&args[3]));
        assert!(!a.is_empty() && !b.is_empty(), "both logs need whole chunks");
        let wanted = ((args[5].parse::<u64>().expect("SIZE_MIB is a number") << 20) as usize - HEADER).div_ceil(CHUNK);
        let mut file = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(&args[4]).expect("create output"));
        file.write_all(&file_header(wanted as u64)).unwrap();
        for i in 0..wanted {
            let from = if i % 2 == 0 { &a } else { &b };
            file.write_all(&from[(i / 2) % from.len()]).unwrap();
        }
        file.flush().unwrap();
        eprintln!("{}: {wanted} chunks, alternating {} and {} chunks", args[4], a.len(), b.len());
        return;
    }
    if args.len() != 4 {
        eprintln!("usage: build_bench_input CORPUS_DIR OUT.evtx SIZE_MIB");
        std::process::exit(2);
    }
    let corpus = PathBuf::from(&args[1]);
    let out = PathBuf::from(&args[2]);
    let size_mib: u64 = args[3].parse().expect("SIZE_MIB is a number");
    let chunks = select_chunks(&corpus);
    assert!(!chunks.is_empty(), "no usable Sysmon chunk in {}", corpus.display());
    let lsass = chunks.iter().filter(|c| mentions_lsass(c)).count();
    let wanted = ((size_mib << 20) as usize - HEADER).div_ceil(CHUNK);
    let mut file = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(&out).expect("create output"));
    file.write_all(&file_header(wanted as u64)).unwrap();
    for i in 0..wanted {
        file.write_all(&chunks[i % chunks.len()]).unwrap();
    }
    file.flush().unwrap();
    eprintln!(
        "{}: {} chunks ({} MiB) from {} distinct corpus chunks, {:.0}% of which mention lsass",
        out.display(),
        wanted,
        (HEADER + wanted * CHUNK) >> 20,
        chunks.len(),
        lsass as f64 * 100.0 / chunks.len() as f64
    );
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("evtx")) {
            out.push(p);
        }
    }
}

fn select_chunks(corpus: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    evtx_files(corpus, &mut files);
    files.sort();
    let settings = Arc::new(ParserSettings::default().num_threads(1));
    let mut picked = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else { continue };
        if bytes.len() < HEADER + CHUNK || &bytes[..8] != b"ElfFile\0" {
            continue;
        }
        for raw in bytes[HEADER..].chunks_exact(CHUNK) {
            let Ok(mut chunk) = EvtxChunkData::new(raw.to_vec(), true) else { continue };
            let Ok(mut parsed) = chunk.parse(settings.clone()) else { continue };
            let mut records = 0;
            let mut sysmon = false;
            let mut broken = false;
            for r in parsed.iter() {
                match r.and_then(|r| r.into_json()) {
                    Ok(j) => {
                        records += 1;
                        sysmon |= j.data.contains("\"Microsoft-Windows-Sysmon/Operational\"");
                    }
                    Err(_) => broken = true,
                }
            }
            if !broken && sysmon && records >= 20 {
                picked.push(raw.to_vec());
            }
        }
    }
    picked
}

/// The whole chunks of one log, in file order.
fn whole_chunks(path: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .get(HEADER..)
        .unwrap_or(&[])
        .chunks(CHUNK)
        .filter(|c| c.len() == CHUNK && c.starts_with(b"ElfChnk\0"))
        .map(<[u8]>::to_vec)
        .collect()
}

fn mentions_lsass(chunk: &[u8]) -> bool {
    let needle: Vec<u8> = "lsass".encode_utf16().flat_map(u16::to_le_bytes).collect();
    chunk.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(&needle))
}

/// A fresh file header: ElfFile, first/last chunk, next record id, sizes,
/// version 3.1, chunk count (16 bits), CRC32 of the first 120 bytes.
fn file_header(chunks: u64) -> Vec<u8> {
    let mut h = vec![0u8; HEADER];
    h[..8].copy_from_slice(b"ElfFile\0");
    h[16..24].copy_from_slice(&(chunks.saturating_sub(1)).to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[32..36].copy_from_slice(&128u32.to_le_bytes());
    h[36..38].copy_from_slice(&1u16.to_le_bytes());
    h[38..40].copy_from_slice(&3u16.to_le_bytes());
    h[40..42].copy_from_slice(&(HEADER as u16).to_le_bytes());
    h[42..44].copy_from_slice(&(chunks.min(u16::MAX as u64) as u16).to_le_bytes());
    let crc = zlib_rs::crc32::crc32(0, &h[..120]);
    h[124..128].copy_from_slice(&crc.to_le_bytes());
    h
}
