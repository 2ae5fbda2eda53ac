//! Times `recover::plan` (the search for records a walk misses) over every chunk of a log.
//! Run: cargo run --release --example plan_timing -- bench-data/sysmon-1024m.evtx
fn main() {
    let path = std::env::args().nth(1).expect("usage: plan_timing FILE.evtx");
    let bytes = std::fs::read(&path).unwrap();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let (mut chunks, mut plans) = (0, 0);
        for c in bytes[4096..].chunks(65536) {
            chunks += 1;
            plans += evtx_triage::recover::plan(c).is_some() as u32;
        }
        println!("{chunks} chunks, {plans} with records to recover, in {:?}", t.elapsed());
    }
}
