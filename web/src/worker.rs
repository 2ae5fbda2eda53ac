//! The analysis worker: reads its part of a `File` and runs the core on it.
//!
//! Jobs run one at a time in arrival order (the pool posts the next one
//! ahead, so a worker never waits on the page between parts). A part is read
//! as a byte stream into one reused buffer and fed to the chunk splitter
//! piece by piece: no allocation per read, so memory stays flat however big
//! the file, and chunks are analyzed while the browser fills the stream.

use crate::protocol::{Job, Reply, RulesMessage, PIECE};
use evtx_triage::input::{sniff, Container};
use evtx_triage::reader::ChunkSplitter;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{analyze_chunk, ChunkTally};
use evtx_triage::text_scan::{add_splitter_issues, analyze_units};
use evtx_triage::text_split::{feed_from, Range, TextSplitter, TextUnit};
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
    /// The last search's query and its compiled rule.
    query: RefCell<Option<(String, RuleSet)>>,
    scope: DedicatedWorkerGlobalScope,
    queue: RefCell<VecDeque<(Job, File)>>,
    running: std::cell::Cell<bool>,
    /// The JS buffer byte-stream reads fill; each read hands it back.
    read_buffer: RefCell<Option<js_sys::ArrayBuffer>>,
    /// Where a piece is copied into wasm memory for the splitter (buffer-sized).
    piece: RefCell<Vec<u8>>,
    /// Bytes posted for the page's hash that it has not taken yet, and the
    /// wake-up of a read waiting for it (see [`wait_for_hash`]).
    untaken: std::cell::Cell<u64>,
    wake: RefCell<Option<js_sys::Function>>,
    /// Read buffers the page gave back after hashing their bytes.
    spare_buffers: RefCell<Vec<js_sys::ArrayBuffer>>,
}

/// Spare read buffers kept at most (the budget's worth: more would be idle memory).
const SPARE_BUFFERS: usize = (UNTAKEN_BUDGET / READ_BUFFER_BYTES as u64) as usize + 2;

/// Bytes a worker may have posted that the page has not taken yet. The page
/// hashes at about 250 MB/s, slower than two workers read (350 MB/s):
/// without a bound, posted pieces piled up in its message queue (1 GiB log:
/// 690 MiB renderer RSS against 321 without hashing).
const UNTAKEN_BUDGET: u64 = 16 << 20;

/// Waits until the page has taken enough of what this worker posted.
async fn wait_for_hash(worker: &Worker) {
    while worker.untaken.get() > UNTAKEN_BUDGET {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            worker.wake.replace(Some(resolve));
        });
        let _ = JsFuture::from(promise).await;
    }
}

/// Installs the message handler; called from the worker binary's `main`.
pub fn run_worker() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let worker = Rc::new(Worker {
        rules: RefCell::new(RuleSet::builtin()),
        query: RefCell::new(None),
        scope: scope.clone(),
        queue: RefCell::new(VecDeque::new()),
        running: std::cell::Cell::new(false),
        read_buffer: RefCell::new(None),
        piece: RefCell::new(vec![0; READ_BUFFER_BYTES as usize]),
        untaken: std::cell::Cell::new(0),
        wake: RefCell::new(None),
        spare_buffers: RefCell::new(Vec::new()),
    });
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        if let Some(taken) = js_sys::Reflect::get(&data, &crate::protocol::TAKEN.into()).ok().and_then(|v| v.as_f64()) {
            worker.untaken.set(worker.untaken.get().saturating_sub(taken as u64));
            if let Ok(buffers) = js_sys::Reflect::get(&data, &"buffers".into()) {
                let mut spares = worker.spare_buffers.borrow_mut();
                let given = js_sys::Array::from(&buffers);
                let given = given.iter().filter_map(|b| b.dyn_into::<js_sys::ArrayBuffer>().ok());
                spares.extend(given.filter(|b| b.byte_length() == READ_BUFFER_BYTES));
                spares.truncate(SPARE_BUFFERS);
            }
            if let Some(wake) = worker.wake.take() {
                let _ = wake.call0(&JsValue::NULL);
            }
            return;
        }
        if let Some(rules) = js_sys::Reflect::get(&data, &"rules".into()).ok().and_then(|v| v.as_string()) {
            let pack = serde_json::from_str::<RulesMessage>(&rules);
            // What a wasm memory holds at its peak it keeps: the message's
            // text and the old set go before the new set is compiled.
            drop(rules);
            if let Ok(pack) = pack {
                drop(worker.rules.replace(no_rules()));
                worker.rules.replace(pack.into_rule_set());
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

/// A set of no rules: a query that does not compile, or the gap while a new set compiles.
fn no_rules() -> RuleSet {
    RuleSet::new(Vec::new()).expect("an empty rule set")
}

/// The rules a job runs: the page's rule set, or a search's query.
fn job_rules<'w>(worker: &'w Worker, job: &Job) -> std::cell::Ref<'w, RuleSet> {
    let Some(text) = &job.query else { return worker.rules.borrow() };
    if worker.query.borrow().as_ref().is_none_or(|(t, _)| t != text) {
        // The page parsed it already; a query that does not compile matches nothing.
        // A search run tells no stories and shows no matched fields (its hits are events).
        let rules = evtx_triage::query::Query::parse(text)
            .and_then(|q| q.rule_set())
            .map(|rules| rules.without_stories().without_match_detail())
            .unwrap_or_else(|_| no_rules());
        worker.query.replace(Some((text.clone(), rules)));
    }
    std::cell::Ref::map(worker.query.borrow(), |q| &q.as_ref().expect("set above").1)
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

/// How a part's bytes are read: decided by part 0's first bytes.
enum PartReader {
    /// Part 0 before its first bytes: the format is not known yet.
    Undecided(Vec<u8>),
    Evtx(ChunkSplitter),
    Text(TextSplitter),
}

/// What reading a part yields, and how long the worker waited for bytes.
struct PartAnalysis {
    reader: PartReader,
    tally: ChunkTally,
    read_ms: f64,
    /// File offset of the next byte fed.
    pos: u64,
    /// Part 0 of a text export read the whole file (it cannot be cut).
    whole_file: bool,
    /// Part 0 of a text export has decided whether it stops at its end.
    end_decided: bool,
}

impl PartAnalysis {
    fn wants_more(&self, job: &Job) -> bool {
        match &self.reader {
            PartReader::Undecided(_) => true,
            PartReader::Evtx(_) => self.pos < job.end,
            PartReader::Text(splitter) => !splitter.is_done(),
        }
    }
}

async fn analyze_part(worker: &Worker, job: &Job, file: &File) -> Reply {
    // A panic traps the whole wasm instance, as a parser bug would.
    assert!(!job.crash_test, "crash test requested by the page");
    let started = now_ms();
    if job.digest_only {
        return digest_only(worker, job, file).await;
    }
    let unreadable = |reason: String| Reply::Unreadable { run: job.run, file: job.file, reason };
    let size = file.size() as u64;
    let (reader, from, to) = match (job.part, job.container) {
        (0, _) => (PartReader::Undecided(Vec::new()), 0, size),
        (_, Some(text)) if text != Container::Evtx => {
            let range = Range { start: job.start, end: job.end };
            (PartReader::Text(TextSplitter::resume(text, range)), feed_from(range), size)
        }
        _ => (PartReader::Evtx(ChunkSplitter::resume_at(job.first_chunk)), job.start, job.end),
    };
    let mut part = PartAnalysis { reader, tally: ChunkTally::default(), read_ms: 0.0, pos: from, whole_file: false, end_decided: false };
    let read = match byob_reader(file, from, to) {
        Some(reader) => read_stream(worker, job, &reader, &mut part, to).await,
        None => read_slices(worker, job, file, &mut part, to),
    };
    if let Err(reason) = read.and_then(|()| finish_part(worker, job, &mut part)) {
        return unreadable(reason);
    }
    let header = match &part.reader {
        PartReader::Evtx(splitter) if job.part == 0 => splitter.header().cloned(),
        _ => None,
    };
    let container = match &part.reader {
        PartReader::Evtx(_) => Some(Container::Evtx),
        PartReader::Text(splitter) => Some(splitter.container()),
        PartReader::Undecided(_) => None,
    };
    if job.query.is_some() {
        // A search's page has the scan's index: the chunks' keys would only
        // cross again (every GUID of every chunk, about 30 bytes each as JSON).
        part.tally.keys = Vec::new();
    }
    let analyze_ms = now_ms() - started - part.read_ms;
    let bytes = if part.whole_file { size } else { job.end - job.start };
    Reply::Done {
        run: job.run,
        file: job.file,
        part: job.part,
        bytes,
        header,
        container,
        whole_file: part.whole_file,
        tally: Box::new(part.tally),
        read_ms: part.read_ms,
        analyze_ms,
    }
}

/// The end of the part's bytes: what is still open is read or reported.
fn finish_part(worker: &Worker, job: &Job, part: &mut PartAnalysis) -> Result<(), String> {
    if let PartReader::Undecided(head) = &part.reader {
        // A file shorter than a sniff.
        let head = head.clone();
        decide(part, &head, true)?;
    }
    let rules = job_rules(worker, job);
    match &mut part.reader {
        // Only the file's last part may end in a short chunk; others end on a boundary.
        PartReader::Evtx(splitter) => {
            let tail = splitter.finish().map_err(|e| e.0)?;
            tail.into_iter().for_each(|raw| part.tally.add(analyze_chunk(&job.name, &raw, &rules)));
        }
        PartReader::Text(splitter) => {
            let units = splitter.finish();
            let issues = splitter.take_issues();
            let lines = splitter.newlines();
            add_documents(&mut part.tally, &job.name, &units, issues, &rules);
            part.tally.lines = lines;
        }
        PartReader::Undecided(_) => {}
    }
    Ok(())
}

/// Part 0's first bytes say what the file is.
fn decide(part: &mut PartAnalysis, head: &[u8], whole_file: bool) -> Result<bool, String> {
    match sniff(head, whole_file)? {
        None => Ok(false),
        Some(Container::Evtx) => {
            part.reader = PartReader::Evtx(ChunkSplitter::new());
            Ok(true)
        }
        Some(text) => {
            part.reader = PartReader::Text(TextSplitter::new(text));
            Ok(true)
        }
    }
}

fn add_documents(tally: &mut ChunkTally, name: &str, units: &[TextUnit], issues: Vec<evtx_triage::report::Issue>, rules: &RuleSet) {
    if units.is_empty() && issues.is_empty() {
        return;
    }
    let mut batch = analyze_units(name, units, rules);
    add_splitter_issues(&mut batch, issues);
    tally.merge(batch);
}

/// Feeds bytes (from file offset `part.pos`) to the part's reader and
/// analyzes every chunk or document they complete.
fn feed(worker: &Worker, job: &Job, part: &mut PartAnalysis, bytes: &[u8], file_size: u64) -> Result<(), String> {
    let at = part.pos;
    part.pos += bytes.len() as u64;
    if let PartReader::Undecided(head) = &mut part.reader {
        head.extend_from_slice(bytes);
        let head = std::mem::take(head);
        if !decide(part, &head, head.len() as u64 >= file_size)? {
            part.reader = PartReader::Undecided(head);
            return Ok(());
        }
        part.pos = 0; // the whole head, from byte 0, to the chosen reader
        return feed(worker, job, part, &head, file_size);
    }
    let rules = job_rules(worker, job);
    match &mut part.reader {
        PartReader::Evtx(splitter) => {
            // Part 0 streams to the end of the file (its format was unknown): stop at the part's end.
            let keep = (job.end.saturating_sub(at) as usize).min(bytes.len());
            for raw in splitter.push(&bytes[..keep]).map_err(|e| e.0)? {
                part.tally.add(analyze_chunk(&job.name, &raw, &rules));
                splitter.recycle(raw);
            }
        }
        PartReader::Text(splitter) => {
            // Part 0 learns from its first documents whether the file can be cut at its end.
            if job.part == 0 && !part.end_decided && at + bytes.len() as u64 > job.end {
                part.end_decided = true;
                if splitter.splittable() && file_size > job.end {
                    splitter.limit_to(job.end);
                } else {
                    part.whole_file = true;
                }
            }
            let units = splitter.push(bytes);
            let issues = splitter.take_issues();
            add_documents(&mut part.tally, &job.name, &units, issues, &rules);
        }
        PartReader::Undecided(_) => {}
    }
    Ok(())
}

/// A BYOB reader over `file[from..to]`, where the browser's blob streams
/// are byte streams (they are in Chromium and Firefox).
fn byob_reader(file: &File, from: u64, to: u64) -> Option<ReadableStreamByobReader> {
    let blob = file.slice_with_f64_and_f64(from as f64, to as f64).ok()?;
    ReadableStreamByobReader::new(&blob.stream()).ok()
}

async fn read_stream(
    worker: &Worker,
    job: &Job,
    reader: &ReadableStreamByobReader,
    part: &mut PartAnalysis,
    to: u64,
) -> Result<(), String> {
    let from = part.pos;
    let mut pos = from;
    while part.wants_more(job) {
        if job.post_bytes {
            wait_for_hash(worker).await;
        }
        let view = js_sys::Uint8Array::new(&next_buffer(worker));
        let t = now_ms();
        let result = JsFuture::from(reader.read_with_array_buffer_view(&view))
            .await
            .map_err(|e| format!("the browser could not read bytes from {pos} on: {}", js_text(&e)))?;
        part.read_ms += now_ms() - t;
        let done = js_sys::Reflect::get(&result, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true);
        let value = js_sys::Reflect::get(&result, &"value".into()).ok().and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok());
        let Some(value) = value else { break };
        let len = value.length() as usize;
        if len > 0 {
            let fed = {
                // A read never returns more than the buffer holds.
                let mut piece = worker.piece.borrow_mut();
                value.copy_to(&mut piece[..len]);
                feed(worker, job, part, &piece[..len], to.max(job.end))
            };
            // The read detached our buffer and hands it back inside `value`: reuse it, or post it.
            give_back_or_post(worker, job, pos, value);
            pos += len as u64;
            if let Err(reason) = fed {
                // A file that is no event log is still hashed, for the case file.
                if job.post_bytes && !done {
                    let _ = post_rest(worker, job, reader, pos).await;
                }
                return Err(reason);
            }
        }
        if done {
            if pos != to {
                return Err(format!("the browser gave {} bytes of {from}..{to} and then ended the stream", pos - from));
            }
            return Ok(());
        }
    }
    // Read what the part needs: the rest of the stream is not wanted.
    let _ = reader.cancel();
    Ok(())
}

/// A buffer to read into: the one the last read gave back, one the page gave
/// back after hashing it, or a new one.
fn next_buffer(worker: &Worker) -> js_sys::ArrayBuffer {
    let reused = worker.read_buffer.borrow_mut().take().or_else(|| worker.spare_buffers.borrow_mut().pop());
    reused.unwrap_or_else(|| js_sys::ArrayBuffer::new(READ_BUFFER_BYTES))
}

/// After a read: the bytes go to the page for its hash (their buffer moves
/// there, and comes back once hashed), or the buffer is kept for the next read.
fn give_back_or_post(worker: &Worker, job: &Job, offset: u64, value: js_sys::Uint8Array) {
    if job.post_bytes {
        post_piece(worker, job, offset, &value);
    } else {
        worker.read_buffer.borrow_mut().replace(value.buffer());
    }
}

/// Posts bytes read at file offset `offset` to the page, which hashes the
/// file; their buffer is transferred, not copied.
fn post_piece(worker: &Worker, job: &Job, offset: u64, view: &js_sys::Uint8Array) {
    worker.untaken.set(worker.untaken.get() + u64::from(view.length()));
    let message = js_sys::Object::new();
    let at = js_sys::Array::of3(&job.run.into(), &(job.file as f64).into(), &(offset as f64).into());
    let _ = js_sys::Reflect::set(&message, &PIECE.into(), &at);
    let _ = js_sys::Reflect::set(&message, &"bytes".into(), view);
    let _ = worker.scope.post_message_with_transfer(&message, &js_sys::Array::of1(&view.buffer()));
}

/// Reads the rest of a stream only to post it (from file offset `pos`).
async fn post_rest(worker: &Worker, job: &Job, reader: &ReadableStreamByobReader, mut pos: u64) -> Result<(), String> {
    loop {
        wait_for_hash(worker).await;
        let view = js_sys::Uint8Array::new(&next_buffer(worker));
        let result = JsFuture::from(reader.read_with_array_buffer_view(&view)).await.map_err(|e| js_text(&e))?;
        let done = js_sys::Reflect::get(&result, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true);
        let value = js_sys::Reflect::get(&result, &"value".into()).ok().and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok());
        let Some(value) = value else { return Ok(()) };
        let len = u64::from(value.length());
        if len > 0 {
            post_piece(worker, job, pos, &value);
            pos += len;
        } else {
            worker.read_buffer.borrow_mut().replace(value.buffer());
        }
        if done {
            return Ok(());
        }
    }
}

/// A twin's job: the whole file is read for its hash only.
async fn digest_only(worker: &Worker, job: &Job, file: &File) -> Reply {
    let started = now_ms();
    let size = file.size() as u64;
    if let Some(reader) = byob_reader(file, 0, size) {
        // A read error leaves the hash incomplete: the page then analyzes the file.
        let _ = post_rest(worker, job, &reader, 0).await;
    }
    Reply::Done {
        run: job.run,
        file: job.file,
        part: 0,
        bytes: size,
        header: None,
        container: None,
        whole_file: true,
        tally: Box::default(),
        read_ms: now_ms() - started,
        analyze_ms: 0.0,
    }
}

/// Reads the part in big `File.slice`s (browsers without blob byte streams).
fn read_slices(worker: &Worker, job: &Job, file: &File, part: &mut PartAnalysis, end: u64) -> Result<(), String> {
    let reader = FileReaderSync::new().map_err(|e| js_text(&e))?;
    let mut pos = part.pos;
    while pos < end && part.wants_more(job) {
        let to = (pos + FALLBACK_SLICE_BYTES).min(end);
        let t = now_ms();
        let blob = file.slice_with_f64_and_f64(pos as f64, to as f64).map_err(|e| js_text(&e))?;
        let buffer =
            reader.read_as_array_buffer(&blob).map_err(|e| format!("the browser could not read bytes {pos}..{to}: {}", js_text(&e)))?;
        // No bytes for the page's hash here: this loop cannot wait for it (the hash is then absent).
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        crate::browser::free_buffer(&buffer);
        part.read_ms += now_ms() - t;
        feed(worker, job, part, &bytes, end.max(job.end))?;
        pos = to;
    }
    Ok(())
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
