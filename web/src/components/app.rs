//! The page: drop zone and pickers, progress, summary, findings, detail.

use super::detail::Detail;
use super::findings::{self, FilterControls, Filter, SortKey};
use super::{group, human_bytes, summary};
use crate::browser::{self, Input};
use crate::pool::Pool;
use crate::protocol::Reply;
use crate::state::{Phase, Scan};
use std::cell::RefCell;
use std::rc::Rc;
use yew::prelude::*;

/// How often the page redraws while a run goes on.
const REDRAW_MS: i32 = 500;

#[function_component(App)]
pub fn app() -> Html {
    let scan = use_mut_ref(Scan::default);
    let pool: Rc<RefCell<Option<Rc<RefCell<Pool>>>>> = use_mut_ref(|| None);
    let redraw = use_force_update();
    let ready_workers = use_state(|| 0usize);
    let filter = use_state(Filter::default);
    let sort = use_state(|| (SortKey::Time, true));
    let selected = use_state(|| None::<usize>);
    let dragging = use_state(|| false);

    // Start the workers once; their replies fold into `scan`.
    {
        let (scan, pool, redraw, ready_workers) = (scan.clone(), pool.clone(), redraw.clone(), ready_workers.clone());
        use_effect_with((), move |_| {
            // Redraw at most every REDRAW_MS while a run goes on: replies can
            // come by the thousand (many small files), and redrawing the table
            // for each one made a run quadratic. The end of a run redraws at once.
            let pending = Rc::new(std::cell::Cell::new(false));
            let last_redraw = Rc::new(std::cell::Cell::new(f64::NEG_INFINITY));
            let on_reply: Rc<dyn Fn(Reply)> = Rc::new(move |reply: Reply| {
                let now = browser::now_ms();
                let had_findings = scan.borrow().finding_count() > 0;
                if !scan.borrow_mut().apply(reply, now) {
                    return;
                }
                let since = now - last_redraw.get();
                // The first findings are shown at once, whatever the throttle.
                let first_findings = !had_findings && scan.borrow().finding_count() > 0;
                if scan.borrow().phase == Phase::Done || first_findings || (since >= REDRAW_MS as f64 && !pending.get()) {
                    last_redraw.set(now);
                    redraw.force_update();
                } else if !pending.replace(true) {
                    let (redraw, pending, last_redraw) = (redraw.clone(), pending.clone(), last_redraw.clone());
                    browser::after_ms(REDRAW_MS - since.max(0.0) as i32, move || {
                        pending.set(false);
                        last_redraw.set(browser::now_ms());
                        redraw.force_update();
                    });
                }
            });
            let on_ready: Rc<dyn Fn(usize)> = Rc::new(move |n| ready_workers.set(n));
            // One worker per core (at least two, so one analyzes while another
            // waits for bytes). Workers stream their parts and analyze as bytes
            // arrive, so a third worker on 2 cores adds 40 MiB, not speed.
            let started = Pool::start(browser::hardware_threads().max(2), on_reply, on_ready);
            started.borrow_mut().warm_up_with(browser::demo_file());
            *pool.borrow_mut() = Some(started);
        });
    }

    let start_run = {
        let (scan, pool, redraw, selected, filter) = (scan.clone(), pool.clone(), redraw.clone(), selected.clone(), filter.clone());
        Callback::from(move |inputs: Vec<Input>| {
            if inputs.is_empty() {
                return;
            }
            let run = scan.borrow().run.wrapping_add(1);
            let described = inputs
                .iter()
                .map(|i| {
                    let skipped = (i.from_folder && !browser::is_evtx_name(&i.name)).then(|| "not an .evtx file; skipped".to_string());
                    (i.name.clone(), i.file.size() as u64, skipped)
                })
                .collect::<Vec<_>>();
            let to_scan = inputs
                .into_iter()
                .zip(&described)
                .map(|(i, (_, _, skipped))| if skipped.is_some() { None } else { Some((i.file, i.name)) })
                .collect::<Vec<_>>();
            selected.set(None);
            filter.set(Filter::default());
            scan.borrow_mut().begin(run, described, browser::now_ms());
            if let Some(p) = pool.borrow().as_ref() {
                // Skipped inputs keep their place (file indexes match `scan.files`) but get no job.
                let files: Vec<_> = to_scan.into_iter().enumerate().filter_map(|(i, f)| f.map(|f| (i, f))).collect();
                p.borrow_mut().begin(run, files);
            }
            redraw.force_update();
        })
    };

    let on_files = {
        let start_run = start_run.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            if let Some(list) = input.files() {
                start_run.emit(browser::inputs_from_list(&list));
            }
            input.set_value("");
        })
    };
    let on_demo = {
        let start_run = start_run.clone();
        Callback::from(move |_: MouseEvent| {
            let file = browser::demo_file();
            let name = file.name();
            start_run.emit(vec![Input { file, name, from_folder: false }]);
        })
    };
    let on_cancel = {
        let (scan, pool, redraw) = (scan.clone(), pool.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(p) = pool.borrow().as_ref() {
                p.borrow_mut().cancel();
            }
            scan.borrow_mut().cancel(browser::now_ms());
            redraw.force_update();
        })
    };
    let on_dragover = { let d = dragging.clone(); Callback::from(move |e: DragEvent| { e.prevent_default(); d.set(true); }) };
    let on_dragleave = { let d = dragging.clone(); Callback::from(move |_: DragEvent| d.set(false)) };
    let on_drop = {
        let (start_run, d) = (start_run.clone(), dragging.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            d.set(false);
            if let Some(transfer) = e.data_transfer() {
                let start_run = start_run.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    start_run.emit(browser::inputs_from_drop(transfer).await);
                });
            }
        })
    };
    let export_json = {
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = &scan.borrow().report {
                browser::download("evtx-triage-results.json", "application/json", &(evtx_triage::export::to_json(r) + "\n"));
            }
        })
    };
    let export_csv = {
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = &scan.borrow().report {
                browser::download("evtx-triage-findings.csv", "text/csv", &evtx_triage::export::findings_csv(&r.findings));
            }
        })
    };

    let s = scan.borrow();
    let phase = s.phase;
    let all = s.findings();
    let (sort_key, ascending) = *sort;
    let shown = findings::visible(&all, &filter, sort_key, ascending);
    let on_sort = { let sort = sort.clone(); Callback::from(move |k: SortKey| sort.set(if k == sort.0 { (k, !sort.1) } else { (k, true) })) };
    let on_open = { let selected = selected.clone(); Callback::from(move |i: usize| selected.set(Some(i))) };
    let on_close = { let selected = selected.clone(); Callback::from(move |_| selected.set(None)) };
    let on_filter = { let filter = filter.clone(); Callback::from(move |f: Filter| filter.set(f)) };
    let analytics: Vec<(String, String)> = s.rules().analytics().map(|a| (a.id.clone(), a.title.clone())).collect();
    let mut computers: Vec<String> = all.iter().filter_map(|f| f.computer.clone()).collect();
    computers.sort();
    computers.dedup();
    let detail = selected.and_then(|i| all.get(i).map(|f| (*f).clone())).map(|f| {
        let info = s.rules().analytics().find(|a| a.id == f.analytic_id).cloned();
        html! { <Detail finding={f} analytic={info} on_close={on_close.clone()} /> }
    });
    let percent = if s.bytes_total() == 0 { 100.0 } else { s.bytes_done() as f64 * 100.0 / s.bytes_total() as f64 };

    html! {
        <main id="app" data-state={phase.as_str()} data-workers={(*ready_workers).to_string()}
            data-scan-ms={(phase == Phase::Done).then(|| format!("{:.0}", s.finished_ms - s.started_ms))}
            data-first-finding-ms={s.first_finding_ms.map(|t| format!("{t:.0}"))}
            data-first-finding-percent={s.first_finding_percent.map(|p| format!("{p:.1}"))}
            data-worker-read-ms={format!("{:.0}", s.worker_read_ms)} data-worker-analyze-ms={format!("{:.0}", s.worker_analyze_ms)}>
            <header class="top">
                <h1>{ "EVTX Triage" }</h1>
                <p class="tagline">{ "Find LSASS credential dumping in Windows event logs with MITRE CAR analytics (as Sigma rules)." }</p>
                <p class="privacy" id="privacy">{ "Runs entirely in your browser: no byte of evidence leaves this page. After it has loaded, the page makes no network requests at all (its Content-Security-Policy forbids connections), so it works offline and air-gapped." }</p>
            </header>
            <section id="dropzone" class={classes!("dropzone", (*dragging).then_some("dragging"))}
                ondragover={on_dragover} ondragleave={on_dragleave} ondrop={on_drop} aria-label="Drop .evtx files or folders here">
                <p class="drop-hint">{ "Drop .evtx files or whole folders here, or pick them:" }</p>
                <div class="pickers">
                    <label for="file-input">{ ".evtx files: " }</label>
                    <input id="file-input" type="file" multiple=true accept=".evtx" onchange={on_files.clone()} />
                    <label for="folder-input">{ "a folder: " }</label>
                    <input id="folder-input" type="file" multiple=true webkitdirectory=true onchange={on_files} />
                    <button id="demo-button" onclick={on_demo} disabled={phase == Phase::Working}>{ "Try a sample log" }</button>
                </div>
                <p class="hint"><small>{ "The sample log is generated in your browser: a procdump and Task Manager LSASS dump among benign Sysmon noise." }</small></p>
            </section>
            if phase == Phase::Working {
                <section class="progress" aria-live="polite">
                    <progress id="progress-bar" max="100" value={format!("{percent:.1}")}></progress>
                    <p id="progress">{ format!("{} of {} ({percent:.0}%) · {} records · {} findings · {} workers",
                        human_bytes(s.bytes_done()), human_bytes(s.bytes_total()), group(s.record_count()), s.finding_count(), *ready_workers) }</p>
                    <button id="cancel" onclick={on_cancel}>{ "Cancel" }</button>
                </section>
            }
            if phase == Phase::Done {
                <section class="exports">
                    <button id="export-json" onclick={export_json}>{ "Export JSON" }</button>
                    <button id="export-csv" onclick={export_csv}>{ "Export CSV (findings)" }</button>
                </section>
            }
            if phase != Phase::Idle {
                <section id="findings-section" aria-labelledby="findings-title">
                    <h2 id="findings-title">{ "Findings" }</h2>
                    <FilterControls analytics={analytics} computers={computers} filter={(*filter).clone()} on_change={on_filter} />
                    { findings::table(&all, &shown, sort_key, ascending, on_sort, on_open) }
                </section>
            }
            { summary::view(&s) }
            { summary::files_view(&s) }
            { detail.unwrap_or_default() }
            <footer><small>{ "EVTX Triage · analytics: MITRE CAR-2020-05-001, CAR-2019-08-001 · parsing: evtx · Sigma engine: rsigma" }</small></footer>
        </main>
    }
}
