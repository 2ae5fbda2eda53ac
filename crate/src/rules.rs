//! The rule set: analytics compiled into the rsigma engine, each limited to
//! the records of its logsource, evaluated on event views, with the fields
//! that made each rule match.

use crate::analytics::{builtin_analytics, Analytic, AnalyticInfo, RuleLoadError};
use crate::correlate::{CorrelationDef, Correlations};
use crate::event::EventView;
use crate::intern::SharedText;
use crate::logsource::Scope;
pub use crate::matched_value::MatchedValue;
use crate::prefilter::Prefilter;
use crate::rule_load::{parse_texts, LoadOptions, LoadReport, SkipKind, SkippedRule};
use crate::rule_source::RuleTexts;
use rsigma_eval::event::JsonEvent;
use rsigma_eval::{CompiledRule, Engine, MatchDetailLevel};
use rsigma_parser::{ConditionExpr, Quantifier};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One field that made a rule match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedField {
    pub field: SharedText,
    pub value: MatchedValue,
    /// The Sigma selection the field belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SharedText>,
    /// The pattern it was tested against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<SharedText>,
}

/// A rule that matched one event.
#[derive(Debug, Clone)]
pub struct RuleHit {
    /// Index into [`RuleSet::analytics`].
    pub analytic: usize,
    pub matched: Vec<MatchedField>,
}

/// What is known of a rule set without running it: each analytic's
/// metadata and logsource, the load report, the user's rule files, the
/// correlations and the prefilter's literals. The page's thread keeps only
/// this (its workers run the rules): the compiled SigmaHQ pack holds 80 MiB
/// of heap (`load_memory all`), its catalog a tenth of that.
#[derive(Debug, Default)]
pub struct RuleCatalog {
    infos: Vec<AnalyticInfo>,
    scopes: Vec<Scope>,
    report: LoadReport,
    /// The user's rule files with their SHA-256, loaded or not (reports name the rule set by them).
    rule_files: Vec<RuleFile>,
    /// Sigma correlation rules over the analytics' findings (see `correlate`).
    correlations: Correlations,
    prefilter_literals: Vec<String>,
    /// Analytic id -> index (findings name their analytic by id).
    index_of: HashMap<String, usize>,
}

/// The texts of an analytic that each of its findings carries.
#[derive(Debug, Clone)]
pub(crate) struct FindingTexts {
    pub id: SharedText,
    pub title: SharedText,
    pub level: Option<SharedText>,
    /// Technique, sub-technique and tactic ids.
    pub attack: std::sync::Arc<[String]>,
    pub d3fend: std::sync::Arc<[String]>,
}

impl FindingTexts {
    fn of(info: &AnalyticInfo) -> Self {
        let attack: Vec<String> = match &info.attack {
            Some(a) => {
                let m = &a.behaviour;
                let sub = m.subtechnique.iter().map(|s| s.id.clone());
                std::iter::once(m.technique.id.clone()).chain(sub).chain(std::iter::once(m.tactic.id.clone())).collect()
            }
            None => info.techniques.iter().map(|t| t.id.clone()).chain(info.tactics.iter().map(|t| t.id.clone())).collect(),
        };
        FindingTexts {
            id: info.id.as_str().into(),
            title: info.title.as_str().into(),
            level: info.level.as_deref().map(Into::into),
            attack: attack.into(),
            d3fend: info.d3fend.iter().map(|d| d.id.clone()).collect(),
        }
    }
}

/// Compiled analytics, ready to evaluate events; what is known of them
/// besides is its [`RuleCatalog`] (a `RuleSet` derefs to it).
pub struct RuleSet {
    catalog: RuleCatalog,
    /// Per analytic, the texts each of its findings carries, made once:
    /// a finding clones them instead of copying (five allocations fewer per finding).
    finding_texts: Vec<FindingTexts>,
    /// Each analytic compiled, by index (see [`RuleSet::evaluate_where`]),
    /// its selectors spelled out (see [`spell_out_selectors`]).
    compiled: Vec<CompiledRule>,
    /// Per analytic, its conditions as written when spelling them out
    /// changed them: the detail engine runs those, so matched fields stay
    /// those of every selection a selector names.
    written_conditions: Vec<Option<Vec<ConditionExpr>>>,
    /// Per analytic, made on its first hit: an engine of that rule alone,
    /// which tells the fields that matched.
    detail: Vec<OnceLock<Engine>>,
    /// Per analytic, worked out once: the fields it looks at, and its
    /// condition as text (to order matched fields). Per finding, walking
    /// the detection again was the same work every time.
    fields: Vec<Vec<String>>,
    conditions: Vec<String>,
    scopes: ScopeIndex,
    /// The same as bit sets, for rules called up by a record's literals.
    admission: crate::admission::Admission,
    /// The same, of the rules without literals only.
    literal_free: ScopeIndex,
    prefilter: Prefilter,
    /// Read System fields from template values when no rule needs the record.
    quick_stats: bool,
    /// Whether findings carry their acting process and chunks their index
    /// keys, for stories (see [`RuleSet::without_stories`]).
    stories: bool,
    /// Without stories, when every rule reads System fields only: those
    /// fields (see [`RuleSet::system_view_fields`]).
    system_view_fields: Option<Vec<String>>,
    /// Whether findings tell their matched fields (an engine evaluates each hit once more).
    match_detail: bool,
    /// Whether some rule has keywords (values of no field).
    keywords: bool,
}

impl std::ops::Deref for RuleSet {
    type Target = RuleCatalog;

    fn deref(&self) -> &RuleCatalog {
        &self.catalog
    }
}

/// A rule file the user gave, by its source name and the SHA-256 of its text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleFile {
    pub source: String,
    pub sha256: String,
}

impl RuleCatalog {
    /// Rules loaded, and every rule skipped with its reason.
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    pub fn analytics(&self) -> impl Iterator<Item = &AnalyticInfo> {
        self.infos.iter()
    }

    pub fn analytic(&self, index: usize) -> &AnalyticInfo {
        &self.infos[index]
    }

    pub fn scope(&self, index: usize) -> &Scope {
        &self.scopes[index]
    }

    pub fn len(&self) -> usize {
        self.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    pub fn correlations(&self) -> &Correlations {
        &self.correlations
    }

    /// The index of an analytic by its id.
    pub fn analytic_index(&self, id: &str) -> Option<usize> {
        self.index_of.get(id).copied()
    }

    /// Every correlation's hits over these findings, as incidents (see `correlate`).
    pub fn correlate(&self, findings: &[crate::report::Finding]) -> Vec<crate::incident::Incident> {
        self.correlations.run(findings, |f| self.analytic_index(&f.analytic_id))
    }

    pub fn rule_files(&self) -> &[RuleFile] {
        &self.rule_files
    }

    /// The literals the prefilter looks for in a record's bytes.
    pub fn prefilter_literals(&self) -> &[String] {
        &self.prefilter_literals
    }
}

impl RuleSet {
    /// The built-in analytics only.
    pub fn builtin() -> Self {
        Self::new(builtin_analytics()).expect("built-in analytics compile")
    }

    /// Compiles the given analytics; the first rule the engine refuses, or a
    /// duplicate id, fails the whole set (rule files named one by one).
    pub fn new(analytics: Vec<Analytic>) -> Result<Self, RuleLoadError> {
        let (set, skipped) = Self::compile(analytics, Vec::new(), Vec::new());
        match skipped.into_iter().next() {
            Some(s) => Err(RuleLoadError { file: s.source, reason: s.reason }),
            None => Ok(set),
        }
    }

    /// The built-ins plus extra analytics; ids must stay unique.
    pub fn with_extra(extra: Vec<Analytic>) -> Result<Self, RuleLoadError> {
        let mut all = builtin_analytics();
        all.extend(extra);
        Self::new(all)
    }

    /// The built-ins plus every usable rule of a pack: what cannot be used is
    /// in [`RuleSet::load_report`] with its reason, and the rest still loads.
    pub fn load(pack: &RuleTexts, options: &LoadOptions) -> Self {
        let parsed = parse_texts(&pack.texts, &pack.unreadable, options);
        let mut all = builtin_analytics();
        all.extend(parsed.analytics);
        let mut set = Self::compile(all, parsed.skipped, parsed.correlations).0;
        set.catalog.rule_files = pack
            .texts
            .iter()
            .map(|t| RuleFile { source: t.source.clone(), sha256: crate::digest::sha256_hex(t.text.as_bytes()) })
            .collect();
        set
    }

    /// Takes the resolved correlations: the findings of the rules they count
    /// carry the fields they group and count by (in the snippet).
    fn add_correlations(&mut self, (correlations, skipped): (Correlations, Vec<SkippedRule>)) {
        for (a, fields) in self.fields.iter_mut().enumerate() {
            for f in correlations.fields_for(a) {
                if !fields.contains(f) {
                    fields.push(f.clone());
                }
            }
        }
        self.catalog.report.loaded += correlations.len();
        self.catalog.report.skipped.extend(skipped);
        self.catalog.correlations = correlations;
    }

    /// What is known of the rules without running them; the compiled rules are let go.
    pub fn into_catalog(self) -> RuleCatalog {
        self.catalog
    }

    /// Compiles what the engine takes, in order; the first of an id wins.
    /// The correlations are resolved against the analytics kept, whose
    /// parsed rules are then let go (what evaluation needs is compiled).
    fn compile(analytics: Vec<Analytic>, mut skipped: Vec<SkippedRule>, correlations: Vec<CorrelationDef>) -> (Self, Vec<SkippedRule>) {
        let skip = |a: &Analytic, kind: SkipKind, reason: String| SkippedRule {
            source: a.info.source.clone(),
            id: Some(a.info.id.clone()),
            title: Some(a.info.title.clone()),
            kind,
            reason,
        };
        let mut first_source: HashMap<String, String> = HashMap::new();
        let mut unique: Vec<Analytic> = Vec::with_capacity(analytics.len());
        for a in analytics {
            let original_id = a.rule.id.clone().unwrap_or_else(|| a.info.id.clone());
            if let Some(first) = first_source.get(&original_id).or_else(|| first_source.get(&a.info.id)) {
                let reason = format!("rule id {original_id:?} is already loaded from {first}");
                skipped.push(skip(&a, SkipKind::DuplicateId, reason));
                continue;
            }
            first_source.insert(original_id, a.info.source.clone());
            first_source.insert(a.info.id.clone(), a.info.source.clone());
            unique.push(a);
        }
        // Compiled one by one, without rsigma's `Engine`: which rules an
        // event meets is decided here, by logsource and literals, and the
        // engine's own index and the rule IR it keeps would cost time and
        // memory for nothing.
        let mut kept = Vec::with_capacity(unique.len());
        let mut compiled = Vec::with_capacity(unique.len());
        let mut written_conditions = Vec::with_capacity(unique.len());
        for a in unique {
            match rsigma_eval::compile_rule(&a.rule) {
                Ok(mut rule) => {
                    written_conditions.push(spell_out_selectors(&mut rule));
                    compiled.push(rule);
                    kept.push(a);
                }
                Err(e) => skipped.push(skip(&a, SkipKind::Unsupported, format!("the engine cannot run it: {e}"))),
            }
        }
        let scopes = ScopeIndex::of(kept.iter().map(|a| &a.scope).enumerate());
        let admission = crate::admission::Admission::of(kept.iter().map(|a| &a.scope));
        let index_of = kept.iter().enumerate().map(|(i, a)| (a.info.id.clone(), i)).collect();
        let prefilter = Prefilter::for_rules(kept.iter().map(|a| &a.rule));
        let literal_free = ScopeIndex::of(prefilter.literal_free_rules().map(|rule| (rule, &kept[rule].scope)));
        let report = LoadReport { loaded: kept.len(), skipped: skipped.clone() };
        let fields = kept.iter().map(|a| fields_of(&a.rule)).collect();
        let keywords = kept.iter().any(|a| a.rule.detection.named.values().any(has_keywords));
        let conditions =
            kept.iter().map(|a| a.rule.detection.conditions.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" ")).collect();
        let resolved = Correlations::resolve(correlations, &kept);
        let catalog = RuleCatalog {
            prefilter_literals: prefilter.literals().to_vec(),
            scopes: kept.iter().map(|a| a.scope.clone()).collect(),
            infos: kept.into_iter().map(|a| a.info).collect(),
            report,
            rule_files: Vec::new(),
            correlations: Correlations::default(),
            index_of,
        };
        let mut set = RuleSet {
            finding_texts: catalog.infos.iter().map(FindingTexts::of).collect(),
            detail: compiled.iter().map(|_| OnceLock::new()).collect(),
            catalog,
            compiled,
            written_conditions,
            fields,
            conditions,
            scopes,
            admission,
            literal_free,
            prefilter,
            quick_stats: true,
            stories: true,
            system_view_fields: None,
            match_detail: true,
            keywords,
        };
        set.add_correlations(resolved);
        (set, skipped)
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

    /// The same rules for a run whose findings no story reads (a search
    /// writes its hits out and lets them go): no acting process or process
    /// image per finding and no chunk index keys. They were 9 % of `search EventID:1`'s CPU
    /// (GUIDs parsed from every field of 314,411 hits in 1 GiB).
    pub fn without_stories(mut self) -> Self {
        self.stories = false;
        self.system_view_fields = self.fields_if_system_only();
        self
    }

    /// The same rules for a run that never shows why an event matched (a
    /// search writes its hits' events): a hit is not evaluated once more for
    /// its matched fields, and carries no snippet of the rule's other fields.
    /// That second evaluation was 4-5 % of `search EventID:1`'s CPU (1 GiB bench log).
    pub fn without_match_detail(mut self) -> Self {
        self.match_detail = false;
        self
    }

    /// The fields every rule reads, when all of them are System fields (no
    /// keywords, no EventData field): a record's view then needs its System
    /// fields alone, and a run without stories reads no more of a candidate
    /// (see `quick_view::ChunkViews::system_view`). `search EventID:1` on the
    /// 1 GiB bench log spent a quarter of its CPU reading the EventData of its
    /// 314,411 hits, which no hit line shows.
    pub fn system_view_fields(&self) -> Option<&[String]> {
        self.system_view_fields.as_deref()
    }

    fn fields_if_system_only(&self) -> Option<Vec<String>> {
        if self.compiled.is_empty() || self.keywords {
            return None;
        }
        let mut fields: Vec<String> = self.fields.iter().flatten().cloned().collect();
        fields.extend(self.catalog.scopes.iter().flat_map(Scope::condition_fields).map(str::to_string));
        fields.sort();
        fields.dedup();
        fields.iter().all(|f| crate::quick_view::is_system_field(f)).then_some(fields)
    }

    /// The texts a finding of analytic `index` carries.
    pub(crate) fn finding_texts(&self, index: usize) -> &FindingTexts {
        &self.finding_texts[index]
    }

    /// Whether findings tell why they matched: their matched fields and the
    /// rule's other fields (see [`RuleSet::without_match_detail`]).
    pub fn match_detail(&self) -> bool {
        self.match_detail
    }

    pub fn stories(&self) -> bool {
        self.stories
    }

    /// Whether rule `index`'s logsource may admit a record of this channel
    /// and EventID (`None`: not known), as the scan decides it.
    pub fn may_admit(&self, index: usize, channel: Option<&str>, event_id: Option<u64>) -> bool {
        self.admission.admitted(channel, event_id).has(index)
    }

    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    /// Whether some rule may match a record of this channel and EventID
    /// (`None`: not known) whose bytes hold these literals (sorted indexes
    /// into the prefilter's literals). With the prefilter off, every record may.
    pub fn record_may_match(&self, channel: Option<&str>, event_id: Option<u64>, present: &[usize]) -> bool {
        !self.prefilter.is_on() || self.any_candidate(channel, event_id, present, |_| true)
    }

    /// Whether `test` holds for some rule that may match such a record: a
    /// rule without literals of its logsource, or a rule called up by a
    /// literal present whose logsource and literals all fit. Only rules
    /// that some present literal keys are looked at (see `Prefilter::keyed_rules`).
    fn any_candidate(&self, channel: Option<&str>, event_id: Option<u64>, present: &[usize], mut test: impl FnMut(usize) -> bool) -> bool {
        let pf = &self.prefilter;
        if self.literal_free.any_eligible(channel, event_id, |rule| pf.rule_may_match_event(rule, event_id) && test(rule)) {
            return true;
        }
        let admitted = self.admission.admitted(channel, event_id);
        present
            .iter()
            .flat_map(|&l| pf.keyed_rules(l))
            .any(|&rule| admitted.has(rule) && pf.rule_may_match_event(rule, event_id) && pf.rule_may_match(rule, present) && test(rule))
    }

    /// Every rule that matches the event and whose logsource it is in, in analytic order.
    pub fn evaluate(&self, view: &EventView) -> Vec<RuleHit> {
        self.evaluate_where(view, None)
    }

    /// As [`RuleSet::evaluate`], for a record whose bytes hold these
    /// literals (sorted indexes into the prefilter's): rules missing one of
    /// theirs are not evaluated. With the SigmaHQ pack, 1,437 rules are
    /// for process creations, and 33 per record are evaluated on average
    /// (64 MiB of the Sysmon bench log).
    pub fn evaluate_with_literals(&self, view: &EventView, present: &[usize]) -> Vec<RuleHit> {
        self.evaluate_where(view, Some(present))
    }

    /// `present`: the literals in the record's bytes, or `None` to find
    /// them in the event's values.
    fn evaluate_where(&self, view: &EventView, present: Option<&[usize]>) -> Vec<RuleHit> {
        let event = JsonEvent::borrow(&view.fields);
        self.candidates(view, present)
            .into_iter()
            .filter(|&a| rsigma_eval::evaluate_rule(&self.compiled[a], &event).is_some())
            .filter_map(|a| match self.match_detail {
                true => self.hit_in_detail(a, &event),
                false => Some(RuleHit { analytic: a, matched: Vec::new() }),
            })
            .collect()
    }

    /// The rules worth evaluating on an event, in analytic order: in its
    /// logsource, and with their literals in it. With the prefilter off,
    /// every rule of its logsource.
    fn candidates(&self, view: &EventView, present: Option<&[usize]>) -> Vec<usize> {
        let channel = view.fields.get("Channel").and_then(Value::as_str);
        let event_id = view.fields.get("EventID").and_then(Value::as_u64);
        let admits = |rule: usize| self.scope(rule).admits(channel, event_id, &view.fields);
        let mut rules = Vec::new();
        // Visits every candidate (never stops the walk).
        let keep = |rule: usize| {
            if admits(rule) {
                rules.push(rule);
            }
            false
        };
        if self.prefilter.is_on() {
            let found;
            let present = match present {
                Some(p) => p,
                None => {
                    found = self.prefilter.literals_in_values(&view.fields);
                    &found
                }
            };
            self.any_candidate(channel, event_id, present, keep);
        } else {
            self.scopes.any_eligible(channel, event_id, keep);
        }
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    /// The matched fields of a rule known to match: evaluated once more, by
    /// an engine of that rule alone (rsigma reports the fields only from an
    /// engine; with the SigmaHQ pack about one evaluation in a hundred hits).
    fn hit_in_detail(&self, analytic: usize, event: &JsonEvent) -> Option<RuleHit> {
        let engine = self.detail[analytic].get_or_init(|| {
            let mut engine = Engine::new();
            engine.set_match_detail(MatchDetailLevel::Full);
            let mut rule = self.compiled[analytic].clone();
            if let Some(written) = &self.written_conditions[analytic] {
                rule.conditions = written.clone();
            }
            engine.add_compiled_rule(rule);
            engine
        });
        let result = engine.evaluate(event).into_iter().next()?;
        let matched = match result.body {
            rsigma_eval::ResultBody::Detection(d) => d
                .matched_fields
                .into_iter()
                .map(|m| MatchedField {
                    field: m.field.into(),
                    value: MatchedValue::new(m.value),
                    selection: m.selection.map(Into::into),
                    pattern: m.pattern.map(Into::into),
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut hit = RuleHit { analytic, matched };
        self.order_matched(&mut hit);
        Some(hit)
    }

    /// Puts a hit's matched fields in a fixed order: by where their selection
    /// is first named in the rule's condition, then by name. The engine gives
    /// them in the order of a hash map (`1 of sel_*`), which changes per load.
    fn order_matched(&self, hit: &mut RuleHit) {
        let conditions = &self.conditions[hit.analytic];
        let place = |selection: Option<&str>| {
            let name = selection.unwrap_or("");
            (conditions.find(name).unwrap_or(usize::MAX), name.to_string())
        };
        // Stable: a selection's own fields keep the engine's order.
        hit.matched.sort_by_cached_key(|m| place(m.selection.as_deref()));
    }

    /// The field names a rule looks at, in the order its detection names them.
    pub fn rule_fields(&self, index: usize) -> &[String] {
        &self.fields[index]
    }
}

/// Rewrites `1 of selection_*` and `all of them` in a compiled rule's
/// conditions as the `or` and `and` of the detections they name; returns the
/// conditions as written if that changed them. rsigma meets a selector by
/// matching every detection's name against its pattern on each event: that
/// was 29 % of evaluating the SigmaHQ pack (perf). The result is the same:
/// `or` of none is false and `and` of none is true, as `any` and `all` are.
/// `N of` stays as written.
fn spell_out_selectors(rule: &mut CompiledRule) -> Option<Vec<ConditionExpr>> {
    fn spell(cond: &ConditionExpr, names: &[&String]) -> ConditionExpr {
        match cond {
            ConditionExpr::And(parts) => ConditionExpr::And(parts.iter().map(|p| spell(p, names)).collect()),
            ConditionExpr::Or(parts) => ConditionExpr::Or(parts.iter().map(|p| spell(p, names)).collect()),
            ConditionExpr::Not(inner) => ConditionExpr::Not(Box::new(spell(inner, names))),
            ConditionExpr::Selector { quantifier: quantifier @ (Quantifier::Any | Quantifier::All), pattern } => {
                let named =
                    names.iter().filter(|n| pattern.matches_detection_name(n)).map(|n| ConditionExpr::Identifier((*n).clone())).collect();
                match quantifier {
                    Quantifier::Any => ConditionExpr::Or(named),
                    _ => ConditionExpr::And(named),
                }
            }
            other => other.clone(),
        }
    }
    let mut names: Vec<&String> = rule.detections.keys().collect();
    names.sort();
    let spelled: Vec<ConditionExpr> = rule.conditions.iter().map(|c| spell(c, &names)).collect();
    if spelled == rule.conditions {
        return None;
    }
    Some(std::mem::replace(&mut rule.conditions, spelled))
}

fn fields_of(rule: &rsigma_parser::SigmaRule) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut names: Vec<_> = rule.detection.named.keys().collect();
    names.sort();
    for name in names {
        collect_fields(&rule.detection.named[name], &mut out);
    }
    out
}

fn has_keywords(d: &rsigma_parser::Detection) -> bool {
    use rsigma_parser::Detection::*;
    match d {
        Keywords(_) => true,
        AnyOf(ds) | And(ds) => ds.iter().any(has_keywords),
        Conditional { named, .. } => named.values().any(has_keywords),
        // An item of no field is a keyword too.
        AllOf(items) => items.iter().any(|i| i.field.name.is_none()),
        ArrayMatch { .. } => false,
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

/// Rules by the records they may fire on, so a record's eligible rules are
/// two hash lookups away (3,000 rules, 676,206 records: a scan of every
/// rule per record would cost more than the parse).
struct ScopeIndex {
    any_event: Vec<usize>,
    channels: HashMap<String, ChannelRules>,
    all: Vec<usize>,
}

#[derive(Default)]
struct ChannelRules {
    any_event_id: Vec<usize>,
    by_event_id: HashMap<u64, Vec<usize>>,
    all: Vec<usize>,
}

impl ScopeIndex {
    /// Indexes these rules (by analytic index) by their scopes.
    fn of<'a>(scopes: impl Iterator<Item = (usize, &'a Scope)>) -> Self {
        let mut index = ScopeIndex { any_event: Vec::new(), channels: HashMap::new(), all: Vec::new() };
        for (rule, scope) in scopes {
            index.all.push(rule);
            let Scope::Sources(sources) = scope else {
                index.any_event.push(rule);
                continue;
            };
            for source in sources {
                // Under the table's spelling (records spell channels so) and in lower case.
                let spellings: std::collections::BTreeSet<String> =
                    source.channels.iter().flat_map(|c| [c.clone(), c.to_lowercase()]).collect();
                for channel in &spellings {
                    let ch = index.channels.entry(channel.clone()).or_default();
                    if !ch.all.contains(&rule) {
                        ch.all.push(rule);
                    }
                    match &source.event_ids {
                        None => ch.any_event_id.push(rule),
                        Some(ids) => ids.iter().for_each(|id| ch.by_event_id.entry(*id).or_default().push(rule)),
                    }
                }
            }
        }
        index
    }

    /// Whether `test` holds for some rule eligible on such a record.
    fn any_eligible(&self, channel: Option<&str>, event_id: Option<u64>, mut test: impl FnMut(usize) -> bool) -> bool {
        let Some(channel) = channel else { return self.all.iter().any(|&r| test(r)) };
        if self.any_event.iter().any(|&r| test(r)) {
            return true;
        }
        let Some(rules) = self.channels.get(channel).or_else(|| self.channels.get(&channel.to_lowercase())) else {
            return false;
        };
        match event_id {
            None => rules.all.iter().any(|&r| test(r)),
            Some(id) => {
                rules.any_event_id.iter().any(|&r| test(r)) || rules.by_event_id.get(&id).is_some_and(|v| v.iter().any(|&r| test(r)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(detection: &str) -> CompiledRule {
        let yaml = format!("title: t\nlogsource:\n  product: windows\ndetection:\n{detection}\n");
        let rule = rsigma_parser::parse_sigma_yaml(&yaml).expect("rule parses").rules.remove(0);
        rsigma_eval::compile_rule(&rule).expect("rule compiles")
    }

    fn id(name: &str) -> ConditionExpr {
        ConditionExpr::Identifier(name.into())
    }

    #[test]
    fn selectors_are_spelled_out_in_name_order() {
        let mut rule = compiled(
            "  selection_b: {Image|endswith: '\\b.exe'}\n  selection_a: {Image|endswith: '\\a.exe'}\n  filter_x: {User: x}\n  \
             condition: 1 of selection_* and not all of filter_*",
        );
        let written = spell_out_selectors(&mut rule).expect("changed");
        assert!(matches!(written[0], ConditionExpr::And(ref parts) if matches!(parts[0], ConditionExpr::Selector { .. })));
        assert_eq!(
            rule.conditions,
            vec![ConditionExpr::And(vec![
                ConditionExpr::Or(vec![id("selection_a"), id("selection_b")]),
                ConditionExpr::Not(Box::new(ConditionExpr::And(vec![id("filter_x")]))),
            ])]
        );
    }

    #[test]
    fn counted_and_plain_conditions_stay_as_written() {
        let mut counted = compiled("  sel_a: {A: 1}\n  sel_b: {B: 2}\n  condition: 2 of sel_*");
        assert_eq!(spell_out_selectors(&mut counted), None);
        let mut plain = compiled("  sel: {A: 1}\n  condition: sel");
        assert_eq!(spell_out_selectors(&mut plain), None);
        assert_eq!(plain.conditions, vec![id("sel")]);
    }

    #[test]
    fn spelled_out_rules_match_the_same_events() {
        // Selectors over no detection, `them` without `_` names, nesting.
        let detections = [
            "  selection: {Image|endswith: '\\a.exe'}\n  condition: selection and not 1 of filter_*",
            "  selection: {Image|endswith: '\\a.exe'}\n  condition: selection and all of filter_*",
            "  sel_a: {Image|endswith: '\\a.exe'}\n  sel_b: {User: x}\n  _hidden: {User: nobody}\n  condition: all of them",
            "  sel_a: {Image|endswith: '\\a.exe'}\n  sel_b: {User: x}\n  f_1: {User: y}\n  condition: (1 of sel_* or all of f_*) and not sel_b",
        ];
        let events = [
            json!({"Image": "C:\\a.exe", "User": "x"}),
            json!({"Image": "C:\\a.exe", "User": "y"}),
            json!({"Image": "C:\\b.exe", "User": "x"}),
            json!({"Image": "C:\\b.exe", "User": "nobody"}),
        ];
        let mut verdicts = Vec::new();
        for detection in detections {
            let written = compiled(detection);
            let mut spelled = written.clone();
            spell_out_selectors(&mut spelled).expect("a selector to spell out");
            for event in &events {
                let event = JsonEvent::borrow(event);
                let expected = rsigma_eval::evaluate_rule(&written, &event).is_some();
                assert_eq!(rsigma_eval::evaluate_rule(&spelled, &event).is_some(), expected, "{detection}");
                verdicts.push(expected);
            }
        }
        #[rustfmt::skip]
        assert_eq!(verdicts, [
            true, true, false, false,
            true, true, false, false,
            true, false, false, false,
            false, true, false, false,
        ]);
    }
}
