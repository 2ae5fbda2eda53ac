//! "Events around this finding": every event of its computer within N
//! minutes of it, from the chunks the index says overlap those minutes.

use crate::event::EventView;
use crate::index::RunIndex;
use crate::report::Finding;
use crate::story::{ChunkRef, Role, StoryEvent};

const TICKS_PER_MINUTE: u64 = 60 * 10_000_000;
/// A context reads at most this many chunks (16 MiB), those nearest the
/// finding: minutes of a busy server can be hundreds of thousands of events.
pub const MAX_CONTEXT_CHUNKS: usize = 256;

/// A computer and a time window (FILETIME).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub computer: Option<String>,
    pub from: u64,
    pub to: u64,
}

impl Window {
    /// `minutes` before and after the finding, on its computer; `None` when it has no time.
    pub fn around(f: &Finding, minutes: u32) -> Option<Window> {
        let at = f.time_created.as_deref().and_then(crate::scan::iso_to_filetime)?;
        let span = u64::from(minutes) * TICKS_PER_MINUTE;
        Some(Window { computer: f.computer.as_deref().map(str::to_string), from: at.saturating_sub(span), to: at.saturating_add(span) })
    }

    /// The chunks of every file with a record of the computer in the window,
    /// the [`MAX_CONTEXT_CHUNKS`] nearest the finding's time, in file order;
    /// and whether others were left out.
    pub fn chunks(&self, index: &RunIndex) -> (Vec<ChunkRef>, bool) {
        let middle = self.from / 2 + self.to / 2;
        let mut found: Vec<(u64, ChunkRef)> = Vec::new();
        for (file, fi) in index.files() {
            for chunk in fi.chunks_between(self.computer.as_deref(), self.from, self.to) {
                let (first, last) = (fi.chunk_first_time(chunk).unwrap_or(0), fi.chunk_last_time(chunk).unwrap_or(0));
                let distance = if middle < first { first - middle } else { middle.saturating_sub(last) };
                found.push((distance, ChunkRef { file: file.to_string(), chunk }));
            }
        }
        let cut = found.len() > MAX_CONTEXT_CHUNKS;
        found.sort_by_key(|(d, _)| *d);
        found.truncate(MAX_CONTEXT_CHUNKS);
        let mut chunks: Vec<ChunkRef> = found.into_iter().map(|(_, c)| c).collect();
        chunks.sort();
        (chunks, cut)
    }

    /// The events of one chunk that fall in the window.
    pub fn events(&self, file: &str, chunk: u64, events: &[(u64, EventView)]) -> Vec<StoryEvent> {
        events
            .iter()
            .filter(|(_, view)| self.holds(view))
            .map(|(offset, view)| StoryEvent::new(file, chunk, *offset, view, Role::Around))
            .collect()
    }

    fn holds(&self, view: &EventView) -> bool {
        let b = view.basics();
        let time = b.time_created.as_deref().and_then(crate::scan::iso_to_filetime);
        let computer = self.computer.as_deref().is_none_or(|c| b.computer.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(c)));
        computer && time.is_some_and(|t| t >= self.from && t <= self.to)
    }
}

/// Time order, then file order.
pub fn sort(events: &mut [StoryEvent]) {
    events.sort_by(|a, b| (&a.time_created, &a.file, a.offset).cmp(&(&b.time_created, &b.file, b.offset)));
}

/// The context of a finding from files on disk (the CLI and tests; the page reads its `File`s).
#[cfg(not(target_arch = "wasm32"))]
pub fn context_from_disk(
    f: &Finding,
    minutes: u32,
    index: &RunIndex,
    paths: &std::collections::BTreeMap<String, std::path::PathBuf>,
) -> (Vec<StoryEvent>, bool) {
    let Some(window) = Window::around(f, minutes) else { return (Vec::new(), false) };
    let mut out = Vec::new();
    let (chunks, cut) = window.chunks(index);
    for c in chunks {
        let Some(path) = paths.get(&c.file) else { continue };
        let events = crate::reread::chunk_in_file(path, c.chunk).ok().and_then(|b| crate::reread::events_in_chunk(&b, c.chunk).ok());
        out.extend(window.events(&c.file, c.chunk, &events.unwrap_or_default()));
    }
    sort(&mut out);
    (out, cut)
}
