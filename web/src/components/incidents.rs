//! The incidents of a run: one row per acting process, its summary, its
//! findings; a row opens its first finding, with the story.

use evtx_triage::incident::Incident;
use evtx_triage::report::Finding;
use evtx_triage::timeline::TimeRange;
use yew::prelude::*;

/// The incidents with an event in the timeline's range (all without one);
/// rows keep their number in the run, so `#incident-N` names one incident.
pub fn table(incidents: &[Incident], findings: &[&Finding], range: TimeRange, on_open: Callback<usize>) -> Html {
    let in_range = |i: &Incident| range.is_all() || i.events.iter().any(|e| range.admits(e.time_created.as_deref()));
    let shown = incidents.iter().filter(|i| in_range(i)).count();
    let title = if shown == incidents.len() {
        format!("{} incident(s): the findings of one process on one computer, and the hits of correlation rules", incidents.len())
    } else {
        format!("{shown} of {} incident(s) with an event in the timeline's range", incidents.len())
    };
    // A finding is in one process incident at most, and may also be in correlations.
    let in_process: usize = incidents.iter().filter(|i| i.correlation.is_none()).map(|i| i.findings.len()).sum();
    let without = findings.len().saturating_sub(in_process);
    html! {
        <section id="incidents" aria-labelledby="incidents-title">
            <h3 id="incidents-title">{ title }</h3>
            if without > 0 {
                <p class="note">{ format!("{without} finding(s) name no acting process and are in no incident.") }</p>
            }
            <table class="incidents">
                <thead><tr><th scope="col">{ "Computer" }</th><th scope="col">{ "Process or rule" }</th><th scope="col">{ "Findings" }</th>
                    <th scope="col">{ "Events" }</th><th scope="col">{ "What happened" }</th><th scope="col">{ "Story" }</th></tr></thead>
                <tbody>
                { for incidents.iter().enumerate().filter(|(_, inc)| in_range(inc)).map(|(n, inc)| {
                    let first = inc.findings.first().copied();
                    let open = {
                        let on_open = on_open.clone();
                        Callback::from(move |_: MouseEvent| if let Some(f) = first { on_open.emit(f) })
                    };
                    // A correlation hit: its rule stands where a process would.
                    let process = inc.subject();
                    let kind = if inc.correlation.is_some() { "correlation" } else { "process" };
                    let label = match kind {
                        "correlation" => format!("Open the first event of incident {}", n + 1),
                        _ => format!("Open the story of incident {}", n + 1),
                    };
                    html! {
                        <tr class="incident" data-kind={kind} data-findings={inc.findings.len().to_string()}>
                            <td>{ inc.computer.clone().unwrap_or_default() }</td>
                            <td class="value">{ process }</td>
                            <td>{ inc.findings.len().to_string() }</td>
                            <td>{ format!("{}{}", inc.events.len(), if inc.truncated { "+" } else { "" }) }</td>
                            <td class="value summary">{ inc.summary.clone() }</td>
                            <td><button id={format!("incident-{n}")} class="open-incident" onclick={open} disabled={first.is_none()}
                                aria-label={label}>{ "Open" }</button></td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </section>
    }
}
