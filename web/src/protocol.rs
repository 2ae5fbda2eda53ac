//! Messages between the page and its analysis workers.
//!
//! A file is cut into parts of whole chunks. Part 0 starts at byte 0 and so
//! also checks the file header; the other parts are scheduled once it has.
//! A text export is cut at the same byte offsets when its documents can be
//! found from any byte (JSON lines, XML); otherwise part 0 reads it all.
//! Messages travel as JSON text (findings as a table: `evtx_triage::finding_table`;
//! `serde-wasm-bindgen` values were 2.5x slower both ways, README), the `File`
//! itself beside the job (a handle, not a copy); each worker reads its own part's bytes.

use evtx_triage::input::Container;
use evtx_triage::reader::{FileHeaderInfo, CHUNK_SIZE, FILE_HEADER_SIZE};
use evtx_triage::rule_load::LoadOptions;
use evtx_triage::rule_source::{RuleText, RuleTexts};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::ChunkTally;
use serde::{Deserialize, Serialize};

/// Chunks in a file's first part (8 MiB): it checks the file header before
/// the other parts are queued, and brings the first findings early.
pub const FIRST_PART_CHUNKS: u64 = 128;
/// Chunks in each later part (16 MiB), each part one `File` stream: fewer,
/// longer streams cost the browser less CPU (1 GiB: 3.6-3.9 CPU s against
/// 4.2-4.3 with 8 MiB parts), but a part's findings come back as one reply
/// whose text the page's JS heap holds until collected: with the SigmaHQ
/// pack on the 1 GiB bench log, 32 MiB parts peaked at 723-764 MiB of
/// renderer private memory and 57 MiB of JS heap, 16 MiB parts at 699-718 and 44-50.
pub const CHUNKS_PER_PART: u64 = 256;

/// One part of one file for a worker to analyze.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub run: u32,
    pub file: usize,
    pub part: u64,
    pub name: String,
    pub start: u64,
    pub end: u64,
    pub first_chunk: u64,
    /// Parts after the first of a text export: its layout, as part 0 found it
    /// (such parts own the documents that start in `start..end`).
    #[serde(default)]
    pub container: Option<Container>,
    /// Makes the worker panic on this job (see `pool::crash_next_job_for_tests`).
    #[serde(default)]
    pub crash_test: bool,
    /// Post every byte read to the page, which hashes the file (see [`PIECE`]).
    #[serde(default)]
    pub post_bytes: bool,
    /// Read the whole file for its hash only: an input of the same size as an
    /// earlier one, not analyzed if it is a duplicate of it.
    #[serde(default)]
    pub digest_only: bool,
    /// A search: the worker runs this query's rule (see `evtx_triage::query`) instead of the rule set.
    #[serde(default)]
    pub query: Option<String>,
}

/// A worker's answer to one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    Done {
        run: u32,
        file: usize,
        part: u64,
        bytes: u64,
        /// Part 0 only: the file header (warnings, chunk count).
        header: Option<FileHeaderInfo>,
        /// Part 0 only: the layout its first bytes showed.
        #[serde(default)]
        container: Option<Container>,
        /// Part 0 read the whole file (a text export that cannot be cut into parts).
        #[serde(default)]
        whole_file: bool,
        /// The part's chunks, folded in order (boxed: the other replies are small).
        tally: Box<ChunkTally>,
        /// Worker time spent reading the part's bytes, and analyzing them.
        read_ms: f64,
        analyze_ms: f64,
    },
    /// Part 0 only: the file is none of the formats.
    Unreadable { run: u32, file: usize, reason: String },
    /// The worker died on this part (a trap in the analyzer); the pool made a new one.
    Crashed { run: u32, file: usize, part: u64, start: u64, end: u64, reason: String },
}

impl Reply {
    /// The run it answers for.
    pub fn run(&self) -> u32 {
        match self {
            Reply::Done { run, .. } | Reply::Unreadable { run, .. } | Reply::Crashed { run, .. } => *run,
        }
    }
}

/// The rule set a worker runs: the user's rule texts (the built-ins are
/// always in) and the load options; each worker compiles it as the page does,
/// so both hold the same rules in the same order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RulesMessage {
    pub texts: Vec<RuleText>,
    pub options: LoadOptions,
}

impl RulesMessage {
    /// Compiles the set; the texts go with the message, not copied (the SigmaHQ pack's are 8 MiB).
    pub fn into_rule_set(self) -> RuleSet {
        RuleSet::load(&RuleTexts { texts: self.texts, unreadable: Vec::new() }, &self.options)
    }
}

/// What a worker posts once its code has loaded and it takes jobs.
pub const READY: &str = "ready";

/// The key of a message holding bytes a worker read: `{piece: [run, file,
/// offset], bytes: Uint8Array}`, its buffer transferred, not copied. A
/// worker posts a part's pieces before its reply, so when the last reply of a
/// file is in, so are its bytes.
pub const PIECE: &str = "piece";

/// The key of the page's answer to pieces: `{taken: bytes}` of this
/// worker's pieces it has taken (hashed, or held in order), so the worker may read on.
pub const TAKEN: &str = "taken";

/// How many parts a file of `size` bytes is cut into.
pub fn part_count(size: u64) -> u64 {
    let body = size.saturating_sub(FILE_HEADER_SIZE as u64);
    let chunks = body.div_ceil(CHUNK_SIZE as u64);
    1 + chunks.saturating_sub(FIRST_PART_CHUNKS).div_ceil(CHUNKS_PER_PART)
}

/// The chunks of part `part`: its first chunk's index, and how many.
fn part_chunks(part: u64) -> (u64, u64) {
    match part {
        0 => (0, FIRST_PART_CHUNKS),
        k => (FIRST_PART_CHUNKS + (k - 1) * CHUNKS_PER_PART, CHUNKS_PER_PART),
    }
}

/// The job for part `part` of a file.
pub fn job_for(run: u32, file: usize, name: &str, size: u64, part: u64) -> Job {
    let (first_chunk, chunks) = part_chunks(part);
    let chunk_start = FILE_HEADER_SIZE as u64 + first_chunk * CHUNK_SIZE as u64;
    let start = if part == 0 { 0 } else { chunk_start };
    let end = (FILE_HEADER_SIZE as u64 + (first_chunk + chunks) * CHUNK_SIZE as u64).min(size);
    Job {
        run,
        file,
        part,
        name: name.to_string(),
        start,
        end,
        first_chunk,
        container: None,
        crash_test: false,
        post_bytes: true,
        digest_only: false,
        query: None,
    }
}
