//! The page's view of a run: parts arrive from the workers in any order and
//! are folded into each file's scan in file order, so what the page shows
//! (and exports) is what the CLI reports for the same files.

use crate::protocol::{part_count, Reply};
use evtx_triage::input::Container;
use evtx_triage::report::{Finding, Issue, RunReport};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{ChunkAnalysis, ChunkTally, FileScan, RunBuilder};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Working,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Working => "working",
            Phase::Done => "done",
        }
    }
}

/// One input file of the run.
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    /// Why the file is not analyzed (not .evtx inside a folder).
    pub skipped: Option<String>,
    pub scan: Option<FileScan>,
    /// Parts received but not yet folded (an earlier part is still out).
    waiting: BTreeMap<u64, PartResult>,
    next_part: u64,
    parts: u64,
    pub bytes_done: u64,
    /// A text export (its end is checked for having given any event).
    text: bool,
}

enum PartResult {
    Tally(ChunkTally),
    Crashed(Issue),
}

impl FileEntry {
    /// The parts the file was read in (by as many worker jobs).
    pub fn parts(&self) -> u64 {
        self.parts
    }

    pub fn is_complete(&self) -> bool {
        self.skipped.is_some() || self.next_part >= self.parts
    }
}

pub struct Scan {
    pub run: u32,
    pub phase: Phase,
    pub cancelled: bool,
    pub files: Vec<FileEntry>,
    pub report: Option<RunReport>,
    pub started_ms: f64,
    pub finished_ms: f64,
    /// The time of the first finding on screen, from the start.
    pub first_finding_ms: Option<f64>,
    /// How much of the input had been read when the first finding showed.
    pub first_finding_percent: Option<f64>,
    /// Worker time summed over all parts: reading bytes, and analyzing them.
    pub worker_read_ms: f64,
    pub worker_analyze_ms: f64,
    rules: RuleSet,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            run: 0,
            phase: Phase::Idle,
            cancelled: false,
            files: Vec::new(),
            report: None,
            started_ms: 0.0,
            finished_ms: 0.0,
            first_finding_ms: None,
            first_finding_percent: None,
            worker_read_ms: 0.0,
            worker_analyze_ms: 0.0,
            rules: RuleSet::builtin(),
        }
    }
}

impl Scan {
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The rule set of the next runs (never changed during one).
    pub fn set_rules(&mut self, rules: RuleSet) {
        self.rules = rules;
    }

    /// Starts a new run over `(name, size, skipped reason)` inputs.
    pub fn begin(&mut self, run: u32, inputs: Vec<(String, u64, Option<String>)>, now: f64) {
        self.run = run;
        self.phase = Phase::Working;
        self.cancelled = false;
        self.report = None;
        self.started_ms = now;
        self.first_finding_ms = None;
        self.first_finding_percent = None;
        self.worker_read_ms = 0.0;
        self.worker_analyze_ms = 0.0;
        self.files = inputs
            .into_iter()
            .map(|(name, size, skipped)| FileEntry {
                scan: skipped.is_none().then(|| FileScan::new(&name, size)),
                parts: part_count(size),
                name,
                size,
                skipped,
                waiting: BTreeMap::new(),
                next_part: 0,
                bytes_done: 0,
                text: false,
            })
            .collect();
        self.finish_if_complete(now);
    }

    pub fn cancel(&mut self, now: f64) {
        if self.phase == Phase::Working {
            self.cancelled = true;
            for entry in self.files.iter_mut().filter(|f| !f.is_complete()) {
                let read = entry.bytes_done.min(entry.size);
                if let Some(scan) = entry.scan.as_mut() {
                    scan.cancel(format!("scan cancelled after {read} of {} bytes; the rest of this file was not read", entry.size));
                }
            }
            self.complete(now);
        }
    }

    /// Takes one worker reply; returns whether anything changed.
    pub fn apply(&mut self, reply: Reply, now: f64) -> bool {
        let (run, file) = match &reply {
            Reply::Done { run, file, .. } | Reply::Unreadable { run, file, .. } | Reply::Crashed { run, file, .. } => (*run, *file),
        };
        if run != self.run || self.phase != Phase::Working {
            return false;
        }
        let Some(entry) = self.files.get_mut(file) else { return false };
        match reply {
            Reply::Unreadable { reason, .. } => {
                if let Some(scan) = entry.scan.as_mut() {
                    scan.fail(reason);
                }
                entry.bytes_done = entry.size;
                entry.next_part = entry.parts;
            }
            Reply::Done { part, bytes, header, container, whole_file, tally, read_ms, analyze_ms, .. } => {
                if part == 0 {
                    entry.text = container.is_some_and(|c| c != Container::Evtx);
                    if whole_file {
                        entry.parts = 1;
                    }
                }
                self.worker_read_ms += read_ms;
                self.worker_analyze_ms += analyze_ms;
                if let (Some(header), Some(scan)) = (header, entry.scan.as_mut()) {
                    scan.header(&header);
                }
                entry.bytes_done += bytes;
                entry.waiting.insert(part, PartResult::Tally(tally));
            }
            Reply::Crashed { part, start, end, reason, .. } => {
                entry.bytes_done += end - start;
                let issue = Issue { kind: "internal".into(), chunk: None, offset: start, line: None, reason };
                entry.waiting.insert(part, PartResult::Crashed(issue));
            }
        }
        // Fold every part that is next in file order.
        while let Some(result) = entry.waiting.remove(&entry.next_part) {
            if let Some(scan) = entry.scan.as_mut() {
                match result {
                    PartResult::Tally(tally) => scan.add_tally(tally),
                    PartResult::Crashed(issue) => {
                        scan.add(ChunkAnalysis { index: 0, file_offset: issue.offset, issues: vec![issue], ..Default::default() })
                    }
                }
            }
            entry.next_part += 1;
        }
        if self.first_finding_ms.is_none() && self.finding_count() > 0 {
            self.first_finding_ms = Some(now - self.started_ms);
            let total = self.bytes_total().max(1) as f64;
            self.first_finding_percent = Some(self.bytes_done() as f64 * 100.0 / total);
        }
        self.finish_if_complete(now);
        true
    }

    fn finish_if_complete(&mut self, now: f64) {
        if self.phase == Phase::Working && self.files.iter().all(FileEntry::is_complete) {
            self.complete(now);
        }
    }

    fn complete(&mut self, now: f64) {
        let mut run = RunBuilder::new();
        for entry in &mut self.files {
            if let Some(mut scan) = entry.scan.take() {
                if entry.text && !self.cancelled {
                    scan.text_done();
                }
                run.add_file(scan);
            }
        }
        self.report = Some(run.finish(&self.rules));
        self.phase = Phase::Done;
        self.finished_ms = now;
    }

    pub fn bytes_total(&self) -> u64 {
        self.files.iter().filter(|f| f.skipped.is_none()).map(|f| f.size).sum()
    }

    pub fn bytes_done(&self) -> u64 {
        self.files.iter().filter(|f| f.skipped.is_none()).map(|f| f.bytes_done.min(f.size)).sum()
    }

    pub fn record_count(&self) -> u64 {
        match &self.report {
            Some(r) => r.totals.records,
            None => self.files.iter().filter_map(|f| f.scan.as_ref()).map(FileScan::records).sum(),
        }
    }

    pub fn finding_count(&self) -> usize {
        match &self.report {
            Some(r) => r.findings.len(),
            None => self.files.iter().filter_map(|f| f.scan.as_ref()).map(|s| s.findings().len()).sum(),
        }
    }

    /// Every finding so far, in file order.
    pub fn findings(&self) -> Vec<&Finding> {
        match &self.report {
            Some(r) => r.findings.iter().collect(),
            None => self.files.iter().filter_map(|f| f.scan.as_ref()).flat_map(|s| s.findings().iter()).collect(),
        }
    }
}
