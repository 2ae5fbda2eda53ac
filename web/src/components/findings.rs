//! The findings table: sortable, filterable by analytic, computer and text.

use evtx_triage::report::Finding;
use std::borrow::Cow;
use yew::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SortKey {
    Time,
    Analytic,
    Record,
    Computer,
    Process,
    File,
}

impl SortKey {
    fn label(self) -> &'static str {
        match self {
            SortKey::Time => "Time (UTC)",
            SortKey::Analytic => "Analytic",
            SortKey::Record => "Record",
            SortKey::Computer => "Computer",
            SortKey::Process => "Process",
            SortKey::File => "File",
        }
    }
}

#[derive(Clone, PartialEq, Default, Debug)]
pub struct Filter {
    pub analytic: String,
    pub computer: String,
    pub text: String,
    /// The lowest level shown (`""`: all).
    pub level: String,
    /// The time range picked on the timeline (all times by default).
    pub range: evtx_triage::timeline::TimeRange,
}

/// Sigma levels, lowest first.
pub const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

fn level_rank(level: Option<&str>) -> usize {
    level.and_then(|l| LEVELS.iter().position(|x| x.eq_ignore_ascii_case(l))).unwrap_or(0)
}

impl Filter {
    pub fn keeps(&self, f: &Finding) -> bool {
        (self.level.is_empty() || level_rank(f.level.as_deref()) >= level_rank(Some(&self.level)))
            && (self.analytic.is_empty() || *f.analytic_id == *self.analytic)
            && (self.computer.is_empty() || f.computer.as_deref() == Some(self.computer.as_str()))
            && (self.text.is_empty() || haystack(f).contains(&self.text.to_lowercase()))
            && self.range.admits(f.time_created.as_deref())
    }
}

fn haystack(f: &Finding) -> String {
    let mut s = format!(
        "{} {} {} {} {} {} {}",
        f.analytic_id,
        f.analytic_title,
        f.file,
        f.event_record_id,
        f.computer.as_deref().unwrap_or(""),
        f.source_process.as_deref().unwrap_or(""),
        f.time_created.as_deref().unwrap_or("")
    );
    for m in &f.matched {
        s.push(' ');
        s.push_str(&m.value.text().unwrap_or_default());
    }
    s.to_lowercase()
}

/// Indexes (into `all`) of the findings shown, filtered and sorted.
pub fn visible(all: &[&Finding], filter: &Filter, sort: SortKey, ascending: bool) -> Vec<usize> {
    // Keys made once per finding, borrowed where they sort as they are: keys
    // made per comparison were millions of strings per redraw (187,349 findings).
    let mut keyed: Vec<((Cow<str>, u64), usize)> =
        (0..all.len()).filter(|&i| filter.keeps(all[i])).map(|i| (sort_key(all[i], sort), i)).collect();
    keyed.sort_unstable_by(|a, b| if ascending { a.cmp(b) } else { b.cmp(a) });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// What a finding sorts by (then its record id): names of computers and
/// processes without regard to case.
fn sort_key(f: &Finding, sort: SortKey) -> (Cow<'_, str>, u64) {
    let lower = |text: &Option<evtx_triage::intern::SharedText>| Cow::Owned(text.as_deref().unwrap_or_default().to_lowercase());
    let text = match sort {
        SortKey::Time => Cow::Borrowed(f.time_created.as_deref().unwrap_or_default()),
        SortKey::Analytic => Cow::Borrowed(&*f.analytic_id),
        SortKey::Record => Cow::Borrowed(""),
        SortKey::Computer => lower(&f.computer),
        SortKey::Process => lower(&f.source_process),
        SortKey::File => Cow::Borrowed(&*f.file),
    };
    (text, f.event_record_id)
}

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub analytics: Vec<(String, String)>,
    pub computers: Vec<String>,
    pub filter: Filter,
    pub on_change: Callback<Filter>,
}

/// The filter controls above the table.
#[function_component(FilterControls)]
pub fn filter_controls(props: &ControlsProps) -> Html {
    let f = props.filter.clone();
    let on_analytic = {
        let (f, cb) = (f.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            cb.emit(Filter { analytic: v, ..f.clone() })
        })
    };
    let on_computer = {
        let (f, cb) = (f.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            cb.emit(Filter { computer: v, ..f.clone() })
        })
    };
    let on_level = {
        let (f, cb) = (f.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            cb.emit(Filter { level: v, ..f.clone() })
        })
    };
    let on_text = {
        let (f, cb) = (f.clone(), props.on_change.clone());
        Callback::from(move |e: InputEvent| {
            let v = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            cb.emit(Filter { text: v, ..f.clone() })
        })
    };
    html! {
        <div class="filters" role="search">
            <label>{ "Level at least " }
                <select id="filter-level" onchange={on_level}>
                    <option value="" selected={f.level.is_empty()}>{ "any" }</option>
                    { for LEVELS.iter().map(|l| html! { <option value={*l} selected={f.level == *l}>{ *l }</option> }) }
                </select>
            </label>
            <label>{ "Analytic " }
                <select id="filter-analytic" onchange={on_analytic}>
                    <option value="" selected={f.analytic.is_empty()}>{ "All" }</option>
                    { for props.analytics.iter().map(|(id, title)| html! {
                        <option value={id.clone()} selected={f.analytic == *id}>{ format!("{id} {title}") }</option>
                    }) }
                </select>
            </label>
            <label>{ "Computer " }
                <select id="filter-computer" onchange={on_computer}>
                    <option value="" selected={f.computer.is_empty()}>{ "All" }</option>
                    { for props.computers.iter().map(|c| html! {
                        <option value={c.clone()} selected={f.computer == *c}>{ c.clone() }</option>
                    }) }
                </select>
            </label>
            <label>{ "Text " }
                <input id="filter-text" type="search" placeholder="process, file, value…" value={f.text.clone()} oninput={on_text} />
            </label>
        </div>
    }
}

/// Rows drawn at a time in the virtualized table, and each row's height
/// (fixed, so a row's place is its index times the height).
pub const WINDOW_ROWS: usize = 60;
pub const ROW_PX: usize = 30;

/// The table itself, virtualized: only the rows around `first_row` are in
/// the document (100,000 findings stay smooth); `on_open` gets the index
/// (into `all`) of the finding, `on_scroll` the first row to draw.
#[allow(clippy::too_many_arguments)]
pub fn table(
    all: &[&Finding],
    shown: &[usize],
    sort: SortKey,
    ascending: bool,
    first_row: usize,
    on_sort: Callback<SortKey>,
    on_open: Callback<usize>,
    on_scroll: Callback<usize>,
) -> Html {
    let header = |key: SortKey| {
        let on_sort = on_sort.clone();
        let aria = if key == sort {
            if ascending {
                "ascending"
            } else {
                "descending"
            }
        } else {
            "none"
        };
        html! {
            <th scope="col" aria-sort={aria}>
                <button class="sort" onclick={Callback::from(move |_| on_sort.emit(key))}>
                    { key.label() }{ if key == sort { if ascending { " ▲" } else { " ▼" } } else { "" } }
                </button>
            </th>
        }
    };
    let first = first_row.min(shown.len().saturating_sub(WINDOW_ROWS / 2));
    let last = (first + WINDOW_ROWS).min(shown.len());
    let above = first * ROW_PX;
    let below = (shown.len() - last) * ROW_PX;
    let scroll = Callback::from(move |e: Event| {
        let top = e.target_unchecked_into::<web_sys::Element>().scroll_top().max(0) as usize;
        // Start a few rows above the first visible one.
        on_scroll.emit((top / ROW_PX).saturating_sub(10));
    });
    html! {
        <div id="findings-scroll" class="scroll" tabindex="0" role="region" aria-label="Findings table (scrolls)" onscroll={scroll}>
        <table id="findings" data-rows={shown.len().to_string()}>
            <caption>{ format!("{} of {} finding(s); Enter or click opens one", shown.len(), all.len()) }</caption>
            <thead><tr>
                { header(SortKey::Time) }{ header(SortKey::Analytic) }{ header(SortKey::Record) }
                <th scope="col">{ "ATT&CK" }</th>
                { header(SortKey::Computer) }{ header(SortKey::Process) }{ header(SortKey::File) }
            </tr></thead>
            <tbody>
            // Spacers stand for the rows not drawn. Their height is the cell's
            // `height` attribute: the page's CSP refuses inline styles.
            if above > 0 { <tr class="spacer" aria-hidden="true"><td colspan="7" height={above.to_string()}></td></tr> }
            { for shown[first..last].iter().enumerate().map(|(n, &i)| {
                let f = all[i];
                let position = (first + n).to_string();
                let open = { let on_open = on_open.clone(); Callback::from(move |_: MouseEvent| on_open.emit(i)) };
                let key = { let on_open = on_open.clone(); Callback::from(move |e: KeyboardEvent| if e.key() == "Enter" { on_open.emit(i) }) };
                html! {
                    <tr class="finding" tabindex="0" data-index={position} data-analytic={f.analytic_id.to_string()} data-record={f.event_record_id.to_string()}
                        data-file={f.file.to_string()} data-level={f.level.as_deref().map(String::from)} onclick={open} onkeydown={key}>
                        <td>{ f.time_created.as_deref().map(super::shown_time).unwrap_or_default() }</td>
                        <td title={f.analytic_title.to_string()}><span class="analytic">{ f.analytic_id.to_string() }</span>{ " " }<small>{ f.analytic_title.to_string() }</small></td>
                        <td class="num">{ f.event_record_id }
                            if let Some(how) = f.recovery_text() {
                                <span class={classes!("recovery", if f.partial.is_some() { "partial" } else { "recovered" })} title={how}>
                                    { if f.partial.is_some() { " partial" } else { " recovered" } }
                                </span>
                            }
                        </td>
                        <td>{ f.attack.join(" ") }</td>
                        <td>{ f.computer.as_deref().unwrap_or_default().to_string() }</td>
                        <td class="path">{ f.source_process.as_deref().unwrap_or_default().to_string() }
                            if f.false_positive_hint.is_some() { <span class="fp-flag" title={f.false_positive_hint.as_deref().unwrap_or_default().to_string()}>{ " known false positive?" }</span> }
                        </td>
                        <td class="path">{ f.file.to_string() }</td>
                    </tr>
                }
            }) }
            if below > 0 { <tr class="spacer" aria-hidden="true"><td colspan="7" height={below.to_string()}></td></tr> }
            </tbody>
        </table>
        </div>
    }
}

/// Findings of one rule: how many, how bad, when, where.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleGroup {
    pub analytic_id: String,
    pub title: String,
    pub level: Option<String>,
    pub count: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub computers: Vec<String>,
}

/// The findings grouped by rule, worst level first, then most findings.
pub fn groups(all: &[&Finding], filter: &Filter) -> Vec<RuleGroup> {
    let mut by_rule: std::collections::BTreeMap<&str, RuleGroup> = std::collections::BTreeMap::new();
    for f in all.iter().filter(|f| filter.keeps(f)) {
        let g = by_rule.entry(&*f.analytic_id).or_insert_with(|| RuleGroup {
            analytic_id: f.analytic_id.to_string(),
            title: f.analytic_title.to_string(),
            level: f.level.as_deref().map(String::from),
            count: 0,
            first: None,
            last: None,
            computers: Vec::new(),
        });
        g.count += 1;
        if let Some(t) = &f.time_created {
            if g.first.as_ref().is_none_or(|x| t < x) {
                g.first = Some(t.clone());
            }
            if g.last.as_ref().is_none_or(|x| t > x) {
                g.last = Some(t.clone());
            }
        }
        if let Some(c) = &f.computer {
            if !g.computers.iter().any(|known| **known == **c) {
                g.computers.push(c.to_string());
            }
        }
    }
    let mut out: Vec<RuleGroup> = by_rule.into_values().collect();
    out.sort_by(|a, b| {
        level_rank(b.level.as_deref())
            .cmp(&level_rank(a.level.as_deref()))
            .then(b.count.cmp(&a.count))
            .then(a.analytic_id.cmp(&b.analytic_id))
    });
    out
}

/// The per-rule table: a row opens that rule's findings; user rules can be switched off.
pub fn groups_table(groups: &[RuleGroup], on_pick: Callback<String>, on_disable: Callback<String>, builtin: &[String]) -> Html {
    html! {
        <table id="rule-groups">
            <caption>{ format!("{} rule(s) fired", groups.len()) }</caption>
            <thead><tr>
                <th scope="col">{ "Level" }</th><th scope="col">{ "Rule" }</th><th scope="col">{ "Findings" }</th>
                <th scope="col">{ "First (UTC)" }</th><th scope="col">{ "Last (UTC)" }</th><th scope="col">{ "Computers" }</th>
                <th scope="col">{ "Actions" }</th>
            </tr></thead>
            <tbody>
            { for groups.iter().map(|g| {
                let id = g.analytic_id.clone();
                let pick = { let cb = on_pick.clone(); let id = id.clone(); Callback::from(move |_: MouseEvent| cb.emit(id.clone())) };
                let off = { let cb = on_disable.clone(); let id = id.clone(); Callback::from(move |_: MouseEvent| cb.emit(id.clone())) };
                let computers = if g.computers.len() > 3 { format!("{} and {} more", g.computers[..3].join(", "), g.computers.len() - 3) } else { g.computers.join(", ") };
                html! {
                    <tr class="rule-group" data-analytic={id.clone()} data-count={g.count.to_string()}>
                        <td class={classes!("level", g.level.clone())}>{ g.level.clone().unwrap_or_default() }</td>
                        <td><button class="pick-rule" onclick={pick}>{ g.title.clone() }</button><br/><small>{ id.clone() }</small></td>
                        <td class="num">{ g.count }</td>
                        <td>{ g.first.as_deref().map(super::shown_time).unwrap_or_default() }</td>
                        <td>{ g.last.as_deref().map(super::shown_time).unwrap_or_default() }</td>
                        <td>{ computers }</td>
                        <td>if !builtin.contains(&id) { <button class="disable-rule" onclick={off}>{ "Switch off" }</button> }</td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    }
}
