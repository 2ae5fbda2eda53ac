//! A finding's story: the process that acted, where it came from, and
//! everything else it did, read again from the few chunks that hold it.
//!
//! The acting process is named by its GUID (Sysmon) or by its PID and the
//! time (Security). [`StoryBuilder`] asks for chunks in rounds (see
//! [`StoryBuilder::wanted`]) so that the CLI reads them from disk and the
//! page from its `File`s with the same logic:
//! 1. every chunk the index lists for the GUID (for a PID: the chunks of the
//!    computer from a day before the finding to an hour after), for its
//!    creation and every event where it acts;
//! 2. then, ancestor by ancestor, the latest chunks before each creation
//!    that hold the parent, until its creation is found or the logs end.

use crate::event::{as_number, EventView};
pub use crate::event_details::Details;
use crate::index::{FileIndex, Guid, RunIndex};
use crate::intern::SharedText;
use crate::report::Finding;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A story holds at most this many events (the rest is counted), and reads
/// at most this many chunks (32 MiB): a process alive for weeks is cut, and says so.
pub const MAX_STORY_EVENTS: usize = 5_000;
pub const MAX_STORY_CHUNKS: usize = 512;
/// A process's creation by its GUID: Sysmon's EventID 1 (the scan's index notes these records' GUIDs).
pub const CREATION_EVENT_ID: u64 = 1;
/// Parent chains longer than this are cut (a loop in forged logs ends here too).
const MAX_ANCESTORS: usize = 16;
/// Chunks asked for per round while looking back for a creation event.
const LOOKBACK_BATCH: usize = 4;
/// Without a GUID a PID is looked for from a day before to an hour after the finding (FILETIME ticks).
const PID_BEFORE: u64 = 24 * 3600 * 10_000_000;
const PID_AFTER: u64 = 3600 * 10_000_000;

/// The process that acted in a finding's event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `{...}` in capitals, as `Guid` prints it.
    pub process_guid: Option<String>,
    pub process_id: Option<u64>,
    pub image: Option<SharedText>,
}

impl Actor {
    pub fn guid(&self) -> Option<Guid> {
        self.process_guid.as_deref().and_then(Guid::parse)
    }
}

/// Fields naming the acting process, by the event's kind, as (GUID, PID, image).
const ACTOR_FIELDS: &[(&str, &str, &str)] = &[
    ("ProcessGuid", "ProcessId", "Image"),
    ("SourceProcessGUID", "SourceProcessId", "SourceImage"),
    ("SourceProcessGuid", "SourceProcessId", "SourceImage"),
];

/// The acting process of an event on which rule `analytic_id` fired.
pub fn actor_of(analytic_id: &str, view: &EventView) -> Option<Actor> {
    let with = |guid: &str, pid: &str, image: &str| {
        let process_guid = field(view, guid).and_then(|g| Guid::parse(&g)).map(|g| g.to_string());
        process_guid.map(|g| Actor { process_guid: Some(g), process_id: field_pid(view, pid), image: field(view, image).map(Into::into) })
    };
    match analytic_id {
        "CAR-2020-05-001" => return with("SourceProcessGUID", "SourceProcessId", "SourceImage"),
        "CAR-2019-08-001" => return with("ProcessGuid", "ProcessId", "Image"),
        _ => {}
    }
    if let Some(a) = ACTOR_FIELDS.iter().find_map(|(g, p, i)| with(g, p, i)) {
        return Some(a);
    }
    // Security: 4688 names the new process; other events the one that acted.
    let (pid, image) = if view.basics().event_id == Some(4688) { ("NewProcessId", "NewProcessName") } else { ("ProcessId", "ProcessName") };
    let process_id = field_pid(view, pid)?;
    Some(Actor {
        process_guid: None,
        process_id: Some(process_id),
        image: field(view, image).or_else(|| field(view, "Application")).map(Into::into),
    })
}

/// A field's text, its name matched in any case.
fn field(view: &EventView, name: &str) -> Option<String> {
    crate::event::scalar_text(field_value(view, name)?).filter(|t| !t.is_empty() && t != "-")
}

/// A PID as Sysmon (decimal) or Security (`0x1a2c`) writes it.
fn field_pid(view: &EventView, name: &str) -> Option<u64> {
    parse_pid(field_value(view, name)?)
}

/// A field's value, its exact name first, else in any case.
fn field_value<'v>(view: &'v EventView, name: &str) -> Option<&'v Value> {
    let fields = view.fields.as_object()?;
    fields.get(name).or_else(|| fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn parse_pid(value: &Value) -> Option<u64> {
    if let Some(text) = value.as_str() {
        let t = text.trim();
        if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            return u64::from_str_radix(hex, 16).ok();
        }
    }
    as_number(value)
}

/// How an event belongs to a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The acting process was created (Sysmon 1, Security 4688).
    Created,
    /// The process acted (its GUID as `ProcessGuid` or `SourceProcessGUID`, or its PID).
    Acted,
    /// It started another process (its GUID or PID as the parent's).
    StartedChild,
    /// The creation of an ancestor: 1 the parent, 2 the grandparent, ...
    Ancestor(u32),
    /// Not part of the story: an event around a finding (see `context`).
    Around,
}

impl Role {
    pub fn label(self) -> String {
        match self {
            Role::Created => "created".into(),
            Role::Acted => "acted".into(),
            Role::StartedChild => "started a process".into(),
            Role::Ancestor(1) => "parent created".into(),
            Role::Ancestor(n) => format!("ancestor {n} created"),
            Role::Around => "around".into(),
        }
    }
}

/// The fields a story line shows (a few, not the whole event: it is re-read when opened).
const DETAIL_FIELDS: &[&str] = &[
    "ProcessGuid",
    "ParentProcessGuid",
    "Image",
    "CommandLine",
    "User",
    "ParentImage",
    "ProcessId",
    "ParentProcessId",
    "TargetImage",
    "GrantedAccess",
    "CallTrace",
    "TargetFilename",
    "ImageLoaded",
    "TargetObject",
    "DestinationIp",
    "DestinationPort",
    "DestinationHostname",
    "QueryName",
    "NewProcessName",
    "NewProcessId",
    "ParentProcessName",
    "SubjectUserName",
    "SubjectDomainName",
    "ProcessName",
    "SourceImage",
];
const DETAIL_MAX_CHARS: usize = 400;
/// The detail naming the dump library of a `CallTrace` (not an event field).
const DUMP_LIBRARY: &str = "CallTrace library";
/// Sysmon events a summary tells beside the findings: connections, remote threads, files written.
const TOLD_SYSMON_EVENTS: &[u64] = &[3, 8, 11];
/// A summary names at most this many deeds (the story lists them all).
const MAX_DEEDS: usize = 6;

/// One event of a story or a context: where it is, its basics and a few fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryEvent {
    pub file: String,
    pub chunk: u64,
    pub offset: u64,
    pub event_record_id: u64,
    pub event_id: Option<u64>,
    pub time_created: Option<String>,
    pub computer: Option<String>,
    pub channel: Option<String>,
    pub role: Role,
    pub details: Details,
}

impl StoryEvent {
    pub fn new(file: &str, chunk: u64, offset: u64, view: &EventView, role: Role) -> Self {
        let b = view.basics();
        let mut details: Details = DETAIL_FIELDS
            .iter()
            .filter_map(|&name| view.field_text(name).map(|v| (name.to_string(), v.chars().take(DETAIL_MAX_CHARS).collect())))
            .collect();
        // A call trace is long; the library a dump goes through may be past the cut.
        if let Some(dll) = view.field_text("CallTrace").as_deref().and_then(dump_library) {
            details.insert(DUMP_LIBRARY.into(), dll.into());
        }
        StoryEvent {
            file: file.to_string(),
            chunk,
            offset,
            event_record_id: b.event_record_id.unwrap_or(0),
            event_id: b.event_id,
            time_created: b.time_created,
            computer: b.computer,
            channel: b.channel,
            role,
            details,
        }
    }

    fn detail(&self, name: &str) -> Option<&str> {
        self.details.get(name)
    }

    /// Whether this is the event of the finding.
    pub fn is(&self, f: &Finding) -> bool {
        self.place() == (&*f.file, f.offset)
    }

    /// Where the record is: its file and offset (a finding's `file` and `offset`).
    fn place(&self) -> (&str, u64) {
        (self.file.as_str(), self.offset)
    }

    /// The details [`Self::what`] reads for this kind of event (keep the two together).
    fn told_details(&self) -> &'static [&'static str] {
        match (self.sysmon(), self.event_id) {
            (true, Some(1)) => &["Image", "CommandLine"],
            (true, Some(3)) => &["DestinationIp", "DestinationPort"],
            (true, Some(7)) => &["ImageLoaded"],
            (true, Some(8)) => &["TargetImage"],
            (true, Some(10)) => &["TargetImage", DUMP_LIBRARY, "GrantedAccess"],
            (true, Some(11)) => &["TargetFilename"],
            (true, Some(12..=14)) => &["TargetObject"],
            (true, Some(22)) => &["QueryName"],
            (false, Some(4688)) => &["NewProcessName", "CommandLine"],
            _ => &[],
        }
    }

    /// Drops the details [`Self::what`] does not read.
    fn keep_told_details(&mut self) {
        let told = self.told_details();
        self.details.retain(|name, _| told.contains(&name));
    }

    /// What happened, in a few words (`wrote C:\lsass.dmp`), for the kinds of event it knows.
    pub fn what(&self) -> Option<String> {
        let d = |n: &str| self.detail(n).unwrap_or("?").to_string();
        Some(match (self.sysmon(), self.event_id) {
            (true, Some(1)) => format!("started {} as `{}`", base_name(&d("Image")), d("CommandLine")),
            (true, Some(3)) => format!("connected to {}:{}", d("DestinationIp"), d("DestinationPort")),
            (true, Some(7)) => format!("loaded {}", d("ImageLoaded")),
            (true, Some(8)) => format!("started a thread in {}", base_name(&d("TargetImage"))),
            (true, Some(10)) => match self.detail(DUMP_LIBRARY) {
                Some(dll) => format!("opened {} through {dll}", base_name(&d("TargetImage"))),
                None => format!("opened {} (access {})", base_name(&d("TargetImage")), d("GrantedAccess")),
            },
            (true, Some(11)) => format!("wrote {}", d("TargetFilename")),
            (true, Some(12..=14)) => format!("changed {}", d("TargetObject")),
            (true, Some(22)) => format!("looked up {}", d("QueryName")),
            (false, Some(4688)) => format!("started {} as `{}`", base_name(&d("NewProcessName")), d("CommandLine")),
            _ => return None,
        })
    }

    /// One line for a table: [`Self::what`], else its first fields (`Image: C:\x.exe · User: bob`).
    pub fn describe(&self) -> String {
        self.what().unwrap_or_else(|| {
            let shown = self.details.iter().filter(|(k, _)| !k.ends_with("Guid") && *k != DUMP_LIBRARY).take(3);
            shown.map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(" \u{b7} ")
        })
    }

    fn sysmon(&self) -> bool {
        self.channel.as_deref().is_some_and(|c| c.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational"))
    }
}

/// The file name of a path (`C:\x\procdump.exe` -> `procdump.exe`).
pub fn base_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// The dump library a call trace goes through (`dbghelp.dll`, `dbgcore.dll`).
fn dump_library(call_trace: &str) -> Option<&'static str> {
    let lower = call_trace.to_ascii_lowercase();
    ["dbghelp.dll", "dbgcore.dll"].into_iter().find(|dll| lower.contains(dll))
}

/// A finding's story: its process's creation and ancestors, and its events in time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Story {
    pub actor: Actor,
    pub computer: Option<String>,
    pub summary: String,
    /// Ancestors' creations, the parent first.
    pub ancestors: Vec<StoryEvent>,
    /// The process's creation and every event where it acts, in time order.
    pub events: Vec<StoryEvent>,
    /// Events or chunks beyond the limits were left out (see [`MAX_STORY_EVENTS`]).
    pub truncated: bool,
    /// Chunks read to tell it.
    pub chunks_read: usize,
}

/// A chunk to read: the file (by name, as findings give it) and its index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChunkRef {
    pub file: String,
    pub chunk: u64,
}

/// Whom the builder is looking for in the chunks of this round.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// The actor's own events.
    Acts,
    /// The creation of ancestor `depth` (1 = parent).
    Ancestor {
        depth: u32,
        guid: Option<Guid>,
        pid: Option<u64>,
        before: u64,
    },
    Done,
}

/// Builds a story from the chunks it asks for (see the module's doc).
#[derive(Debug, Clone)]
pub struct StoryBuilder {
    actor: Actor,
    guid: Option<Guid>,
    computer: Option<String>,
    /// The finding's time (FILETIME), for a PID's window.
    at: u64,
    stage: Stage,
    /// Chunks still to read in this stage, the next last.
    pending: Vec<ChunkRef>,
    asked: bool,
    events: Vec<StoryEvent>,
    ancestors: Vec<StoryEvent>,
    /// Security: creations of the PID seen, to keep the latest before the finding.
    truncated: bool,
    chunks_read: usize,
    /// Keep of each event only what its summary reads (see [`Self::for_incident`]).
    lean: bool,
}

impl StoryBuilder {
    /// The story of a finding's acting process; `None` when it names none.
    pub fn new(f: &Finding) -> Option<Self> {
        let actor = f.actor.clone()?;
        let at = f.time_created.as_deref().and_then(crate::scan::iso_to_filetime).unwrap_or(0);
        Some(StoryBuilder {
            guid: actor.guid(),
            actor,
            computer: f.computer.as_deref().map(str::to_string),
            at,
            stage: Stage::Acts,
            pending: Vec::new(),
            asked: false,
            events: Vec::new(),
            ancestors: Vec::new(),
            truncated: false,
            chunks_read: 0,
            lean: false,
        })
    }

    /// A story told for an incident, which keeps its summary and where its
    /// events are but no event's details: only the creation's details and
    /// those the summary reads are kept (the 1 GiB bench log's 305 incidents
    /// held 209,981 events with every detail).
    pub fn for_incident(mut self) -> Self {
        self.lean = true;
        self
    }

    /// The chunks to read next (then give each to [`Self::add_chunk`]); empty when the story is complete.
    pub fn wanted(&mut self, index: &RunIndex) -> Vec<ChunkRef> {
        loop {
            if self.stage == Stage::Done {
                return Vec::new();
            }
            if !self.asked {
                self.pending = self.chunks_of_stage(index);
                self.asked = true;
            }
            let room = MAX_STORY_CHUNKS.saturating_sub(self.chunks_read);
            if room == 0 && !self.pending.is_empty() {
                self.truncated = true;
                self.pending.clear();
            }
            let take = match self.stage {
                Stage::Acts => self.pending.len(),
                _ => LOOKBACK_BATCH,
            }
            .min(room);
            if !self.pending.is_empty() {
                let from = self.pending.len().saturating_sub(take);
                return self.pending.split_off(from).into_iter().rev().collect();
            }
            self.next_stage();
        }
    }

    /// Every chunk of this stage, in the order to read them reversed (the next last).
    fn chunks_of_stage(&self, index: &RunIndex) -> Vec<ChunkRef> {
        let computer = self.computer.as_deref();
        let mut chunks: Vec<(u64, ChunkRef)> = Vec::new();
        for (file, fi) in index.files() {
            let mut add = |list: Vec<u64>| {
                chunks.extend(list.into_iter().map(|chunk| (chunk, ChunkRef { file: file.to_string(), chunk })));
            };
            match &self.stage {
                Stage::Acts => match self.guid {
                    Some(g) => add(fi.chunks_with(g).to_vec()),
                    None => add(fi.chunks_between(computer, self.at.saturating_sub(PID_BEFORE), self.at + PID_AFTER)),
                },
                Stage::Ancestor { guid, before, .. } => {
                    let starts_before = |c: &u64| fi.chunk_first_time(*c).is_some_and(|t| t <= *before);
                    match guid {
                        Some(g) => add(fi.chunks_creating(*g).iter().copied().filter(starts_before).collect()),
                        None => add(fi.chunks_between(computer, before.saturating_sub(PID_BEFORE), *before)),
                    }
                }
                Stage::Done => {}
            }
        }
        match self.stage {
            // Read in file order.
            Stage::Acts => chunks.into_iter().rev().map(|(_, c)| c).collect(),
            // Latest first: the creation is the last one before.
            _ => {
                let mut with_time: Vec<(u64, ChunkRef)> =
                    chunks.into_iter().map(|(chunk, c)| (latest_time(index.file(&c.file), chunk), c)).collect();
                with_time.sort_by_key(|(t, _)| *t);
                with_time.into_iter().map(|(_, c)| c).collect()
            }
        }
    }

    fn next_stage(&mut self) {
        self.asked = false;
        let (depth, from) = match &self.stage {
            Stage::Acts => (1, self.events.iter().find(|e| e.role == Role::Created).cloned()),
            Stage::Ancestor { depth, .. } => (depth + 1, self.ancestors.last().filter(|a| a.role == Role::Ancestor(*depth)).cloned()),
            Stage::Done => return,
        };
        self.stage = match from.and_then(|creation| parent_of(&creation)) {
            Some((guid, pid, before)) if (depth as usize) <= MAX_ANCESTORS => Stage::Ancestor { depth, guid, pid, before },
            _ => Stage::Done,
        };
    }

    /// Reads one asked-for chunk from its bytes (a record without the GUID
    /// looked for is not rendered: 5 incidents of the hit-rich bench log took
    /// 1.6 s with every record rendered).
    pub fn add_chunk(&mut self, file: &str, chunk: u64, bytes: &[u8]) {
        let needles = self.looked_for().map(Guid::needles);
        let holds = |_, raw: &[u8]| needles.as_ref().is_none_or(|n| n.iter().any(|n| memchr::memmem::find(raw, n).is_some()));
        let events = crate::reread::events_in_chunk_where(bytes, chunk, holds).unwrap_or_default();
        self.add_events(file, chunk, &events);
    }

    /// The GUID the events of this stage carry (`None`: they are found by
    /// PID and time, so every record of a chunk must be looked at).
    pub fn looked_for(&self) -> Option<Guid> {
        match &self.stage {
            Stage::Acts => self.guid,
            Stage::Ancestor { guid, .. } => *guid,
            Stage::Done => None,
        }
    }

    /// Takes the events of one asked-for chunk (events of others may be
    /// among them: only the story's own are kept).
    pub fn add_events<'e>(&mut self, file: &str, chunk: u64, events: impl IntoIterator<Item = &'e (u64, EventView)>) {
        self.chunks_read += 1;
        for (offset, view) in events {
            if !self.same_computer(view) {
                continue;
            }
            match self.stage.clone() {
                Stage::Acts => {
                    if let Some(role) = self.role_of(view) {
                        if self.events.len() < MAX_STORY_EVENTS {
                            let mut event = StoryEvent::new(file, chunk, *offset, view, role);
                            if self.lean && role != Role::Created {
                                event.keep_told_details();
                            }
                            self.events.push(event);
                        } else {
                            self.truncated = true;
                        }
                    }
                }
                Stage::Ancestor { depth, guid, pid, before } => {
                    if is_creation_of(view, guid, pid, before) {
                        self.found_ancestor(StoryEvent::new(file, chunk, *offset, view, Role::Ancestor(depth)));
                    }
                }
                Stage::Done => {}
            }
        }
        if let Stage::Acts = self.stage {
            self.keep_one_creation();
        }
    }

    fn same_computer(&self, view: &EventView) -> bool {
        let theirs = view.basics().computer;
        self.computer.as_deref().is_none_or(|c| theirs.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(c)))
    }

    /// A later creation of the same ancestor replaces an earlier one; the search stops at the latest.
    fn found_ancestor(&mut self, event: StoryEvent) {
        // Of creations at the same time (a log holding copies of its chunks),
        // the first in the file, whatever order the chunks came in.
        let better = match self.ancestors.last() {
            Some(last) if last.role == event.role => {
                (&event.time_created, std::cmp::Reverse((&event.file, event.offset)))
                    > (&last.time_created, std::cmp::Reverse((&last.file, last.offset)))
            }
            _ => true,
        };
        if better {
            if self.ancestors.last().is_some_and(|l| l.role == event.role) {
                self.ancestors.pop();
            }
            self.ancestors.push(event);
        }
        // Chunks come latest first: this chunk's latest creation is the one.
        self.pending.clear();
    }

    /// Security: of the PID's creations, only the latest at or before the finding is its creation.
    fn keep_one_creation(&mut self) {
        if self.guid.is_some() {
            return;
        }
        let at = crate::quick::format_filetime(self.at);
        let created = self.events.iter().filter(|e| e.role == Role::Created && e.time_created.as_deref() <= Some(at.as_str()));
        let latest = created.map(|e| e.offset).max();
        self.events.retain(|e| e.role != Role::Created || Some(e.offset) == latest);
    }

    /// How the event belongs to the story, if it does.
    fn role_of(&self, view: &EventView) -> Option<Role> {
        let event_id = view.basics().event_id;
        match self.guid {
            Some(g) => {
                let is = |name: &str| field(view, name).and_then(|v| Guid::parse(&v)) == Some(g);
                if is("ProcessGuid") && event_id == Some(1) {
                    Some(Role::Created)
                } else if is("ProcessGuid") || is("SourceProcessGUID") {
                    Some(Role::Acted)
                } else if is("ParentProcessGuid") {
                    Some(Role::StartedChild)
                } else {
                    None
                }
            }
            None => {
                let pid = self.actor.process_id?;
                let time = view.basics().time_created.as_deref().and_then(crate::scan::iso_to_filetime).unwrap_or(0);
                let security = view.basics().channel.is_some_and(|c| c.eq_ignore_ascii_case("Security"));
                if !security || time + PID_BEFORE < self.at || time > self.at + PID_AFTER {
                    return None; // Security events only: Sysmon names processes by GUID.
                }
                if event_id == Some(4688) && field_pid(view, "NewProcessId") == Some(pid) {
                    Some(Role::Created)
                } else if event_id == Some(4688) && field_pid(view, "ProcessId") == Some(pid) {
                    Some(Role::StartedChild)
                } else if field_pid(view, "ProcessId") == Some(pid) {
                    Some(Role::Acted)
                } else {
                    None
                }
            }
        }
    }

    /// The story, its summary built around the findings given (those of its incident).
    pub fn finish(mut self, findings: &[&Finding]) -> Story {
        // A PID's events before its creation belong to an earlier process with that PID.
        if self.guid.is_none() {
            if let Some(created) = self.events.iter().find(|e| e.role == Role::Created).and_then(|e| e.time_created.clone()) {
                self.events.retain(|e| e.time_created.as_deref() >= Some(created.as_str()));
            }
        }
        self.events.sort_by(|a, b| (&a.time_created, &a.file, a.offset).cmp(&(&b.time_created, &b.file, b.offset)));
        let summary = summarize(&self.actor, &self.events, &self.ancestors, findings);
        Story {
            actor: self.actor,
            computer: self.computer,
            summary,
            ancestors: self.ancestors,
            events: self.events,
            truncated: self.truncated,
            chunks_read: self.chunks_read,
        }
    }
}

/// The process GUIDs by which an event can belong to a story (see
/// `StoryBuilder::role_of`): its process, the source process, the parent.
pub fn story_guids(view: &EventView) -> [Option<Guid>; 3] {
    ["ProcessGuid", "SourceProcessGUID", "ParentProcessGuid"].map(|name| field(view, name).and_then(|v| Guid::parse(&v)))
}

/// The latest record time of a chunk, by the index.
fn latest_time(index: Option<&FileIndex>, chunk: u64) -> u64 {
    index.map_or(0, |i| i.chunk_last_time(chunk).unwrap_or(0))
}

/// The parent a creation event names: (GUID, PID, the creation's time).
fn parent_of(creation: &StoryEvent) -> Option<(Option<Guid>, Option<u64>, u64)> {
    let time = creation.time_created.as_deref().and_then(crate::scan::iso_to_filetime)?;
    let guid = creation.details.get("ParentProcessGuid").and_then(Guid::parse);
    let pid = creation.detail("ParentProcessId").or(creation.detail("ProcessId").filter(|_| creation.event_id == Some(4688)));
    let pid = pid.and_then(|p| parse_pid(&Value::String(p.to_string())));
    (guid.is_some() || pid.is_some()).then_some((guid, pid, time))
}

/// The GUID of the process an EventID 1 event creates (its `ProcessGuid`).
pub fn created_guid(view: &EventView) -> Option<Guid> {
    field(view, "ProcessGuid").and_then(|v| Guid::parse(&v))
}

/// Whether the event created the process with this GUID (or, Security, this PID) before `before`.
fn is_creation_of(view: &EventView, guid: Option<Guid>, pid: Option<u64>, before: u64) -> bool {
    let b = view.basics();
    let time = b.time_created.as_deref().and_then(crate::scan::iso_to_filetime).unwrap_or(u64::MAX);
    if time > before {
        return false;
    }
    match (guid, b.event_id) {
        (Some(g), Some(CREATION_EVENT_ID)) => created_guid(view) == Some(g),
        (None, Some(4688)) => pid.is_some() && field_pid(view, "NewProcessId") == pid,
        _ => false,
    }
}

/// "procdump64.exe (PID 3572, started 09:19:58 by cmd.exe as CORP\jdoe: `procdump64.exe -ma lsass.exe`)
/// opened lsass.exe through dbghelp.dll at 09:20:13 and wrote C:\Users\jdoe\lsass.dmp at 09:20:14".
pub fn summarize(actor: &Actor, events: &[StoryEvent], _ancestors: &[StoryEvent], findings: &[&Finding]) -> String {
    let image = actor.image.as_deref().map(base_name).unwrap_or("an unnamed process");
    let creation = events.iter().find(|e| e.role == Role::Created);
    let mut about = Vec::new();
    if let Some(pid) = actor.process_id {
        about.push(format!("PID {pid}"));
    }
    if let Some(c) = creation {
        let parent = c.detail("ParentImage").or(c.detail("ParentProcessName")).map(base_name);
        let user = c.detail("User").map(str::to_string).or_else(|| {
            let (d, u) = (c.detail("SubjectDomainName"), c.detail("SubjectUserName"));
            u.map(|u| d.map_or(u.to_string(), |d| format!("{d}\\{u}")))
        });
        let mut started = format!("started {}", clock(c.time_created.as_deref()));
        if let Some(p) = parent {
            started.push_str(&format!(" by {p}"));
        }
        if let Some(u) = user {
            started.push_str(&format!(" as {u}"));
        }
        if let Some(cmd) = c.detail("CommandLine") {
            started.push_str(&format!(": `{cmd}`"));
        }
        about.push(started);
    }
    let head = if about.is_empty() { image.to_string() } else { format!("{image} ({})", about.join(", ")) };
    // What it did: the findings' events, and the files, threads and connections of its story.
    // Events are found by place through maps: searched per finding, a story of
    // 5,000 events with 10,000 findings made 50 million comparisons.
    let mut event_at: HashMap<(&str, u64), &StoryEvent> = HashMap::new();
    for e in events {
        event_at.entry(e.place()).or_insert(e);
    }
    let found_at: HashSet<(&str, u64)> = findings.iter().map(|f| (&*f.file, f.offset)).collect();
    let mut told: Vec<(Option<&str>, String)> = findings
        .iter()
        .map(|f| {
            let what = event_at.get(&(&*f.file, f.offset)).and_then(|e| e.what());
            (f.time_created.as_deref(), what.unwrap_or_else(|| format!("triggered \u{201c}{}\u{201d}", f.analytic_title)))
        })
        .collect();
    let notable = |e: &&StoryEvent| e.sysmon() && e.role == Role::Acted && e.event_id.is_some_and(|id| TOLD_SYSMON_EVENTS.contains(&id));
    told.extend(
        events
            .iter()
            .filter(notable)
            .filter(|e| !found_at.contains(&e.place()))
            .filter_map(|e| Some((e.time_created.as_deref(), e.what()?))),
    );
    told.sort_by(|a, b| a.0.cmp(&b.0));
    let mut deeds: Vec<(String, Option<&str>, usize)> = Vec::new();
    let mut deed_of: HashMap<String, usize> = HashMap::new();
    for (time, what) in told {
        match deed_of.get(&what) {
            Some(&at) => deeds[at].2 += 1,
            None => {
                deed_of.insert(what.clone(), deeds.len());
                deeds.push((what, time, 1));
            }
        }
    }
    let more = deeds.len().saturating_sub(MAX_DEEDS);
    let mut deeds: Vec<String> = deeds
        .into_iter()
        .take(MAX_DEEDS)
        .map(|(what, time, n)| match n {
            1 => format!("{what} at {}", clock(time)),
            n => format!("{what} {n} times, first at {}", clock(time)),
        })
        .collect();
    if more > 0 {
        deeds.push(format!("{more} more (see its story)"));
    }
    match deeds.as_slice() {
        [] => head,
        [one] => format!("{head} {one}"),
        [rest @ .., last] => format!("{head} {} and {last}", rest.join(", ")),
    }
}

/// `09:20:13` of an ISO time (UTC).
fn clock(time: Option<&str>) -> String {
    time.and_then(|t| t.get(11..19)).unwrap_or("?").to_string()
}

/// Tells a story from files on disk, chunk by chunk (the CLI; the page reads its `File`s).
#[cfg(not(target_arch = "wasm32"))]
pub fn story_from_disk(
    mut builder: StoryBuilder,
    index: &RunIndex,
    paths: &std::collections::BTreeMap<String, std::path::PathBuf>,
    findings: &[&Finding],
) -> Story {
    loop {
        let wanted = builder.wanted(index);
        if wanted.is_empty() {
            return builder.finish(findings);
        }
        for c in wanted {
            builder.add_chunk(&c.file, c.chunk, &chunk_from_disk(paths, &c));
        }
    }
}

/// The bytes of an asked-for chunk of a file on disk (none when it cannot be read).
#[cfg(not(target_arch = "wasm32"))]
pub fn chunk_from_disk(paths: &std::collections::BTreeMap<String, std::path::PathBuf>, c: &ChunkRef) -> Vec<u8> {
    paths.get(&c.file).and_then(|p| crate::reread::chunk_in_file(p, c.chunk).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event of this channel and id with every detail a story keeps, each its own value.
    fn event_with_every_detail(channel: &str, event_id: u64) -> StoryEvent {
        let mut details: Details = DETAIL_FIELDS.iter().map(|&n| (n.to_string(), format!("value of {n}"))).collect();
        details.insert(DUMP_LIBRARY.into(), "dbghelp.dll".into());
        StoryEvent {
            file: "log.evtx".into(),
            chunk: 0,
            offset: 4096,
            event_record_id: 1,
            event_id: Some(event_id),
            time_created: Some("2024-01-01T00:00:00.0000000Z".into()),
            computer: Some("host".into()),
            channel: Some(channel.into()),
            role: Role::Acted,
            details,
        }
    }

    #[test]
    fn an_incident_event_keeps_exactly_the_details_its_summary_reads() {
        let sysmon = "Microsoft-Windows-Sysmon/Operational";
        let kinds =
            [(sysmon, 1), (sysmon, 3), (sysmon, 5), (sysmon, 7), (sysmon, 8), (sysmon, 10), (sysmon, 11), (sysmon, 13), (sysmon, 22)];
        for (channel, id) in kinds.into_iter().chain([("Security", 4688), ("Security", 4624)]) {
            let full = event_with_every_detail(channel, id);
            let mut lean = full.clone();
            lean.keep_told_details();
            assert_eq!(lean.what(), full.what(), "{channel} {id}");
            let kept: Vec<&str> = lean.details.names().collect();
            let mut told = full.told_details().to_vec();
            told.sort_unstable();
            assert_eq!(kept, told, "{channel} {id}");
        }
        let mut load = event_with_every_detail(sysmon, 7);
        load.keep_told_details();
        assert_eq!(load.what().as_deref(), Some("loaded value of ImageLoaded"));
        assert_eq!(load.details.len(), 1);
    }
}
