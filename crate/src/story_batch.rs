//! Telling every incident's story at once, each chunk read once per round.
//!
//! Told one by one, stories that share chunks read them again and again: on
//! the 1 GiB bench log with the SigmaHQ pack, 305 stories read 153,186
//! chunks (46 s in the CLI, five minutes in the page). Here each round asks
//! every unfinished story for its next chunks, reads the union once in file
//! order, renders the records that hold a GUID some story looks for (all
//! records if one looks by PID), and gives them to each story that asked.
//! A story receives its chunks in the order it would read them alone.

use crate::index::{Guid, RunIndex};
use crate::story::{ChunkRef, Story, StoryBuilder};
use std::collections::HashMap;

/// Many stories told together (sans I/O: the caller reads the chunks).
pub struct StoryBatch {
    builders: Vec<StoryBuilder>,
    /// Per story, how many of the chunks it asked for are still to come.
    waiting: Vec<usize>,
    done: Vec<bool>,
    /// This round's chunks, with the stories that asked for each.
    takers: HashMap<ChunkRef, Vec<usize>>,
    /// The GUIDs this round's stories look for, searched in one pass per
    /// record (built once per round: per chunk it was 13 % of the work).
    guids: GuidSearch,
}

/// A chunk's events that its stories may want, with the GUIDs each carries.
#[derive(Default)]
pub struct ChunkEvents {
    events: Vec<(u64, crate::event::EventView)>,
    guids: Vec<[Option<Guid>; 3]>,
}

/// Finds which of some GUIDs a record's bytes hold.
#[derive(Default)]
struct GuidSearch {
    guids: Vec<Guid>,
    /// Pattern i is a form of GUID `guid_of[i]`.
    guid_of: Vec<usize>,
    searcher: Option<aho_corasick::AhoCorasick>,
}

impl GuidSearch {
    fn new(mut guids: Vec<Guid>) -> Self {
        guids.sort_unstable();
        guids.dedup();
        let (mut needles, mut guid_of) = (Vec::new(), Vec::new());
        for (i, g) in guids.iter().enumerate() {
            for n in g.needles() {
                needles.push(n);
                guid_of.push(i);
            }
        }
        let searcher = (!needles.is_empty()).then(|| aho_corasick::AhoCorasick::new(needles).expect("GUID needles build"));
        GuidSearch { guids, guid_of, searcher }
    }

    /// Whether the bytes hold one of the GUIDs marked in `wanted` (by index).
    fn holds_any(&self, raw: &[u8], wanted: &[bool]) -> bool {
        self.searcher.as_ref().is_some_and(|s| s.find_overlapping_iter(raw).any(|m| wanted[self.guid_of[m.pattern().as_usize()]]))
    }
}

impl StoryBatch {
    pub fn new(builders: Vec<StoryBuilder>) -> Self {
        let n = builders.len();
        StoryBatch { builders, waiting: vec![0; n], done: vec![false; n], takers: HashMap::new(), guids: GuidSearch::default() }
    }

    /// The chunks to read next, each once, in file order (then give each to
    /// [`Self::add_chunk`]); empty when every story is complete.
    pub fn wanted(&mut self, index: &RunIndex) -> Vec<ChunkRef> {
        for (i, builder) in self.builders.iter_mut().enumerate() {
            if self.done[i] || self.waiting[i] > 0 {
                continue;
            }
            let wanted = builder.wanted(index);
            self.done[i] = wanted.is_empty();
            self.waiting[i] = wanted.len();
            for c in wanted {
                self.takers.entry(c).or_default().push(i);
            }
        }
        let asking = (0..self.builders.len()).filter(|&i| self.waiting[i] > 0);
        self.guids = GuidSearch::new(asking.filter_map(|i| self.builders[i].looked_for()).collect());
        let file_order: HashMap<&str, usize> = index.files().enumerate().map(|(n, (name, _))| (name, n)).collect();
        fn place<'c>(order: &HashMap<&str, usize>, c: &'c ChunkRef) -> (usize, &'c str, u64) {
            (order.get(c.file.as_str()).copied().unwrap_or(usize::MAX), c.file.as_str(), c.chunk)
        }
        let mut chunks: Vec<ChunkRef> = self.takers.keys().cloned().collect();
        chunks.sort_by(|a, b| place(&file_order, a).cmp(&place(&file_order, b)));
        chunks
    }

    /// Reads one asked-for chunk from its bytes (empty when it cannot be read).
    pub fn add_chunk(&mut self, file: &str, chunk: u64, bytes: &[u8]) {
        let events = self.events_of(file, chunk, bytes);
        self.deliver(file, chunk, events);
    }

    /// The events of an asked-for chunk that its stories may want: [`Self::add_chunk`]'s
    /// parse, apart so that threads can parse several chunks while `&self` is shared,
    /// then give each result to [`Self::deliver`] in [`Self::wanted`]'s order.
    pub fn events_of(&self, file: &str, chunk: u64, bytes: &[u8]) -> ChunkEvents {
        let Some(takers) = self.takers.get(&ChunkRef { file: file.to_string(), chunk }) else { return ChunkEvents::default() };
        // The GUIDs of this chunk's stories; `None` if one looks by PID (then every record counts).
        let wanted: Option<Vec<bool>> = takers.iter().try_fold(vec![false; self.guids.guids.len()], |mut marks, &i| {
            let guid = self.builders[i].looked_for()?;
            if let Ok(at) = self.guids.guids.binary_search(&guid) {
                marks[at] = true;
            }
            Some(marks)
        });
        // The GUIDs of each record, read without rendering (see `quick`): searching
        // every record's bytes for every story's GUIDs was 40 % of the stories' time.
        let quick = crate::reread::intact_records(bytes);
        let carried: Option<HashMap<usize, &[Guid]>> =
            wanted.as_ref().and(quick.as_ref()).map(|records| records.iter().map(|r| (r.offset, &r.guids[..])).collect());
        let is_wanted = |marks: &[bool], g: &Guid| self.guids.guids.binary_search(g).is_ok_and(|at| marks[at]);
        let holds = |at: usize, raw: &[u8]| match (&wanted, carried.as_ref().and_then(|c| c.get(&at))) {
            (None, _) => true,
            (Some(marks), Some(guids)) => guids.iter().any(|g| is_wanted(marks, g)),
            (Some(marks), None) => self.guids.holds_any(raw, marks),
        };
        let events = crate::reread::events_in_chunk_with(bytes, chunk, quick.as_deref(), holds).unwrap_or_default();
        let guids = events.iter().map(|(_, view)| crate::story::story_guids(view)).collect();
        ChunkEvents { events, guids }
    }

    /// Gives the stories that asked for this chunk its events (from [`Self::events_of`]).
    pub fn deliver(&mut self, file: &str, chunk: u64, read: ChunkEvents) {
        let Some(takers) = self.takers.remove(&ChunkRef { file: file.to_string(), chunk }) else { return };
        let ChunkEvents { events, guids } = read;
        // Each story is given only the events that carry its GUID: testing
        // every event for every story parsed the same GUIDs again and again.
        for i in takers {
            let builder = &mut self.builders[i];
            match builder.looked_for() {
                Some(g) => {
                    let theirs = events.iter().zip(&guids).filter(|(_, held)| held.contains(&Some(g))).map(|(e, _)| e);
                    builder.add_events(file, chunk, theirs);
                }
                None => builder.add_events(file, chunk, &events),
            }
            self.waiting[i] -= 1;
        }
    }

    /// The stories, in the order of their builders.
    pub fn finish<'f>(self, findings_of: impl Fn(usize) -> Vec<&'f crate::report::Finding>) -> Vec<Story> {
        self.builders.into_iter().enumerate().map(|(i, b)| b.finish(&findings_of(i))).collect()
    }
}
