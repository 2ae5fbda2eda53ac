//! The results of a run: findings, per-file reports, statistics, coverage.
//!
//! This is the one JSON schema the CLI prints (`--format json`) and the
//! browser app exports; `schema_version` changes when it does.

use crate::analytics::AnalyticInfo;
use crate::intern::SharedText;
use crate::rules::MatchedField;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// 3: `files[].sha256`, `duplicate_of` and the status `duplicate`.
/// 4: `incidents`, and `findings[].actor`.
/// 5: `timeline`.
pub const SCHEMA_VERSION: u32 = 5;

/// One event on which one analytic fired: where its record is, the summary
/// columns and the fields that matched. The full event is not kept (a few
/// hundred bytes per finding instead of whole events): it is read again
/// from the file when wanted (see `reread`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub analytic_id: SharedText,
    pub analytic_title: SharedText,
    /// The rule's level (`high`), when it has one.
    #[serde(default)]
    pub level: Option<SharedText>,
    pub file: SharedText,
    /// Index of the chunk holding the record (0 = first after the header).
    pub chunk: u64,
    /// File offset of the record.
    #[serde(default)]
    pub offset: u64,
    /// Text exports: the record's line, and its length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    pub event_record_id: u64,
    pub event_id: Option<u64>,
    pub time_created: Option<String>,
    pub computer: Option<SharedText>,
    pub channel: Option<SharedText>,
    /// ATT&CK as the behaviour maps (technique, sub-technique, tactic ids).
    pub attack: Arc<[String]>,
    pub d3fend: Arc<[String]>,
    /// The process that acted (Sysmon `SourceImage` / `Image`), when known.
    pub source_process: Option<SharedText>,
    /// The acting process by GUID or PID: whose story and incident this finding is part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::story::Actor>,
    /// Set when the acting process is a known false positive of the analytic.
    pub false_positive_hint: Option<SharedText>,
    /// The fields and values that made the rule match.
    pub matched: Box<[MatchedField]>,
    /// The fields the rule looks at that the event has and that are not in
    /// `matched` (for instance the acting process).
    pub snippet: Snippet,
    /// The record was cut short (by the end of the file): read as far as its bytes go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// (Boxed, as `recovered`: rare, and 16 bytes more in every finding inline.)
    pub partial: Option<Box<PartialRecord>>,
    /// The record was carved from where a record walk does not look.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Box<Recovered>>,
}

impl Finding {
    /// How the record was read when it was not a live one: `partial: 700 of
    /// 2,320 bytes` or `recovered: chunk slack, ...`.
    pub fn recovery_text(&self) -> Option<String> {
        if let Some(p) = &self.partial {
            return Some(format!("partial: {} of {} bytes", thousands(p.bytes_present), thousands(p.record_size)));
        }
        self.recovered.as_ref().map(|r| format!("recovered: {}", r.describe()))
    }
}

/// A finding's other fields, kept as the JSON object they print as: its
/// text is a third of what the parsed map took (about 70 against 220 heap
/// bytes per finding with the SigmaHQ pack), and it is read back only when
/// a finding is shown or correlated. It serializes as the map it holds, so
/// a pretty report stays pretty all the way down.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Snippet(Box<RawValue>);

impl Serialize for Snippet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.fields().serialize(serializer)
    }
}

impl Snippet {
    pub fn new(fields: &Map<String, Value>) -> Self {
        let text = serde_json::to_string(fields).expect("a map of JSON values prints");
        Snippet(RawValue::from_string(text).expect("printed JSON is JSON"))
    }

    /// The fields, parsed again.
    pub fn fields(&self) -> Map<String, Value> {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    /// The compact JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The JSON text, serialized as it is (by `serde_json` only).
    pub fn raw(&self) -> &RawValue {
        &self.0
    }
}

impl PartialEq for Snippet {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Default for Snippet {
    /// No fields (every search hit has none: made without printing a map).
    fn default() -> Self {
        Snippet(RawValue::from_string("{}".to_string()).expect("{} is JSON"))
    }
}

/// A record cut short: how many of its bytes the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialRecord {
    pub bytes_present: u64,
    pub record_size: u64,
}

/// Where a carved record was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "found", rename_all = "snake_case")]
pub enum Recovered {
    /// Inside the declared size of the record before it (an edited log hides records so).
    InsideRecord { container_offset: u64, container_record_id: u64 },
    /// After the chunk's free-space offset (older records of a reused or cleared chunk).
    ChunkSlack,
    /// Between damaged records, where the record walk does not reach.
    BetweenRecords,
    /// In a chunk whose header is broken but whose records are whole.
    BrokenChunkHeader,
}

impl Recovered {
    /// With offsets counted from the file's start, not the chunk's.
    pub fn in_file(self, chunk_offset: u64) -> Self {
        match self {
            Recovered::InsideRecord { container_offset, container_record_id } => {
                Recovered::InsideRecord { container_offset: chunk_offset + container_offset, container_record_id }
            }
            other => other,
        }
    }

    /// Where it was found, in a few words, for tables and the page.
    pub fn describe(&self) -> String {
        match self {
            Recovered::InsideRecord { container_offset, container_record_id } => {
                format!("inside record {container_record_id} (offset {container_offset:#x})")
            }
            Recovered::ChunkSlack => "chunk slack, after the free-space offset".into(),
            Recovered::BetweenRecords => "between damaged records".into(),
            Recovered::BrokenChunkHeader => "chunk with a broken header".into(),
        }
    }
}

impl RecoveryCounts {
    /// `2 record(s) recovered (1 copy of a live record dropped), 1 partial`, or `None` when all are zero.
    pub fn summary(&self) -> Option<String> {
        if *self == RecoveryCounts::default() {
            return None;
        }
        Some(format!(
            "{} record(s) recovered ({} copy(ies) of live records dropped), {} partial",
            thousands(self.recovered),
            thousands(self.duplicates),
            thousands(self.partial)
        ))
    }
}

/// Records read apart from the live ones (not in `records`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCounts {
    /// Records cut short and read as far as their bytes go.
    pub partial: u64,
    /// Records carved (swallowed, in slack, in a broken chunk).
    pub recovered: u64,
    /// Carved records dropped because a live record is the same (same id and time).
    pub duplicates: u64,
}

/// Something wrong inside a file that did not stop it being read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// `header`, `chunk`, `checksum`, `truncated`, `record`, `internal`, `cancelled`.
    pub kind: String,
    /// Chunk index, when the issue is in a chunk.
    pub chunk: Option<u64>,
    /// Byte offset in the file.
    pub offset: u64,
    /// Line in the file, for text exports (JSON, XML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub reason: String,
}

/// A count with thousands separators (`1,201`), for messages and the page.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Issue {
    /// Where in the file, as a reader looks it up: `line 3, offset 0x1c` or `chunk 2, offset 0x21000`.
    pub fn location(&self) -> String {
        let before = match (self.line, self.chunk) {
            (Some(line), _) => format!("line {line}, "),
            (None, Some(chunk)) => format!("chunk {chunk}, "),
            (None, None) => String::new(),
        };
        format!("{before}offset {:#x}", self.offset)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Every chunk was read without an error.
    Ok,
    /// Read, but some chunks or records could not be (see `issues`).
    Partial,
    /// Nothing could be read (see `error`).
    Unreadable,
    /// The same bytes as an earlier input (see `duplicate_of`): analyzed once, as that one.
    Duplicate,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Ok => "ok",
            FileStatus::Partial => "partial",
            FileStatus::Unreadable => "unreadable",
            FileStatus::Duplicate => "duplicate",
        }
    }
}

/// Counts of events by channel and EventID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCount {
    pub channel: String,
    pub event_id: u64,
    pub count: u64,
}

/// Statistics over every record read (not only those the rules looked at).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub records: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub computers: Vec<String>,
    pub event_counts: Vec<EventCount>,
}

/// Mergeable form of [`Stats`] while a run goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsBuilder {
    pub records: u64,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    pub computers: BTreeMap<String, u64>,
    /// (channel, EventID) -> count
    pub event_counts: BTreeMap<String, BTreeMap<u64, u64>>,
    /// Events per minute per computer and channel, for the timeline (not in [`Stats`]).
    #[serde(default)]
    pub timeline: crate::timeline::TimelineCounts,
}

impl StatsBuilder {
    pub fn add_record(&mut self, time: Option<&str>, computer: Option<&str>, channel: Option<&str>, event_id: Option<u64>) {
        if let Some(t) = time {
            self.add_time(t);
        }
        self.timeline.add(computer, channel, time.and_then(crate::timeline::minute_of_iso));
        self.count(computer, channel, event_id);
    }

    /// A record whose time is a FILETIME (read without rendering): counted, and on the
    /// timeline, but its time is not added to the range (the caller adds the extremes).
    pub fn add_record_at(&mut self, filetime: Option<u64>, computer: Option<&str>, channel: Option<&str>, event_id: Option<u64>) {
        self.timeline.add(computer, channel, filetime.map(crate::timeline::minute_of_filetime));
        self.count(computer, channel, event_id);
    }

    fn count(&mut self, computer: Option<&str>, channel: Option<&str>, event_id: Option<u64>) {
        self.records += 1;
        if let Some(c) = computer {
            match self.computers.get_mut(c) {
                Some(n) => *n += 1,
                None => {
                    self.computers.insert(c.to_string(), 1);
                }
            }
        }
        if let Some(id) = event_id {
            let ids = match self.event_counts.get_mut(channel.unwrap_or("")) {
                Some(ids) => ids,
                None => self.event_counts.entry(channel.unwrap_or("").to_string()).or_default(),
            };
            *ids.entry(id).or_default() += 1;
        }
    }

    /// Widens the time range to include `t` (ISO-8601 UTC, one format throughout).
    pub fn add_time(&mut self, t: &str) {
        {
            // ISO-8601 UTC timestamps of one format order as text.
            if self.first_time.as_deref().is_none_or(|f| t < f) {
                self.first_time = Some(t.to_string());
            }
            if self.last_time.as_deref().is_none_or(|l| t > l) {
                self.last_time = Some(t.to_string());
            }
        }
    }

    pub fn merge(&mut self, other: &StatsBuilder) {
        self.records += other.records;
        if let Some(t) = &other.first_time {
            if self.first_time.as_ref().is_none_or(|f| t < f) {
                self.first_time = Some(t.clone());
            }
        }
        if let Some(t) = &other.last_time {
            if self.last_time.as_ref().is_none_or(|l| t > l) {
                self.last_time = Some(t.clone());
            }
        }
        for (c, n) in &other.computers {
            *self.computers.entry(c.clone()).or_default() += n;
        }
        for (ch, ids) in &other.event_counts {
            let mine = self.event_counts.entry(ch.clone()).or_default();
            for (id, n) in ids {
                *mine.entry(*id).or_default() += n;
            }
        }
        self.timeline.merge(&other.timeline);
    }

    pub fn has_event(&self, channel: Option<&str>, event_id: u64) -> bool {
        self.event_counts.iter().any(|(ch, ids)| channel.is_none_or(|c| c.eq_ignore_ascii_case(ch)) && ids.contains_key(&event_id))
    }

    pub fn build(&self) -> Stats {
        Stats {
            records: self.records,
            first_time: self.first_time.clone(),
            last_time: self.last_time.clone(),
            computers: self.computers.keys().cloned().collect(),
            event_counts: self
                .event_counts
                .iter()
                .flat_map(|(ch, ids)| ids.iter().map(move |(id, n)| EventCount { channel: ch.clone(), event_id: *id, count: *n }))
                .collect(),
        }
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileReport {
    pub file: String,
    pub size: u64,
    /// SHA-256 of the file's bytes, computed as the scan read them (`None`
    /// when the scan did not read the whole file: cancelled, or a part lost).
    #[serde(default)]
    pub sha256: Option<String>,
    /// The earlier input with the same SHA-256 (status `duplicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// The format recognized from the file's content (none when unreadable).
    #[serde(default)]
    pub format: Option<crate::input::InputFormat>,
    pub status: FileStatus,
    /// Why the file could not be read at all (status `unreadable`).
    pub error: Option<String>,
    pub chunks: u64,
    /// Chunks skipped by the literal prefilter (no rule could match them).
    pub chunks_skipped: u64,
    pub records: u64,
    pub findings: u64,
    pub issues: Vec<Issue>,
    /// Signs that records were removed: EventRecordID gaps, time running
    /// backwards, log-cleared events (facts about the evidence, not errors).
    #[serde(default)]
    pub notes: Vec<crate::integrity::Note>,
    #[serde(default)]
    pub recovery: RecoveryCounts,
    pub stats: Stats,
}

impl FileReport {
    /// An input whose bytes are those of the earlier input `of`: nothing of it is analyzed again.
    pub fn duplicate(file: &str, size: u64, sha256: String, of: &str) -> Self {
        FileReport {
            file: file.to_string(),
            size,
            sha256: Some(sha256),
            duplicate_of: Some(of.to_string()),
            format: None,
            status: FileStatus::Duplicate,
            error: None,
            chunks: 0,
            chunks_skipped: 0,
            records: 0,
            findings: 0,
            issues: Vec::new(),
            notes: Vec::new(),
            recovery: RecoveryCounts::default(),
            stats: Stats::default(),
        }
    }

    /// How the file was read: `12 chunks` (EVTX) or its text format.
    pub fn layout(&self) -> String {
        match self.format {
            Some(f) if f != crate::input::InputFormat::Evtx => f.label().to_string(),
            _ => format!("{} chunks", self.chunks),
        }
    }
}

/// Whether an analytic could fire on the data at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub analytic_id: String,
    /// `None` when the rule's event type cannot be told from its detection.
    pub could_fire: Option<bool>,
    pub note: String,
}

/// The results of one run over one or more files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub tool: String,
    /// The built-in analytics and every rule that fired (a pack's other
    /// rules are counted in `rules`).
    pub analytics: Vec<AnalyticInfo>,
    pub files: Vec<FileReport>,
    pub findings: Vec<Finding>,
    pub coverage: Vec<Coverage>,
    pub totals: Stats,
    /// Literals the prefilter searched for; empty when it was off.
    pub prefilter_literals: Vec<String>,
    /// Rules loaded, and every rule skipped with its reason.
    pub rules: crate::rule_load::LoadReport,
    /// The findings of each acting process, with its story (see `incident`).
    #[serde(default)]
    pub incidents: Vec<crate::incident::Incident>,
    /// Events per time bucket per computer, with the findings on each (automatic width; see `timeline`).
    #[serde(default)]
    pub timeline: Option<crate::timeline::Timeline>,
}
