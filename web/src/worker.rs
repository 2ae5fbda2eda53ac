//! The analysis worker: reads its part of a `File` and runs the core on it.
//!
//! Jobs run one at a time in arrival order (the pool posts the next one
//! ahead, so a worker never waits on the page between parts). A part is read
//! as a byte stream into one reused buffer and fed to the chunk splitter
//! piece by piece: no allocation per read, so memory stays flat however big
//! the file, and chunks are analyzed while the browser fills the stream.

use crate::protocol::{Job, Reply, RulesMessage};
use evtx_triage::reader::ChunkSplitter;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, ChunkTally};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, FileReaderSync, MessageEvent, ReadableStreamByobReader};

/// The reused read buffer. Each read hands the buffer over and back, and
/// the browser's cost of that grows with its size (per GiB, its thread pool
/// spent 0.9 CPU s with 1 MiB, 0.55-0.7 s with 512 KiB); much smaller
/// buffers mean too many reads (64 KiB: 0.9 CPU s more in the worker).
const READ_BUFFER_BYTES: u32 = 512 << 10;
/// Bytes per `File.slice` where byte streams are missing (older browsers):
/// big slices are what make whole-slice reads fast.
const FALLBACK_SLICE_BYTES: u64 = 8 << 20;

struct Worker {
    /// Replaced when the page sends a new rule set (never during a run).
    rules: RefCell<RuleSet>,
    scope: DedicatedWorkerGlobalScope,
    queue: RefCell<VecDeque<(Job, File)>>,
    running: std::cell::Cell<bool>,
    /// The JS buffer byte-stream reads fill; each read hands it back.
    read_buffer: RefCell<Option<js_sys::ArrayBuffer>>,
    /// Where a piece is copied into wasm memory for the splitter (buffer-sized).
    piece: RefCell<Vec<u8>>,
}

/// Installs the message handler; called from the worker binary's `main`.
pub fn run_worker() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let worker = Rc::new(Worker {
        rules: RefCell::new(RuleSet::builtin()),
        scope: scope.clone(),
        queue: RefCell::new(VecDeque::new()),
        running: std::cell::Cell::new(false),
        read_buffer: RefCell::new(None),
        piece: RefCell::new(vec![0; READ_BUFFER_BYTES as usize]),
    });
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        if let Some(rules) = js_sys::Reflect::get(&data, &"rules".into()).ok().and_then(|v| v.as_string()) {
            if let Ok(pack) = serde_json::from_str::<RulesMessage>(&rules) {
                worker.rules.replace(pack.rule_set());
            }
            return;
        }
        let job_text = js_sys::Reflect::get(&data, &"job".into()).ok().and_then(|v| v.as_string());
        let file: Option<File> = js_sys::Reflect::get(&data, &"file".into()).ok().and_then(|v| v.dyn_into().ok());
        let (Some(job_text), Some(file)) = (job_text, file) else { return };
        let Ok(job) = serde_json::from_str::<Job>(&job_text) else { return };
        worker.queue.borrow_mut().push_back((job, file));
        if !worker.running.replace(true) {
            wasm_bindgen_futures::spawn_local(drain(worker.clone()));
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    let _ = scope.post_message(&JsValue::from_str(crate::protocol::READY));
}

/// Runs queued jobs until none is left.
async fn drain(worker: Rc<Worker>) {
    loop {
        let next = worker.queue.borrow_mut().pop_front();
        let Some((job, file)) = next else { break };
        let reply = analyze_part(&worker, &job, &file).await;
        let text = serde_json::to_string(&reply).expect("reply serializes");
        let _ = worker.scope.post_message(&JsValue::from_str(&text));
    }
    worker.running.set(false);
}

/// What reading a part yields, and how long the worker waited for bytes.
struct PartAnalysis {
    splitter: ChunkSplitter,
    tally: ChunkTally,
    read_ms: f64,
}

async fn analyze_part(worker: &Worker, job: &Job, file: &File) -> Reply {
    // A panic traps the whole wasm instance, as a parser bug would.
    assert!(!job.crash_test, "crash test requested by the page");
    let started = now_ms();
    let unreadable = |reason: String| Reply::Unreadable { run: job.run, file: job.file, reason };
    let splitter = if job.part == 0 { ChunkSplitter::new() } else { ChunkSplitter::resume_at(job.first_chunk) };
    let mut part = PartAnalysis { splitter, tally: ChunkTally::default(), read_ms: 0.0 };
    let read = match byob_reader(file, job.start, job.end) {
        Some(reader) => read_stream(worker, job, &reader, &mut part).await,
        None => read_slices(worker, job, file, &mut part),
    };
    if let Err(reason) = read {
        return unreadable(reason);
    }
    // Only the file's last part may end in a short chunk; others end on a boundary.
    match part.splitter.finish() {
        Ok(tail) => tail.into_iter().for_each(|raw| part.tally.add(analyze_chunk(&job.name, &raw, &worker.rules.borrow()))),
        Err(e) => return unreadable(e.0),
    }
    let header = if job.part == 0 { part.splitter.header().cloned() } else { None };
    let analyze_ms = now_ms() - started - part.read_ms;
    Reply::Done {
        run: job.run,
        file: job.file,
        part: job.part,
        bytes: job.end - job.start,
        header,
        tally: part.tally,
        read_ms: part.read_ms,
        analyze_ms,
    }
}

/// Feeds bytes to the splitter and analyzes every chunk they complete.
fn feed(worker: &Worker, job: &Job, part: &mut PartAnalysis, bytes: &[u8]) -> Result<(), String> {
    let chunks = part.splitter.push(bytes).map_err(|e| e.0)?;
    for raw in chunks {
        part.tally.add(analyze_chunk(&job.name, &raw, &worker.rules.borrow()));
        part.splitter.recycle(raw);
    }
    Ok(())
}

/// A BYOB reader over `file[from..to]`, where the browser's blob streams
/// are byte streams (they are in Chromium and Firefox).
fn byob_reader(file: &File, from: u64, to: u64) -> Option<ReadableStreamByobReader> {
    let blob = file.slice_with_f64_and_f64(from as f64, to as f64).ok()?;
    ReadableStreamByobReader::new(&blob.stream()).ok()
}

async fn read_stream(worker: &Worker, job: &Job, reader: &ReadableStreamByobReader, part: &mut PartAnalysis) -> Result<(), String> {
    let mut pos = job.start;
    loop {
        let buffer = worker.read_buffer.borrow_mut().take().unwrap_or_else(|| js_sys::ArrayBuffer::new(READ_BUFFER_BYTES));
        let view = js_sys::Uint8Array::new(&buffer);
        let t = now_ms();
        let result = JsFuture::from(reader.read_with_array_buffer_view(&view))
            .await
            .map_err(|e| format!("the browser could not read bytes from {pos} on: {}", js_text(&e)))?;
        part.read_ms += now_ms() - t;
        let done = js_sys::Reflect::get(&result, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true);
        let value = js_sys::Reflect::get(&result, &"value".into()).ok().and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok());
        let Some(value) = value else { break };
        // The read detached our buffer and hands it back inside `value`.
        worker.read_buffer.borrow_mut().replace(value.buffer());
        let len = value.length() as usize;
        if len > 0 {
            // A read never returns more than the buffer holds.
            let mut piece = worker.piece.borrow_mut();
            value.copy_to(&mut piece[..len]);
            feed(worker, job, part, &piece[..len])?;
            pos += len as u64;
        }
        if done {
            break;
        }
    }
    if pos != job.end {
        return Err(format!("the browser gave {} bytes of {}..{} and then ended the stream", pos - job.start, job.start, job.end));
    }
    Ok(())
}

/// Reads the part in big `File.slice`s (browsers without blob byte streams).
fn read_slices(worker: &Worker, job: &Job, file: &File, part: &mut PartAnalysis) -> Result<(), String> {
    let reader = FileReaderSync::new().map_err(|e| js_text(&e))?;
    let mut pos = job.start;
    while pos < job.end {
        let to = (pos + FALLBACK_SLICE_BYTES).min(job.end);
        let t = now_ms();
        let blob = file.slice_with_f64_and_f64(pos as f64, to as f64).map_err(|e| js_text(&e))?;
        let buffer =
            reader.read_as_array_buffer(&blob).map_err(|e| format!("the browser could not read bytes {pos}..{to}: {}", js_text(&e)))?;
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        release(&buffer);
        part.read_ms += now_ms() - t;
        feed(worker, job, part, &bytes)?;
        pos = to;
    }
    Ok(())
}

/// Frees a slice's memory now rather than at the next garbage collection:
/// a worker's JS heap is tiny, so collections are rare and read slices
/// would pile up. `transfer(0)` detaches the buffer; where it is missing
/// the buffer is left to the GC.
fn release(buffer: &js_sys::ArrayBuffer) {
    if let Ok(transfer) = js_sys::Reflect::get(buffer, &"transfer".into()) {
        if let Some(transfer) = transfer.dyn_ref::<js_sys::Function>() {
            let _ = transfer.call1(buffer, &JsValue::from(0));
        }
    }
}

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

fn now_ms() -> f64 {
    js_sys::global().unchecked_into::<web_sys::WorkerGlobalScope>().performance().map(|p| p.now()).unwrap_or(0.0)
}
