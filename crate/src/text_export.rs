//! Events written out in the text formats the scanner reads (evtx_dump
//! JSON/JSONL, Event XML, Winlogbeat, Security-Datasets), from what the
//! `evtx` crate renders for EVTX records: test inputs and benchmark logs,
//! as `writer` makes EVTX ones.

use evtx::{EvtxParser, ParserSettings};
use serde_json::{json, Map, Value};

/// The text forms written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextForm {
    EvtxJsonl,
    EvtxJson,
    EventXml,
    Winlogbeat,
    SecurityDatasets,
}

impl TextForm {
    pub const ALL: [TextForm; 5] =
        [TextForm::EvtxJsonl, TextForm::EvtxJson, TextForm::EventXml, TextForm::Winlogbeat, TextForm::SecurityDatasets];

    pub fn parse(name: &str) -> Option<TextForm> {
        Some(match name {
            "evtx-jsonl" => TextForm::EvtxJsonl,
            "evtx-json" => TextForm::EvtxJson,
            "event-xml" => TextForm::EventXml,
            "winlogbeat" => TextForm::Winlogbeat,
            "security-datasets" => TextForm::SecurityDatasets,
            _ => return None,
        })
    }

    /// The events (`evtx` JSON, and the same records' XML) in this form.
    pub fn write(self, events: &[Value], xml: &[String]) -> Vec<u8> {
        match self {
            TextForm::EvtxJsonl => to_jsonl(events),
            TextForm::EvtxJson => to_pretty_json(events),
            TextForm::EventXml => to_event_xml(xml),
            TextForm::Winlogbeat => to_winlogbeat(events),
            TextForm::SecurityDatasets => to_security_datasets(events),
        }
    }
}

/// Every record the `evtx` crate reads, as its JSON and its XML.
pub fn records(bytes: &[u8]) -> (Vec<Value>, Vec<String>) {
    let settings = ParserSettings::default().num_threads(1);
    let parse = || EvtxParser::from_buffer(bytes.to_vec()).map(|p| p.with_configuration(settings.clone()));
    let Ok(mut parser) = parse() else { return (Vec::new(), Vec::new()) };
    let json: Vec<Value> = parser.records_json_value().filter_map(Result::ok).map(|r| r.data).collect();
    let Ok(mut parser) = parse() else { return (json, Vec::new()) };
    let xml: Vec<String> = parser.records().filter_map(Result::ok).map(|r| r.data).collect();
    (json, xml)
}

/// evtx_dump's JSONL.
fn to_jsonl(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(serde_json::to_string(e).unwrap_or_default().as_bytes());
        out.push(b'\n');
    }
    out
}

/// evtx_dump's JSON: "Record N" and the pretty document.
fn to_pretty_json(events: &[Value]) -> Vec<u8> {
    let mut out = String::new();
    for (i, e) in events.iter().enumerate() {
        out.push_str(&format!("Record {}\n{}\n", i + 1, serde_json::to_string_pretty(e).unwrap_or_default()));
    }
    out.into_bytes()
}

/// Event Viewer's "Save as XML": one `<Events>` element, CRLF line ends.
fn to_event_xml(xml: &[String]) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Events>\r\n");
    for record in xml {
        let body = record.trim_start_matches(|c| c != '>').get(1..).filter(|_| record.starts_with("<?xml")).unwrap_or(record);
        out.push_str(body.trim());
        out.push_str("\r\n");
    }
    out.push_str("</Events>\r\n");
    out.into_bytes()
}

pub fn system<'a>(e: &'a Value, name: &str) -> Option<&'a Value> {
    let v = e.pointer(&format!("/Event/System/{name}"))?;
    Some(v.get("#text").unwrap_or(v))
}

fn attr<'a>(e: &'a Value, element: &str, name: &str) -> Option<&'a Value> {
    e.pointer(&format!("/Event/System/{element}/#attributes/{name}"))
}

/// Winlogbeat writes every event data value as text.
fn as_text(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.iter().map(as_text).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), as_text(v))).collect()),
        other => other.clone(),
    }
}

/// An event's data fields by name, as the event view lifts them.
fn data_fields(e: &Value, section: &str) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(data)) = e.pointer(&format!("/Event/{section}")) {
        for (k, v) in data.iter().filter(|(k, _)| *k != "#attributes") {
            out.insert(k.clone(), v.get("#text").cloned().unwrap_or_else(|| v.clone()));
        }
    }
    out
}

/// Winlogbeat/ECS NDJSON: `winlog.*`, event data as text, the EventID as text too.
fn to_winlogbeat(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let doc = json!({
            "@timestamp": attr(e, "TimeCreated", "SystemTime"),
            "event": {"code": system(e, "EventID").map(as_text), "kind": "event"},
            "winlog": {
                "event_id": system(e, "EventID").map(as_text),
                "channel": system(e, "Channel"),
                "computer_name": system(e, "Computer"),
                "record_id": system(e, "EventRecordID"),
                "provider_name": attr(e, "Provider", "Name"),
                "process": {"pid": attr(e, "Execution", "ProcessID")},
                "event_data": as_text(&Value::Object(data_fields(e, "EventData"))),
                "user_data": as_text(&Value::Object(data_fields(e, "UserData"))),
            }
        });
        out.extend_from_slice(serde_json::to_string(&doc).unwrap_or_default().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Security-Datasets JSON lines: flat, the event data at the top level.
fn to_security_datasets(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let mut doc = Map::new();
        let mut put = |k: &str, v: Option<&Value>| {
            if let Some(v) = v {
                doc.insert(k.into(), v.clone());
            }
        };
        put("EventID", system(e, "EventID"));
        put("Channel", system(e, "Channel"));
        put("Hostname", system(e, "Computer"));
        put("RecordNumber", system(e, "EventRecordID"));
        put("SourceName", attr(e, "Provider", "Name"));
        put("@timestamp", attr(e, "TimeCreated", "SystemTime"));
        for section in ["EventData", "UserData"] {
            for (k, v) in data_fields(e, section) {
                if let Value::Object(inner) = &v {
                    inner.iter().for_each(|(k, v)| {
                        doc.entry(k.clone()).or_insert(v.clone());
                    });
                } else {
                    doc.entry(k).or_insert(v);
                }
            }
        }
        out.extend_from_slice(serde_json::to_string(&doc).unwrap_or_default().as_bytes());
        out.push(b'\n');
    }
    out
}
