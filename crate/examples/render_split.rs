//! Where rendering a record for the rules spends its time:
//! `cargo run --release --example render_split -- LOG`.
//! It also times the doc-hidden per-chunk path `evtx_dump` uses against record by record:
//! on 256 MiB of the Sysmon bench log, one thread, 0.404 s against 0.435-0.456 s,
//! so reading a chunk's records one by one costs little.

use evtx_triage::reader::ChunkSplitter;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("log");
    let bytes = std::fs::read(path).expect("log");
    let chunks = ChunkSplitter::new().push(&bytes).expect("chunks");
    let settings = Arc::new(evtx::ParserSettings::default().num_threads(1));
    let texts = time("parse + render JSON text", || {
        let mut texts = Vec::new();
        for c in &chunks {
            let mut data = c.data.clone();
            data.resize(65536, 0);
            let mut chunk = evtx::EvtxChunkData::new(data, false).unwrap();
            let mut parsed = chunk.parse(settings.clone()).unwrap();
            for r in parsed.iter().flatten() {
                texts.push(r.into_json_bytes().unwrap().data);
            }
        }
        texts
    });
    time("per chunk (chunks_json_bytes, as evtx_dump)", || {
        let settings = evtx::ParserSettings::default().num_threads(1);
        let mut parser = evtx::EvtxParser::from_buffer(bytes.clone()).unwrap().with_configuration(settings);
        parser.chunks_json_bytes(false).map(|c| c.data.len()).sum::<usize>()
    });
    // Each view dropped at once, as the scan does.
    for _ in 0..3 {
        time("serde_json::from_slice to Value + EventView::from_rendered", || {
            texts
                .iter()
                .map(|t| {
                    evtx_triage::event::EventView::from_rendered(&serde_json::from_slice(t).unwrap()).fields.as_object().unwrap().len()
                })
                .sum::<usize>()
        });
        time("EventView::from_evtx_json", || {
            texts.iter().map(|t| evtx_triage::event::EventView::from_evtx_json(t).unwrap().fields.as_object().unwrap().len()).sum::<usize>()
        });
    }
    let values = time("serde_json::from_slice to Value", || {
        texts.iter().map(|t| serde_json::from_slice::<serde_json::Value>(t).unwrap()).collect::<Vec<_>>()
    });
    let views = time("EventView::from_rendered", || values.iter().map(evtx_triage::event::EventView::from_rendered).collect::<Vec<_>>());
    println!("{} records", views.len());
}

fn time<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    println!("{what}: {:.3} s", t.elapsed().as_secs_f64());
    out
}
