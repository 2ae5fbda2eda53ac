//! Analytics as data: Sigma rules plus the metadata an analyst needs.
//!
//! The built-in analytics are MITRE CAR entries stored as Sigma YAML files in
//! `crate/analytics/`, with CAR's own texts under a `car:` key. Extra Sigma
//! rules can be loaded from files and get metadata from their Sigma fields.

use crate::logsource::{LogsourceProblem, Scope};
use crate::rule_load::{top_level_value, SkipKind, SkippedRule};
use rsigma_parser::{parse_sigma_yaml, SigmaRule};
use serde::{Deserialize, Serialize};

/// The built-in analytics: (file name, YAML text).
pub const BUILTIN_ANALYTICS: &[(&str, &str)] = &[
    ("CAR-2020-05-001.yml", include_str!("../analytics/CAR-2020-05-001.yml")),
    ("CAR-2019-08-001.yml", include_str!("../analytics/CAR-2019-08-001.yml")),
];

/// An ATT&CK or D3FEND entry: id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// One ATT&CK mapping: technique, sub-technique, tactic, coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackMapping {
    pub technique: Named,
    #[serde(default)]
    pub subtechnique: Option<Named>,
    pub tactic: Named,
    #[serde(default)]
    pub coverage: Option<String>,
}

/// ATT&CK as CAR publishes it, and as the behaviour really is when they differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attack {
    pub published: AttackMapping,
    pub behaviour: AttackMapping,
    /// Why `behaviour` differs from `published`, when it does.
    #[serde(default)]
    pub correction: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct D3fend {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub iri: Option<String>,
}

/// One CAR implementation (Splunk, LogPoint, EQL, pseudocode), verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Implementation {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data_model: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub code: String,
}

/// Everything shown about an analytic, for built-ins and custom rules alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticInfo {
    pub id: String,
    pub title: String,
    /// `builtin` for the CAR analytics, else the rule file's path.
    pub source: String,
    pub description: String,
    #[serde(default)]
    pub attack: Option<Attack>,
    #[serde(default)]
    pub attack_tags: Vec<String>,
    /// ATT&CK techniques and tactics the rule's tags name, with their names.
    #[serde(default)]
    pub techniques: Vec<crate::attack::Technique>,
    #[serde(default)]
    pub tactics: Vec<crate::attack::Tactic>,
    #[serde(default)]
    pub d3fend: Vec<D3fend>,
    #[serde(default)]
    pub implementations: Vec<Implementation>,
    #[serde(default)]
    pub false_positives: Vec<String>,
    /// Source process names known to cause false positives (lower case).
    #[serde(default)]
    pub false_positive_processes: Vec<String>,
    /// The event field naming the acting process (for false-positive flags).
    #[serde(default)]
    pub source_process_field: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub contributors: Vec<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// The rule's logsource (`product: windows, category: process_access`).
    #[serde(default)]
    pub logsource: String,
    /// The Sigma rule's YAML, as loaded.
    pub sigma: String,
}

/// The `car:` block of a built-in analytic file.
#[derive(Deserialize)]
struct CarBlock {
    id: String,
    title: String,
    description: String,
    attack: Attack,
    #[serde(default)]
    d3fend: Vec<D3fend>,
    #[serde(default)]
    implementations: Vec<Implementation>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    contributors: Vec<String>,
    #[serde(default)]
    false_positive_processes: Vec<String>,
    #[serde(default)]
    source_process_field: Option<String>,
}

#[derive(Deserialize)]
struct CarFile {
    car: CarBlock,
}

/// A Sigma rule ready for the engine, with what is shown about it.
#[derive(Debug, Clone)]
pub struct Analytic {
    pub info: AnalyticInfo,
    pub rule: SigmaRule,
    /// The records it may fire on (its logsource).
    pub scope: Scope,
}

/// A rule file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleLoadError {
    pub file: String,
    pub reason: String,
}

impl std::fmt::Display for RuleLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: not a usable Sigma rule: {}", self.file, self.reason)
    }
}

impl std::error::Error for RuleLoadError {}

/// The two built-in CAR analytics.
pub fn builtin_analytics() -> Vec<Analytic> {
    BUILTIN_ANALYTICS
        .iter()
        .map(|(file, yaml)| {
            let car: CarFile = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("built-in analytic {file}: bad car block: {e}"));
            let mut rules = parse_rules(file, yaml).unwrap_or_else(|e| panic!("built-in analytic {file}: {e}"));
            assert_eq!(rules.len(), 1, "built-in analytic {file} holds one rule");
            let rule = rules.remove(0);
            let car = car.car;
            let scope = crate::logsource::windows().scope_of(&rule.logsource).unwrap_or_else(|e| panic!("built-in analytic {file}: {e}"));
            let tags = crate::attack::from_sigma_tags(&rule.tags);
            let info = AnalyticInfo {
                id: car.id,
                title: car.title,
                source: "builtin".into(),
                description: car.description,
                attack: Some(car.attack),
                attack_tags: rule.tags.clone(),
                techniques: tags.techniques,
                tactics: tags.tactics,
                d3fend: car.d3fend,
                implementations: car.implementations,
                false_positives: rule.falsepositives.clone(),
                false_positive_processes: car.false_positive_processes,
                source_process_field: car.source_process_field,
                references: car.references,
                contributors: car.contributors,
                author: rule.author.clone(),
                level: rule.level.map(|l| l.as_str().to_string()),
                status: rule.status.map(|s| format!("{s:?}").to_lowercase()),
                logsource: crate::logsource::describe(&rule.logsource),
                sigma: yaml.to_string(),
            };
            Analytic { info, rule, scope }
        })
        .collect()
}

/// Parses every detection rule in a Sigma YAML text. Correlation and filter
/// documents are refused: findings here are per event.
fn parse_rules(file: &str, yaml: &str) -> Result<Vec<SigmaRule>, RuleLoadError> {
    let err = |reason: String| RuleLoadError { file: file.to_string(), reason };
    let collection = parse_sigma_yaml(yaml).map_err(|e| err(e.to_string()))?;
    if let Some(first) = collection.errors.first() {
        return Err(err(first.clone()));
    }
    if !collection.correlations.is_empty() || !collection.filters.is_empty() {
        return Err(err("correlation and filter rules are not supported; only detection rules".into()));
    }
    if collection.rules.is_empty() {
        return Err(err("no detection rule in the file".into()));
    }
    Ok(collection.rules)
}

/// What is shown about a user's rule, from its own Sigma fields.
fn user_info(file: &str, yaml: &str, rule: &SigmaRule, id: String) -> AnalyticInfo {
    let tags = crate::attack::from_sigma_tags(&rule.tags);
    AnalyticInfo {
        id,
        title: rule.title.clone(),
        source: file.to_string(),
        description: rule.description.clone().unwrap_or_default(),
        attack: None,
        attack_tags: rule.tags.iter().filter(|t| t.starts_with("attack.")).cloned().collect(),
        techniques: tags.techniques,
        tactics: tags.tactics,
        d3fend: Vec::new(),
        implementations: Vec::new(),
        false_positives: rule.falsepositives.clone(),
        false_positive_processes: Vec::new(),
        source_process_field: None,
        references: rule.references.clone(),
        contributors: rule.author.iter().cloned().collect(),
        author: rule.author.clone(),
        level: rule.level.map(|l| l.as_str().to_string()),
        status: rule.status.map(|s| format!("{s:?}").to_lowercase()),
        logsource: crate::logsource::describe(&rule.logsource),
        sigma: yaml.to_string(),
    }
}

/// Loads custom Sigma rules from a YAML text (one file, one or more rules).
/// Rules without an `id` get one made from the file name and position.
/// The first problem fails the whole text (a rule file named by the user).
pub fn custom_analytics(file: &str, yaml: &str) -> Result<Vec<Analytic>, RuleLoadError> {
    let (analytics, skipped) = custom_analytics_lenient(file, yaml);
    match skipped.into_iter().next() {
        Some(s) => Err(RuleLoadError { file: file.to_string(), reason: s.reason }),
        None => Ok(analytics),
    }
}

/// Loads what can be loaded from a YAML text; every document that cannot
/// be used is returned as skipped with its reason. Correlation rules are
/// skipped too: they need the rest of a pack (see [`parse_rule_text`]).
pub fn custom_analytics_lenient(file: &str, yaml: &str) -> (Vec<Analytic>, Vec<SkippedRule>) {
    let mut parsed = parse_rule_text(file, yaml);
    for c in parsed.correlations {
        let reason = "a correlation rule: it counts the matches of other rules, so it loads with a pack (--rules)".to_string();
        parsed.skipped.push(skipped_in(file, yaml, SkipKind::NotDetection, reason, c.rule.id.clone(), Some(c.rule.title.clone())));
    }
    (parsed.analytics, parsed.skipped)
}

/// What one rule text holds: detection rules (logsource resolved),
/// correlation rules (resolved against the whole pack later, see
/// `correlate`), and every document skipped with its reason.
#[derive(Default)]
pub struct ParsedText {
    pub analytics: Vec<Analytic>,
    pub correlations: Vec<crate::correlate::CorrelationDef>,
    pub skipped: Vec<SkippedRule>,
}

fn skipped_in(file: &str, yaml: &str, kind: SkipKind, reason: String, id: Option<String>, title: Option<String>) -> SkippedRule {
    SkippedRule {
        source: file.to_string(),
        id: id.or_else(|| top_level_value(yaml, "id")),
        title: title.or_else(|| top_level_value(yaml, "title")),
        kind,
        reason,
    }
}

/// Parses a rule text into what it holds (see [`ParsedText`]).
pub fn parse_rule_text(file: &str, yaml: &str) -> ParsedText {
    let skip = |kind: SkipKind, reason: String, id: Option<String>, title: Option<String>| skipped_in(file, yaml, kind, reason, id, title);
    let collection = match parse_sigma_yaml(yaml) {
        Ok(c) => c,
        Err(e) => return ParsedText { skipped: vec![skip(SkipKind::Invalid, e.to_string(), None, None)], ..Default::default() },
    };
    let mut skipped: Vec<SkippedRule> = collection.errors.iter().map(|e| skip(SkipKind::Invalid, e.clone(), None, None)).collect();
    for f in &collection.filters {
        let reason = "a filter rule: not applied to other rules here".to_string();
        skipped.push(skip(SkipKind::NotDetection, reason, f.id.clone(), Some(f.title.clone())));
    }
    let correlations: Vec<crate::correlate::CorrelationDef> =
        collection.correlations.into_iter().map(|rule| crate::correlate::CorrelationDef::new(file, rule)).collect();
    if collection.rules.is_empty() && correlations.is_empty() && skipped.is_empty() {
        skipped.push(skip(SkipKind::Invalid, "no detection rule in the file".into(), None, None));
    }
    let stem = std::path::Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| file.to_string());
    let count = collection.rules.len();
    let mut analytics = Vec::new();
    for (n, rule) in collection.rules.into_iter().enumerate() {
        let id = rule.id.clone().unwrap_or_else(|| if count == 1 { stem.clone() } else { format!("{stem}#{}", n + 1) });
        match crate::logsource::windows().scope_of(&rule.logsource) {
            Ok(scope) => {
                let info = user_info(file, yaml, &rule, id);
                analytics.push(Analytic { info, rule, scope });
            }
            Err(problem) => {
                let kind = match problem {
                    LogsourceProblem::NotWindows(_) => SkipKind::NotWindows,
                    LogsourceProblem::Unmapped(_) => SkipKind::UnmappedLogsource,
                };
                skipped.push(skip(kind, problem.to_string(), Some(id), Some(rule.title.clone())));
            }
        }
    }
    ParsedText { analytics, correlations, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_carry_car_metadata_and_the_attack_correction() {
        let all = builtin_analytics();
        let ids: Vec<_> = all.iter().map(|a| a.info.id.as_str()).collect();
        assert_eq!(ids, ["CAR-2020-05-001", "CAR-2019-08-001"]);
        let minidump = &all[0].info;
        let attack = minidump.attack.as_ref().unwrap();
        assert_eq!(attack.published.subtechnique.as_ref().unwrap().id, "T1003.003");
        assert_eq!(attack.behaviour.subtechnique.as_ref().unwrap().id, "T1003.001");
        assert!(attack.correction.is_some());
        assert_eq!(minidump.d3fend[0].id, "D3-SCA");
        assert_eq!(minidump.false_positive_processes, ["werfault.exe", "tasklist.exe"]);
        let kinds: Vec<_> = all[1].info.implementations.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["Pseudocode", "Splunk", "EQL", "LogPoint"]);
        assert_eq!(all[1].info.d3fend[0].id, "D3-FCA");
    }

    #[test]
    fn a_broken_rule_file_is_named_in_the_error() {
        let err = custom_analytics("rules/broken.yml", "title: x\ndetection: [").unwrap_err();
        assert_eq!(err.file, "rules/broken.yml");
        assert!(err.to_string().starts_with("rules/broken.yml: not a usable Sigma rule"));
    }
}
