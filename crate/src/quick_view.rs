//! The event view of a record, read straight from its BinXML template
//! instance, without rendering the record to JSON and parsing that again.
//!
//! With a rule pack, most records are candidates, and building their view
//! the long way (render JSON, parse it into the view) took more time than
//! rendering it (`render_split` example: 0.35 s to render, 0.72 s to parse,
//! on 64 MiB of the Sysmon bench log). Windows writes nearly every record
//! as a template instance, so the view is a fixed plan per template (which
//! substitution fills which field) plus each record's values.
//!
//! Like [`crate::quick`], this gives up (`None`) on anything whose JSON it
//! does not know for certain: empty or null values, UserData, unnamed or
//! repeated fields, nested BinXML, arrays, floats, ANSI text. The caller
//! then renders the record as before, so the view is always the one
//! [`EventView::from_evtx_json`] gives (the `quick_view` test compares the
//! two on every record of the corpus).

use crate::event::EventView;
use crate::quick::{size_fits_type, u32_at, Cursor};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// Text written into the template itself.
    Constant(String),
    /// Substitution value number N of each record.
    Value(u16),
}

/// One piece of an element's content or of an attribute's value.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Source(Source),
    /// Character or entity references, CDATA, processing instructions.
    Other,
}

/// A template's element, as its definition writes it.
#[derive(Debug, Default)]
struct Element {
    name: String,
    /// The substitution whose NULL leaves this element out.
    dependency: Option<u16>,
    attributes: Vec<(String, Piece)>,
    content: Vec<Piece>,
    children: Vec<Element>,
}

/// Which value fills each field of the view, in the view's order.
#[derive(Debug)]
struct Plan {
    system: Vec<SystemField>,
    data: Data,
}

/// A System field: where its value comes from, and the value whose NULL
/// leaves its element out.
#[derive(Debug)]
struct SystemField {
    field: &'static str,
    source: Source,
    dependency: Option<u16>,
}

/// Named Data fields, in template order, and where each value comes from.
type DataFields = Vec<(String, Source)>;

/// Where a template's EventData comes from.
#[derive(Debug)]
enum Data {
    None,
    Fields(DataFields),
    /// A value holding a template instance of an `EventData` element.
    Nested(u16),
}

/// The System fields the view lifts, in the order [`EventView`] inserts
/// them: (element, attribute or `None` for its content, field).
const SYSTEM_FIELDS: &[(&str, Option<&str>, &str)] = &[
    ("Provider", Some("Name"), "Provider_Name"),
    ("Provider", Some("Guid"), "Provider_Guid"),
    ("EventID", None, "EventID"),
    ("Version", None, "Version"),
    ("Level", None, "Level"),
    ("Task", None, "Task"),
    ("Opcode", None, "Opcode"),
    ("Keywords", None, "Keywords"),
    ("EventRecordID", None, "EventRecordID"),
    ("Channel", None, "Channel"),
    ("Computer", None, "Computer"),
    ("TimeCreated", Some("SystemTime"), "TimeCreated"),
    ("Execution", Some("ProcessID"), "ExecutionProcessID"),
    ("Execution", Some("ThreadID"), "ExecutionThreadID"),
    ("Security", Some("UserID"), "UserID"),
];

/// Whether `field` is a System field of the view (one of [`SYSTEM_FIELDS`]).
pub fn is_system_field(field: &str) -> bool {
    SYSTEM_FIELDS.iter().any(|&(_, _, name)| name == field)
}

/// The plans of one chunk's templates, by definition offset (`None`: a
/// template this module does not read).
#[derive(Default)]
pub struct ChunkViews {
    plans: HashMap<u32, Option<Rc<Plan>>>,
    /// The plans of EventData templates, instanced inside a value.
    data_plans: HashMap<u32, Option<Rc<DataFields>>>,
}

/// Room for a view's EventData fields, made with its System fields.
const DATA_ROOM: usize = 32;

impl ChunkViews {
    /// The view of the record at `offset` (its `size` bytes) of `chunk`,
    /// or `None` to render it instead.
    pub fn view(&mut self, chunk: &[u8], offset: usize, size: usize) -> Option<EventView> {
        let (plan, values, mut fields) = self.system_part(chunk, offset, size, DATA_ROOM, |_| true)?;
        match &plan.data {
            Data::None => {}
            Data::Fields(data) => add_data(&mut fields, chunk, data, &values)?,
            Data::Nested(i) => {
                // Windows writes EventData as a template instance of its own, in one value.
                let &(kind, from, to) = values.get(*i as usize)?;
                if is_null((kind, from, to)) {
                    return Some(EventView::from_fields(fields));
                }
                if kind != 0x21 {
                    return None;
                }
                let (def, inner) = instance_values(chunk, from, to, true)?;
                let data = self.data_plans.entry(def).or_insert_with(|| event_data_plan(chunk, def as usize).map(Rc::new)).clone()?;
                add_data(&mut fields, chunk, &data, &inner)?;
            }
        }
        Some(EventView::from_fields(fields))
    }

    /// The view of the record's System fields alone: `needed` and those
    /// [`EventView::basics`] reads. For rules that read only those, it is as
    /// good as the whole view when the record has each of them (a data field
    /// never takes the place of a System field the record has). `None` when
    /// one is missing, to read the whole view instead.
    pub fn system_view(&mut self, chunk: &[u8], offset: usize, size: usize, needed: &[String]) -> Option<EventView> {
        let wanted = |field: &str| crate::event::BASIC_FIELDS.contains(&field) || needed.iter().any(|n| n == field);
        let (_, _, fields) = self.system_part(chunk, offset, size, 0, wanted)?;
        let has_all = crate::event::BASIC_FIELDS.iter().all(|f| fields.contains_key(*f)) && needed.iter().all(|f| fields.contains_key(f));
        has_all.then(|| EventView::from_fields(fields))
    }

    /// The record's template plan, its values, and the System fields `wanted`,
    /// in a map with room for `more` fields.
    fn system_part(&mut self, chunk: &[u8], offset: usize, size: usize, more: usize, wanted: impl Fn(&str) -> bool) -> Option<SystemPart> {
        let (start, end) = (offset + 24, (offset + size).checked_sub(4)?);
        let (def, values) = instance_values(chunk, start, end, false)?;
        let plan = self.plans.entry(def).or_insert_with(|| event_plan(chunk, def as usize).map(Rc::new)).clone()?;
        let mut fields = Map::with_capacity(plan.system.len() + more);
        for f in plan.system.iter().filter(|f| wanted(f.field)) {
            let left_out = f.dependency.is_some_and(|d| values.get(d as usize).is_none_or(|&v| is_null(v)));
            // An empty value leaves the field out of the JSON (`null`, or no attribute).
            if let Some(value) = if left_out { None } else { value_of(chunk, &f.source, &values)? } {
                fields.insert(f.field.into(), value);
            }
        }
        Some((plan, values, fields))
    }
}

/// Adds the EventData fields; earlier names win, as in the view (a System
/// field is never overwritten).
fn add_data(fields: &mut Map<String, Value>, chunk: &[u8], data: &[(String, Source)], values: &[Substitution]) -> Option<()> {
    for (name, source) in data {
        if !fields.contains_key(name) {
            // A named Data's empty value is written `""`.
            let value = value_of(chunk, source, values)?.unwrap_or_else(|| Value::String(String::new()));
            fields.insert(name.clone(), value);
        }
    }
    Some(())
}

/// A substitution value: its type, and where its bytes start and end in the chunk.
type Substitution = (u8, usize, usize);

/// A record's template plan, its values, and its System fields read so far.
type SystemPart = (Rc<Plan>, Vec<Substitution>, Map<String, Value>);

/// A source's value as the JSON has it: `Some(None)` when empty (as the
/// renderer decides it), `None` when this module cannot tell.
fn value_of(chunk: &[u8], source: &Source, values: &[Substitution]) -> Option<Option<Value>> {
    match source {
        Source::Constant(text) => Some(Some(Value::String(text.clone()))),
        Source::Value(i) => {
            let &(kind, from, to) = values.get(*i as usize)?;
            let data = &chunk[from..to];
            if is_empty(kind, data)? {
                return Some(None);
            }
            json_value(kind, data).map(Some)
        }
    }
}

/// Whether the renderer takes a value as empty (`None`: ANSI text, which
/// needs its code page to tell).
fn is_empty(kind: u8, data: &[u8]) -> Option<bool> {
    Some(match kind {
        0x00 => true,
        0x01 => data.is_empty() || data.starts_with(&[0, 0]),
        0x02 => return None,
        0x0e | 0x21 => data.is_empty(),
        _ => false,
    })
}

/// Whether a value is NULL, which leaves out the elements that depend on it.
fn is_null((kind, from, to): Substitution) -> bool {
    kind == 0x00 || (kind == 0x21 && from == to)
}

/// A template instance's definition offset and values, from its fragment
/// header on (a nested one may go without), when the end token follows
/// the values.
fn instance_values(chunk: &[u8], start: usize, end: usize, nested: bool) -> Option<(u32, Vec<Substitution>)> {
    let instance = match chunk.get(start..end)? {
        [0x0f, _, _, _, 0x0c, ..] => start + 4,
        [0x0c, ..] if nested => start,
        _ => return None,
    };
    let def = u32_at(chunk, instance + 6)?;
    let mut p = instance + 10;
    if def as usize == p {
        // The definition is inline here: skip it (next 4, GUID 16, size 4, data).
        p = p.checked_add(24 + u32_at(chunk, p + 20)? as usize)?;
    }
    let count = u32_at(chunk, p)? as usize;
    let descriptors = p + 4;
    if count > 4096 || descriptors + count * 4 > end {
        return None;
    }
    let mut value = descriptors + count * 4;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let d = descriptors + i * 4;
        let size = u16::from_le_bytes([chunk[d], chunk[d + 1]]) as usize;
        let kind = chunk[d + 2];
        if value + size > end || !size_fits_type(kind, &chunk[value..value + size]) {
            return None;
        }
        out.push((kind, value, value + size));
        value += size;
    }
    // After the values, the end token: the parser reads no further (Windows
    // leaves stale bytes after it in some records).
    (value == end || chunk[value] == 0x00).then_some((def, out))
}

/// A value as the `evtx` crate's JSON has it, for the types whose text is
/// certain; `None` for the rest (and for empty values, which it writes as
/// `null` or `""` depending on the template).
fn json_value(kind: u8, data: &[u8]) -> Option<Value> {
    let le = |n: usize| -> Option<[u8; 8]> {
        let mut b = [0; 8];
        b[..n].copy_from_slice(data.get(..n)?);
        Some(b)
    };
    Some(match kind {
        0x01 => Value::String(utf16_text(data)?),
        0x03 => Value::from(data[0] as i8),
        0x04 => Value::from(data[0]),
        0x05 => Value::from(i16::from_le_bytes([data[0], data[1]])),
        0x06 => Value::from(u16::from_le_bytes([data[0], data[1]])),
        0x07 => Value::from(i32::from_le_bytes(data.try_into().ok()?)),
        0x08 => Value::from(u32::from_le_bytes(data.try_into().ok()?)),
        0x09 => Value::from(i64::from_le_bytes(data.try_into().ok()?)),
        0x0a => Value::from(u64::from_le_bytes(data.try_into().ok()?)),
        0x0d => match i32::from_le_bytes(data.try_into().ok()?) {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            raw => Value::from(raw),
        },
        0x0f => Value::String(guid_text(data.try_into().ok()?)),
        0x11 => {
            let ft = u64::from_le_bytes(le(8)?);
            // Past year 9999 (or i64) the renderer's digits wrap: leave those to it.
            if ft >= 2_650_467_744_000_000_000 {
                return None;
            }
            Value::String(crate::quick::format_filetime(ft))
        }
        0x13 => Value::String(sid_text(data)?),
        0x14 => Value::String(format!("0x{:x}", u32::from_le_bytes(data.try_into().ok()?))),
        0x15 => Value::String(format!("0x{:x}", u64::from_le_bytes(data.try_into().ok()?))),
        _ => return None,
    })
}

/// UTF-16 text up to its first NUL, as the renderer reads it; `None` for
/// unpaired surrogates (the renderer's business). Most text is ASCII: that
/// is copied unit by unit, with no `Vec<u16>` in between (`String::from_utf16`
/// over a collected `Vec` was the largest cost of a quick view in perf).
fn utf16_text(data: &[u8]) -> Option<String> {
    let units = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|&u| u != 0);
    let mut out = String::with_capacity(data.len() / 2);
    for (i, unit) in units.clone().enumerate() {
        if unit >= 0x80 {
            let rest = char::decode_utf16(units.skip(i));
            for c in rest {
                out.push(c.ok()?);
            }
            return Some(out);
        }
        out.push(unit as u8 as char);
    }
    Some(out)
}

/// `{d1-d2-d3-d4[0..2]-d4[2..8]}` in lower case, data1-3 little-endian, as Windows writes a GUID.
fn guid_text(b: &[u8; 16]) -> String {
    format!(
        "{{{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// `S-R-A-S1-..-Sn`: revision, 48-bit big-endian authority, little-endian sub-authorities.
fn sid_text(b: &[u8]) -> Option<String> {
    let &[revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = b else { return None };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    let mut out = format!("S-{revision}-{authority}");
    for sub in subs.chunks_exact(4).take(count as usize) {
        out.push_str(&format!("-{}", u32::from_le_bytes(sub.try_into().ok()?)));
    }
    Some(out)
}

/// The element a template defines at `def` (next offset 4, GUID 16, size 4, BinXML).
fn template_element(chunk: &[u8], def: usize) -> Option<Element> {
    let size = u32_at(chunk, def.checked_add(20)?)? as usize;
    let mut reader = TemplateReader { c: Cursor { chunk, pos: def + 24, end: (def + 24).checked_add(size)?.min(chunk.len()) } };
    reader.fragment()
}

/// The plan of an `Event` of a `System` and either an `EventData` of named
/// `Data` elements, one value holding it, or neither; `None` for any other shape.
fn event_plan(chunk: &[u8], def: usize) -> Option<Plan> {
    let event = template_element(chunk, def)?;
    if event.name != "Event" {
        return None;
    }
    let (system, data) = match (event.children.as_slice(), event.content.as_slice()) {
        ([system], []) => (system, Data::None),
        ([system], [Piece::Source(Source::Value(i))]) => (system, Data::Nested(*i)),
        ([system, data], []) if data.name == "EventData" => (system, Data::Fields(data_plan(data)?)),
        _ => return None,
    };
    (system.name == "System").then_some(())?;
    Some(Plan { system: system_plan(system)?, data })
}

/// The plan of a template of one `EventData` element (instanced in a value).
fn event_data_plan(chunk: &[u8], def: usize) -> Option<DataFields> {
    let data = template_element(chunk, def)?;
    if data.name != "EventData" {
        return None;
    }
    data_plan(&data)
}

fn system_plan(system: &Element) -> Option<Vec<SystemField>> {
    if system.dependency.is_some()
        || !system.attributes.is_empty()
        || !system.content.is_empty()
        || has_repeats(system.children.iter().map(|c| &c.name))
    {
        return None;
    }
    let mut out = Vec::new();
    for child in &system.children {
        if !child.children.is_empty() || child.content.len() > 1 || has_repeats(child.attributes.iter().map(|(n, _)| n)) {
            return None;
        }
    }
    for &(element, attribute, field) in SYSTEM_FIELDS {
        let Some(child) = system.children.iter().find(|c| c.name == element) else { continue };
        let piece = match attribute {
            Some(a) => match child.attributes.iter().find(|(n, _)| n == a) {
                Some((_, piece)) => piece,
                None => continue,
            },
            // An element without content: `null`, so not lifted.
            None => match child.content.first() {
                Some(piece) => piece,
                None => continue,
            },
        };
        match piece {
            Piece::Source(Source::Constant(text)) if text.is_empty() => return None,
            Piece::Source(source) => out.push(SystemField { field, source: source.clone(), dependency: child.dependency }),
            Piece::Other => return None,
        }
    }
    Some(out)
}

fn data_plan(data: &Element) -> Option<DataFields> {
    if data.dependency.is_some() || !data.attributes.is_empty() || !data.content.is_empty() || data.children.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for d in &data.children {
        let [(attribute, Piece::Source(Source::Constant(name)))] = d.attributes.as_slice() else { return None };
        let [Piece::Source(source)] = d.content.as_slice() else { return None };
        // A Data that a NULL leaves out: the renderer's form may change, so leave it to it.
        if d.name != "Data" || attribute != "Name" || name.is_empty() || !d.children.is_empty() || d.dependency.is_some() {
            return None;
        }
        out.push((name.clone(), source.clone()));
    }
    (!has_repeats(out.iter().map(|(n, _)| n))).then_some(out)
}

fn has_repeats<'a>(names: impl Iterator<Item = &'a String>) -> bool {
    let mut seen: Vec<&String> = names.collect();
    let n = seen.len();
    seen.sort();
    seen.dedup();
    seen.len() != n
}

/// Reads a template definition's BinXML into [`Element`]s.
struct TemplateReader<'a> {
    c: Cursor<'a>,
}

impl TemplateReader<'_> {
    /// A fragment holding exactly one element.
    fn fragment(&mut self) -> Option<Element> {
        if self.c.byte()? != 0x0f {
            return None;
        }
        self.c.pos += 3;
        let root = match self.c.byte()? {
            t @ (0x01 | 0x41) => self.element(t, 0)?,
            _ => return None,
        };
        (self.c.byte()? == 0x00).then_some(root)
    }

    /// An element from its open token on: dependency id, size, name,
    /// attributes, then content up to its end.
    fn element(&mut self, token: u8, depth: u8) -> Option<Element> {
        if depth > 8 {
            return None;
        }
        let dependency = Some(self.c.u16()?).filter(|&d| d != 0xffff);
        self.c.pos += 4; // data size
        let mut element = Element { name: self.c.name()?, dependency, ..Element::default() };
        if token & 0x40 != 0 {
            self.c.pos += 4; // attribute list size
            loop {
                let t = self.c.byte()?;
                if t & 0x3f != 0x06 {
                    return None;
                }
                let name = self.c.name()?;
                let piece = match self.c.byte()? {
                    0x05 | 0x45 => Piece::Source(Source::Constant(self.c.value_text()?)),
                    0x0d | 0x0e => Piece::Source(self.substitution()?),
                    _ => return None,
                };
                element.attributes.push((name, piece));
                if t & 0x40 == 0 {
                    break;
                }
            }
        }
        match self.c.byte()? {
            0x03 => {} // empty element
            0x02 => loop {
                match self.c.byte()? {
                    0x04 => break,
                    t @ (0x01 | 0x41) => element.children.push(self.element(t, depth + 1)?),
                    0x05 | 0x45 => element.content.push(Piece::Source(Source::Constant(self.c.value_text()?))),
                    0x0d | 0x0e => element.content.push(Piece::Source(self.substitution()?)),
                    0x08 => {
                        self.c.pos += 2;
                        element.content.push(Piece::Other);
                    }
                    0x09 | 0x0a => {
                        self.c.name()?;
                        element.content.push(Piece::Other);
                    }
                    0x07 | 0x47 | 0x0b => {
                        let n = self.c.u16()? as usize;
                        self.c.pos += n * 2;
                        element.content.push(Piece::Other);
                    }
                    _ => return None,
                }
            },
            _ => return None,
        }
        Some(element)
    }

    /// A substitution token's index (its declared type is not used: each record's descriptor says).
    fn substitution(&mut self) -> Option<Source> {
        let index = self.c.u16()?;
        self.c.pos += 1;
        Some(Source::Value(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_the_renderer_writes_them() {
        let guid = [0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9];
        assert_eq!(json_value(0x0f, &guid), Some(Value::from("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}")));
        let system = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
        assert_eq!(json_value(0x13, &system), Some(Value::from("S-1-5-18")));
        assert_eq!(json_value(0x15, &0x8000_0000_0000_0000u64.to_le_bytes()), Some(Value::from("0x8000000000000000")));
        assert_eq!(json_value(0x14, &0u32.to_le_bytes()), Some(Value::from("0x0")));
        assert_eq!(json_value(0x0d, &2i32.to_le_bytes()), Some(Value::from(2)));
        assert_eq!(json_value(0x0d, &1i32.to_le_bytes()), Some(Value::Bool(true)));
        assert_eq!(json_value(0x03, &[0xff]), Some(Value::from(-1)));
        assert_eq!(json_value(0x11, &131_973_233_813_288_680u64.to_le_bytes()), Some(Value::from("2019-03-17T19:09:41.3288680Z")));
        let text: Vec<u8> = "ab\0c".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(json_value(0x01, &text), Some(Value::from("ab")), "text ends at its first NUL");
        let text: Vec<u8> = "a\u{e9}\u{1F600}b".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(json_value(0x01, &text), Some(Value::from("a\u{e9}\u{1F600}b")));
        assert_eq!(json_value(0x01, &[0x00, 0xd8, b'a', 0]), None, "an unpaired surrogate");
        // Empty as the renderer takes it (`""` in a named Data, left out in System); ANSI text is its business.
        assert_eq!(
            [(0x01, &[][..]), (0x01, &[0, 0, b'a', 0][..]), (0x00, &[][..]), (0x0e, &[][..])].map(|(k, d)| is_empty(k, d)),
            [Some(true); 4]
        );
        assert_eq!([(0x01, &[b'a', 0][..]), (0x08, &[0; 4][..])].map(|(k, d)| is_empty(k, d)), [Some(false); 2]);
        assert_eq!(is_empty(0x02, b"a"), None);
        // Left to the renderer: floats, far filetimes.
        assert_eq!(json_value(0x0b, &[0; 4]), None);
        assert_eq!(json_value(0x11, &u64::MAX.to_le_bytes()), None);
    }
}
