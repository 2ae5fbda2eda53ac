//! The two ways `evtx` renders a chunk's records to JSON, timed:
//! `cargo run --release --example render_paths -- LOG`.
//! On 256 MiB of the Sysmon bench log, one thread: record by record
//! 0.435-0.456 s, the doc-hidden per-chunk path `evtx_dump` uses 0.404 s,
//! so reading a chunk's records one by one costs little.

use evtx_triage::reader::ChunkSplitter;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("log");
    let bytes = std::fs::read(&path).expect("log");
    let chunks = ChunkSplitter::new().push(&bytes).expect("chunks");
    let settings = Arc::new(evtx::ParserSettings::default().num_threads(1));
    for _ in 0..2 {
        let t = Instant::now();
        let mut total = 0usize;
        for c in &chunks {
            let mut data = c.data.clone();
            data.resize(65536, 0);
            let mut chunk = evtx::EvtxChunkData::new(data, false).unwrap();
            let mut parsed = chunk.parse(settings.clone()).unwrap();
            for r in parsed.iter().flatten() {
                total += r.into_json_bytes().unwrap().data.len();
            }
        }
        println!("per record (iter + into_json_bytes): {:.3} s, {total} bytes", t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut parser =
            evtx::EvtxParser::from_buffer(bytes.clone()).unwrap().with_configuration(evtx::ParserSettings::default().num_threads(1));
        let total: usize = parser.chunks_json_bytes(false).map(|c| c.data.len()).sum();
        println!("per chunk (chunks_json_bytes): {:.3} s, {total} bytes", t.elapsed().as_secs_f64());
    }
}
