//! The analysis worker: reads its part of a `File` and runs the core on it.

use crate::protocol::{Job, Reply};
use evtx_triage::reader::ChunkSplitter;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::analyze_chunk;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, File, FileReaderSync, MessageEvent};

/// Bytes read per `File.slice`: big slices are what make browser reads fast.
const SLICE_BYTES: u64 = 8 << 20;

/// Installs the message handler; called from the worker binary's `main`.
pub fn run_worker() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let rules: &'static RuleSet = Box::leak(Box::new(RuleSet::builtin()));
    let reply_scope = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let job_text = js_sys::Reflect::get(&data, &"job".into()).ok().and_then(|v| v.as_string());
        let file: Option<File> = js_sys::Reflect::get(&data, &"file".into()).ok().and_then(|v| v.dyn_into().ok());
        let (Some(job_text), Some(file)) = (job_text, file) else { return };
        let Ok(job) = serde_json::from_str::<Job>(&job_text) else { return };
        let reply = analyze_part(&job, &file, rules);
        let text = serde_json::to_string(&reply).expect("reply serializes");
        let _ = reply_scope.post_message(&JsValue::from_str(&text));
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let _ = scope.post_message(&JsValue::from_str(crate::protocol::READY));
}

fn analyze_part(job: &Job, file: &File, rules: &RuleSet) -> Reply {
    // A panic traps the whole wasm instance, as a parser bug would.
    assert!(!job.crash_test, "crash test requested by the page");
    let mut splitter = if job.part == 0 { ChunkSplitter::new() } else { ChunkSplitter::resume_at(job.first_chunk) };
    let mut analyses = Vec::new();
    let unreadable = |reason: String| Reply::Unreadable { run: job.run, file: job.file, reason };
    let mut pos = job.start;
    let mut chunks = Vec::new();
    let (mut read_ms, started) = (0.0, now_ms());
    while pos < job.end {
        let to = (pos + SLICE_BYTES).min(job.end);
        let t = now_ms();
        let bytes = match read_slice(file, pos, to) {
            Ok(b) => b,
            Err(e) => return unreadable(format!("the browser could not read bytes {pos}..{to}: {e}")),
        };
        read_ms += now_ms() - t;
        pos = to;
        match splitter.push(&bytes) {
            Ok(c) => chunks.extend(c),
            Err(e) => return unreadable(e.0),
        }
        for raw in chunks.drain(..) {
            analyses.push(analyze_chunk(&job.name, &raw, rules));
        }
    }
    // Only the file's last part may end in a short chunk; others end on a boundary.
    match splitter.finish() {
        Ok(tail) => analyses.extend(tail.map(|raw| analyze_chunk(&job.name, &raw, rules))),
        Err(e) => return unreadable(e.0),
    }
    let header = if job.part == 0 { splitter.header().cloned() } else { None };
    let analyze_ms = now_ms() - started - read_ms;
    Reply::Done { run: job.run, file: job.file, part: job.part, bytes: job.end - job.start, header, analyses, read_ms, analyze_ms }
}

fn read_slice(file: &File, from: u64, to: u64) -> Result<Vec<u8>, String> {
    let blob = file.slice_with_f64_and_f64(from as f64, to as f64).map_err(|e| format!("{e:?}"))?;
    let reader = FileReaderSync::new().map_err(|e| format!("{e:?}"))?;
    let buffer = reader.read_as_array_buffer(&blob).map_err(|e| format!("{e:?}"))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    release(&buffer);
    Ok(bytes)
}

/// Frees a slice's memory now rather than at the next garbage collection:
/// a worker's JS heap is tiny, so collections are rare and read slices
/// would pile up (hundreds of MiB on a multi-GiB file). `transfer(0)`
/// detaches the buffer; where it is missing the buffer is left to the GC.
fn release(buffer: &js_sys::ArrayBuffer) {
    if let Ok(transfer) = js_sys::Reflect::get(buffer, &"transfer".into()) {
        if let Some(transfer) = transfer.dyn_ref::<js_sys::Function>() {
            let _ = transfer.call1(buffer, &JsValue::from(0));
        }
    }
}

fn now_ms() -> f64 {
    js_sys::global()
        .unchecked_into::<web_sys::WorkerGlobalScope>()
        .performance()
        .map(|p| p.now())
        .unwrap_or(0.0)
}
