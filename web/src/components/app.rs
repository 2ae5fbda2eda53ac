//! The page: drop zone and pickers, progress, summary, findings, detail.

use super::detail::{ContextView, Detail, FullEvent, Opened, StoryView};
use super::findings::{self, Filter, FilterControls, SortKey};
use super::rules::{active_texts, RuleSource, RulesPanel, SavedRules};
use super::{group, human_bytes, summary};
use crate::browser::{self, Input};
use crate::pool::Pool;
use crate::protocol::{Reply, RulesMessage};
use crate::state::{Phase, Scan};
use evtx_triage::rule_load::{top_level_value, LoadOptions};
use evtx_triage::rule_source::{self, RuleTexts};
use evtx_triage::rules::RuleSet;
use evtx_triage::time_zone::ShownZone;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use yew::prelude::*;

/// The bit that marks a search run's number (scans count up from 1 without it).
const SEARCH_RUN: u32 = 1 << 31;

/// How often the page redraws while a run goes on.
const REDRAW_MS: i32 = 500;

#[function_component(App)]
pub fn app() -> Html {
    let scan = use_mut_ref(Scan::default);
    // Search runs: the loaded files read again with a query's rule (their own run numbers).
    let search = use_mut_ref(Scan::for_search);
    let search_query = use_state(|| None::<Rc<evtx_triage::query::Query>>);
    let search_invalid = use_state(|| None::<String>);
    let search_first = use_state(|| 0usize);
    let search_opened = use_state(|| None::<Opened>);
    let pool: Rc<RefCell<Option<Rc<RefCell<Pool>>>>> = use_mut_ref(|| None);
    let redraw = use_force_update();
    let ready_workers = use_state(|| 0usize);
    let filter = use_state(Filter::default);
    let sort = use_state(|| (SortKey::Time, true));
    let shown_order = use_mut_ref(findings::ShownOrder::default);
    let groups_so_far = use_mut_ref(findings::GroupsSoFar::default);
    let zone = use_state(ShownZone::default);
    let selected = use_state(|| None::<usize>);
    let full_event = use_state(|| FullEvent::Loading);
    let story = use_state(|| StoryView::Loading);
    let context = use_state(|| ContextView::Closed);
    let opened = use_state(|| None::<Opened>);
    // Findings, or the incidents they form.
    let show_incidents = use_state(|| false);
    let dragging = use_state(|| false);
    let first_row = use_state(|| 0usize);
    // Hashing runs at about 250 MB/s in a browser: a responder in a hurry on a big log may skip it.
    let hash_inputs = use_state(|| true);
    // The user's rules: sources picked or dropped, rules switched off one by one.
    let rule_sources = use_state(|| Rc::new(Vec::<RuleSource>::new()));
    let disabled_rules = use_state(Vec::<String>::new);
    // Loading until the rules saved by an earlier visit are back (or there are none).
    let rules_loading = use_state(|| true);
    // The files of the current run by name, to read a finding's event again.
    let run_files: Rc<RefCell<HashMap<String, web_sys::File>>> = use_mut_ref(HashMap::new);
    // How long the last redraw took to build (ms): the throttle below keeps
    // redraws to a fifth of the page thread while the workers share its cores.
    let render_ms = use_mut_ref(|| 0.0f64);
    let render_started = browser::now_ms();

    // Start the workers once; their replies fold into `scan`.
    {
        let (scan, pool, redraw, ready_workers, render_ms) =
            (scan.clone(), pool.clone(), redraw.clone(), ready_workers.clone(), render_ms.clone());
        let search = search.clone();
        use_effect_with((), move |_| {
            // Redraw at most every REDRAW_MS while a run goes on: replies can
            // come by the thousand (many small files), and redrawing the table
            // for each one made a run quadratic. The end of a run redraws at once.
            let pending = Rc::new(std::cell::Cell::new(false));
            let last_redraw = Rc::new(std::cell::Cell::new(f64::NEG_INFINITY));
            let on_piece: crate::pool::OnPiece = {
                let (scan, pool) = (scan.clone(), pool.clone());
                Rc::new(move |piece| {
                    scan.borrow_mut().add_piece(piece);
                    tell_taken(&scan, &pool);
                })
            };
            let pool_for_replies = pool.clone();
            // Redraws at once at a run's end or first findings, else at most every `gap`.
            let throttled_redraw = move |now: f64, at_once: bool| {
                let since = now - last_redraw.get();
                let gap = (REDRAW_MS as f64).max(4.0 * *render_ms.borrow());
                if at_once || (since >= gap && !pending.get()) {
                    last_redraw.set(now);
                    redraw.force_update();
                } else if !pending.replace(true) {
                    let (redraw, pending, last_redraw) = (redraw.clone(), pending.clone(), last_redraw.clone());
                    browser::after_ms((gap - since.max(0.0)) as i32, move || {
                        pending.set(false);
                        last_redraw.set(browser::now_ms());
                        redraw.force_update();
                    });
                }
            };
            let on_reply: Rc<dyn Fn(Reply)> = Rc::new(move |reply: Reply| {
                let now = browser::now_ms();
                if reply.run() & SEARCH_RUN != 0 {
                    // A search's replies redraw no more often than a scan's: each
                    // redraw lists every hit so far (EventID:1 on the 1 GiB bench log: 314,411).
                    let had_hits = search.borrow().finding_count() > 0;
                    if search.borrow_mut().apply(reply, now) {
                        let at_once = search.borrow().phase == Phase::Done || (!had_hits && search.borrow().finding_count() > 0);
                        throttled_redraw(now, at_once);
                    }
                    return;
                }
                let had_findings = scan.borrow().finding_count() > 0;
                if !scan.borrow_mut().apply(reply, now) {
                    return;
                }
                let released = scan.borrow_mut().take_released();
                if let Some(p) = pool_for_replies.borrow().as_ref() {
                    released.into_iter().for_each(|i| p.borrow_mut().release(i));
                }
                tell_taken(&scan, &pool_for_replies);
                // The first findings are shown at once, whatever the throttle.
                let first_findings = !had_findings && scan.borrow().finding_count() > 0;
                let at_once = matches!(scan.borrow().phase, Phase::Stories | Phase::Done) || first_findings;
                throttled_redraw(now, at_once);
            });
            let on_ready: Rc<dyn Fn(usize)> = Rc::new(move |n| ready_workers.set(n));
            // One worker per core (at least two, so one analyzes while another
            // waits for bytes). Workers stream their parts and analyze as bytes
            // arrive, so a third worker on 2 cores adds 40 MiB, not speed.
            let started = Pool::start(browser::hardware_threads().max(2), on_reply, on_ready, on_piece);
            started.borrow_mut().warm_up_with(browser::demo_file());
            *pool.borrow_mut() = Some(started);
        });
    }

    // Compiles the active rules here (for the report) and in every worker.
    let apply_rules = {
        let (scan, pool, redraw, rules_loading) = (scan.clone(), pool.clone(), redraw.clone(), rules_loading.clone());
        Callback::from(move |(sources, disabled): (Vec<RuleSource>, Vec<String>)| {
            rules_loading.set(true);
            let (scan, pool, redraw, rules_loading) = (scan.clone(), pool.clone(), redraw.clone(), rules_loading.clone());
            // Let the page say "loading" before the work blocks it.
            browser::after_ms(20, move || {
                let saved =
                    serde_json::to_string(&SavedRules { sources: sources.clone(), disabled: disabled.clone() }).expect("rules serialize");
                let pack: RuleTexts = active_texts(&sources);
                let options = LoadOptions { disabled, ..Default::default() };
                // Compiled here for its load report (which rules the engine refuses), then let go.
                let rules = RuleSet::load(&pack, &options).into_catalog();
                let message = RulesMessage { texts: pack.texts, options };
                if let Some(p) = pool.borrow().as_ref() {
                    p.borrow_mut().set_rules(serde_json::to_string(&message).expect("rules serialize"));
                }
                scan.borrow_mut().set_rules(rules);
                // "ready" only once the set is stored: a reload then finds it.
                wasm_bindgen_futures::spawn_local(async move {
                    crate::persist::save(saved).await;
                    rules_loading.set(false);
                    redraw.force_update();
                });
            });
        })
    };
    // The rules of the last visit, from the page's IndexedDB.
    {
        let (rule_sources, disabled_rules, apply_rules, rules_loading) =
            (rule_sources.clone(), disabled_rules.clone(), apply_rules.clone(), rules_loading.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let saved = crate::persist::load().await.and_then(|text| serde_json::from_str::<SavedRules>(&text).ok());
                match saved {
                    Some(saved) if !saved.sources.is_empty() || !saved.disabled.is_empty() => {
                        rule_sources.set(Rc::new(saved.sources.clone()));
                        disabled_rules.set(saved.disabled.clone());
                        apply_rules.emit((saved.sources, saved.disabled));
                    }
                    _ => rules_loading.set(false),
                }
            });
        });
    }
    let add_rule_inputs = {
        let (rule_sources, disabled_rules, apply_rules) = (rule_sources.clone(), disabled_rules.clone(), apply_rules.clone());
        Callback::from(move |inputs: Vec<Input>| {
            let inputs: Vec<Input> =
                inputs.into_iter().filter(|i| rule_source::is_rule_name(&i.name) || rule_source::is_zip_name(&i.name)).collect();
            if inputs.is_empty() {
                return;
            }
            let (rule_sources, disabled_rules, apply_rules) = (rule_sources.clone(), disabled_rules.clone(), apply_rules.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let name = source_name(&inputs);
                let mut read = RuleTexts::default();
                for input in &inputs {
                    match browser::read_bytes(&input.file, 0, input.file.size() as u64).await {
                        Ok(bytes) => read.extend(rule_source::from_bytes(&input.name, bytes)),
                        Err(reason) => read.unreadable.push(rule_source::Unreadable { source: input.name.clone(), reason }),
                    }
                }
                let mut sources = (**rule_sources).clone();
                sources.push(RuleSource::new(name, read));
                rule_sources.set(Rc::new(sources.clone()));
                apply_rules.emit((sources, (*disabled_rules).clone()));
            });
        })
    };
    let on_rule_files = {
        let add = add_rule_inputs.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            if let Some(list) = input.files() {
                add.emit(browser::inputs_from_list(&list));
            }
            input.set_value("");
        })
    };
    let on_rule_drop = {
        let add = add_rule_inputs.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            e.stop_propagation();
            if let Some(transfer) = e.data_transfer() {
                let add = add.clone();
                wasm_bindgen_futures::spawn_local(async move { add.emit(browser::inputs_from_drop(transfer).await) });
            }
        })
    };
    let on_toggle_source = {
        let (rule_sources, disabled_rules, apply_rules) = (rule_sources.clone(), disabled_rules.clone(), apply_rules.clone());
        Callback::from(move |i: usize| {
            let mut sources = (**rule_sources).clone();
            if let Some(s) = sources.get_mut(i) {
                s.enabled = !s.enabled;
            }
            rule_sources.set(Rc::new(sources.clone()));
            apply_rules.emit((sources, (*disabled_rules).clone()));
        })
    };
    let on_remove_source = {
        let (rule_sources, disabled_rules, apply_rules) = (rule_sources.clone(), disabled_rules.clone(), apply_rules.clone());
        Callback::from(move |i: usize| {
            let mut sources = (**rule_sources).clone();
            if i < sources.len() {
                sources.remove(i);
            }
            rule_sources.set(Rc::new(sources.clone()));
            apply_rules.emit((sources, (*disabled_rules).clone()));
        })
    };
    let set_rule_enabled = {
        let (rule_sources, disabled_rules, apply_rules) = (rule_sources.clone(), disabled_rules.clone(), apply_rules.clone());
        Callback::from(move |(id, on): (String, bool)| {
            let mut disabled: Vec<String> = (*disabled_rules).clone();
            disabled.retain(|d| *d != id);
            if !on {
                disabled.push(id);
            }
            disabled_rules.set(disabled.clone());
            apply_rules.emit(((**rule_sources).clone(), disabled));
        })
    };
    let on_disable_rule = {
        let set = set_rule_enabled.clone();
        Callback::from(move |id: String| set.emit((id, false)))
    };
    let on_enable_rule = {
        let set = set_rule_enabled.clone();
        Callback::from(move |id: String| set.emit((id, true)))
    };
    let on_export_rules = {
        let (rule_sources, disabled_rules) = (rule_sources.clone(), disabled_rules.clone());
        Callback::from(move |_: MouseEvent| {
            // Rules switched off one by one stay out of the exported set.
            let mut pack = active_texts(&rule_sources);
            pack.texts.retain(|t| top_level_value(&t.text, "id").is_none_or(|id| !disabled_rules.contains(&id)));
            browser::download_bytes("evtx-triage-rules.zip", "application/zip", &rule_source::zip_of(&pack.texts));
        })
    };

    let on_hash_toggle = {
        let hash_inputs = hash_inputs.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            hash_inputs.set(input.checked());
        })
    };
    let start_run = {
        let (scan, pool, redraw, selected, filter) = (scan.clone(), pool.clone(), redraw.clone(), selected.clone(), filter.clone());
        let (run_files, first_row) = (run_files.clone(), first_row.clone());
        let hash = *hash_inputs;
        Callback::from(move |inputs: Vec<Input>| {
            if inputs.is_empty() {
                return;
            }
            let (scan, pool, redraw, selected, filter) = (scan.clone(), pool.clone(), redraw.clone(), selected.clone(), filter.clone());
            let (run_files, first_row) = (run_files.clone(), first_row.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let mut described = Vec::with_capacity(inputs.len());
                for i in &inputs {
                    described.push((i.name.clone(), i.file.size() as u64, skip_reason(i).await));
                }
                first_row.set(0);
                *run_files.borrow_mut() = inputs.iter().map(|i| (i.name.clone(), i.file.clone())).collect();
                let run = scan.borrow().run.wrapping_add(1);
                let to_scan = inputs
                    .into_iter()
                    .zip(&described)
                    .map(|(i, (_, _, skipped))| if skipped.is_some() { None } else { Some((i.file, i.name)) })
                    .collect::<Vec<_>>();
                selected.set(None);
                filter.set(Filter::default());
                scan.borrow_mut().begin(run, described, browser::now_ms(), hash);
                tell_taken(&scan, &pool);
                let twins = scan.borrow().twins();
                if let Some(p) = pool.borrow().as_ref() {
                    // Skipped inputs keep their place (file indexes match `scan.files`) but get no job.
                    let files: Vec<_> = to_scan.into_iter().enumerate().filter_map(|(i, f)| f.map(|f| (i, f))).collect();
                    p.borrow_mut().begin(run, files, &twins, hash);
                }
                redraw.force_update();
            });
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
            tell_taken(&scan, &pool);
            redraw.force_update();
        })
    };
    let on_dragover = {
        let d = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            d.set(true);
        })
    };
    let on_dragleave = {
        let d = dragging.clone();
        Callback::from(move |_: DragEvent| d.set(false))
    };
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
                browser::download_written("evtx-triage-results.json", "application/json", |out| evtx_triage::export::write_json(r, out));
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
    let export_navigator = {
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = &scan.borrow().report {
                let layer = serde_json::to_string_pretty(&evtx_triage::navigator::layer(r)).unwrap_or_default() + "\n";
                browser::download("evtx-triage-navigator-layer.json", "application/json", &layer);
            }
        })
    };
    let export_report = {
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            let s = scan.borrow();
            if let Some(r) = &s.report {
                let html = evtx_triage::html_report::html_report(r, s.rules(), &browser::now_utc_iso());
                browser::download("evtx-triage-report.html", "text/html", &html);
            }
        })
    };
    let export_timesketch = {
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = &scan.borrow().report {
                browser::download("evtx-triage-timesketch.csv", "text/csv", &evtx_triage::export::timesketch_csv(&r.findings, true));
            }
        })
    };

    let export_notes = {
        let scan = scan.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = &scan.borrow().report {
                browser::download("evtx-triage-integrity-notes.csv", "text/csv", &evtx_triage::export::notes_csv(&r.files));
            }
        })
    };

    // Once the files are read, the incidents' stories are read again from them.
    {
        let (scan, run_files, redraw) = (scan.clone(), run_files.clone(), redraw.clone());
        use_effect(move || {
            let due = scan.borrow_mut().stories_to_tell();
            if let Some(mut told) = due {
                wasm_bindgen_futures::spawn_local(async move {
                    let files = run_files.borrow().clone();
                    crate::stories::read_batch(&mut told.batch, &told.index, &files).await;
                    scan.borrow_mut().set_incidents(told);
                    redraw.force_update();
                });
            }
        });
    }
    let s = scan.borrow();
    let phase = s.phase;
    let all = s.findings();
    let (sort_key, ascending) = *sort;
    let layout = s.finding_layout();
    let mut shown_order = shown_order.borrow_mut();
    let shown = shown_order.update(&all, &layout, &filter, sort_key, ascending);
    super::set_shown_zone(*zone);
    let on_zone = {
        let zone = zone.clone();
        Callback::from(move |z: ShownZone| zone.set(z))
    };
    let on_sort = {
        let sort = sort.clone();
        Callback::from(move |k: SortKey| sort.set(if k == sort.0 { (k, !sort.1) } else { (k, true) }))
    };
    let on_open = {
        let (selected, full_event, run_files, scan) = (selected.clone(), full_event.clone(), run_files.clone(), scan.clone());
        let (story, context, opened) = (story.clone(), context.clone(), opened.clone());
        Callback::from(move |i: usize| {
            selected.set(Some(i));
            full_event.set(FullEvent::Loading);
            context.set(ContextView::Closed);
            opened.set(None);
            let finding = scan.borrow().findings().get(i).map(|f| (*f).clone());
            let Some(f) = finding else { return };
            let file = run_files.borrow().get(&*f.file).cloned();
            let full_event = full_event.clone();
            wasm_bindgen_futures::spawn_local(async move {
                full_event.set(read_event_again(file, &f).await);
            });
            tell_story(&scan.borrow(), i, &run_files, story.clone());
        })
    };
    let on_open_event = open_event_into(&opened, &run_files);
    let on_back = {
        let opened = opened.clone();
        Callback::from(move |_| opened.set(None))
    };
    let on_context = {
        let (context, run_files, scan, selected) = (context.clone(), run_files.clone(), scan.clone(), selected.clone());
        let range = filter.range;
        Callback::from(move |minutes: u32| {
            let s = scan.borrow();
            let (Some(i), Some(index)) = (*selected, s.index.clone()) else { return };
            let Some(f) = s.findings().get(i).map(|f| (*f).clone()) else { return };
            context.set(ContextView::Loading(minutes));
            let (context, files) = (context.clone(), run_files.borrow().clone());
            wasm_bindgen_futures::spawn_local(async move {
                let (events, cut) = crate::stories::context(&f, minutes, range, &index, &files).await;
                context.set(ContextView::Loaded { minutes, events: Rc::new(events), cut });
            });
        })
    };
    let on_scroll = {
        let first_row = first_row.clone();
        Callback::from(move |r: usize| {
            if r != *first_row {
                first_row.set(r)
            }
        })
    };
    let on_pick_rule = {
        let filter = filter.clone();
        Callback::from(move |id: String| filter.set(Filter { analytic: id, ..(*filter).clone() }))
    };
    let on_search = {
        let (scan, search, pool, run_files, redraw) = (scan.clone(), search.clone(), pool.clone(), run_files.clone(), redraw.clone());
        let (search_query, search_invalid, search_first) = (search_query.clone(), search_invalid.clone(), search_first.clone());
        let range = filter.range;
        Callback::from(move |text: String| {
            // The timeline's range, as the query's time bounds.
            let text = if range.is_all() { text } else { format!("{text} {}", range.query_terms()).trim().to_string() };
            let compiled = evtx_triage::query::Query::parse(&text).and_then(|q| q.rule_set().map(|rules| (q, rules)));
            let (query, rules) = match compiled {
                Ok(c) => c,
                Err(e) => {
                    search_invalid.set(Some(e.to_string()));
                    return;
                }
            };
            search_invalid.set(None);
            search_first.set(0);
            // The files of the last run, in its order (skipped and duplicate inputs keep their place, unread).
            let inputs: Vec<(String, u64, Option<String>)> = scan
                .borrow()
                .files
                .iter()
                .map(|f| {
                    let unread =
                        f.skipped.clone().or_else(|| matches!(f.twin, crate::state::Twin::DuplicateOf(_)).then(|| "duplicate".into()));
                    (f.name.clone(), f.size, unread)
                })
                .collect();
            let files: Vec<(usize, (web_sys::File, String))> = inputs
                .iter()
                .enumerate()
                .filter(|(_, (_, _, unread))| unread.is_none())
                .filter_map(|(i, (name, _, _))| run_files.borrow().get(name).map(|f| (i, (f.clone(), name.clone()))))
                .collect();
            let run = SEARCH_RUN | search.borrow().run.wrapping_add(1);
            {
                let mut s = search.borrow_mut();
                s.set_rules(rules.into_catalog());
                s.begin(run, inputs, browser::now_ms(), false);
            }
            search_query.set(Some(Rc::new(query)));
            if let Some(p) = pool.borrow().as_ref() {
                p.borrow_mut().begin_search(run, files, &text);
            }
            redraw.force_update();
        })
    };
    let on_search_page = {
        let search_first = search_first.clone();
        Callback::from(move |first: usize| search_first.set(first))
    };
    let on_open_hit = open_event_into(&search_opened, &run_files);
    let on_close_hit = {
        let search_opened = search_opened.clone();
        Callback::from(move |_| search_opened.set(None))
    };
    let on_export_search = {
        let (search, search_query, run_files) = (search.clone(), search_query.clone(), run_files.clone());
        Callback::from(move |kind: &'static str| {
            let Some(query) = (*search_query).clone() else { return };
            let hits: Vec<evtx_triage::report::Finding> =
                search.borrow().findings().into_iter().filter(|f| query.admits(f)).cloned().collect();
            let files = run_files.borrow().clone();
            wasm_bindgen_futures::spawn_local(async move {
                let text = export_search(&hits, &files, kind).await;
                let (name, mime) =
                    if kind == "csv" { ("evtx-triage-search.csv", "text/csv") } else { ("evtx-triage-search.jsonl", "application/jsonl") };
                browser::download(name, mime, &text);
            });
        })
    };
    let on_close = {
        let selected = selected.clone();
        Callback::from(move |_| selected.set(None))
    };
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |f: Filter| filter.set(f))
    };
    let mut groups_so_far = groups_so_far.borrow_mut();
    let groups = groups_so_far.groups(&all, &layout, &Filter { analytic: String::new(), ..(*filter).clone() });
    // The analytic filter lists the rules that fired (a pack has thousands).
    let analytics: Vec<(String, String)> = groups.iter().map(|g| (g.analytic_id.clone(), g.title.clone())).collect();
    let builtin_ids: Vec<String> = s.rules().analytics().filter(|a| a.source == "builtin").map(|a| a.id.clone()).collect();
    let computers = groups_so_far.computers(&all, &layout);
    let detail = selected.and_then(|i| all.get(i).map(|f| (*f).clone())).map(|f| {
        let info = s.rules().analytics().find(|a| *a.id == *f.analytic_id).cloned();
        html! { <Detail finding={f} event={(*full_event).clone()} analytic={info} on_close={on_close.clone()}
        story={(*story).clone()} context={(*context).clone()} opened={(*opened).clone()}
        on_open_event={on_open_event.clone()} on_back={on_back.clone()} on_context={on_context.clone()} /> }
    });
    let search_panel = {
        let sr = search.borrow();
        let hits: Vec<&evtx_triage::report::Finding> = match &*search_query {
            Some(q) => sr.findings().into_iter().filter(|f| q.admits(f)).collect(),
            None => Vec::new(),
        };
        let state = match (&*search_invalid, sr.phase) {
            (Some(why), _) => super::search::SearchState::Invalid(why.clone()),
            (None, Phase::Idle) => super::search::SearchState::Idle,
            (None, Phase::Done) => super::search::SearchState::Done,
            (None, _) => super::search::SearchState::Working { read: sr.bytes_done(), total: sr.bytes_total() },
        };
        let first = (*search_first).min(hits.len().saturating_sub(1) / super::search::SEARCH_PAGE_ROWS * super::search::SEARCH_PAGE_ROWS);
        let rows: Vec<evtx_triage::report::Finding> =
            hits.iter().skip(first).take(super::search::SEARCH_PAGE_ROWS).map(|f| (*f).clone()).collect();
        let enabled = phase == Phase::Done && !matches!(sr.phase, Phase::Working);
        html! {
            <super::search::SearchPanel state={state} total={hits.len()} rows={rows} first={first} on_page={on_search_page}
                enabled={enabled} on_search={on_search} on_export={on_export_search}
                opened={(*search_opened).clone()} on_open={on_open_hit} on_close={on_close_hit}
                range={(!filter.range.is_all()).then(|| filter.range.query_terms())} />
        }
    };
    // The timeline, once the files are read: its range filters the findings, the search and the context.
    let timeline_view = s.timeline.clone().filter(|_| matches!(phase, Phase::Stories | Phase::Done)).map(|data| {
        let (range, filter) = (filter.range, filter.clone());
        let on_range = Callback::from(move |range| filter.set(Filter { range, ..(*filter).clone() }));
        html! { <super::timeline::TimelineView data={data} range={range} on_range={on_range} /> }
    });
    let percent = if s.bytes_total() == 0 { 100.0 } else { s.bytes_done() as f64 * 100.0 / s.bytes_total() as f64 };

    let page = html! {
        <main id="app" data-state={phase.as_str()} data-workers={(*ready_workers).to_string()}
            data-scan-ms={(phase == Phase::Done).then(|| format!("{:.0}", s.finished_ms - s.started_ms))}
            data-first-finding-ms={s.first_finding_ms.map(|t| format!("{t:.0}"))}
            data-first-finding-percent={s.first_finding_percent.map(|p| format!("{p:.1}"))}
            data-worker-read-ms={format!("{:.0}", s.worker_read_ms)} data-worker-analyze-ms={format!("{:.0}", s.worker_analyze_ms)}>
            <header class="top">
                <h1>{ "EVTX Triage" }</h1>
                <p class="tagline">{ "Triage Windows event logs with MITRE CAR analytics and your own Sigma rules (SigmaHQ's whole pack loads from one zip)." }</p>
                <p class="privacy" id="privacy">{ "Runs entirely in your browser: no byte of evidence leaves this page. After it has loaded, the page makes no network requests at all (its Content-Security-Policy forbids connections), so it works offline and air-gapped." }</p>
            </header>
            <section id="dropzone" class={classes!("dropzone", (*dragging).then_some("dragging"))}
                ondragover={on_dragover} ondragleave={on_dragleave} ondrop={on_drop} aria-label="Drop event logs (.evtx, JSON or XML exports) or folders here">
                <p class="drop-hint">{ "Drop event logs (.evtx, or their JSON/XML exports: evtx_dump, Winlogbeat, Security-Datasets, HELK, Event Viewer XML) or whole folders here, or pick them:" }</p>
                <div class="pickers">
                    <label for="file-input">{ "Event logs: " }</label>
                    <input id="file-input" type="file" name="evtx" multiple=true onchange={on_files.clone()} />
                    <label for="folder-input">{ "a folder: " }</label>
                    <input id="folder-input" type="file" multiple=true webkitdirectory=true onchange={on_files} />
                    <button id="demo-button" onclick={on_demo} disabled={matches!(phase, Phase::Working | Phase::Stories)}>{ "Try a sample log" }</button>
                </div>
                <p class="hint"><small>{ "The sample log is generated in your browser: a procdump and Task Manager LSASS dump among benign Sysmon noise." }</small></p>
                <p class="hash-option">
                    <input id="hash-inputs" type="checkbox" checked={*hash_inputs} onchange={on_hash_toggle} />
                    <label for="hash-inputs">{ " SHA-256 of each input, from the bytes the scan reads (for the case file; a file given twice is then analyzed once). A browser hashes at about 250 MB/s: untick it to triage a multi-GB log faster." }</label>
                </p>
            </section>
            <RulesPanel loading={*rules_loading} sources={(*rule_sources).clone()} report={s.load_report()}
                disabled={(*disabled_rules).clone()} busy={matches!(phase, Phase::Working | Phase::Stories) || *rules_loading}
                on_files={on_rule_files} on_drop={on_rule_drop} on_toggle={on_toggle_source} on_remove={on_remove_source}
                on_enable_rule={on_enable_rule} on_export={on_export_rules} />
            if phase == Phase::Stories {
                <section class="progress" aria-live="polite"><p id="progress">{ "Every file is read; telling the incidents' stories (reading their chunks again)…" }</p></section>
            }
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
                    <button id="export-report" onclick={export_report}>{ "Export HTML report" }</button>
                    <button id="export-navigator" onclick={export_navigator}>{ "Export ATT&CK Navigator layer" }</button>
                    <button id="export-timesketch" onclick={export_timesketch}>{ "Export Timesketch CSV" }</button>
                    <button id="export-notes" onclick={export_notes}>{ "Export integrity notes (CSV)" }</button>
                </section>
            }
            { timeline_view }
            if phase != Phase::Idle {
                <section id="findings-section" aria-labelledby="findings-title">
                    <h2 id="findings-title">{ "Findings" }</h2>
                    { findings::groups_table(&groups, on_pick_rule, on_disable_rule, &builtin_ids) }
                    <FilterControls analytics={analytics} computers={computers} filter={(*filter).clone()} on_change={on_filter} />
                    { time_zone_picker(*zone, on_zone) }
                    if phase == Phase::Done {
                        <p class="view-switch" role="group" aria-label="Show">
                            <button id="show-findings" aria-pressed={(!*show_incidents).to_string()} onclick={switch_view(&show_incidents, false)}>{ "Findings" }</button>
                            <button id="show-incidents" aria-pressed={show_incidents.to_string()} onclick={switch_view(&show_incidents, true)}>
                                { format!("Incidents ({})", s.report.as_ref().map_or(0, |r| r.incidents.len())) }</button>
                        </p>
                    }
                    if phase == Phase::Done && *show_incidents {
                        { super::incidents::table(s.report.as_ref().map_or(&[][..], |r| &r.incidents[..]), &all, filter.range, on_open) }
                    } else {
                        { findings::table(&all, shown, sort_key, ascending, *first_row, on_sort, on_open, on_scroll) }
                    }
                </section>
            }
            { search_panel }
            { summary::view(&s) }
            { summary::files_view(&s) }
            { detail.unwrap_or_default() }
            <footer><small>{ format!("EVTX Triage · built-in analytics: MITRE {} · parsing: evtx · Sigma engine: rsigma", builtin_ids.join(", ")) }</small></footer>
        </main>
    };
    *render_ms.borrow_mut() = browser::now_ms() - render_started;
    page
}

/// What a pick of rule files is called in the panel: the zip or file, the
/// folder, or how many files.
/// Why a file is passed over: a folder's file that is no event log by its
/// first bytes (a case's notes beside its logs). Picked files are always read.
async fn skip_reason(input: &Input) -> Option<String> {
    if !input.from_folder || browser::is_evtx_name(&input.name) {
        return None;
    }
    let head = browser::read_bytes(&input.file, 0, evtx_triage::input::PEEK_BYTES as u64).await.unwrap_or_default();
    (!evtx_triage::input::looks_like_events(&head)).then(|| "not an event log (by its first bytes); skipped".to_string())
}

/// "Times in: UTC / local / +hh:mm": how the page shows times (exports stay UTC).
fn time_zone_picker(zone: ShownZone, on_zone: Callback<ShownZone>) -> Html {
    let local = super::local_zone();
    let on_select = {
        let on_zone = on_zone.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            on_zone.emit(if value == "local" { local } else { ShownZone::Utc });
        })
    };
    let on_offset = Callback::from(move |e: Event| {
        let text = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
        if let Some(z) = evtx_triage::time_zone::parse_offset(&text) {
            on_zone.emit(z);
        }
    });
    let selected = if zone == ShownZone::Utc {
        "utc"
    } else if zone == local {
        "local"
    } else {
        "offset"
    };
    html! {
        <p class="time-zone" data-zone={zone.label()}>
            <label for="time-zone">{ "Times in: " }</label>
            <select id="time-zone" onchange={on_select}>
                <option value="utc" selected={selected == "utc"}>{ "UTC" }</option>
                <option value="local" selected={selected == "local"}>{ format!("local time ({})", local.label()) }</option>
                if selected == "offset" {
                    <option value="offset" selected=true>{ zone.label() }</option>
                }
            </select>
            <label for="time-offset">{ " or offset: " }</label>
            <input id="time-offset" type="text" size="6" placeholder="+02:00" onchange={on_offset} />
            <small>{ " (exports stay UTC, ISO 8601)" }</small>
        </p>
    }
}

fn source_name(inputs: &[Input]) -> String {
    match inputs {
        [one] => one.name.clone(),
        many if many.iter().all(|i| i.from_folder) => {
            let top = many[0].name.split('/').next().unwrap_or("folder").to_string();
            format!("{top}/")
        }
        many => format!("{} rule files", many.len()),
    }
}

/// A finding's full event, read again from its file (one chunk, or the record's own text) and parsed here.
async fn read_event_again(file: Option<web_sys::File>, f: &evtx_triage::report::Finding) -> FullEvent {
    let Some(file) = file else { return FullEvent::Failed(format!("{} is not loaded any more", f.file)) };
    let (start, length) = evtx_triage::reread::span_of(f);
    let end = (start + length).min(file.size() as u64);
    match browser::read_bytes(&file, start, end).await {
        Ok(bytes) => match evtx_triage::reread::event_of(&bytes, f) {
            Ok(event) => FullEvent::Loaded(serde_json::to_string_pretty(&event).unwrap_or_default()),
            Err(e) => FullEvent::Failed(e.to_string()),
        },
        Err(e) => FullEvent::Failed(e),
    }
}

/// Tells the workers how much of what they posted the page has taken, so
/// they read on (see the worker's `UNTAKEN_BUDGET`).
fn tell_taken(scan: &RefCell<Scan>, pool: &RefCell<Option<Rc<RefCell<Pool>>>>) {
    let taken = scan.borrow_mut().take_taken();
    if let Some(p) = pool.borrow().as_ref() {
        let p = p.borrow();
        taken.into_iter().for_each(|(worker, (bytes, buffers))| p.taken(worker, bytes, buffers));
    }
}

/// Tells finding `i`'s story into `story` (with the findings of its incident, when the incidents are told).
fn tell_story(s: &Scan, i: usize, run_files: &Rc<RefCell<HashMap<String, web_sys::File>>>, story: UseStateHandle<StoryView>) {
    let all = s.findings();
    let Some(f) = all.get(i) else { return };
    let Some(builder) = evtx_triage::story::StoryBuilder::new(f) else {
        story.set(StoryView::NoActor);
        return;
    };
    let Some(index) = s.index.clone() else {
        story.set(StoryView::Pending);
        return;
    };
    let members = s.report.as_ref().and_then(|r| r.incidents.iter().find(|inc| inc.findings.contains(&i))).map(|inc| inc.findings.clone());
    let theirs: Vec<evtx_triage::report::Finding> =
        members.unwrap_or_else(|| vec![i]).into_iter().filter_map(|m| all.get(m).map(|f| (*f).clone())).collect();
    story.set(StoryView::Loading);
    let files = run_files.borrow().clone();
    wasm_bindgen_futures::spawn_local(async move {
        let refs: Vec<&evtx_triage::report::Finding> = theirs.iter().collect();
        let told = crate::stories::tell(builder, &index, &files, &refs).await;
        story.set(StoryView::Told(Rc::new(told)));
    });
}

/// An event of a story or context, read again from its chunk.
async fn read_story_event(file: Option<web_sys::File>, e: &evtx_triage::story::StoryEvent) -> FullEvent {
    let Some(file) = file else { return FullEvent::Failed(format!("{} is not loaded any more", e.file)) };
    let start = evtx_triage::reread::chunk_start(e.chunk);
    let end = (start + evtx_triage::reader::CHUNK_SIZE as u64).min(file.size() as u64);
    match browser::read_bytes(&file, start, end).await {
        Ok(bytes) => match evtx_triage::reread::event_in_chunk(&bytes, e.chunk, e.offset) {
            Ok(event) => FullEvent::Loaded(serde_json::to_string_pretty(&event).unwrap_or_default()),
            Err(err) => FullEvent::Failed(err.to_string()),
        },
        Err(err) => FullEvent::Failed(err),
    }
}

fn switch_view(show_incidents: &UseStateHandle<bool>, to: bool) -> Callback<MouseEvent> {
    let show_incidents = show_incidents.clone();
    Callback::from(move |_: MouseEvent| show_incidents.set(to))
}

/// The search's matches as the CLI writes them (`search --format jsonl|csv`), each event read again.
async fn export_search(hits: &[evtx_triage::report::Finding], files: &HashMap<String, web_sys::File>, kind: &str) -> String {
    use evtx_triage::reread::span_of;
    let mut out = if kind == "csv" { evtx_triage::export::search_csv_header() } else { String::new() };
    let hits: Vec<&evtx_triage::report::Finding> = hits.iter().collect();
    // The hits of one chunk: one read and one pass over it (as the CLI).
    for run in hits.chunk_by(|a, b| a.file == b.file && span_of(a) == span_of(b)) {
        use evtx_triage::query::SearchHit;
        let events: Vec<evtx_triage::reread::EventText> = match files.get(&*run[0].file) {
            Some(file) => {
                let (start, length) = span_of(run[0]);
                match browser::read_bytes(file, start, (start + length).min(file.size() as u64)).await {
                    Ok(bytes) => evtx_triage::reread::events_of(&bytes, run)
                        .into_iter()
                        .map(|e| e.unwrap_or_else(|e| SearchHit::error_event(&e.to_string())))
                        .collect(),
                    Err(e) => run.iter().map(|_| SearchHit::error_event(&e)).collect(),
                }
            }
            None => run.iter().map(|_| SearchHit::error_event(&format!("{} is not loaded any more", run[0].file))).collect(),
        };
        for (f, event) in run.iter().zip(events) {
            let hit = SearchHit::new(f, event);
            out.push_str(&if kind == "csv" {
                evtx_triage::export::search_csv_row(&hit)
            } else {
                evtx_triage::export::search_jsonl_line(&hit)
            });
        }
    }
    out
}

/// Opens an event of a story, a context or a search into `opened`: at once, then with its full event read again.
fn open_event_into(
    opened: &UseStateHandle<Option<Opened>>,
    run_files: &Rc<RefCell<HashMap<String, web_sys::File>>>,
) -> Callback<(String, evtx_triage::story::StoryEvent)> {
    let (opened, run_files) = (opened.clone(), run_files.clone());
    Callback::from(move |(from_id, event): (String, evtx_triage::story::StoryEvent)| {
        opened.set(Some(Opened { from_id: from_id.clone(), event: event.clone(), full: FullEvent::Loading }));
        let (opened, file) = (opened.clone(), run_files.borrow().get(&event.file).cloned());
        wasm_bindgen_futures::spawn_local(async move {
            let full = read_story_event(file, &event).await;
            opened.set(Some(Opened { from_id, event, full }));
        });
    })
}
