//! Shared by the fuzz targets (each includes it with `#[path]`).

use evtx_triage::reader::CHUNK_SIZE;

/// A copy of a full 64 KiB chunk with its two CRC32s made right (records
/// CRC at 52 over 512..free space; header CRC at 124 over 0..120 and
/// 128..512), or `None` when they already are, or cannot be (short chunk,
/// free space offset out of range, `NO_CRC32` flag).
///
/// Almost any mutation breaks a CRC, and `analyze_chunk` reads a chunk whose
/// CRC is stale only with the full parser: without this the fuzzer would
/// hardly ever reach the quick System-field reader (`quick.rs`).
pub fn with_fixed_crcs(chunk: &[u8]) -> Option<Vec<u8>> {
    if chunk.len() != CHUNK_SIZE || &chunk[..8] != b"ElfChnk\0" {
        return None;
    }
    let u32_at = |o: usize| u32::from_le_bytes(chunk[o..o + 4].try_into().unwrap());
    const NO_CRC32: u32 = 0x4;
    if u32_at(120) & NO_CRC32 != 0 {
        return None;
    }
    let free = u32_at(48) as usize;
    if !(512..=CHUNK_SIZE).contains(&free) {
        return None;
    }
    let mut c = chunk.to_vec();
    let records = crc32fast::hash(&c[512..free]);
    c[52..56].copy_from_slice(&records.to_le_bytes());
    let mut header = c[..120].to_vec();
    header.extend_from_slice(&c[128..512]);
    let header = crc32fast::hash(&header);
    c[124..128].copy_from_slice(&header.to_le_bytes());
    (c != chunk).then_some(c)
}
