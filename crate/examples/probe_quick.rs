fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let chunk = &bytes[4096..4096 + 65536];
    let recs = evtx_triage::quick::chunk_records(chunk);
    println!("{:?}", recs.map(|r| r.into_iter().take(3).collect::<Vec<_>>()));
}
