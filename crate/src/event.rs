//! The event view: one EVTX record as the flat field map Sigma rules expect.
//!
//! The `evtx` crate renders a record as nested JSON (`Event.System.EventID`,
//! `Event.EventData.TargetImage`, attributes under `#attributes`). Sigma rules
//! for Windows name fields flat (`EventID`, `Channel`, `Provider_Name`,
//! `Computer`, `TargetImage`), so the view lifts the System basics and every
//! EventData / UserData field to the top level.

use serde_json::{Map, Value};

/// A rendered record plus its flat view.
#[derive(Debug, Clone)]
pub struct EventView {
    /// The flat field map the rule engine sees (a JSON object).
    pub fields: Value,
    /// The full event as the `evtx` crate renders it.
    pub full: Value,
}

/// The System basics every finding and statistic needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemBasics {
    pub event_id: Option<u64>,
    pub event_record_id: Option<u64>,
    pub time_created: Option<String>,
    pub computer: Option<String>,
    pub channel: Option<String>,
    pub provider: Option<String>,
}

impl EventView {
    /// Builds the view from the JSON the `evtx` crate renders for a record.
    pub fn from_rendered(full: Value) -> Self {
        // Sized up front: grown from empty, the map's reallocations were a
        // third of building a view (a Sysmon record has about 35 fields).
        let data_len = |section: &str| full.get("Event").and_then(|e| e.get(section)).and_then(Value::as_object).map_or(0, Map::len);
        let mut fields = Map::with_capacity(SYSTEM_FIELDS + data_len("EventData") + data_len("UserData"));
        if let Some(event) = full.get("Event") {
            if let Some(system) = event.get("System") {
                lift_system(system, &mut fields);
            }
            for section in ["EventData", "UserData"] {
                if let Some(data) = event.get(section) {
                    lift_data(data, &mut fields);
                }
            }
        }
        Self::from_fields(fields, full)
    }

    /// Builds the view from flat fields mapped from another format (`full`
    /// is the document as it came). System numbers given as text
    /// (`"EventID": "4688"`) become numbers, as EVTX records have them.
    pub fn from_fields(mut fields: Map<String, Value>, full: Value) -> Self {
        for name in SYSTEM_NUMBERS {
            if let Some(v) = fields.get_mut(*name) {
                if let (Value::String(_), Some(n)) = (&*v, as_number(v)) {
                    *v = Value::from(n);
                }
            }
        }
        crate::logsource::windows().add_rule_names(&mut fields);
        EventView { fields: Value::Object(fields), full }
    }

    pub fn basics(&self) -> SystemBasics {
        let text = |k: &str| self.fields.get(k).and_then(scalar_text);
        SystemBasics {
            event_id: self.fields.get("EventID").and_then(Value::as_u64),
            event_record_id: self.fields.get("EventRecordID").and_then(Value::as_u64),
            time_created: text("TimeCreated"),
            computer: text("Computer"),
            channel: text("Channel"),
            provider: text("Provider_Name"),
        }
    }

    /// A field's value as display text, if the view has it.
    pub fn field_text(&self, name: &str) -> Option<String> {
        self.fields.get(name).and_then(scalar_text)
    }
}

/// The System fields that are numbers in an EVTX record.
const SYSTEM_NUMBERS: &[&str] =
    &["EventID", "EventRecordID", "Version", "Level", "Task", "Opcode", "ExecutionProcessID", "ExecutionThreadID"];

/// A number, or a text of decimal digits (as text exports give them).
pub fn as_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Renders a scalar JSON value as plain text (strings without quotes).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("#attributes").and_then(|a| a.get(name))
}

/// An element's own value: `EventID` is `4624` or `{"#attributes": {...}, "#text": 4624}`.
fn element_value(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(o) => o.get("#text"),
        Value::Null => None,
        other => Some(other),
    }
}

/// The most fields `lift_system` lifts.
const SYSTEM_FIELDS: usize = 16;

fn lift_system(system: &Value, out: &mut Map<String, Value>) {
    if let Some(provider) = system.get("Provider") {
        for (attr_name, field) in [("Name", "Provider_Name"), ("Guid", "Provider_Guid")] {
            if let Some(v) = attr(provider, attr_name) {
                out.insert(field.into(), v.clone());
            }
        }
    }
    if let Some(id) = system.get("EventID").and_then(element_value) {
        out.insert("EventID".into(), id.clone());
    }
    for name in ["Version", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Channel", "Computer"] {
        if let Some(v) = system.get(name).and_then(element_value) {
            out.insert(name.into(), v.clone());
        }
    }
    if let Some(t) = system.get("TimeCreated").and_then(|t| attr(t, "SystemTime")) {
        out.insert("TimeCreated".into(), t.clone());
    }
    if let Some(exec) = system.get("Execution") {
        for (attr_name, field) in [("ProcessID", "ExecutionProcessID"), ("ThreadID", "ExecutionThreadID")] {
            if let Some(v) = attr(exec, attr_name) {
                out.insert(field.into(), v.clone());
            }
        }
    }
    if let Some(v) = system.get("Security").and_then(|s| attr(s, "UserID")) {
        out.insert("UserID".into(), v.clone());
    }
}

/// Lifts EventData / UserData leaves by their own names. Earlier names win
/// (System basics are never overwritten by a data field of the same name).
fn lift_data(data: &Value, out: &mut Map<String, Value>) {
    let Value::Object(map) = data else {
        if !data.is_null() {
            out.entry("Data").or_insert_with(|| data.clone());
        }
        return;
    };
    for (key, value) in map {
        if key == "#attributes" {
            continue;
        }
        match value {
            // UserData nests one element per provider: lift its leaves.
            Value::Object(inner) if !inner.contains_key("#text") => lift_data(value, out),
            Value::Object(inner) => {
                if let Some(text) = inner.get("#text") {
                    out.entry(key.clone()).or_insert_with(|| text.clone());
                }
            }
            other => {
                out.entry(key.clone()).or_insert_with(|| other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lifts_system_and_event_data_to_flat_names() {
        let full = json!({"Event": {
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 10},
                "EventRecordID": 4434,
                "TimeCreated": {"#attributes": {"SystemTime": "2019-03-17T19:09:41.328868Z"}},
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "IEWIN7"
            },
            "EventData": {"TargetImage": "C:\\Windows\\system32\\lsass.exe", "Computer": "spoof"},
            "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}}
        }});
        let view = EventView::from_rendered(full);
        assert_eq!(view.fields["EventID"], json!(10));
        assert_eq!(view.fields["Provider_Name"], json!("Microsoft-Windows-Sysmon"));
        assert_eq!(view.fields["TargetImage"], json!("C:\\Windows\\system32\\lsass.exe"));
        assert_eq!(view.fields["Computer"], json!("IEWIN7"));
        assert_eq!(view.fields["SubjectUserName"], json!("bob"));
        let b = view.basics();
        assert_eq!(b.event_id, Some(10));
        assert_eq!(b.event_record_id, Some(4434));
        assert_eq!(b.time_created.as_deref(), Some("2019-03-17T19:09:41.328868Z"));
    }
}
