//! Which prefilter literals a log's bytes hold most often (those cost the
//! scan most and tell the least): `cargo run --release --example prefilter_hits -- LOG RULES...`.

mod common;

use evtx_triage::reader::ChunkSplitter;

fn main() {
    let (bytes, rules) = common::log_and_rules();
    let prefilter = rules.prefilter();
    let mut counts = vec![0usize; prefilter.literals().len()];
    let chunks = ChunkSplitter::new().push(&bytes).expect("chunks");
    let mut total = 0;
    for c in &chunks {
        for hit in prefilter.scan(&c.data) {
            counts[hit.literal] += 1;
            total += 1;
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&l| std::cmp::Reverse(counts[l]));
    println!("{total} hits of {} literals over {} chunks; the most frequent:", counts.len(), chunks.len());
    for &l in order.iter().take(30) {
        println!("{:8} {:5.1}%  {:?}", counts[l], counts[l] as f64 * 100.0 / total as f64, prefilter.literals()[l]);
    }
}
