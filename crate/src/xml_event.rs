//! One `<Event>` element of Event Viewer's or wevtutil's XML, as the JSON
//! the `evtx` crate renders for the same record (`Event.System.EventID`,
//! attributes under `#attributes`, `EventData` by `Data Name`), so that it
//! gets the same event view as the binary record.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};

/// One element while the tree is built.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Map<String, Value>,
    children: Vec<Element>,
    text: String,
}

/// The element `text` (an `<Event>` with its content) as evtx-style JSON.
pub fn event_json(text: &str) -> Result<Value, String> {
    let root = parse_tree(text)?;
    if root.name != "Event" {
        return Err(format!("expected an <Event> element, found <{}>", root.name));
    }
    let mut event = element_value(&root);
    if let Value::Object(obj) = &mut event {
        obj.remove("#text");
    }
    let mut out = Map::new();
    out.insert("Event".into(), event);
    Ok(Value::Object(out))
}

fn parse_tree(text: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| format!("malformed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => stack.push(open(&start)?),
            Event::Empty(start) => {
                let element = open(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return Ok(element),
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("an end tag without its start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content()),
            Event::CData(c) => push_text(&mut stack, &c.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.xml10_content();
                        resolve_predefined_entity(&name).ok_or_else(|| format!("unknown entity &{name};"))?.to_string()
                    }
                };
                push_text(&mut stack, &resolved);
            }
            Event::Eof => return Err("the element is not closed".into()),
            _ => {}
        }
    }
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(current) = stack.last_mut() {
        current.text.push_str(text);
    }
}

fn open(start: &BytesStart) -> Result<Element, String> {
    let name = start.local_name().as_ref().to_string();
    let mut attributes = Map::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("malformed attribute in <{name}>: {e}"))?;
        let key = attr.key.as_ref().to_string();
        let value = attr.normalized_value(XmlVersion::default()).map_err(|e| format!("attribute {key} of <{name}>: {e}"))?;
        attributes.insert(key, Value::String(value.into_owned()));
    }
    Ok(Element { name, attributes, ..Element::default() })
}

/// An element's JSON: its text alone, or an object of `#attributes`, `#text`
/// and children (repeated names as arrays).
fn element_value(e: &Element) -> Value {
    let text = e.text.trim();
    if e.children.is_empty() && e.attributes.is_empty() {
        return if text.is_empty() { Value::Null } else { Value::String(e.text.clone()) };
    }
    let mut obj = Map::new();
    if !e.attributes.is_empty() {
        obj.insert("#attributes".into(), Value::Object(e.attributes.clone()));
    }
    if e.name == "EventData" {
        add_event_data(e, &mut obj);
    } else {
        for child in &e.children {
            add_child(&mut obj, child.name.clone(), element_value(child));
        }
    }
    if !text.is_empty() && e.children.is_empty() {
        obj.insert("#text".into(), Value::String(e.text.clone()));
    }
    Value::Object(obj)
}

/// `<Data Name="X">v</Data>` as `"X": v`; unnamed `<Data>` values gathered
/// as `"Data": {"#text": [...]}`, as `evtx` renders them.
fn add_event_data(e: &Element, obj: &mut Map<String, Value>) {
    let mut unnamed = Vec::new();
    for child in &e.children {
        let name = child.attributes.get("Name").and_then(Value::as_str);
        match (child.name.as_str(), name) {
            ("Data", Some(name)) => {
                // An empty named value is "" (as `evtx` renders it, and as `Field: ''` rules expect).
                let value = if child.children.is_empty() { Value::String(child.text.clone()) } else { element_value(child) };
                add_child(obj, name.to_string(), value);
            }
            ("Data", None) if child.children.is_empty() => unnamed.push(text_or_null(child)),
            _ => add_child(obj, child.name.clone(), element_value(child)),
        }
    }
    match unnamed.len() {
        0 => {}
        1 => add_child(obj, "Data".into(), serde_json::json!({ "#text": unnamed.remove(0) })),
        _ => add_child(obj, "Data".into(), serde_json::json!({ "#text": unnamed })),
    }
}

fn text_or_null(e: &Element) -> Value {
    if e.text.is_empty() {
        Value::Null
    } else {
        Value::String(e.text.clone())
    }
}

fn add_child(obj: &mut Map<String, Value>, name: String, value: Value) {
    match obj.get_mut(&name) {
        None => {
            obj.insert(name, value);
        }
        Some(Value::Array(list)) => list.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventView;
    use serde_json::json;

    #[test]
    fn an_event_element_gets_the_view_of_its_binary_record() {
        let xml = r#"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
            <Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"/>
            <EventID Qualifiers="">10</EventID><Level>4</Level>
            <TimeCreated SystemTime="2019-03-17T19:09:41.3288680Z"/><EventRecordID>4434</EventRecordID>
            <Execution ProcessID="1904" ThreadID="2004"/><Channel>Microsoft-Windows-Sysmon/Operational</Channel>
            <Computer>IEWIN7</Computer></System>
            <EventData><Data Name="TargetImage">C:\Windows\system32\lsass.exe</Data>
            <Data Name="CallTrace">a&amp;b&#x41;<![CDATA[<c>]]></Data><Data Name="Empty"/></EventData></Event>"#;
        let view = EventView::from_rendered(&event_json(xml).unwrap());
        let b = view.basics();
        assert_eq!((b.event_id, b.event_record_id), (Some(10), Some(4434)));
        assert_eq!(b.time_created.as_deref(), Some("2019-03-17T19:09:41.3288680Z"));
        assert_eq!(view.fields["Provider_Name"], json!("Microsoft-Windows-Sysmon"));
        assert_eq!(view.fields["ExecutionProcessID"], json!(1904));
        assert_eq!(view.fields["Level"], json!(4));
        assert_eq!(view.fields["TargetImage"], json!("C:\\Windows\\system32\\lsass.exe"));
        assert_eq!(view.fields["CallTrace"], json!("a&bA<c>"));
        assert_eq!(view.fields["Empty"], json!(""));
    }

    #[test]
    fn unnamed_data_and_user_data_nest_as_evtx_renders_them() {
        let xml = "<Event><System><EventID>104</EventID></System><EventData><Data>one</Data><Data>two</Data></EventData></Event>";
        let full = event_json(xml).unwrap();
        assert_eq!(full["Event"]["EventData"], json!({"Data": {"#text": ["one", "two"]}}));
        assert_eq!(EventView::from_rendered(&full).fields["Data"], json!(["one", "two"]));
        let xml = "<Event><UserData><LogFileCleared xmlns=\"x\"><SubjectUserName>bob</SubjectUserName></LogFileCleared></UserData></Event>";
        assert_eq!(EventView::from_rendered(&event_json(xml).unwrap()).fields["SubjectUserName"], json!("bob"));
        assert!(event_json("<Event><System></Event>").unwrap_err().starts_with("malformed XML"));
    }
}
