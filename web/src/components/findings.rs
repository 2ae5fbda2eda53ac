//! The findings table: sortable, filterable by analytic, computer and text.

use crate::state::FindingLayout;
use evtx_triage::report::Finding;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
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
    sorted(all, (0..all.len()).filter(|&i| filter.keeps(all[i])), sort, ascending)
}

/// `indexes` sorted by their findings' keys, then by index: a total order,
/// so sorting in pieces and merging gives the same as sorting at once.
fn sorted(all: &[&Finding], indexes: impl Iterator<Item = usize>, sort: SortKey, ascending: bool) -> Vec<usize> {
    // Keys made once per finding, borrowed where they sort as they are: keys
    // made per comparison were millions of strings per redraw (187,349 findings).
    let mut keyed: Vec<((Cow<str>, u64), usize)> = indexes.map(|i| (sort_key(all[i], sort), i)).collect();
    keyed.sort_unstable_by(|a, b| if ascending { a.cmp(b) } else { b.cmp(a) });
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The shown order, kept from one redraw to the next. While files are read,
/// a redraw moves the last order to the findings' new indexes, sorts only the
/// findings that came since and merges them in: sorting all of them at every
/// redraw was 4.6 s of the page thread's 31.6 busy seconds over a 47 s scan
/// (1 GiB Sysmon log, SigmaHQ pack, 187,349 findings), while the workers
/// wanted both cores.
#[derive(Default)]
pub struct ShownOrder {
    made_for: Option<(FindingLayout, Filter, SortKey, bool)>,
    order: Vec<usize>,
}

impl ShownOrder {
    /// The indexes (into `all`) of the findings shown, filtered and sorted: [`visible`]'s answer.
    pub fn update(&mut self, all: &[&Finding], layout: &FindingLayout, filter: &Filter, sort: SortKey, ascending: bool) -> &[usize] {
        let reusable = self.made_for.as_ref().filter(|(l, f, s, a)| l.grows_into(layout) && f == filter && *s == sort && *a == ascending);
        self.order = match reusable {
            Some((last, ..)) if *last == *layout => return &self.order,
            Some((last, ..)) => {
                let mut order = std::mem::take(&mut self.order);
                if starts(&last.per_file) != starts(&layout.per_file) {
                    order = moved_indexes(&order, &last.per_file, &layout.per_file);
                }
                let new = sorted(all, new_indexes(&last.per_file, &layout.per_file).filter(|&i| filter.keeps(all[i])), sort, ascending);
                merge_in(all, order, new, sort, ascending)
            }
            None => visible(all, filter, sort, ascending),
        };
        self.made_for = Some((layout.clone(), filter.clone(), sort, ascending));
        &self.order
    }
}

/// The first index of each file's findings, for files holding `per_file` findings.
fn starts(per_file: &[usize]) -> Vec<usize> {
    per_file.iter().scan(0, |at, n| Some(std::mem::replace(at, *at + n))).collect()
}

/// `order`'s indexes (made when files held `old` findings each) where the
/// same findings are now that they hold `new`. Keeps their order: files keep
/// theirs, and each file's findings keep their places in it.
fn moved_indexes(order: &[usize], old: &[usize], new: &[usize]) -> Vec<usize> {
    let (from, to) = (starts(old), starts(new));
    order
        .iter()
        .map(|&i| {
            let file = from.partition_point(|&s| s <= i) - 1;
            i - from[file] + to[file]
        })
        .collect()
}

/// The indexes of the findings that came since the files held `old` each.
fn new_indexes<'a>(old: &'a [usize], new: &'a [usize]) -> impl Iterator<Item = usize> + 'a {
    let to = starts(new);
    (0..new.len()).flat_map(move |file| to[file] + old[file]..to[file] + new[file])
}

/// `new` merged into `order` (both sorted). The old findings before the
/// first new one stay where they are: in a log written in time order the
/// new findings go at or near the end, and a redraw costs what came since,
/// not every finding (merging all of them at each redraw cost as much as sorting).
fn merge_in(all: &[&Finding], mut order: Vec<usize>, new: Vec<usize>, sort: SortKey, ascending: bool) -> Vec<usize> {
    let Some(&first) = new.first() else { return order };
    let first = (sort_key(all[first], sort), first);
    let stays = order.partition_point(|&i| {
        let old = (sort_key(all[i], sort), i);
        if ascending {
            old < first
        } else {
            old > first
        }
    });
    let tail = order.split_off(stays);
    order.extend(merge(all, tail, new, sort, ascending));
    order
}

/// Two sorted lists of indexes as one, in the order [`sorted`] gives.
fn merge(all: &[&Finding], a: Vec<usize>, b: Vec<usize>, sort: SortKey, ascending: bool) -> Vec<usize> {
    let key = |i: usize| (sort_key(all[i], sort), i);
    let before = |x: &((Cow<str>, u64), usize), y: &((Cow<str>, u64), usize)| if ascending { x <= y } else { x >= y };
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    // Each head's key is made once, however many comparisons it waits through.
    let (mut head_a, mut head_b) = (a.peek().map(|&i| key(i)), b.peek().map(|&i| key(i)));
    loop {
        let take_a = match (&head_a, &head_b) {
            (Some(x), Some(y)) => before(x, y),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        if take_a {
            out.extend(a.next());
            head_a = a.peek().map(|&i| key(i));
        } else {
            out.extend(b.next());
            head_b = b.peek().map(|&i| key(i));
        }
    }
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
    let mut by_rule = BTreeMap::new();
    all.iter().filter(|f| filter.keeps(f)).for_each(|f| add_to_group(&mut by_rule, f));
    sorted_groups(&by_rule)
}

fn add_to_group(by_rule: &mut BTreeMap<String, RuleGroup>, f: &Finding) {
    if !by_rule.contains_key(&*f.analytic_id) {
        let group = RuleGroup {
            analytic_id: f.analytic_id.to_string(),
            title: f.analytic_title.to_string(),
            level: f.level.as_deref().map(String::from),
            count: 0,
            first: None,
            last: None,
            computers: Vec::new(),
        };
        by_rule.insert(f.analytic_id.to_string(), group);
    }
    let g = by_rule.get_mut(&*f.analytic_id).expect("just added");
    g.count += 1;
    if let Some(t) = &f.time_created {
        if g.first.as_ref().is_none_or(|x| t < x) {
            g.first = Some(t.clone());
        }
        if g.last.as_ref().is_none_or(|x| t > x) {
            g.last = Some(t.clone());
        }
    }
    // Sorted, so that findings folded in any order give the same list.
    if let Some(c) = f.computer.as_deref() {
        if let Err(at) = g.computers.binary_search_by(|known| known.as_str().cmp(c)) {
            g.computers.insert(at, c.to_string());
        }
    }
}

fn sorted_groups(by_rule: &BTreeMap<String, RuleGroup>) -> Vec<RuleGroup> {
    let mut out: Vec<RuleGroup> = by_rule.values().cloned().collect();
    out.sort_by(|a, b| {
        level_rank(b.level.as_deref())
            .cmp(&level_rank(a.level.as_deref()))
            .then(b.count.cmp(&a.count))
            .then(a.analytic_id.cmp(&b.analytic_id))
    });
    out
}

/// The rule groups and the computers of a run's findings, kept from one
/// redraw to the next as [`ShownOrder`] keeps the order: a redraw folds in
/// only the findings that came since (made from every finding at each
/// redraw, they cost about as much as the order did).
#[derive(Default)]
pub struct GroupsSoFar {
    groups_for: Option<(FindingLayout, Filter)>,
    by_rule: BTreeMap<String, RuleGroup>,
    computers_for: Option<FindingLayout>,
    computers: BTreeSet<String>,
}

impl GroupsSoFar {
    /// [`groups`]' answer for `all` as `layout` places them.
    pub fn groups(&mut self, all: &[&Finding], layout: &FindingLayout, filter: &Filter) -> Vec<RuleGroup> {
        let last = self.groups_for.as_ref().filter(|(l, f)| f == filter && l.grows_into(layout)).map(|(l, _)| l);
        let folded = folded_per_file(last, layout);
        if last.is_none() {
            self.by_rule.clear();
        }
        new_indexes(&folded, &layout.per_file).filter(|&i| filter.keeps(all[i])).for_each(|i| add_to_group(&mut self.by_rule, all[i]));
        self.groups_for = Some((layout.clone(), filter.clone()));
        sorted_groups(&self.by_rule)
    }

    /// Every computer the findings name, sorted, once each.
    pub fn computers(&mut self, all: &[&Finding], layout: &FindingLayout) -> Vec<String> {
        let last = self.computers_for.as_ref().filter(|l| l.grows_into(layout));
        let folded = folded_per_file(last, layout);
        if last.is_none() {
            self.computers.clear();
        }
        for f in new_indexes(&folded, &layout.per_file).map(|i| all[i]) {
            if let Some(c) = f.computer.as_deref().filter(|c| !self.computers.contains(*c)) {
                self.computers.insert(c.to_string());
            }
        }
        self.computers_for = Some(layout.clone());
        self.computers.iter().cloned().collect()
    }
}

/// How many findings of each file are folded in already: those `last` was
/// made for, or none (`last` is `None`: start again).
fn folded_per_file(last: Option<&FindingLayout>, layout: &FindingLayout) -> Vec<usize> {
    last.map_or_else(|| vec![0; layout.per_file.len()], |l| l.per_file.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(file: &str, record: u64, time: &str, computer: &str) -> Finding {
        serde_json::from_value(serde_json::json!({
            "analytic_id": format!("rule-{}", record % 3), "analytic_title": "t", "file": file, "chunk": 0,
            "event_record_id": record, "event_id": 1, "time_created": time, "computer": computer, "channel": null,
            "attack": [], "d3fend": [], "source_process": null, "false_positive_hint": null, "matched": [], "snippet": {}
        }))
        .expect("a finding")
    }

    /// Two files whose findings come in pieces, some with equal times: after
    /// each piece the kept order equals a sort from scratch, for every key
    /// and direction, with and without a filter; so do the rule groups and
    /// the computers folded piece by piece.
    #[test]
    fn an_order_kept_across_redraws_equals_a_full_sort() {
        let times = ["2024-01-01T00:00:03Z", "2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z", "2024-01-01T00:00:01Z"];
        let file_a: Vec<Finding> =
            (0..12).map(|r| finding("a.evtx", 100 - r, times[r as usize % 4], ["PC1", "pc2"][r as usize % 2])).collect();
        let file_b: Vec<Finding> = (0..9).map(|r| finding("b.evtx", r, times[(r as usize + 1) % 4], "PC3")).collect();
        let pieces = [(0, 0), (3, 0), (3, 4), (7, 4), (12, 4), (12, 9)];
        let filters = [Filter::default(), Filter { computer: "PC1".into(), ..Filter::default() }];
        let keys = [SortKey::Time, SortKey::Analytic, SortKey::Record, SortKey::Computer, SortKey::File];
        for filter in &filters {
            for sort in keys {
                for ascending in [true, false] {
                    let (mut order, mut so_far) = (ShownOrder::default(), GroupsSoFar::default());
                    for (a, b) in pieces {
                        let all: Vec<&Finding> = file_a[..a].iter().chain(&file_b[..b]).collect();
                        let layout = FindingLayout { run: 1, report: false, per_file: vec![a, b] };
                        let kept = order.update(&all, &layout, filter, sort, ascending).to_vec();
                        assert_eq!(kept, visible(&all, filter, sort, ascending), "{sort:?} {ascending} {filter:?} at {a}+{b}");
                        assert_eq!(so_far.groups(&all, &layout, filter), groups(&all, filter), "{filter:?} at {a}+{b}");
                        let computers: BTreeSet<String> = all.iter().filter_map(|f| f.computer.as_deref().map(String::from)).collect();
                        assert_eq!(so_far.computers(&all, &layout), computers.into_iter().collect::<Vec<_>>());
                    }
                }
            }
        }
    }
}
