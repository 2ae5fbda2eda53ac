//! Search over every event of the loaded files: the query is compiled by the
//! core to one Sigma rule, the workers read the files again running only
//! it, and the matches stream in as references (their events are read again
//! when opened or exported).

use super::detail::{use_focus_follows, EventDialog, Opened};
use evtx_triage::report::Finding;
use evtx_triage::story::{Role, StoryEvent};
use yew::prelude::*;

/// Rows per page of search results.
pub const SEARCH_PAGE_ROWS: usize = 50;

#[derive(Clone, PartialEq, Debug)]
pub enum SearchState {
    Idle,
    /// The query does not parse: why.
    Invalid(String),
    Working {
        read: u64,
        total: u64,
    },
    Done,
}

#[derive(Properties, PartialEq)]
pub struct SearchProps {
    pub state: SearchState,
    /// How many matches so far, and the shown page's (`first` is the index of its first).
    pub total: usize,
    pub rows: Vec<Finding>,
    pub first: usize,
    pub on_page: Callback<usize>,
    /// Whether a run is done (a search reads the files of the last run).
    pub enabled: bool,
    pub on_search: Callback<String>,
    pub on_export: Callback<&'static str>,
    pub opened: Option<Opened>,
    pub on_open: Callback<(String, StoryEvent)>,
    pub on_close: Callback<()>,
    /// The timeline's range as query terms, added to every query (`None`: all times).
    #[prop_or_default]
    pub range: Option<String>,
}

/// A match as a row of events (what `EventDialog` and the rows show).
fn as_event(f: &Finding) -> StoryEvent {
    StoryEvent {
        file: f.file.to_string(),
        chunk: f.chunk,
        offset: f.offset,
        event_record_id: f.event_record_id,
        event_id: f.event_id,
        time_created: f.time_created.clone(),
        computer: f.computer.as_deref().map(String::from),
        channel: f.channel.as_deref().map(String::from),
        role: Role::Around,
        details: Default::default(),
    }
}

#[function_component(SearchPanel)]
pub fn search_panel(props: &SearchProps) -> Html {
    let text = use_state(String::new);
    let on_input = {
        let text = text.clone();
        Callback::from(move |e: InputEvent| text.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    // No <form>: the page has nothing to submit anywhere (hostile.test.mjs checks there is none).
    let run = {
        let (text, cb) = (text.clone(), props.on_search.clone());
        Callback::from(move |_: MouseEvent| cb.emit((*text).clone()))
    };
    let on_enter = {
        let (text, cb) = (text.clone(), props.on_search.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                cb.emit((*text).clone())
            }
        })
    };
    let state = match &props.state {
        SearchState::Idle => "idle",
        SearchState::Invalid(_) => "invalid",
        SearchState::Working { .. } => "working",
        SearchState::Done => "done",
    };
    let status = match &props.state {
        SearchState::Idle => String::new(),
        SearchState::Invalid(why) => format!("Not a query: {why}"),
        SearchState::Working { read, total } => format!("{} event(s) so far · {}%", props.total, read * 100 / (*total).max(1)),
        SearchState::Done => format!("{} event(s) match", props.total),
    };
    let pages = props.total.div_ceil(SEARCH_PAGE_ROWS).max(1);
    let current = props.first / SEARCH_PAGE_ROWS;
    let first = props.first;
    let rows = &props.rows;
    let go = |to: usize| {
        let cb = props.on_page.clone();
        Callback::from(move |_: MouseEvent| cb.emit(to * SEARCH_PAGE_ROWS))
    };
    let export = |what: &'static str| {
        let cb = props.on_export.clone();
        Callback::from(move |_: MouseEvent| cb.emit(what))
    };
    let close = props.on_close.clone();
    use_focus_follows(props.opened.as_ref().map(|o| o.from_id.clone()), None);
    html! {
        <section id="search" aria-labelledby="search-title" data-search-state={state} data-hits={props.total.to_string()}>
            <h2 id="search-title">{ "Search every event" }</h2>
            <p class="search-box">
                <label for="search-query">{ "Query: " }</label>
                <input id="search-query" type="search" size="60" value={(*text).clone()} oninput={on_input} onkeydown={on_enter}
                    disabled={!props.enabled} placeholder={r#"TargetImage:*\lsass.exe -SourceImage:*\werfault.exe "dbghelp""#} />
                <button id="search-run" type="button" onclick={run} disabled={!props.enabled}>{ "Search" }</button>
            </p>
            <p class="hint"><small>{ "Terms must all hold: Field:value (* and ? wildcards, case ignored), free text, \"quoted text\", -term (must not hold), TimeCreated>=2019-03-17T19:00:00Z (also >, <, <=). It reads the files again, running the query as one Sigma rule." }</small></p>
            if let Some(terms) = &props.range {
                <p id="search-range" class="hint">{ format!("In the timeline's range: {terms} is added to the query.") }</p>
            }
            <p id="search-status" aria-live="polite">{ status }</p>
            if matches!(props.state, SearchState::Done) && props.total > 0 {
                <p class="exports">
                    <button id="export-search-jsonl" onclick={export("jsonl")}>{ "Export results (JSONL)" }</button>
                    <button id="export-search-csv" onclick={export("csv")}>{ "Export results (CSV)" }</button>
                </p>
            }
            if props.total > 0 {
                <p class="pager">
                    <button id="search-prev" disabled={current == 0} onclick={go(current.saturating_sub(1))}>{ "Previous page" }</button>
                    { format!(" page {} of {pages} ", current + 1) }
                    <button id="search-next" disabled={current + 1 >= pages} onclick={go(current + 1)}>{ "Next page" }</button>
                </p>
                <table class="search-results">
                    <thead><tr><th scope="col">{ "Time" }</th><th scope="col">{ "Record" }</th><th scope="col">{ "EventID" }</th>
                        <th scope="col">{ "Computer" }</th><th scope="col">{ "Channel" }</th><th scope="col">{ "File" }</th><th scope="col">{ "Full event" }</th></tr></thead>
                    <tbody>
                    { for rows.iter().enumerate().map(|(i, f)| {
                        let id = format!("search-hit-{}", first + i);
                        let open = {
                            let (cb, id, e) = (props.on_open.clone(), id.clone(), as_event(f));
                            Callback::from(move |_: MouseEvent| cb.emit((id.clone(), e.clone())))
                        };
                        html! {
                            <tr class="search-hit" data-record={f.event_record_id.to_string()} data-file={f.file.to_string()}>
                                <td>{ f.time_created.as_deref().map(super::shown_time).unwrap_or_else(|| "?".into()) }</td>
                                <td>{ f.event_record_id.to_string() }</td>
                                <td>{ f.event_id.map(|i| i.to_string()).unwrap_or_default() }</td>
                                <td>{ f.computer.as_deref().unwrap_or_default().to_string() }</td>
                                <td>{ f.channel.as_deref().unwrap_or_default().to_string() }</td>
                                <td>{ f.file.to_string() }</td>
                                <td><button id={id} class="open-event" onclick={open} aria-label={format!("Open record {}", f.event_record_id)}>{ "Open" }</button></td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            }
            if let Some(o) = &props.opened {
                <EventDialog opened={o.clone()} on_close={close} />
            }
        </section>
    }
}
