//! Analysis: chunks in, findings and statistics out.
//!
//! [`analyze_chunk`] is the unit of work: one 64 KiB chunk, independent of
//! every other, so the CLI's threads and the browser's workers can share a
//! file's chunks and merge the [`ChunkAnalysis`] results in file order.
//! [`FileScan`] folds them into a [`FileReport`]; [`RunBuilder`] folds files
//! into a [`RunReport`].

use crate::event::EventView;
use crate::index::{ChunkKeys, FileIndex, Guid};
use crate::input::InputFormat;
use crate::integrity::{IntegrityBuilder, RecordMark};
use crate::intern::Interner;
use crate::logsource::Scope;
use crate::quick::QuickRecord;
use crate::reader::{ChunkSplitter, RawChunk};
use crate::recover::{ChunkPlan, Found};
use crate::report::*;
use crate::rules::{RuleCatalog, RuleHit, RuleSet};
use evtx::{EvtxChunkData, ParserSettings};
use serde::{Deserialize, Serialize};
use serde_json::Map;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// What one chunk yielded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkAnalysis {
    pub index: u64,
    pub file_offset: u64,
    pub stats: StatsBuilder,
    pub findings: Vec<Finding>,
    pub issues: Vec<Issue>,
    /// The chunk was parsed (not unused space, not refused).
    pub parsed: bool,
    /// Records rendered in full for the rules (the rest only for statistics).
    pub rendered: u64,
    /// Record ids and times, for the file's integrity notes.
    #[serde(default)]
    pub integrity: IntegrityBuilder,
    /// Records read apart from the live ones: cut short or carved.
    #[serde(default)]
    pub found: Vec<FoundRecord>,
    /// Carved records dropped as copies of live ones.
    #[serde(default)]
    pub duplicates: u64,
    /// The chunk's time span, computers and GUIDs, for reading it again (see `index`).
    #[serde(default)]
    pub keys: ChunkKeys,
}

/// A record cut short or carved (see `recover`), for the file's counts and
/// for dropping carved copies of live records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundRecord {
    pub chunk: u64,
    /// File offset of the record.
    pub offset: u64,
    /// System/EventRecordID, else the record header's.
    pub record_id: u64,
    /// TimeCreated, else the record header's time (FILETIME).
    pub filetime: u64,
    pub partial: bool,
}

fn parser_settings() -> Arc<ParserSettings> {
    static SETTINGS: OnceLock<Arc<ParserSettings>> = OnceLock::new();
    SETTINGS.get_or_init(|| Arc::new(ParserSettings::default().num_threads(1))).clone()
}

/// The parser's settings for a chunk: it carves the slack when the plan says so.
pub(crate) fn settings_for(plan: Option<&ChunkPlan>) -> Arc<ParserSettings> {
    if plan.is_some_and(|p| p.carve_slack) {
        carving_settings()
    } else {
        parser_settings()
    }
}

/// The parser's settings for a chunk with records in its slack: it carves them.
fn carving_settings() -> Arc<ParserSettings> {
    static SETTINGS: OnceLock<Arc<ParserSettings>> = OnceLock::new();
    SETTINGS.get_or_init(|| Arc::new(ParserSettings::default().num_threads(1).recover_records(true))).clone()
}

/// Analyzes one chunk. Never panics outward on native targets: a panic in
/// the parser is caught and reported as an issue of this chunk.
pub fn analyze_chunk(file: &str, raw: &RawChunk, rules: &RuleSet) -> ChunkAnalysis {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let run = std::panic::AssertUnwindSafe(|| analyze_chunk_inner(file, raw, rules));
        match std::panic::catch_unwind(run) {
            Ok(a) => a,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let mut a = ChunkAnalysis { index: raw.index, file_offset: raw.file_offset, ..Default::default() };
                a.issues.push(Issue {
                    kind: "internal".into(),
                    chunk: Some(raw.index),
                    offset: raw.file_offset,
                    line: None,
                    reason: format!("the parser failed on this chunk ({what}); its records are not analyzed"),
                });
                a
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    analyze_chunk_inner(file, raw, rules)
}

/// Adds a record's time, computer and GUIDs to its chunk's keys, and the
/// GUIDs of the processes it may create (see `ChunkKeys::creations`).
fn add_keys(
    keys: &mut ChunkKeys,
    filetime: Option<u64>,
    computer: Option<&str>,
    guids: impl IntoIterator<Item = Guid>,
    creations: &[Guid],
) {
    if let Some(t) = filetime {
        keys.add_time(t);
    }
    if let Some(c) = computer.filter(|c| !keys.computers.iter().any(|k| k == c)) {
        keys.computers.push(c.to_string());
    }
    keys.guids.extend(guids);
    keys.creations.extend_from_slice(creations);
}

/// A rendered record's keys.
fn add_view_keys(keys: &mut ChunkKeys, filetime: u64, view: &EventView, b: &crate::event::SystemBasics) {
    let created = (b.event_id == Some(crate::story::CREATION_EVENT_ID)).then(|| crate::story::created_guid(view)).flatten();
    add_keys(keys, Some(filetime), b.computer.as_deref(), guids_of(view), created.as_slice());
}

/// The GUIDs a rendered event carries: its fields named `...Guid` (any case)
/// that hold one, but the provider's (the same on every record of it, and
/// no process a story follows; often written into the template, where the
/// quick path does not look).
pub fn guids_of(view: &EventView) -> impl Iterator<Item = Guid> + '_ {
    let fields = view.fields.as_object().into_iter().flatten();
    fields
        .filter(|(k, _)| k.len() > 4 && k[k.len() - 4..].eq_ignore_ascii_case("guid") && k.as_str() != "Provider_Guid")
        .filter_map(|(_, v)| v.as_str().and_then(Guid::parse))
}

fn analyze_chunk_inner(file: &str, raw: &RawChunk, rules: &RuleSet) -> ChunkAnalysis {
    let mut out = analyze_records(file, raw, rules);
    out.keys.chunk = raw.index;
    out.keys.seal();
    out
}

fn analyze_records(file: &str, raw: &RawChunk, rules: &RuleSet) -> ChunkAnalysis {
    let mut out = ChunkAnalysis { index: raw.index, file_offset: raw.file_offset, ..Default::default() };
    let issue = |kind: &str, offset: u64, reason: String| Issue { kind: kind.into(), chunk: Some(raw.index), offset, line: None, reason };

    if raw.data.iter().all(|&b| b == 0) {
        return out; // Unused, zeroed space after the last chunk: nothing to read.
    }
    if raw.data.len() < 512 {
        out.issues.push(issue(
            "truncated",
            raw.file_offset,
            format!("the file ends {} bytes into this chunk, inside its 512-byte header; nothing to read", raw.data.len()),
        ));
        return out;
    }
    // Records a walk by sizes misses (cut, swallowed, in slack, behind a broken header).
    let plan = crate::recover::plan(&raw.data);
    let _ = raw.as_written.set(plan.as_ref().is_none_or(ChunkPlan::only_carves_slack));
    let header = match evtx::EvtxChunkHeader::from_bytes(&raw.data) {
        Ok(h) => h,
        Err(e) => {
            let reason = error_chain(&e);
            let Some(header) = plan.as_ref().and_then(ChunkPlan::written_header) else {
                out.issues.push(issue("chunk", raw.file_offset, format!("chunk skipped: {reason}")));
                return out;
            };
            out.issues.push(issue(
                "chunk",
                raw.file_offset,
                format!("broken chunk header ({reason}); its whole records are carved and flagged recovered"),
            ));
            header
        }
    };
    let broken_header = plan.as_ref().is_some_and(|p| p.broken_header);
    if let Some(at) = plan.as_ref().and_then(|p| p.foreign_chunk_at) {
        out.issues.push(issue(
            "chunk",
            raw.file_offset + at as u64,
            "another chunk's header starts here, inside this chunk: the file's chunks are off their 64 KiB boundaries from here on \
             (a cut or carved file); the bytes after it are not read"
                .into(),
        ));
    }
    let stale = if raw.is_truncated() || broken_header { None } else { stale_checksum(&raw.data, &header) };
    if raw.is_truncated() {
        out.issues.push(issue(
            "truncated",
            raw.file_offset,
            format!("the file ends {} bytes into this chunk; the whole records before the cut are read", raw.data.len()),
        ));
    } else if let Some(stale) = stale {
        out.issues.push(issue("checksum", raw.file_offset, stale.into()));
    }
    out.parsed = true;

    // Which literals are where (see `prefilter`). A literal inside a template
    // definition reaches every record using the template.
    let hits = rules.prefilter().scan(&raw.data);
    let templates = template_definitions(&raw.data);
    let template_literals =
        crate::prefilter::present_literals(hits.iter().filter(|hit| templates.iter().any(|&(from, to)| hit.pos >= from && hit.pos < to)));
    // System fields for statistics (and for choosing rules by logsource),
    // read without rendering (see `quick`). Only on intact chunks that carry
    // CRCs: damage is for the full parser to find and report.
    let intact = quick_may_read(raw.is_truncated(), &header, stale, plan.as_ref());
    let quick = if rules.quick_stats() && intact { crate::quick::chunk_records(&raw.data) } else { None };
    // A record can match only if a rule of its logsource finds all its literals in it.
    // No literal anywhere, and every rule needs one: no record can match (most
    // chunks of a log with the built-ins alone; no per-record look-ups then).
    let none_can_match = hits.is_empty() && rules.prefilter().every_rule_needs_literals();
    // The literals in a record's bytes and in the templates it may use.
    let literals_in = |start: usize, end: usize| {
        let from = hits.partition_point(|h| h.pos < start);
        let to = hits.partition_point(|h| h.pos < end);
        let mut present = crate::prefilter::present_literals(&hits[from..to]);
        if !template_literals.is_empty() {
            present.extend_from_slice(&template_literals);
            present.sort_unstable();
            present.dedup();
        }
        present
    };
    let is_candidate = |start: usize, end: usize, channel: Option<&str>, event_id: Option<u64>| {
        !none_can_match && rules.record_may_match(channel, event_id, &literals_in(start, end))
    };
    if let Some(records) = &quick {
        if !records.iter().any(|r| is_candidate(r.offset, r.offset + r.size, r.channel.as_deref(), r.event_id)) {
            // No record can match: statistics are all this chunk gives.
            for r in records {
                out.stats.add_record_at(r.filetime, r.computer.as_deref(), r.channel.as_deref(), r.event_id);
                add_keys(&mut out.keys, r.filetime, r.computer.as_deref(), r.guids.iter().copied(), &r.creations);
            }
            let marks: Vec<RecordMark> = records.iter().map(|r| quick_mark(raw.file_offset, r)).collect();
            out.integrity.add_chunk(raw.index, &marks);
            // Only the extremes matter for the time range: format just those.
            // (Text order equals FILETIME order up to year 9999; later ones,
            // rendered with a wrapped year, are added one by one.)
            const LAST_FOUR_DIGIT_YEAR: u64 = 2_650_467_743_999_999_999;
            for far in records.iter().filter_map(|r| r.filetime).filter(|&t| t > LAST_FOUR_DIGIT_YEAR) {
                out.stats.add_time(&crate::quick::format_filetime(far));
            }
            let times = records.iter().filter_map(|r| r.filetime).filter(|&t| t <= LAST_FOUR_DIGIT_YEAR);
            if let (Some(min), Some(max)) = (times.clone().min(), times.max()) {
                out.stats.add_time(&crate::quick::format_filetime(min));
                out.stats.add_time(&crate::quick::format_filetime(max));
            }
            if let Some(plan) = &plan {
                // Only the slack's records are left to parse.
                carve_slack_alone(file, raw, plan, rules, &marks, &mut out);
            }
            return out;
        }
    }

    // Every candidate read from its template values: the chunk need not be
    // parsed at all. Else the views read so far wait for the parse loop.
    let mut views = crate::quick_view::ChunkViews::default();
    let mut ready = HashMap::new();
    if let Some(records) = quick.as_ref().filter(|_| plan.as_ref().is_none_or(ChunkPlan::only_carves_slack)) {
        let needs_view = |q: &QuickRecord| {
            let present = literals_in(q.offset, q.offset + q.size);
            rules.record_may_match(q.channel.as_deref(), q.event_id, &present).then_some(present)
        };
        match quick_views(raw, rules, records, &mut views, needs_view) {
            Ok(viewed) => {
                let marks = add_quick_chunk(file, raw, rules, records, viewed, &mut out);
                if let Some(plan) = &plan {
                    carve_slack_alone(file, raw, plan, rules, &marks, &mut out);
                }
                out.integrity.add_chunk(raw.index, &marks);
                return out;
            }
            Err(viewed) => ready.extend(viewed.into_iter().map(|v| (records[v.index].offset, v.view))),
        }
    }

    let data = crate::recover::bytes_to_parse(plan.as_ref(), &raw.data);
    let mut chunk = match EvtxChunkData::new(data, false) {
        Ok(c) => c,
        Err(e) => {
            out.parsed = false;
            out.issues.push(issue("chunk", raw.file_offset, format!("chunk skipped: {}", error_chain(&e))));
            return out;
        }
    };
    let mut parsed = match chunk.parse(settings_for(plan.as_ref())) {
        Ok(p) => p,
        Err(e) => {
            out.parsed = false;
            out.issues.push(issue("chunk", raw.file_offset, format!("chunk skipped: {}", error_chain(&e))));
            return out;
        }
    };
    let quick_at: HashMap<usize, &QuickRecord> = quick.iter().flatten().map(|q| (q.offset, q)).collect();
    let mut marks = Vec::new();
    // Carved records and their findings, kept apart until the live ones are known.
    let mut carved: Vec<(FoundRecord, Vec<Finding>)> = Vec::new();
    let unreadable_cut = plan.as_ref().and_then(|p| p.unreadable_cut);
    // Where the next record should start, to place errors that name no offset.
    let mut expected_at = 512u64;
    for record in parsed.iter() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let offset = match &e {
                    evtx::err::EvtxError::FailedToReadRecordAt { offset, .. } => *offset,
                    _ => expected_at,
                };
                match unreadable_cut.filter(|c| c.start as u64 == offset) {
                    Some(cut) => out.issues.push(issue("truncated", raw.file_offset + offset, cut.to_string())),
                    None => out.issues.push(issue("record", raw.file_offset + offset, error_chain(&e))),
                }
                continue;
            }
        };
        let start = record.binxml_offset.saturating_sub(24) as usize;
        let end = record.binxml_offset as usize + record.binxml_size as usize;
        expected_at = end as u64 + 4;
        let record_id = record.event_record_id;
        let header_filetime = timestamp_to_filetime(&record.timestamp);
        let record_offset = raw.file_offset + start as u64;
        let found = plan.as_ref().and_then(|p| p.found_at(start, record.recovered));
        if let Some(found) = found {
            carved.extend(read_found(file, raw, record, found, rules, &mut out));
            continue;
        }
        if end + 4 > raw.data.len() {
            // Past the end of a truncated file: the zeros we padded with, not a record.
            let reason = match unreadable_cut.filter(|c| c.start == start) {
                Some(cut) => cut.to_string(),
                None => format!("record {record_id} is cut by the end of the file; not read"),
            };
            out.issues.push(issue("truncated", raw.file_offset + start as u64, reason));
            continue;
        }
        // Quick records are in the parser's order: look up by offset in a map.
        let known = quick_at.get(&start);
        let present = if none_can_match { Vec::new() } else { literals_in(start, end) };
        let candidate =
            !none_can_match && rules.record_may_match(known.and_then(|q| q.channel.as_deref()), known.and_then(|q| q.event_id), &present);
        if !candidate {
            if let Some(q) = known {
                add_quick_record(&mut out, &mut marks, raw.file_offset, q);
                continue;
            }
        }
        // Read from the template values when the quick reader knows the
        // record (an intact chunk), else rendered. Without quick statistics
        // a record is rendered either way, so a damaged one fails the same
        // way whether or not a rule needs it.
        let quick_view = known
            .filter(|_| candidate)
            .and_then(|q| ready.remove(&start).or_else(|| candidate_view(&mut views, &raw.data, start, q.size, rules)));
        let view = match quick_view.map_or_else(|| view_of(record), Ok) {
            Ok(view) => view,
            Err(e) => {
                out.issues.push(issue("record", record_offset, format!("record {record_id}: {e}")));
                continue;
            }
        };
        let at = RecordAt { offset: start, record_id, header_filetime };
        add_viewed_record(file, raw, rules, &mut out, &mut marks, at, &view, candidate.then_some(&present[..]));
    }
    keep_found(carved, &marks, &mut out);
    if let Some(plan) = &plan {
        for c in &plan.covers {
            out.integrity.add_cover(raw.index, raw.file_offset, c);
        }
    }
    out.integrity.add_chunk(raw.index, &marks);
    out
}

/// A record's event view, or why it does not render (its error chain).
pub(crate) fn view_of(record: evtx::EvtxRecord<'_>) -> Result<EventView, String> {
    let json = record.into_json_bytes().map_err(|e| error_chain(&e))?;
    EventView::from_evtx_json(&json.data).map_err(|e| error_chain(&e))
}

/// A candidate record's view, read from its template values.
struct QuickView {
    /// Its place in the chunk's quick records.
    index: usize,
    present: Vec<usize>,
    view: EventView,
}

/// A candidate record's view from its template values: of its System fields
/// alone when they are all the rules read (see `RuleSet::system_view_fields`).
fn candidate_view(
    views: &mut crate::quick_view::ChunkViews,
    chunk: &[u8],
    offset: usize,
    size: usize,
    rules: &RuleSet,
) -> Option<EventView> {
    rules.system_view_fields().and_then(|needed| views.system_view(chunk, offset, size, needed)).or_else(|| views.view(chunk, offset, size))
}

/// The views of the records for which `needs_view` gives their literals
/// (`Some`): all of them, or `Err` with those read before the first that the
/// quick view gives up on.
fn quick_views(
    raw: &RawChunk,
    rules: &RuleSet,
    records: &[QuickRecord],
    views: &mut crate::quick_view::ChunkViews,
    needs_view: impl Fn(&QuickRecord) -> Option<Vec<usize>>,
) -> Result<Vec<QuickView>, Vec<QuickView>> {
    let mut viewed = Vec::new();
    for (index, q) in records.iter().enumerate() {
        let Some(present) = needs_view(q) else { continue };
        match candidate_view(views, &raw.data, q.offset, q.size, rules) {
            Some(view) => viewed.push(QuickView { index, present, view }),
            None => return Err(viewed),
        }
    }
    Ok(viewed)
}

/// An intact chunk's records from the quick reader alone, the candidates'
/// views given; its records' integrity marks.
fn add_quick_chunk(
    file: &str,
    raw: &RawChunk,
    rules: &RuleSet,
    records: &[QuickRecord],
    viewed: Vec<QuickView>,
    out: &mut ChunkAnalysis,
) -> Vec<RecordMark> {
    let mut marks = Vec::with_capacity(records.len());
    let mut viewed = viewed.into_iter().peekable();
    for (index, q) in records.iter().enumerate() {
        match viewed.next_if(|v| v.index == index) {
            None => add_quick_record(out, &mut marks, raw.file_offset, q),
            Some(v) => {
                let at = RecordAt { offset: q.offset, record_id: q.record_id, header_filetime: header_filetime_at(&raw.data, q.offset) };
                add_viewed_record(file, raw, rules, out, &mut marks, at, &v.view, Some(&v.present));
            }
        }
    }
    marks
}

/// The record header's time (a FILETIME) of the record at `offset`.
fn header_filetime_at(chunk: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(chunk[offset + 16..offset + 24].try_into().expect("8 bytes"))
}

/// A record no rule needs: its quick System fields are all it gives.
fn add_quick_record(out: &mut ChunkAnalysis, marks: &mut Vec<RecordMark>, chunk_offset: u64, q: &QuickRecord) {
    add_quick_stats(&mut out.stats, q);
    add_keys(&mut out.keys, q.filetime, q.computer.as_deref(), q.guids.iter().copied(), &q.creations);
    marks.push(quick_mark(chunk_offset, q));
}

/// Where a record is in its chunk, from its header.
struct RecordAt {
    offset: usize,
    record_id: u64,
    header_filetime: u64,
}

/// A record read as a view: its keys, mark and statistics, and, for a
/// candidate (`present`: the literals in it), its findings.
#[allow(clippy::too_many_arguments)]
fn add_viewed_record(
    file: &str,
    raw: &RawChunk,
    rules: &RuleSet,
    out: &mut ChunkAnalysis,
    marks: &mut Vec<RecordMark>,
    at: RecordAt,
    view: &EventView,
    present: Option<&[usize]>,
) {
    let record_offset = raw.file_offset + at.offset as u64;
    let b = view.basics();
    let filetime = b.time_created.as_deref().and_then(iso_to_filetime).unwrap_or(at.header_filetime);
    if rules.stories() {
        add_view_keys(&mut out.keys, filetime, view, &b);
    }
    marks.push(RecordMark {
        offset: record_offset,
        record_id: at.record_id,
        event_record_id: b.event_record_id.unwrap_or(at.record_id),
        // TimeCreated, as the quick path reads it, else the record header's time.
        filetime: Some(filetime),
        event_id: b.event_id,
        channel: b.channel.as_deref().map(Into::into),
    });
    let header_time;
    let time = match b.time_created.as_deref() {
        Some(time) => time,
        None => {
            header_time = crate::quick::format_filetime(at.header_filetime);
            &header_time
        }
    };
    out.stats.add_record(Some(time), b.computer.as_deref(), b.channel.as_deref(), b.event_id);
    if let Some(present) = present {
        out.rendered += 1;
        for hit in rules.evaluate_with_literals(view, present) {
            out.findings.push(make_finding(file, raw.index, record_offset, at.record_id, view, hit, rules));
        }
    }
}

/// A record found by `recover` (cut or carved): rendered whether or not a
/// rule may match, since its own id and time tell a copy of a live record,
/// and run through every rule (the prefilter cannot see the literals of a
/// template defined in a carved record before it, which is not in the
/// chunk's template table). `None` for a carved record that does not render:
/// like `evtx` with carved records that do not parse, noise.
fn read_found(
    file: &str,
    raw: &RawChunk,
    record: evtx::EvtxRecord<'_>,
    found: Found,
    rules: &RuleSet,
    out: &mut ChunkAnalysis,
) -> Option<(FoundRecord, Vec<Finding>)> {
    let start = record.binxml_offset.saturating_sub(24);
    let record_offset = raw.file_offset + start;
    let record_id = record.event_record_id;
    let header_filetime = timestamp_to_filetime(&record.timestamp);
    let view = view_of(record).ok()?;
    let b = view.basics();
    let mark = FoundRecord {
        chunk: raw.index,
        offset: record_offset,
        record_id: b.event_record_id.unwrap_or(record_id),
        filetime: b.time_created.as_deref().and_then(iso_to_filetime).unwrap_or(header_filetime),
        partial: matches!(found, Found::Partial(..)),
    };
    add_view_keys(&mut out.keys, mark.filetime, &view, &b);
    if let Found::Partial(p, by) = &found {
        out.issues.push(Issue {
            kind: "truncated".into(),
            chunk: Some(raw.index),
            offset: record_offset,
            line: None,
            reason: format!(
                "record {record_id} is cut by {by} after {} of its {} bytes; read as a partial record",
                p.bytes_present, p.record_size
            ),
        });
    }
    out.rendered += 1;
    let mut findings = Vec::new();
    for hit in rules.evaluate(&view) {
        let mut f = make_finding(file, raw.index, record_offset, record_id, &view, hit, rules);
        match &found {
            Found::Partial(p, _) => f.partial = Some(Box::new(*p)),
            Found::Recovered(r) => f.recovered = Some(Box::new(r.in_file(raw.file_offset))),
        }
        findings.push(f);
    }
    Some((mark, findings))
}

/// Keeps the found records that are not copies of the chunk's live records
/// (same EventRecordID and time), with their findings.
fn keep_found(found: Vec<(FoundRecord, Vec<Finding>)>, live: &[RecordMark], out: &mut ChunkAnalysis) {
    let live_keys: Vec<(u64, Option<u64>)> = live.iter().map(|m| (m.event_record_id, m.filetime)).collect();
    for (mark, findings) in found {
        if !mark.partial && live_keys.contains(&(mark.record_id, Some(mark.filetime))) {
            out.duplicates += 1;
            continue;
        }
        out.found.push(mark);
        out.findings.extend(findings);
    }
}

/// A chunk whose live records no rule can match, with records in its slack:
/// the parser carves the slack of a copy whose live records are one empty
/// record (parsing them all cost 60 % more time on a bench log where a third
/// of the chunks have slack).
fn carve_slack_alone(file: &str, raw: &RawChunk, plan: &ChunkPlan, rules: &RuleSet, live: &[RecordMark], out: &mut ChunkAnalysis) {
    let Some(copy) = plan.live_records_blanked(&raw.data) else { return };
    let Ok(mut chunk) = EvtxChunkData::new(copy, false) else { return };
    let Ok(mut parsed) = chunk.parse(carving_settings()) else { return };
    let mut found = Vec::new();
    for record in parsed.iter().flatten().filter(|r| r.recovered) {
        let start = record.binxml_offset.saturating_sub(24) as usize;
        if let Some(how) = plan.found_at(start, true) {
            found.extend(read_found(file, raw, record, how, rules, out));
        }
    }
    keep_found(found, live, out);
}

/// A record's integrity mark from its quick System fields.
fn quick_mark(chunk_offset: u64, r: &QuickRecord) -> RecordMark {
    RecordMark {
        offset: chunk_offset + r.offset as u64,
        record_id: r.record_id,
        event_record_id: r.event_record_id.unwrap_or(r.record_id),
        filetime: r.filetime,
        event_id: r.event_id,
        channel: r.channel.clone(),
    }
}

fn add_quick_stats(stats: &mut StatsBuilder, r: &QuickRecord) {
    let time = r.filetime.map(crate::quick::format_filetime);
    stats.add_record(time.as_deref(), r.computer.as_deref(), r.channel.as_deref(), r.event_id);
}

/// 1970-01-01 in FILETIME ticks (100 ns since 1601).
const UNIX_EPOCH_AS_FILETIME: i128 = 116_444_736_000_000_000;

/// An ISO 8601 time (`2019-03-17T19:09:41.3288680Z`) as a FILETIME.
pub fn iso_to_filetime(text: &str) -> Option<u64> {
    let t: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(t.as_nanosecond() / 100 + UNIX_EPOCH_AS_FILETIME).ok()
}

/// The record header's time as a FILETIME, to render it as `evtx` renders times.
fn timestamp_to_filetime(t: &evtx::Timestamp) -> u64 {
    (t.as_nanosecond() / 100 + UNIX_EPOCH_AS_FILETIME).clamp(0, u64::MAX as i128) as u64
}

/// Whether `quick` may read a chunk's records: the chunk is whole, carries
/// CRCs that hold, and needs no repair (damage is for the full parser to find).
fn quick_may_read(truncated: bool, header: &evtx::EvtxChunkHeader, stale: Option<&str>, plan: Option<&ChunkPlan>) -> bool {
    !truncated && stale.is_none() && !header.flags.contains(evtx::ChunkFlags::NO_CRC32) && plan.is_none_or(|p| p.repaired.is_none())
}

/// [`quick_may_read`] for a chunk read again (a story's): from its bytes alone.
pub(crate) fn is_intact(data: &[u8]) -> bool {
    let Ok(header) = evtx::EvtxChunkHeader::from_bytes(data) else { return false };
    let truncated = data.len() < crate::reader::CHUNK_SIZE;
    quick_may_read(truncated, &header, stale_checksum(data, &header), crate::recover::plan(data).as_ref())
}

/// Which of the chunk's CRC32s is stale, if any (as `evtx` checks them:
/// header bytes 0..120 and 128..512, then the records up to the free space).
fn stale_checksum(data: &[u8], header: &evtx::EvtxChunkHeader) -> Option<&'static str> {
    if header.flags.contains(evtx::ChunkFlags::NO_CRC32) {
        return None;
    }
    let crc32 = zlib_rs::crc32::crc32;
    if crc32(crc32(0, &data[..120]), &data[128..512]) != header.header_chunk_checksum {
        return Some("chunk header CRC32 is stale; records read anyway");
    }
    match data.get(512..header.free_space_offset as usize) {
        Some(records) if crc32(0, records) == header.events_checksum => None,
        Some(_) => Some("chunk records CRC32 is stale; records read anyway"),
        None => Some("chunk free-space offset points past the chunk; records read anyway"),
    }
}

/// The byte ranges of the chunk's template definitions, found through the
/// 32 template buckets at chunk offset 384 (each definition: next offset
/// u32, GUID 16 bytes, data size u32, then its BinXML).
fn template_definitions(chunk: &[u8]) -> Vec<(usize, usize)> {
    let u32_at = |o: usize| chunk.get(o..o + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
    let mut ranges = Vec::new();
    for bucket in 0..32 {
        let mut next = u32_at(384 + bucket * 4).unwrap_or(0);
        let mut guard = 0;
        while next != 0 && guard < 4096 {
            guard += 1;
            let Some(size) = u32_at(next + 20) else { break };
            ranges.push((next, next.saturating_add(24).saturating_add(size)));
            next = u32_at(next).unwrap_or(0);
        }
    }
    ranges
}

/// Where a finding's process image is, after its analytic's own field.
const PROCESS_FIELDS: [&str; 4] = ["SourceImage", "Image", "NewProcessName", "ProcessName"];

pub(crate) fn make_finding(
    file: &str,
    chunk: u64,
    offset: u64,
    record_id: u64,
    view: &EventView,
    hit: RuleHit,
    rules: &RuleSet,
) -> Finding {
    let info = rules.analytic(hit.analytic);
    let b = view.basics();
    // The rule's other fields the event has, beside the matched ones (not
    // again: 57,344 findings took 3.5 KB each with both).
    let is_matched = |k: &str| hit.matched.iter().any(|m| &*m.field == k);
    let mut snippet = Map::new();
    let snippet_fields = if rules.match_detail() { rules.rule_fields(hit.analytic) } else { &[] };
    for k in snippet_fields {
        if let Some(v) = view.fields.get(k).filter(|_| !is_matched(k)) {
            snippet.insert(k.clone(), v.clone());
        }
    }
    // The process is read from EventData, which a run without stories may not
    // have read (see `RuleSet::system_view_fields`): its findings go without it.
    let process_field = info.source_process_field.clone().filter(|_| rules.stories());
    let source_process = match rules.stories() {
        true => process_field.iter().map(String::as_str).chain(PROCESS_FIELDS).find_map(|f| view.field_text(f)),
        false => None,
    };
    if let Some(field) = &process_field {
        if let Some(v) = view.fields.get(field).filter(|_| !is_matched(field)) {
            snippet.insert(field.clone(), v.clone());
        }
    }
    let false_positive_hint = source_process.as_deref().and_then(|p| {
        let name = p.rsplit(['\\', '/']).next().unwrap_or(p).to_ascii_lowercase();
        info.false_positive_processes
            .iter()
            .any(|fp| fp.eq_ignore_ascii_case(&name))
            .then(|| format!("{name} is a known false positive of {} (CAR: standard Windows process)", info.id).into())
    });
    let texts = rules.finding_texts(hit.analytic);
    Finding {
        analytic_id: texts.id.clone(),
        analytic_title: texts.title.clone(),
        level: texts.level.clone(),
        file: file.into(),
        chunk,
        offset,
        line: None,
        length: None,
        event_record_id: b.event_record_id.unwrap_or(record_id),
        event_id: b.event_id,
        time_created: b.time_created,
        computer: b.computer.map(Into::into),
        channel: b.channel.map(Into::into),
        attack: texts.attack.clone(),
        d3fend: texts.d3fend.clone(),
        source_process: source_process.map(Into::into),
        actor: rules.stories().then(|| crate::story::actor_of(&info.id, view)).flatten(),
        false_positive_hint,
        matched: hit.matched.into_boxed_slice(),
        snippet: Snippet::new(&snippet),
        partial: None,
        recovered: None,
    }
}

/// The full chain of an error's causes, as one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

/// The results of consecutive chunks, folded in file order: what a browser
/// worker sends for its part of a file (one small message, not one per
/// chunk), and what a [`FileScan`] adds up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkTally {
    /// Chunks seen, read or not (including zeroed unused space).
    pub seen: u64,
    /// Chunks parsed (not unused space, not refused).
    pub parsed: u64,
    /// Parsed chunks with records of which none needed rendering (prefilter).
    pub skipped: u64,
    pub stats: StatsBuilder,
    /// As a table of texts and rows (a JSON list of findings was mostly repeated names).
    #[serde(with = "crate::finding_table")]
    pub findings: Vec<Finding>,
    pub issues: Vec<Issue>,
    /// The format of the events (the first recognized).
    #[serde(default)]
    pub format: Option<InputFormat>,
    /// Text exports: newlines in the range read, so that the lines of the
    /// ranges after it can be made file-wide when they are merged.
    #[serde(default)]
    pub lines: u64,
    #[serde(default)]
    pub integrity: IntegrityBuilder,
    #[serde(default)]
    pub found: Vec<FoundRecord>,
    #[serde(default)]
    pub duplicates: u64,
    /// Each chunk's keys, for the file's index (EVTX only).
    #[serde(default)]
    pub keys: Vec<ChunkKeys>,
}

impl ChunkTally {
    /// Adds the next chunk's results.
    pub fn add(&mut self, chunk: ChunkAnalysis) {
        let skipped = chunk.parsed && chunk.rendered == 0 && chunk.findings.is_empty() && chunk.stats.records > 0;
        self.merge(ChunkTally {
            seen: 1,
            parsed: u64::from(chunk.parsed),
            skipped: u64::from(skipped),
            stats: chunk.stats,
            findings: chunk.findings,
            issues: chunk.issues,
            format: chunk.parsed.then_some(InputFormat::Evtx),
            lines: 0,
            integrity: chunk.integrity,
            found: chunk.found,
            duplicates: chunk.duplicates,
            keys: if chunk.keys.first.is_some() || !chunk.keys.guids.is_empty() { vec![chunk.keys] } else { Vec::new() },
        });
    }

    /// Adds the results of the chunks that follow these.
    pub fn merge(&mut self, mut next: ChunkTally) {
        if self.lines > 0 {
            let lines = next.findings.iter_mut().map(|f| &mut f.line).chain(next.issues.iter_mut().map(|i| &mut i.line));
            lines.flatten().for_each(|l| *l += self.lines);
        }
        self.lines += next.lines;
        self.format = self.format.or(next.format);
        self.integrity.merge(next.integrity);
        self.found.extend(next.found);
        self.duplicates += next.duplicates;
        self.keys.extend(next.keys);
        self.seen += next.seen;
        self.parsed += next.parsed;
        self.skipped += next.skipped;
        self.stats.merge(&next.stats);
        self.issues.extend(next.issues);
        self.findings.extend(next.findings);
    }
}

/// Folds one file's chunk results, given in file order, into its report.
#[derive(Debug)]
pub struct FileScan {
    file: String,
    size: u64,
    /// Every chunk so far; its issues come after the header's warnings.
    tally: ChunkTally,
    error: Option<String>,
    /// The chunk count the file header claims (16 bits: 65,535 at most).
    header_chunks: Option<u16>,
    /// Stopped by the user: what was not read is not missing from the file.
    cancelled: bool,
    /// Findings handed out already by `drain_findings` (streamed output).
    drained: u64,
    /// Findings on carved records, held until the whole file is read: a
    /// later chunk may hold the live record they are a copy of.
    held: Vec<Finding>,
    /// The file's SHA-256, once its reader has seen every byte.
    sha256: Option<String>,
    /// Its chunks by time, computer and GUID, to read again what a story needs.
    index: FileIndex,
    /// One copy of each text its findings repeat (rule, computer, ...):
    /// about 400 of 1,900 heap bytes per finding with the SigmaHQ pack.
    texts: Interner,
}

impl FileScan {
    pub fn new(file: &str, size: u64) -> Self {
        FileScan {
            file: file.into(),
            size,
            tally: ChunkTally::default(),
            error: None,
            header_chunks: None,
            cancelled: false,
            drained: 0,
            held: Vec::new(),
            sha256: None,
            index: FileIndex::default(),
            texts: Interner::default(),
        }
    }

    /// The SHA-256 of the file's bytes (from the reader that read them all).
    pub fn set_sha256(&mut self, hex: String) {
        self.sha256 = Some(hex);
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn header_warnings(&mut self, warnings: &[String]) {
        for w in warnings {
            self.tally.issues.push(Issue { kind: "header".into(), chunk: None, offset: 0, line: None, reason: w.clone() });
        }
    }

    /// What the file header says: its warnings (listed first, even when
    /// chunks were added before), and its chunk count, checked at the end.
    pub fn header(&mut self, info: &crate::reader::FileHeaderInfo) {
        let chunk_issues = std::mem::take(&mut self.tally.issues);
        self.header_warnings(&info.warnings);
        self.tally.issues.extend(chunk_issues);
        self.header_chunks = Some(info.chunk_count);
    }

    /// The user stopped the run before this file was read to its end.
    pub fn cancel(&mut self, reason: String) {
        self.cancelled = true;
        self.tally.issues.push(Issue { kind: "cancelled".into(), chunk: None, offset: 0, line: None, reason });
    }

    /// Marks the file unreadable (not EVTX, empty, header only).
    pub fn fail(&mut self, reason: String) {
        self.error = Some(reason);
    }

    pub fn add(&mut self, chunk: ChunkAnalysis) {
        let before = self.tally.findings.len();
        self.tally.add(chunk);
        self.intern_from(before);
        self.hold_carved(before);
        self.index_keys();
    }

    /// Adds the results of a run of chunks (a worker's part), in file order.
    pub fn add_tally(&mut self, tally: ChunkTally) {
        let before = self.tally.findings.len();
        self.tally.merge(tally);
        self.intern_from(before);
        self.hold_carved(before);
        self.index_keys();
    }

    fn intern_from(&mut self, from: usize) {
        let texts = &mut self.texts;
        self.tally.findings[from..].iter_mut().for_each(|f| texts.finding(f));
    }

    fn index_keys(&mut self) {
        std::mem::take(&mut self.tally.keys).into_iter().for_each(|k| self.index.add(k));
    }

    /// The file's chunk index (see `index`).
    pub fn index(&self) -> &FileIndex {
        &self.index
    }

    /// Sets aside the carved findings among those added from `from` on (the
    /// earlier ones were sorted already: partitioning every finding held, on
    /// each chunk with a carved one, was 14 % of a 1 GiB pack run in `json`).
    fn hold_carved(&mut self, from: usize) {
        let start = from.min(self.tally.findings.len());
        if self.tally.findings[start..].iter().any(|f| f.recovered.is_some()) {
            let (carved, live): (Vec<Finding>, Vec<Finding>) = self.tally.findings.drain(start..).partition(|f| f.recovered.is_some());
            self.tally.findings.extend(live);
            self.held.extend(carved);
        }
    }

    /// All chunks are in: carved records that are copies of live records in
    /// other chunks are dropped, and the findings of the rest join the others
    /// (after them). Called by `finish`; call it before the last
    /// `drain_findings` of streamed output.
    pub fn end_of_file(&mut self) {
        self.settle_found();
        self.tally.findings.append(&mut self.held);
    }

    /// Drops the found records (and their findings) that are copies of live records in other chunks.
    fn settle_found(&mut self) {
        if self.tally.found.is_empty() {
            return;
        }
        let live = self.tally.integrity.live_ranges();
        let copies: Vec<u64> = self
            .tally
            .found
            .iter()
            .filter(|r| !r.partial && live.holds_elsewhere(r.chunk, r.record_id, r.filetime))
            .map(|r| r.offset)
            .collect();
        if !copies.is_empty() {
            let copies: std::collections::HashSet<u64> = copies.into_iter().collect();
            self.tally.found.retain(|r| !copies.contains(&r.offset));
            self.tally.duplicates += copies.len() as u64;
            self.held.retain(|f| !copies.contains(&f.offset));
        }
    }

    /// Adds the results of a whole text export (see [`Self::text_done`]).
    pub fn add_text_tally(&mut self, tally: ChunkTally) {
        self.tally.merge(tally);
        self.text_done();
    }

    /// A text export was read to its end: one that gave no event is unreadable.
    pub fn text_done(&mut self) {
        if let Some(reason) = crate::text_scan::no_events_reason(&self.tally) {
            self.fail(reason);
        }
    }

    pub fn records(&self) -> u64 {
        self.tally.stats.records
    }

    pub fn findings(&self) -> &[Finding] {
        &self.tally.findings
    }

    /// Takes the findings folded so far, in file order (for output that
    /// streams them); the file's report still counts them.
    pub fn drain_findings(&mut self) -> Vec<Finding> {
        let taken = std::mem::take(&mut self.tally.findings);
        self.drained += taken.len() as u64;
        taken
    }

    pub fn stats(&self) -> &StatsBuilder {
        &self.tally.stats
    }

    pub fn finish(mut self) -> (FileReport, Vec<Finding>, StatsBuilder) {
        self.end_of_file();
        // A file cut inside a chunk already says so; one cut at a chunk boundary
        // shows only against the header's count.
        let cut_at_boundary = !self.cancelled
            && self.size.saturating_sub(crate::reader::FILE_HEADER_SIZE as u64).is_multiple_of(crate::reader::CHUNK_SIZE as u64);
        if let Some(claimed) = self.header_chunks.filter(|&n| self.error.is_none() && cut_at_boundary && u64::from(n) > self.tally.seen) {
            self.tally.issues.push(Issue {
                kind: "truncated".into(),
                chunk: None,
                offset: self.size,
                line: None,
                reason: format!(
                    "the file header counts {claimed} chunks but the file holds {} chunk(s): it was probably cut short",
                    self.tally.seen
                ),
            });
        }
        let format = self.tally.format;
        let ChunkTally { parsed, skipped, stats, findings, issues, integrity, found, duplicates, .. } = self.tally;
        let partial = found.iter().filter(|r| r.partial).count() as u64;
        let recovery = RecoveryCounts { partial, recovered: found.len() as u64 - partial, duplicates };
        let chunk_trouble = issues.iter().any(|i| i.kind != "header");
        let status = if self.error.is_some() || (parsed == 0 && stats.records == 0 && chunk_trouble) {
            FileStatus::Unreadable
        } else if issues.iter().any(|i| i.kind != "header" && i.kind != "checksum") {
            FileStatus::Partial
        } else {
            FileStatus::Ok
        };
        let error = self.error.or_else(|| (status == FileStatus::Unreadable).then(|| "no chunk of this file could be read".to_string()));
        let report = FileReport {
            file: self.file,
            size: self.size,
            sha256: self.sha256,
            duplicate_of: None,
            format: format.filter(|_| status != FileStatus::Unreadable),
            status,
            error,
            chunks: parsed,
            chunks_skipped: skipped,
            records: stats.records,
            findings: findings.len() as u64 + self.drained,
            issues,
            notes: integrity.finish(),
            recovery,
            stats: stats.build(),
        };
        (report, findings, stats)
    }
}

/// Scans a whole file held in memory (tests, demo, small inputs), in
/// whichever format its content is.
pub fn scan_bytes(file: &str, bytes: &[u8], rules: &RuleSet) -> FileScan {
    let mut scan = FileScan::new(file, bytes.len() as u64);
    scan.set_sha256(crate::digest::sha256_hex(bytes));
    match crate::input::sniff(bytes, true) {
        Ok(Some(crate::input::Container::Evtx)) | Ok(None) => {}
        Ok(Some(container)) => {
            let tally = crate::text_scan::scan_text(file, bytes, container, rules);
            scan.add_text_tally(tally);
            return scan;
        }
        Err(reason) => {
            scan.fail(reason);
            return scan;
        }
    }
    let mut splitter = ChunkSplitter::new();
    let chunks = match splitter.push(bytes).and_then(|mut c| {
        c.extend(splitter.finish()?);
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            scan.fail(e.0);
            return scan;
        }
    };
    if let Some(h) = splitter.header() {
        scan.header(h);
    }
    for raw in &chunks {
        scan.add(analyze_chunk(file, raw, rules));
    }
    scan
}

/// Folds file results into the run's report.
pub struct RunBuilder {
    files: Vec<FileReport>,
    findings: Vec<Finding>,
    totals: StatsBuilder,
    index: crate::index::RunIndex,
}

impl Default for RunBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RunBuilder {
    pub fn new() -> Self {
        RunBuilder { files: Vec::new(), findings: Vec::new(), totals: StatsBuilder::default(), index: Default::default() }
    }

    pub fn add_file(&mut self, mut scan: FileScan) {
        let index = std::mem::take(&mut scan.index);
        let (report, findings, stats) = scan.finish();
        self.index.add(&report, index);
        self.totals.merge(&stats);
        self.files.push(report);
        // Moved, not copied, when it is the first file's: a copy of 187,349
        // findings held both lists at once (the page's memory never shrinks).
        if self.findings.is_empty() {
            self.findings = findings;
        } else {
            self.findings.extend(findings);
        }
    }

    /// An input with the bytes of the earlier input `of` (see [`Self::first_with_sha256`]).
    pub fn add_duplicate(&mut self, file: &str, size: u64, sha256: String, of: &str) {
        self.files.push(FileReport::duplicate(file, size, sha256, of));
    }

    /// The first input added with this SHA-256.
    pub fn first_with_sha256(&self, sha256: &str) -> Option<&str> {
        self.files.iter().find(|f| f.duplicate_of.is_none() && f.sha256.as_deref() == Some(sha256)).map(|f| f.file.as_str())
    }

    /// Whether an input of this size was added: only then can a new one be a duplicate.
    pub fn has_size(&self, size: u64) -> bool {
        self.files.iter().any(|f| f.duplicate_of.is_none() && f.size == size)
    }

    /// The index of every file added (take it before [`Self::finish`]).
    pub fn take_index(&mut self) -> crate::index::RunIndex {
        std::mem::take(&mut self.index)
    }

    pub fn finish(self, rules: &RuleCatalog) -> RunReport {
        let fired: std::collections::HashSet<&str> = self.findings.iter().map(|f| &*f.analytic_id).collect();
        let coverage = rules.analytics().enumerate().map(|(i, info)| coverage_of(info.id.clone(), rules.scope(i), &self.totals)).collect();
        let timeline = crate::timeline::Timeline::for_report(&self.totals.timeline, &self.findings);
        // Correlation hits need only the findings; the processes' stories,
        // which read files again, are put before them by the caller.
        let incidents = rules.correlate(&self.findings);
        RunReport {
            schema_version: SCHEMA_VERSION,
            tool: concat!("evtx-triage ", env!("CARGO_PKG_VERSION")).into(),
            analytics: rules.analytics().filter(|a| a.source == "builtin" || fired.contains(a.id.as_str())).cloned().collect(),
            files: self.files,
            findings: self.findings,
            coverage,
            totals: self.totals.build(),
            prefilter_literals: rules.prefilter_literals().to_vec(),
            rules: rules.load_report().clone(),
            incidents,
            timeline: Some(timeline),
        }
    }
}

/// Whether an analytic could fire on the data: did any record of its logsource turn up?
fn coverage_of(analytic_id: String, scope: &Scope, totals: &StatsBuilder) -> Coverage {
    let Scope::Sources(sources) = scope else {
        return Coverage { analytic_id, could_fire: None, note: "its logsource is every Windows event; it ran on every event".into() };
    };
    let mut checked = 0u64;
    let mut wanted = Vec::new();
    for source in sources {
        let ids = match &source.event_ids {
            Some(ids) => format!(" EventID {}", ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" or ")),
            None => String::new(),
        };
        wanted.push(format!("{}{ids}", source.channels.join(" or ")));
        for (channel, counts) in &totals.event_counts {
            if source.channels.iter().any(|c| c.eq_ignore_ascii_case(channel)) {
                checked += counts
                    .iter()
                    .filter(|(id, _)| source.event_ids.as_ref().is_none_or(|ids| ids.contains(id)))
                    .map(|(_, n)| n)
                    .sum::<u64>();
            }
        }
    }
    let what = wanted.join("; ");
    if checked == 0 {
        Coverage { analytic_id, could_fire: Some(false), note: format!("no {what} in any file, so it could not fire") }
    } else {
        Coverage { analytic_id, could_fire: Some(true), note: format!("{checked} events of {what} were checked") }
    }
}
