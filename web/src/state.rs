//! The page's view of a run: parts arrive from the workers in any order and
//! are folded into each file's scan in file order, so what the page shows
//! (and exports) is what the CLI reports for the same files.

use crate::pool::Piece;
use crate::protocol::{part_count, Reply};
use evtx_triage::digest::{InOrder, StreamDigest};
use evtx_triage::index::RunIndex;
use evtx_triage::input::Container;
use evtx_triage::report::{Finding, Issue, RunReport};
use evtx_triage::rules::{RuleCatalog, RuleSet};
use evtx_triage::scan::{ChunkAnalysis, ChunkTally, FileScan, RunBuilder};
use std::collections::BTreeMap;

/// A run's incidents being told: their groups of findings (indexes into
/// the run's findings), the batch that reads their stories, and the index
/// it reads by.
pub struct StoriesToTell {
    pub run: u32,
    pub groups: Vec<Vec<usize>>,
    pub batch: evtx_triage::story_batch::StoryBatch,
    pub index: std::rc::Rc<RunIndex>,
}

/// Where a run's findings come from, as the findings table must know to
/// reuse what it made for the last redraw (`components::findings::ShownOrder`):
/// each file's findings only grow at their end while it is read.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FindingLayout {
    pub run: u32,
    /// The run's report holds them (its list replaces the files' own).
    pub report: bool,
    /// Findings per file, in the order `all` lists them.
    pub per_file: Vec<usize>,
}

impl FindingLayout {
    /// Whether `next` holds this layout's findings at the same places within
    /// each file, and perhaps more after them.
    pub fn grows_into(&self, next: &FindingLayout) -> bool {
        self.run == next.run
            && self.report == next.report
            && self.per_file.len() == next.per_file.len()
            && self.per_file.iter().zip(&next.per_file).all(|(old, new)| old <= new)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Idle,
    Working,
    /// Every file is read; the incidents' stories are being read again (see `stories`).
    Stories,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Working => "working",
            Phase::Stories => "stories",
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
    /// The file's bytes as the workers read them, back in file order for its
    /// SHA-256 (`None` once hashed, or when its hash is known already).
    order: InOrder<(usize, js_sys::Uint8Array)>,
    digest: Option<StreamDigest>,
    pub sha256: Option<String>,
    pub twin: Twin,
}

/// Whether an input may be a duplicate of an earlier one (the same size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Twin {
    /// No earlier input has its size.
    No,
    /// Being read for its hash only.
    Hashing,
    /// Hashed; waiting for the earlier inputs of its size to be.
    Hashed,
    /// No earlier input has its bytes: analyzed.
    Released,
    /// The bytes of this earlier input: not analyzed.
    DuplicateOf(String),
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
        match self.twin {
            Twin::Hashing | Twin::Hashed => false,
            Twin::DuplicateOf(_) => true,
            Twin::No | Twin::Released => self.skipped.is_some() || self.next_part >= self.parts,
        }
    }

    /// Takes bytes a worker read; hashes what is due in order. The buffers
    /// of hashed pieces go into `used`, to go back to their workers.
    fn add_piece(&mut self, piece: Piece, scratch: &mut Vec<u8>, used: &mut Vec<(usize, js_sys::ArrayBuffer)>) {
        let Some(digest) = self.digest.as_mut() else {
            used.push((piece.worker, piece.bytes.buffer()));
            return;
        };
        for (skip, (worker, bytes)) in self.order.add(piece.offset, piece.bytes.length() as usize, (piece.worker, piece.bytes)) {
            let new = bytes.length() as usize - skip;
            scratch.resize(new.max(scratch.len()), 0);
            bytes.subarray(skip as u32, bytes.length()).copy_to(&mut scratch[..new]);
            digest.update(&scratch[..new]);
            used.push((worker, bytes.buffer()));
        }
    }

    /// The file's jobs are done (or it is given up): its hash, if every byte
    /// came; pieces still held are let go.
    fn finish_digest(&mut self, used: &mut Vec<(usize, js_sys::ArrayBuffer)>) {
        used.extend(self.order.take_pending().into_iter().map(|(worker, bytes)| (worker, bytes.buffer())));
        if let Some(digest) = self.digest.take() {
            self.sha256 = digest.finish(self.size);
        }
    }
}

pub struct Scan {
    pub run: u32,
    pub phase: Phase,
    pub cancelled: bool,
    pub files: Vec<FileEntry>,
    pub report: Option<RunReport>,
    /// Every file's chunks by time, computer and process GUID (once the run is complete).
    pub index: Option<std::rc::Rc<RunIndex>>,
    /// Events and findings per minute, for the timeline (once the run is complete).
    pub timeline: Option<std::rc::Rc<crate::components::timeline::TimelineData>>,
    /// The run whose stories are being told (so they are told once).
    stories_for: Option<u32>,
    /// A search run has no incidents to tell: its findings are the query's matches.
    pub is_search: bool,
    pub started_ms: f64,
    pub finished_ms: f64,
    /// The time of the first finding on screen, from the start.
    pub first_finding_ms: Option<f64>,
    /// How much of the input had been read when the first finding showed.
    pub first_finding_percent: Option<f64>,
    /// Worker time summed over all parts: reading bytes, and analyzing them.
    pub worker_read_ms: f64,
    pub worker_analyze_ms: f64,
    /// What the page shows and reports of the rules; its workers run them.
    rules: RuleCatalog,
    /// The rules' load report, shared with the rules panel (not copied per redraw).
    load_report: std::rc::Rc<evtx_triage::rule_load::LoadReport>,
    /// Where due pieces are copied into wasm memory to be hashed.
    scratch: Vec<u8>,
    /// Twins found to be no duplicate, for the pool to analyze.
    released: Vec<usize>,
    /// Bytes taken per worker since the last `take_taken`, to tell the workers,
    /// and the read buffers of pieces hashed or let go, to give back to them.
    taken: Vec<(usize, u32)>,
    used: Vec<(usize, js_sys::ArrayBuffer)>,
}

impl Default for Scan {
    fn default() -> Self {
        let rules = RuleSet::builtin().into_catalog();
        Scan {
            run: 0,
            phase: Phase::Idle,
            cancelled: false,
            files: Vec::new(),
            report: None,
            index: None,
            timeline: None,
            stories_for: None,
            is_search: false,
            started_ms: 0.0,
            finished_ms: 0.0,
            first_finding_ms: None,
            first_finding_percent: None,
            worker_read_ms: 0.0,
            worker_analyze_ms: 0.0,
            load_report: std::rc::Rc::new(rules.load_report().clone()),
            rules,
            scratch: Vec::new(),
            released: Vec::new(),
            taken: Vec::new(),
            used: Vec::new(),
        }
    }
}

impl Scan {
    /// The state of search runs (see `components::search`).
    pub fn for_search() -> Self {
        Scan { is_search: true, ..Scan::default() }
    }

    pub fn rules(&self) -> &RuleCatalog {
        &self.rules
    }

    /// The rule set of the next runs (never changed during one).
    pub fn set_rules(&mut self, rules: RuleCatalog) {
        self.load_report = std::rc::Rc::new(rules.load_report().clone());
        self.rules = rules;
    }

    pub fn load_report(&self) -> std::rc::Rc<evtx_triage::rule_load::LoadReport> {
        self.load_report.clone()
    }

    /// Starts a new run over `(name, size, skipped reason)` inputs; `hash`:
    /// each input's SHA-256 is computed (and duplicates found).
    pub fn begin(&mut self, run: u32, inputs: Vec<(String, u64, Option<String>)>, now: f64, hash: bool) {
        self.run = run;
        self.phase = Phase::Working;
        self.cancelled = false;
        self.report = None;
        self.index = None;
        self.timeline = None;
        self.started_ms = now;
        self.first_finding_ms = None;
        self.first_finding_percent = None;
        self.worker_read_ms = 0.0;
        self.worker_analyze_ms = 0.0;
        self.released.clear();
        self.let_go_of_pieces();
        let mut sizes = std::collections::HashSet::new();
        self.files = inputs
            .into_iter()
            .map(|(name, size, skipped)| {
                let twin = if hash && skipped.is_none() && !sizes.insert(size) { Twin::Hashing } else { Twin::No };
                FileEntry {
                    scan: skipped.is_none().then(|| FileScan::new(&name, size)),
                    parts: part_count(size),
                    name,
                    size,
                    skipped,
                    waiting: BTreeMap::new(),
                    next_part: 0,
                    bytes_done: 0,
                    text: false,
                    order: InOrder::new(),
                    digest: hash.then(StreamDigest::new),
                    sha256: None,
                    twin,
                }
            })
            .collect();
        self.finish_if_complete(now);
    }

    /// The inputs of the same size as an earlier one: only hashed at first.
    pub fn twins(&self) -> Vec<usize> {
        self.files.iter().enumerate().filter(|(_, f)| f.twin == Twin::Hashing).map(|(i, _)| i).collect()
    }

    /// Twins found to be no duplicate since the last call: the pool analyzes them.
    pub fn take_released(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.released)
    }

    /// Takes bytes a worker read (those of an earlier or ended run are let go).
    /// The worker learns it has been taken, hashed or held until the bytes
    /// before it come: it waits on that, not on the hash, as a wait for
    /// another worker's part could go round in a circle.
    pub fn add_piece(&mut self, piece: Piece) {
        self.taken.push((piece.worker, piece.bytes.length()));
        if let Some(entry) = self.files.get_mut(piece.file).filter(|_| piece.run == self.run && self.phase == Phase::Working) {
            entry.add_piece(piece, &mut self.scratch, &mut self.used);
        } else {
            self.used.push((piece.worker, piece.bytes.buffer()));
        }
    }

    /// Per worker, the bytes taken since the last call and the buffers to
    /// give back: the pool tells them.
    pub fn take_taken(&mut self) -> BTreeMap<usize, (u64, Vec<js_sys::ArrayBuffer>)> {
        let mut per_worker: BTreeMap<usize, (u64, Vec<js_sys::ArrayBuffer>)> = BTreeMap::new();
        for (worker, bytes) in self.taken.drain(..) {
            per_worker.entry(worker).or_default().0 += u64::from(bytes);
        }
        for (worker, buffer) in self.used.drain(..) {
            per_worker.entry(worker).or_default().1.push(buffer);
        }
        per_worker
    }

    /// Lets go of every piece held (a run ends or is replaced).
    fn let_go_of_pieces(&mut self) {
        for entry in &mut self.files {
            entry.finish_digest(&mut self.used);
        }
    }

    /// Decides the hashed twins whose earlier inputs of the same size are all
    /// hashed: a duplicate of the first with the same bytes, or analyzed.
    fn settle_twins(&mut self) {
        for i in 0..self.files.len() {
            if self.files[i].twin != Twin::Hashed {
                continue;
            }
            let (earlier, rest) = self.files.split_at_mut(i);
            let twin = &mut rest[0];
            let same_size = || earlier.iter().filter(|e| e.skipped.is_none() && e.size == twin.size);
            let first = same_size().find(|e| e.sha256.is_some() && e.sha256 == twin.sha256).map(|e| match &e.twin {
                Twin::DuplicateOf(first) => first.clone(),
                _ => e.name.clone(),
            });
            if let Some(first) = first {
                twin.twin = Twin::DuplicateOf(first);
                twin.bytes_done = twin.size;
            } else if same_size().all(|e| e.sha256.is_some() || e.is_complete()) {
                twin.twin = Twin::Released;
                self.released.push(i);
            }
        }
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
        if entry.twin == Twin::Hashing {
            // Its hash-only read: done (or failed, and then it is analyzed).
            entry.finish_digest(&mut self.used);
            entry.twin = Twin::Hashed;
            self.settle_twins();
            self.finish_if_complete(now);
            return true;
        }
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
                entry.waiting.insert(part, PartResult::Tally(*tally));
            }
            Reply::Crashed { part, start, end, reason, .. } => {
                // Those bytes will not come: no hash, and the pieces after them are let go.
                entry.finish_digest(&mut self.used);
                entry.sha256 = None;
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
        if entry.is_complete() {
            entry.finish_digest(&mut self.used);
            self.settle_twins();
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
        // A cancelled file's hash is not whole; pieces of it still held are let go.
        self.let_go_of_pieces();
        let mut run = RunBuilder::new();
        let mut events = evtx_triage::timeline::TimelineCounts::default();
        for entry in &mut self.files {
            if let (Twin::DuplicateOf(first), Some(sha256)) = (&entry.twin, &entry.sha256) {
                run.add_duplicate(&entry.name, entry.size, sha256.clone(), first);
                continue;
            }
            if let Some(mut scan) = entry.scan.take() {
                if entry.text && !self.cancelled {
                    scan.text_done();
                }
                if let Some(sha256) = entry.sha256.clone() {
                    scan.set_sha256(sha256);
                }
                events.merge(&scan.stats().timeline);
                run.add_file(scan);
            }
        }
        self.index = Some(std::rc::Rc::new(run.take_index()));
        let report = run.finish(&self.rules);
        let findings = evtx_triage::timeline::TimelineCounts::of_findings(&report.findings);
        self.timeline = Some(std::rc::Rc::new(crate::components::timeline::TimelineData { events, findings }));
        self.report = Some(report);
        self.phase = if self.is_search { Phase::Done } else { Phase::Stories };
        self.finished_ms = now;
    }

    /// Once per run, when its files are read: the incidents' stories to
    /// tell. The findings stay here (a copy of 187,349 findings was 440 MiB
    /// of the page's memory): the batch holds what each story looks for.
    pub fn stories_to_tell(&mut self) -> Option<StoriesToTell> {
        if self.phase != Phase::Stories || self.stories_for == Some(self.run) {
            return None;
        }
        self.stories_for = Some(self.run);
        let (groups, batch) = evtx_triage::incident::batch_of(&self.report.as_ref()?.findings);
        Some(StoriesToTell { run: self.run, groups, batch, index: self.index.clone()? })
    }

    /// The incidents' chunks are read: the run is done.
    pub fn set_incidents(&mut self, told: StoriesToTell) {
        if let (Some(report), Phase::Stories, true) = (self.report.as_mut(), self.phase, told.run == self.run) {
            let incidents = evtx_triage::incident::told(&report.findings, told.groups, told.batch);
            // The processes' stories first, then the correlation hits the run already holds (as the CLI).
            report.incidents.splice(0..0, incidents);
            self.phase = Phase::Done;
        }
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

    /// Where [`Self::findings`] takes them from.
    pub fn finding_layout(&self) -> FindingLayout {
        let per_file = match &self.report {
            Some(r) => vec![r.findings.len()],
            None => self.files.iter().map(|f| f.scan.as_ref().map_or(0, |s| s.findings().len())).collect(),
        };
        FindingLayout { run: self.run, report: self.report.is_some(), per_file }
    }

    /// Every finding so far, in file order.
    pub fn findings(&self) -> Vec<&Finding> {
        match &self.report {
            Some(r) => r.findings.iter().collect(),
            None => self.files.iter().filter_map(|f| f.scan.as_ref()).flat_map(|s| s.findings().iter()).collect(),
        }
    }
}
