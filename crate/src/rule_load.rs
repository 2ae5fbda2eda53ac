//! Loading rule packs: every rule in every text is loaded or skipped with
//! its reason (not for Windows event logs, a YAML error, a feature the
//! engine lacks, a duplicate id, filtered out), never dropped silently.

use crate::analytics::{parse_rule_text, Analytic};
use crate::correlate::CorrelationDef;
use crate::rule_source::{RuleText, Unreadable};
use rsigma_parser::{Level, Status};
use serde::{Deserialize, Serialize};

/// Which rules the user wants: at least this level, and of these statuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadOptions {
    /// `informational`, `low`, `medium`, `high`, `critical`.
    #[serde(default)]
    pub min_level: Option<String>,
    /// `stable`, `test`, `experimental`, `deprecated`, `unsupported`; empty: all.
    #[serde(default)]
    pub statuses: Vec<String>,
    /// Rule ids switched off by the user.
    #[serde(default)]
    pub disabled: Vec<String>,
}

/// Why a rule is not loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Its logsource is another product's (Linux, a web server).
    NotWindows,
    /// A Windows logsource with no known channel.
    UnmappedLogsource,
    /// A feature or modifier the engine does not support.
    Unsupported,
    /// The text is not valid YAML, or not a valid Sigma rule.
    Invalid,
    /// Its id is loaded already.
    DuplicateId,
    /// Below `--min-level`.
    FilteredLevel,
    /// Not of a `--status` asked for.
    FilteredStatus,
    /// The file could not be read as rule text (size, encoding, archive).
    Unreadable,
    /// A filter document (or a correlation read on its own): not run here.
    NotDetection,
    /// A correlation rule whose rules are not loaded.
    MissingRule,
    /// Switched off by the user.
    Disabled,
}

/// One rule (or rule file) not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRule {
    pub source: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub kind: SkipKind,
    pub reason: String,
}

/// What loading gave: how many rules are active, and every one skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    pub loaded: usize,
    pub skipped: Vec<SkippedRule>,
}

impl LoadReport {
    /// Skipped rules per kind, in a fixed order, for summaries.
    pub fn counts(&self) -> Vec<(SkipKind, usize)> {
        use SkipKind::*;
        [
            NotWindows,
            UnmappedLogsource,
            Unsupported,
            Invalid,
            DuplicateId,
            FilteredLevel,
            FilteredStatus,
            Unreadable,
            NotDetection,
            MissingRule,
            Disabled,
        ]
        .into_iter()
        .map(|k| (k, self.skipped.iter().filter(|s| s.kind == k).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
    }

    /// One line: "3010 rules: 2,871 loaded, 139 skipped (101 not for Windows event logs, ...)".
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self.counts().into_iter().map(|(k, n)| format!("{n} {}", k.label())).collect();
        let skipped = if parts.is_empty() { String::new() } else { format!(": {}", parts.join(", ")) };
        format!("{} rule(s) loaded, {} skipped{skipped}", self.loaded, self.skipped.len())
    }
}

impl SkipKind {
    pub fn label(self) -> &'static str {
        match self {
            SkipKind::NotWindows => "not for Windows event logs",
            SkipKind::UnmappedLogsource => "with no known channel",
            SkipKind::Unsupported => "unsupported by the engine",
            SkipKind::Invalid => "invalid YAML or Sigma",
            SkipKind::DuplicateId => "duplicate id",
            SkipKind::FilteredLevel => "below the minimum level",
            SkipKind::FilteredStatus => "of another status",
            SkipKind::Unreadable => "unreadable",
            SkipKind::NotDetection => "filter rules (or correlations outside a pack)",
            SkipKind::MissingRule => "correlations of rules not loaded",
            SkipKind::Disabled => "switched off",
        }
    }
}

pub(crate) fn level_rank(level: &str) -> Option<u8> {
    match level.to_ascii_lowercase().as_str() {
        "informational" => Some(0),
        "low" => Some(1),
        "medium" => Some(2),
        "high" => Some(3),
        "critical" => Some(4),
        _ => None,
    }
}

/// Checks a level or status given by the user; the message names the choices.
pub fn check_options(options: &LoadOptions) -> Result<(), String> {
    if let Some(l) = &options.min_level {
        if level_rank(l).is_none() {
            return Err(format!("unknown level {l:?}: use informational, low, medium, high or critical"));
        }
    }
    for s in &options.statuses {
        if !matches!(s.to_ascii_lowercase().as_str(), "stable" | "test" | "experimental" | "deprecated" | "unsupported") {
            return Err(format!("unknown status {s:?}: use stable, test, experimental, deprecated or unsupported"));
        }
    }
    Ok(())
}

fn level_name(l: Level) -> &'static str {
    l.as_str()
}

fn status_name(s: Status) -> String {
    format!("{s:?}").to_lowercase()
}

/// Whether the options filter a rule (by its id, level and status) out, and why.
fn filtered(id: &str, level: Option<Level>, status: Option<Status>, options: &LoadOptions) -> Option<(SkipKind, String)> {
    if options.disabled.iter().any(|d| d == id) {
        return Some((SkipKind::Disabled, "switched off by the user".into()));
    }
    if let Some(min) = options.min_level.as_deref().and_then(level_rank) {
        let rank = level.map(level_name).and_then(level_rank);
        if rank.is_none_or(|r| r < min) {
            let level = level.map(level_name).unwrap_or("none");
            return Some((
                SkipKind::FilteredLevel,
                format!("level {level} is below the minimum {}", options.min_level.as_deref().unwrap_or("")),
            ));
        }
    }
    if !options.statuses.is_empty() {
        let status = status.map(status_name).unwrap_or_else(|| "none".into());
        if !options.statuses.iter().any(|s| s.eq_ignore_ascii_case(&status)) {
            return Some((SkipKind::FilteredStatus, format!("status {status} is not among {}", options.statuses.join(", "))));
        }
    }
    None
}

/// A pack's rules once parsed: detection rules, correlation rules (not yet
/// resolved against the detection rules, see `correlate`), and every rule
/// skipped with its reason.
#[derive(Default)]
pub struct ParsedPack {
    pub analytics: Vec<Analytic>,
    pub correlations: Vec<CorrelationDef>,
    pub skipped: Vec<SkippedRule>,
}

/// Parses every text into analytics (logsource resolved, options applied)
/// and correlation rules; the rest are skipped with their reason. The
/// engine's own check comes later, when the rules are compiled (see
/// `RuleSet::load`).
pub fn parse_texts(texts: &[RuleText], unreadable: &[Unreadable], options: &LoadOptions) -> ParsedPack {
    let mut pack = ParsedPack {
        skipped: unreadable
            .iter()
            .map(|u| SkippedRule { source: u.source.clone(), id: None, title: None, kind: SkipKind::Unreadable, reason: u.reason.clone() })
            .collect(),
        ..Default::default()
    };
    for text in texts {
        let parsed = parse_rule_text(&text.source, &text.text);
        pack.skipped.extend(parsed.skipped);
        for a in parsed.analytics {
            match filtered(&a.info.id, a.rule.level, a.rule.status, options) {
                Some((kind, reason)) => pack.skipped.push(SkippedRule {
                    source: a.info.source.clone(),
                    id: Some(a.info.id.clone()),
                    title: Some(a.info.title.clone()),
                    kind,
                    reason,
                }),
                None => pack.analytics.push(a),
            }
        }
        for c in parsed.correlations {
            let id = c.key();
            match filtered(&id, c.rule.level, c.rule.status, options) {
                Some((kind, reason)) => pack.skipped.push(SkippedRule {
                    source: c.source.clone(),
                    id: Some(id),
                    title: Some(c.rule.title.clone()),
                    kind,
                    reason,
                }),
                None => pack.correlations.push(c),
            }
        }
    }
    pack
}

/// A YAML scalar at the top level of a text (`title:`, `id:`), found without
/// parsing it: broken rules are still named in the report.
pub fn top_level_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let v = rest.trim().trim_matches(|c| c == '\'' || c == '"').trim();
        (!v.is_empty() && v.len() < 300).then(|| v.to_string())
    })
}
