//! The rules panel: the user's Sigma rules (files, zips, folders, drops),
//! each source switchable and removable, with the load report.

use evtx_triage::rule_load::{LoadReport, SkipKind};
use evtx_triage::rule_source::{RuleText, RuleTexts, Unreadable};
use yew::prelude::*;

/// One pick or drop of rules: a zip, a folder, or some rule files.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
pub struct RuleSource {
    pub name: String,
    pub texts: Vec<RuleText>,
    pub unreadable: Vec<(String, String)>,
    pub enabled: bool,
}

impl RuleSource {
    pub fn new(name: String, read: RuleTexts) -> Self {
        let unreadable = read.unreadable.into_iter().map(|u| (u.source, u.reason)).collect();
        RuleSource { name, texts: read.texts, unreadable, enabled: true }
    }
}

/// What is kept across reloads (see `persist`).
#[derive(Clone, PartialEq, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SavedRules {
    pub sources: Vec<RuleSource>,
    pub disabled: Vec<String>,
}

/// Every source's rules that are switched on, as the loader takes them.
pub fn active_texts(sources: &[RuleSource]) -> RuleTexts {
    let mut out = RuleTexts::default();
    for s in sources.iter().filter(|s| s.enabled) {
        out.texts.extend(s.texts.iter().cloned());
        out.unreadable.extend(s.unreadable.iter().map(|(source, reason)| Unreadable { source: source.clone(), reason: reason.clone() }));
    }
    out
}

#[derive(Properties, PartialEq)]
pub struct PanelProps {
    pub loading: bool,
    /// Shared, not copied per redraw: a pack's sources hold every rule's text.
    pub sources: std::rc::Rc<Vec<RuleSource>>,
    pub report: std::rc::Rc<LoadReport>,
    /// Rules switched off one by one (ids).
    pub disabled: Vec<String>,
    pub busy: bool,
    pub on_files: Callback<Event>,
    pub on_drop: Callback<DragEvent>,
    pub on_toggle: Callback<usize>,
    pub on_remove: Callback<usize>,
    pub on_enable_rule: Callback<String>,
    pub on_export: Callback<MouseEvent>,
}

fn kind_counts(report: &LoadReport) -> String {
    report.counts().into_iter().map(|(k, n)| format!("{n} {}", k.label())).collect::<Vec<_>>().join(", ")
}

#[function_component(RulesPanel)]
pub fn rules_panel(p: &PanelProps) -> Html {
    let state = if p.loading { "loading" } else { "ready" };
    let on_dragover = Callback::from(|e: DragEvent| e.prevent_default());
    let skipped: Vec<_> = p.report.skipped.iter().filter(|s| s.kind != SkipKind::Disabled).collect();
    html! {
        <section id="rules-panel" class="rules" aria-labelledby="rules-title" data-rules-state={state}
            data-rules-loaded={p.report.loaded.to_string()} ondragover={on_dragover} ondrop={p.on_drop.clone()}>
            <h2 id="rules-title">{ "Rules" }</h2>
            <p id="rules-status" aria-live="polite">{
                if p.loading { "Loading rules…".to_string() } else {
                    format!("{} rule(s) active (the 2 built-in CAR analytics and your rules); {} skipped{}",
                        p.report.loaded, skipped.len(),
                        if skipped.is_empty() { String::new() } else { format!(": {}", kind_counts(&LoadReport { loaded: 0, skipped: skipped.iter().map(|s| (*s).clone()).collect() })) })
                }
            }</p>
            <div class="pickers">
                <label for="rules-input">{ "Sigma rules (.yml, .yaml, .zip): " }</label>
                <input id="rules-input" type="file" name="rules" multiple=true accept=".yml,.yaml,.zip" disabled={p.busy} onchange={p.on_files.clone()} />
                <label for="rules-folder-input">{ "a folder of rules: " }</label>
                <input id="rules-folder-input" type="file" name="rules-folder" multiple=true webkitdirectory=true disabled={p.busy} onchange={p.on_files.clone()} />
                <button id="rules-export" onclick={p.on_export.clone()} disabled={p.sources.is_empty()}>{ "Export active rules (.zip)" }</button>
            </div>
            <p class="hint"><small>{ "Or drop rule files, zips (a SigmaHQ release) or folders here. Rules are read in this page only." }</small></p>
            if !p.sources.is_empty() {
                <ul id="rule-sources">
                    { for p.sources.iter().enumerate().map(|(i, s)| {
                        let toggle = { let cb = p.on_toggle.clone(); Callback::from(move |_: Event| cb.emit(i)) };
                        let remove = { let cb = p.on_remove.clone(); Callback::from(move |_: MouseEvent| cb.emit(i)) };
                        let id = format!("rule-source-{i}");
                        html! {
                            <li class="rule-source" data-source={s.name.clone()}>
                                <input type="checkbox" id={id.clone()} checked={s.enabled} onchange={toggle} disabled={p.busy} />
                                <label for={id}>{ format!("{} ({} file(s){})", s.name, s.texts.len(),
                                    if s.unreadable.is_empty() { String::new() } else { format!(", {} unreadable", s.unreadable.len()) }) }</label>
                                { " " }<button class="remove-source" onclick={remove} disabled={p.busy}>{ "Remove" }</button>
                            </li>
                        }
                    }) }
                </ul>
            }
            if !p.disabled.is_empty() {
                <p>{ "Switched off: " }
                    { for p.disabled.iter().map(|id| {
                        let id2 = id.clone();
                        let on = { let cb = p.on_enable_rule.clone(); Callback::from(move |_: MouseEvent| cb.emit(id2.clone())) };
                        html! { <button class="enable-rule" onclick={on} disabled={p.busy}>{ format!("{id} (switch on)") }</button> }
                    }) }
                </p>
            }
            if !skipped.is_empty() {
                <details id="rules-skipped">
                    <summary>{ format!("{} rule(s) skipped, each with its reason", skipped.len()) }</summary>
                    <table class="skipped">
                        <thead><tr><th scope="col">{ "Source" }</th><th scope="col">{ "Rule" }</th><th scope="col">{ "Why" }</th></tr></thead>
                        <tbody>
                        { for skipped.iter().map(|s| html! {
                            <tr data-kind={format!("{:?}", s.kind)}>
                                <td class="path">{ s.source.clone() }</td>
                                <td>{ s.title.clone().unwrap_or_default() }<br/><small>{ s.id.clone().unwrap_or_default() }</small></td>
                                <td>{ s.reason.clone() }</td>
                            </tr>
                        }) }
                        </tbody>
                    </table>
                </details>
            }
        </section>
    }
}
