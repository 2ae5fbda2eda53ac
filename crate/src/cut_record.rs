//! A record cut short, rewritten so that the `evtx` parser reads what is there.
//!
//! A log copied while it was written, or carved, can end inside a record: its
//! header says 2,320 bytes and the file holds 700 of them. The parser then
//! reads zeros for the rest: values come out as empty strings and zero numbers,
//! or a plain element tree stops with an error. This module edits a copy of
//! the chunk so that the missing bytes read as *absent*:
//!
//! * a template instance (what Windows writes) keeps every value whose bytes
//!   are all present; a string value cut in the middle keeps its present
//!   characters; every value after it becomes a null (absent) substitution;
//! * a plain element tree is closed after its last whole token (a text value
//!   cut in the middle keeps its present characters).
//!
//! Nothing is readable when the cut falls before the values (inside the record
//! header, or inside a template definition written in this record).

use crate::reader::CHUNK_SIZE;

const RECORD_HEADER: usize = 24;
const FRAGMENT_HEADER: u8 = 0x0f;
const TEMPLATE_INSTANCE: u8 = 0x0c;
const NULL_TYPE: u8 = 0x00;
const STRING_TYPE: u8 = 0x01;
const ANSI_STRING_TYPE: u8 = 0x02;
const BINXML_TYPE: u8 = 0x21;
/// More values than this in one template instance is not a record.
const MAX_VALUES: usize = 4096;

/// Why nothing of a cut record can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// The cut is inside the 24-byte record header or the BinXML fragment header.
    InHeader,
    /// The cut is inside the template definition this record carries.
    InTemplateDefinition,
    /// The cut is before the record's first value.
    BeforeValues,
    /// The BinXML is of a kind this module does not rewrite.
    UnknownLayout,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unreadable::InHeader => "the cut is inside its header",
            Unreadable::InTemplateDefinition => "the cut is inside the template definition it carries",
            Unreadable::BeforeValues => "the cut is before its first value",
            Unreadable::UnknownLayout => "its BinXML is of a layout that cannot be read in part",
        })
    }
}

/// Rewrites the record at `start` (declared `size` bytes) in `chunk`, a
/// 64 KiB copy whose bytes from `cut` on are missing, so that the parser
/// reads the part that is there.
pub fn repair(chunk: &mut [u8], start: usize, size: usize, cut: usize) -> Result<(), Unreadable> {
    let end = (start + size).min(CHUNK_SIZE).min(chunk.len());
    let cut = cut.min(end);
    // What is missing reads as zeros (also when damage, not the file end, cut it).
    chunk[cut..end].fill(0);
    let binxml = start + RECORD_HEADER;
    if cut < binxml + 4 || chunk[binxml] != FRAGMENT_HEADER {
        return Err(Unreadable::InHeader);
    }
    match chunk[binxml + 4] {
        TEMPLATE_INSTANCE => null_missing_values(chunk, start, binxml + 4, cut),
        0x01 | 0x41 => close_tree(chunk, binxml + 4, cut),
        _ => Err(Unreadable::UnknownLayout),
    }
}

/// A template instance: token, 1 byte, template id, definition offset, the
/// definition itself when it is written here, value count, descriptors
/// (size u16, type u8, 0), values.
fn null_missing_values(chunk: &mut [u8], record: usize, at: usize, cut: usize) -> Result<(), Unreadable> {
    if at + 10 > cut {
        return Err(Unreadable::BeforeValues);
    }
    let def_offset = u32_at(chunk, at + 6) as usize;
    let mut p = at + 10;
    if def_offset == p {
        let data_size = if p + 24 <= cut { u32_at(chunk, p + 20) as usize } else { usize::MAX / 2 };
        p = p.saturating_add(24 + data_size);
        if p > cut {
            return Err(Unreadable::InTemplateDefinition);
        }
    } else if def_offset >= record {
        // A definition after this record's start, not in it: not one Windows writes.
        return Err(Unreadable::UnknownLayout);
    }
    if p + 4 > cut {
        return Err(Unreadable::BeforeValues);
    }
    let count = u32_at(chunk, p) as usize;
    if count > MAX_VALUES {
        return Err(Unreadable::UnknownLayout);
    }
    let descriptors = p + 4;
    let mut value = descriptors + count * 4;
    let mut cut_reached = false;
    for i in 0..count {
        let d = descriptors + i * 4;
        if d + 4 > chunk.len() {
            return Err(Unreadable::UnknownLayout);
        }
        if !cut_reached && d + 4 <= cut {
            let size = u16::from_le_bytes([chunk[d], chunk[d + 1]]) as usize;
            let kind = chunk[d + 2];
            if value + size <= cut {
                value += size;
                continue;
            }
            cut_reached = true;
            // Event data is often a BinXML value holding a template instance of its own.
            let nested =
                kind == BINXML_TYPE && value + 5 <= cut && chunk[value] == FRAGMENT_HEADER && chunk[value + 4] == TEMPLATE_INSTANCE;
            if nested && null_missing_values(chunk, record, value + 4, cut).is_ok() {
                continue;
            }
            let present = cut.saturating_sub(value);
            let kept = match kind {
                STRING_TYPE => present & !1,
                ANSI_STRING_TYPE => present,
                _ => 0,
            };
            // The odd byte of a cut UTF-16 unit would be read as a token.
            chunk[(value + kept).min(cut)..cut].fill(0);
            if kept > 0 {
                chunk[d..d + 2].copy_from_slice(&(kept as u16).to_le_bytes());
                continue;
            }
        }
        cut_reached = true;
        chunk[d..d + 4].copy_from_slice(&[0, 0, NULL_TYPE, 0]);
    }
    Ok(())
}

/// A plain element tree: walk whole tokens up to the cut, then close the
/// elements still open after the last point where the tree can end.
fn close_tree(chunk: &mut [u8], at: usize, cut: usize) -> Result<(), Unreadable> {
    let mut w = TreeWalk { chunk, pos: at, cut, depth: 0, safe: None };
    w.walk();
    let Some((safe, depth)) = w.safe else { return Err(Unreadable::BeforeValues) };
    // The original goes on with at least `depth` end tokens and the end of
    // the fragment after `safe`, so the closing fits where they were.
    for i in 0..depth {
        w.chunk[safe + i] = 0x04;
    }
    w.chunk[safe + depth] = 0x00;
    Ok(())
}

struct TreeWalk<'a> {
    chunk: &'a mut [u8],
    pos: usize,
    cut: usize,
    /// Elements open (their start tag closed).
    depth: usize,
    /// The last position where the tree can be closed, and the depth there.
    safe: Option<(usize, usize)>,
}

impl TreeWalk<'_> {
    fn walk(&mut self) {
        while self.pos < self.cut {
            let token = self.chunk[self.pos];
            let ok = match token {
                0x00 => return,
                0x01 | 0x41 => self.start_tag(token & 0x40 != 0),
                0x04 if self.depth > 0 => {
                    self.pos += 1;
                    self.depth -= 1;
                    Some(())
                }
                0x05 | 0x45 if self.depth > 0 => self.content_value(),
                0x08 | 0x48 if self.depth > 0 => self.take(3),
                0x07 | 0x47 if self.depth > 0 => self.counted_text(1),
                _ => None,
            };
            if ok.is_none() {
                return;
            }
            if self.depth > 0 {
                self.safe = Some((self.pos, self.depth));
            }
        }
    }

    /// Moves past `n` bytes if they are all present.
    fn take(&mut self, n: usize) -> Option<()> {
        (self.pos + n <= self.cut).then(|| self.pos += n)
    }

    /// Element start: token, data size, name, [attribute list size, attributes], then `>` or `/>`.
    fn start_tag(&mut self, has_attributes: bool) -> Option<()> {
        self.take(1 + 4)?;
        self.name_ref()?;
        if has_attributes {
            self.take(4)?;
            loop {
                let token = *self.chunk.get(self.pos).filter(|_| self.pos < self.cut)?;
                if token & 0x3f != 0x06 {
                    return None;
                }
                self.take(1)?;
                self.name_ref()?;
                self.value()?;
                if token & 0x40 == 0 {
                    break;
                }
            }
        }
        match *self.chunk.get(self.pos).filter(|_| self.pos < self.cut)? {
            0x02 => self.depth += 1,
            0x03 => {}
            _ => return None,
        }
        self.pos += 1;
        Some(())
    }

    /// A name reference; the name is stored right after it on its first use in a chunk.
    fn name_ref(&mut self) -> Option<()> {
        let offset = u32_at(self.chunk, self.pos) as usize;
        self.take(4)?;
        if offset == self.pos {
            let chars = u16::from_le_bytes([*self.chunk.get(self.pos + 6)?, *self.chunk.get(self.pos + 7)?]) as usize;
            self.take(8 + chars * 2 + 2)?;
        }
        Some(())
    }

    /// A text value inside an element: a string cut in the middle keeps its present characters.
    fn content_value(&mut self) -> Option<()> {
        let token_at = self.pos;
        if self.value().is_some() {
            return Some(());
        }
        let chunk = &mut *self.chunk;
        if token_at + 4 > self.cut || chunk[token_at + 1] != STRING_TYPE {
            return None;
        }
        let present = (self.cut - (token_at + 4)) / 2;
        if present == 0 {
            return None;
        }
        chunk[token_at + 2..token_at + 4].copy_from_slice(&(present as u16).to_le_bytes());
        self.pos = token_at + 4 + present * 2;
        chunk[self.pos..self.cut].fill(0);
        Some(())
    }

    /// A value token: 0x05, its type, then the value (sizes as `evtx` reads them).
    fn value(&mut self) -> Option<()> {
        if self.pos + 2 > self.cut || self.chunk[self.pos] & 0x3f != 0x05 {
            return None;
        }
        let kind = self.chunk[self.pos + 1];
        self.take(2)?;
        match kind {
            STRING_TYPE => self.counted_text(0),
            0x03 | 0x04 => self.take(1),
            0x05 | 0x06 => self.take(2),
            0x07 | 0x08 | 0x0b | 0x0d | 0x14 => self.take(4),
            0x09 | 0x0a | 0x0c | 0x11 | 0x15 => self.take(8),
            0x0f | 0x12 => self.take(16),
            0x13 => {
                let sub_authorities = *self.chunk.get(self.pos + 1).filter(|_| self.pos + 2 <= self.cut)? as usize;
                self.take(8 + 4 * sub_authorities)
            }
            _ => None,
        }
    }

    /// `skip` bytes, a u16 count of UTF-16 units, the units.
    fn counted_text(&mut self, skip: usize) -> Option<()> {
        let at = self.pos + skip;
        if at + 2 > self.cut {
            return None;
        }
        let units = u16::from_le_bytes([self.chunk[at], self.chunk[at + 1]]) as usize;
        self.take(skip + 2 + units * 2)
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map(|s| u32::from_le_bytes(s.try_into().unwrap())).unwrap_or(0)
}
