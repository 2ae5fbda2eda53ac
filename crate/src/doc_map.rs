//! JSON event documents onto the one event view.
//!
//! evtx_dump's JSON is the `evtx` crate's own rendering and goes straight to
//! [`EventView::from_rendered`]. Winlogbeat, Security-Datasets and HELK
//! documents are mapped by the tables in `data/formats.yml`, so that every
//! rule sees the same field names (`EventID`, `Channel`, `Image`, ...)
//! whatever format the events came in. Elasticsearch wrappers (`_source`,
//! `hits.hits`) are unwrapped first.

use crate::event::EventView;
use crate::input::InputFormat;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
struct Mapping {
    recognize: Vec<String>,
    #[serde(default)]
    recognize_any: Vec<String>,
    system: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    data: Vec<String>,
    #[serde(default)]
    top_level_data: bool,
    #[serde(default)]
    undouble_backslashes: bool,
    #[serde(default)]
    rename: BTreeMap<String, String>,
    #[serde(default)]
    rename_by_event: Vec<EventRename>,
}

#[derive(Debug, Deserialize)]
struct EventRename {
    channel: String,
    event_ids: Vec<u64>,
    rename: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Mappings {
    winlogbeat: Mapping,
    helk: Mapping,
    #[serde(rename = "security-datasets")]
    security_datasets: Mapping,
}

fn mappings() -> &'static Mappings {
    static MAPPINGS: OnceLock<Mappings> = OnceLock::new();
    MAPPINGS.get_or_init(|| serde_yaml::from_str(include_str!("../data/formats.yml")).expect("data/formats.yml is valid"))
}

/// Why a JSON document gave no event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDocument(pub String);

/// One event of a text export: the format it came in, its view, and the
/// document as it came (what showing the event displays).
#[derive(Debug, Clone)]
pub struct DocumentEvent {
    pub format: InputFormat,
    pub view: EventView,
    pub full: Value,
}

/// The events of one JSON document (an Elasticsearch response holds many),
/// each with the format it was in.
pub fn events_of_document(doc: Value) -> Result<Vec<DocumentEvent>, UnknownDocument> {
    if let Some(hits) = doc.pointer("/hits/hits").and_then(Value::as_array) {
        let mut events = Vec::new();
        for hit in hits {
            events.extend(events_of_document(hit.clone())?);
        }
        return Ok(events);
    }
    let doc = match doc {
        Value::Object(mut o) if o.get("_source").is_some_and(Value::is_object) => o.remove("_source").unwrap_or_default(),
        other => other,
    };
    Ok(vec![event_of(doc)?])
}

fn event_of(doc: Value) -> Result<DocumentEvent, UnknownDocument> {
    let Value::Object(obj) = &doc else {
        return Err(UnknownDocument("a JSON value that is not an object".into()));
    };
    if obj.get("Event").is_some_and(Value::is_object) {
        return Ok(DocumentEvent { format: InputFormat::EvtxJson, view: EventView::from_rendered(&doc), full: doc });
    }
    let m = mappings();
    // HELK's documents keep Winlogbeat's `winlog` beside their own names: HELK first.
    for (format, mapping) in
        [(InputFormat::Helk, &m.helk), (InputFormat::Winlogbeat, &m.winlogbeat), (InputFormat::SecurityDatasets, &m.security_datasets)]
    {
        let any = mapping.recognize_any.is_empty() || mapping.recognize_any.iter().any(|k| obj.contains_key(k));
        if any && mapping.recognize.iter().all(|k| obj.contains_key(k)) {
            let fields = map_fields(obj, mapping);
            return Ok(DocumentEvent { format, view: EventView::from_fields(fields), full: doc });
        }
    }
    let keys: Vec<&str> = obj.keys().take(8).map(String::as_str).collect();
    Err(UnknownDocument(format!(
        "a JSON document of no known format (keys {}); expected evtx_dump's Event, Winlogbeat's winlog, HELK's event_id, or Security-Datasets' EventID",
        keys.join(", ")
    )))
}

/// The flat view of a mapped document.
fn map_fields(obj: &Map<String, Value>, mapping: &Mapping) -> Map<String, Value> {
    let mut fields = Map::new();
    let mut consumed: Vec<&str> = Vec::new();
    for (field, paths) in &mapping.system {
        if let Some((path, v)) = paths.iter().find_map(|p| lookup(obj, p).filter(|v| !v.is_null()).map(|v| (p, v))) {
            fields.insert(field.clone(), v.clone());
            consumed.push(path.split('.').next().unwrap_or(path));
        }
    }
    for path in &mapping.data {
        if let Some(Value::Object(data)) = lookup(obj, path) {
            lift_nested(data, &mut fields);
        }
    }
    if mapping.top_level_data {
        let renames = event_renames(mapping, &fields);
        for (key, value) in obj {
            if consumed.contains(&key.as_str()) || value.is_object() || value.is_null() {
                continue;
            }
            let name = renames.get(key.as_str()).copied().or_else(|| mapping.rename.get(key)).unwrap_or(key);
            let value = if mapping.undouble_backslashes { undouble(value) } else { value.clone() };
            fields.entry(name.clone()).or_insert(value);
        }
    }
    fields
}

/// The renames that hold for this event's channel and EventID.
fn event_renames<'a>(mapping: &'a Mapping, fields: &Map<String, Value>) -> BTreeMap<&'a str, &'a String> {
    let channel = fields.get("Channel").and_then(Value::as_str).unwrap_or("");
    let event_id = fields.get("EventID").and_then(crate::event::as_number);
    mapping
        .rename_by_event
        .iter()
        .filter(|r| r.channel.eq_ignore_ascii_case(channel) && event_id.is_some_and(|id| r.event_ids.contains(&id)))
        .flat_map(|r| r.rename.iter().map(|(k, v)| (k.as_str(), v)))
        .collect()
}

/// Winlogbeat's `event_data` may nest (`user_data` holds one element per provider).
fn lift_nested(data: &Map<String, Value>, out: &mut Map<String, Value>) {
    for (key, value) in data {
        match value {
            Value::Object(inner) => lift_nested(inner, out),
            other => {
                out.entry(key.clone()).or_insert_with(|| other.clone());
            }
        }
    }
}

/// A dotted path's value: `winlog.event_data`, or a key that itself has dots.
fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    match obj.get(head)? {
        Value::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

/// `c:\\windows\\system32` (every backslash doubled) as `c:\windows\system32`;
/// a value with any single backslash (`\\server\share`) is left as it is.
fn undouble(value: &Value) -> Value {
    let Value::String(s) = value else { return value.clone() };
    if !s.contains("\\\\") {
        return value.clone();
    }
    let every_run_even = s.split(|c| c != '\\').all(|run| run.len() % 2 == 0);
    if every_run_even {
        Value::String(s.replace("\\\\", "\\"))
    } else {
        value.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn winlogbeat_fields_take_their_windows_names() {
        let doc = json!({"@timestamp": "2019-03-17T19:09:41.328Z", "winlog": {
            "event_id": "10", "channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "IEWIN7",
            "record_id": 4434, "provider_name": "Microsoft-Windows-Sysmon",
            "event_data": {"TargetImage": "C:\\Windows\\system32\\lsass.exe", "CallTrace": "x"}}});
        let events = events_of_document(doc).unwrap();
        let DocumentEvent { format, view, .. } = &events[0];
        assert_eq!(*format, InputFormat::Winlogbeat);
        let b = view.basics();
        assert_eq!((b.event_id, b.event_record_id), (Some(10), Some(4434)));
        assert_eq!(b.computer.as_deref(), Some("IEWIN7"));
        assert_eq!(b.time_created.as_deref(), Some("2019-03-17T19:09:41.328Z"));
        assert_eq!(view.fields["TargetImage"], json!("C:\\Windows\\system32\\lsass.exe"));
    }

    #[test]
    fn helk_renames_per_event_and_undoubles_backslashes() {
        let doc = json!({"_source": {"event_id": 10, "log_name": "Microsoft-Windows-Sysmon/Operational", "host_name": "h",
            "record_number": "7", "process_path": "c:\\\\windows\\\\a.exe", "target_process_path": "\\\\srv\\share\\x.exe"}});
        let DocumentEvent { format, view, .. } = events_of_document(doc).unwrap().remove(0);
        assert_eq!(format, InputFormat::Helk);
        assert_eq!(view.fields["SourceImage"], json!("c:\\windows\\a.exe"));
        assert_eq!(view.fields["TargetImage"], json!("\\\\srv\\share\\x.exe"));
        assert_eq!(view.basics().event_record_id, Some(7));
        assert!(view.fields.get("Image").is_none());
    }

    #[test]
    fn security_datasets_and_unknown_documents() {
        let doc = json!({"EventID": 4688, "Channel": "Security", "Hostname": "WS5", "RecordNumber": 9, "NewProcessName": "C:\\x.exe"});
        let DocumentEvent { format, view, .. } = events_of_document(doc).unwrap().remove(0);
        assert_eq!(format, InputFormat::SecurityDatasets);
        assert_eq!(view.basics().computer.as_deref(), Some("WS5"));
        assert_eq!(view.fields["Image"], json!("C:\\x.exe"), "Security 4688's process name answers to Image");
        let err = events_of_document(json!({"foo": 1})).unwrap_err();
        assert!(err.0.starts_with("a JSON document of no known format (keys foo)"), "{}", err.0);
        let hits = json!({"hits": {"hits": [{"_source": {"EventID": 1, "Channel": "c"}}, {"_source": {"EventID": 2, "Channel": "c"}}]}});
        assert_eq!(events_of_document(hits).unwrap().len(), 2);
    }
}
