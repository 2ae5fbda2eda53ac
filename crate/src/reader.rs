//! Reading EVTX as a byte stream, chunk by chunk.
//!
//! An EVTX file is a 4 KiB file header followed by independent 64 KiB chunks.
//! [`ChunkSplitter`] takes the bytes in pieces of any size (a browser's
//! `File.slice`, a CLI's `read`) and hands out whole chunks, so a reader never
//! holds more than one piece plus one chunk. It checks the file header, and
//! keeps a truncated last chunk so its whole records can still be read.

use serde::{Deserialize, Serialize};

pub const FILE_HEADER_SIZE: usize = 4096;
pub const CHUNK_SIZE: usize = 65536;
const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";

/// One chunk's bytes and where they were in the file.
#[derive(Debug, Clone)]
pub struct RawChunk {
    pub index: u64,
    pub file_offset: u64,
    /// `CHUNK_SIZE` bytes, or fewer for a file cut short inside this chunk.
    pub data: Vec<u8>,
    /// Whether its live records are as written (no repair plan, or one that
    /// only carves the slack), once the scan has found out: reading its
    /// records again then needs no second plan (3 % of `search EventID:1`'s CPU).
    pub as_written: std::sync::OnceLock<bool>,
}

impl RawChunk {
    pub fn new(index: u64, file_offset: u64, data: Vec<u8>) -> Self {
        RawChunk { index, file_offset, data, as_written: std::sync::OnceLock::new() }
    }

    pub fn is_truncated(&self) -> bool {
        self.data.len() < CHUNK_SIZE
    }
}

/// What the file header says, and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHeaderInfo {
    pub chunk_count: u16,
    pub next_record_id: u64,
    pub major_version: u16,
    pub minor_version: u16,
    /// Problems that do not stop reading (for instance a stale CRC).
    pub warnings: Vec<String>,
}

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotEvtx(pub String);

impl std::fmt::Display for NotEvtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a byte stream into the file header and chunks.
#[derive(Debug, Default)]
pub struct ChunkSplitter {
    pending: Vec<u8>,
    /// File offset of `pending[0]`.
    offset: u64,
    header: Option<FileHeaderInfo>,
    next_index: u64,
    failed: bool,
    /// Started mid-file by `resume_at`: an empty range is not an error.
    resumed: bool,
    /// Chunk buffers handed back with `recycle`, reused for the next chunks
    /// (allocating and freeing 64 KiB per chunk costs more than reading it).
    spare: Vec<Vec<u8>>,
}

impl ChunkSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A splitter for the bytes of a file from chunk `index` on, when the
    /// file header was already checked (parallel readers take ranges).
    pub fn resume_at(index: u64) -> Self {
        ChunkSplitter {
            offset: FILE_HEADER_SIZE as u64 + index * CHUNK_SIZE as u64,
            header: Some(FileHeaderInfo::default()),
            next_index: index,
            resumed: true,
            ..Self::default()
        }
    }

    /// The file header, once its 4 KiB have arrived.
    pub fn header(&self) -> Option<&FileHeaderInfo> {
        self.header.as_ref()
    }

    /// Bytes received so far.
    pub fn bytes_seen(&self) -> u64 {
        self.offset + self.pending.len() as u64
    }

    /// Feeds the next piece of the file; returns the chunks it completes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<RawChunk>, NotEvtx> {
        if self.failed {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut bytes = bytes;
        if self.header.is_none() {
            let need = FILE_HEADER_SIZE - self.pending.len();
            let take = need.min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            // Reject a non-EVTX file as soon as its first bytes are in.
            if self.pending.len() >= FILE_MAGIC.len() && &self.pending[..8] != FILE_MAGIC {
                self.failed = true;
                return Err(NotEvtx(not_evtx_reason(&self.pending)));
            }
            if self.pending.len() < FILE_HEADER_SIZE {
                return Ok(out);
            }
            self.header = Some(parse_file_header(&self.pending));
            self.pending.clear();
            self.offset = FILE_HEADER_SIZE as u64;
        }
        // Emit whole chunks straight from `bytes` when nothing is pending.
        while !bytes.is_empty() {
            if self.pending.is_empty() && bytes.len() >= CHUNK_SIZE {
                let mut data = self.spare.pop().unwrap_or_default();
                data.clear();
                data.extend_from_slice(&bytes[..CHUNK_SIZE]);
                out.push(self.make_chunk(data));
                bytes = &bytes[CHUNK_SIZE..];
                continue;
            }
            let take = (CHUNK_SIZE - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == CHUNK_SIZE {
                let data = std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK_SIZE));
                out.push(self.make_chunk(data));
            }
        }
        Ok(out)
    }

    /// Hands a chunk's buffer back for reuse once the chunk is analyzed.
    pub fn recycle(&mut self, chunk: RawChunk) {
        if self.spare.len() < 1024 {
            self.spare.push(chunk.data);
        }
    }

    fn make_chunk(&mut self, data: Vec<u8>) -> RawChunk {
        let chunk = RawChunk::new(self.next_index, self.offset, data);
        self.next_index += 1;
        self.offset += chunk.data.len() as u64;
        chunk
    }

    /// Ends the stream: returns a truncated last chunk, if any, or why the
    /// file is not readable at all.
    pub fn finish(&mut self) -> Result<Option<RawChunk>, NotEvtx> {
        if self.failed {
            return Ok(None);
        }
        if self.header.is_none() {
            let len = self.pending.len();
            return Err(NotEvtx(if len == 0 {
                "empty file (0 bytes): not an EVTX log".to_string()
            } else if len < FILE_MAGIC.len() || &self.pending[..8] != FILE_MAGIC {
                not_evtx_reason(&self.pending)
            } else {
                format!("truncated EVTX file header: {len} bytes, a header is {FILE_HEADER_SIZE}; no chunk to read")
            }));
        }
        if self.next_index == 0 && self.pending.is_empty() && !self.resumed {
            return Err(NotEvtx("EVTX file header only: the file holds no chunks, so no records".into()));
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let data = std::mem::take(&mut self.pending);
        Ok(Some(self.make_chunk(data)))
    }
}

fn parse_file_header(bytes: &[u8]) -> FileHeaderInfo {
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let mut info = FileHeaderInfo {
        next_record_id: u64_at(24),
        minor_version: u16_at(36),
        major_version: u16_at(38),
        chunk_count: u16_at(42),
        warnings: Vec::new(),
    };
    let stored = u32_at(124);
    let computed = zlib_rs::crc32::crc32(0, &bytes[..120]);
    if stored != computed {
        info.warnings.push(format!("file header CRC32 is stale (stored {stored:#010x}, computed {computed:#010x}); reading on"));
    }
    if info.major_version != 3 {
        info.warnings.push(format!("unexpected EVTX version {}.{}; reading on", info.major_version, info.minor_version));
    }
    info
}

/// A short, specific description of what a non-EVTX file looks like.
pub(crate) fn not_evtx_reason(start: &[u8]) -> String {
    let kind = if start.starts_with(b"\x89PNG") {
        "a PNG image"
    } else if start.starts_with(b"PK\x03\x04") {
        "a ZIP archive"
    } else if start.starts_with(b"MZ") {
        "a Windows executable"
    } else if start.starts_with(b"ElfChnk\0") {
        "a lone EVTX chunk without the file header"
    } else if start.starts_with(b"%PDF") {
        "a PDF document"
    } else if !start.is_empty() && start.iter().all(|&b| b == b'\t' || b == b'\n' || b == b'\r' || (0x20..0x7f).contains(&b)) {
        "text"
    } else if start.is_empty() {
        return "empty file (0 bytes): not an EVTX log".into();
    } else {
        "unknown binary data"
    };
    let shown: String = start.iter().take(8).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
    format!("not an EVTX file: it starts with {shown} ({kind}), not the \"ElfFile\" signature")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_file(chunks: usize, tail: usize) -> Vec<u8> {
        let mut f = vec![0u8; FILE_HEADER_SIZE];
        f[..8].copy_from_slice(FILE_MAGIC);
        f[38] = 3;
        f.extend(std::iter::repeat_n(7u8, chunks * CHUNK_SIZE + tail));
        f
    }

    #[test]
    fn any_piece_size_gives_the_same_chunks() {
        let file = fake_file(3, 1000);
        for piece in [1usize, 4095, 4096, 65536, 100_000, 1 << 20] {
            let mut s = ChunkSplitter::new();
            let mut chunks = Vec::new();
            for p in file.chunks(piece) {
                chunks.extend(s.push(p).unwrap());
            }
            chunks.extend(s.finish().unwrap());
            let shape: Vec<_> = chunks.iter().map(|c| (c.index, c.file_offset, c.data.len())).collect();
            assert_eq!(shape, [(0, 4096, 65536), (1, 69632, 65536), (2, 135168, 65536), (3, 200704, 1000)], "piece {piece}");
        }
    }

    #[test]
    fn non_evtx_inputs_get_one_clear_reason() {
        let reason = |bytes: &[u8]| {
            let mut s = ChunkSplitter::new();
            match s.push(bytes) {
                Err(e) => e.0,
                Ok(_) => s.finish().unwrap_err().0,
            }
        };
        assert_eq!(reason(b""), "empty file (0 bytes): not an EVTX log");
        assert_eq!(
            reason(b"hello world, this is text"),
            "not an EVTX file: it starts with 68 65 6c 6c 6f 20 77 6f (text), not the \"ElfFile\" signature"
        );
        assert!(reason(b"\x89PNG\r\n\x1a\n....").contains("(a PNG image)"));
        assert_eq!(reason(&fake_file(0, 0)), "EVTX file header only: the file holds no chunks, so no records");
        assert!(reason(&fake_file(0, 0)[..100]).starts_with("truncated EVTX file header: 100 bytes"));
    }

    #[test]
    fn resumed_ranges_give_the_chunks_of_a_whole_read() {
        let file = fake_file(3, 1000);
        let start = FILE_HEADER_SIZE + 2 * CHUNK_SIZE;
        let mut s = ChunkSplitter::resume_at(2);
        let mut chunks = s.push(&file[start..]).unwrap();
        chunks.extend(s.finish().unwrap());
        let shape: Vec<_> = chunks.iter().map(|c| (c.index, c.file_offset, c.data.len())).collect();
        assert_eq!(shape, [(2, 135168, 65536), (3, 200704, 1000)]);
    }

    #[test]
    fn stale_header_crc_is_a_warning() {
        let mut s = ChunkSplitter::new();
        s.push(&fake_file(1, 0)).unwrap();
        assert!(s.header().unwrap().warnings[0].starts_with("file header CRC32 is stale"));
    }
}
