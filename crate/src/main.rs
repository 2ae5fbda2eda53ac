//! `evtx-triage`: the command-line scanner over the same core as the web app.

use clap::{Parser, Subcommand, ValueEnum};
use evtx_triage::analytics::{custom_analytics, Analytic, RuleLoadError};
use evtx_triage::export;
use evtx_triage::reader::{ChunkSplitter, FileHeaderInfo, RawChunk};
use evtx_triage::report::FileStatus;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, ChunkAnalysis, FileScan, RunBuilder};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{mpsc, Mutex};

#[derive(Parser)]
#[command(name = "evtx-triage", version, about = "Find credential dumping (MITRE CAR analytics, as Sigma rules) in Windows .evtx logs, offline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan .evtx files or folders (searched recursively) and print findings.
    Scan {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Extra Sigma rules: a .yml file or a folder of them (repeatable).
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Files or folders to scan.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

/// How much of a file is read at a time, and how many chunks go to the threads at once.
const READ_SIZE: usize = 256 << 10;
const BATCH_CHUNKS: usize = 32;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Scan { format, rules, threads, paths } = cli.command;
    let rules = match load_rules(&rules) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("evtx-triage: {e}");
            return ExitCode::from(2);
        }
    };
    let mut inputs = Vec::new();
    for p in &paths {
        if let Err(e) = collect_inputs(p, &mut inputs) {
            eprintln!("evtx-triage: {e}");
            return ExitCode::from(2);
        }
    }
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let mut run = RunBuilder::new();
    for path in &inputs {
        let scan = scan_file(path, &rules, threads);
        run.add_file(scan);
    }
    let report = run.finish(&rules);
    for f in &report.files {
        if let Some(e) = &f.error {
            eprintln!("evtx-triage: {}: {e}", f.file);
        }
    }
    let text = match format {
        Format::Table => export::to_table(&report),
        Format::Json => export::to_json(&report) + "\n",
        Format::Jsonl => export::to_jsonl(&report),
        Format::Csv => export::findings_csv(&report.findings),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if report.files.iter().any(|f| f.status == FileStatus::Unreadable) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn load_rules(paths: &[PathBuf]) -> Result<RuleSet, RuleLoadError> {
    let mut extra: Vec<Analytic> = Vec::new();
    for path in paths {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .into_iter()
                .filter_map(Result::ok)
                .map(|e| e.into_path())
                .filter(|p| p.is_file() && has_ext(p, &["yml", "yaml"]))
                .collect();
            v.sort();
            v
        } else {
            vec![path.clone()]
        };
        for file in files {
            let name = file.display().to_string();
            let yaml = std::fs::read_to_string(&file)
                .map_err(|e| RuleLoadError { file: name.clone(), reason: format!("cannot read: {e}") })?;
            extra.extend(custom_analytics(&name, &yaml)?);
        }
    }
    RuleSet::with_extra(extra)
}

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

fn collect_inputs(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if path.is_dir() {
        let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
            .follow_links(true)
            .into_iter()
            .filter_map(Result::ok)
            .map(|e| e.into_path())
            .filter(|p| p.is_file() && has_ext(p, &["evtx"]))
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

/// Reads a file piece by piece on this thread while `threads` threads
/// analyze its chunks; results are folded in file order.
fn scan_file(path: &Path, rules: &RuleSet, threads: usize) -> FileScan {
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
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<RawChunk>)>(threads * 2);
    let (done_tx, done_rx) = mpsc::channel::<(u64, Vec<ChunkAnalysis>, Vec<RawChunk>)>();
    let job_rx = Mutex::new(job_rx);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (job_rx, done_tx, name) = (&job_rx, done_tx.clone(), &name);
            s.spawn(move || loop {
                let job = job_rx.lock().expect("job queue").recv();
                let Ok((seq, batch)) = job else { break };
                let results = batch.iter().map(|c| analyze_chunk(name, c, rules)).collect();
                if done_tx.send((seq, results, batch)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let reader = s.spawn(move || read_chunks(file, job_tx));
        // Fold batches in order as they come back.
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        for (seq, results, batch) in done_rx {
            waiting.insert(seq, results);
            while let Some(results) = waiting.remove(&next) {
                results.into_iter().for_each(|r| scan.add(r));
                next += 1;
            }
            drop(batch);
        }
        match reader.join().expect("reader thread") {
            Ok(header) => scan.header(&header),
            Err(reason) => scan.fail(reason),
        }
    });
    scan
}

/// Reads the file into batches of chunks for the analysis threads; returns
/// the file header, or why the file is not readable at all.
fn read_chunks(mut file: std::fs::File, jobs: mpsc::SyncSender<(u64, Vec<RawChunk>)>) -> Result<FileHeaderInfo, String> {
    let mut splitter = ChunkSplitter::new();
    let mut buf = vec![0u8; READ_SIZE];
    let mut batch: Vec<RawChunk> = Vec::with_capacity(BATCH_CHUNKS);
    let mut seq = 0u64;
    let mut send = |batch: &mut Vec<RawChunk>| {
        if !batch.is_empty() {
            let _ = jobs.send((seq, std::mem::replace(batch, Vec::with_capacity(BATCH_CHUNKS))));
            seq += 1;
        }
    };
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(format!("read error after {} bytes: {e}", splitter.bytes_seen())),
        };
        batch.extend(splitter.push(&buf[..n]).map_err(|e| e.0)?);
        if batch.len() >= BATCH_CHUNKS {
            send(&mut batch);
        }
    }
    batch.extend(splitter.finish().map_err(|e| e.0)?);
    send(&mut batch);
    Ok(splitter.header().cloned().unwrap_or_default())
}
