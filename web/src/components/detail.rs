//! One finding in full: ATT&CK and D3FEND, CAR's texts and implementations,
//! why it matched, the snippet and the whole event. Everything from the
//! event is rendered as text; the only links are built from known ids.

use evtx_triage::analytics::{AnalyticInfo, AttackMapping};
use evtx_triage::event::scalar_text;
use evtx_triage::report::Finding;
use yew::prelude::*;

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
    let keydown = {
        let cb = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                cb.emit(())
            }
        })
    };
    let matched_names: Vec<&str> = f.matched.iter().map(|m| m.field.as_str()).collect();
    let snippet_rows: Vec<(String, String, bool)> = f
        .snippet
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), scalar_text(v).unwrap_or_default(), matched_names.contains(&k.as_str()))).collect())
        .unwrap_or_default();
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
            <section>
                <h3>{ "Why it matched" }</h3>
                <table class="kv matched">
                    <thead><tr><th>{ "Field" }</th><th>{ "Value" }</th><th>{ "Rule pattern" }</th></tr></thead>
                    <tbody>
                    { for f.matched.iter().map(|m| html! {
                        <tr class="hit"><td>{ m.field.clone() }</td><td class="value">{ scalar_text(&m.value).unwrap_or_default() }</td>
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
        </div>
        </div>
    }
}
