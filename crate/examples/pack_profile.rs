//! How much of a log a rule pack makes the scanner render, and how long it takes:
//! `cargo run --release --example pack_profile -- LOG RULES...`.

mod common;

use evtx_triage::reader::ChunkSplitter;
use evtx_triage::scan::analyze_chunk;
use std::time::Instant;

fn main() {
    let (bytes, rules) = common::log_and_rules();
    let free: Vec<usize> = (0..rules.len()).filter(|&i| !rules.prefilter().has_literals(i)).collect();
    println!("{} of {} rules have no literal; by logsource:", free.len(), rules.len());
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for &i in &free {
        *by.entry(rules.analytic(i).logsource.clone()).or_default() += 1;
    }
    for (k, n) in by {
        println!("  {n:4} {k}");
    }
    if std::env::var("SHOW_FREE").is_ok() {
        for &i in &free {
            let a = rules.analytic(i);
            if a.logsource.contains("process_creation") {
                println!("--- {} ({})", a.title, a.source);
            }
        }
    }
    let mut splitter = ChunkSplitter::new();
    let chunks = splitter.push(&bytes).expect("chunks");
    // The machine is shared: the best of REPEAT scans (default 1) is the figure.
    let repeat: usize = std::env::var("REPEAT").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
    let (mut records, mut rendered, mut findings, mut s) = (0, 0, 0, f64::MAX);
    for _ in 0..repeat {
        let t = Instant::now();
        (records, rendered, findings) = (0, 0, 0);
        for c in &chunks {
            let a = analyze_chunk("log", c, &rules);
            records += a.stats.records;
            rendered += a.rendered;
            findings += a.findings.len();
        }
        s = s.min(t.elapsed().as_secs_f64());
    }
    if std::env::var("ONLY_SCAN").is_ok() {
        println!("{records} records, {rendered} rendered, {findings} findings, {s:.2} s one thread");
        return;
    }
    let t = Instant::now();
    let hits: usize = chunks.iter().map(|c| rules.prefilter().scan(&c.data).len()).sum();
    println!("prefilter alone: {:.2} s, {hits} hits", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut views = Vec::new();
    for c in &chunks {
        let mut data = c.data.clone();
        data.resize(65536, 0);
        let mut chunk = evtx::EvtxChunkData::new(data, false).unwrap();
        let mut parsed = chunk.parse(std::sync::Arc::new(evtx::ParserSettings::default())).unwrap();
        for r in parsed.iter().flatten() {
            views.push(evtx_triage::event::EventView::from_evtx_json(&r.into_json_bytes().unwrap().data).unwrap());
        }
    }
    println!("render + view alone: {:.2} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let n: usize = views.iter().map(|v| rules.evaluate(v).len()).sum();
    println!("evaluate alone: {:.2} s ({n} hits)", t.elapsed().as_secs_f64());
    println!(
        "{} chunks, {records} records, {rendered} rendered ({:.1}%), {findings} findings, {s:.2} s one thread ({:.0} MB/s)",
        chunks.len(),
        rendered as f64 * 100.0 / records.max(1) as f64,
        bytes.len() as f64 / s / 1e6
    );
}
