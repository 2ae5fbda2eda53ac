//! `evtx-triage`: the command-line scanner over the same core as the web app.

use clap::{Parser, Subcommand, ValueEnum};
use evtx_triage::analytics::{custom_analytics, Analytic, RuleLoadError};
use evtx_triage::export;
use evtx_triage::reader::{ChunkSplitter, RawChunk};
use evtx_triage::report::FileStatus;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, FileScan, RunBuilder};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
const READ_SIZE: usize = 8 << 20;
const BATCH_CHUNKS: usize = 256;

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

/// Reads a file piece by piece and analyzes its chunks on `threads` threads,
/// merging the results in file order.
fn scan_file(path: &Path, rules: &RuleSet, threads: usize) -> FileScan {
    let name = path.display().to_string();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut scan = FileScan::new(&name, size);
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            scan.fail(format!("cannot open: {e}"));
            return scan;
        }
    };
    let mut splitter = ChunkSplitter::new();
    let mut buf = vec![0u8; READ_SIZE];
    let mut batch: Vec<RawChunk> = Vec::with_capacity(BATCH_CHUNKS);
    let mut header_done = false;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                scan.fail(format!("read error after {} bytes: {e}", splitter.bytes_seen()));
                return scan;
            }
        };
        match splitter.push(&buf[..n]) {
            Ok(chunks) => batch.extend(chunks),
            Err(e) => {
                scan.fail(e.0);
                return scan;
            }
        }
        if !header_done {
            if let Some(h) = splitter.header() {
                scan.header_warnings(&h.warnings);
                header_done = true;
            }
        }
        if batch.len() >= BATCH_CHUNKS {
            analyze_batch(&name, &mut batch, rules, threads, &mut scan);
        }
    }
    match splitter.finish() {
        Ok(tail) => batch.extend(tail),
        Err(e) => {
            scan.fail(e.0);
            return scan;
        }
    }
    if !header_done {
        if let Some(h) = splitter.header() {
            scan.header_warnings(&h.warnings);
        }
    }
    analyze_batch(&name, &mut batch, rules, threads, &mut scan);
    scan
}

fn analyze_batch(file: &str, batch: &mut Vec<RawChunk>, rules: &RuleSet, threads: usize, scan: &mut FileScan) {
    if batch.is_empty() {
        return;
    }
    let per_thread = batch.len().div_ceil(threads);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(per_thread)
            .map(|part| s.spawn(move || part.iter().map(|c| analyze_chunk(file, c, rules)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("chunk analysis thread")).collect()
    });
    for r in results {
        scan.add(r);
    }
    batch.clear();
}
