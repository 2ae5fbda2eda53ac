//! `evtx-triage timeline`: events per time bucket, per computer or channel,
//! with the findings marked (see `evtx_triage::timeline`). The files are
//! scanned as `scan` scans them; findings are counted per minute as they
//! stream, not kept, so memory stays flat however many there are.

use crate::{exit, inputs_or_exit, rules_or_exit, scan_file};
use clap::{Args, ValueEnum};
use evtx_triage::report::{FileStatus, Finding, StatsBuilder};
use evtx_triage::rule_load::LoadOptions;
use evtx_triage::timeline::{self, Group, Timeline, TimelineCounts, TimelineOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct TimelineArgs {
    /// Files or folders to scan.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// One series per computer or per channel.
    #[arg(long, value_enum, default_value_t = By::Computer)]
    by: By,
    /// Bucket width: auto (at most 120 buckets over the span), 1m, 5m, 15m, 1h, 6h, 1d, 7d (or any <n>m, <n>h, <n>d, <n>w).
    #[arg(long, value_name = "WIDTH", default_value = "auto")]
    bucket: String,
    /// Only events from this time on (ISO 8601, or a date; UTC when no offset is given; taken to its minute).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only events before this time (same forms as --from; taken up to the end of its minute).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Extra Sigma rules to mark findings of: a .yml file, a .zip of rules, or a folder of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Load only rules of at least this level.
    #[arg(long, value_name = "LEVEL")]
    min_level: Option<String>,
    /// Load only rules of these statuses (comma-separated).
    #[arg(long, value_name = "STATUS", value_delimiter = ',')]
    status: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum By {
    Computer,
    Channel,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

/// The layout asked for, or why the flags do not make one.
fn options(args: &TimelineArgs) -> Result<TimelineOptions, String> {
    let bucket_seconds = match args.bucket.trim() {
        "auto" | "" => None,
        w => Some(timeline::parse_width(w).ok_or_else(|| format!("--bucket {w}: expected auto, 1m, 5m, 15m, 1h, 6h, 1d or 7d"))?),
    };
    let time = |flag: &str, v: &Option<String>| -> Result<Option<i64>, String> {
        v.as_deref()
            .map(|t| {
                timeline::seconds_of_iso(t)
                    .ok_or_else(|| format!("{flag} {t}: expected a date (2019-03-17) or a time (2019-03-17T19:00:00Z)"))
            })
            .transpose()
    };
    let (from, to) = (time("--from", &args.from)?, time("--to", &args.to)?);
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err("the range is empty: --from must be before --to".into());
        }
    }
    let group = match args.by {
        By::Computer => Group::Computer,
        By::Channel => Group::Channel,
    };
    Ok(TimelineOptions { group, bucket_seconds, from, to })
}

pub fn run(args: TimelineArgs) -> ExitCode {
    let layout = match options(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("evtx-triage: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let load = LoadOptions { min_level: args.min_level.clone(), statuses: args.status.clone(), disabled: Vec::new() };
    let rules = match rules_or_exit(&args.rules, &load) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let inputs = match inputs_or_exit(&args.paths) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let mut totals = StatsBuilder::default();
    let mut findings = TimelineCounts::default();
    let mut unreadable = false;
    // Inputs read so far, by size and SHA-256: a file given twice counts once (as `scan` does).
    let mut read: Vec<(u64, Option<String>)> = Vec::new();
    for path in &inputs {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        if read.iter().any(|(s, _)| *s == size) {
            let sha256 = evtx_triage::digest::file_sha256(path).ok();
            if sha256.is_some() && read.iter().any(|(s, h)| *s == size && *h == sha256) {
                continue;
            }
        }
        let mut stream = |found: Vec<Finding>| found.iter().for_each(|f| findings.add_finding(f));
        let mut scan = scan_file(path, &rules, threads, Some(&mut stream as &mut dyn FnMut(Vec<Finding>)));
        // Carved records' findings are held until the whole file is known.
        scan.end_of_file();
        scan.drain_findings().iter().for_each(|f| findings.add_finding(f));
        let (report, rest, stats) = scan.finish();
        rest.iter().for_each(|f| findings.add_finding(f));
        if report.status == FileStatus::Unreadable {
            eprintln!("evtx-triage: {}: {}", report.file, report.error.as_deref().unwrap_or("unreadable"));
            unreadable = true;
        }
        totals.merge(&stats);
        read.push((size, report.sha256.clone()));
    }
    let line = match Timeline::build_counts(&totals.timeline, &findings, &layout) {
        Ok(t) => match args.format {
            Format::Table => t.to_table(),
            Format::Csv => t.to_csv(),
            Format::Json => serde_json::to_string_pretty(&t).expect("timeline serializes") + "\n",
        },
        Err(e) => {
            eprintln!("evtx-triage: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) ends the output, not the run's exit status.
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
    if unreadable {
        ExitCode::from(exit::UNREADABLE_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
