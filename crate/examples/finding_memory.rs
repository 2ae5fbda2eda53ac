//! Heap bytes per finding, as the CLI holds them and as the page holds them
//! (deserialized from a worker's JSON reply), both with their repeated texts
//! interned as `FileScan` does: `finding_memory LOG RULES...`.

mod common;

use evtx_triage::intern::Interner;
use evtx_triage::reader::ChunkSplitter;
use evtx_triage::report::Finding;
use evtx_triage::scan::analyze_chunk;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the bytes in use (not the allocator's own overhead per block).
struct Counting;
static IN_USE: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        BLOCKS.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn in_use() -> (usize, usize) {
    (IN_USE.load(Ordering::Relaxed), BLOCKS.load(Ordering::Relaxed))
}

fn main() {
    let (bytes, rules) = common::log_and_rules();
    use std::mem::size_of;
    println!(
        "size_of: Finding {}, Value {}, Actor {}, PartialRecord {}, Recovered {}, MatchedField {}",
        size_of::<Finding>(),
        size_of::<serde_json::Value>(),
        size_of::<Option<evtx_triage::story::Actor>>(),
        size_of::<Option<evtx_triage::report::PartialRecord>>(),
        size_of::<Option<evtx_triage::report::Recovered>>(),
        size_of::<evtx_triage::rules::MatchedField>()
    );
    let chunks = ChunkSplitter::new().push(&bytes).expect("chunks");
    let mut findings: Vec<Finding> = Vec::new();
    for c in &chunks {
        findings.extend(analyze_chunk("log", c, &rules).findings);
    }
    // As `FileScan` holds them: one copy of each repeated text.
    let mut texts = Interner::default();
    findings.iter_mut().for_each(|f| texts.finding(f));
    findings.shrink_to_fit();
    let n = findings.len().max(1);
    let report = |what: &str, before: (usize, usize), after: (usize, usize)| {
        let (b, k) = (after.0 - before.0, after.1 - before.1);
        println!("{what}: {n} findings, {} heap bytes each with the list ({} blocks each)", b / n, k / n);
    };
    print_heap_by_field(&findings);
    // As held by the CLI: drop them and see what is freed.
    let list_bytes = findings.capacity() * std::mem::size_of::<Finding>();
    let json: Vec<String> = findings.iter().map(|f| serde_json::to_string(f).expect("serialize")).collect();
    let json_bytes: usize = json.iter().map(String::len).sum();
    let held = in_use();
    drop(findings);
    let freed = in_use();
    report("as scanned", freed, held);
    println!("  of which the list itself: {} bytes each (size_of Finding)", list_bytes / n);
    println!("  JSON text: {} bytes each", json_bytes / n);
    let before = in_use();
    let mut parsed: Vec<Finding> = json.iter().map(|t| serde_json::from_str(t).expect("parse")).collect();
    let mut texts = Interner::default();
    parsed.iter_mut().for_each(|f| texts.finding(f));
    parsed.shrink_to_fit();
    report("deserialized (the page)", before, in_use());
}

/// Heap bytes per finding that each field holds, measured by cloning that
/// field of every finding (a clone's strings are exactly as long as their
/// text, so this is a lower bound where the scan over-allocates).
fn print_heap_by_field(findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    let n = findings.len();
    macro_rules! field {
        ($name:literal, $f:ident) => {{
            let before = in_use().0;
            let clones: Vec<_> = findings.iter().map(|f| f.$f.clone()).collect();
            let list = clones.capacity() * std::mem::size_of_val(&findings[0].$f);
            let bytes = (in_use().0 - before - list) / n;
            drop(clones);
            println!("  heap of {:<20} {bytes:>6} bytes each", $name);
        }};
    }
    field!("analytic_id", analytic_id);
    field!("analytic_title", analytic_title);
    field!("level", level);
    field!("file", file);
    field!("time_created", time_created);
    field!("computer", computer);
    field!("channel", channel);
    field!("attack", attack);
    field!("d3fend", d3fend);
    field!("source_process", source_process);
    field!("actor", actor);
    field!("false_positive_hint", false_positive_hint);
    field!("matched", matched);
    field!("snippet", snippet);
}
