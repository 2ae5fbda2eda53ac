//! Serde visitors that lift a rendered record's fields into the flat view
//! while its JSON is parsed (see [`super::EventView::from_evtx_json`]).
//!
//! They give the view [`super::EventView::from_rendered`] gives, or fail so
//! the caller reads the slow way. Parsed into a tree, a JSON object keeps
//! the last of two same-named members, and the lift lets an earlier field
//! win over a later one; lifting while parsing cannot tell those cases
//! apart, so any name met twice fails here (evtx writes repeated names
//! with `_1`, `_2` suffixes, so this is rare).

use serde::de::{DeserializeSeed, Error, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;

type Fields = Map<String, Value>;

/// The whole record: `{"Event": {...}}`.
pub(super) struct Record<'a>(pub &'a mut Fields);

/// The members of `Event` the view lifts, named without allocating.
#[derive(Deserialize)]
enum EventMember {
    System,
    EventData,
    UserData,
    #[serde(other)]
    Other,
}

impl<'de> DeserializeSeed<'de> for Record<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Record<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a rendered record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen_event = false;
        while let Some(key) = map.next_key::<String>()? {
            if key != "Event" {
                map.next_value::<IgnoredAny>()?;
            } else if std::mem::replace(&mut seen_event, true) {
                return Err(A::Error::custom("two Event members"));
            } else {
                map.next_value_seed(Event(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

/// `Event`: System first, then EventData, then UserData, as the view lifts them.
struct Event<'a>(&'a mut Fields);

impl<'de> DeserializeSeed<'de> for Event<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Event<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // 0: nothing lifted yet; 1: System; 2: EventData; 3: UserData.
        let mut lifted = 0;
        while let Some(member) = map.next_key::<EventMember>()? {
            let place = match member {
                EventMember::System => 1,
                EventMember::EventData => 2,
                EventMember::UserData => 3,
                EventMember::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if place <= lifted {
                return Err(A::Error::custom("Event members out of the lifted order, or repeated"));
            }
            lifted = place;
            if place == 1 {
                super::lift_system(&map.next_value::<Value>()?, self.0);
            } else {
                map.next_value_seed(Section(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

/// `EventData` or `UserData`: each member lifted by its own name.
struct Section<'a>(&'a mut Fields);

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an EventData or UserData object, or null")
    }
    fn visit_unit<E: Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Members that are elements of their own (UserData's), whose leaves
        // were lifted in their place: usually none.
        let mut elements: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Value>()?;
            if key == "#attributes" {
                continue;
            }
            if elements.contains(&key) {
                return Err(A::Error::custom("a member named twice"));
            }
            let lifted = match value {
                Value::Object(inner) if !inner.contains_key("#text") => {
                    if self.0.contains_key(&key) {
                        return Err(A::Error::custom("an element named as a lifted field"));
                    }
                    super::lift_data(&Value::Object(inner), self.0);
                    elements.push(key);
                    continue;
                }
                Value::Object(mut inner) => inner.remove("#text").unwrap_or(Value::Null),
                other => other,
            };
            match self.0.entry(key) {
                serde_json::map::Entry::Vacant(v) => {
                    v.insert(lifted);
                }
                // A System name, an earlier section's or a repeat in this one: the slow way tells them apart.
                serde_json::map::Entry::Occupied(_) => return Err(A::Error::custom("a name lifted twice")),
            }
        }
        Ok(())
    }
}
