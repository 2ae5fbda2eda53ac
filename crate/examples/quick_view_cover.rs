//! How many records of a log `quick_view` reads, and how fast, against
//! rendering them: `cargo run --release --example quick_view_cover -- LOG`.

use evtx_triage::event::EventView;
use evtx_triage::quick_view::ChunkViews;
use evtx_triage::reader::ChunkSplitter;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("log");
    let bytes = std::fs::read(path).expect("log");
    let chunks = ChunkSplitter::new().push(&bytes).expect("chunks");
    let records: Vec<(usize, usize, usize)> = chunks
        .iter()
        .enumerate()
        .flat_map(|(i, c)| evtx_triage::quick::chunk_records(&c.data).into_iter().flatten().map(move |r| (i, r.offset, r.size)))
        .collect();
    let t = Instant::now();
    let mut quick = 0;
    let mut last = usize::MAX;
    let mut views = ChunkViews::default();
    for &(i, offset, size) in &records {
        if i != last {
            views = ChunkViews::default();
            last = i;
        }
        quick += views.view(&chunks[i].data, offset, size).is_some() as usize;
    }
    let quick_s = t.elapsed().as_secs_f64();
    let settings = Arc::new(evtx::ParserSettings::default().num_threads(1));
    let t = Instant::now();
    let mut rendered = 0;
    for c in &chunks {
        let mut chunk = evtx::EvtxChunkData::new(c.data.clone(), false).unwrap();
        let mut parsed = chunk.parse(settings.clone()).unwrap();
        for r in parsed.iter().flatten() {
            rendered += EventView::from_evtx_json(&r.into_json_bytes().unwrap().data).is_ok() as usize;
        }
    }
    let full_s = t.elapsed().as_secs_f64();
    println!("{quick} of {} records read the quick way in {quick_s:.3} s; {rendered} rendered into views in {full_s:.3} s", records.len());
}
