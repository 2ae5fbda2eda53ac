//! Times what reading again costs once a log is scanned: each incident's
//! story, and the events ±2 minutes around its first finding, read through
//! the chunk index (not the whole file); prints the index's size too.
//!
//! Run: cargo run --release --example story_timing -- LOG.evtx [MORE.evtx ...]

use evtx_triage::incident::group;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::story::{story_from_disk, StoryBuilder};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    assert!(!paths.is_empty(), "usage: story_timing LOG.evtx [MORE.evtx ...]");
    let rules = RuleSet::builtin();
    let mut run = RunBuilder::new();
    let started = Instant::now();
    for p in &paths {
        run.add_file(scan_bytes(&p.display().to_string(), &std::fs::read(p).expect("readable log"), &rules));
    }
    println!("scan (one thread, in memory): {:.2} s", started.elapsed().as_secs_f64());
    let index = run.take_index();
    let report = run.finish(&rules);
    for (name, fi) in index.files() {
        println!("index of {name}: {} chunks, about {} KiB", fi.chunk_count(), fi.approximate_bytes() / 1024);
    }
    let by_name: BTreeMap<String, PathBuf> = paths.iter().map(|p| (p.display().to_string(), p.clone())).collect();
    for members in group(&report.findings).into_iter().take(5) {
        let first = &report.findings[members[0]];
        let theirs: Vec<_> = members.iter().map(|&i| &report.findings[i]).collect();
        let t = Instant::now();
        let story = story_from_disk(StoryBuilder::new(first).expect("an incident names its process"), &index, &by_name, &theirs);
        let story_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let (around, cut) = evtx_triage::context::context_from_disk(first, 2, &index, &by_name);
        println!(
            "story of {} ({} findings): {:.3} s, {} chunks read, {} events{}; context ±2 min: {:.3} s, {} events{}",
            first.actor.as_ref().and_then(|a| a.image.as_deref()).unwrap_or("?"),
            members.len(),
            story_s,
            story.chunks_read,
            story.events.len(),
            if story.truncated { " (cut at the limits)" } else { "" },
            t.elapsed().as_secs_f64(),
            around.len(),
            if cut { " (nearest chunks only)" } else { "" }
        );
    }
}
