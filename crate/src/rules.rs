//! The rule set: analytics compiled into the rsigma engine, evaluated on
//! event views, with the fields that made each rule match.

use crate::analytics::{builtin_analytics, Analytic, AnalyticInfo, RuleLoadError};
use crate::event::EventView;
use crate::prefilter::Prefilter;
use rsigma_eval::event::JsonEvent;
use rsigma_eval::{Engine, MatchDetailLevel};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One field that made a rule match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedField {
    pub field: String,
    pub value: Value,
    /// The Sigma selection the field belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<String>,
    /// The pattern it was tested against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// A rule that matched one event.
#[derive(Debug, Clone)]
pub struct RuleHit {
    /// Index into [`RuleSet::analytics`].
    pub analytic: usize,
    pub matched: Vec<MatchedField>,
}

/// Compiled analytics, ready to evaluate events.
pub struct RuleSet {
    analytics: Vec<Analytic>,
    engine: Engine,
    prefilter: Prefilter,
    /// Read System fields from template values when no rule needs the record.
    quick_stats: bool,
}

impl RuleSet {
    /// The built-in analytics only.
    pub fn builtin() -> Self {
        Self::new(builtin_analytics()).expect("built-in analytics compile")
    }

    /// Compiles the given analytics. A rule the engine refuses is reported by its source.
    pub fn new(analytics: Vec<Analytic>) -> Result<Self, RuleLoadError> {
        let mut engine = Engine::new();
        engine.set_match_detail(MatchDetailLevel::Full);
        for a in &analytics {
            engine.add_rule(&a.rule).map_err(|e| RuleLoadError {
                file: a.info.source.clone(),
                reason: format!("rule {:?} does not compile: {e}", a.info.title),
            })?;
        }
        let prefilter = Prefilter::for_rules(analytics.iter().map(|a| &a.rule));
        Ok(RuleSet { analytics, engine, prefilter, quick_stats: true })
    }

    /// The same rules with every shortcut off: every record is rendered and
    /// evaluated. Results must equal those with shortcuts (tests check it).
    pub fn exhaustive(mut self) -> Self {
        self.prefilter = Prefilter::disabled();
        self.quick_stats = false;
        self
    }

    pub fn quick_stats(&self) -> bool {
        self.quick_stats
    }

    /// The built-ins plus extra analytics; ids must stay unique.
    pub fn with_extra(extra: Vec<Analytic>) -> Result<Self, RuleLoadError> {
        let mut all = builtin_analytics();
        for a in extra {
            if all.iter().any(|b| b.info.id == a.info.id) {
                return Err(RuleLoadError {
                    file: a.info.source.clone(),
                    reason: format!("rule id {:?} is already loaded", a.info.id),
                });
            }
            all.push(a);
        }
        Self::new(all)
    }

    pub fn analytics(&self) -> impl Iterator<Item = &AnalyticInfo> {
        self.analytics.iter().map(|a| &a.info)
    }

    pub fn analytic(&self, index: usize) -> &AnalyticInfo {
        &self.analytics[index].info
    }

    pub fn len(&self) -> usize {
        self.analytics.len()
    }

    pub fn is_empty(&self) -> bool {
        self.analytics.is_empty()
    }

    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    /// Every rule that matches the event, in analytic order.
    pub fn evaluate(&self, view: &EventView) -> Vec<RuleHit> {
        let event = JsonEvent::borrow(&view.fields);
        let mut hits: Vec<RuleHit> = self
            .engine
            .evaluate(&event)
            .into_iter()
            .filter_map(|result| {
                let id = result.header.rule_id.as_deref()?;
                let analytic = self.analytics.iter().position(|a| a.rule.id.as_deref() == Some(id))?;
                let matched = match result.body {
                    rsigma_eval::ResultBody::Detection(d) => d
                        .matched_fields
                        .into_iter()
                        .map(|m| MatchedField { field: m.field, value: m.value, selection: m.selection, pattern: m.pattern })
                        .collect(),
                    _ => Vec::new(),
                };
                Some(RuleHit { analytic, matched })
            })
            .collect();
        hits.sort_by_key(|h| h.analytic);
        hits
    }

    /// The field names a rule looks at, in the order its detection names them.
    pub fn rule_fields(&self, index: usize) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let rule = &self.analytics[index].rule;
        let mut names: Vec<_> = rule.detection.named.keys().collect();
        names.sort();
        for name in names {
            collect_fields(&rule.detection.named[name], &mut out);
        }
        out
    }
}

fn collect_fields(d: &rsigma_parser::Detection, out: &mut Vec<String>) {
    use rsigma_parser::Detection::*;
    match d {
        AllOf(items) => {
            for i in items {
                if let Some(n) = &i.field.name {
                    if !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
        }
        AnyOf(ds) | And(ds) => ds.iter().for_each(|d| collect_fields(d, out)),
        ArrayMatch { field, .. } => {
            if !out.contains(field) {
                out.push(field.clone());
            }
        }
        Conditional { named, .. } => named.values().for_each(|d| collect_fields(d, out)),
        Keywords(_) => {}
    }
}

/// The event type a rule is limited to: a channel and EventIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTypes {
    pub channel: Option<String>,
    pub event_ids: Vec<u64>,
}

impl RuleSet {
    /// The EventIDs (and channel) every match of the rule must have, when its
    /// detection says so plainly; used to tell whether it could fire at all.
    pub fn required_event_types(&self, index: usize) -> Option<EventTypes> {
        let rule = &self.analytics[index].rule;
        let [cond] = rule.detection.conditions.as_slice() else { return None };
        event_types_of(cond, rule)
    }
}

fn event_types_of(cond: &rsigma_parser::ConditionExpr, rule: &rsigma_parser::SigmaRule) -> Option<EventTypes> {
    use rsigma_parser::{ConditionExpr, Detection, SigmaValue};
    match cond {
        ConditionExpr::Identifier(name) => {
            let Detection::AllOf(items) = rule.detection.named.get(name)? else { return None };
            let plain = |field: &str| items.iter().find(|i| i.field.name.as_deref() == Some(field) && i.field.modifiers.is_empty());
            let ids: Vec<u64> = plain("EventID")?
                .values
                .iter()
                .map(|v| match v {
                    SigmaValue::Integer(n) => u64::try_from(*n).ok(),
                    SigmaValue::String(s) => s.original.trim().parse().ok(),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let channel = plain("Channel").and_then(|i| match i.values.as_slice() {
                [SigmaValue::String(s)] if !s.original.contains(['*', '?']) => Some(s.original.clone()),
                _ => None,
            });
            Some(EventTypes { channel, event_ids: ids })
        }
        ConditionExpr::And(parts) => parts.iter().find_map(|p| event_types_of(p, rule)),
        _ => None,
    }
}
