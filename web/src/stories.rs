//! Stories and contexts in the page: the core's [`StoryBuilder`] asks for
//! chunks, and they are read again from the run's `File`s here (a story
//! reads a few 64 KiB slices, not the file).

use evtx_triage::index::RunIndex;
use evtx_triage::reader::CHUNK_SIZE;
use evtx_triage::report::Finding;
use evtx_triage::reread::{chunk_start, events_in_chunk, slices, ChunkSlice};
use evtx_triage::story::{ChunkRef, Story, StoryBuilder, StoryEvent};
use evtx_triage::story_batch::StoryBatch;
use std::collections::HashMap;
use web_sys::File;

/// The run's files by name, as findings name them.
pub type Files = HashMap<String, File>;

/// The read of one slice: started at once, awaited later.
struct PendingRead {
    /// File offset of its first byte.
    start: u64,
    read: Option<wasm_bindgen_futures::JsFuture>,
}

fn start_read(files: &Files, slice: &ChunkSlice) -> PendingRead {
    let start = chunk_start(slice.chunks[0].chunk);
    let Some(f) = files.get(slice.file) else { return PendingRead { start, read: None } };
    let last = slice.chunks[slice.chunks.len() - 1].chunk;
    let end = (chunk_start(last) + CHUNK_SIZE as u64).min(f.size() as u64);
    let read =
        f.slice_with_f64_and_f64(start as f64, end as f64).ok().map(|part| wasm_bindgen_futures::JsFuture::from(part.array_buffer()));
    PendingRead { start, read }
}

/// Gives each chunk's bytes (none when it cannot be read) to `each`, in the
/// order given. Every read waits on the browser's file thread, so nearby
/// chunks share one slice, and the next slice is asked for before this
/// one's chunks are analyzed.
async fn read_chunks(files: &Files, chunks: &[ChunkRef], mut each: impl FnMut(&ChunkRef, &[u8])) {
    let slices = slices(chunks);
    let mut next = slices.first().map(|s| start_read(files, s));
    for (i, slice) in slices.iter().enumerate() {
        let Some(pending) = next.take() else { break };
        let bytes = match pending.read {
            Some(read) => read.await.map(|b| js_sys::Uint8Array::new(&b).to_vec()).unwrap_or_default(),
            None => Vec::new(),
        };
        next = slices.get(i + 1).map(|s| start_read(files, s));
        for c in &slice.chunks {
            let from = (chunk_start(c.chunk) - pending.start) as usize;
            let to = (from + CHUNK_SIZE).min(bytes.len());
            each(c, bytes.get(from..to).unwrap_or(&[]));
        }
    }
}

/// Tells one story, reading the chunks it asks for.
pub async fn tell(mut builder: StoryBuilder, index: &RunIndex, files: &Files, findings: &[&Finding]) -> Story {
    loop {
        let wanted = builder.wanted(index);
        if wanted.is_empty() {
            return builder.finish(findings);
        }
        read_chunks(files, &wanted, |c, bytes| builder.add_chunk(&c.file, c.chunk, bytes)).await;
    }
}

/// Reads every chunk the batch's stories ask for, round after round (then
/// `incident::told` makes the incidents, as the CLI does).
pub async fn read_batch(batch: &mut StoryBatch, index: &RunIndex, files: &Files) {
    loop {
        let wanted = batch.wanted(index);
        if wanted.is_empty() {
            return;
        }
        read_chunks(files, &wanted, |c, bytes| batch.add_chunk(&c.file, c.chunk, bytes)).await;
    }
}

/// Every event of the finding's computer within `minutes` of it and in the
/// timeline's `range`, in time order; and whether chunks were left out (see
/// `context::MAX_CONTEXT_CHUNKS`).
pub async fn context(
    f: &Finding,
    minutes: u32,
    range: evtx_triage::timeline::TimeRange,
    index: &RunIndex,
    files: &Files,
) -> (Vec<StoryEvent>, bool) {
    let Some(mut window) = evtx_triage::context::Window::around(f, minutes) else { return (Vec::new(), false) };
    match range.clip_filetimes(window.from, window.to) {
        Some((from, to)) => (window.from, window.to) = (from, to),
        None => return (Vec::new(), false),
    }
    let mut out = Vec::new();
    let (chunks, cut) = window.chunks(index);
    read_chunks(files, &chunks, |c, bytes| {
        let events = events_in_chunk(bytes, c.chunk).unwrap_or_default();
        out.extend(window.events(&c.file, c.chunk, &events));
    })
    .await;
    evtx_triage::context::sort(&mut out);
    (out, cut)
}
