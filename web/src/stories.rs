//! Stories and contexts in the page: the core's [`StoryBuilder`] asks for
//! chunks, and they are read again from the run's `File`s here (a story
//! reads a few 64 KiB slices, not the file).

use crate::browser;
use evtx_triage::incident::{self, Incident};
use evtx_triage::index::RunIndex;
use evtx_triage::reader::CHUNK_SIZE;
use evtx_triage::report::Finding;
use evtx_triage::reread::{chunk_start, events_in_chunk};
use evtx_triage::story::{Story, StoryBuilder, StoryEvent};
use std::collections::HashMap;
use web_sys::File;

/// The run's files by name, as findings name them.
pub type Files = HashMap<String, File>;

/// The bytes of one chunk of a file (none when it cannot be read).
async fn chunk_bytes(files: &Files, file: &str, chunk: u64) -> Vec<u8> {
    let Some(f) = files.get(file) else { return Vec::new() };
    let start = chunk_start(chunk);
    let end = (start + CHUNK_SIZE as u64).min(f.size() as u64);
    browser::read_bytes(f, start, end).await.unwrap_or_default()
}

/// Tells one story, reading the chunks it asks for.
pub async fn tell(mut builder: StoryBuilder, index: &RunIndex, files: &Files, findings: &[&Finding]) -> Story {
    loop {
        let wanted = builder.wanted(index);
        if wanted.is_empty() {
            return builder.finish(findings);
        }
        for c in wanted {
            let bytes = chunk_bytes(files, &c.file, c.chunk).await;
            builder.add_chunk(&c.file, c.chunk, &bytes);
        }
    }
}

/// Every incident of a run, as the CLI tells them.
pub async fn incidents(findings: &[Finding], index: &RunIndex, files: &Files) -> Vec<Incident> {
    let (groups, mut batch) = incident::batch_of(findings);
    loop {
        let wanted = batch.wanted(index);
        if wanted.is_empty() {
            break;
        }
        for c in wanted {
            let bytes = chunk_bytes(files, &c.file, c.chunk).await;
            batch.add_chunk(&c.file, c.chunk, &bytes);
        }
    }
    incident::told(findings, groups, batch)
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
    for c in chunks {
        let bytes = chunk_bytes(files, &c.file, c.chunk).await;
        let events = events_in_chunk(&bytes, c.chunk).unwrap_or_default();
        out.extend(window.events(&c.file, c.chunk, &events));
    }
    evtx_triage::context::sort(&mut out);
    (out, cut)
}
