//! Records a record walk misses: cut by the end of the file, swallowed by
//! the record before them, left in a chunk's slack, or in a chunk whose
//! header is broken.
//!
//! The `evtx` parser walks a chunk's records by their sizes, from the chunk
//! header to its free space. Event-log editing tools hide a record by growing
//! the size of the record before it so that it covers the next one (chunk
//! checksums recomputed); a chunk reused after the log wrapped, or cleared,
//! keeps older records after its free-space offset; a log copied while it was
//! written ends inside a record. [`plan`] finds such records in a chunk and
//! makes a copy of the chunk in which the parser reads them:
//!
//! * a record inside another's declared size: the container's size is set
//!   back to end where the hidden record starts;
//! * a record cut by the end of the file: see [`crate::cut_record`];
//! * a broken chunk header over whole records: a header is written for them;
//! * records after the free space: `evtx`'s own carving (`recover_records`),
//!   which checks each one's trailing size copy.
//!
//! A carved record needs its record magic, a sane size, a matching trailing
//! size copy, a time between 1990 and 2100 and a BinXML fragment header.
//! Chunks with nothing hidden (nearly all) are parsed as they are.

use crate::reader::CHUNK_SIZE;
use crate::report::{PartialRecord, Recovered};
use std::collections::BTreeMap;

const CHUNK_HEADER: usize = 512;
const RECORD_HEADER: usize = 24;
const RECORD_MAGIC: &[u8; 4] = b"\x2a\x2a\x00\x00";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// The smallest record: header, a fragment header, the end token, size copy.
const MIN_RECORD: usize = 28;
/// 1990-01-01 and 2100-01-01 as FILETIMEs: a carved record's time lies between.
const PLAUSIBLE_TIMES: std::ops::Range<u64> = 122_776_128_000_000_000..157_766_880_000_000_000;

/// How a record the walk does not reach was found (offsets in its chunk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Partial(PartialRecord, CutBy),
    Recovered(Recovered),
}

/// What cut a record short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutBy {
    EndOfFile,
    /// Another chunk's header inside the record (a cut chunk followed by the
    /// next one: a carved or concatenated file), at this chunk offset.
    ChunkHeader {
        offset: usize,
    },
}

impl std::fmt::Display for CutBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CutBy::EndOfFile => f.write_str("the end of the file"),
            CutBy::ChunkHeader { offset } => write!(f, "a chunk header at chunk offset {offset:#x}"),
        }
    }
}

/// A record whose declared size covers another record (an integrity note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cover {
    pub container_offset: usize,
    pub container_id: u64,
    pub hidden_offset: usize,
    pub hidden_id: u64,
}

/// What to parse instead of the chunk as it is.
#[derive(Debug, Clone, Default)]
pub struct ChunkPlan {
    /// A repaired copy of the chunk (64 KiB), when anything had to be rewritten.
    pub repaired: Option<Vec<u8>>,
    /// Records after the live ones: let the parser carve them.
    pub carve_slack: bool,
    /// The chunk's header was rewritten: all its records are recovered.
    pub broken_header: bool,
    /// Records found at these chunk offsets, and how.
    pub found: BTreeMap<usize, Found>,
    pub covers: Vec<Cover>,
    /// Where the live records end (the free space, as walked).
    pub live_end: usize,
    /// The record cut by the end of the file, when nothing of it can be read.
    pub unreadable_cut: Option<UnreadableCut>,
    /// Another chunk's header at this chunk offset: the bytes from here on
    /// are that chunk's (off its 64 KiB boundary), and not read.
    pub foreign_chunk_at: Option<usize>,
}

/// A record cut by the end of the file of which nothing can be read, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableCut {
    pub start: usize,
    pub record_id: u64,
    pub cut: PartialRecord,
    pub by: CutBy,
    pub why: crate::cut_record::Unreadable,
}

impl std::fmt::Display for UnreadableCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {} is cut by {} after {} of its {} bytes; nothing of it can be read ({})",
            self.record_id, self.by, self.cut.bytes_present, self.cut.record_size, self.why
        )
    }
}

impl ChunkPlan {
    /// How the record at chunk offset `start` was found: by this plan, or by
    /// the parser's own carving (`carved`); `None` for a live record.
    pub fn found_at(&self, start: usize, carved: bool) -> Option<Found> {
        if let Some(found) = self.found.get(&start) {
            return Some(found.clone());
        }
        if !carved {
            return self.broken_header.then_some(Found::Recovered(Recovered::BrokenChunkHeader));
        }
        Some(Found::Recovered(if start >= self.live_end { Recovered::ChunkSlack } else { Recovered::BetweenRecords }))
    }

    /// Whether the plan only has the parser carve the slack: every live
    /// record is where the walk by sizes finds it, as it is written.
    pub fn only_carves_slack(&self) -> bool {
        self.repaired.is_none()
            && self.found.is_empty()
            && self.covers.is_empty()
            && !self.broken_header
            && self.unreadable_cut.is_none()
            && self.foreign_chunk_at.is_none()
    }

    /// The chunk header written for records whose own header is broken.
    pub fn written_header(&self) -> Option<evtx::EvtxChunkHeader> {
        let copy = self.repaired.as_ref().filter(|_| self.broken_header)?;
        evtx::EvtxChunkHeader::from_bytes(copy).ok()
    }

    /// For a plan that only carves the slack: a copy of the chunk whose live
    /// records are one empty record, so the parser carves without parsing
    /// them (their bytes stay: carved records may use their templates).
    pub fn live_records_blanked(&self, chunk: &[u8]) -> Option<Vec<u8>> {
        let span = self.live_end.checked_sub(CHUNK_HEADER)?;
        if self.repaired.is_some() || !self.carve_slack || span < MIN_RECORD || chunk.len() < CHUNK_SIZE {
            return None;
        }
        let mut copy = chunk.to_vec();
        let last_id = u64_at(chunk, 32);
        copy[CHUNK_HEADER..CHUNK_HEADER + 4].copy_from_slice(RECORD_MAGIC);
        put_u32(&mut copy, CHUNK_HEADER + 4, span as u32);
        put_u64(&mut copy, CHUNK_HEADER + 8, last_id); // the walk stops after it
                                                       // A fragment header and the end of the fragment: an empty record.
        copy[CHUNK_HEADER + RECORD_HEADER..CHUNK_HEADER + RECORD_HEADER + 5].copy_from_slice(&[0x0f, 1, 1, 0, 0]);
        put_u32(&mut copy, self.live_end - 4, span as u32);
        Some(copy)
    }
}

/// A copy of a chunk whose live records are as written (one with no plan, or
/// one that only carves the slack; 64 KiB) in which each live record at an
/// offset `keep` refuses is an empty fragment: the parser builds every
/// record it walks, and the one byte that starts a record's template instance,
/// set to the end-of-fragment token, makes that nothing. The instance's other
/// bytes stay, so the templates and names it defines inline are still there
/// for the records kept. The walk by sizes (the plan's own) stops at anything
/// it does not expect (the records after it are simply all built), and at the
/// free space: the slack, which the parser may carve, is as it was.
pub fn only_records_built(chunk: &[u8], keep: impl Fn(usize) -> bool) -> Vec<u8> {
    let mut copy = Vec::with_capacity(CHUNK_SIZE);
    push_emptied_copy(&mut copy, chunk, keep);
    copy
}

/// Puts the copy [`only_records_built`] makes at the end of `out`, and tells
/// each live record the walk found, in chunk order: its chunk offset and the
/// record id its header names.
pub fn push_emptied_copy(out: &mut Vec<u8>, chunk: &[u8], keep: impl Fn(usize) -> bool) -> Vec<(usize, u64)> {
    const FRAGMENT_HEADER: [u8; 4] = [0x0f, 1, 1, 0];
    const TEMPLATE_INSTANCE: u8 = 0x0c;
    const END_OF_FRAGMENT: u8 = 0x00;
    let at = out.len();
    out.extend_from_slice(&chunk[..chunk.len().min(CHUNK_SIZE)]);
    out.resize(at + CHUNK_SIZE, 0);
    let copy = &mut out[at..];
    let free = (u32_at(copy, 48) as usize).clamp(CHUNK_HEADER, CHUNK_SIZE);
    let records = walk(copy, free, false).records;
    // A record with a fragment header and a token before its trailing size.
    let holds_a_token = |r: &&WalkedRecord| r.size >= RECORD_HEADER + FRAGMENT_HEADER.len() + 1 + 4;
    for r in records.iter().filter(holds_a_token).filter(|r| !keep(r.start)) {
        let fragment = r.start + RECORD_HEADER;
        if copy[fragment..fragment + 4] == FRAGMENT_HEADER && copy[fragment + 4] == TEMPLATE_INSTANCE {
            copy[fragment + 4] = END_OF_FRAGMENT;
        }
    }
    records.iter().map(|r| (r.start, r.id)).collect()
}

/// What the parser reads of a chunk: its plan's repaired copy, or the chunk
/// itself, padded to the 64 KiB buffer the `evtx` parser wants.
pub fn bytes_to_parse(plan: Option<&ChunkPlan>, chunk: &[u8]) -> Vec<u8> {
    let mut data = plan.and_then(|p| p.repaired.clone()).unwrap_or_else(|| chunk.to_vec());
    data.resize(CHUNK_SIZE, 0);
    data
}

/// The records the walk of `chunk` (64 KiB, or fewer when the file ends in
/// it) misses, or `None` when there are none.
pub fn plan(chunk: &[u8]) -> Option<ChunkPlan> {
    if chunk.len() < CHUNK_HEADER + MIN_RECORD {
        return None;
    }
    let header_ok = &chunk[..8] == CHUNK_MAGIC && evtx::EvtxChunkHeader::from_bytes(chunk).is_ok();
    let truncated = chunk.len() < CHUNK_SIZE;
    let free = if header_ok { u32_at(chunk, 48) as usize } else { chunk.len() };
    // A cut file's chunk header may predate its last records: walk to the cut.
    let limit = if truncated { chunk.len() } else { free.clamp(CHUNK_HEADER, chunk.len()) };
    let mut walk = walk(chunk, limit, !header_ok);
    if !header_ok && walk.records.is_empty() {
        return None;
    }
    let foreign_chunk_at = if header_ok { stop_at_chunk_header(chunk, &mut walk) } else { None };
    let hidden = hidden_records(chunk, &walk);
    // After another chunk's header, the bytes are that chunk's: no slack of this one.
    let carve_slack =
        foreign_chunk_at.is_none() && record_magics(chunk, walk.end..chunk.len()).any(|p| carvable(chunk, p, chunk.len()).is_some());
    if header_ok && hidden.is_empty() && walk.cut.is_none() && !carve_slack && foreign_chunk_at.is_none() {
        return None;
    }
    let live_end = if header_ok { free.min(chunk.len()) } else { walk.end };
    let mut plan = ChunkPlan { carve_slack, broken_header: !header_ok, live_end, foreign_chunk_at, ..Default::default() };
    let uncommitted = header_ok && walk.records.last().is_some_and(|r| r.start >= live_end);
    if header_ok && hidden.is_empty() && walk.cut.is_none() && !uncommitted && foreign_chunk_at.is_none() {
        return Some(plan); // The slack alone: the parser carves it from the chunk as it is.
    }
    let mut copy = chunk.to_vec();
    copy.resize(CHUNK_SIZE, 0);
    if let Some(at) = foreign_chunk_at {
        copy[at..].fill(0);
    }
    // The record the parser's walk must reach last.
    let mut last = walk.records.last().map(|r| (r.start, r.id));
    // Whole records past a cut file's stale free-space offset were not yet committed.
    for r in walk.records.iter().filter(|r| header_ok && r.start >= live_end) {
        plan.found.insert(r.start, Found::Recovered(Recovered::ChunkSlack));
    }
    for (container, inside) in &hidden {
        split_container(&mut copy, *container, inside, &mut plan);
        if let Some(h) = inside.last().filter(|h| Some(h.start) > last.map(|l| l.0)) {
            last = Some((h.start, h.id));
        }
    }
    if let Some(Cut { record: cut, at, by }) = walk.cut {
        let partial = PartialRecord { bytes_present: (at - cut.start) as u64, record_size: cut.size as u64 };
        match crate::cut_record::repair(&mut copy, cut.start, cut.size, at) {
            Ok(()) => {
                plan.found.insert(cut.start, Found::Partial(partial, by));
                last = Some((cut.start, cut.id));
            }
            Err(why) => plan.unreadable_cut = Some(UnreadableCut { start: cut.start, record_id: cut.id, cut: partial, by, why }),
        }
    }
    let end_of_records = last.map(|(start, _)| start + record_size(&copy, start)).unwrap_or(CHUNK_HEADER);
    if !header_ok {
        write_chunk_header(&mut copy, &walk, end_of_records);
    } else if let Some((start, id)) = last.filter(|&(start, _)| start + record_size(&copy, start) > live_end || !hidden.is_empty()) {
        // Walk on to the last record found, and stop after it.
        put_u64(&mut copy, 32, id);
        put_u32(&mut copy, 44, start as u32);
        put_u32(&mut copy, 48, end_of_records.max(live_end) as u32);
    }
    let rewritten = !header_ok || !hidden.is_empty() || !plan.found.is_empty() || foreign_chunk_at.is_some();
    plan.repaired = rewritten.then_some(copy);
    Some(plan)
}

#[derive(Debug, Clone, Copy)]
struct WalkedRecord {
    start: usize,
    size: usize,
    id: u64,
}

#[derive(Debug, Default)]
struct Walk {
    records: Vec<WalkedRecord>,
    /// A record whose declared size runs past the end of the bytes.
    cut: Option<Cut>,
    /// Where the walk stopped.
    end: usize,
}

/// A record cut short: where, and by what.
#[derive(Debug, Clone, Copy)]
struct Cut {
    record: WalkedRecord,
    at: usize,
    by: CutBy,
}

/// Another chunk's header inside the walked records (a chunk cut short and
/// the next one right after it): the walk ends there, and the record it
/// falls in is cut there. Returns where the header is.
fn stop_at_chunk_header(chunk: &[u8], walk: &mut Walk) -> Option<usize> {
    let at = memchr::memmem::find(&chunk[CHUNK_HEADER..walk.end], CHUNK_MAGIC)? + CHUNK_HEADER;
    let kept = walk.records.partition_point(|r| r.start < at);
    let cut = walk.records[..kept].last().copied().filter(|r| r.start + r.size > at);
    walk.records.truncate(kept - usize::from(cut.is_some()));
    walk.end = walk.records.last().map_or(CHUNK_HEADER, |r| r.start + r.size);
    if walk.cut.is_none() {
        walk.cut = cut.map(|record| Cut { record, at, by: CutBy::ChunkHeader { offset: at } });
    }
    Some(at)
}

/// Records one after another by their sizes from the chunk header up to
/// `limit`; `strict` (no chunk header to trust) checks each like a carved one.
fn walk(chunk: &[u8], limit: usize, strict: bool) -> Walk {
    let mut out = Walk { end: CHUNK_HEADER, ..Default::default() };
    let mut pos = CHUNK_HEADER;
    while pos + RECORD_HEADER <= limit && &chunk[pos..pos + 4] == RECORD_MAGIC {
        let size = u32_at(chunk, pos + 4) as usize;
        if !(MIN_RECORD..=CHUNK_SIZE - CHUNK_HEADER).contains(&size) {
            break;
        }
        let record = WalkedRecord { start: pos, size, id: u64_at(chunk, pos + 8) };
        if pos + size > chunk.len() {
            if chunk.len() < CHUNK_SIZE && pos + size <= CHUNK_SIZE {
                out.cut = Some(Cut { record, at: chunk.len(), by: CutBy::EndOfFile });
            }
            break;
        }
        if pos + size > limit || (strict && carvable(chunk, pos, chunk.len()).is_none()) {
            break;
        }
        out.records.push(record);
        pos += size;
        out.end = pos;
    }
    out
}

/// Where the record magic `** \0 \0` is in `range` of the chunk. `memmem`
/// picks its zero bytes as the rare ones, which UTF-16 is full of; `*` is
/// rarer, so `memchr` finds it and the rest is checked.
fn record_magics(chunk: &[u8], range: std::ops::Range<usize>) -> impl Iterator<Item = usize> + '_ {
    let to = range.end.min(chunk.len());
    let from = range.start.min(to);
    let body = &chunk[from..to];
    memchr::memchr_iter(b'*', body).filter(move |&p| body.get(p..p + 4) == Some(RECORD_MAGIC)).map(move |p| p + from)
}

/// Where a template-instance record's BinXML ends (after the fragment's end
/// token), from its value sizes; `None` for any other layout. A record can
/// hide another only after this point, so only the rest is searched (the
/// whole chunk took 12 µs; the value sizes of its records, well under 1).
fn content_end(chunk: &[u8], record: &WalkedRecord) -> Option<usize> {
    let at = record.start + RECORD_HEADER;
    let end = record.start + record.size - 4;
    if *chunk.get(at)? != 0x0f || *chunk.get(at + 4)? != 0x0c {
        return None;
    }
    let mut p = at + 14;
    if u32_at(chunk, at + 10) as usize == p {
        p = p.checked_add(24 + u32_at(chunk, p + 20) as usize)?;
    }
    let count = u32_at(chunk, p) as usize;
    let values = p.checked_add(4 + count.checked_mul(4)?)?;
    if values > end {
        return None;
    }
    let sizes: usize = (0..count).map(|i| u16::from_le_bytes([chunk[p + 4 + i * 4], chunk[p + 5 + i * 4]]) as usize).sum();
    let content = values + sizes + 1;
    (content <= end).then_some(content)
}

/// A record that may be carved at `at`, ending by `limit`: its size, or `None`.
fn carvable(chunk: &[u8], at: usize, limit: usize) -> Option<usize> {
    let size = u32_at(chunk, at + 4) as usize;
    if size < MIN_RECORD || at + size > limit || at + size > chunk.len() {
        return None;
    }
    let copy_ok = u32_at(chunk, at + size - 4) as usize == size;
    let plausible = PLAUSIBLE_TIMES.contains(&u64_at(chunk, at + 16)) && u64_at(chunk, at + 8) > 0;
    (copy_ok && plausible && chunk[at + RECORD_HEADER] == 0x0f).then_some(size)
}

/// Records inside walked records, by container: a record magic past the
/// container's content, with a sane size that ends by the container's end.
/// Its own size copy may be the container's (the editor moved it there).
fn hidden_records(chunk: &[u8], walk: &Walk) -> Vec<(WalkedRecord, Vec<WalkedRecord>)> {
    let mut out = Vec::new();
    for &container in &walk.records {
        let container_end = container.start + container.size;
        let from = content_end(chunk, &container).unwrap_or(container.start + MIN_RECORD);
        let inside: Vec<WalkedRecord> = record_magics(chunk, from..container_end.saturating_sub(MIN_RECORD - 4))
            .filter(|&p| hides_record(chunk, container, p))
            .map(|p| WalkedRecord { start: p, size: u32_at(chunk, p + 4) as usize, id: u64_at(chunk, p + 8) })
            .collect();
        if !inside.is_empty() {
            out.push((container, inside));
        }
    }
    out
}

/// Whether a record starts at `p` inside `container`.
fn hides_record(chunk: &[u8], container: WalkedRecord, p: usize) -> bool {
    let container_end = container.start + container.size;
    let size = u32_at(chunk, p + 4) as usize;
    if p < container.start + MIN_RECORD || size < MIN_RECORD || p + size > container_end {
        return false;
    }
    let copy = u32_at(chunk, p + size - 4) as usize;
    let plausible = PLAUSIBLE_TIMES.contains(&u64_at(chunk, p + 16)) && chunk[p + RECORD_HEADER] == 0x0f;
    // The container's own size copy just before the hidden record tells
    // where the container really ended.
    let container_ended_here = u32_at(chunk, p - 4) as usize == p - container.start;
    plausible && (copy == size || (p + size == container_end && container_ended_here))
}

/// Gives the container back its own size, and each hidden record its own.
fn split_container(copy: &mut [u8], container: WalkedRecord, inside: &[WalkedRecord], plan: &mut ChunkPlan) {
    let container_end = container.start + container.size;
    let mut starts: Vec<usize> = inside.iter().map(|h| h.start).collect();
    starts.insert(0, container.start);
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(container_end);
        put_u32(copy, start + 4, (end - start) as u32);
        put_u32(copy, end - 4, (end - start) as u32);
    }
    for h in inside {
        plan.found.insert(
            h.start,
            Found::Recovered(Recovered::InsideRecord { container_offset: container.start as u64, container_record_id: container.id }),
        );
        plan.covers.push(Cover { container_offset: container.start, container_id: container.id, hidden_offset: h.start, hidden_id: h.id });
    }
}

/// A chunk header for records whose own header is broken: their record
/// numbers and where they end; no string or template tables (the parser
/// reads names and templates where the records point).
fn write_chunk_header(copy: &mut [u8], walk: &Walk, end_of_records: usize) {
    copy[..CHUNK_HEADER].fill(0);
    copy[..8].copy_from_slice(CHUNK_MAGIC);
    let first = walk.records.first().map(|r| r.id).unwrap_or(0);
    let last = walk.records.last().map(|r| r.id).unwrap_or(0);
    put_u64(copy, 8, first);
    put_u64(copy, 16, last);
    put_u64(copy, 24, first);
    put_u64(copy, 32, last);
    put_u32(copy, 40, 128);
    put_u32(copy, 44, walk.records.last().map(|r| r.start).unwrap_or(CHUNK_HEADER) as u32);
    put_u32(copy, 48, end_of_records as u32);
}

fn record_size(chunk: &[u8], start: usize) -> usize {
    u32_at(chunk, start + 4) as usize
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap())).unwrap_or(0)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map(|s| u64::from_le_bytes(s.try_into().unwrap())).unwrap_or(0)
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
