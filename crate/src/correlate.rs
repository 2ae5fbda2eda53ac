//! Sigma correlation rules (`event_count`, `value_count`, `temporal`,
//! `temporal_ordered`, and rsigma's `value_*` kinds). A correlation counts
//! the findings of the rules it names, grouped by fields, within a timespan.
//! It runs once over a run's findings in time order, through rsigma's
//! correlation engine, so the workers stay stateless and the CLI and the
//! page give the same hits. Each hit is an incident holding the findings
//! that made it.
//!
//! The rules a correlation names keep their own findings (Sigma leaves
//! `generate: false` to the backend): every event of an incident stays one
//! click away, and those findings carry the correlation's group-by fields
//! in their snippet, which is all a correlation reads of them.

use crate::analytics::Analytic;
use crate::incident::{CorrelationMatch, EventRef, Incident};
use crate::report::Finding;
use crate::rule_load::{SkipKind, SkippedRule};
use rsigma_eval::event::JsonEvent;
use rsigma_eval::{CorrelationConfig, CorrelationEngine, EvaluationResult, ResultBody, TimestampFallback};
use rsigma_parser::{CorrelationCondition, CorrelationRule, SigmaRule};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// Events kept per firing: an incident past this says it is cut.
pub const MAX_CORRELATION_EVENTS: usize = 10_000;

/// A correlation rule as read from its file, not yet resolved.
#[derive(Debug, Clone)]
pub struct CorrelationDef {
    pub source: String,
    pub rule: CorrelationRule,
}

impl CorrelationDef {
    pub fn new(source: &str, mut rule: CorrelationRule) -> Self {
        all_rules_by_default(&mut rule);
        CorrelationDef { source: source.to_string(), rule }
    }

    /// How it is known: its id, else its name, else its title.
    pub fn key(&self) -> String {
        self.rule.id.clone().or_else(|| self.rule.name.clone()).unwrap_or_else(|| self.rule.title.clone())
    }

    fn is_named(&self, reference: &str) -> bool {
        self.rule.id.as_deref() == Some(reference) || self.rule.name.as_deref() == Some(reference)
    }
}

/// A rule a correlation counts: its copy for the engine (so the rule set
/// need not keep every rule's parsed text), its id set to the one its findings are fed under.
#[derive(Debug)]
struct Counted {
    title: String,
    rule: SigmaRule,
}

/// The correlations of a rule set, resolved against its analytics.
#[derive(Debug, Default)]
pub struct Correlations {
    defs: Vec<CorrelationDef>,
    /// Analytic index -> the rule whose findings are fed to the engine.
    counted: HashMap<usize, Counted>,
    /// Analytic index -> the fields its findings must carry for the correlations.
    fields: HashMap<usize, Vec<String>>,
}

impl Correlations {
    /// Keeps each correlation whose rules are all loaded (analytics or other
    /// correlations) and that the engine compiles; the rest are skipped with why.
    pub fn resolve(mut defs: Vec<CorrelationDef>, analytics: &[Analytic]) -> (Self, Vec<SkippedRule>) {
        let mut skipped = Vec::new();
        let analytic_named =
            |r: &str| analytics.iter().position(|a| a.rule.id.as_deref() == Some(r) || a.rule.name.as_deref() == Some(r) || a.info.id == r);
        // A correlation of a skipped correlation is skipped too: until nothing changes.
        loop {
            let missing = defs
                .iter()
                .position(|d| d.rule.rules.iter().any(|r| analytic_named(r).is_none() && !defs.iter().any(|other| other.is_named(r))));
            let Some(at) = missing else { break };
            let d = defs.remove(at);
            let absent: Vec<&str> = d
                .rule
                .rules
                .iter()
                .filter(|r| analytic_named(r).is_none() && !defs.iter().any(|o| o.is_named(r)))
                .map(String::as_str)
                .collect();
            skipped.push(skip(&d, SkipKind::MissingRule, format!("it counts rule(s) not loaded: {}", absent.join(", "))));
        }
        let mut set = Correlations::default();
        for d in defs {
            if let Err(e) = CorrelationEngine::new(CorrelationConfig::default()).add_correlation(&d.rule) {
                skipped.push(skip(&d, SkipKind::Unsupported, format!("the engine cannot run it: {e}")));
                continue;
            }
            for r in &d.rule.rules {
                let Some(a) = analytic_named(r) else { continue };
                let analytic = &analytics[a];
                set.counted.entry(a).or_insert_with(|| {
                    let mut rule = analytic.rule.clone();
                    rule.id = Some(rule.id.take().unwrap_or_else(|| analytic.info.id.clone()));
                    Counted { title: analytic.info.title.clone(), rule }
                });
                let fields = set.fields.entry(a).or_default();
                for f in fields_read(&d.rule) {
                    if !fields.contains(&f) {
                        fields.push(f);
                    }
                }
            }
            set.defs.push(d);
        }
        (set, skipped)
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn rules(&self) -> impl Iterator<Item = &CorrelationRule> {
        self.defs.iter().map(|d| &d.rule)
    }

    /// Whether some correlation counts the findings of this analytic.
    pub fn counts(&self, analytic: usize) -> bool {
        self.counted.contains_key(&analytic)
    }

    /// The fields a counted analytic's findings carry for the correlations.
    pub fn fields_for(&self, analytic: usize) -> &[String] {
        self.fields.get(&analytic).map_or(&[], Vec::as_slice)
    }

    /// Runs every correlation over the findings (any order): one incident per
    /// (correlation, group) and run of overlapping firings, in time order.
    /// `analytic_of` gives a finding's analytic index.
    pub fn run(&self, findings: &[Finding], analytic_of: impl Fn(&Finding) -> Option<usize>) -> Vec<Incident> {
        if self.defs.is_empty() {
            return Vec::new();
        }
        let mut engine = self.engine();
        let mut fed: Vec<(i64, usize, usize)> = Vec::new();
        for (i, f) in findings.iter().enumerate() {
            let Some(a) = analytic_of(f).filter(|a| self.counted.contains_key(a)) else { continue };
            // A finding without a time cannot be placed in a window.
            let Some(t) = f.time_created.as_deref().and_then(crate::scan::iso_to_filetime) else { continue };
            fed.push((t as i64, i, a));
        }
        // Time order; ties by file and record, so every run feeds the same order.
        fed.sort_by(|x, y| {
            (x.0, &findings[x.1].file, findings[x.1].event_record_id).cmp(&(y.0, &findings[y.1].file, findings[y.1].event_record_id))
        });
        let mut firings = Firings::default();
        for (filetime, i, a) in fed {
            let event = self.event_of(i, &findings[i], a);
            let detection = detection_of(&self.counted[&a]);
            let seconds = filetime / 10_000_000 - 11_644_473_600;
            for result in engine.process_with_detections(&JsonEvent::borrow(&event), vec![detection], seconds) {
                firings.add(&self.defs, result, seconds);
            }
        }
        firings.into_incidents(&self.defs, findings)
    }

    /// An engine holding the counted rules (so it knows their ids and names) and every correlation.
    fn engine(&self) -> CorrelationEngine {
        let config = CorrelationConfig {
            timestamp_fallback: TimestampFallback::Skip,
            correlation_event_mode: rsigma_eval::CorrelationEventMode::Refs,
            max_correlation_events: MAX_CORRELATION_EVENTS,
            ..Default::default()
        };
        let mut engine = CorrelationEngine::new(config);
        let mut counted: Vec<(&usize, &Counted)> = self.counted.iter().collect();
        counted.sort_by_key(|(a, _)| **a);
        for (_, c) in counted {
            // It compiled in the rule set already; this only registers its id and name.
            let _ = engine.add_rule(&c.rule);
        }
        for d in &self.defs {
            let _ = engine.add_correlation(&d.rule);
        }
        engine
    }

    /// What the engine reads of a finding: its index (to name the events of a
    /// firing) and the fields the correlations group and count by.
    fn event_of(&self, index: usize, f: &Finding, analytic: usize) -> Value {
        let mut event = Map::new();
        event.insert("id".into(), Value::String(index.to_string()));
        for field in self.fields_for(analytic) {
            if let Some(v) = field_of(f, field) {
                event.insert(field.clone(), v);
            }
        }
        Value::Object(event)
    }
}

/// A temporal correlation without a condition needs every rule it names
/// (Sigma's specification, and pySigma). rsigma-parser 0.23 makes that
/// `gte: 1`, any one rule, which would fire on every single finding; an
/// explicit `gte: 1` would mean the same nonsense, so it is read alike.
fn all_rules_by_default(rule: &mut CorrelationRule) {
    use rsigma_parser::{ConditionOperator, CorrelationType};
    if !matches!(rule.correlation_type, CorrelationType::Temporal | CorrelationType::TemporalOrdered) {
        return;
    }
    if let CorrelationCondition::Threshold { predicates, field: None, .. } = &mut rule.condition {
        if predicates.as_slice() == [(ConditionOperator::Gte, 1)] {
            predicates[0].1 = rule.rules.len() as u64;
        }
    }
}

fn skip(d: &CorrelationDef, kind: SkipKind, reason: String) -> SkippedRule {
    SkippedRule { source: d.source.clone(), id: Some(d.key()), title: Some(d.rule.title.clone()), kind, reason }
}

/// The fields a correlation reads: group-by, the fields its aliases stand for, and value fields.
fn fields_read(c: &CorrelationRule) -> Vec<String> {
    let aliases: Vec<&str> = c.aliases.iter().map(|a| a.alias.as_str()).collect();
    let mut out: Vec<String> = c.group_by.iter().filter(|g| !aliases.contains(&g.as_str())).cloned().collect();
    for alias in &c.aliases {
        let mut mapped: Vec<&String> = alias.mapping.values().collect();
        mapped.sort();
        out.extend(mapped.into_iter().cloned());
    }
    if let CorrelationCondition::Threshold { field: Some(fields), .. } = &c.condition {
        out.extend(fields.iter().cloned());
    }
    out
}

/// A field of a finding: matched, in its snippet, or one of its System fields (any case).
fn field_of(f: &Finding, name: &str) -> Option<Value> {
    let same = |k: &str| k.eq_ignore_ascii_case(name);
    if let Some(m) = f.matched.iter().find(|m| same(&m.field)) {
        return Some(m.value.json());
    }
    if let Some((_, v)) = f.snippet.fields().into_iter().find(|(k, _)| same(k)) {
        return Some(v);
    }
    let system = [
        ("Computer", f.computer.as_deref().map(Value::from)),
        ("Channel", f.channel.as_deref().map(Value::from)),
        ("EventID", f.event_id.map(Value::from)),
    ];
    system.into_iter().find(|(k, _)| same(k)).and_then(|(_, v)| v)
}

/// A finding as the detection result the engine would have made of it.
fn detection_of(counted: &Counted) -> EvaluationResult {
    EvaluationResult {
        header: rsigma_eval::RuleHeader {
            rule_title: counted.title.clone(),
            rule_id: counted.rule.id.clone(),
            level: counted.rule.level,
            tags: Vec::new(),
            custom_attributes: Default::default(),
            enrichments: None,
        },
        body: ResultBody::Detection(rsigma_eval::DetectionBody { matched_selections: Vec::new(), matched_fields: Vec::new(), event: None }),
    }
}

/// Firings merged while they overlap: one open run per (correlation, group).
#[derive(Default)]
struct Firings {
    runs: Vec<Run>,
    open: HashMap<(usize, Vec<(String, String)>), usize>,
}

struct Run {
    correlation: usize,
    group: Vec<(String, String)>,
    value: f64,
    fired: u64,
    first: i64,
    last: i64,
    findings: BTreeSet<usize>,
    cut: bool,
}

impl Firings {
    fn add(&mut self, defs: &[CorrelationDef], result: EvaluationResult, seconds: i64) {
        let ResultBody::Correlation(body) = result.body else { return };
        let Some(correlation) = defs.iter().position(|d| {
            result.header.rule_id.as_deref().map_or(d.rule.id.is_none() && d.rule.title == result.header.rule_title, |id| d.is_named(id))
        }) else {
            return;
        };
        let refs: Vec<usize> = body.event_refs.iter().flatten().filter_map(|r| r.id.as_deref().and_then(|id| id.parse().ok())).collect();
        let cut = refs.len() >= MAX_CORRELATION_EVENTS;
        let key = (correlation, body.group_key.clone());
        // Overlapping firings of one group are one incident: 7 failed logons
        // within the timespan are one story, not three alerts (5th, 6th, 7th).
        let span = body.timespan_secs as i64;
        if let Some(&at) = self.open.get(&key) {
            let run = &mut self.runs[at];
            if seconds - run.last <= span {
                run.value = run.value.max(body.aggregated_value);
                run.fired += 1;
                run.last = seconds;
                run.findings.extend(refs);
                run.cut |= cut;
                return;
            }
        }
        self.open.insert(key, self.runs.len());
        self.runs.push(Run {
            correlation,
            group: body.group_key,
            value: body.aggregated_value,
            fired: 1,
            first: seconds,
            last: seconds,
            findings: refs.into_iter().collect(),
            cut,
        });
    }

    fn into_incidents(self, defs: &[CorrelationDef], findings: &[Finding]) -> Vec<Incident> {
        self.runs.into_iter().map(|run| incident_of(&defs[run.correlation], run, findings)).collect()
    }
}

fn incident_of(def: &CorrelationDef, run: Run, findings: &[Finding]) -> Incident {
    let mut members: Vec<usize> = run.findings.into_iter().collect();
    members.sort_by(|&a, &b| {
        (&findings[a].time_created, &findings[a].file, findings[a].event_record_id).cmp(&(
            &findings[b].time_created,
            &findings[b].file,
            findings[b].event_record_id,
        ))
    });
    let computers: BTreeSet<&str> = members.iter().filter_map(|&i| findings[i].computer.as_deref()).collect();
    let computer = match computers.len() {
        1 => computers.into_iter().next().map(str::to_string),
        _ => None,
    };
    let rule = &def.rule;
    let matched = CorrelationMatch {
        rule_id: rule.id.clone(),
        title: rule.title.clone(),
        level: rule.level.map(|l| l.as_str().to_string()),
        kind: rule.correlation_type.as_str().to_string(),
        group: run.group.clone(),
        value: run.value,
        timespan_secs: rule.timespan.seconds,
        first_fired: seconds_to_iso(run.first),
        last_fired: seconds_to_iso(run.last),
        fired: run.fired,
    };
    let events: Vec<EventRef> = members
        .iter()
        .map(|&i| {
            let f = &findings[i];
            EventRef {
                file: f.file.to_string(),
                event_record_id: f.event_record_id,
                event_id: f.event_id,
                time_created: f.time_created.clone(),
            }
        })
        .collect();
    Incident {
        computer,
        process_guid: None,
        process_id: None,
        image: None,
        summary: summary(rule, &matched, &members, findings),
        findings: members,
        events,
        ancestors: Vec::new(),
        truncated: run.cut,
        correlation: Some(matched),
    }
}

/// "Many failed logons (event_count 7, gte 5 within 300 s) for TargetUserName=bob: 7 events of
/// Failed logon from 10:00:01 to 10:01:40".
fn summary(rule: &CorrelationRule, m: &CorrelationMatch, members: &[usize], findings: &[Finding]) -> String {
    let condition = match &rule.condition {
        CorrelationCondition::Threshold { predicates, .. } => {
            predicates.iter().map(|(op, n)| format!("{} {n}", format!("{op:?}").to_lowercase())).collect::<Vec<_>>().join(" and ")
        }
        CorrelationCondition::Extended(expr) => expr.to_string(),
    };
    let group = if m.group.is_empty() {
        String::new()
    } else {
        format!(" for {}", m.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
    };
    let mut titles: Vec<&str> = members.iter().map(|&i| &*findings[i].analytic_title).collect();
    titles.sort_unstable();
    titles.dedup();
    let time = |i: Option<&usize>| i.and_then(|&i| findings[i].time_created.as_deref()).map(clock).unwrap_or_default();
    format!(
        "{} ({} {}, {condition} within {} s){group}: {} event(s) of {} from {} to {}",
        m.title,
        m.kind,
        m.value,
        m.timespan_secs,
        members.len(),
        titles.join(", "),
        time(members.first()),
        time(members.last())
    )
}

/// "2024-05-06T07:00:01.0001001Z" -> "07:00:01".
fn clock(iso: &str) -> String {
    iso.split_once('T').map(|(_, t)| t.chars().take(8).collect()).unwrap_or_else(|| iso.to_string())
}

fn seconds_to_iso(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_default()
}
