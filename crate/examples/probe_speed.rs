use evtx::{EvtxChunkData, ParserSettings};
use std::sync::Arc;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let settings = Arc::new(ParserSettings::default().num_threads(1));
    let chunks: Vec<&[u8]> = bytes[4096..].chunks(65536).take(4000).collect();
    for mode in ["iter", "template_instances", "json_bytes", "json_value"] {
        let t = Instant::now();
        let mut n = 0u64;
        for c in &chunks {
            let mut d = EvtxChunkData::new(c.to_vec(), false).unwrap();
            let mut p = d.parse(settings.clone()).unwrap();
            for r in p.iter() {
                let r = r.unwrap();
                match mode {
                    "iter" => n += r.event_record_id & 1,
                    "template_instances" => n += r.template_instances().unwrap().len() as u64,
                    "json_bytes" => n += r.into_json_bytes().unwrap().data.len() as u64,
                    _ => n += r.into_json_value().unwrap().event_record_id & 1,
                }
            }
        }
        let mb = chunks.len() as f64 * 65536.0 / 1e6;
        println!("{mode}: {:.2} s for {:.0} MB = {:.0} MB/s ({n})", t.elapsed().as_secs_f64(), mb, mb / t.elapsed().as_secs_f64());
    }
}
