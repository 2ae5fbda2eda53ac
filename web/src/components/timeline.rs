//! The timeline: events per time bucket, stacked per computer or channel,
//! with the buckets holding findings marked. Picking buckets (click, then
//! shift-click or a drag to extend; arrows move, shift+arrows extend) or
//! typing two times sets a range, which the page applies to the findings,
//! the search and the events around a finding. The buckets are laid out by
//! the core (`evtx_triage::timeline`), as the CLI's `timeline` lays them
//! out; here they are only drawn: SVG shapes and text, nothing from the
//! events as HTML.

use super::shown_time;
use evtx_triage::report::thousands;
use evtx_triage::timeline::{iso_of_seconds, seconds_of_iso, Group, TimeRange, Timeline, TimelineCounts, TimelineOptions};
use std::rc::Rc;
use yew::prelude::*;

/// What a run's timeline is drawn from: events and findings per minute.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TimelineData {
    pub events: TimelineCounts,
    pub findings: TimelineCounts,
}

/// Series drawn in their own colour (the rest share one).
const COLOURED: usize = 8;
/// The bars' drawing height (SVG units; the findings' mark sits above it).
const BAR_TOP: f64 = 12.0;
const BAR_HEIGHT: f64 = 88.0;

#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    pub data: Rc<TimelineData>,
    pub range: TimeRange,
    pub on_range: Callback<TimeRange>,
}

fn bucket_secs(t: &Timeline, i: usize) -> (i64, i64) {
    let b = &t.buckets[i];
    (seconds_of_iso(&b.start).unwrap_or(0), seconds_of_iso(&b.end).unwrap_or(0))
}

/// The range from bucket `a` to bucket `b` (either order), both included.
fn range_of(t: &Timeline, a: usize, b: usize) -> TimeRange {
    let (lo, hi) = (a.min(b), a.max(b));
    TimeRange { from: Some(bucket_secs(t, lo).0), to: Some(bucket_secs(t, hi).1) }
}

fn in_range(range: &TimeRange, (start, end): (i64, i64)) -> bool {
    !range.is_all() && range.from.is_none_or(|f| end > f) && range.to.is_none_or(|t| start < t)
}

fn series_label(name: &str) -> String {
    if name.is_empty() {
        "(none)".into()
    } else {
        name.to_string()
    }
}

fn series_class(s: usize) -> String {
    if s < COLOURED {
        format!("tl-s{s}")
    } else {
        "tl-other".into()
    }
}

/// A UTC bound as the page shows times (the zone picked), for labels.
fn shown(secs: i64) -> String {
    shown_time(&iso_of_seconds(secs))
}

#[function_component(TimelineView)]
pub fn timeline_view(props: &TimelineProps) -> Html {
    let group = use_state(|| Group::Computer);
    // Zoomed in on a range: the buckets of that range only.
    let zoom = use_state(|| None::<TimeRange>);
    let anchor = use_state(|| None::<usize>);
    let focus = use_state(|| 0usize);
    let drag_from = use_mut_ref(|| None::<usize>);
    let error = use_state(|| None::<String>);
    let laid_out = {
        let data = props.data.clone();
        let (g, z) = (*group, *zoom);
        use_memo((Rc::as_ptr(&data) as usize, g, z), move |_| {
            let options = TimelineOptions { group: g, bucket_seconds: None, from: z.and_then(|z| z.from), to: z.and_then(|z| z.to) };
            Timeline::build_counts(&data.events, &data.findings, &options).map(Rc::new).map_err(|e| e.to_string())
        })
    };
    // Events in the range, from the minutes (counted again only when the range changes).
    let in_range_events = {
        let data = props.data.clone();
        let range = props.range;
        *use_memo((Rc::as_ptr(&data) as usize, range), move |_| {
            let (from, to) = (range.from, range.to);
            let minutes = data.events.minutes().filter(|(_, _, m, _)| from.is_none_or(|f| m * 60 >= f) && to.is_none_or(|t| m * 60 < t));
            minutes.map(|(_, _, _, n)| u64::from(n)).sum::<u64>()
        })
    };
    // Shared, not copied: the bars' handlers each hold it.
    let t = match &*laid_out {
        Ok(t) => Rc::clone(t),
        Err(why) => {
            return html! { <section id="timeline-section" aria-labelledby="timeline-title"><h2 id="timeline-title">{ "Timeline" }</h2>
            <div id="timeline" data-timeline-state="error"><p>{ why.clone() }</p></div></section> }
        }
    };
    let n = t.buckets.len();
    let range = props.range;
    let most = t.buckets.iter().map(|b| b.events).max().unwrap_or(0).max(1);
    let focus_at = (*focus).min(n.saturating_sub(1));

    let set_group = |to: Group| {
        let (group, anchor) = (group.clone(), anchor.clone());
        Callback::from(move |_: MouseEvent| {
            group.set(to);
            anchor.set(None);
        })
    };
    let on_zoom = {
        let (zoom, anchor, focus) = (zoom.clone(), anchor.clone(), focus.clone());
        Callback::from(move |_: MouseEvent| {
            zoom.set(Some(range));
            anchor.set(None);
            focus.set(0);
        })
    };
    let on_zoom_out = {
        let (zoom, anchor) = (zoom.clone(), anchor.clone());
        Callback::from(move |_: MouseEvent| {
            zoom.set(None);
            anchor.set(None);
        })
    };
    let on_clear = {
        let (cb, anchor, error) = (props.on_range.clone(), anchor.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            anchor.set(None);
            error.set(None);
            cb.emit(TimeRange::default());
        })
    };
    // A typed bound: ISO 8601 or a date (UTC without an offset); empty leaves that side open.
    let typed = |from_side: bool| {
        let (cb, error) = (props.on_range.clone(), error.clone());
        Callback::from(move |e: Event| {
            let text = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            let value = if text.trim().is_empty() { Ok(None) } else { seconds_of_iso(&text).map(Some).ok_or(()) };
            let Ok(value) = value else {
                error.set(Some(format!("Not a time: {text:?} (expected 2019-03-17T19:00:00Z, or a date)")));
                return;
            };
            let next = if from_side { TimeRange { from: value, ..range } } else { TimeRange { to: value, ..range } };
            if let (Some(f), Some(t)) = (next.from, next.to) {
                if f >= t {
                    error.set(Some("The range is empty: its start must be before its end.".into()));
                    return;
                }
            }
            error.set(None);
            cb.emit(next);
        })
    };
    let pick = {
        let (cb, anchor, focus, t) = (props.on_range.clone(), anchor.clone(), focus.clone(), t.clone());
        Rc::new(move |i: usize, extend: bool| {
            let from = if extend { (*anchor).unwrap_or(i) } else { i };
            if !extend {
                anchor.set(Some(i));
            }
            focus.set(i);
            cb.emit(range_of(&t, from, i));
        })
    };
    let on_keydown = {
        let (pick, focus) = (pick.clone(), focus.clone());
        Callback::from(move |e: KeyboardEvent| {
            if n == 0 {
                return;
            }
            let to = match e.key().as_str() {
                "ArrowRight" | "ArrowDown" => (focus_at + 1).min(n - 1),
                "ArrowLeft" | "ArrowUp" => focus_at.saturating_sub(1),
                "Home" => 0,
                "End" => n - 1,
                _ => return,
            };
            e.prevent_default();
            if e.shift_key() {
                pick(to, true);
            } else {
                focus.set(to);
            }
            super::detail::focus_by_id(&format!("timeline-bucket-{to}"));
        })
    };

    let bars = t.buckets.iter().enumerate().map(|(i, b)| {
        let span = bucket_secs(&t, i);
        let selected = in_range(&range, span);
        let onclick = {
            let pick = pick.clone();
            Callback::from(move |e: MouseEvent| pick(i, e.shift_key()))
        };
        let onmousedown = {
            let drag_from = drag_from.clone();
            Callback::from(move |e: MouseEvent| {
                if !e.shift_key() {
                    *drag_from.borrow_mut() = Some(i);
                }
            })
        };
        let onmouseup = {
            let (drag_from, cb, anchor, t) = (drag_from.clone(), props.on_range.clone(), anchor.clone(), t.clone());
            Callback::from(move |_: MouseEvent| {
                // A drag from one bucket to another (a click on one is `onclick`'s).
                if let Some(from) = drag_from.borrow_mut().take().filter(|&from| from != i) {
                    anchor.set(Some(from));
                    cb.emit(range_of(&t, from, i));
                }
            })
        };
        // Stacked bars, bottom up, in the order of the series (most events first).
        let mut y = BAR_TOP + BAR_HEIGHT;
        let mut rects = Vec::new();
        if b.events > 0 {
            // A log scale: a bucket of 4 events beside one of 100,000 still shows.
            let total = ((b.events as f64).ln_1p() / (most as f64).ln_1p() * BAR_HEIGHT).max(2.0);
            for (s, &count) in b.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                let h = total * count as f64 / b.events as f64;
                y -= h;
                rects.push(html! { <rect x="0" y={format!("{y:.3}")} width="10" height={format!("{h:.3}")} class={series_class(s)} /> });
            }
        }
        let label = format!(
            "{} to {}: {} event(s), {} finding(s){}",
            shown(span.0),
            shown(span.1),
            thousands(b.events),
            b.findings,
            if selected { ", in the range" } else { "" }
        );
        html! {
            <button id={format!("timeline-bucket-{i}")} class={classes!("tl-bucket", selected.then_some("selected"), (b.findings > 0).then_some("has-findings"))}
                data-start={b.start.clone()} data-end={b.end.clone()} data-count={b.events.to_string()} data-findings={b.findings.to_string()}
                data-counts={b.counts.iter().map(u64::to_string).collect::<Vec<_>>().join(",")}
                aria-label={label.clone()} title={label} aria-pressed={selected.to_string()} tabindex={if i == focus_at { "0" } else { "-1" }}
                {onclick} {onmousedown} {onmouseup}>
                <svg viewBox="0 0 10 100" preserveAspectRatio="none" aria-hidden="true" focusable="false">
                    <rect x="0" y="0" width="10" height="100" class="tl-back" />
                    if b.findings > 0 { <rect x="0" y="0" width="10" height={format!("{:.1}", BAR_TOP - 2.0)} class="tl-finding" /> }
                    { for rects }
                </svg>
            </button>
        }
    });
    let legend = t.series.iter().enumerate().take(COLOURED).map(|(s, series)| {
        html! {
            <li><svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" class={series_class(s)} /></svg>
                { format!(" {}: {} event(s), {} finding(s)", series_label(&series.name), thousands(series.events), series.findings) }</li>
        }
    });
    let others = t.series.iter().skip(COLOURED).fold((0usize, 0u64, 0u64), |(n, e, f), s| (n + 1, e + s.events, f + s.findings));
    let table_series: Vec<&str> = t.series.iter().take(COLOURED).map(|s| s.name.as_str()).collect();
    let range_text = match (range.from, range.to) {
        (None, None) => "No range picked: every time is shown.".to_string(),
        (from, to) => format!(
            "Range: {} to {} · {} event(s) in it. The findings, the search and the events around a finding are limited to it.",
            from.map_or_else(|| "the start".into(), shown),
            to.map_or_else(|| "the end".into(), shown),
            thousands(in_range_events)
        ),
    };
    let state = if n == 0 { "empty" } else { "ready" };
    html! {
        <section id="timeline-section" aria-labelledby="timeline-title">
            <h2 id="timeline-title">{ "Timeline" }</h2>
            <div id="timeline" data-timeline-state={state} data-buckets={n.to_string()} data-group={t.group.as_str()}
                data-bucket-seconds={t.bucket_seconds.to_string()} data-zoomed={zoom.is_some().to_string()}
                data-series={serde_json::to_string(&t.series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()).unwrap_or_default()}>
                <p class="tl-controls" role="group" aria-label="Timeline series">
                    { "Series per " }
                    <button id="timeline-by-computer" aria-pressed={(t.group == Group::Computer).to_string()} onclick={set_group(Group::Computer)}>{ "Computer" }</button>
                    { " " }
                    <button id="timeline-by-channel" aria-pressed={(t.group == Group::Channel).to_string()} onclick={set_group(Group::Channel)}>{ "Channel" }</button>
                    { " " }
                    <button id="timeline-zoom" onclick={on_zoom} disabled={range.is_all()}>{ "Zoom to the range" }</button>
                    { " " }
                    <button id="timeline-zoom-out" onclick={on_zoom_out} disabled={zoom.is_none()}>{ "Whole run" }</button>
                </p>
                if n == 0 {
                    <p>{ "No event or finding with a time." }</p>
                } else {
                    <p class="tl-summary">{ format!("{} event(s), {} finding(s) from {} to {}, in {} bucket(s) of {}{}; bar heights on a log scale.",
                        thousands(t.events), thousands(t.findings), t.from.as_deref().map(shown_time).unwrap_or_default(),
                        t.to.as_deref().map(shown_time).unwrap_or_default(), n, t.bucket,
                        if t.untimed_events > 0 { format!(" ({} event(s) without a time)", thousands(t.untimed_events)) } else { String::new() }) }</p>
                    <div class="tl-bars" role="toolbar" aria-label="Time buckets: click one, shift-click or drag to extend; arrow keys move, shift and an arrow extend"
                        aria-orientation="horizontal" onkeydown={on_keydown}>
                        { for bars }
                    </div>
                    <p class="tl-axis" aria-hidden="true"><span>{ shown_time(&t.buckets[0].start) }</span><span>{ shown_time(&t.buckets[n - 1].end) }</span></p>
                    <ul class="tl-legend">
                        { for legend }
                        if others.0 > 0 {
                            <li><svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" class="tl-other" /></svg>
                                { format!(" {} more: {} event(s), {} finding(s)", others.0, thousands(others.1), others.2) }</li>
                        }
                        <li><svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" class="tl-finding" /></svg>{ " findings in the bucket" }</li>
                    </ul>
                }
                <p class="tl-range-controls">
                    <label for="timeline-from">{ "From " }</label>
                    <input id="timeline-from" type="text" size="24" placeholder="2019-03-17T19:00:00Z" onchange={typed(true)}
                        value={range.from.map(iso_of_seconds).unwrap_or_default()} />
                    <label for="timeline-to">{ " to (before) " }</label>
                    <input id="timeline-to" type="text" size="24" placeholder="2019-03-17T20:00:00Z" onchange={typed(false)}
                        value={range.to.map(iso_of_seconds).unwrap_or_default()} />
                    { " " }
                    <button id="timeline-clear" onclick={on_clear} disabled={range.is_all()}>{ "Clear the range" }</button>
                    <small>{ " (UTC unless an offset is given, ISO 8601)" }</small>
                </p>
                if let Some(why) = &*error {
                    <p id="timeline-error" class="notice" role="alert">{ why.clone() }</p>
                }
                <p id="timeline-range" aria-live="polite" data-from={range.from.map(iso_of_seconds)} data-to={range.to.map(iso_of_seconds)}>{ range_text }</p>
                if n > 0 {
                    <details>
                        <summary>{ "The timeline as a table" }</summary>
                        <table id="timeline-table">
                            <caption>{ format!("Events and findings per {} bucket, per {}", t.bucket, t.group.as_str()) }</caption>
                            <thead><tr><th scope="col">{ "Start" }</th><th scope="col">{ "End" }</th><th scope="col">{ "Events" }</th><th scope="col">{ "Findings" }</th>
                                { for table_series.iter().map(|s| html! { <th scope="col">{ series_label(s) }</th> }) }
                                if others.0 > 0 { <th scope="col">{ "Others" }</th> }</tr></thead>
                            <tbody>
                            { for t.buckets.iter().filter(|b| b.events > 0 || b.findings > 0).map(|b| html! {
                                <tr>
                                    <td>{ shown_time(&b.start) }</td><td>{ shown_time(&b.end) }</td>
                                    <td class="num">{ thousands(b.events) }</td><td class="num">{ b.findings.to_string() }</td>
                                    { for b.counts.iter().take(COLOURED).map(|c| html! { <td class="num">{ thousands(*c) }</td> }) }
                                    if others.0 > 0 { <td class="num">{ thousands(b.counts.iter().skip(COLOURED).sum::<u64>()) }</td> }
                                </tr>
                            }) }
                            </tbody>
                        </table>
                    </details>
                }
            </div>
        </section>
    }
}
