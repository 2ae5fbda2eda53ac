//! The pool of analysis workers: one per hardware thread (capped), each
//! taking the next part of the next file. Parts are queued in file order, so
//! early findings arrive early; a file's later parts are queued once part 0
//! has checked its header.

use crate::protocol::{job_for, part_count, Job, Reply, PIECE, READY};
use evtx_triage::input::Container;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, File, MessageEvent, Worker};

thread_local! {
    static CRASH_NEXT_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes the next job's worker panic, so tests can check that a trap in the
/// analyzer loses one part of one file, not the run (callable from the page
/// as `window.wasmBindings.crashNextJobForTests()`; page code only, never
/// reachable from evidence).
#[wasm_bindgen(js_name = crashNextJobForTests)]
pub fn crash_next_job_for_tests() {
    CRASH_NEXT_JOB.with(|c| c.set(true));
}

/// Workers beyond this add memory, not speed, for one file at a time.
const MAX_WORKERS: usize = 8;
const WORKER_SCRIPT: &str = "./worker_loader.js";
/// A page that carries its worker code itself (the one-file offline build,
/// where a `file://` page may not load scripts) names a blob URL here.
const WORKER_URL_GLOBAL: &str = "evtxTriageWorkerUrl";

/// The worker script: the page's own override, else Trunk's loader beside the page.
fn worker_script() -> String {
    js_sys::Reflect::get(&js_sys::global(), &WORKER_URL_GLOBAL.into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| WORKER_SCRIPT.to_string())
}
/// Parts posted to a worker ahead of its answers.
const IN_FLIGHT_PER_WORKER: usize = 2;

struct Slot {
    worker: Worker,
    ready: bool,
    /// Jobs posted and not answered yet, oldest first (the one it works on).
    busy: VecDeque<Job>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

struct RunFile {
    index: usize,
    file: File,
    name: String,
    size: u64,
    /// Its jobs post the bytes they read, for the page to hash (not when
    /// its hash is known already, from a check for a duplicate).
    post_bytes: bool,
    /// A search run's query.
    query: Option<String>,
}

impl RunFile {
    fn job(&self, run: u32, part: u64) -> Job {
        Job { post_bytes: self.post_bytes, query: self.query.clone(), ..job_for(run, self.index, &self.name, self.size, part) }
    }
}

/// Bytes a worker read, for the page's hash of the file.
pub struct Piece {
    pub run: u32,
    pub file: usize,
    pub offset: u64,
    /// The worker that posted it, told by [`Pool::taken`] when it is taken.
    pub worker: usize,
    pub bytes: js_sys::Uint8Array,
}

pub type OnPiece = Rc<dyn Fn(Piece)>;

pub struct Pool {
    slots: Vec<Option<Slot>>,
    queue: VecDeque<Job>,
    files: Vec<RunFile>,
    run: u32,
    on_reply: Rc<dyn Fn(Reply)>,
    on_ready: Rc<dyn Fn(usize)>,
    on_piece: OnPiece,
    me: Weak<RefCell<Pool>>,
    warm_up_file: Option<File>,
    /// The rule set message every worker gets once ready (`None`: built-ins only).
    rules: Option<String>,
}

/// The run number of warm-up jobs: no run of the page has it, so their
/// replies are dropped.
const WARM_UP_RUN: u32 = u32::MAX;

/// Posts a job over a small log ahead of any real one. A worker's first
/// parts run its code cold (before the browser has optimized it, and
/// through its first file streams): measured on a 1 GiB log, a scan right
/// after load took 2.9-3.0 s, and 2.4 s once any small file had been scanned.
fn warm_up(slot: &mut Slot, file: &File) {
    slot.post(Job { post_bytes: false, ..job_for(WARM_UP_RUN, usize::MAX, &file.name(), file.size() as u64, 0) }, file);
}

/// Posts a rule set (a worker posted before it is ready would drop it: its
/// message handler is installed only once its code has loaded).
fn send_rules(worker: &Worker, message: &str) {
    let envelope = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&envelope, &"rules".into(), &JsValue::from_str(message));
    let _ = worker.post_message(&envelope);
}

impl Slot {
    /// Posts `job` with the `File` it reads (a handle, not a copy).
    fn post(&mut self, job: Job, file: &File) {
        let message = js_sys::Object::new();
        let text = serde_json::to_string(&job).expect("job serializes");
        let _ = js_sys::Reflect::set(&message, &"job".into(), &JsValue::from_str(&text));
        let _ = js_sys::Reflect::set(&message, &"file".into(), file);
        if self.worker.post_message(&message).is_ok() {
            self.busy.push_back(job);
        }
    }
}

impl Pool {
    /// Starts the workers; `on_reply` gets every answer, `on_ready` the
    /// number of workers ready so far, `on_piece` the bytes they read.
    pub fn start(workers: usize, on_reply: Rc<dyn Fn(Reply)>, on_ready: Rc<dyn Fn(usize)>, on_piece: OnPiece) -> Rc<RefCell<Pool>> {
        let count = workers.clamp(1, MAX_WORKERS);
        let pool = Rc::new_cyclic(|me| {
            RefCell::new(Pool {
                slots: Vec::new(),
                queue: VecDeque::new(),
                files: Vec::new(),
                run: 0,
                on_reply,
                on_ready,
                on_piece,
                me: me.clone(),
                warm_up_file: None,
                rules: None,
            })
        });
        for i in 0..count {
            let slot = pool.borrow().spawn(i);
            pool.borrow_mut().slots.push(slot);
        }
        pool
    }

    pub fn size(&self) -> usize {
        self.slots.len()
    }

    fn spawn(&self, index: usize) -> Option<Slot> {
        let worker = Worker::new(&worker_script()).ok()?;
        let me = self.me.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(pool) = me.upgrade() {
                match e.data().as_string() {
                    Some(text) => Pool::handle_message(&pool, index, text),
                    None => Pool::handle_piece(&pool, index, &e.data()),
                }
            }
        });
        let me = self.me.clone();
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |e: ErrorEvent| {
            e.prevent_default();
            if let Some(pool) = me.upgrade() {
                Pool::handle_crash(&pool, index, e.message());
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Slot { worker, ready: false, busy: VecDeque::new(), _on_message: on_message, _on_error: on_error })
    }

    /// Begins a new run; results of earlier runs are dropped. Each file
    /// comes with its index in the page's list (skipped inputs have none).
    /// The `twins` (inputs the size of an earlier one) are only hashed, until
    /// [`Self::release`] says they are no duplicate. `hash`: jobs post the bytes they read.
    pub fn begin(&mut self, run: u32, files: Vec<(usize, (File, String))>, twins: &[usize], hash: bool) {
        self.begin_with(run, files, twins, hash, None);
    }

    /// Starts a search run: the files read again, each worker running the query's rule.
    pub fn begin_search(&mut self, run: u32, files: Vec<(usize, (File, String))>, query: &str) {
        self.begin_with(run, files, &[], false, Some(query));
    }

    fn begin_with(&mut self, run: u32, files: Vec<(usize, (File, String))>, twins: &[usize], hash: bool, query: Option<&str>) {
        self.run = run;
        self.queue.clear();
        self.files = files
            .into_iter()
            .map(|(index, (file, name))| {
                let size = file.size() as u64;
                RunFile { index, file, name, size, post_bytes: hash, query: query.map(str::to_string) }
            })
            .collect();
        for f in &self.files {
            let job = f.job(run, 0);
            self.queue.push_back(if twins.contains(&f.index) { Job { digest_only: true, ..job } } else { job });
        }
        self.pump();
    }

    /// Analyzes a twin after all: its bytes differ from every earlier input's.
    pub fn release(&mut self, index: usize) {
        let run = self.run;
        if let Some(f) = self.files.iter_mut().find(|f| f.index == index) {
            f.post_bytes = false;
            let job = f.job(run, 0);
            self.queue.push_back(job);
        }
        self.pump();
    }

    fn run_file(&self, index: usize) -> Option<&RunFile> {
        self.files.iter().find(|f| f.index == index)
    }

    /// Stops the run: queued parts are dropped, parts in flight are ignored.
    pub fn cancel(&mut self) {
        self.run = self.run.wrapping_add(1);
        self.queue.clear();
    }

    /// Posts queued jobs: first one to each idle worker, then a second, so
    /// a worker has its next part waiting while the page handles a reply.
    fn pump(&mut self) {
        let Pool { slots, queue, files, .. } = self;
        for depth in 1..=IN_FLIGHT_PER_WORKER {
            for slot in slots.iter_mut().flatten() {
                if !slot.ready || slot.busy.len() >= depth {
                    continue;
                }
                let Some(mut job) = queue.pop_front() else { return };
                job.crash_test = CRASH_NEXT_JOB.with(|c| c.replace(false));
                let Some(file) = files.iter().find(|f| f.index == job.file) else { continue };
                slot.post(job, &file.file);
            }
        }
    }

    /// Gives every worker (and each one started later) this rule set.
    pub fn set_rules(&mut self, message: String) {
        for slot in self.slots.iter().flatten().filter(|s| s.ready) {
            send_rules(&slot.worker, &message);
        }
        self.rules = Some(message);
    }

    /// Each worker, once ready, first scans `file` for nothing (see [`warm_up`]).
    pub fn warm_up_with(&mut self, file: File) {
        self.warm_up_file = Some(file);
    }

    /// Tells worker `index` that the page took `bytes` of its pieces.
    /// and gives back the read buffers of its pieces that are hashed.
    pub fn taken(&self, index: usize, bytes: u64, buffers: Vec<js_sys::ArrayBuffer>) {
        if let Some(slot) = self.slots.get(index).and_then(Option::as_ref) {
            let message = js_sys::Object::new();
            let buffers: js_sys::Array = buffers.into_iter().collect();
            let _ = js_sys::Reflect::set(&message, &crate::protocol::TAKEN.into(), &JsValue::from(bytes as f64));
            let _ = js_sys::Reflect::set(&message, &"buffers".into(), &buffers);
            let _ = slot.worker.post_message_with_transfer(&message, &buffers);
        }
    }

    fn handle_piece(pool: &Rc<RefCell<Pool>>, index: usize, data: &JsValue) {
        let Ok(at) = js_sys::Reflect::get(data, &PIECE.into()) else { return };
        let at: Vec<f64> = js_sys::Array::from(&at).iter().filter_map(|v| v.as_f64()).collect();
        let bytes = js_sys::Reflect::get(data, &"bytes".into()).ok().and_then(|b| b.dyn_into::<js_sys::Uint8Array>().ok());
        if let ([run, file, offset], Some(bytes)) = (at.as_slice(), bytes) {
            let on_piece = pool.borrow().on_piece.clone();
            on_piece(Piece { run: *run as u32, file: *file as usize, offset: *offset as u64, worker: index, bytes });
        }
    }

    fn handle_message(pool: &Rc<RefCell<Pool>>, index: usize, text: String) {
        if text == READY {
            let ready = {
                let mut p = pool.borrow_mut();
                let warm_up_file = p.warm_up_file.clone();
                let rules = p.rules.clone();
                if let Some(slot) = p.slots.get_mut(index).and_then(Option::as_mut) {
                    slot.ready = true;
                    // Before any job: messages run in order in the worker.
                    if let Some(rules) = &rules {
                        send_rules(&slot.worker, rules);
                    }
                    if let Some(file) = warm_up_file {
                        warm_up(slot, &file);
                    }
                }
                p.pump();
                p.slots.iter().flatten().filter(|s| s.ready).count()
            };
            let on_ready = pool.borrow().on_ready.clone();
            on_ready(ready);
            return;
        }
        let Ok(reply) = serde_json::from_str::<Reply>(&text) else { return };
        let on_reply = {
            let mut p = pool.borrow_mut();
            if let Some(slot) = p.slots.get_mut(index).and_then(Option::as_mut) {
                slot.busy.pop_front();
            }
            // Part 0 passed the header check: queue the file's other parts.
            // (A text export part 0 read whole has no other parts; the parts of
            // one that can be cut learn its layout.)
            if let Reply::Done { run, file, part: 0, container, whole_file: false, .. } = &reply {
                if *run == p.run {
                    if let Some(f) = p.run_file(*file) {
                        let text = container.filter(|c| *c != Container::Evtx);
                        let jobs: Vec<Job> = (1..part_count(f.size)).map(|k| Job { container: text, ..f.job(*run, k) }).collect();
                        p.queue.extend(jobs);
                    }
                }
            }
            p.pump();
            p.on_reply.clone()
        };
        on_reply(reply);
    }

    /// A worker died (a trap in the analyzer): report its part, replace it.
    fn handle_crash(pool: &Rc<RefCell<Pool>>, index: usize, message: String) {
        let (job, on_reply) = {
            let mut p = pool.borrow_mut();
            let old = p.slots.get_mut(index).and_then(Option::take);
            let mut job = None;
            if let Some(mut s) = old {
                s.worker.terminate();
                // It died on its oldest job; the ones behind it never started.
                job = s.busy.pop_front();
                for waiting in s.busy.into_iter().rev() {
                    p.queue.push_front(waiting);
                }
            }
            let fresh = p.spawn(index);
            p.slots[index] = fresh;
            // The header may be fine and only a chunk fatal: go on with the rest.
            if let Some(j) = job.as_ref().filter(|j| j.part == 0 && !j.digest_only && j.run == p.run) {
                if let Some(f) = p.run_file(j.file) {
                    let jobs: Vec<Job> = (1..part_count(f.size)).map(|k| f.job(j.run, k)).collect();
                    p.queue.extend(jobs);
                }
            }
            p.pump();
            (job, p.on_reply.clone())
        };
        if let Some(job) = job {
            on_reply(Reply::Crashed {
                run: job.run,
                file: job.file,
                part: job.part,
                start: job.start,
                end: job.end,
                reason: format!("the analyzer failed on bytes {}..{} of this file ({message}); they are not analyzed", job.start, job.end),
            });
        }
    }
}
