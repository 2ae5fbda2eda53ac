//! The JSON of chosen records of intact chunks, from `evtx`'s whole-chunk
//! renderer: the one `evtx_dump` writes with. It renders each record
//! straight from its bytes, with compiled programs that all the chunks of one
//! parser share; an `EvtxChunk`'s records are each built first and then
//! rendered, every chunk compiling its own programs. That renderer is reached
//! only through a parser over a file (`EvtxParser::chunks_json_bytes`, which
//! evtx marks CLI-internal: the crate pins evtx's version for it), so the
//! chunks are put behind a file header in one buffer. `search EventID:1` on
//! the 1 GiB bench log: 3.8–4.0 → 3.7 CPU s.
//!
//! The records not asked for are emptied first ([`recover::emptied_copy`]),
//! and what `evtx` renders is checked against the walk by sizes, record by
//! record; a chunk that does not line up is left to [`crate::reread`]'s
//! record-by-record reading.

use crate::reader::{CHUNK_SIZE, FILE_HEADER_SIZE};
use crate::recover;
use crate::reread::{chunk_start, EventText, RereadError};
use crate::scan::error_chain;
use evtx::{EvtxChunkHeader, EvtxParser, ParserSettings, RenderedChunk, RenderedChunkItem};

/// The records wanted of one chunk.
pub struct ChunkRequest<'a> {
    /// The chunk's number in its file.
    pub index: u64,
    /// Its bytes as the file holds them.
    pub bytes: &'a [u8],
    /// The file offsets of the records wanted.
    pub offsets: &'a [u64],
    /// Whether its live records are as written, when known (see `RawChunk::as_written`).
    pub as_written: Option<bool>,
}

/// The events of a chunk's wanted records, in the order asked.
pub type ChunkEvents = Vec<Result<EventText, RereadError>>;

/// Chunks rendered by one parser at most: 4 MiB of copies.
const CHUNKS_PER_PARSER: usize = 64;

/// For each request, its events, or `None` when this renderer cannot serve it:
/// its live records are not as written (a plan repairs them), a wanted record
/// is not one of them (a carved one), or what `evtx` rendered does not line up
/// with the walk by sizes.
pub fn render(requests: &[ChunkRequest]) -> Vec<Option<ChunkEvents>> {
    let as_written = |r: &ChunkRequest| r.as_written.unwrap_or_else(|| recover::plan(r.bytes).is_none_or(|p| p.only_carves_slack()));
    let ready: Vec<usize> = (0..requests.len()).filter(|&i| as_written(&requests[i])).collect();
    let mut out: Vec<Option<ChunkEvents>> = requests.iter().map(|_| None).collect();
    for group in ready.chunks(CHUNKS_PER_PARSER) {
        for (i, events) in render_group(group, requests) {
            out[i] = Some(events);
        }
    }
    out
}

/// A chunk put in the parser's file: which request it serves, its live
/// records and, for each wanted offset, which of them it is.
struct Placed {
    request: usize,
    live_records: Vec<(usize, u64)>,
    wanted: Vec<usize>,
}

/// Renders these requests' chunks with one parser: (request index, its
/// events) for each chunk that lines up.
fn render_group(group: &[usize], requests: &[ChunkRequest]) -> Vec<(usize, ChunkEvents)> {
    let mut file = Vec::with_capacity(FILE_HEADER_SIZE + group.len() * CHUNK_SIZE);
    file.resize(FILE_HEADER_SIZE, 0);
    let placed: Vec<Placed> = group.iter().filter_map(|&i| place(&mut file, i, &requests[i])).collect();
    // `evtx` reads every chunk the bytes hold, whatever the header says, but wants its signature and sizes.
    crate::writer::write_file_header(&mut file[..FILE_HEADER_SIZE], placed.len() as u64, 1);
    let order = walk_order(file[FILE_HEADER_SIZE..].chunks(CHUNK_SIZE));
    let Ok(parser) = EvtxParser::from_buffer(file) else { return Vec::new() };
    let mut parser = parser.with_configuration(ParserSettings::default().num_threads(1));
    let mut out = Vec::with_capacity(placed.len());
    for (position, rendered) in order.into_iter().zip(parser.chunks_json_bytes(false)) {
        let p = &placed[position];
        if let Some(events) = wanted_events(&rendered, p, &requests[p.request]) {
            out.push((p.request, events));
        }
    }
    out
}

/// Appends request `i`'s emptied copy to the file, or leaves the file as it
/// was when the copy cannot serve (a wanted record is not a live one).
fn place(file: &mut Vec<u8>, i: usize, request: &ChunkRequest) -> Option<Placed> {
    let start = chunk_start(request.index);
    let wanted: Vec<usize> = request.offsets.iter().map(|&o| o.checked_sub(start).map(|o| o as usize)).collect::<Option<_>>()?;
    let at = file.len();
    let live_records = recover::push_emptied_copy(file, request.bytes, |r| wanted.contains(&r));
    let slots: Option<Vec<usize>> = wanted.iter().map(|w| live_records.iter().position(|(r, _)| r == w)).collect();
    match slots {
        Some(wanted) if file[at..at + 8] == *b"ElfChnk\0" => Some(Placed { request: i, live_records, wanted }),
        _ => {
            file.truncate(at);
            None
        }
    }
}

/// The positions of the chunks in the order `evtx` renders them: from the one
/// whose header names the lowest first record id (of those whose range is in
/// order) to the end, then from the start.
fn walk_order<'c>(chunks: impl ExactSizeIterator<Item = &'c [u8]>) -> Vec<usize> {
    let count = chunks.len();
    let in_order = |bytes| EvtxChunkHeader::from_bytes(bytes).ok().filter(|h| h.first_event_record_id <= h.last_event_record_id);
    // The first of equally old chunks, as `evtx` picks it.
    let oldest = chunks
        .enumerate()
        .filter_map(|(position, bytes)| Some((position, in_order(bytes)?.first_event_record_id)))
        .min_by_key(|&(_, first)| first)
        .map_or(0, |(position, _)| position);
    (oldest..count).chain(0..oldest).collect()
}

/// The wanted records' events from a rendered chunk, if its records are the
/// live records of the walk, one by one.
fn wanted_events(rendered: &RenderedChunk, placed: &Placed, request: &ChunkRequest) -> Option<ChunkEvents> {
    let live = &placed.live_records;
    if rendered.items.len() != live.len() {
        return None;
    }
    let mut spans = Vec::with_capacity(live.len());
    let mut start = 0;
    for (item, (_, id)) in rendered.items.iter().zip(live) {
        match item {
            RenderedChunkItem::Record { event_record_id, end } if event_record_id == id => {
                spans.push(Ok(start..end - 1));
                start = *end;
            }
            RenderedChunkItem::Record { .. } => return None,
            RenderedChunkItem::Failed(e) => spans.push(Err(error_chain(e))),
        }
    }
    let event = |(slot, &offset): (&usize, &u64)| match &spans[*slot] {
        Ok(span) => std::str::from_utf8(&rendered.data[span.clone()])
            .map(|text| EventText::from_rendered(text.to_string()))
            .map_err(|e| RereadError(format!("chunk {}: record at offset {offset}: {e}", request.index))),
        Err(why) => Err(RereadError(format!("chunk {}: record at offset {offset}: {why}", request.index))),
    };
    Some(placed.wanted.iter().zip(request.offsets).map(event).collect())
}
