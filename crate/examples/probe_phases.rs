use evtx_triage::rules::RuleSet;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let rules = RuleSet::builtin();
    let chunks: Vec<&[u8]> = bytes[4096..].chunks(65536).take(4000).collect();
    let t = Instant::now();
    let mut n = 0;
    for c in &chunks { n += rules.prefilter().hits(c).len(); }
    println!("hits: {:.2}s ({n})", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut n = 0;
    for c in &chunks { n += evtx_triage::quick::chunk_records(c).map(|r| r.len()).unwrap_or(0); }
    println!("quick: {:.2}s ({n})", t.elapsed().as_secs_f64());
    let t = Instant::now();
    for c in &chunks { let _ = evtx::EvtxChunkData::new(c.to_vec(), false).unwrap(); }
    println!("chunkdata new: {:.2}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut f = 0;
    for (i, c) in chunks.iter().enumerate() {
        let raw = evtx_triage::reader::RawChunk { index: i as u64, file_offset: 0, data: c.to_vec() };
        f += evtx_triage::scan::analyze_chunk("x", &raw, &rules).findings.len();
    }
    println!("analyze: {:.2}s ({f})", t.elapsed().as_secs_f64());
}
