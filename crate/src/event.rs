//! The event view: one EVTX record as the flat field map Sigma rules expect.
//!
//! The `evtx` crate renders a record as nested JSON (`Event.System.EventID`,
//! `Event.EventData.TargetImage`, attributes under `#attributes`). Sigma rules
//! for Windows name fields flat (`EventID`, `Channel`, `Provider_Name`,
//! `Computer`, `TargetImage`), so the view lifts the System basics and every
//! EventData / UserData field to the top level.

use serde_json::{Map, Value};

mod json_lift;

/// One event as the rules see it. The full event is not kept: what shows
/// it reads it again from the file (see `reread`).
#[derive(Debug, Clone)]
pub struct EventView {
    /// The flat field map the rule engine sees (a JSON object).
    pub fields: Value,
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
    pub fn from_rendered(full: &Value) -> Self {
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
        Self::from_fields(fields)
    }

    /// Builds the view from the JSON text the `evtx` crate renders for a
    /// record: always the view [`EventView::from_rendered`] gives, mostly
    /// by [`EventView::lifted_while_parsing`]. On 64 MiB of the Sysmon bench
    /// log (`render_split` example) the fields cost 0.51 s this way and
    /// 0.70 s through the tree.
    pub fn from_evtx_json(text: &[u8]) -> serde_json::Result<Self> {
        match Self::lifted_while_parsing(text) {
            Some(view) => Ok(view),
            None => Ok(Self::from_rendered(&serde_json::from_slice(text)?)),
        }
    }

    /// The view, lifted while the JSON is parsed: no tree of the whole
    /// event is built, values move instead of being copied, and members
    /// other than `System`, `EventData` and `UserData` are skipped unbuilt.
    /// `None` where that could give another view than the tree (sections
    /// out of order, a name met twice, other shapes, bad JSON).
    pub fn lifted_while_parsing(text: &[u8]) -> Option<Self> {
        // Checked once here, the text's strings are not checked one by one.
        let text = std::str::from_utf8(text).ok()?;
        let mut fields = Map::with_capacity(SYSTEM_FIELDS + 32);
        let mut de = serde_json::Deserializer::from_str(text);
        serde::de::DeserializeSeed::deserialize(json_lift::Record(&mut fields), &mut de).and_then(|()| de.end()).ok()?;
        Some(Self::from_fields(fields))
    }

    /// Builds the view from flat fields mapped from another format. System numbers given as text
    /// (`"EventID": "4688"`) become numbers, as EVTX records have them.
    pub fn from_fields(mut fields: Map<String, Value>) -> Self {
        for name in SYSTEM_NUMBERS {
            if let Some(v) = fields.get_mut(*name) {
                if let (Value::String(_), Some(n)) = (&*v, as_number(v)) {
                    *v = Value::from(n);
                }
            }
        }
        crate::logsource::windows().add_rule_names(&mut fields);
        EventView { fields: Value::Object(fields) }
    }

    /// Reads the fields of [`BASIC_FIELDS`].
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

/// The fields [`EventView::basics`] reads.
pub const BASIC_FIELDS: &[&str] = &["EventID", "EventRecordID", "TimeCreated", "Computer", "Channel", "Provider_Name"];

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

    /// The view both ways, and whether the quick way gave it.
    fn both_ways(text: &str) -> (Value, Value, bool) {
        let slow = EventView::from_rendered(&serde_json::from_str(text).unwrap()).fields;
        let quick = EventView::lifted_while_parsing(text.as_bytes());
        let lifted = quick.is_some();
        let fast = EventView::from_evtx_json(text.as_bytes()).unwrap().fields;
        // Compared as text, so the field order counts too.
        assert_eq!(fast.to_string(), slow.to_string(), "{text}");
        (fast, slow, lifted)
    }

    #[test]
    fn lifting_while_parsing_gives_the_view_of_the_tree() {
        let record = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"P"}},
            "EventID":{"#attributes":{"Qualifiers":0},"#text":4688},"Channel":"Security","Computer":"WS"},
            "EventData":{"NewProcessName":"C:\\x.exe","Target Name":"t","Data":{"#attributes":{"Name":"n"},"#text":"v"}},
            "RenderingInfo":{"Message":"skipped"}}}"##;
        let (fields, _, lifted) = both_ways(record);
        assert!(lifted);
        assert_eq!(fields["EventID"], json!(4688));
        assert_eq!(fields["Image"], json!("C:\\x.exe"), "Security 4688's mapped name");
        assert_eq!(fields["TargetName"], json!("t"), "spaced names answer without spaces");
        assert_eq!(fields["Data"], json!("v"));
        let user_data =
            r##"{"Event":{"System":{"EventID":104},"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"u"},"SubjectUserName":"bob"}}}}"##;
        let (fields, _, lifted) = both_ways(user_data);
        assert!(lifted);
        assert_eq!(fields["SubjectUserName"], json!("bob"));
        assert!(both_ways(r##"{"Event":{"System":{"EventID":1},"EventData":null}}"##).2);
    }

    #[test]
    fn shapes_where_lifting_could_differ_are_read_through_the_tree() {
        for text in [
            // A name twice in one object: the tree keeps the last.
            r#"{"Event":{"System":{"EventID":1},"EventData":{"A":"first","A":"second"}}}"#,
            // A data field named as a System one: the System field wins.
            r#"{"Event":{"System":{"Computer":"real"},"EventData":{"Computer":"spoof"}}}"#,
            // Sections out of the order the view lifts them in.
            r#"{"Event":{"EventData":{"A":"a"},"System":{"EventID":1}}}"#,
            // An element and a field of one name.
            r#"{"Event":{"UserData":{"X":"leaf","X":{"B":"b"}}}}"#,
            r#"{"Event":{"UserData":{"X":{"B":"b"},"X":"leaf"}}}"#,
            // Other shapes.
            r#"{"Event":{"System":{"EventID":1},"EventData":"text"}}"#,
            r#"{"Event":"text"}"#,
            r#"{"Event":{"System":{"EventID":1}},"Event":{"System":{"EventID":2}}}"#,
            r#"[1]"#,
        ] {
            assert!(!both_ways(text).2, "{text}");
        }
        assert_eq!(both_ways(r#"{"Event":{"System":{"Computer":"real"},"EventData":{"Computer":"spoof"}}}"#).0["Computer"], json!("real"));
        assert!(EventView::from_evtx_json(b"{\"Event\": ").is_err());
    }

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
        let view = EventView::from_rendered(&full);
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
