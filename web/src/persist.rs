//! The user's rules kept across reloads, in the page's own IndexedDB (it
//! never leaves the browser). One record holds the whole set as JSON.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const DB: &str = "evtx-triage";
const STORE: &str = "rules";
const KEY: &str = "active";

/// Waits for an IndexedDB request to succeed; its result, or why not.
async fn done(request: &IdbRequest) -> Result<JsValue, String> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |e: web_sys::Event| {
            let result =
                e.target().and_then(|t| t.dyn_into::<IdbRequest>().ok()).and_then(|r| r.result().ok()).unwrap_or(JsValue::UNDEFINED);
            let _ = resolve.call1(&JsValue::NULL, &result);
        });
        let err = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("IndexedDB request failed"));
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(err.unchecked_ref()));
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))
}

async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).ok_or("no IndexedDB in this browser")?;
    let request: IdbOpenDbRequest = factory.open_with_u32(DB, 1).map_err(|e| format!("{e:?}"))?;
    // First open: make the store.
    let upgrade = Closure::once_into_js(move |e: web_sys::Event| {
        let db = e
            .target()
            .and_then(|t| t.dyn_into::<IdbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into::<IdbDatabase>().ok());
        if let Some(db) = db {
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    done(&request).await?.dyn_into::<IdbDatabase>().map_err(|_| "not a database".to_string())
}

/// The rule set saved last, as JSON text.
pub async fn load() -> Option<String> {
    let db = open().await.ok()?;
    let store = db.transaction_with_str(STORE).ok()?.object_store(STORE).ok()?;
    let value = done(&store.get(&JsValue::from_str(KEY)).ok()?).await.ok()?;
    value.as_string()
}

/// How long a save may take before the page stops waiting for it: storage
/// that never answers must not leave the rules panel "loading".
const SAVE_WAIT_MS: i32 = 5_000;

/// Saves the rule set (JSON text) and returns once IndexedDB has committed
/// it, so a reload right after sees it (CI once reloaded before the commit).
/// Failures only cost persistence.
pub async fn save(text: String) {
    let mut text = Some(text);
    let committed = js_sys::Promise::new(&mut |resolve, _reject| {
        let resolve_on_end = resolve.clone();
        let text = text.take().unwrap_or_default();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = put(&text).await;
            let _ = resolve_on_end.call0(&JsValue::NULL);
        });
        crate::browser::after_ms(SAVE_WAIT_MS, move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
    });
    let _ = wasm_bindgen_futures::JsFuture::from(committed).await;
}

/// Puts the text under KEY; resolves when the transaction completes.
async fn put(text: &str) -> Result<(), String> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(|e| format!("{e:?}"))?;
    let finished = js_sys::Promise::new(&mut |resolve, reject| {
        let complete = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("IndexedDB transaction failed"));
        });
        tx.set_oncomplete(Some(complete.unchecked_ref()));
        // A failed request aborts its transaction, so abort covers errors too.
        tx.set_onabort(Some(failed.unchecked_ref()));
    });
    let store = tx.object_store(STORE).map_err(|e| format!("{e:?}"))?;
    store.put_with_key(&JsValue::from_str(text), &JsValue::from_str(KEY)).map_err(|e| format!("{e:?}"))?;
    wasm_bindgen_futures::JsFuture::from(finished).await.map(|_| ()).map_err(|e| e.as_string().unwrap_or_default())
}
