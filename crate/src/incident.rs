//! Incidents: the findings of one acting process on one computer, told as
//! one story. A responder reads five incidents, not 300 findings.

use crate::report::Finding;
use crate::story::{Story, StoryEvent};
use serde::{Deserialize, Serialize};

/// One event of an incident, by where to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub file: String,
    pub event_record_id: u64,
    pub event_id: Option<u64>,
    pub time_created: Option<String>,
}

impl From<&StoryEvent> for EventRef {
    fn from(e: &StoryEvent) -> Self {
        EventRef { file: e.file.clone(), event_record_id: e.event_record_id, event_id: e.event_id, time_created: e.time_created.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub computer: Option<String>,
    pub process_guid: Option<String>,
    pub process_id: Option<u64>,
    pub image: Option<String>,
    pub summary: String,
    /// Indices into the run's findings.
    pub findings: Vec<usize>,
    /// The process's creation and every event where it acts, in time order.
    pub events: Vec<EventRef>,
    /// Its ancestors' creations, the parent first.
    #[serde(default)]
    pub ancestors: Vec<EventRef>,
    /// The story hit its limits (`story::MAX_STORY_EVENTS`, `MAX_STORY_CHUNKS`).
    #[serde(default)]
    pub truncated: bool,
    /// A Sigma correlation rule's hit: its findings are the events that made it (see `correlate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationMatch>,
}

impl Incident {
    /// Who or what it is about: the process ("rundll32.exe (PID 1568)"), or the correlation rule.
    pub fn subject(&self) -> String {
        match &self.correlation {
            Some(c) => format!("{} ({})", c.title, c.kind),
            None => {
                let image = self.image.as_deref().map(crate::story::base_name).unwrap_or("?");
                format!("{image}{}", self.process_id.map(|p| format!(" (PID {p})")).unwrap_or_default())
            }
        }
    }
}

/// What a correlation incident matched: the rule, its group and how much.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationMatch {
    pub rule_id: Option<String>,
    pub title: String,
    pub level: Option<String>,
    /// `event_count`, `value_count`, `temporal`, `temporal_ordered`, ...
    pub kind: String,
    /// Group-by fields and their values.
    pub group: Vec<(String, String)>,
    /// The count (or sum, ...) at its highest firing.
    pub value: f64,
    pub timespan_secs: u64,
    /// When it first and last fired (UTC, to the second), and how many times.
    pub first_fired: String,
    pub last_fired: String,
    pub fired: u64,
}

/// The findings of each acting process, in the order of their first
/// finding; findings that name no process are in none.
pub fn group(findings: &[Finding]) -> Vec<Vec<usize>> {
    // By key in a map: a list searched per finding took 187,349 findings times 305 groups.
    let mut place: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let Some(actor) = &f.actor else { continue };
        let who = match (&actor.process_guid, actor.process_id) {
            (Some(g), _) => g.to_ascii_lowercase(),
            (None, Some(pid)) => format!("pid {pid} {}", actor.image.as_deref().unwrap_or("").to_ascii_lowercase()),
            (None, None) => continue,
        };
        let key = (f.computer.as_deref().unwrap_or("").to_ascii_lowercase(), who);
        match place.entry(key) {
            std::collections::hash_map::Entry::Occupied(at) => groups[*at.get()].push(i),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// An incident from its findings and their story.
pub fn from_story(story: &Story, findings: Vec<usize>) -> Incident {
    Incident {
        computer: story.computer.clone(),
        process_guid: story.actor.process_guid.clone(),
        process_id: story.actor.process_id,
        image: story.actor.image.as_deref().map(str::to_string),
        summary: story.summary.clone(),
        findings,
        events: story.events.iter().map(EventRef::from).collect(),
        ancestors: story.ancestors.iter().map(EventRef::from).collect(),
        truncated: story.truncated,
        correlation: None,
    }
}

/// Every incident of a run, its stories read from files on disk, their chunks read and
/// parsed on `threads` threads.
#[cfg(not(target_arch = "wasm32"))]
pub fn incidents_from_disk(
    findings: &[Finding],
    index: &crate::index::RunIndex,
    paths: &std::collections::BTreeMap<String, std::path::PathBuf>,
    threads: usize,
) -> Vec<Incident> {
    let (groups, mut batch) = batch_of(findings);
    loop {
        let wanted = batch.wanted(index);
        if wanted.is_empty() {
            break;
        }
        // A window at a time, so that the events read wait in memory for a few chunks only
        // (a story by PID keeps every record of its chunks); given in order, so the stories
        // are those told chunk by chunk.
        for window in wanted.chunks(STORY_CHUNKS_PER_THREAD * threads.max(1)) {
            let read = read_from_disk(&batch, window, paths, threads);
            for (c, events) in window.iter().zip(read) {
                batch.deliver(&c.file, c.chunk, events);
            }
        }
    }
    told(findings, groups, batch)
}

/// Chunks each story thread reads in a window.
#[cfg(not(target_arch = "wasm32"))]
const STORY_CHUNKS_PER_THREAD: usize = 32;

/// The events each chunk's stories may want, in the chunks' order, read on `threads` threads.
#[cfg(not(target_arch = "wasm32"))]
fn read_from_disk(
    batch: &crate::story_batch::StoryBatch,
    chunks: &[crate::story::ChunkRef],
    paths: &std::collections::BTreeMap<String, std::path::PathBuf>,
    threads: usize,
) -> Vec<crate::story_batch::ChunkEvents> {
    let read = |part: &[crate::story::ChunkRef]| {
        part.iter().map(|c| batch.events_of(&c.file, c.chunk, &crate::story::chunk_from_disk(paths, c))).collect::<Vec<_>>()
    };
    if threads <= 1 || chunks.len() <= 1 {
        return read(chunks);
    }
    std::thread::scope(|s| {
        let parts: Vec<_> = chunks.chunks(chunks.len().div_ceil(threads)).map(|part| s.spawn(move || read(part))).collect();
        parts.into_iter().flat_map(|p| p.join().expect("a story thread panicked")).collect()
    })
}

/// The incidents' groups of findings that name an acting process, and
/// their stories to tell (together: see `story_batch`).
pub fn batch_of(findings: &[Finding]) -> (Vec<Vec<usize>>, crate::story_batch::StoryBatch) {
    let mut groups = Vec::new();
    let mut builders = Vec::new();
    for members in group(findings) {
        if let Some(builder) = crate::story::StoryBuilder::new(&findings[members[0]]) {
            builders.push(builder.for_incident());
            groups.push(members);
        }
    }
    (groups, crate::story_batch::StoryBatch::new(builders))
}

/// The incidents, once their batch has read every chunk it asked for.
pub fn told(findings: &[Finding], groups: Vec<Vec<usize>>, batch: crate::story_batch::StoryBatch) -> Vec<Incident> {
    let stories = batch.finish(|i| groups[i].iter().map(|&f| &findings[f]).collect());
    stories.iter().zip(groups).map(|(story, members)| from_story(story, members)).collect()
}
