//! Quick System fields: EventID, Computer, Channel and TimeCreated of every
//! record of a chunk, read straight from the BinXML template values.
//!
//! Statistics need these four fields from every record, but rendering every
//! record to JSON is the slowest step of analysis. Windows writes each record
//! as a template instance: a reference to a template definition (an element
//! tree with numbered substitutions) plus the values to put in it. This
//! module walks each template definition once per chunk to learn which
//! substitution fills `System/EventID`, `Computer`, `Channel` and
//! `TimeCreated@SystemTime`, then reads those values from each record. It
//! gives up (returns `None`) on anything it does not fully understand, and
//! the caller then renders the chunk as usual; so it never changes a result.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

const RECORD_MAGIC: [u8; 4] = [0x2a, 0x2a, 0x00, 0x00];
const CHUNK_HEADER: usize = 512;
/// BinXML values hold BinXML this deep at most (hostile chunks nest more: the renderer reads those).
const MAX_NESTED_BINXML: u8 = 4;

/// The System fields of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickRecord {
    /// Offset of the record in its chunk.
    pub offset: usize,
    /// Record size in bytes (header, BinXML and trailing size).
    pub size: usize,
    pub record_id: u64,
    pub event_id: Option<u64>,
    /// System/EventRecordID (exports renumber the record header's, not this).
    pub event_record_id: Option<u64>,
    /// Computer and Channel, one allocation per distinct value in a chunk
    /// (see [`Texts`]), not two strings per record.
    pub computer: Option<Arc<str>>,
    pub channel: Option<Arc<str>>,
    /// TimeCreated as a FILETIME (100 ns ticks since 1601), else the record header's.
    pub filetime: Option<u64>,
    /// Every GUID value of the record (process GUIDs and others), for the chunk index.
    pub guids: Vec<crate::index::Guid>,
    /// An EventID 1 record's `ProcessGuid` (every GUID of it when the
    /// template has no single `Data Name="ProcessGuid"`); empty for others.
    pub creations: Vec<crate::index::Guid>,
}

/// Where a System field's value comes from in a template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Slot {
    #[default]
    Absent,
    /// Substitution value number N of each record.
    Value(u16),
    /// Text written into the template itself (exported logs do this).
    Constant(String),
}

/// Where each System field of a template comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Slots {
    event_id: Slot,
    event_record_id: Slot,
    computer: Slot,
    channel: Slot,
    system_time: Slot,
    /// `EventData/Data[@Name="ProcessGuid"]` (`None`: two such, so unknown; `Absent`: none).
    process_guid: Option<Slot>,
}

/// Reads the System fields of every live record of a chunk, or `None` when
/// any record is not a plain template instance this reader understands.
pub fn chunk_records(chunk: &[u8]) -> Option<Vec<QuickRecord>> {
    let free = (u32::from_le_bytes(chunk.get(48..52)?.try_into().ok()?) as usize).min(chunk.len());
    let last_id = u64::from_le_bytes(chunk.get(32..40)?.try_into().ok()?);
    let mut templates: HashMap<u32, Rc<Slots>> = HashMap::new();
    let mut texts = Texts::default();
    let mut out = Vec::new();
    let mut pos = CHUNK_HEADER;
    let mut reached_last = false;
    while pos + 28 <= free {
        if chunk[pos..pos + 4] != RECORD_MAGIC {
            // Anything but a record here (zeroes, damage) is for the full parser.
            return None;
        }
        let size = u32_at(chunk, pos + 4)? as usize;
        if size < 28 || pos + size > free || u32_at(chunk, pos + size - 4)? as usize != size {
            return None;
        }
        let record_id = u64_at(chunk, pos + 8)?;
        let binxml = pos + 24;
        let values = template_values(chunk, binxml, pos + size - 4, &mut templates, &mut texts, 0)?;
        out.push(QuickRecord {
            offset: pos,
            size,
            record_id,
            event_id: values.event_id,
            event_record_id: values.event_record_id,
            computer: values.computer,
            channel: values.channel,
            filetime: values.filetime.or(u64_at(chunk, pos + 16)),
            creations: match values.event_id {
                Some(crate::story::CREATION_EVENT_ID) => {
                    values.process_guid.map_or_else(|| values.guids.clone(), |g| g.into_iter().collect())
                }
                _ => Vec::new(),
            },
            guids: values.guids,
        });
        pos += size;
        if record_id == last_id {
            reached_last = true;
            break;
        }
    }
    // The walk must end where the parser's would: at the last record or the free space.
    (reached_last || pos == free).then_some(out)
}

/// The Computer and Channel texts of a chunk, each decoded once: a chunk's
/// records name a handful of distinct ones, and decoding two UTF-16 strings
/// per record was 3 % of a built-ins scan (`String::from_utf16` in perf).
#[derive(Default)]
struct Texts<'c> {
    seen: Vec<(&'c [u8], Option<Arc<str>>)>,
}

impl<'c> Texts<'c> {
    /// More distinct values than this in a chunk: decode the rest each time.
    const MAX: usize = 32;

    /// A string value (BinXML type `kind`, bytes `data`), as [`text`] reads it.
    fn get(&mut self, kind: u8, data: &'c [u8]) -> Option<Option<Arc<str>>> {
        if kind == 0x01 {
            if let Some((_, known)) = self.seen.iter().find(|(bytes, _)| *bytes == data) {
                return Some(known.clone());
            }
        }
        let decoded: Option<Arc<str>> = text(kind, data)?.map(Into::into);
        if kind == 0x01 && self.seen.len() < Self::MAX {
            self.seen.push((data, decoded.clone()));
        }
        Some(decoded)
    }
}

struct Values {
    event_id: Option<u64>,
    event_record_id: Option<u64>,
    computer: Option<Arc<str>>,
    channel: Option<Arc<str>>,
    filetime: Option<u64>,
    guids: Vec<crate::index::Guid>,
    /// The `ProcessGuid` value, when the template has that slot (`Some(None)`: not a GUID).
    process_guid: Option<Option<crate::index::Guid>>,
}

/// Reads a record's template instance: fragment header, template reference
/// (with the definition inline the first time), value descriptors, values.
fn template_values<'c>(
    chunk: &'c [u8],
    start: usize,
    end: usize,
    templates: &mut HashMap<u32, Rc<Slots>>,
    texts: &mut Texts<'c>,
    depth: u8,
) -> Option<Values> {
    let b = chunk.get(start..end)?;
    // Fragment header 0x0f 1 1 0 (a nested value may go without), then
    // TemplateInstance 0x0c, 0x01, template id, definition offset.
    let instance = match b {
        [0x0f, _, _, _, 0x0c, ..] => start + 4,
        [0x0c, ..] if depth > 0 => start,
        _ => return None,
    };
    if end < instance + 10 {
        return None;
    }
    let def_offset = u32_at(chunk, instance + 6)?;
    let mut p = instance + 10;
    if let std::collections::hash_map::Entry::Vacant(e) = templates.entry(def_offset) {
        e.insert(Rc::new(template_slots(chunk, def_offset as usize)?));
    }
    let slots = templates[&def_offset].clone();
    if def_offset as usize == p {
        // The definition is inline here: skip it (next 4, GUID 16, size 4, data).
        let data_size = u32_at(chunk, p + 20)? as usize;
        p += 24 + data_size;
    }
    let count = u32_at(chunk, p)? as usize;
    p += 4;
    if count > 4096 || p + count * 4 > end {
        return None;
    }
    let descriptors = p;
    let mut value = p + count * 4;
    let constant = |slot: &Slot| match slot {
        Slot::Constant(text) => Some(Arc::from(text.as_str())),
        _ => None,
    };
    let mut out = Values {
        event_id: match &slots.event_id {
            Slot::Constant(text) => Some(text.trim().parse().ok()?),
            _ => None,
        },
        event_record_id: match &slots.event_record_id {
            Slot::Constant(text) => Some(text.trim().parse().ok()?),
            _ => None,
        },
        computer: constant(&slots.computer),
        channel: constant(&slots.channel),
        filetime: None,
        guids: Vec::new(),
        process_guid: match &slots.process_guid {
            Some(Slot::Constant(text)) => Some(crate::index::Guid::parse(text)),
            // No such field in the template: it may be elsewhere (UserData), so every GUID counts.
            _ => None,
        },
    };
    if matches!(slots.system_time, Slot::Constant(_)) {
        return None;
    }
    let mut nested = false;
    for i in 0..count {
        let size = u16::from_le_bytes([chunk[descriptors + i * 4], chunk[descriptors + i * 4 + 1]]) as usize;
        let kind = chunk[descriptors + i * 4 + 2];
        let data = chunk.get(value..value + size)?;
        // A size that does not fit its type: `evtx` reads such a record by
        // the type's own size, so its later values differ from ours. Leave it
        // to the renderer (found by the quick_vs_full fuzz target).
        if value + size > end || !size_fits_type(kind, data) {
            return None;
        }
        if kind == 0x0f {
            out.guids.extend(crate::index::Guid::from_binary(data));
        } else if kind == 0x01 && (data.len() == 76 || data.len() == 78) && data[..2] == [b'{', 0] {
            // A GUID written as text (`{8-4-4-4-12}`, 38 UTF-16 units, maybe
            // NUL-ended), as some writers do.
            out.guids.extend(text(kind, data).flatten().as_deref().and_then(crate::index::Guid::parse));
        } else if kind == 0x21 {
            // BinXML inside a value (some exporters write all of EventData
            // so): its GUIDs count too, and its ProcessGuid is not placed.
            if depth >= MAX_NESTED_BINXML || data.is_empty() {
                return None;
            }
            let inner = template_values(chunk, value, value + size, templates, texts, depth + 1)?;
            out.guids.extend(inner.guids);
            nested = true;
        }
        let i = Slot::Value(i as u16);
        if slots.process_guid.as_ref() == Some(&i) && kind != 0x21 {
            out.process_guid = Some(match kind {
                0x0f => crate::index::Guid::from_binary(data),
                0x01 => text(kind, data).flatten().as_deref().and_then(crate::index::Guid::parse),
                _ => None,
            });
        }
        if i == slots.event_id {
            out.event_id = unsigned(kind, data)?;
        } else if i == slots.event_record_id {
            out.event_record_id = unsigned(kind, data)?;
        } else if i == slots.computer {
            out.computer = texts.get(kind, data)?;
        } else if i == slots.channel {
            out.channel = texts.get(kind, data)?;
        } else if i == slots.system_time {
            out.filetime = match (kind, data.len()) {
                (0x00, _) => None,
                (0x11, 8) => Some(u64::from_le_bytes(data.try_into().ok()?)),
                _ => return None,
            };
        }
        value += size;
    }
    if nested {
        out.process_guid = None;
    }
    Some(out)
}

/// Whether a value's declared size is the size of its BinXML type.
pub(crate) fn size_fits_type(kind: u8, data: &[u8]) -> bool {
    let n = data.len();
    match kind {
        0x03 | 0x04 => n == 1,
        0x05 | 0x06 => n == 2,
        0x07 | 0x08 | 0x0b | 0x0d | 0x14 => n == 4,
        0x09 | 0x0a | 0x0c | 0x11 | 0x15 => n == 8,
        0x0f | 0x12 => n == 16,
        0x10 => n == 4 || n == 8,
        0x13 => n >= 8 && n == 8 + 4 * data[1] as usize,
        0x01 => n.is_multiple_of(2),
        _ => true,
    }
}

fn unsigned(kind: u8, data: &[u8]) -> Option<Option<u64>> {
    Some(match (kind, data.len()) {
        (0x00, _) => None,
        (0x04, 1) => Some(data[0] as u64),
        (0x06, 2) => Some(u16::from_le_bytes([data[0], data[1]]) as u64),
        (0x08, 4) => Some(u32::from_le_bytes(data.try_into().ok()?) as u64),
        (0x0a, 8) => Some(u64::from_le_bytes(data.try_into().ok()?)),
        _ => return None,
    })
}

pub(crate) fn text(kind: u8, data: &[u8]) -> Option<Option<String>> {
    match kind {
        0x00 => Some(None),
        0x01 => {
            let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            let units = match units.iter().position(|&u| u == 0) {
                Some(n) => &units[..n],
                None => &units[..],
            };
            // Unpaired surrogates: leave it to the full renderer.
            String::from_utf16(units).ok().map(Some)
        }
        _ => None,
    }
}

/// Walks a template definition (next offset 4, GUID 16, size 4, BinXML) and
/// finds the substitutions that fill the System fields.
fn template_slots(chunk: &[u8], def: usize) -> Option<Slots> {
    let size = u32_at(chunk, def + 20)? as usize;
    let mut w = Walker {
        c: Cursor { chunk, pos: def + 24, end: (def + 24).checked_add(size)?.min(chunk.len()) },
        stack: Vec::new(),
        slots: Slots { process_guid: Some(Slot::Absent), ..Slots::default() },
        data_name: None,
    };
    w.fragment()?;
    Some(w.slots)
}

struct Walker<'a> {
    c: Cursor<'a>,
    stack: Vec<String>,
    slots: Slots,
    /// The `Name` attribute of the `EventData/Data` element being read.
    data_name: Option<String>,
}

impl Walker<'_> {
    fn fragment(&mut self) -> Option<()> {
        if self.c.byte()? != 0x0f {
            return None;
        }
        self.c.pos += 3;
        loop {
            match self.c.byte()? {
                0x00 => return Some(()),
                t @ (0x01 | 0x41) => self.element(t)?,
                _ => return None,
            }
        }
    }

    /// An element from its open token on: dependency id, size, name,
    /// attributes, then content up to its end.
    fn element(&mut self, token: u8) -> Option<()> {
        self.c.pos += 2 + 4; // dependency id, data size
        let name = self.c.name()?;
        self.stack.push(name);
        self.data_name = None;
        if token & 0x40 != 0 {
            self.c.pos += 4; // attribute list size
            loop {
                let t = self.c.byte()?;
                if t & 0x3f != 0x06 {
                    return None;
                }
                let attr = self.c.name()?;
                self.attribute_value(&attr)?;
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
                    t @ (0x01 | 0x41) => self.element(t)?,
                    0x05 | 0x45 => {
                        let text = self.c.value_text()?;
                        self.set_slot(Slot::Constant(text))?;
                    }
                    0x0d | 0x0e => {
                        let index = self.c.u16()?;
                        self.c.pos += 1;
                        self.set_slot(Slot::Value(index))?;
                    }
                    0x08 => self.c.pos += 2,
                    0x09 => {
                        self.c.name()?;
                    }
                    0x07 | 0x47 => {
                        let n = self.c.u16()? as usize;
                        self.c.pos += n * 2;
                    }
                    0x0a => {
                        self.c.name()?;
                    }
                    0x0b => {
                        let n = self.c.u16()? as usize;
                        self.c.pos += n * 2;
                    }
                    _ => return None,
                }
            },
            _ => return None,
        }
        self.stack.pop();
        Some(())
    }

    fn attribute_value(&mut self, attr: &str) -> Option<()> {
        let slot = match self.c.byte()? {
            0x05 | 0x45 => Slot::Constant(self.c.value_text()?),
            0x0d | 0x0e => {
                let index = self.c.u16()?;
                self.c.pos += 1;
                Slot::Value(index)
            }
            _ => return None,
        };
        if attr == "Name" && self.in_event_data() {
            self.data_name = match &slot {
                Slot::Constant(text) => Some(text.clone()),
                _ => None,
            };
        }
        if attr == "SystemTime" && self.in_system("TimeCreated") {
            if self.slots.system_time != Slot::Absent {
                return None;
            }
            self.slots.system_time = slot;
        }
        Some(())
    }

    /// Element content: if it is one of the System fields, note where its
    /// value comes from. Two pieces of content for one field: give up.
    fn set_slot(&mut self, slot: Slot) -> Option<()> {
        if self.in_event_data() && self.data_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case("ProcessGuid")) {
            // A second piece of content or a second such field: unknown.
            self.slots.process_guid = match self.slots.process_guid.take() {
                Some(Slot::Absent) => Some(slot.clone()),
                _ => None,
            };
        }
        let Some(field) = ["EventID", "EventRecordID", "Computer", "Channel"].into_iter().find(|f| self.in_system(f)) else {
            return Some(());
        };
        let target = match field {
            "EventID" => &mut self.slots.event_id,
            "EventRecordID" => &mut self.slots.event_record_id,
            "Computer" => &mut self.slots.computer,
            _ => &mut self.slots.channel,
        };
        if *target != Slot::Absent {
            return None;
        }
        *target = slot;
        Some(())
    }

    fn in_event_data(&self) -> bool {
        self.stack.len() == 3 && self.stack[0] == "Event" && self.stack[1] == "EventData" && self.stack[2] == "Data"
    }

    fn in_system(&self, element: &str) -> bool {
        self.stack.len() == 3 && self.stack[0] == "Event" && self.stack[1] == "System" && self.stack[2] == element
    }
}

/// Reads a template definition's BinXML: bytes, numbers, names and text.
pub(crate) struct Cursor<'a> {
    pub chunk: &'a [u8],
    pub pos: usize,
    pub end: usize,
}

impl Cursor<'_> {
    pub fn byte(&mut self) -> Option<u8> {
        if self.pos >= self.end {
            return None;
        }
        self.pos += 1;
        Some(self.chunk[self.pos - 1])
    }

    pub fn u16(&mut self) -> Option<u16> {
        let v = u16::from_le_bytes(self.chunk.get(self.pos..self.pos + 2)?.try_into().ok()?);
        self.pos += 2;
        Some(v)
    }

    pub fn u32(&mut self) -> Option<u32> {
        let v = u32_at(self.chunk, self.pos)?;
        self.pos += 4;
        Some(v)
    }

    /// A name reference; the name is stored right here the first time.
    pub fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        let name = read_name(self.chunk, offset)?;
        if offset == self.pos {
            let chars = u16::from_le_bytes([self.chunk[offset + 6], self.chunk[offset + 7]]) as usize;
            self.pos += 8 + chars * 2 + 2;
        }
        Some(name)
    }

    /// A value text token's UTF-16 text (type 0x01, count, units).
    pub fn value_text(&mut self) -> Option<String> {
        if self.byte()? != 0x01 {
            return None;
        }
        let n = self.u16()? as usize;
        let bytes = self.chunk.get(self.pos..self.pos + n * 2)?;
        self.pos += n * 2;
        let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16(&units).ok()
    }
}

/// A name structure: next offset 4, hash 2, character count 2, UTF-16, NUL.
pub(crate) fn read_name(chunk: &[u8], offset: usize) -> Option<String> {
    let chars = u16::from_le_bytes(chunk.get(offset + 6..offset + 8)?.try_into().ok()?) as usize;
    let bytes = chunk.get(offset + 8..offset + 8 + chars * 2)?;
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

pub(crate) fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// A FILETIME as the `evtx` crate renders it: `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
pub fn format_filetime(ft: u64) -> String {
    if ft > i64::MAX as u64 {
        return "0000-00-00T00:00:00.0000000Z".into();
    }
    let ticks = ft % 10_000_000;
    let secs = ft / 10_000_000;
    // Days from 1601-01-01 to 1970-01-01: 134774.
    let days = (secs / 86_400) as i64 - 134_774;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z", y % 10_000, m, d, rem / 3600, rem % 3600 / 60, rem % 60, ticks)
}

/// Howard Hinnant's days-to-civil algorithm (days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes_format_like_evtx() {
        // 2019-03-17T19:09:41.3288680Z
        assert_eq!(format_filetime(131_973_233_813_288_680), "2019-03-17T19:09:41.3288680Z");
        assert_eq!(format_filetime(0), "1601-01-01T00:00:00.0000000Z");
    }
}
