mod support;
use support::*;

#[test]
fn explore() {
    let base = log_of_chunks(&[
        { let mut v = benign_run(1, 20); v.push(access(21, "H", "C:\\x\\a.exe", LSASS, DBGHELP_TRACE)); v.extend(benign_run(22, 20)); v },
        { let mut v = benign_run(200, 5); v.push(access(205, "H", "C:\\x\\a.exe", LSASS, DBGHELP_TRACE)); v.extend(benign_run(206, 40)); v },
    ]);
    let recs = records_of_chunk(&base[chunk_range(1)]);
    println!("{:?}", &recs[7]);
    for k in [0usize, 4, 8, 10, 16, 24, 28, 30, 100, 500, recs[7].1 - 4, recs[7].1 - 1] {
        let cut = chunk_offset(1) as usize + recs[7].0 + k;
        let (rep, f) = scan("x", &base[..cut]);
        println!("k={k}: records {} findings {:?} first {:?} last {:?} counts {:?} comps {:?}", rep.records, pairs(&f), rep.stats.first_time, rep.stats.last_time, rep.stats.event_counts.iter().map(|c| (c.channel.len(), c.event_id, c.count)).collect::<Vec<_>>(), rep.stats.computers);
        for i in &rep.issues { println!("   {:?}", i); }
    }
}
