//! Heap of each step of loading a rule pack: what stays in use after it and
//! its peak (a wasm memory never shrinks, so the page pays the peak):
//! `load_memory STEP RULES...` with STEP `read`, `parse`, `prefilter` or `all`.
//! (Run under /usr/bin/time -f %M for the process's peak RSS as well.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the bytes in use and their high-water mark.
struct Counting;
static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pack = evtx_triage::rule_source::RuleTexts::default();
    for p in &args[1..] {
        pack.extend(evtx_triage::rule_source::from_path(std::path::Path::new(p)));
    }
    let texts = IN_USE.load(Ordering::Relaxed);
    PEAK.store(texts, Ordering::Relaxed);
    let what = match args[0].as_str() {
        "read" => format!("{} texts", pack.texts.len()),
        "parse" => {
            let a = evtx_triage::rule_load::parse_texts(&pack.texts, &pack.unreadable, &Default::default()).analytics;
            let kept = IN_USE.load(Ordering::Relaxed);
            std::hint::black_box(&a);
            format!("{} analytics; {:.1} MiB in use", a.len(), mib(kept - texts))
        }
        "prefilter" => {
            let a = evtx_triage::rule_load::parse_texts(&pack.texts, &pack.unreadable, &Default::default()).analytics;
            let p = evtx_triage::prefilter::Prefilter::for_rules(a.iter().map(|x| &x.rule));
            let kept = IN_USE.load(Ordering::Relaxed);
            std::hint::black_box((&a, &p));
            format!("{} literals; {:.1} MiB in use", p.literals().len(), mib(kept - texts))
        }
        _ => {
            let set = evtx_triage::rules::RuleSet::load(&pack, &Default::default());
            let kept = IN_USE.load(Ordering::Relaxed);
            format!("{}; {:.1} MiB in use", set.load_report().summary(), mib(kept - texts))
        }
    };
    let peak = PEAK.load(Ordering::Relaxed);
    println!("{what}; peak {:.1} MiB above the texts ({:.1} MiB)", mib(peak - texts), mib(texts));
}
