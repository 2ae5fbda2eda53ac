//! `evtx-triage search`: the events a query matches (see `evtx_triage::query`),
//! one line each, streamed in input order as the files are read.

use crate::{exit, inputs_or_exit, scan_file};
use clap::{Args, ValueEnum};
use evtx_triage::export;
use evtx_triage::query::{Query, SearchHit};
use evtx_triage::report::{FileStatus, Finding};
use evtx_triage::reread::{self, RereadError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    let (query, rules) = match Query::parse(&args.query).and_then(|q| q.rule_set().map(|r| (q, r))) {
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
    let mut unreadable = false;
    for path in &inputs {
        let mut events = EventReader::new(path);
        let mut stream = |findings: Vec<Finding>| out.write(&query, findings, &mut events);
        let mut scan = scan_file(path, &rules, threads, Some(&mut stream as &mut dyn FnMut(Vec<Finding>)));
        // Carved records' findings are held until the whole file is known.
        scan.end_of_file();
        out.write(&query, scan.drain_findings(), &mut events);
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

    /// The findings that are hits (in the query's time bounds), with their events.
    fn write(&mut self, query: &Query, findings: Vec<Finding>, events: &mut EventReader) {
        let mut text = String::new();
        let hits: Vec<&Finding> = findings.iter().filter(|f| query.admits(f)).collect();
        self.hits += hits.len() as u64;
        if self.format == Format::Table {
            hits.iter().for_each(|f| text.push_str(&table_line(f)));
            self.put(&text);
            return;
        }
        let all = events.events(&hits);
        for (f, event) in hits.iter().zip(all) {
            let event = event.unwrap_or_else(|e| SearchHit::error_event(&e.to_string()));
            let hit = SearchHit::new(f, event);
            match self.format {
                Format::Jsonl => text.push_str(&export::search_jsonl_line(&hit)),
                _ => text.push_str(&export::search_csv_row(&hit)),
            }
        }
        self.put(&text);
    }

    fn finish(mut self) {
        if self.format == Format::Table {
            let summary = format!("\n{} event(s)\n", self.hits);
            self.put(&summary);
        }
        let _ = self.stdout.flush();
    }
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
