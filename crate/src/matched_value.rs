//! The value a matched field had, kept small: a finding holds two or three
//! of them, and a run may hold hundreds of thousands of findings. A
//! `serde_json::Value` is 72 bytes here (`preserve_order`); text is kept as
//! its own box (16 bytes and the text), anything else as its JSON text.
//! It reads and writes as the JSON value it stands for.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchedValue {
    Text(Box<str>),
    /// A number, bool, null, list or map, as JSON text.
    Other(Box<str>),
}

impl MatchedValue {
    pub fn new(value: Value) -> Self {
        match value {
            Value::String(s) => MatchedValue::Text(s.into_boxed_str()),
            other => MatchedValue::Other(other.to_string().into_boxed_str()),
        }
    }

    /// The value as JSON.
    pub fn json(&self) -> Value {
        match self {
            MatchedValue::Text(s) => Value::String(s.to_string()),
            MatchedValue::Other(json) => serde_json::from_str(json).expect("kept as printed JSON"),
        }
    }

    /// The value as shown: text as it is, anything else as JSON; `None` for null.
    pub fn text(&self) -> Option<String> {
        match self {
            MatchedValue::Text(s) => Some(s.to_string()),
            MatchedValue::Other(_) => crate::event::scalar_text(&self.json()),
        }
    }
}

/// As JSON text (as `Value`'s `Display` prints it).
impl std::fmt::Display for MatchedValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchedValue::Text(s) => write!(f, "{}", Value::String(s.to_string())),
            MatchedValue::Other(json) => f.write_str(json),
        }
    }
}

impl Serialize for MatchedValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MatchedValue::Text(s) => serializer.serialize_str(s),
            other => other.json().serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for MatchedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(MatchedValue::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_writes_as_the_json_value_it_stands_for() {
        for v in [json!("C:\\Windows\\system32\\lsass.exe"), json!(4688), json!(true), json!(null), json!([1, "a"])] {
            let m = MatchedValue::new(v.clone());
            assert_eq!(m.json(), v);
            assert_eq!(m.to_string(), v.to_string());
            let printed = serde_json::to_string(&m).unwrap();
            assert_eq!(printed, v.to_string());
            assert_eq!(serde_json::from_str::<MatchedValue>(&printed).unwrap(), m);
        }
    }

    #[test]
    fn shows_text_as_it_is_and_null_as_nothing() {
        assert_eq!(MatchedValue::new(json!("a \"b\"")).text().as_deref(), Some("a \"b\""));
        assert_eq!(MatchedValue::new(json!(10)).text().as_deref(), Some("10"));
        assert_eq!(MatchedValue::new(json!(null)).text(), None);
    }
}
