//! Stories and contexts in the page: the core's [`StoryBuilder`] asks for
//! chunks, and they are read again from the run's `File`s here (a story
//! reads a few 64 KiB slices, not the file).

use evtx_triage::index::RunIndex;
use evtx_triage::reader::CHUNK_SIZE;
use evtx_triage::report::Finding;
use evtx_triage::reread::{chunk_start, events_in_chunk, slices, ChunkSlice, MAX_SLICE_CHUNKS};
use evtx_triage::story::{ChunkRef, Story, StoryBuilder, StoryEvent};
use evtx_triage::story_batch::StoryBatch;
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::File;

/// The run's files by name, as findings name them.
pub type Files = HashMap<String, File>;

/// The bytes a slice can span (the last chunk may be cut short).
const SLICE_BYTES: u32 = (MAX_SLICE_CHUNKS * CHUNK_SIZE as u64) as u32;

/// The read of one slice: started at once, awaited later. It resolves to
/// the bytes read, a view into the buffer it was given.
struct PendingRead {
    /// File offset of its first byte.
    start: u64,
    read: Option<wasm_bindgen_futures::JsFuture>,
}

fn start_read(files: &Files, slice: &ChunkSlice, buffer: Option<js_sys::ArrayBuffer>) -> PendingRead {
    let start = chunk_start(slice.chunks[0].chunk);
    let Some(f) = files.get(slice.file) else { return PendingRead { start, read: None } };
    let last = slice.chunks[slice.chunks.len() - 1].chunk;
    let end = (chunk_start(last) + CHUNK_SIZE as u64).min(f.size() as u64);
    let buffer = buffer.filter(|b| u64::from(b.byte_length()) >= end - start).unwrap_or_else(|| js_sys::ArrayBuffer::new(SLICE_BYTES));
    let promise = wasm_bindgen_futures::future_to_promise(read_into(f.clone(), start, end, buffer));
    PendingRead { start, read: Some(wasm_bindgen_futures::JsFuture::from(promise)) }
}

/// Reads `file[from..to]` into `buffer` through a BYOB stream reader, and
/// gives the bytes as a view of it. One buffer serves every read of a batch:
/// `Blob.arrayBuffer()` made a new one per slice, garbage once copied into
/// wasm, and V8 let hundreds of MiB of them pile up while stories were read
/// (the renderer swung between 700 and 1,200 MiB on the 1 GiB bench log
/// with the SigmaHQ pack).
async fn read_into(file: web_sys::File, from: u64, to: u64, mut buffer: js_sys::ArrayBuffer) -> Result<JsValue, JsValue> {
    let blob = file.slice_with_f64_and_f64(from as f64, to as f64)?;
    let Ok(reader) = web_sys::ReadableStreamByobReader::new(&blob.stream()) else {
        // A browser whose blob streams are no byte streams.
        return wasm_bindgen_futures::JsFuture::from(blob.array_buffer()).await.map(|b| js_sys::Uint8Array::new(&b).into());
    };
    let wanted = (to - from) as u32;
    let mut filled = 0u32;
    while filled < wanted {
        let view = js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, filled, wanted - filled);
        let result = wasm_bindgen_futures::JsFuture::from(reader.read_with_array_buffer_view(&view)).await?;
        // The read moved the buffer into the view it gives back.
        let value = js_sys::Reflect::get(&result, &"value".into())?.dyn_into::<js_sys::Uint8Array>()?;
        buffer = value.buffer();
        filled += value.length();
        if js_sys::Reflect::get(&result, &"done".into())?.is_truthy() {
            break;
        }
    }
    let _ = reader.cancel();
    Ok(js_sys::Uint8Array::new_with_byte_offset_and_length(&buffer, 0, filled).into())
}

/// Gives each chunk's bytes (none when it cannot be read) to `each`, in the
/// order given. Every read waits on the browser's file thread, so nearby
/// chunks share one slice, and the next slice is asked for before this
/// one's chunks are analyzed (into the buffer this one's bytes were just
/// copied out of).
async fn read_chunks(files: &Files, chunks: &[ChunkRef], mut each: impl FnMut(&ChunkRef, &[u8])) {
    let slices = slices(chunks);
    let mut next = slices.first().map(|s| start_read(files, s, None));
    let mut bytes: Vec<u8> = Vec::new();
    for (i, slice) in slices.iter().enumerate() {
        let Some(pending) = next.take() else { break };
        let mut buffer = None;
        bytes.clear();
        if let Some(read) = pending.read {
            if let Ok(view) = read.await.and_then(|v| v.dyn_into::<js_sys::Uint8Array>()) {
                bytes.resize(view.length() as usize, 0);
                view.copy_to(&mut bytes);
                buffer = Some(view.buffer());
            }
        }
        next = slices.get(i + 1).map(|s| start_read(files, s, buffer));
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
