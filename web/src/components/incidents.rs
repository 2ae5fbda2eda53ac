//! The incidents of a run: one row per acting process, its summary, its
//! findings; a row opens its first finding, with the story.

use evtx_triage::incident::Incident;
use evtx_triage::report::Finding;
use evtx_triage::story::base_name;
use yew::prelude::*;

pub fn table(incidents: &[Incident], findings: &[&Finding], on_open: Callback<usize>) -> Html {
    let without: usize = findings.len() - incidents.iter().map(|i| i.findings.len()).sum::<usize>();
    html! {
        <section id="incidents" aria-labelledby="incidents-title">
            <h3 id="incidents-title">{ format!("{} incident(s): the findings of one process on one computer", incidents.len()) }</h3>
            if without > 0 {
                <p class="note">{ format!("{without} finding(s) name no acting process and are in no incident.") }</p>
            }
            <table class="incidents">
                <thead><tr><th scope="col">{ "Computer" }</th><th scope="col">{ "Process" }</th><th scope="col">{ "Findings" }</th>
                    <th scope="col">{ "Events" }</th><th scope="col">{ "What happened" }</th><th scope="col">{ "Story" }</th></tr></thead>
                <tbody>
                { for incidents.iter().enumerate().map(|(n, inc)| {
                    let first = inc.findings[0];
                    let open = {
                        let on_open = on_open.clone();
                        Callback::from(move |_: MouseEvent| on_open.emit(first))
                    };
                    let process = format!("{}{}", inc.image.as_deref().map(base_name).unwrap_or("?"),
                        inc.process_id.map(|p| format!(" (PID {p})")).unwrap_or_default());
                    html! {
                        <tr class="incident" data-findings={inc.findings.len().to_string()}>
                            <td>{ inc.computer.clone().unwrap_or_default() }</td>
                            <td class="value">{ process }</td>
                            <td>{ inc.findings.len().to_string() }</td>
                            <td>{ format!("{}{}", inc.events.len(), if inc.truncated { "+" } else { "" }) }</td>
                            <td class="value summary">{ inc.summary.clone() }</td>
                            <td><button id={format!("incident-{n}")} class="open-incident" onclick={open}
                                aria-label={format!("Open the story of incident {}", n + 1)}>{ "Open" }</button></td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </section>
    }
}
