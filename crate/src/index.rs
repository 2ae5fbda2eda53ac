//! Where to read again: an index of each file's chunks, built while scanning.
//!
//! A story (every event of one process) or a context (every event of one
//! computer in some minutes) needs a few chunks of a multi-GB log, not all
//! of them. While a chunk is scanned anyway, the scan notes its time span,
//! its computers and every GUID its records carry (Sysmon's `ProcessGuid`,
//! `SourceProcessGUID`, `ParentProcessGuid`, ...); this index then answers
//! "which chunks hold process X" and "which chunks of computer C overlap
//! these minutes" without reading the file. A 1 GiB Sysmon log indexes in a
//! few MiB: a chunk's span plus one chunk number per distinct GUID in it.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A GUID as one number: Data1, Data2, Data3 as written, then Data4's bytes,
/// so `{365ABB72-2FD8-5C8E-0000-00106D2C0100}` and its binary form agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Guid(pub u128);

impl Guid {
    /// From the 16 bytes of a BinXML GUID value (Data1-3 little-endian).
    pub fn from_binary(b: &[u8]) -> Option<Guid> {
        let b: &[u8; 16] = b.try_into().ok()?;
        let d1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u128;
        let d2 = u16::from_le_bytes([b[4], b[5]]) as u128;
        let d3 = u16::from_le_bytes([b[6], b[7]]) as u128;
        let d4 = u64::from_be_bytes(b[8..16].try_into().ok()?) as u128;
        Some(Guid(d1 << 96 | d2 << 80 | d3 << 64 | d4))
    }

    /// The 16 bytes of its BinXML value.
    pub fn to_binary(self) -> [u8; 16] {
        let v = self.0;
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&((v >> 96) as u32).to_le_bytes());
        b[4..6].copy_from_slice(&((v >> 80) as u16).to_le_bytes());
        b[6..8].copy_from_slice(&((v >> 64) as u16).to_le_bytes());
        b[8..16].copy_from_slice(&(v as u64).to_be_bytes());
        b
    }

    /// The byte strings a record holding it contains: its binary value, or its
    /// text in UTF-16 (in capitals or in small letters, as writers put it).
    pub fn needles(self) -> [Vec<u8>; 3] {
        let text = self.to_string();
        let core = &text[1..text.len() - 1];
        let utf16 = |t: String| t.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        [self.to_binary().to_vec(), utf16(core.to_string()), utf16(core.to_ascii_lowercase())]
    }

    /// From its text, with or without braces, any case.
    pub fn parse(text: &str) -> Option<Guid> {
        let t = text.trim().trim_start_matches('{').trim_end_matches('}');
        let groups: Vec<&str> = t.split('-').collect();
        let lengths = [8, 4, 4, 4, 12];
        if groups.len() != 5 || groups.iter().zip(lengths).any(|(g, n)| g.len() != n) {
            return None;
        }
        u128::from_str_radix(&groups.concat(), 16).ok().map(Guid)
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = format!("{:032X}", self.0);
        write!(f, "{{{}-{}-{}-{}-{}}}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }
}

/// What one chunk holds, as the scan saw it (sent by a worker with its part).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkKeys {
    pub chunk: u64,
    /// Earliest and latest record time (FILETIME).
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub computers: Vec<String>,
    /// Every GUID value of its records, sorted, once each.
    pub guids: Vec<Guid>,
    /// The GUIDs of its EventID 1 records (process creations), sorted, once
    /// each: a story looking back for a parent's creation reads only chunks
    /// whose creations name the parent (on the 1 GiB bench log with the
    /// pack, the chunks naming it at all were 29,721 reads for 305 stories).
    #[serde(default)]
    pub creations: Vec<Guid>,
}

impl ChunkKeys {
    pub fn add_time(&mut self, filetime: u64) {
        self.first = Some(self.first.map_or(filetime, |f| f.min(filetime)));
        self.last = Some(self.last.map_or(filetime, |l| l.max(filetime)));
    }

    /// Sorts and dedups what was added.
    pub fn seal(&mut self) {
        self.guids.sort_unstable();
        self.guids.dedup();
        self.creations.sort_unstable();
        self.creations.dedup();
        self.computers.sort_unstable();
        self.computers.dedup();
    }
}

/// One chunk's span in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    chunk: u64,
    first: u64,
    last: u64,
    /// Bit i: computer i of the file's list (the first 64; a chunk with a later one is always read).
    computers: u64,
}

/// A file's index: chunks by time and computer, and by GUID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileIndex {
    spans: Vec<Span>,
    computers: Vec<String>,
    by_guid: HashMap<Guid, Vec<u64>>,
    by_creation: HashMap<Guid, Vec<u64>>,
}

impl FileIndex {
    pub fn add(&mut self, keys: ChunkKeys) {
        for (guids, by) in [(&keys.guids, &mut self.by_guid), (&keys.creations, &mut self.by_creation)] {
            for g in guids {
                let chunks = by.entry(*g).or_default();
                if chunks.last() != Some(&keys.chunk) {
                    chunks.push(keys.chunk);
                }
            }
        }
        let (Some(first), Some(last)) = (keys.first, keys.last) else { return };
        let computers = keys.computers.iter().fold(0u64, |bits, c| bits | self.computer_bit(c));
        self.spans.push(Span { chunk: keys.chunk, first, last, computers });
    }

    fn computer_bit(&mut self, name: &str) -> u64 {
        let i = match self.computers.iter().position(|c| c.eq_ignore_ascii_case(name)) {
            Some(i) => i,
            None => {
                self.computers.push(name.to_string());
                self.computers.len() - 1
            }
        };
        if i < 64 {
            1 << i
        } else {
            u64::MAX
        }
    }

    fn has_computer(&self, span: &Span, computer: Option<&str>) -> bool {
        let Some(name) = computer else { return true };
        match self.computers.iter().position(|c| c.eq_ignore_ascii_case(name)) {
            Some(i) if i < 64 => span.computers & (1 << i) != 0,
            Some(_) => span.computers == u64::MAX,
            None => false,
        }
    }

    /// The chunks holding this GUID, in file order.
    pub fn chunks_with(&self, guid: Guid) -> &[u64] {
        self.by_guid.get(&guid).map_or(&[], Vec::as_slice)
    }

    /// The chunks of `computer` (any, when `None`) with a record between `from` and `to` (FILETIME), in file order.
    pub fn chunks_between(&self, computer: Option<&str>, from: u64, to: u64) -> Vec<u64> {
        self.spans.iter().filter(|s| s.first <= to && s.last >= from && self.has_computer(s, computer)).map(|s| s.chunk).collect()
    }

    /// The chunks with an EventID 1 record holding this GUID, in file order:
    /// the process's creation is in one of them, if the file has it.
    pub fn chunks_creating(&self, guid: Guid) -> &[u64] {
        self.by_creation.get(&guid).map_or(&[], Vec::as_slice)
    }

    /// Every GUID of the file's records, with its chunks (see [`Self::chunks_with`]).
    pub fn guids(&self) -> impl Iterator<Item = (Guid, &[u64])> {
        self.by_guid.iter().map(|(g, c)| (*g, c.as_slice()))
    }

    /// Every GUID some EventID 1 record holds, with its chunks (see [`Self::chunks_creating`]).
    pub fn creations(&self) -> impl Iterator<Item = (Guid, &[u64])> {
        self.by_creation.iter().map(|(g, c)| (*g, c.as_slice()))
    }

    /// The earliest and latest record time of a chunk.
    pub fn chunk_first_time(&self, chunk: u64) -> Option<u64> {
        self.span(chunk).map(|s| s.first)
    }

    pub fn chunk_last_time(&self, chunk: u64) -> Option<u64> {
        self.span(chunk).map(|s| s.last)
    }

    /// Spans are added in file order, so by chunk number.
    fn span(&self, chunk: u64) -> Option<&Span> {
        self.spans.binary_search_by_key(&chunk, |s| s.chunk).ok().map(|i| &self.spans[i])
    }

    /// Chunks indexed (with a time span).
    pub fn chunk_count(&self) -> usize {
        self.spans.len()
    }

    /// Bytes held, about: to check the index stays small.
    pub fn approximate_bytes(&self) -> usize {
        self.spans.len() * std::mem::size_of::<Span>()
            + self.by_guid.values().chain(self.by_creation.values()).map(|v| 16 + 24 + v.len() * 8).sum::<usize>()
    }
}

/// The index of every file of a run, by the file's name as findings give it.
#[derive(Debug, Clone, Default)]
pub struct RunIndex {
    files: Vec<(String, FileIndex)>,
}

impl RunIndex {
    /// A file's index; text exports (no chunks) and unreadable files get none.
    pub fn add(&mut self, report: &crate::report::FileReport, index: FileIndex) {
        let evtx = report.format == Some(crate::input::InputFormat::Evtx);
        if evtx && report.status != crate::report::FileStatus::Duplicate {
            self.files.push((report.file.clone(), index));
        }
    }

    /// The indexed files, in the run's order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &FileIndex)> {
        self.files.iter().map(|(n, i)| (n.as_str(), i))
    }

    pub fn file(&self, name: &str) -> Option<&FileIndex> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, i)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guid_reads_the_same_from_text_and_from_binxml() {
        let text = Guid::parse("{365abb72-2fd8-5c8e-0000-00106d2c0100}").unwrap();
        let bytes = [0x72, 0xbb, 0x5a, 0x36, 0xd8, 0x2f, 0x8e, 0x5c, 0x00, 0x00, 0x00, 0x10, 0x6d, 0x2c, 0x01, 0x00];
        assert_eq!(Guid::from_binary(&bytes), Some(text));
        assert_eq!(text.to_binary(), bytes);
        assert_eq!(text.to_string(), "{365ABB72-2FD8-5C8E-0000-00106D2C0100}");
        assert_eq!(Guid::parse("365ABB72-2FD8-5C8E-0000-00106D2C0100"), Some(text));
        assert_eq!(Guid::parse("{365ABB72-2FD8-5C8E-0000}"), None);
    }

    #[test]
    fn chunks_are_found_by_guid_and_by_computer_and_time() {
        let mut index = FileIndex::default();
        let g = Guid(7);
        for (chunk, computer, first) in [(0, "A", 10), (1, "B", 20), (2, "a", 30)] {
            let keys = ChunkKeys {
                chunk,
                first: Some(first),
                last: Some(first + 5),
                computers: vec![computer.into()],
                guids: if chunk != 1 { vec![g] } else { vec![] },
                creations: if chunk == 2 { vec![g] } else { vec![] },
            };
            index.add(keys);
        }
        assert_eq!(index.chunks_with(g), &[0, 2]);
        assert_eq!(index.chunks_creating(g), &[2]);
        assert_eq!(index.chunks_creating(Guid(8)), &[] as &[u64]);
        assert_eq!(index.chunks_between(Some("A"), 0, 100), vec![0, 2]);
        assert_eq!(index.chunks_between(Some("B"), 0, 100), vec![1]);
        assert_eq!(index.chunks_between(None, 16, 21), vec![1]);
        assert_eq!(index.chunks_between(Some("C"), 0, 100), Vec::<u64>::new());
    }
}
