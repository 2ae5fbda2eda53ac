//! `evtx-triage`: the command-line scanner over the same core as the web app.

use clap::{Args, Parser, Subcommand, ValueEnum};
use evtx_triage::digest::{self, HashingReader};
use evtx_triage::export;
use evtx_triage::html_report::HtmlReportBuilder;
use evtx_triage::input;
use evtx_triage::reader::{ChunkSplitter, FileHeaderInfo, RawChunk};
use evtx_triage::report::FileStatus;
use evtx_triage::report::Issue;
use evtx_triage::report::{Finding, RunReport};
use evtx_triage::reread;
use evtx_triage::rule_load::{check_options, LoadOptions, SkipKind};
use evtx_triage::rule_source::{self, RuleTexts};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, ChunkTally, FileScan, RunBuilder};
use evtx_triage::text_scan;
use evtx_triage::text_split::{TextSplitter, TextUnit};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{mpsc, Mutex};

mod search_cli;
mod timeline_cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "evtx-triage",
    version,
    about = "Find credential dumping and more (MITRE CAR analytics and Sigma rules) in Windows event logs (.evtx, JSON, XML), offline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan event logs (.evtx, or JSON/XML exports, recognized by content) or folders of them, and print findings.
    Scan(ScanArgs),
    /// Search event logs (or folders of them) for the events a query matches, and print them.
    Search(search_cli::SearchArgs),
    /// Events per time bucket, per computer or channel, with the findings of a scan marked on their buckets.
    Timeline(timeline_cli::TimelineArgs),
}

#[derive(Args)]
struct ScanArgs {
    /// Output format (`jsonl` and `csv` stream findings as they come).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Extra Sigma rules: a .yml file, a .zip of rules, or a folder of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Load only rules of at least this level.
    #[arg(long, value_name = "LEVEL")]
    min_level: Option<String>,
    /// Load only rules of these statuses (comma-separated: stable,test,experimental,...).
    #[arg(long, value_name = "STATUS", value_delimiter = ',')]
    status: Vec<String>,
    /// Put each finding's full event in `json` and `jsonl` output (read again from the file).
    #[arg(long)]
    events: bool,
    /// Also write the ATT&CK techniques hit as a Navigator layer (format 4.5) to FILE.
    #[arg(long, value_name = "FILE")]
    navigator: Option<PathBuf>,
    /// Also write a self-contained HTML report (inputs and their SHA-256, rule set, coverage, findings, ATT&CK) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Also write the files' integrity notes (EventRecordID gaps, cleared logs, hidden records, ...) as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    notes_csv: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Files or folders to scan.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    /// Timesketch's CSV import (message, datetime, timestamp_desc, then the fields).
    Timesketch,
}

/// How much of a file is read at a time, and how many chunks go to the threads at once.
const READ_SIZE: usize = 256 << 10;
const BATCH_CHUNKS: usize = 32;

/// Exit statuses, decided in one place: 0 every input was analyzed, 1 an
/// input could not be read at all, 2 a usage error (bad flag, missing path,
/// a rule file named on the command line that cannot be used, an output
/// file that cannot be written, a search query that cannot be parsed).
mod exit {
    pub const UNREADABLE_INPUT: u8 = 1;
    pub const USAGE: u8 = 2;
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Scan(args) => run_scan(args),
        Command::Search(args) => search_cli::run(args),
        Command::Timeline(args) => timeline_cli::run(args),
    }
}

fn run_scan(args: ScanArgs) -> ExitCode {
    let ScanArgs { format, rules: rule_paths, min_level, status, events, navigator, report: html_path, notes_csv, threads, paths } = args;
    let options = LoadOptions { min_level, statuses: status, disabled: Vec::new() };
    let rules = match rules_or_exit(&rule_paths, &options) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let inputs = match inputs_or_exit(&paths) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let mut out = Output::new(format, events, &rules);
    out.layer = navigator.as_ref().map(|_| evtx_triage::navigator::LayerBuilder::default());
    out.html = html_path.as_ref().map(|_| HtmlReportBuilder::default());
    let mut run = RunBuilder::new();
    for path in &inputs {
        if let Some((sha256, first)) = duplicate_of(path, &run) {
            let size = std::fs::metadata(path).map_or(0, |m| m.len());
            run.add_duplicate(&path.display().to_string(), size, sha256, &first);
            continue;
        }
        let streams = out.streams();
        let mut stream = |findings| out.findings(path, findings);
        let scan = scan_file(path, &rules, threads, streams.then_some(&mut stream as &mut dyn FnMut(Vec<Finding>)));
        out.file_done(path, scan, &mut run);
    }
    let index = run.take_index();
    let mut report = run.finish(&rules);
    // Incidents for `json`, `table` and the HTML report (streamed findings are kept for it).
    let paths = inputs.iter().map(|p| (p.display().to_string(), p.clone())).collect();
    let stories = if !out.streams() {
        evtx_triage::incident::incidents_from_disk(&report.findings, &index, &paths, threads)
    } else {
        // Streamed findings were kept for the HTML report and the correlations only.
        report.incidents = rules.correlate(&out.streamed);
        // Their findings by place in the output, not in what was kept.
        for i in &mut report.incidents {
            i.findings.iter_mut().for_each(|f| *f = out.streamed_at[*f]);
        }
        match out.html {
            Some(_) => evtx_triage::incident::incidents_from_disk(&std::mem::take(&mut out.streamed), &index, &paths, threads),
            None => Vec::new(),
        }
    };
    report.incidents.splice(0..0, stories);
    for f in &report.files {
        if let Some(e) = &f.error {
            eprintln!("evtx-triage: {}: {e}", f.file);
        }
    }
    let (layer, html) = out.finish(&report, &inputs);
    if let (Some(path), Some(html)) = (&html_path, html) {
        let written = jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default();
        if let Err(e) = std::fs::write(path, html.finish(&report, &rules, &written)) {
            eprintln!("evtx-triage: {}: cannot write the HTML report: {e}", path.display());
            return ExitCode::from(exit::USAGE);
        }
    }
    if let (Some(path), Some(layer)) = (&navigator, layer) {
        let layer = serde_json::to_string_pretty(&layer.finish(&report)).expect("layer serializes") + "\n";
        if let Err(e) = std::fs::write(path, layer) {
            eprintln!("evtx-triage: {}: cannot write the Navigator layer: {e}", path.display());
            return ExitCode::from(exit::USAGE);
        }
    }
    if let Some(path) = &notes_csv {
        if let Err(e) = std::fs::write(path, evtx_triage::export::notes_csv(&report.files)) {
            eprintln!("evtx-triage: {}: cannot write the integrity notes: {e}", path.display());
            return ExitCode::from(exit::USAGE);
        }
    }
    if report.files.iter().any(|f| f.status == FileStatus::Unreadable) {
        ExitCode::from(exit::UNREADABLE_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

/// The earlier input with the same bytes as `path`, and their SHA-256. Only
/// an input of the same size as an earlier one is hashed ahead of its scan
/// (read twice only when the sizes match and the bytes do not).
fn duplicate_of(path: &Path, run: &RunBuilder) -> Option<(String, String)> {
    let size = std::fs::metadata(path).ok()?.len();
    if !run.has_size(size) {
        return None;
    }
    let sha256 = digest::file_sha256(path).ok()?;
    let first = run.first_with_sha256(&sha256)?.to_string();
    Some((sha256, first))
}

/// Writes results as they come (`jsonl`, `csv`) or once at the end (`json`, `table`).
struct Output {
    format: Format,
    events: bool,
    /// The Navigator layer and the HTML report, when asked for, fed as findings go by.
    layer: Option<evtx_triage::navigator::LayerBuilder>,
    html: Option<HtmlReportBuilder>,
    /// Streamed findings, kept only for the HTML report's incidents and the correlations.
    streamed: Vec<Finding>,
    /// Each kept finding's place among the findings written (0 = the first).
    streamed_at: Vec<usize>,
    /// Findings written so far.
    written: usize,
    /// Analytics whose findings correlation rules count (kept when streamed).
    correlated: std::collections::HashSet<String>,
    stdout: std::io::BufWriter<std::io::Stdout>,
}

impl Output {
    fn new(format: Format, events: bool, rules: &RuleSet) -> Self {
        let correlated =
            rules.analytics().enumerate().filter(|(i, _)| rules.correlations().counts(*i)).map(|(_, a)| a.id.clone()).collect();
        let mut out = Output {
            format,
            events,
            layer: None,
            html: None,
            streamed: Vec::new(),
            streamed_at: Vec::new(),
            written: 0,
            correlated,
            stdout: std::io::BufWriter::new(std::io::stdout()),
        };
        match format {
            Format::Jsonl => {
                let line = export::jsonl_line("rules", serde_json::to_value(rules.load_report()).expect("report serializes"));
                out.write(&line);
            }
            Format::Csv => out.write(export::findings_csv(&[])),
            Format::Timesketch => out.write(export::timesketch_csv(&[], true)),
            _ => {}
        }
        out
    }

    fn write(&mut self, text: impl AsRef<[u8]>) {
        // A closed pipe (`| head`) ends the output, not the run's exit status.
        let _ = self.stdout.write_all(text.as_ref());
    }

    /// Findings of `path`, in file order, as they are folded.
    fn findings(&mut self, path: &Path, findings: Vec<Finding>) {
        self.feed_builders(&findings);
        match self.format {
            Format::Jsonl => {
                let mut lines = Vec::new();
                for_each_with_event(&findings, self.events.then_some(path), |f, event| {
                    export::push_finding_line(&mut lines, f, event.as_ref())
                });
                self.write(&lines);
            }
            Format::Csv => {
                let text = export::findings_csv_rows(&findings);
                self.write(&text);
            }
            Format::Timesketch => {
                let text = export::timesketch_csv(&findings, false);
                self.write(&text);
            }
            _ => {}
        }
    }

    fn streams(&self) -> bool {
        matches!(self.format, Format::Jsonl | Format::Csv | Format::Timesketch)
    }

    fn file_done(&mut self, path: &Path, mut scan: FileScan, run: &mut RunBuilder) {
        if self.streams() {
            scan.end_of_file();
            let rest = scan.drain_findings();
            self.findings(path, rest);
        }
        run.add_file(scan);
    }

    fn feed_builders(&mut self, findings: &[Finding]) {
        if let Some(layer) = self.layer.as_mut() {
            findings.iter().for_each(|f| layer.add(f));
        }
        if let Some(html) = self.html.as_mut() {
            findings.iter().for_each(|f| html.add(f));
        }
        if self.streams() {
            for (n, f) in findings.iter().enumerate() {
                if self.html.is_some() || self.correlated.contains(&*f.analytic_id) {
                    self.streamed.push(f.clone());
                    self.streamed_at.push(self.written + n);
                }
            }
            self.written += findings.len();
        }
    }

    /// Writes what is left; returns the Navigator layer and the HTML report, fed every finding.
    fn finish(
        mut self,
        report: &RunReport,
        inputs: &[PathBuf],
    ) -> (Option<evtx_triage::navigator::LayerBuilder>, Option<HtmlReportBuilder>) {
        if !self.streams() {
            self.feed_builders(&report.findings);
        }
        match self.format {
            Format::Table => self.write(export::to_table(report)),
            Format::Json if self.events => {
                let mut v = serde_json::to_value(report).expect("report serializes");
                // Written as they are made, a chunk's findings at a time: with every event in
                // the tree first, the hit-rich bench log (57,344 findings) took 1.5 GB.
                if let Some(list) = v.get_mut("findings") {
                    *list = serde_json::Value::Null;
                }
                let _ =
                    serde_json::to_writer_pretty(&mut self.stdout, &ReportWithEvents { report: &v, findings: &report.findings, inputs });
                self.write("\n");
            }
            // Straight to stdout: a run with many findings need not hold its JSON text too.
            Format::Json => {
                let _ = serde_json::to_writer_pretty(&mut self.stdout, report);
                self.write("\n");
            }
            Format::Jsonl => {
                let mut text = String::new();
                for f in &report.files {
                    text.push_str(&export::jsonl_line("file", serde_json::to_value(f).expect("file report serializes")));
                }
                for c in &report.coverage {
                    text.push_str(&export::jsonl_line("coverage", serde_json::to_value(c).expect("coverage serializes")));
                }
                // The correlation hits: their events name the findings above by file and record.
                for i in report.incidents.iter().filter(|i| i.correlation.is_some()) {
                    text.push_str(&export::jsonl_line("incident", serde_json::to_value(i).expect("incident serializes")));
                }
                self.write(&text);
            }
            Format::Csv | Format::Timesketch => {}
        }
        let _ = self.stdout.flush();
        (self.layer, self.html)
    }
}

/// A JSON report whose findings carry their events, read again as the
/// findings are written.
struct ReportWithEvents<'a> {
    /// The report as JSON, its findings left out.
    report: &'a serde_json::Value,
    findings: &'a [Finding],
    inputs: &'a [PathBuf],
}

impl serde::Serialize for ReportWithEvents<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let fields = self.report.as_object().expect("a report is a JSON object");
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (key, value) in fields {
            if key == "findings" {
                map.serialize_entry(key, &FindingsWithEvents(self))?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

struct FindingsWithEvents<'a>(&'a ReportWithEvents<'a>);

impl serde::Serialize for FindingsWithEvents<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let by_name: BTreeMap<String, &PathBuf> = self.0.inputs.iter().map(|p| (p.display().to_string(), p)).collect();
        let sharing_a_span = self.0.findings.chunk_by(|a, b| a.file == b.file && reread::span_of(a) == reread::span_of(b));
        serializer.collect_seq(sharing_a_span.flat_map(|fs| finding_values(fs, by_name.get(&*fs[0].file).map(|p| p.as_path()))))
    }
}

/// Findings of one file as their JSON, each with its event read again from
/// `path` when given (or the reason it could not be).
fn finding_values(findings: &[Finding], path: Option<&Path>) -> Vec<serde_json::Value> {
    let mut out = Vec::with_capacity(findings.len());
    for_each_with_event(findings, path, |f, event| {
        let mut v = serde_json::to_value(f).expect("finding serializes");
        if let (Some(event), Some(obj)) = (event, v.as_object_mut()) {
            obj.insert("event".into(), event);
        }
        out.push(v);
    });
    out
}

/// Gives `each` every finding of one file and, when `path` is given, its
/// event read again from it (or the reason it could not be).
fn for_each_with_event(findings: &[Finding], path: Option<&Path>, mut each: impl FnMut(&Finding, Option<serde_json::Value>)) {
    let refs: Vec<&Finding> = findings.iter().collect();
    let mut events = path.map(|p| reread::events_in_file(p, &refs).into_iter());
    let event_value =
        |e: Result<serde_json::Value, reread::RereadError>| e.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }));
    for f in findings {
        each(f, events.as_mut().and_then(Iterator::next).map(event_value));
    }
}

/// The built-ins plus every `--rules` path. A rule file named on the command
/// line that cannot be used fails the run; inside a folder or zip, a bad
/// rule is skipped and reported.
fn load_rules(paths: &[PathBuf], options: &LoadOptions) -> Result<RuleSet, String> {
    check_options(options)?;
    let mut pack = RuleTexts::default();
    let mut named_files = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(format!("{}: no such file or folder", path.display()));
        }
        if path.is_file() && !rule_source::is_zip_name(&path.display().to_string()) {
            named_files.push(path.display().to_string());
        }
        pack.extend(rule_source::from_path(path));
    }
    let rules = RuleSet::load(&pack, options);
    let fatal = |k: SkipKind| matches!(k, SkipKind::Invalid | SkipKind::Unreadable | SkipKind::Unsupported | SkipKind::DuplicateId);
    if let Some(s) = rules.load_report().skipped.iter().find(|s| fatal(s.kind) && named_files.contains(&s.source)) {
        return Err(format!("{}: not a usable Sigma rule: {}", s.source, s.reason));
    }
    Ok(rules)
}

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// A folder's file of any name that is an event log by its content.
fn holds_events(path: &Path) -> bool {
    let mut head = Vec::with_capacity(input::PEEK_BYTES);
    let read = std::fs::File::open(path).and_then(|f| f.take(input::PEEK_BYTES as u64).read_to_end(&mut head));
    read.is_ok() && input::looks_like_events(&head)
}

/// The rule set of `--rules` and the load options, its load report told on
/// stderr; a rule file named that cannot be used exits with USAGE.
fn rules_or_exit(paths: &[PathBuf], options: &LoadOptions) -> Result<RuleSet, ExitCode> {
    let rules = load_rules(paths, options).map_err(|e| {
        eprintln!("evtx-triage: {e}");
        ExitCode::from(exit::USAGE)
    })?;
    if !paths.is_empty() {
        eprintln!("evtx-triage: {}", rules.load_report().summary());
        let told = |k: SkipKind| !matches!(k, SkipKind::NotWindows | SkipKind::FilteredLevel | SkipKind::FilteredStatus);
        for s in rules.load_report().skipped.iter().filter(|s| told(s.kind)) {
            eprintln!("evtx-triage: skipped {}: {}", s.source, s.reason);
        }
    }
    Ok(rules)
}

/// Every input the paths name (folders walked); a path that does not exist exits with USAGE.
fn inputs_or_exit(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ExitCode> {
    let mut inputs = Vec::new();
    for p in paths {
        collect_inputs(p, &mut inputs).map_err(|e| {
            eprintln!("evtx-triage: {e}");
            ExitCode::from(exit::USAGE)
        })?;
    }
    Ok(inputs)
}

fn collect_inputs(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if path.is_dir() {
        let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
            .follow_links(true)
            .into_iter()
            .filter_map(Result::ok)
            .map(|e| e.into_path())
            .filter(|p| p.is_file() && (has_ext(p, &["evtx"]) || holds_events(p)))
            .collect();
        found.sort();
        out.extend(found);
        Ok(())
    } else if path.exists() {
        out.push(path.to_path_buf());
        Ok(())
    } else {
        Err(format!("{}: no such file or folder", path.display()))
    }
}

/// Work for the analysis threads: a run of EVTX chunks, or of text documents.
pub(crate) enum Batch {
    Chunks(Vec<RawChunk>),
    Documents(Vec<TextUnit>, Vec<Issue>),
}

impl Batch {
    fn analyze(&self, name: &str, rules: &RuleSet) -> ChunkTally {
        match self {
            Batch::Chunks(chunks) => {
                let mut tally = ChunkTally::default();
                chunks.iter().for_each(|c| tally.add(analyze_chunk(name, c, rules)));
                tally
            }
            Batch::Documents(units, issues) => {
                let mut tally = text_scan::analyze_units(name, units, rules);
                text_scan::add_splitter_issues(&mut tally, issues.clone());
                tally
            }
        }
    }
}

/// What the reader found the file to be.
enum ReadEnd {
    Evtx(FileHeaderInfo),
    Text,
}

/// Reads a file piece by piece on this thread while `threads` threads
/// analyze its chunks or documents; results are folded in file order, and
/// `on_findings` gets them as they are (streamed output).
fn scan_file(path: &Path, rules: &RuleSet, threads: usize, on_findings: Option<&mut dyn FnMut(Vec<Finding>)>) -> FileScan {
    scan_file_with(path, rules, &ScanSetup { threads, sha256: true, after_batch: None }, on_findings)
}

/// How [`scan_file_with`] runs, beyond the rules.
struct ScanSetup<'h> {
    threads: usize,
    /// Take the file's SHA-256 on the way, for the report (a search has no use
    /// for it: 7 % of a one-thread `search EventID:1`'s CPU).
    sha256: bool,
    /// Run on the analysis thread after each batch, with its tally, before the
    /// tally is folded (and so before `on_findings` gets its findings).
    after_batch: Option<&'h AfterBatch<'h>>,
}

/// Work on a batch and its tally, on the analysis thread (see [`ScanSetup::after_batch`]).
pub(crate) type AfterBatch<'a> = dyn Fn(&Batch, &ChunkTally) + Sync + 'a;

/// [`scan_file`] set up otherwise.
fn scan_file_with(path: &Path, rules: &RuleSet, setup: &ScanSetup, mut on_findings: Option<&mut dyn FnMut(Vec<Finding>)>) -> FileScan {
    let threads = setup.threads;
    let name = path.display().to_string();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut scan = FileScan::new(&name, size);
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            scan.fail(format!("cannot open: {e}"));
            return scan;
        }
    };
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Batch)>(threads * 2);
    let (done_tx, done_rx) = mpsc::sync_channel::<(u64, ChunkTally)>(threads * 2);
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (job_rx, done_tx, name) = (&job_rx, done_tx.clone(), &name);
            s.spawn(move || loop {
                let job = job_rx.lock().expect("job queue").recv();
                let Ok((seq, batch)) = job else { break };
                let tally = batch.analyze(name, rules);
                if let Some(after) = setup.after_batch {
                    after(&batch, &tally);
                }
                if done_tx.send((seq, tally)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let sha256 = setup.sha256;
        let reader = s.spawn(move || read_batches(file, sha256, job_tx));
        // Fold batches in order as they come back.
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        for (seq, tally) in done_rx {
            waiting.insert(seq, tally);
            while let Some(tally) = waiting.remove(&next) {
                scan.add_tally(tally);
                next += 1;
                if let Some(stream) = on_findings.as_mut() {
                    stream(scan.drain_findings());
                }
            }
        }
        let (end, sha256) = reader.join().expect("reader thread");
        if let Some(hex) = sha256 {
            scan.set_sha256(hex);
        }
        match end {
            Ok(ReadEnd::Evtx(header)) => scan.header(&header),
            Ok(ReadEnd::Text) => scan.text_done(),
            Err(reason) => scan.fail(reason),
        }
    });
    scan
}

/// Reads the file into batches for the analysis threads (see [`read_format`]),
/// hashing every byte on the way when `sha256` says so; returns what the file
/// is and its SHA-256 (`None` on a read error or unasked).
fn read_batches(file: std::fs::File, sha256: bool, jobs: mpsc::SyncSender<(u64, Batch)>) -> (Result<ReadEnd, String>, Option<String>) {
    if !sha256 {
        let mut file = file;
        return (read_format(&mut file, jobs), None);
    }
    let mut file = HashingReader::new(file);
    let end = read_format(&mut file, jobs);
    let sha256 = file.finish().ok().map(|(hex, _)| hex);
    (end, sha256)
}

/// Reads EVTX chunks or text documents by what the first bytes are; returns
/// which, or why the file is not readable at all.
fn read_format(file: &mut dyn Read, jobs: mpsc::SyncSender<(u64, Batch)>) -> Result<ReadEnd, String> {
    let mut buf = vec![0u8; READ_SIZE];
    let mut filled = 0;
    // The first piece decides the format (a short read is not the end of the file).
    while filled < input::SNIFF_BYTES {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(format!("read error after {filled} bytes: {e}")),
        }
    }
    let container = match input::sniff(&buf[..filled], filled < input::SNIFF_BYTES) {
        Ok(Some(c)) => c,
        Ok(None) => return Err(format!("only whitespace in its first {filled} bytes: no events")),
        Err(reason) => return Err(reason),
    };
    let mut seq = 0u64;
    let mut send = |batch: Batch| {
        let _ = jobs.send((seq, batch));
        seq += 1;
    };
    match container {
        input::Container::Evtx => read_chunks(file, &mut buf, filled, &mut send).map(ReadEnd::Evtx),
        text => read_documents(file, &mut buf, filled, text, &mut send).map(|()| ReadEnd::Text),
    }
}

fn read_chunks(file: &mut dyn Read, buf: &mut [u8], first: usize, send: &mut dyn FnMut(Batch)) -> Result<FileHeaderInfo, String> {
    let mut splitter = ChunkSplitter::new();
    let mut batch: Vec<RawChunk> = splitter.push(&buf[..first]).map_err(|e| e.0)?;
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(format!("read error after {} bytes: {e}", splitter.bytes_seen())),
        };
        batch.extend(splitter.push(&buf[..n]).map_err(|e| e.0)?);
        if batch.len() >= BATCH_CHUNKS {
            send(Batch::Chunks(std::mem::replace(&mut batch, Vec::with_capacity(BATCH_CHUNKS))));
        }
    }
    batch.extend(splitter.finish().map_err(|e| e.0)?);
    if !batch.is_empty() {
        send(Batch::Chunks(batch));
    }
    Ok(splitter.header().cloned().unwrap_or_default())
}

/// Documents per batch: about as much text as a batch of chunks holds.
const BATCH_TEXT_BYTES: usize = 2 << 20;

fn read_documents(
    file: &mut dyn Read,
    buf: &mut [u8],
    first: usize,
    container: input::Container,
    send: &mut dyn FnMut(Batch),
) -> Result<(), String> {
    let mut splitter = TextSplitter::new(container);
    let mut batch = splitter.push(&buf[..first]);
    let mut seen = first as u64;
    let mut flush = |batch: &mut Vec<TextUnit>, splitter: &mut TextSplitter| {
        send(Batch::Documents(std::mem::take(batch), splitter.take_issues()));
    };
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(format!("read error after {seen} bytes: {e}")),
        };
        seen += n as u64;
        batch.extend(splitter.push(&buf[..n]));
        if batch.iter().map(|u| u.text.len()).sum::<usize>() >= BATCH_TEXT_BYTES {
            flush(&mut batch, &mut splitter);
        }
    }
    batch.extend(splitter.finish());
    flush(&mut batch, &mut splitter);
    Ok(())
}
