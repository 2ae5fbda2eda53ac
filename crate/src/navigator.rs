//! The ATT&CK techniques a run hit, as an ATT&CK Navigator layer (format
//! 4.5, domain `enterprise-attack`): score = findings, comment = the rules
//! that found them. Teams load it in Navigator to map what a case showed.

use crate::intern::SharedText;
use crate::report::{Finding, RunReport};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Findings per (technique id, tactic shortname or none), and per rule in each.
#[derive(Default)]
struct Cell {
    score: u64,
    rules: BTreeMap<SharedText, (SharedText, u64)>,
}

/// The layer of the run's findings.
pub fn layer(report: &RunReport) -> Value {
    let mut builder = LayerBuilder::default();
    report.findings.iter().for_each(|f| builder.add(f));
    builder.finish(report)
}

/// A layer built from findings as they stream by (output that does not keep them).
#[derive(Default)]
pub struct LayerBuilder {
    cells: BTreeMap<(String, Option<String>), Cell>,
    findings: u64,
}

impl LayerBuilder {
    pub fn add(&mut self, f: &Finding) {
        self.findings += 1;
        for (technique, tactic) in technique_cells(f) {
            let cell = self.cells.entry((technique, tactic)).or_default();
            cell.score += 1;
            cell.rules.entry(f.analytic_id.clone()).or_insert_with(|| (f.analytic_title.clone(), 0)).1 += 1;
        }
    }

    /// The layer, with the run's files and tool named (`report`'s findings are not read again).
    pub fn finish(self, report: &RunReport) -> Value {
        let LayerBuilder { cells, findings } = self;
        let max = cells.values().map(|c| c.score).max().unwrap_or(1);
        let techniques: Vec<Value> = cells
            .into_iter()
            .map(|((technique, tactic), cell)| {
                let comment =
                    cell.rules.iter().map(|(id, (title, n))| format!("{id} ({title}): {n} finding(s)")).collect::<Vec<_>>().join("; ");
                let mut t = json!({ "techniqueID": technique, "score": cell.score, "comment": comment, "enabled": true });
                if let Some(tactic) = tactic {
                    t["tactic"] = json!(tactic);
                }
                t
            })
            .collect();
        let files: Vec<&str> = report.files.iter().map(|f| f.file.as_str()).collect();
        json!({
            "name": "EVTX Triage findings",
            "versions": { "attack": crate::attack::MAJOR_VERSION, "navigator": "4.5", "layer": "4.5" },
            "domain": "enterprise-attack",
            "description": format!("{findings} finding(s) over {} file(s), by {}: score = findings, comment = rules", files.len(), report.tool),
            "sorting": 3,
            "hideDisabled": false,
            "techniques": techniques,
            "gradient": { "colors": ["#fff3e0", "#e65100"], "minValue": 0, "maxValue": max },
            "legendItems": [],
            "metadata": [ { "name": "tool", "value": report.tool }, { "name": "files", "value": files.join(", ") } ],
            "showTacticRowBackground": false,
            "selectTechniquesAcrossTactics": false,
            "selectSubtechniquesWithParent": false
        })
    }
}

/// The (technique, tactic) cells of a finding: each technique id it carries,
/// under each of its tactics that ATT&CK lists for that technique (or under
/// all of them, no tactic named, when it carries none of them).
fn technique_cells(f: &Finding) -> Vec<(String, Option<String>)> {
    let tactics: Vec<crate::attack::Tactic> = f.attack.iter().filter_map(|id| crate::attack::tactic(id)).collect();
    let mut out = Vec::new();
    for id in f.attack.iter().filter(|id| id.starts_with('T') && !id.starts_with("TA")) {
        let known = crate::attack::technique(id);
        let of_technique: Vec<String> = known
            .iter()
            .flat_map(|t| t.tactics.iter())
            .filter(|t| tactics.iter().any(|own| own.id == t.id))
            .map(|t| t.shortname.clone())
            .collect();
        if of_technique.is_empty() {
            out.push((id.clone(), None));
        } else {
            out.extend(of_technique.into_iter().map(|t| (id.clone(), Some(t))));
        }
    }
    out
}
