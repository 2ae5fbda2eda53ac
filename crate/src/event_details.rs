//! The few named fields a story event keeps, in name order: a sorted list,
//! not a `BTreeMap`. A map's first node reserves room for 11 pairs (about
//! 540 bytes) and an incident's event keeps one to three: the 1 GiB bench
//! log's 305 incidents hold 209,981 events. It reads and writes as a JSON map.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details(Vec<(String, String)>);

impl Details {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).ok().map(|i| self.0[i].1.as_str())
    }

    /// Sets `name` to `value` (replacing an earlier value of it).
    pub fn insert(&mut self, name: String, value: String) {
        match self.position(&name) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    /// Keeps the details `keep` says yes to, and gives back the room of the others.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(name, value)| keep(name, value));
        self.0.shrink_to_fit();
    }

    /// Name and value, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }
}

impl FromIterator<(String, String)> for Details {
    /// As a map collects them: in name order, the last value of a name kept.
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut details = Details(Vec::new());
        pairs.into_iter().for_each(|(name, value)| details.insert(name, value));
        details.0.shrink_to_fit();
        details
    }
}

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<String, String>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(pairs: &[(&str, &str)]) -> Details {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn holds_one_value_per_name_in_name_order_as_a_map_does() {
        let d = details(&[("Image", "a.exe"), ("CommandLine", "a"), ("Image", "b.exe")]);
        assert_eq!(d.iter().collect::<Vec<_>>(), vec![("CommandLine", "a"), ("Image", "b.exe")]);
        assert_eq!(d.get("Image"), Some("b.exe"));
        assert_eq!(d.get("User"), None);
    }

    #[test]
    fn retain_keeps_what_it_is_told_in_order() {
        let mut d = details(&[("C", "3"), ("A", "1"), ("B", "2")]);
        d.retain(|name, _| name != "B");
        assert_eq!(d.names().collect::<Vec<_>>(), vec!["A", "C"]);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn reads_and_writes_as_a_json_map() {
        let d = details(&[("TargetImage", "C:\\lsass.exe"), ("GrantedAccess", "0x1fffff")]);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, r#"{"GrantedAccess":"0x1fffff","TargetImage":"C:\\lsass.exe"}"#);
        assert_eq!(serde_json::from_str::<Details>(&json).unwrap(), d);
    }
}
