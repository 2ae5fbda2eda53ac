//! The findings table: sortable, filterable by analytic, computer and text.

use evtx_triage::event::scalar_text;
use evtx_triage::report::Finding;
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
}

impl Filter {
    pub fn keeps(&self, f: &Finding) -> bool {
        (self.analytic.is_empty() || f.analytic_id == self.analytic)
            && (self.computer.is_empty() || f.computer.as_deref() == Some(self.computer.as_str()))
            && (self.text.is_empty() || haystack(f).contains(&self.text.to_lowercase()))
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
        s.push_str(&scalar_text(&m.value).unwrap_or_default());
    }
    s.to_lowercase()
}

/// Indexes (into `all`) of the findings shown, filtered and sorted.
pub fn visible(all: &[&Finding], filter: &Filter, sort: SortKey, ascending: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..all.len()).filter(|&i| filter.keeps(all[i])).collect();
    let key = |f: &Finding| -> (String, u64) {
        match sort {
            SortKey::Time => (f.time_created.clone().unwrap_or_default(), f.event_record_id),
            SortKey::Analytic => (f.analytic_id.clone(), f.event_record_id),
            SortKey::Record => (String::new(), f.event_record_id),
            SortKey::Computer => (f.computer.clone().unwrap_or_default().to_lowercase(), f.event_record_id),
            SortKey::Process => (f.source_process.clone().unwrap_or_default().to_lowercase(), f.event_record_id),
            SortKey::File => (f.file.clone(), f.event_record_id),
        }
    };
    idx.sort_by(|&a, &b| {
        let o = key(all[a]).cmp(&key(all[b])).then(a.cmp(&b));
        if ascending { o } else { o.reverse() }
    });
    idx
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
    let on_text = {
        let (f, cb) = (f.clone(), props.on_change.clone());
        Callback::from(move |e: InputEvent| {
            let v = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            cb.emit(Filter { text: v, ..f.clone() })
        })
    };
    html! {
        <div class="filters" role="search">
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

/// The table itself; `on_open` gets the index (into `all`) of the finding.
pub fn table(all: &[&Finding], shown: &[usize], sort: SortKey, ascending: bool, on_sort: Callback<SortKey>, on_open: Callback<usize>) -> Html {
    let header = |key: SortKey| {
        let on_sort = on_sort.clone();
        let aria = if key == sort { if ascending { "ascending" } else { "descending" } } else { "none" };
        html! {
            <th scope="col" aria-sort={aria}>
                <button class="sort" onclick={Callback::from(move |_| on_sort.emit(key))}>
                    { key.label() }{ if key == sort { if ascending { " ▲" } else { " ▼" } } else { "" } }
                </button>
            </th>
        }
    };
    html! {
        <table id="findings">
            <caption>{ format!("{} of {} finding(s); Enter or click opens one", shown.len(), all.len()) }</caption>
            <thead><tr>
                { header(SortKey::Time) }{ header(SortKey::Analytic) }{ header(SortKey::Record) }
                <th scope="col">{ "ATT&CK" }</th>
                { header(SortKey::Computer) }{ header(SortKey::Process) }{ header(SortKey::File) }
            </tr></thead>
            <tbody>
            { for shown.iter().map(|&i| {
                let f = all[i];
                let open = { let on_open = on_open.clone(); Callback::from(move |_: MouseEvent| on_open.emit(i)) };
                let key = { let on_open = on_open.clone(); Callback::from(move |e: KeyboardEvent| if e.key() == "Enter" { on_open.emit(i) }) };
                html! {
                    <tr class="finding" tabindex="0" data-analytic={f.analytic_id.clone()} data-record={f.event_record_id.to_string()}
                        data-file={f.file.clone()} onclick={open} onkeydown={key}>
                        <td>{ f.time_created.clone().unwrap_or_default() }</td>
                        <td><span class="analytic">{ f.analytic_id.clone() }</span><br/><small>{ f.analytic_title.clone() }</small></td>
                        <td class="num">{ f.event_record_id }</td>
                        <td>{ f.attack.join(" ") }</td>
                        <td>{ f.computer.clone().unwrap_or_default() }</td>
                        <td class="path">{ f.source_process.clone().unwrap_or_default() }
                            if f.false_positive_hint.is_some() { <span class="fp-flag" title={f.false_positive_hint.clone().unwrap_or_default()}>{ " known false positive?" }</span> }
                        </td>
                        <td class="path">{ f.file.clone() }</td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
    }
}
