//! The run summary: totals, time range, computers, findings per analytic,
//! coverage, and each file's status and problems.

use super::{group, human_bytes};
use crate::state::Scan;
use evtx_triage::report::FileReport;
use yew::prelude::*;

pub fn view(scan: &Scan) -> Html {
    let Some(report) = &scan.report else { return html! {} };
    let t = &report.totals;
    let per_analytic = findings_per_analytic(report);
    let seconds = (scan.finished_ms - scan.started_ms) / 1000.0;
    html! {
        <section id="summary" aria-labelledby="summary-title">
            <h2 id="summary-title">{ "Summary" }</h2>
            if scan.cancelled {
                <p class="notice">{ "Scan cancelled: these are the results of the part read before Cancel." }</p>
            }
            <dl class="totals">
                <dt>{ "Files" }</dt><dd>{ report.files.len() }</dd>
                <dt>{ "Records" }</dt><dd>{ group(t.records) }</dd>
                <dt>{ "Time range" }</dt>
                <dd>{ match (&t.first_time, &t.last_time) { (Some(a), Some(b)) => format!("{a} – {b}"), _ => "–".into() } }</dd>
                <dt>{ "Computers" }</dt><dd>{ if t.computers.is_empty() { "–".to_string() } else { t.computers.join(", ") } }</dd>
                <dt>{ "Scan time" }</dt><dd>{ format!("{seconds:.2} s for {}", human_bytes(scan.bytes_total())) }</dd>
            </dl>
            <h3>{ "Findings per analytic" }</h3>
            <ul class="per-analytic">
                { for per_analytic.listed.iter().map(|(id, title, n)| html! {
                    <li data-analytic={id.clone()}><strong>{ id.clone() }</strong>{ format!(" {title}: {n}") }</li>
                }) }
                if per_analytic.quiet > 0 {
                    <li class="quiet">{ format!("{} more rules: no findings", group(per_analytic.quiet as u64)) }</li>
                }
            </ul>
            <h3>{ "Coverage" }</h3>
            <ul class="coverage">
                { for report.coverage.iter().map(|c| html! {
                    <li class={classes!(match c.could_fire { Some(false) => "cannot-fire", _ => "can-fire" })}>
                        <strong>{ c.analytic_id.clone() }</strong>{ format!(": {}", c.note) }
                    </li>
                }) }
            </ul>
        </section>
    }
}

/// The analytics' finding counts as the summary lists them.
struct PerAnalytic {
    /// (id, title, findings), in the rule set's order.
    listed: Vec<(String, String, usize)>,
    /// Analytics without findings left out of `listed` (a pack's thousands).
    quiet: usize,
}

/// Analytics with no finding are listed one by one only in a small set (the built-ins).
const QUIET_LISTED_MAX: usize = 20;

/// Counted in one pass over the findings: a pass per analytic took 0.8 s of
/// the page's thread per redraw with the SigmaHQ pack (2,846 rules, 187,349 findings).
fn findings_per_analytic(report: &evtx_triage::report::RunReport) -> PerAnalytic {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in &report.findings {
        *counts.entry(&*f.analytic_id).or_default() += 1;
    }
    let list_quiet = report.analytics.len() <= QUIET_LISTED_MAX;
    let mut per = PerAnalytic { listed: Vec::new(), quiet: 0 };
    for a in &report.analytics {
        match counts.get(a.id.as_str()).copied().unwrap_or(0) {
            0 if !list_quiet => per.quiet += 1,
            n => per.listed.push((a.id.clone(), a.title.clone(), n)),
        }
    }
    per
}

/// Every input with its status; skipped inputs too.
pub fn files_view(scan: &Scan) -> Html {
    if scan.files.is_empty() {
        return html! {};
    }
    // Reports come in the order of the inputs analyzed (skipped ones have none).
    let mut reports = scan.report.as_ref().map(|r| r.files.iter());
    html! {
        <section id="files" aria-labelledby="files-title">
            <h2 id="files-title">{ "Files" }</h2>
            <ul class="files">
            { for scan.files.iter().map(|entry| {
                if let Some(reason) = &entry.skipped {
                    return html! {
                        <li class="file-status" data-file={entry.name.clone()} data-status="skipped">
                            <span class="status skipped">{ "skipped" }</span>
                            <span class="name">{ entry.name.clone() }</span>
                            <span class="why">{ reason.clone() }</span>
                        </li>
                    };
                }
                let report = reports.as_mut().and_then(|rs| rs.next());
                match report {
                    None => html! {
                        <li class="file-status" data-file={entry.name.clone()} data-status="pending">
                            <span class="status pending">{ "reading" }</span>
                            <span class="name">{ entry.name.clone() }</span>
                            <span class="why">{ format!("{} of {}", human_bytes(entry.bytes_done.min(entry.size)), human_bytes(entry.size)) }</span>
                        </li>
                    },
                    Some(r) => {
                        let status = r.status.as_str();
                        html! {
                            <li class="file-status" data-file={entry.name.clone()} data-status={status} data-parts={entry.parts().to_string()}
                                data-sha256={r.sha256.clone().unwrap_or_default()}>
                                <span class={classes!("status", status)}>{ status }</span>
                                <span class="name">{ r.file.clone() }</span>
                                if let Some(first) = &r.duplicate_of {
                                    <span class="why">{ format!("the same bytes as {first}: analyzed once, as that file") }</span>
                                } else {
                                    <span class="why">{ format!("{} records, {}, {} findings, {}", group(r.records), r.layout(), r.findings, human_bytes(r.size)) }</span>
                                }
                                <p class="evidence">{ evidence_line(r) }</p>
                                if let Some(e) = &r.error {
                                    <p class="error">{ format!("{}: {e}", r.file) }</p>
                                }
                                if let Some(recovery) = r.recovery.summary() {
                                    <p class="recovery" data-recovered={r.recovery.recovered.to_string()} data-partial={r.recovery.partial.to_string()}>
                                        { format!("Beyond its live records: {recovery}") }
                                    </p>
                                }
                                if !r.notes.is_empty() {
                                    <details class="notes" open=true>
                                        <summary>{ format!("{} integrity note(s): signs that records were removed", r.notes.len()) }</summary>
                                        <ul class="integrity-notes">
                                        { for r.notes.iter().map(|n| html! { <li data-kind={format!("{:?}", n.kind)}>{ n.reason.clone() }</li> }) }
                                        </ul>
                                    </details>
                                }
                                if !r.issues.is_empty() {
                                    <details>
                                        <summary>{ format!("{} problem(s) in this file", r.issues.len()) }</summary>
                                        <ul class="issues">
                                        { for r.issues.iter().take(200).map(|i| html! {
                                            <li>{ format!("{}: {}", i.location(), i.reason) }</li>
                                        }) }
                                        </ul>
                                    </details>
                                }
                            </li>
                        }
                    }
                }
            }) }
            </ul>
        </section>
    }
}

/// What identifies the evidence: its hash, exact size and time span.
fn evidence_line(r: &FileReport) -> String {
    let hash =
        r.sha256.as_deref().map_or("SHA-256 not computed (the file was not read to its end)".to_string(), |h| format!("SHA-256 {h}"));
    let span = match (&r.stats.first_time, &r.stats.last_time) {
        (Some(a), Some(b)) => format!(", records from {a} to {b}"),
        _ => String::new(),
    };
    format!("{hash}, {} bytes{span}", r.size)
}
