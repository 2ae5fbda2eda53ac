//! Sigma logsources on Windows event logs: which records a rule may fire on.
//!
//! A Sigma rule names where its events come from (`product`, `service`,
//! `category`), not which channel and EventIDs those are. The project's table
//! (`crate/data/logsources.yml`) says it: a service is a set of channels, a
//! category a set of EventIDs of one service, sometimes with other field
//! names (Security 4688 carries `NewProcessName` where process-creation rules
//! say `Image`). A rule's [`Scope`] is that, resolved once at load time.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/logsources.yml");

#[derive(Deserialize)]
struct Table {
    services: HashMap<String, Vec<String>>,
    categories: HashMap<String, Vec<Alternative>>,
}

#[derive(Deserialize)]
struct Alternative {
    service: String,
    event_ids: Vec<u64>,
    #[serde(default, rename = "where")]
    conditions: HashMap<String, String>,
    #[serde(default)]
    rule_fields: HashMap<String, String>,
}

/// Records of one channel set and, when given, of these EventIDs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSource {
    /// As the table spells them; compared case-insensitively.
    pub channels: Vec<String>,
    /// `None`: every EventID of these channels.
    pub event_ids: Option<Vec<u64>>,
    /// Fields the record must also carry with these values (case-insensitive).
    pub conditions: Vec<(String, String)>,
}

/// The records a rule may fire on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `product: windows` alone: every Windows event.
    AnyWindowsEvent,
    /// One of these sources.
    Sources(Vec<EventSource>),
}

/// Why a rule's logsource cannot be used on Windows event logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogsourceProblem {
    /// Another product, or a category that is no Windows event log's (webserver, proxy).
    NotWindows(String),
    /// A Windows service or category with no known channel.
    Unmapped(String),
}

impl std::fmt::Display for LogsourceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogsourceProblem::NotWindows(ls) => write!(f, "not for Windows event logs (logsource {ls})"),
            LogsourceProblem::Unmapped(what) => write!(f, "no Windows event log channel is known for {what}"),
        }
    }
}

/// The mapping, read once from the project's table.
pub struct LogsourceMap {
    services: HashMap<String, Vec<String>>,
    categories: HashMap<String, Vec<Alternative>>,
    /// (channel lower case, EventID) -> rule field -> record field.
    aliases: HashMap<(String, u64), Vec<(String, String)>>,
}

/// The Windows event log mapping.
pub fn windows() -> &'static LogsourceMap {
    static MAP: OnceLock<LogsourceMap> = OnceLock::new();
    MAP.get_or_init(|| {
        let table: Table = serde_yaml::from_str(TABLE).expect("crate/data/logsources.yml is valid");
        LogsourceMap::new(table)
    })
}

/// `product: windows, category: process_creation`.
pub fn describe(ls: &rsigma_parser::LogSource) -> String {
    [("product", &ls.product), ("service", &ls.service), ("category", &ls.category)]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl LogsourceMap {
    fn new(table: Table) -> Self {
        let mut aliases: HashMap<(String, u64), Vec<(String, String)>> = HashMap::new();
        for alternatives in table.categories.values() {
            for alt in alternatives.iter().filter(|a| !a.rule_fields.is_empty()) {
                let channels = table.services.get(&alt.service).expect("a category names a known service");
                for channel in channels {
                    for id in &alt.event_ids {
                        let entry = aliases.entry((channel.to_lowercase(), *id)).or_default();
                        let mut pairs: Vec<_> = alt.rule_fields.iter().map(|(r, e)| (r.clone(), e.clone())).collect();
                        pairs.sort();
                        entry.extend(pairs);
                    }
                }
            }
        }
        LogsourceMap { services: table.services, categories: table.categories, aliases }
    }

    /// The records a rule with this logsource may fire on.
    pub fn scope_of(&self, ls: &rsigma_parser::LogSource) -> Result<Scope, LogsourceProblem> {
        let lower = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_lowercase());
        let (product, service, category) = (lower(&ls.product), lower(&ls.service), lower(&ls.category));
        match product.as_deref() {
            Some("windows") => {}
            // A category of ours without a product (`category: antivirus`) is ours.
            None if category.as_ref().is_some_and(|c| self.categories.contains_key(c)) => {}
            _ => return Err(LogsourceProblem::NotWindows(format!("{{{}}}", describe(ls)))),
        }
        let channels_of = |s: &str| -> Result<Vec<String>, LogsourceProblem> {
            self.services.get(s).cloned().ok_or_else(|| LogsourceProblem::Unmapped(format!("service {s:?}")))
        };
        match (category, service) {
            (None, None) => Ok(Scope::AnyWindowsEvent),
            (None, Some(service)) => {
                Ok(Scope::Sources(vec![EventSource { channels: channels_of(&service)?, event_ids: None, conditions: Vec::new() }]))
            }
            (Some(category), service) => {
                let alternatives =
                    self.categories.get(&category).ok_or_else(|| LogsourceProblem::Unmapped(format!("category {category:?}")))?;
                let sources: Vec<EventSource> = alternatives
                    .iter()
                    .filter(|a| service.as_ref().is_none_or(|s| *s == a.service))
                    .map(|a| {
                        let mut conditions: Vec<_> = a.conditions.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                        conditions.sort();
                        Ok(EventSource { channels: channels_of(&a.service)?, event_ids: Some(a.event_ids.clone()), conditions })
                    })
                    .collect::<Result<_, LogsourceProblem>>()?;
                if sources.is_empty() {
                    return Err(LogsourceProblem::Unmapped(format!("{{{}}}", describe(ls))));
                }
                Ok(Scope::Sources(sources))
            }
        }
    }

    /// Rule field names that records of this channel and EventID carry under
    /// another name: (rule field, record field).
    pub fn field_aliases(&self, channel: &str, event_id: u64) -> &[(String, String)] {
        self.aliases.get(&(channel.to_lowercase(), event_id)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Adds to a flat view the names rules use for its fields: the mapped
    /// names of its logsource, and names written without their spaces
    /// (Defender's `Threat Name` is `ThreatName` in rules). Fields the
    /// record has under that name already are left alone.
    pub fn add_rule_names(&self, fields: &mut Map<String, Value>) {
        let spaced: Vec<(String, Value)> =
            fields.iter().filter(|(k, _)| k.contains(' ')).map(|(k, v)| (k.replace(' ', ""), v.clone())).collect();
        for (k, v) in spaced {
            fields.entry(k).or_insert(v);
        }
        let channel = fields.get("Channel").and_then(Value::as_str).map(str::to_string);
        let event_id = fields.get("EventID").and_then(Value::as_u64);
        if let (Some(channel), Some(id)) = (channel, event_id) {
            for (rule_field, record_field) in self.field_aliases(&channel, id) {
                if let Some(v) = fields.get(record_field).cloned() {
                    fields.entry(rule_field.clone()).or_insert(v);
                }
            }
        }
    }
}

impl EventSource {
    fn admits(&self, channel: &str, event_id: Option<u64>) -> bool {
        self.channels.iter().any(|c| c.eq_ignore_ascii_case(channel))
            && self.event_ids.as_ref().is_none_or(|ids| event_id.is_some_and(|id| ids.contains(&id)))
    }
}

impl Scope {
    /// The fields besides Channel and EventID that tell whether a record is in scope.
    pub fn condition_fields(&self) -> impl Iterator<Item = &str> {
        let sources = match self {
            Scope::AnyWindowsEvent => &[][..],
            Scope::Sources(sources) => &sources[..],
        };
        sources.iter().flat_map(|s| s.conditions.iter().map(|(field, _)| field.as_str()))
    }

    /// Whether a record of this channel and EventID, with these flat fields, is in scope.
    pub fn admits(&self, channel: Option<&str>, event_id: Option<u64>, fields: &Value) -> bool {
        match self {
            Scope::AnyWindowsEvent => true,
            Scope::Sources(sources) => sources.iter().any(|s| {
                channel.is_some_and(|c| s.admits(c, event_id))
                    && s.conditions
                        .iter()
                        .all(|(field, want)| fields.get(field).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(want)))
            }),
        }
    }

    /// Whether a record of this channel and EventID may be in scope, before
    /// its other fields are known (`None`: not known either).
    pub fn may_admit(&self, channel: Option<&str>, event_id: Option<u64>) -> bool {
        match (self, channel) {
            (Scope::AnyWindowsEvent, _) | (_, None) => true,
            (Scope::Sources(sources), Some(c)) => sources.iter().any(|s| match event_id {
                Some(_) => s.admits(c, event_id),
                None => s.channels.iter().any(|ch| ch.eq_ignore_ascii_case(c)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ls(product: Option<&str>, service: Option<&str>, category: Option<&str>) -> rsigma_parser::LogSource {
        rsigma_parser::LogSource {
            product: product.map(Into::into),
            service: service.map(Into::into),
            category: category.map(Into::into),
            definition: None,
            custom: Default::default(),
        }
    }

    #[test]
    fn process_creation_is_sysmon_1_and_security_4688() {
        let scope = windows().scope_of(&ls(Some("windows"), None, Some("process_creation"))).unwrap();
        let none = json!({});
        assert!(scope.admits(Some("Microsoft-Windows-Sysmon/Operational"), Some(1), &none));
        assert!(scope.admits(Some("security"), Some(4688), &none));
        assert!(!scope.admits(Some("Security"), Some(1), &none));
        assert!(!scope.admits(Some("Microsoft-Windows-Sysmon/Operational"), Some(10), &none));
        assert!(!scope.admits(None, Some(1), &none));
    }

    #[test]
    fn services_are_channels_and_products_are_checked() {
        let m = windows();
        let sysmon = m.scope_of(&ls(Some("windows"), Some("sysmon"), None)).unwrap();
        assert!(sysmon.admits(Some("Microsoft-Windows-Sysmon/Operational"), Some(16), &json!({})));
        assert!(!sysmon.admits(Some("System"), Some(16), &json!({})));
        assert_eq!(m.scope_of(&ls(Some("windows"), None, None)).unwrap(), Scope::AnyWindowsEvent);
        assert!(matches!(m.scope_of(&ls(Some("linux"), None, Some("process_creation"))), Err(LogsourceProblem::NotWindows(_))));
        assert!(matches!(m.scope_of(&ls(None, None, Some("webserver"))), Err(LogsourceProblem::NotWindows(_))));
        assert!(matches!(m.scope_of(&ls(Some("windows"), None, Some("file_access"))), Err(LogsourceProblem::Unmapped(_))));
        // A category with no product is ours when the table has it.
        assert!(m.scope_of(&ls(None, None, Some("antivirus"))).is_ok());
    }

    #[test]
    fn registry_add_needs_its_event_type() {
        let scope = windows().scope_of(&ls(Some("windows"), None, Some("registry_add"))).unwrap();
        let ch = Some("Microsoft-Windows-Sysmon/Operational");
        assert!(scope.admits(ch, Some(12), &json!({"EventType": "createkey"})));
        assert!(!scope.admits(ch, Some(12), &json!({"EventType": "DeleteKey"})));
        assert!(scope.may_admit(ch, Some(12)));
        assert!(!scope.may_admit(ch, Some(13)));
    }

    #[test]
    fn rule_names_are_added_to_the_view() {
        let mut fields = json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x.exe", "Threat Name": "Mimikatz"});
        windows().add_rule_names(fields.as_object_mut().unwrap());
        assert_eq!(fields["Image"], json!("C:\\x.exe"));
        assert_eq!(fields["ThreatName"], json!("Mimikatz"));
        assert!(fields.get("ParentImage").is_none());
    }
}
