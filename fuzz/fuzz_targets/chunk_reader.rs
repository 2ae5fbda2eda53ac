//! One chunk in: the input is taken as the bytes of one EVTX chunk (the first
//! 64 KiB of it; shorter inputs are a file cut short inside the chunk) and
//! analyzed with the built-in rules; when its CRC32s are stale, a copy with
//! them made right is analyzed too, so the quick System-field reader, which
//! only reads intact chunks, gets fuzzed. The same bytes, behind a file
//! header, go through `ChunkSplitter` in pieces of a size taken from the
//! data, which must give the chunks a single push gives.
//!
//! `analyze_chunk` catches panics and reports them as an issue of kind
//! `internal`; here such an issue is a crash, so libFuzzer keeps the input.
//! (libfuzzer-sys's panic hook aborts on the panic itself, before the catch,
//! so the stack of the real panic site is what gets printed.)

#![no_main]

use evtx_triage::reader::{ChunkSplitter, RawChunk, CHUNK_SIZE, FILE_HEADER_SIZE};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::analyze_chunk;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "common.rs"]
mod common;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::builtin)
}

fuzz_target!(|input: &[u8]| {
    // The analytics, on the input as chunk 0 of a file, as given and with
    // its CRCs made right.
    let data = input[..input.len().min(CHUNK_SIZE)].to_vec();
    let fixed = common::with_fixed_crcs(&data);
    for data in std::iter::once(data).chain(fixed) {
        let raw = RawChunk { index: 0, file_offset: FILE_HEADER_SIZE as u64, data };
        let analysis = analyze_chunk("fuzz.evtx", &raw, rules());
        if let Some(issue) = analysis.issues.iter().find(|i| i.kind == "internal") {
            panic!("analyze_chunk reported an internal error: {}", issue.reason);
        }
        assert_eq!(analysis.index, 0);
        assert_eq!(analysis.file_offset, FILE_HEADER_SIZE as u64);
    }

    // The splitter, on the raw input (almost always refused: no signature).
    let piece = piece_size(input);
    let mut s = ChunkSplitter::new();
    let mut refused = false;
    for p in input.chunks(piece) {
        if s.push(p).is_err() {
            refused = true;
            break;
        }
    }
    if !refused {
        let _ = s.finish();
    }

    // The splitter, on a file made of an EVTX file header and the input:
    // any piece size gives the chunks of one push, laid end to end.
    let mut file = vec![0u8; FILE_HEADER_SIZE];
    file[..8].copy_from_slice(b"ElfFile\0");
    file[38] = 3;
    file.extend_from_slice(input);
    let whole = split(&file, file.len().max(1));
    let pieces = split(&file, piece);
    assert_eq!(whole.len(), pieces.len(), "chunk count differs with piece size {piece}");
    for (a, b) in whole.iter().zip(&pieces) {
        assert_eq!((a.index, a.file_offset, &a.data), (b.index, b.file_offset, &b.data), "piece size {piece}");
    }
    let mut expected_offset = FILE_HEADER_SIZE as u64;
    for (i, c) in pieces.iter().enumerate() {
        assert_eq!(c.index, i as u64);
        assert_eq!(c.file_offset, expected_offset);
        assert!(!c.data.is_empty() && c.data.len() <= CHUNK_SIZE);
        if i + 1 < pieces.len() {
            assert_eq!(c.data.len(), CHUNK_SIZE, "only the last chunk may be short");
        }
        expected_offset += c.data.len() as u64;
    }
    let joined: Vec<u8> = pieces.iter().flat_map(|c| c.data.iter().copied()).collect();
    assert_eq!(joined, input, "the chunks are the bytes after the header");
});

/// A piece size from the input's first bytes: 1 byte up to ~128 KiB.
fn piece_size(input: &[u8]) -> usize {
    let a = input.first().copied().unwrap_or(0) as usize;
    let b = input.get(1).copied().unwrap_or(0) as usize;
    let b2 = input.get(2).copied().unwrap_or(0) as usize;
    1 + ((a << 9) ^ (b << 1) ^ b2) % (2 * CHUNK_SIZE)
}

fn split(file: &[u8], piece: usize) -> Vec<RawChunk> {
    let mut s = ChunkSplitter::new();
    let mut out = Vec::new();
    for p in file.chunks(piece) {
        out.extend(s.push(p).expect("a file with the EVTX signature is never refused"));
    }
    match s.finish() {
        Ok(last) => out.extend(last),
        Err(e) => {
            // Only a header with nothing after it is refused at the end.
            assert_eq!(file.len(), FILE_HEADER_SIZE, "finish refused a file with chunks: {e}");
        }
    }
    out
}
