//! Integrity notes: facts about the evidence that point at removed records.
//!
//! EventRecordIDs count up by one per record, so a gap means records are
//! missing. A log is a ring of chunks, so chunks are put in record order
//! (by their first EventRecordID) before the gaps between them are sought.
//! Also noted: time running backwards, and the log-cleared events (Security
//! 1102, System 104). Like chunk issues these never change the exit status.

use crate::report::thousands;
use serde::{Deserialize, Serialize};

/// Time running backwards by less than this is ordinary (providers stamp
/// events a little before the log writes them).
const BACKWARDS_TOLERANCE_TICKS: u64 = 60 * 10_000_000;
/// Notes of one kind per file beyond this are counted, not listed.
const MAX_NOTES_PER_KIND: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// EventRecordIDs missing between two records or chunks.
    RecordIdGap,
    /// Records whose EventRecordIDs repeat or run backwards.
    RecordIdOverlap,
    /// A record written earlier than the one before it (by more than a minute).
    TimeBackwards,
    /// A "log cleared" event: Security 1102 or System 104.
    LogCleared,
    /// A record whose declared size covers the record after it (an edited log).
    RecordCoversRecord,
}

/// One note, with where it is and the numbers involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub kind: NoteKind,
    pub chunk: Option<u64>,
    pub offset: u64,
    /// The EventRecordIDs involved: the missing range, or the records compared.
    pub first_id: Option<u64>,
    pub last_id: Option<u64>,
    pub reason: String,
}

/// What the integrity check needs of one record, in chunk order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMark {
    pub offset: u64,
    /// The record header's id (what gaps are counted in).
    pub record_id: u64,
    /// System/EventRecordID, else the header's (exports renumber the header's).
    pub event_record_id: u64,
    pub filetime: Option<u64>,
    pub event_id: Option<u64>,
    pub channel: Option<std::sync::Arc<str>>,
}

/// A chunk's record range, kept per chunk to compare chunks in record order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkSpan {
    pub chunk: u64,
    pub offset: u64,
    pub first_id: u64,
    pub last_id: u64,
    pub first_time: Option<u64>,
    pub last_time: Option<u64>,
    /// The range of System/EventRecordIDs in the chunk.
    #[serde(default)]
    pub event_record_ids: (u64, u64),
}

/// A file's notes as its chunks come in; mergeable in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrityBuilder {
    spans: Vec<ChunkSpan>,
    notes: Vec<Note>,
}

impl IntegrityBuilder {
    /// Notes inside one chunk, and its span for the comparisons between chunks.
    pub fn add_chunk(&mut self, chunk: u64, records: &[RecordMark]) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else { return };
        for pair in records.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let place = Place { chunk: Some(chunk), offset: b.offset };
            compare(&mut self.notes, place, (a.record_id, a.filetime), (b.record_id, b.filetime), &format!("in chunk {chunk}"));
        }
        for r in records.iter().filter(|r| is_log_cleared(r.channel.as_deref(), r.event_id)) {
            self.notes.push(Note {
                kind: NoteKind::LogCleared,
                chunk: Some(chunk),
                offset: r.offset,
                first_id: Some(r.record_id),
                last_id: Some(r.record_id),
                reason: format!(
                    "{} EventID {} (the log was cleared) at record {}{}",
                    r.channel.as_deref().unwrap_or("?"),
                    r.event_id.unwrap_or(0),
                    r.record_id,
                    r.filetime.map(|t| format!(", {}", crate::quick::format_filetime(t))).unwrap_or_default()
                ),
            });
        }
        self.spans.push(ChunkSpan {
            chunk,
            offset: first.offset,
            first_id: first.record_id,
            last_id: last.record_id,
            first_time: first.filetime,
            last_time: last.filetime,
            event_record_ids: records.iter().fold((u64::MAX, 0), |(lo, hi), r| (lo.min(r.event_record_id), hi.max(r.event_record_id))),
        });
    }

    /// A record whose size covers another (found by `recover`).
    pub fn add_cover(&mut self, chunk: u64, chunk_offset: u64, c: &crate::recover::Cover) {
        self.notes.push(Note {
            kind: NoteKind::RecordCoversRecord,
            chunk: Some(chunk),
            offset: chunk_offset + c.container_offset as u64,
            first_id: Some(c.container_id),
            last_id: Some(c.hidden_id),
            reason: format!(
                "record {} declares a size that covers record {} at offset {:#x} (a record hidden by an edit); it is carved and flagged recovered",
                c.container_id,
                c.hidden_id,
                chunk_offset + c.hidden_offset as u64
            ),
        });
    }

    /// The chunks' EventRecordID and time ranges, to tell carved copies of
    /// live records (see [`LiveRanges::holds_elsewhere`]).
    pub fn live_ranges(&self) -> LiveRanges<'_> {
        let mut spans: Vec<&ChunkSpan> = self.spans.iter().collect();
        spans.sort_by_key(|s| s.event_record_ids.0);
        let mut highest = 0;
        let reach = spans.iter().map(|s| {
            highest = highest.max(s.event_record_ids.1);
            highest
        });
        let reach = reach.collect();
        LiveRanges { spans, reach }
    }

    pub fn merge(&mut self, other: IntegrityBuilder) {
        self.spans.extend(other.spans);
        self.notes.extend(other.notes);
    }

    /// The file's notes: those inside chunks, then between chunks in record order.
    pub fn finish(mut self) -> Vec<Note> {
        self.spans.sort_by_key(|s| (s.first_id, s.chunk));
        for pair in self.spans.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let place = Place { chunk: None, offset: b.offset };
            let between = format!("between chunk {} and chunk {}", a.chunk, b.chunk);
            compare(&mut self.notes, place, (a.last_id, a.last_time), (b.first_id, b.first_time), &between);
        }
        self.notes.sort_by_key(|n| (n.offset, n.kind as u8));
        cap(self.notes)
    }
}

/// Chunk spans sorted by their lowest EventRecordID.
pub struct LiveRanges<'a> {
    spans: Vec<&'a ChunkSpan>,
    /// The highest EventRecordID of the spans up to each one.
    reach: Vec<u64>,
}

impl LiveRanges<'_> {
    /// Whether a chunk other than `chunk` may hold a live record with this
    /// EventRecordID and time: its id range covers the id and its time range
    /// the time. (Only ranges are kept per chunk, so memory stays flat; a
    /// record of another log with the same id and time is dropped too.)
    pub fn holds_elsewhere(&self, chunk: u64, event_record_id: u64, filetime: u64) -> bool {
        let upto = self.spans.partition_point(|s| s.event_record_ids.0 <= event_record_id);
        (0..upto).rev().take_while(|&i| self.reach[i] >= event_record_id).any(|i| {
            let s = self.spans[i];
            let (Some(a), Some(b)) = (s.first_time, s.last_time) else { return false };
            let times = a.min(b).saturating_sub(BACKWARDS_TOLERANCE_TICKS)..=a.max(b).saturating_add(BACKWARDS_TOLERANCE_TICKS);
            s.chunk != chunk && s.event_record_ids.1 >= event_record_id && times.contains(&filetime)
        })
    }
}

struct Place {
    chunk: Option<u64>,
    offset: u64,
}

/// Notes on record `b` following record `a` (id, FILETIME).
fn compare(notes: &mut Vec<Note>, at: Place, a: (u64, Option<u64>), b: (u64, Option<u64>), whereabouts: &str) {
    let note = |kind, first_id, last_id, reason| Note { kind, chunk: at.chunk, offset: at.offset, first_id, last_id, reason };
    if b.0 > a.0 + 1 {
        let (from, to) = (a.0 + 1, b.0 - 1);
        let range = if from == to {
            format!("EventRecordID {}", thousands(from))
        } else {
            format!("EventRecordIDs {}–{}", thousands(from), thousands(to))
        };
        notes.push(note(
            NoteKind::RecordIdGap,
            Some(from),
            Some(to),
            format!("{range} missing {whereabouts} ({} record(s))", thousands(to - from + 1)),
        ));
    } else if b.0 <= a.0 {
        notes.push(note(
            NoteKind::RecordIdOverlap,
            Some(a.0),
            Some(b.0),
            format!("EventRecordID {} follows {} {whereabouts}", thousands(b.0), thousands(a.0)),
        ));
    }
    if let (Some(ta), Some(tb)) = (a.1, b.1) {
        if ta > tb + BACKWARDS_TOLERANCE_TICKS {
            notes.push(note(
                NoteKind::TimeBackwards,
                Some(a.0),
                Some(b.0),
                format!(
                    "time runs backwards {whereabouts}: record {} at {} follows record {} at {}",
                    b.0,
                    crate::quick::format_filetime(tb),
                    a.0,
                    crate::quick::format_filetime(ta)
                ),
            ));
        }
    }
}

/// Security 1102 ("The audit log was cleared") and System 104 ("The System log file was cleared").
fn is_log_cleared(channel: Option<&str>, event_id: Option<u64>) -> bool {
    match (channel, event_id) {
        (Some(c), Some(1102)) => c.eq_ignore_ascii_case("Security"),
        (Some(c), Some(104)) => c.eq_ignore_ascii_case("System"),
        _ => false,
    }
}

/// Keeps the first notes of each kind, and says how many more there were.
fn cap(notes: Vec<Note>) -> Vec<Note> {
    let mut out = Vec::with_capacity(notes.len().min(4 * MAX_NOTES_PER_KIND));
    let mut counts = std::collections::BTreeMap::new();
    let mut dropped: std::collections::BTreeMap<u8, (NoteKind, usize, u64)> = std::collections::BTreeMap::new();
    for n in notes {
        let seen = counts.entry(n.kind as u8).or_insert(0usize);
        *seen += 1;
        if *seen <= MAX_NOTES_PER_KIND {
            out.push(n);
        } else {
            dropped.entry(n.kind as u8).or_insert((n.kind, 0, n.offset)).1 += 1;
        }
    }
    for (kind, more, offset) in dropped.into_values() {
        out.push(Note {
            kind,
            chunk: None,
            offset,
            first_id: None,
            last_id: None,
            reason: format!("{more} more note(s) of this kind not listed"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(offset: u64, record_id: u64, minute: u64) -> RecordMark {
        RecordMark {
            offset,
            record_id,
            event_record_id: record_id,
            filetime: Some(minute * 60 * 10_000_000),
            event_id: Some(1),
            channel: None,
        }
    }

    #[test]
    fn gaps_inside_and_between_chunks_in_record_order() {
        let mut b = IntegrityBuilder::default();
        // A ring: chunk 1 holds the older records.
        b.add_chunk(0, &[mark(4608, 1451, 100), mark(4700, 1452, 100)]);
        b.add_chunk(1, &[mark(70144, 1, 10), mark(70200, 2, 11), mark(70300, 6, 12)]);
        b.add_chunk(2, &[mark(135680, 7, 13), mark(135800, 1200, 14)]);
        let notes = b.finish();
        let got: Vec<(NoteKind, Option<u64>, &str)> = notes.iter().map(|n| (n.kind, n.chunk, n.reason.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (NoteKind::RecordIdGap, None, "EventRecordIDs 1,201–1,450 missing between chunk 2 and chunk 0 (250 record(s))"),
                (NoteKind::RecordIdGap, Some(1), "EventRecordIDs 3–5 missing in chunk 1 (3 record(s))"),
                (NoteKind::RecordIdGap, Some(2), "EventRecordIDs 8–1,199 missing in chunk 2 (1,192 record(s))"),
            ]
        );
        assert_eq!((notes[0].first_id, notes[0].last_id), (Some(1201), Some(1450)));
    }

    #[test]
    fn time_backwards_and_cleared_logs() {
        let mut b = IntegrityBuilder::default();
        let mut cleared = mark(5000, 3, 200);
        cleared.channel = Some("Security".into());
        cleared.event_id = Some(1102);
        b.add_chunk(0, &[mark(4608, 1, 100), mark(4800, 2, 99), cleared, mark(5200, 4, 130)]);
        let notes = b.finish();
        let kinds: Vec<NoteKind> = notes.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, vec![NoteKind::LogCleared, NoteKind::TimeBackwards]);
        assert_eq!(notes[0].reason, "Security EventID 1102 (the log was cleared) at record 3, 1601-01-01T03:20:00.0000000Z");
        assert!(notes[1].reason.starts_with("time runs backwards in chunk 0: record 4 at "), "{}", notes[1].reason);
    }
}
