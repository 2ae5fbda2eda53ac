//! A finding's full event, read again from the file when it is wanted.
//!
//! Findings keep where their record is (chunk and offset), not the event:
//! 57,344 findings with their events took 1.1 GB in the CLI and 7.3 GB in
//! the page. An EVTX record is parsed again from its one 64 KiB chunk; a
//! record of a text export from its own bytes (`offset`, `length`).

pub use crate::chunk_json::ChunkRequest;
use crate::reader::{CHUNK_SIZE, FILE_HEADER_SIZE};
use crate::report::Finding;
use crate::scan::error_chain;
use crate::story::ChunkRef;
use evtx::EvtxChunkData;
use serde_json::Value;

/// The file offset at which chunk `index` starts.
pub fn chunk_start(index: u64) -> u64 {
    FILE_HEADER_SIZE as u64 + index * CHUNK_SIZE as u64
}

/// Why an event could not be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RereadError(pub String);

impl std::fmt::Display for RereadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RereadError {}

/// The event of the record at file offset `offset` in chunk `chunk`, whose
/// bytes (from the chunk's start, up to 64 KiB) are `chunk_bytes`.
pub fn event_in_chunk(chunk_bytes: &[u8], chunk: u64, offset: u64) -> Result<Value, RereadError> {
    let fail = |what: String| RereadError(format!("chunk {chunk}, record at offset {offset}: {what}"));
    let wanted = offset.checked_sub(chunk_start(chunk)).ok_or_else(|| fail("the offset is before its chunk".into()))?;
    // Cut and carved records are read from the same repaired copy the scan read.
    let plan = crate::recover::plan(chunk_bytes);
    let data = crate::recover::bytes_to_parse(plan.as_ref(), chunk_bytes);
    let mut parsed_chunk = EvtxChunkData::new(data, false).map_err(|e| fail(error_chain(&e)))?;
    let mut parsed = parsed_chunk.parse(crate::scan::settings_for(plan.as_ref())).map_err(|e| fail(error_chain(&e)))?;
    // Carved records come after the live ones: no early stop.
    for record in parsed.iter().flatten() {
        if record.binxml_offset.saturating_sub(24) == wanted {
            return record.into_json_value().map(|j| j.data).map_err(|e| fail(error_chain(&e)));
        }
    }
    Err(fail("no record starts there (has the file changed?)".into()))
}

/// An event as the JSON text `evtx` renders, not parsed into a tree: what a
/// search writes out as it is. Not checked again either: checking it was
/// another parse, 4 % of `search EventID:1`'s CPU (1 GiB bench log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventText(String);

impl EventText {
    /// Text as `evtx` rendered it.
    pub(crate) fn from_rendered(text: String) -> Self {
        EventText(text)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

/// An event tree as [`EventText`].
pub fn event_text(event: &Value) -> EventText {
    EventText(event.to_string())
}

/// The events of the records at these file offsets of one chunk, in one
/// pass over it, in the order asked. A search reading each hit's chunk once
/// per hit took 19 s for 314,411 hits of the 1 GiB bench log (evtx_dump: 1.5 s).
/// As text: parsed into a tree and written out again, a search's events
/// took half its time (1 GiB bench log, `EventID:1`).
pub fn events_in_chunk_at(chunk_bytes: &[u8], chunk: u64, offsets: &[u64]) -> Result<Vec<Result<EventText, RereadError>>, RereadError> {
    let request = ChunkRequest { index: chunk, bytes: chunk_bytes, offsets, as_written: None };
    events_in_chunks_at(std::slice::from_ref(&request)).pop().expect("one chunk asked, one answered")
}

/// [`events_in_chunk_at`] for several chunks, which share `evtx`'s compiled
/// programs ([`crate::chunk_json`]; 1 GiB bench log, `search EventID:1`:
/// 3.8–4.0 → 3.7 CPU s, the chunks' records built one by one and then rendered).
pub fn events_in_chunks_at(requests: &[ChunkRequest]) -> Vec<Result<Vec<Result<EventText, RereadError>>, RereadError>> {
    let rendered = crate::chunk_json::render(requests);
    requests
        .iter()
        .zip(rendered)
        .map(|(r, events)| match events {
            Some(events) => Ok(events),
            None => events_in_chunk_record_by_record(r.bytes, r.index, r.offsets),
        })
        .collect()
}

/// [`events_in_chunk_at`] for a chunk [`crate::chunk_json`] does not serve:
/// each record built, then rendered.
fn events_in_chunk_record_by_record(
    chunk_bytes: &[u8],
    chunk: u64,
    offsets: &[u64],
) -> Result<Vec<Result<EventText, RereadError>>, RereadError> {
    let fail = |what: String| RereadError(format!("chunk {chunk}: {what}"));
    let start = chunk_start(chunk);
    let wanted: std::collections::HashSet<u64> = offsets.iter().copied().collect();
    let plan = crate::recover::plan(chunk_bytes);
    // Where the live records are as written, only those asked for are built:
    // the others were 15 % of `search EventID:1`'s CPU (1 GiB bench log).
    let data = match &plan {
        Some(plan) if !plan.only_carves_slack() => crate::recover::bytes_to_parse(Some(plan), chunk_bytes),
        _ => crate::recover::only_records_built(chunk_bytes, |at| wanted.contains(&(start + at as u64))),
    };
    let mut parsed_chunk = EvtxChunkData::new(data, false).map_err(|e| fail(error_chain(&e)))?;
    let mut parsed = parsed_chunk.parse(crate::scan::settings_for(plan.as_ref())).map_err(|e| fail(error_chain(&e)))?;
    let mut found: std::collections::HashMap<u64, Result<EventText, RereadError>> = std::collections::HashMap::new();
    for record in parsed.iter().flatten() {
        let offset = start + record.binxml_offset.saturating_sub(24);
        if wanted.contains(&offset) && !found.contains_key(&offset) {
            let event =
                record.into_json().map(|j| EventText(j.data)).map_err(|e| fail(format!("record at offset {offset}: {}", error_chain(&e))));
            found.insert(offset, event);
        }
    }
    let missing = |o: u64| fail(format!("no record starts at offset {o} (has the file changed?)"));
    Ok(offsets.iter().map(|&o| found.get(&o).cloned().unwrap_or_else(|| Err(missing(o)))).collect())
}

/// The events of findings that share one [`span_of`], from its bytes, in
/// their order: one pass over an EVTX chunk for all of them.
pub fn events_of(bytes: &[u8], sharing_a_span: &[&Finding]) -> Vec<Result<EventText, RereadError>> {
    let Some(first) = sharing_a_span.first() else { return Vec::new() };
    if first.length.is_some() {
        return sharing_a_span.iter().map(|f| event_of(bytes, f).map(|e| event_text(&e))).collect();
    }
    let offsets: Vec<u64> = sharing_a_span.iter().map(|f| f.offset).collect();
    events_in_chunk_at(bytes, first.chunk, &offsets).unwrap_or_else(|e| sharing_a_span.iter().map(|_| Err(e.clone())).collect())
}

/// Every record of a chunk, read again as the scan read it (with its cut
/// and carved records): (file offset, event view). Records that do not
/// render are left out, as the scan reports them already.
pub fn events_in_chunk(chunk_bytes: &[u8], chunk: u64) -> Result<Vec<(u64, crate::event::EventView)>, RereadError> {
    events_in_chunk_where(chunk_bytes, chunk, |_, _| true)
}

/// [`events_in_chunk`], rendering only the records `keep` accepts, given the
/// record's offset in the chunk and its BinXML bytes (rendering is the slow
/// step: a story looks for one process's records).
pub fn events_in_chunk_where(
    chunk_bytes: &[u8],
    chunk: u64,
    keep: impl Fn(usize, &[u8]) -> bool,
) -> Result<Vec<(u64, crate::event::EventView)>, RereadError> {
    events_in_chunk_with(chunk_bytes, chunk, intact_records(chunk_bytes).as_deref(), keep)
}

/// The quick records of a chunk read again, when it is intact (else `None`: parse it).
pub fn intact_records(chunk_bytes: &[u8]) -> Option<Vec<crate::quick::QuickRecord>> {
    crate::scan::is_intact(chunk_bytes).then(|| crate::quick::chunk_records(chunk_bytes)).flatten()
}

/// [`events_in_chunk_where`], given the chunk's quick records when it is intact
/// ([`intact_records`]; `None` parses it).
/// A chunk that needs no repair or carving is then read as the scan reads it: each kept
/// record's view straight from its template values, without rendering JSON (half the
/// CPU of a story batch went to rendering and parsing it again).
pub fn events_in_chunk_with(
    chunk_bytes: &[u8],
    chunk: u64,
    quick: Option<&[crate::quick::QuickRecord]>,
    keep: impl Fn(usize, &[u8]) -> bool,
) -> Result<Vec<(u64, crate::event::EventView)>, RereadError> {
    let fail = |what: String| RereadError(format!("chunk {chunk}: {what}"));
    let plan = crate::recover::plan(chunk_bytes);
    let start = chunk_start(chunk);
    if let Some(events) = quick.filter(|_| plan.is_none()).and_then(|records| quick_events(chunk_bytes, start, records, &keep)) {
        return Ok(events);
    }
    let data = crate::recover::bytes_to_parse(plan.as_ref(), chunk_bytes);
    let mut parsed_chunk = EvtxChunkData::new(data, false).map_err(|e| fail(error_chain(&e)))?;
    let mut parsed = parsed_chunk.parse(crate::scan::settings_for(plan.as_ref())).map_err(|e| fail(error_chain(&e)))?;
    let mut out = Vec::new();
    let data = parsed.data;
    for record in parsed.iter().flatten() {
        let from = record.binxml_offset as usize;
        let raw = data.get(from..from + record.binxml_size as usize).unwrap_or(&[]);
        let in_chunk = record.binxml_offset.saturating_sub(24);
        if !keep(in_chunk as usize, raw) {
            continue;
        }
        let offset = start + in_chunk;
        if let Ok(view) = crate::scan::view_of(record) {
            out.push((offset, view));
        }
    }
    Ok(out)
}

/// The kept records' views from their template values, or `None` (then the chunk is
/// parsed) as soon as one of them is not read that way.
fn quick_events(
    chunk_bytes: &[u8],
    start: u64,
    records: &[crate::quick::QuickRecord],
    keep: &impl Fn(usize, &[u8]) -> bool,
) -> Option<Vec<(u64, crate::event::EventView)>> {
    let mut views = crate::quick_view::ChunkViews::default();
    let mut out = Vec::new();
    for q in records {
        // The record's BinXML: after its 24-byte header, before its trailing size copy.
        let binxml = chunk_bytes.get(q.offset + 24..(q.offset + q.size).checked_sub(4)?)?;
        if keep(q.offset, binxml) {
            out.push((start + q.offset as u64, views.view(chunk_bytes, q.offset, q.size)?));
        }
    }
    Some(out)
}

/// Wanted chunks at most this far apart are read in one slice (the bytes
/// between are read and dropped: at most 3 × 64 KiB).
const MAX_GAP_CHUNKS: u64 = 4;
/// Chunks in one slice at most (4 MiB).
pub const MAX_SLICE_CHUNKS: u64 = 64;

/// A run of nearby chunks of one file, to read as one slice of it (the
/// page: each read of a `File` waits on the browser's file thread).
#[derive(Debug, PartialEq, Eq)]
pub struct ChunkSlice<'c> {
    pub file: &'c str,
    /// In the order given, each after the one before in the file.
    pub chunks: Vec<&'c ChunkRef>,
}

/// The chunks, in the order given, cut into slices of nearby chunks of one file.
pub fn slices(chunks: &[ChunkRef]) -> Vec<ChunkSlice<'_>> {
    let mut out: Vec<ChunkSlice> = Vec::new();
    for c in chunks {
        if let Some(last) = out.last_mut() {
            let (first, prev) = (last.chunks[0].chunk, last.chunks[last.chunks.len() - 1].chunk);
            if last.file == c.file && c.chunk > prev && c.chunk - prev <= MAX_GAP_CHUNKS && c.chunk - first < MAX_SLICE_CHUNKS {
                last.chunks.push(c);
                continue;
            }
        }
        out.push(ChunkSlice { file: &c.file, chunks: vec![c] });
    }
    out
}

/// Reads chunk `chunk` of a file on disk (up to 64 KiB: the last may be cut).
#[cfg(not(target_arch = "wasm32"))]
pub fn chunk_in_file(path: &std::path::Path, chunk: u64) -> Result<Vec<u8>, RereadError> {
    use std::io::{Read, Seek, SeekFrom};
    let fail = |e: std::io::Error| RereadError(format!("{}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(fail)?;
    file.seek(SeekFrom::Start(chunk_start(chunk))).map_err(fail)?;
    let mut bytes = Vec::with_capacity(CHUNK_SIZE);
    file.take(CHUNK_SIZE as u64).read_to_end(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// The bytes of the file a finding's event is read again from: its chunk
/// (EVTX) or its own text (exports): (start, length).
pub fn span_of(f: &Finding) -> (u64, u64) {
    match f.length {
        Some(length) => (f.offset, length),
        None => (chunk_start(f.chunk), CHUNK_SIZE as u64),
    }
}

/// The finding's full event, from the bytes of its [`span_of`].
pub fn event_of(bytes: &[u8], f: &Finding) -> Result<Value, RereadError> {
    if f.length.is_none() {
        return event_in_chunk(bytes, f.chunk, f.offset);
    }
    let fail = |what: String| RereadError(format!("record at offset {offset}{line}: {what}", offset = f.offset, line = line_text(f.line)));
    let events = crate::text_scan::events_of_text(bytes).map_err(fail)?;
    let count = events.len();
    let wanted = |e: &crate::doc_map::DocumentEvent| e.view.basics().event_record_id == Some(f.event_record_id);
    match events.into_iter().find(|e| count == 1 || wanted(e)) {
        Some(event) => Ok(event.full),
        None => Err(fail("no event with this record id there (has the file changed?)".into())),
    }
}

fn line_text(line: Option<u64>) -> String {
    line.map(|l| format!(" (line {l})")).unwrap_or_default()
}

/// Reads a finding's event again from its file on disk.
#[cfg(not(target_arch = "wasm32"))]
pub fn event_in_file(path: &std::path::Path, f: &Finding) -> Result<Value, RereadError> {
    let mut file = std::fs::File::open(path).map_err(|e| RereadError(format!("{}: cannot open: {e}", path.display())))?;
    event_of(&read_span(&mut file, path, span_of(f))?, f)
}

/// The events of findings of one file on disk, in their order. Findings that
/// share a chunk (or a text span) come from one read and one parse of it:
/// read one by one, `scan --events` parsed a chunk per finding (the hit-rich
/// bench log has about 3.5 findings per chunk).
#[cfg(not(target_arch = "wasm32"))]
pub fn events_in_file(path: &std::path::Path, findings: &[&Finding]) -> Vec<Result<Value, RereadError>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => {
            let why = RereadError(format!("{}: cannot open: {e}", path.display()));
            return findings.iter().map(|_| Err(why.clone())).collect();
        }
    };
    let mut events = Vec::with_capacity(findings.len());
    for sharing_a_span in findings.chunk_by(|a, b| span_of(a) == span_of(b)) {
        match read_span(&mut file, path, span_of(sharing_a_span[0])) {
            Ok(bytes) => events.extend(event_values_of(&bytes, sharing_a_span)),
            Err(why) => events.extend(sharing_a_span.iter().map(|_| Err(why.clone()))),
        }
    }
    events
}

#[cfg(not(target_arch = "wasm32"))]
fn read_span(file: &mut std::fs::File, path: &std::path::Path, (start, length): (u64, u64)) -> Result<Vec<u8>, RereadError> {
    use std::io::{Read, Seek, SeekFrom};
    let fail = |e: std::io::Error| RereadError(format!("{}: {e}", path.display()));
    file.seek(SeekFrom::Start(start)).map_err(fail)?;
    let mut bytes = Vec::with_capacity(length as usize);
    file.take(length).read_to_end(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// [`events_of`] as trees: an EVTX event's text parsed, as
/// `into_json_value` parses it.
#[cfg(not(target_arch = "wasm32"))]
fn event_values_of(bytes: &[u8], sharing_a_span: &[&Finding]) -> Vec<Result<Value, RereadError>> {
    if sharing_a_span[0].length.is_some() {
        return sharing_a_span.iter().map(|f| event_of(bytes, f)).collect();
    }
    let parse = |text: EventText| serde_json::from_str(text.get()).map_err(|e| RereadError(e.to_string()));
    events_of(bytes, sharing_a_span).into_iter().map(|e| e.and_then(parse)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearby_chunks_of_one_file_share_a_slice() {
        let refs: Vec<ChunkRef> = [("a", 0), ("a", 4), ("a", 9), ("a", 10), ("b", 11), ("b", 12), ("a", 13)]
            .into_iter()
            .chain((100..170).map(|c| ("a", c)))
            .map(|(file, chunk)| ChunkRef { file: file.into(), chunk })
            .collect();
        let got: Vec<(&str, Vec<u64>)> = slices(&refs).into_iter().map(|s| (s.file, s.chunks.iter().map(|c| c.chunk).collect())).collect();
        let want: Vec<(&str, Vec<u64>)> = vec![
            // 4 apart joins; 5 apart does not.
            ("a", vec![0, 4]),
            ("a", vec![9, 10]),
            ("b", vec![11, 12]),
            ("a", vec![13]),
            // At most 64 chunks a slice.
            ("a", (100..164).collect()),
            ("a", (164..170).collect()),
        ];
        assert_eq!(got, want);
    }
}
