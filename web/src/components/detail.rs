//! One finding in full: ATT&CK and D3FEND, CAR's texts and implementations,
//! why it matched, the snippet and the whole event. Everything from the
//! event is rendered as text; the only links are built from known ids.

use evtx_triage::analytics::{AnalyticInfo, AttackMapping};
use evtx_triage::event::scalar_text;
use evtx_triage::report::Finding;
use evtx_triage::story::{Story, StoryEvent};
use std::rc::Rc;
use yew::prelude::*;

/// The finding's story, told when the detail opens.
#[derive(Clone, PartialEq, Debug)]
pub enum StoryView {
    /// Stories are told once every file is read (the index is complete then).
    Pending,
    Loading,
    Told(Rc<Story>),
    /// The event names no acting process.
    NoActor,
}

/// The events around the finding, shown when asked for.
#[derive(Clone, PartialEq, Debug)]
pub enum ContextView {
    Closed,
    Loading(u32),
    /// `cut`: only the chunks nearest the finding were read (see `context::MAX_CONTEXT_CHUNKS`).
    Loaded {
        minutes: u32,
        events: Rc<Vec<StoryEvent>>,
        cut: bool,
    },
}

/// Rows per page of the events around a finding.
pub const CONTEXT_PAGE_ROWS: usize = 50;

/// An event of the story or the context, opened: where it was opened from (to go back there) and its full event.
#[derive(Clone, PartialEq, Debug)]
pub struct Opened {
    pub from_id: String,
    pub event: StoryEvent,
    pub full: FullEvent,
}

/// The finding's full event, read again from its file when the detail opens.
#[derive(Clone, PartialEq, Debug)]
pub enum FullEvent {
    Loading,
    Loaded(String),
    Failed(String),
}

#[derive(Properties, PartialEq)]
pub struct DetailProps {
    pub finding: Finding,
    pub event: FullEvent,
    pub analytic: Option<AnalyticInfo>,
    pub on_close: Callback<()>,
    pub story: StoryView,
    pub context: ContextView,
    pub opened: Option<Opened>,
    /// Open an event: the id of the button it was opened from, and the event.
    pub on_open_event: Callback<(String, StoryEvent)>,
    pub on_back: Callback<()>,
    /// Show the events this many minutes around the finding.
    pub on_context: Callback<u32>,
}

fn external(href: String, text: String) -> Html {
    html! { <a href={href} target="_blank" rel="noopener noreferrer">{ text }</a> }
}

fn attack_url(id: &str) -> String {
    if let Some(rest) = id.strip_prefix("TA") {
        format!("https://attack.mitre.org/tactics/TA{rest}/")
    } else if let Some((tech, sub)) = id.split_once('.') {
        format!("https://attack.mitre.org/techniques/{tech}/{sub}/")
    } else {
        format!("https://attack.mitre.org/techniques/{id}/")
    }
}

/// Only ATT&CK-shaped ids become links (`T1003`, `T1003.001`, `TA0006`).
fn is_attack_id(id: &str) -> bool {
    let body = id.strip_prefix("TA").or_else(|| id.strip_prefix('T'));
    body.is_some_and(|b| !b.is_empty() && b.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn mapping_row(label: &str, m: &AttackMapping) -> Html {
    let link = |id: &str, name: &str| {
        if is_attack_id(id) {
            external(attack_url(id), format!("{id} {name}"))
        } else {
            html! { { format!("{id} {name}") } }
        }
    };
    html! {
        <tr>
            <th scope="row">{ label }</th>
            <td>{ link(&m.technique.id, &m.technique.name) }</td>
            <td>{ m.subtechnique.as_ref().map(|s| link(&s.id, &s.name)).unwrap_or_default() }</td>
            <td>{ link(&m.tactic.id, &m.tactic.name) }</td>
            <td>{ m.coverage.clone().unwrap_or_default() }</td>
        </tr>
    }
}

#[function_component(Detail)]
pub fn detail(props: &DetailProps) -> Html {
    let dialog = use_node_ref();
    {
        let dialog = dialog.clone();
        use_effect_with((), move |_| {
            if let Some(el) = dialog.cast::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        });
    }
    let f = &props.finding;
    let close = {
        let cb = props.on_close.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    // Escape goes back from an opened event, else closes.
    let keydown = {
        let (close, back, opened) = (props.on_close.clone(), props.on_back.clone(), props.opened.is_some());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.stop_propagation();
                if opened {
                    back.emit(())
                } else {
                    close.emit(())
                }
            }
        })
    };
    use_focus_follows(props.opened.as_ref().map(|o| o.from_id.clone()), Some("back-to-finding"));
    if let Some(opened) = &props.opened {
        return opened_view(opened, &props.on_back, keydown, dialog);
    }
    let matched_names: Vec<&str> = f.matched.iter().map(|m| &*m.field).collect();
    let snippet_rows: Vec<(String, String, bool)> = f
        .snippet
        .fields()
        .iter()
        .map(|(k, v)| (k.clone(), scalar_text(v).unwrap_or_default(), matched_names.contains(&k.as_str())))
        .collect();
    let event_state = match &props.event {
        FullEvent::Loading => "loading",
        FullEvent::Loaded(_) => "loaded",
        FullEvent::Failed(_) => "failed",
    };
    let full = match &props.event {
        FullEvent::Loading => "Reading the event again from the file…".to_string(),
        FullEvent::Loaded(text) => text.clone(),
        FullEvent::Failed(why) => format!("The event could not be read again: {why}"),
    };
    let a = props.analytic.as_ref();
    html! {
        <div class="overlay" onclick={close.clone()}>
        <div id="finding-detail" role="dialog" aria-modal="true" aria-labelledby="detail-title" tabindex="-1"
             ref={dialog} onkeydown={keydown} onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
            <header>
                <h2 id="detail-title">{ format!("{} — {}", f.analytic_id, f.analytic_title) }</h2>
                <button id="close-detail" onclick={close} aria-label="Close (Esc)">{ "Close" }</button>
            </header>
            <p class="where">{ format!("Record {} · EventID {} · {} · {} · {}", f.event_record_id,
                f.event_id.map(|i| i.to_string()).unwrap_or_else(|| "?".into()),
                f.time_created.as_deref().map(super::shown_time).unwrap_or_else(|| "?".into()), f.computer.as_deref().unwrap_or("?"), f.file) }</p>
            if let Some(how) = f.recovery_text() {
                <p class="recovery-note" role="note">{ format!("Not a live record of the log — {how}. Its event is read again the same way.") }</p>
            }
            if let Some(hint) = &f.false_positive_hint {
                <p class="fp-warning" role="note">{ format!("Possible false positive: {hint}.") }</p>
            }
            { story_view(&props.story, &props.on_open_event, f) }
            <section>
                <h3>{ "Why it matched" }</h3>
                <table class="kv matched">
                    <thead><tr><th>{ "Field" }</th><th>{ "Value" }</th><th>{ "Rule pattern" }</th></tr></thead>
                    <tbody>
                    { for f.matched.iter().map(|m| html! {
                        <tr class="hit"><td>{ m.field.to_string() }</td><td class="value">{ m.value.text().unwrap_or_default() }</td>
                            <td class="value">{ m.pattern.clone().unwrap_or_default() }</td></tr>
                    }) }
                    </tbody>
                </table>
            </section>
            if let Some(a) = a {
                <section>
                    <h3>{ "ATT&CK" }</h3>
                    if let Some(attack) = &a.attack {
                        <table class="attack">
                            <thead><tr><th scope="col">{ "Mapping" }</th><th>{ "Technique" }</th><th>{ "Sub-technique" }</th><th>{ "Tactic" }</th><th>{ "Coverage" }</th></tr></thead>
                            <tbody>
                                { mapping_row("Behaviour", &attack.behaviour) }
                                if attack.published != attack.behaviour {
                                    { mapping_row("As CAR publishes it", &attack.published) }
                                }
                            </tbody>
                        </table>
                        if let Some(c) = &attack.correction {
                            <p class="correction"><strong>{ "Mapping correction: " }</strong>{ c.clone() }</p>
                        }
                    } else if a.techniques.is_empty() && a.tactics.is_empty() {
                        <p>{ if a.attack_tags.is_empty() { "No ATT&CK tags.".to_string() } else { a.attack_tags.join(", ") } }</p>
                    } else {
                        <ul class="techniques">
                            { for a.techniques.iter().map(|t| html! {
                                <li>{ external(attack_url(&t.id), format!("{} {}", t.id, t.name)) }
                                    { format!(" — {}", t.tactics.iter().map(|x| format!("{} {}", x.id, x.name)).collect::<Vec<_>>().join(", ")) }</li>
                            }) }
                            { for a.tactics.iter().map(|t| html! { <li>{ external(attack_url(&t.id), format!("{} {} (tactic)", t.id, t.name)) }</li> }) }
                        </ul>
                    }
                    if !a.d3fend.is_empty() {
                        <h3>{ "D3FEND" }</h3>
                        <ul>{ for a.d3fend.iter().map(|d| {
                            let text = format!("{} {}", d.id, d.name);
                            match &d.iri { Some(iri) if a.source == "builtin" => html! { <li>{ external(format!("https://d3fend.mitre.org/technique/{iri}/"), text) }</li> }, _ => html! { <li>{ text }</li> } }
                        }) }</ul>
                    }
                </section>
            }
            <section>
                <h3>{ "Other fields the rule looks at" }</h3>
                <table class="kv snippet">
                    <tbody>
                    { for snippet_rows.into_iter().map(|(k, v, hit)| html! {
                        <tr class={classes!(hit.then_some("hit"))}><th scope="row">{ k }</th><td class="value">{ v }</td></tr>
                    }) }
                    </tbody>
                </table>
            </section>
            if let Some(a) = a {
                <section>
                    <h3>{ "About this analytic" }</h3>
                    <dl class="rule-meta">
                        <dt>{ "Level" }</dt><dd>{ a.level.clone().unwrap_or_else(|| "–".into()) }</dd>
                        <dt>{ "Status" }</dt><dd>{ a.status.clone().unwrap_or_else(|| "–".into()) }</dd>
                        <dt>{ "Author" }</dt><dd>{ a.author.clone().unwrap_or_else(|| "–".into()) }</dd>
                        <dt>{ "Logsource" }</dt><dd>{ a.logsource.clone() }</dd>
                        <dt>{ "Source" }</dt><dd>{ a.source.clone() }</dd>
                    </dl>
                    <p class="description">{ a.description.clone() }</p>
                    if !a.false_positives.is_empty() {
                        <h4>{ "Known false positives" }</h4>
                        <ul>{ for a.false_positives.iter().map(|x| html! { <li>{ x.clone() }</li> }) }</ul>
                    }
                    if !a.implementations.is_empty() {
                        <h4>{ "CAR implementations" }</h4>
                        { for a.implementations.iter().map(|i| html! {
                            <figure class="implementation">
                                <figcaption>{ format!("{}{}", i.kind, i.data_model.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()) }
                                    if let Some(d) = &i.description { <br/><small>{ d.clone() }</small> }
                                </figcaption>
                                // Scrolls when long: focusable, so the keyboard can scroll it too.
                                <pre tabindex="0" aria-label={format!("{} implementation", i.kind)}><code>{ i.code.clone() }</code></pre>
                            </figure>
                        }) }
                    }
                    <h4>{ "Sigma rule" }</h4>
                    <details><summary>{ "Show the rule" }</summary><pre tabindex="0" aria-label="The Sigma rule"><code>{ a.sigma.clone() }</code></pre></details>
                    if !a.references.is_empty() {
                        <h4>{ "References" }</h4>
                        <ul>{ for a.references.iter().map(|r| if a.source == "builtin" && r.starts_with("https://") {
                            html! { <li>{ external(r.clone(), r.clone()) }</li> }
                        } else { html! { <li>{ r.clone() }</li> } }) }</ul>
                    }
                    if !a.contributors.is_empty() {
                        <p><small>{ format!("Contributors: {}", a.contributors.join(", ")) }</small></p>
                    }
                </section>
            }
            <section>
                <h3>{ "Full event" }</h3>
                <pre class="event" tabindex="0" aria-label="The full event as JSON" data-event-state={event_state}><code>{ full }</code></pre>
            </section>
            <ContextPanel context={props.context.clone()} on_context={props.on_context.clone()} on_open_event={props.on_open_event.clone()}
                computer={f.computer.as_deref().unwrap_or("its computer").to_string()} />
        </div>
        </div>
    }
}

/// Focus follows an opened event: into it (`into`, when given) and, when it closes, back to the
/// button it was opened from. It moves in the render that opens or closes (an effect): a timer
/// could run after the user's next key on a busy page (CI saw focus left on the body).
#[hook]
pub fn use_focus_follows(from: Option<String>, into: Option<&'static str>) {
    let came_from = use_mut_ref(|| None::<String>);
    use_effect_with(from, move |from| {
        let target = match from {
            Some(_) => into.map(String::from),
            None => came_from.borrow_mut().take(),
        };
        *came_from.borrow_mut() = from.clone();
        if let Some(id) = target {
            focus_by_id(&id);
        }
    });
}

pub fn focus_by_id(id: &str) {
    let el = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(el) = el.and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok()) {
        let _ = el.focus();
    }
}

fn event_id_text(e: &StoryEvent) -> String {
    e.event_id.map(|i| i.to_string()).unwrap_or_else(|| "?".into())
}

/// The rows of a story or context: time, event, role, what; each opens its full event.
fn event_rows(events: &[StoryEvent], first: usize, prefix: &str, on_open: &Callback<(String, StoryEvent)>, f: Option<&Finding>) -> Html {
    html! {
        <table class="story-events">
            <thead><tr><th scope="col">{ "Time" }</th><th scope="col">{ "Record" }</th><th scope="col">{ "EventID" }</th>
                <th scope="col">{ "Role" }</th><th scope="col">{ "What" }</th><th scope="col">{ "Full event" }</th></tr></thead>
            <tbody>
            { for events.iter().enumerate().map(|(i, e)| {
                let id = format!("{prefix}-{}", first + i);
                let this = f.is_some_and(|f| e.is(f));
                let open = {
                    let (on_open, id, e) = (on_open.clone(), id.clone(), e.clone());
                    Callback::from(move |_: MouseEvent| on_open.emit((id.clone(), e.clone())))
                };
                html! {
                    <tr class={classes!(this.then_some("this-finding"))} data-record={e.event_record_id.to_string()}>
                        <td>{ e.time_created.as_deref().map(super::shown_time).unwrap_or_else(|| "?".into()) }</td>
                        <td>{ e.event_record_id.to_string() }</td>
                        <td>{ event_id_text(e) }</td>
                        <td>{ if this { format!("{} (this finding)", e.role.label()) } else { e.role.label() } }</td>
                        <td class="value">{ e.describe() }</td>
                        <td><button id={id} class="open-event" onclick={open}
                            aria-label={format!("Open record {}", e.event_record_id)}>{ "Open" }</button></td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    }
}

fn story_view(story: &StoryView, on_open: &Callback<(String, StoryEvent)>, f: &Finding) -> Html {
    let state = match story {
        StoryView::Pending => "pending",
        StoryView::Loading => "loading",
        StoryView::Told(_) => "told",
        StoryView::NoActor => "none",
    };
    html! {
        <section id="story" aria-labelledby="story-title" data-story-state={state}>
            <h3 id="story-title">{ "Story of the acting process" }</h3>
            { match story {
                StoryView::Pending => html! { <p>{ "The story is told once every file is read." }</p> },
                StoryView::Loading => html! { <p>{ "Reading its process's events again…" }</p> },
                StoryView::NoActor => html! { <p>{ "The event names no acting process (no process GUID or PID)." }</p> },
                StoryView::Told(s) => html! { <>
                    <p class="story-summary">{ s.summary.clone() }</p>
                    if !s.ancestors.is_empty() {
                        <h4>{ "Where it came from" }</h4>
                        { event_rows(&s.ancestors, 0, "story-ancestor", on_open, None) }
                    }
                    <h4>{ format!("Its events ({}, in time order; {} chunk(s) read)", s.events.len(), s.chunks_read) }</h4>
                    { event_rows(&s.events, 0, "story-event", on_open, Some(f)) }
                    if s.truncated {
                        <p class="note" role="note">{ "This process has more events than a story holds; the first are shown." }</p>
                    }
                </> },
            } }
        </section>
    }
}

pub fn opened_view(o: &Opened, on_back: &Callback<()>, keydown: Callback<KeyboardEvent>, dialog: NodeRef) -> Html {
    let back = {
        let cb = on_back.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let (state, text) = match &o.full {
        FullEvent::Loading => ("loading", "Reading the event again from the file…".to_string()),
        FullEvent::Loaded(t) => ("loaded", t.clone()),
        FullEvent::Failed(why) => ("failed", format!("The event could not be read again: {why}")),
    };
    let e = &o.event;
    html! {
        <div class="overlay">
        <div id="finding-detail" role="dialog" aria-modal="true" aria-labelledby="opened-title" tabindex="-1" ref={dialog} onkeydown={keydown}>
            <section id="opened-event" data-record={e.event_record_id.to_string()}>
                <header>
                    <h2 id="opened-title">{ format!("Record {} · EventID {} · {}", e.event_record_id, event_id_text(e), e.role.label()) }</h2>
                    <button id="back-to-finding" onclick={back}>{ "Back (Esc)" }</button>
                </header>
                <p class="where">{ format!("{} · {} · {}", e.time_created.as_deref().map(super::shown_time).unwrap_or_else(|| "?".into()),
                    e.computer.as_deref().unwrap_or("?"), e.file) }</p>
                <pre class="event" tabindex="0" aria-label="The opened event as JSON" data-event-state={state}><code>{ text }</code></pre>
            </section>
        </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ContextProps {
    context: ContextView,
    computer: String,
    on_context: Callback<u32>,
    on_open_event: Callback<(String, StoryEvent)>,
}

/// Events around the finding: minutes chosen, then pages of rows.
#[function_component(ContextPanel)]
fn context_panel(props: &ContextProps) -> Html {
    let minutes = use_state(|| 2u32);
    let page = use_state(|| 0usize);
    let on_minutes = {
        let minutes = minutes.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            if let Ok(n) = v.trim().parse::<u32>() {
                minutes.set(n.clamp(1, 1440));
            }
        })
    };
    let show = {
        let (cb, minutes, page) = (props.on_context.clone(), minutes.clone(), page.clone());
        Callback::from(move |_: MouseEvent| {
            page.set(0);
            cb.emit(*minutes)
        })
    };
    let state = match &props.context {
        ContextView::Closed => "closed",
        ContextView::Loading(_) => "loading",
        ContextView::Loaded { .. } => "loaded",
    };
    let body = match &props.context {
        ContextView::Closed => Html::default(),
        ContextView::Loading(n) => html! { <p>{ format!("Reading the events of {} within {n} minute(s)…", props.computer) }</p> },
        ContextView::Loaded { minutes: n, events, cut } => {
            let pages = events.len().div_ceil(CONTEXT_PAGE_ROWS).max(1);
            let current = (*page).min(pages - 1);
            let first = current * CONTEXT_PAGE_ROWS;
            let rows = &events[first..(first + CONTEXT_PAGE_ROWS).min(events.len())];
            let go = |to: usize| {
                let page = page.clone();
                Callback::from(move |_: MouseEvent| page.set(to))
            };
            html! { <>
                <p id="context-count" aria-live="polite">{ format!("{} event(s) of {} within {n} minute(s) of the finding · page {} of {pages}",
                    events.len(), props.computer, current + 1) }</p>
                if *cut {
                    <p class="note" role="note">{ format!("So many events fall in these minutes that only the {} chunks nearest the finding were read.",
                        evtx_triage::context::MAX_CONTEXT_CHUNKS) }</p>
                }
                <p class="pager">
                    <button id="context-prev" disabled={current == 0} onclick={go(current.saturating_sub(1))}>{ "Previous page" }</button>
                    <button id="context-next" disabled={current + 1 >= pages} onclick={go(current + 1)}>{ "Next page" }</button>
                </p>
                { event_rows(rows, first, "context-event", &props.on_open_event, None) }
            </> }
        }
    };
    html! {
        <section id="context" aria-labelledby="context-title" data-context-state={state}>
            <h3 id="context-title">{ "Events around this finding" }</h3>
            <p>
                <label for="context-minutes">{ "Minutes before and after: " }</label>
                <input id="context-minutes" type="number" min="1" max="1440" value={minutes.to_string()} onchange={on_minutes} />
                <button id="show-context" onclick={show}>{ "Show the events around it" }</button>
            </p>
            { body }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct EventDialogProps {
    pub opened: Opened,
    pub on_close: Callback<()>,
}

/// An event opened on its own (a search result): focus moves in, Escape or Back closes it.
#[function_component(EventDialog)]
pub fn event_dialog(props: &EventDialogProps) -> Html {
    let dialog = use_node_ref();
    use_effect_with((), move |_| focus_by_id("back-to-finding"));
    let keydown = {
        let close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                close.emit(())
            }
        })
    };
    opened_view(&props.opened, &props.on_close, keydown, dialog)
}
