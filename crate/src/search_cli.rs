//! `evtx-triage search`: the events a query matches (see `evtx_triage::query`),
//! one line each, streamed in input order as the files are read.

use crate::{exit, inputs_or_exit, scan_file_with, AfterBatch, Batch, ScanSetup};
use clap::{Args, ValueEnum};
use evtx_triage::export;
use evtx_triage::query::{Query, SearchHit};
use evtx_triage::reader::RawChunk;
use evtx_triage::report::{FileStatus, Finding};
use evtx_triage::reread::{self, ChunkRequest, RereadError};
use evtx_triage::scan::ChunkTally;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Args)]
pub struct SearchArgs {
    /// Terms that must all hold: `Field:value` (`*` and `?` wildcards, case ignored), free text,
    /// "quoted text", `-term` (must not hold), `TimeCreated>=2019-03-17T19:00:00Z` (also >, <, <=).
    #[arg(value_name = "QUERY", allow_hyphen_values = true)]
    query: String,
    /// Files or folders to search.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Output format (each streams events as they are found; `table` leaves the event out).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Jsonl,
    Csv,
}

pub fn run(args: SearchArgs) -> ExitCode {
    let (query, rules) = match Query::parse(&args.query).and_then(|q| q.rule_set().map(|r| (q, r.without_stories().without_match_detail())))
    {
        Ok(compiled) => compiled,
        Err(e) => {
            eprintln!("evtx-triage: bad query: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    for field in query.unknown_fields() {
        eprintln!("evtx-triage: note: {field:?} is not a field name known here: it matches only events that spell it so");
    }
    let inputs = match inputs_or_exit(&args.paths) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let mut out = HitWriter::new(args.format);
    let ready = ReadyLines::default();
    let make_lines = |batch: &Batch, tally: &ChunkTally| ready.add(batch, tally, &query, args.format);
    let setup = ScanSetup { threads, sha256: false, after_batch: (args.format != Format::Table).then_some(&make_lines as &AfterBatch) };
    let mut unreadable = false;
    for path in &inputs {
        let mut events = EventReader::new(path);
        let mut stream = |findings: Vec<Finding>| out.write(&query, findings, &ready, &mut events);
        let mut scan = scan_file_with(path, &rules, &setup, Some(&mut stream as &mut dyn FnMut(Vec<Finding>)));
        // Carved records' findings are held until the whole file is known.
        scan.end_of_file();
        out.write(&query, scan.drain_findings(), &ready, &mut events);
        // What is left belongs to findings dropped in the fold (carved copies of live records).
        ready.clear();
        let (report, _, _) = scan.finish();
        if report.status == FileStatus::Unreadable {
            eprintln!("evtx-triage: {}: {}", report.file, report.error.as_deref().unwrap_or("unreadable"));
            unreadable = true;
        }
    }
    out.finish();
    if unreadable {
        ExitCode::from(exit::UNREADABLE_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes hits to stdout in one format as they come.
struct HitWriter {
    format: Format,
    stdout: std::io::BufWriter<std::io::Stdout>,
    hits: u64,
}

impl HitWriter {
    fn new(format: Format) -> Self {
        let mut out = HitWriter { format, stdout: std::io::BufWriter::new(std::io::stdout()), hits: 0 };
        match format {
            Format::Csv => out.put(&export::search_csv_header()),
            Format::Table => {
                out.put(&format!("{:<28} {:>5} {:>10}  {:<20} {:<40} {}\n", "TIME", "EVENT", "RECORD", "COMPUTER", "CHANNEL", "FILE"))
            }
            Format::Jsonl => {}
        }
        out
    }

    fn put(&mut self, text: &str) {
        // A closed pipe (`| head`) ends the output, not the run's exit status.
        let _ = self.stdout.write_all(text.as_bytes());
    }

    /// The findings that are hits (in the query's time bounds), with their
    /// events: the lines the analysis threads made, else read again here.
    fn write(&mut self, query: &Query, findings: Vec<Finding>, ready: &ReadyLines, events: &mut EventReader) {
        let hits: Vec<&Finding> = findings.iter().filter(|f| query.admits(f)).collect();
        self.hits += hits.len() as u64;
        if self.format == Format::Table {
            let text: String = hits.iter().map(|f| table_line(f)).collect();
            self.put(&text);
            return;
        }
        let made = ready.take(&hits);
        let unmade: Vec<&Finding> = hits.iter().zip(&made).filter(|(_, line)| line.is_none()).map(|(f, _)| *f).collect();
        let mut read_here = events.events(&unmade).into_iter();
        // Lines made one after another on a thread are written as one slice.
        let mut pending: Option<ReadyLine> = None;
        for (f, line) in hits.iter().zip(made) {
            let line = line.unwrap_or_else(|| {
                let mut text = String::new();
                push_hit_line(&mut text, self.format, f, read_here.next().expect("one event per unmade line"));
                ReadyLine::whole(text)
            });
            if let Some(done) = ReadyLine::extend(&mut pending, line) {
                self.put(done.get());
            }
        }
        if let Some(p) = pending {
            self.put(p.get());
        }
        if let Some(last) = hits.iter().filter(|f| f.recovered.is_none()).map(|f| f.offset).max() {
            ready.forget_before(last);
        }
    }

    fn finish(mut self) {
        if self.format == Format::Table {
            let summary = format!("\n{} event(s)\n", self.hits);
            self.put(&summary);
        }
        let _ = self.stdout.flush();
    }
}

/// Puts a hit's output line (`jsonl` or `csv`) in `out`: its event or why it could not be read.
fn push_hit_line(out: &mut String, format: Format, f: &Finding, event: Result<reread::EventText, RereadError>) {
    let event = event.unwrap_or_else(|e| SearchHit::error_event(&e.to_string()));
    let hit = SearchHit::new(f, event);
    match format {
        Format::Jsonl => export::push_search_jsonl_line(out, &hit),
        _ => out.push_str(&export::search_csv_row(&hit)),
    }
}

/// Hits' output lines made on the analysis threads, from the chunk bytes they
/// hold, by the file offset of the hit's record; the writer takes them in file
/// order. Reading every hit's chunk again on the one writing thread made the
/// writer the bottleneck: `search EventID:1` on the 1 GiB bench log wrote 314,411
/// events in 5.1-5.4 s against 3.3 s for the same hits without their events.
#[derive(Default)]
struct ReadyLines(Mutex<HashMap<u64, ReadyLine>>);

/// A line made on an analysis thread: a span of the text of its batch's lines,
/// which is let go of once, with the batch's last line (one free of a block
/// made on another thread per batch, not one per line).
struct ReadyLine {
    text: Arc<String>,
    span: std::ops::Range<usize>,
}

impl ReadyLine {
    /// A line of its own text.
    fn whole(text: String) -> Self {
        let span = 0..text.len();
        ReadyLine { text: Arc::new(text), span }
    }

    fn get(&self) -> &str {
        &self.text[self.span.clone()]
    }

    /// Adds `next` to the lines `pending` holds when it follows them in the
    /// same text, else holds `next` instead and gives back the lines held.
    fn extend(pending: &mut Option<ReadyLine>, next: ReadyLine) -> Option<ReadyLine> {
        match pending {
            Some(p) if Arc::ptr_eq(&p.text, &next.text) && p.span.end == next.span.start => {
                p.span.end = next.span.end;
                None
            }
            _ => pending.replace(next),
        }
    }
}

impl ReadyLines {
    /// Makes the lines of a batch's hits (of EVTX chunks; a text export's are read by the writer).
    fn add(&self, batch: &Batch, tally: &ChunkTally, query: &Query, format: Format) {
        let Batch::Chunks(chunks) = batch else { return };
        // Carved records' hits are held to the end of the file, and most are
        // dropped there as copies of live records: the writer reads the others.
        let live = |f: &&Finding| f.length.is_none() && f.recovered.is_none();
        let hits: Vec<&Finding> = tally.findings.iter().filter(live).filter(|f| query.admits(f)).collect();
        let runs: Vec<(&RawChunk, &[&Finding], Vec<u64>)> = hits
            .chunk_by(|a, b| a.chunk == b.chunk)
            .filter_map(|run| Some((chunk_of(chunks, run[0].chunk)?, run, run.iter().map(|f| f.offset).collect())))
            .collect();
        let requests: Vec<ChunkRequest> = runs
            .iter()
            .map(|(raw, _, offsets)| ChunkRequest {
                index: raw.index,
                bytes: &raw.data,
                offsets,
                as_written: raw.as_written.get().copied(),
            })
            .collect();
        let events: Vec<Vec<_>> = runs
            .iter()
            .zip(reread::events_in_chunks_at(&requests))
            .map(|((_, run, _), events)| events.unwrap_or_else(|e| run.iter().map(|_| Err(e.clone())).collect()))
            .collect();
        // Room for the lines up front: the text doubling as it grew was 4 % of
        // `search EventID:1`'s CPU, copies and fresh pages (1 GiB bench log).
        let room = events.iter().flatten().map(|e| e.as_ref().map_or(0, |e| e.get().len()) + 256).sum();
        let mut text = String::with_capacity(room);
        let mut spans = Vec::with_capacity(hits.len());
        for ((_, run, _), events) in runs.iter().zip(events) {
            for (f, event) in run.iter().zip(events) {
                let start = text.len();
                push_hit_line(&mut text, format, f, event);
                spans.push((f.offset, start..text.len()));
            }
        }
        let text = Arc::new(text);
        let lines = spans.into_iter().map(|(offset, span)| (offset, ReadyLine { text: Arc::clone(&text), span }));
        self.0.lock().expect("ready lines").extend(lines);
    }

    /// The lines of these hits, in their order (`None`: not made).
    fn take(&self, hits: &[&Finding]) -> Vec<Option<ReadyLine>> {
        let mut ready = self.0.lock().expect("ready lines");
        hits.iter().map(|f| if f.length.is_none() { ready.remove(&f.offset) } else { None }).collect()
    }

    /// Lets go of the lines of records before `offset`, once the writer is past
    /// them: the fold dropped their findings (a line missed is read again).
    fn forget_before(&self, offset: u64) {
        self.0.lock().expect("ready lines").retain(|&at, _| at >= offset);
    }

    fn clear(&self) {
        self.0.lock().expect("ready lines").clear();
    }
}

fn chunk_of(chunks: &[RawChunk], index: u64) -> Option<&RawChunk> {
    chunks.iter().find(|c| c.index == index)
}

fn table_line(f: &Finding) -> String {
    let text = |v: Option<&str>| v.unwrap_or("-").to_string();
    let line = format!(
        "{:<28} {:>5} {:>10}  {:<20} {:<40} {}\n",
        text(f.time_created.as_deref()),
        f.event_id.map_or_else(|| "-".into(), |i| i.to_string()),
        f.event_record_id,
        clip(&text(f.computer.as_deref()), 20),
        clip(&text(f.channel.as_deref()), 40),
        f.file
    );
    match f.recovery_text() {
        Some(how) => format!("{line}{:<28} {how}\n", ""),
        None => line,
    }
}

/// Text cut to `n` characters, keeping its end (where names differ).
fn clip(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_string();
    }
    format!("…{}", s.chars().skip(count - (n - 1)).collect::<String>())
}

/// Reads hits' events again from one file, which stays open; the bytes of
/// the last span (an EVTX chunk) are kept, as consecutive hits share it.
struct EventReader<'p> {
    path: &'p Path,
    file: Option<std::fs::File>,
    span: Option<(u64, u64)>,
    bytes: Vec<u8>,
}

impl<'p> EventReader<'p> {
    fn new(path: &'p Path) -> Self {
        EventReader { path, file: None, span: None, bytes: Vec::new() }
    }

    /// The hits' events, in their order: the hits of one chunk are read in one pass over it.
    fn events(&mut self, hits: &[&Finding]) -> Vec<Result<reread::EventText, RereadError>> {
        let mut out = Vec::with_capacity(hits.len());
        for run in hits.chunk_by(|a, b| reread::span_of(a) == reread::span_of(b)) {
            if let Err(e) = self.load(reread::span_of(run[0])) {
                out.extend(run.iter().map(|_| Err(e.clone())));
                continue;
            }
            out.extend(reread::events_of(&self.bytes, run));
        }
        out
    }

    /// Reads a span unless it is the one held.
    fn load(&mut self, span: (u64, u64)) -> Result<(), RereadError> {
        if self.span != Some(span) {
            self.span = None;
            self.read(span).map_err(|e| RereadError(format!("{}: {e}", self.path.display())))?;
            self.span = Some(span);
        }
        Ok(())
    }

    fn read(&mut self, (start, length): (u64, u64)) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(std::fs::File::open(self.path)?);
        }
        let file = self.file.as_mut().expect("opened");
        file.seek(SeekFrom::Start(start))?;
        self.bytes.clear();
        file.take(length).read_to_end(&mut self.bytes)?;
        Ok(())
    }
}
