//! Browser plumbing: the network lock, downloads, files from inputs and drops.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, File, FileList, HtmlAnchorElement, Url};

/// The policy added once the app's own code has loaded: from then on the
/// page may not open any connection at all (CSP policies only add up).
pub const RUNTIME_CSP: &str = "connect-src 'none'; form-action 'none'; frame-src 'none'";

/// Adds the runtime Content-Security-Policy to the document head.
pub fn lock_down_network() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(meta) = document.create_element("meta") else { return };
    let _ = meta.set_attribute("http-equiv", "Content-Security-Policy");
    let _ = meta.set_attribute("content", RUNTIME_CSP);
    let _ = meta.set_attribute("id", "runtime-csp");
    if let Some(head) = document.head() {
        let _ = head.append_child(&meta);
    }
}

/// Offers `text` as a file download (a local Blob URL: nothing leaves the page).
pub fn download(file_name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    offer(file_name, Blob::new_with_str_sequence_and_options(&parts, &blob_type(mime)));
}

/// Offers bytes as a file download (a local Blob URL).
pub fn download_bytes(file_name: &str, mime: &str, bytes: &[u8]) {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    offer(file_name, Blob::new_with_u8_array_sequence_and_options(&parts, &blob_type(mime)));
}

/// Offers what `write` writes as a file download, made part by part: each
/// MiB is copied out of wasm memory into the blob as it fills, so a large
/// export sits whole neither in wasm memory (which keeps its peak) nor in
/// one JS string. The JSON of the 1 GiB bench log with the SigmaHQ pack is
/// about 300 MB: made whole, it took the renderer from about 850 to 1,250 MiB.
pub fn download_written(file_name: &str, mime: &str, write: impl FnOnce(&mut BlobWriter) -> std::io::Result<()>) {
    let mut out = BlobWriter { mime: blob_type(mime), blob: None, buffer: Vec::with_capacity(BLOB_PART_BYTES) };
    if write(&mut out).is_ok() {
        offer(file_name, out.blob.ok_or(JsValue::NULL));
    }
}

const BLOB_PART_BYTES: usize = 1 << 20;

/// A `Blob` growing by parts: each new blob refers to the one before and
/// adds the buffered bytes (the browser keeps blob data out of the page's heap).
pub struct BlobWriter {
    mime: BlobPropertyBag,
    blob: Option<Blob>,
    buffer: Vec<u8>,
}

impl std::io::Write for BlobWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= BLOB_PART_BYTES {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() && self.blob.is_some() {
            return Ok(());
        }
        let part = js_sys::Uint8Array::from(&self.buffer[..]);
        let parts = match &self.blob {
            Some(before) => js_sys::Array::of2(before, &part),
            None => js_sys::Array::of1(&part),
        };
        let blob = Blob::new_with_blob_sequence_and_options(&parts, &self.mime)
            .map_err(|e| std::io::Error::other(format!("the browser could not make the file: {e:?}")))?;
        self.blob = Some(blob);
        self.buffer.clear();
        Ok(())
    }
}

fn blob_type(mime: &str) -> BlobPropertyBag {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    options
}

/// Clicks a download link to the blob, then frees its URL.
fn offer(file_name: &str, blob: Result<Blob, JsValue>) {
    let Ok(blob) = blob else { return };
    let Ok(url) = Url::create_object_url_with_blob(&blob) else { return };
    let document = web_sys::window().and_then(|w| w.document()).expect("document");
    let anchor: HtmlAnchorElement = document.create_element("a").expect("a").unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    let _ = Url::revoke_object_url(&url);
}

/// A blob's bytes (`from..to`), read into wasm memory.
pub async fn read_bytes(blob: &Blob, from: u64, to: u64) -> Result<Vec<u8>, String> {
    let part = blob.slice_with_f64_and_f64(from as f64, to as f64).map_err(|e| format!("{e:?}"))?;
    let buffer = wasm_bindgen_futures::JsFuture::from(part.array_buffer())
        .await
        .map_err(|e| format!("the browser could not read the file: {e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A picked or dropped file and the name it is shown under.
#[derive(Clone, Debug)]
pub struct Input {
    pub file: File,
    /// The path inside a picked or dropped folder, else the file name.
    pub name: String,
    /// Came from a folder: files that are no event log by their content are skipped, not analyzed.
    pub from_folder: bool,
}

impl PartialEq for Input {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.file.size() == other.file.size()
    }
}

pub fn is_evtx_name(name: &str) -> bool {
    name.rsplit('.').next().is_some_and(|ext| ext.eq_ignore_ascii_case("evtx")) && name.contains('.')
}

/// The files of an `<input type=file>` (with folder paths for `webkitdirectory`).
pub fn inputs_from_list(list: &FileList) -> Vec<Input> {
    (0..list.length())
        .filter_map(|i| list.get(i))
        .map(|file| {
            // `webkitRelativePath` is set for files picked from a folder.
            let relative = js_sys::Reflect::get(&file, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
            let from_folder = !relative.is_empty();
            let name = if from_folder { relative } else { file.name() };
            Input { file, name, from_folder }
        })
        .collect()
}

/// Files dropped on the page, walking dropped folders recursively.
pub async fn inputs_from_drop(transfer: web_sys::DataTransfer) -> Vec<Input> {
    let mut entries = Vec::new();
    let items = transfer.items();
    for i in 0..items.length() {
        if let Some(item) = items.get(i) {
            if let Ok(Some(entry)) = item.webkit_get_as_entry() {
                entries.push(entry);
            }
        }
    }
    if entries.is_empty() {
        return transfer.files().map(|l| inputs_from_list(&l)).unwrap_or_default();
    }
    let mut out = Vec::new();
    for entry in entries {
        walk_entry(entry, false, &mut out).await;
    }
    out
}

async fn walk_entry(root: web_sys::FileSystemEntry, _in_folder: bool, out: &mut Vec<Input>) {
    let mut stack = vec![(root, false)];
    while let Some((entry, in_folder)) = stack.pop() {
        if entry.is_file() {
            let file_entry: web_sys::FileSystemFileEntry = entry.clone().unchecked_into();
            if let Some(file) = file_of(&file_entry).await {
                let path = entry.full_path().trim_start_matches('/').to_string();
                out.push(Input { file, name: if in_folder { path } else { entry.name() }, from_folder: in_folder });
            }
        } else if entry.is_directory() {
            let dir: web_sys::FileSystemDirectoryEntry = entry.unchecked_into();
            let mut children = read_all_entries(&dir).await;
            children.sort_by_key(|e| std::cmp::Reverse(e.name()));
            stack.extend(children.into_iter().map(|c| (c, true)));
        }
    }
}

async fn file_of(entry: &web_sys::FileSystemFileEntry) -> Option<File> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |f: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &f);
        });
        let err = Closure::once_into_js(move |e: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        entry.file_with_callback_and_callback(ok.unchecked_ref(), err.unchecked_ref());
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.ok()?.dyn_into().ok()
}

/// `readEntries` returns a batch at a time; call until it returns none.
async fn read_all_entries(dir: &web_sys::FileSystemDirectoryEntry) -> Vec<web_sys::FileSystemEntry> {
    let reader = dir.create_reader();
    let mut all = Vec::new();
    loop {
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            let ok = Closure::once_into_js(move |v: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &v);
            });
            let err = Closure::once_into_js(move |e: JsValue| {
                let _ = reject.call1(&JsValue::NULL, &e);
            });
            let _ = reader.read_entries_with_callback_and_callback(ok.unchecked_ref(), err.unchecked_ref());
        });
        let Ok(batch) = wasm_bindgen_futures::JsFuture::from(promise).await else { break };
        let batch: js_sys::Array = batch.unchecked_into();
        if batch.length() == 0 {
            break;
        }
        all.extend(batch.iter().map(|e| e.unchecked_into::<web_sys::FileSystemEntry>()));
    }
    all
}

/// The demo log as a `File`, generated here by the project's own writer.
pub fn demo_file() -> File {
    let bytes = evtx_triage::demo::demo_log();
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::FilePropertyBag::new();
    options.set_type("application/octet-stream");
    File::new_with_u8_array_sequence_and_options(&parts, evtx_triage::demo::DEMO_FILE_NAME, &options).expect("demo file")
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

pub fn hardware_threads() -> usize {
    web_sys::window().map(|w| w.navigator().hardware_concurrency() as usize).unwrap_or(2)
}

/// Runs `f` once, `ms` milliseconds from now.
pub fn after_ms(ms: i32, f: impl FnOnce() + 'static) {
    let callback = Closure::once_into_js(f);
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms);
    }
}

/// Now, in UTC to the second (ISO 8601), as the CLI writes it in its reports.
pub fn now_utc_iso() -> String {
    // toISOString gives milliseconds: "2026-12-01T17:37:13.123Z".
    let iso = String::from(js_sys::Date::new_0().to_iso_string());
    match iso.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => iso,
    }
}

/// Frees a buffer's memory now rather than at the next garbage collection:
/// read slices and posted pieces (a GiB of them per GiB of log) would pile
/// up until one. `transfer(0)` detaches the buffer; where it is missing the
/// buffer is left to the GC.
pub fn free_buffer(buffer: &js_sys::ArrayBuffer) {
    if let Ok(transfer) = js_sys::Reflect::get(buffer, &"transfer".into()) {
        if let Some(transfer) = transfer.dyn_ref::<js_sys::Function>() {
            let _ = transfer.call1(buffer, &JsValue::from(0));
        }
    }
}
