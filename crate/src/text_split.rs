//! Text exports as a byte stream, one event document at a time.
//!
//! [`TextSplitter`] is to JSON and XML exports what the chunk splitter is to
//! EVTX: it takes the bytes in pieces of any size and hands out whole
//! documents (a JSON object, an `<Event>` element) with their file offset
//! and line, holding at most one piece plus one document.
//!
//! A big file is cut into byte ranges for parallel readers where documents
//! can be found from any byte: one JSON document per line, and XML (`<Event`
//! cannot occur unescaped inside an element's text). A range owns every
//! document that starts in it. Lines are counted per range and made
//! file-wide when ranges are folded in order (see `ChunkTally::merge`).

use crate::input::Container;
use crate::report::Issue;
use memchr::memmem;

/// A document bigger than this is skipped (with an issue), so one broken
/// line cannot make the reader hold a whole file.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;

/// One event document's text and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextUnit {
    pub offset: u64,
    /// 1-based, counted from the start of the reader's range.
    pub line: u64,
    pub text: Vec<u8>,
}

/// Where in the file a reader works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First byte the range owns.
    pub start: u64,
    /// Documents starting at or after this belong to the next range.
    pub end: u64,
}

/// JSON scanning state while inside a document.
#[derive(Debug, Default, Clone, Copy)]
struct JsonDepth {
    depth: u32,
    in_string: bool,
    escaped: bool,
    has_newline: bool,
}

/// Splits a JSON or XML export into event documents.
#[derive(Debug)]
pub struct TextSplitter {
    container: Container,
    range: Range,
    /// Bytes not consumed yet; `buf[0]` is at file offset `buf_offset`.
    buf: Vec<u8>,
    buf_offset: u64,
    /// Index in `buf` scanned up to.
    scan: usize,
    /// The document being read: its index in `buf`, file offset and line.
    open: Option<(usize, u64, u64)>,
    json: JsonDepth,
    /// JSON: inside a top-level array of documents.
    in_array: bool,
    /// JSON: one document per line (decided by the first document).
    line_mode: Option<bool>,
    /// Newlines seen in the range so far.
    newlines: u64,
    /// Resumed mid-file: skip to the first document boundary.
    seeking: bool,
    /// Skipping the rest of an oversized document.
    oversized: bool,
    done: bool,
    issues: Vec<Issue>,
}

impl TextSplitter {
    /// A splitter for a whole file from byte 0.
    pub fn new(container: Container) -> Self {
        Self::for_range(container, Range { start: 0, end: u64::MAX }, false)
    }

    /// A splitter for the range `range` of a file of line-delimited JSON or
    /// XML. Feed it from byte `feed_from(range)`: it finds the first
    /// document boundary itself.
    pub fn resume(container: Container, range: Range) -> Self {
        Self::for_range(container, range, range.start > 0)
    }

    fn for_range(container: Container, range: Range, seeking: bool) -> Self {
        TextSplitter {
            container,
            range,
            buf: Vec::new(),
            buf_offset: if seeking { feed_from(range) } else { range.start },
            scan: 0,
            open: None,
            json: JsonDepth::default(),
            in_array: false,
            line_mode: if seeking { Some(true) } else { None },
            newlines: 0,
            seeking,
            oversized: false,
            done: false,
            issues: Vec::new(),
        }
    }

    /// Ends the range at `end` (a reader that started with no end, once it
    /// knows the file can be cut); only before any byte from `end` on was pushed.
    pub fn limit_to(&mut self, end: u64) {
        self.range.end = end;
    }

    pub fn container(&self) -> Container {
        self.container
    }

    /// Every document of the range has been handed out; stop reading.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Newlines in the range so far (all of them once the range is done).
    pub fn newlines(&self) -> u64 {
        self.newlines
    }

    /// JSON documents one per line: the file can be read in parallel ranges.
    pub fn splittable(&self) -> bool {
        match self.container {
            Container::Xml => true,
            Container::Json => self.line_mode == Some(true) && !self.in_array,
            Container::Evtx => false,
        }
    }

    /// Problems found so far (malformed or oversized documents), taken.
    pub fn take_issues(&mut self) -> Vec<Issue> {
        std::mem::take(&mut self.issues)
    }

    /// Feeds the next bytes; returns the documents they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<TextUnit> {
        if self.done {
            return Vec::new();
        }
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        self.scan_buffer(false, &mut out);
        self.compact();
        out
    }

    /// The end of the input: a document still open was cut by it.
    pub fn finish(&mut self) -> Vec<TextUnit> {
        let mut out = Vec::new();
        if !self.done {
            self.scan_buffer(true, &mut out);
        }
        if let Some((_, offset, line)) = self.open.take().filter(|_| !self.done) {
            let what = match self.container {
                Container::Xml => "an <Event> element",
                _ => "a JSON document",
            };
            self.issue(offset, line, format!("the file ends inside {what} (a partial last record); not read"));
        }
        self.done = true;
        self.buf.clear();
        out
    }

    fn scan_buffer(&mut self, at_end: bool, out: &mut Vec<TextUnit>) {
        if self.seeking && !self.seek(at_end) {
            return;
        }
        match self.container {
            Container::Xml => self.scan_xml(at_end, out),
            _ => self.scan_json(at_end, out),
        }
    }

    /// Resumed mid-file: skips to the first document boundary at or after
    /// the range's start. Returns whether it was found.
    fn seek(&mut self, at_end: bool) -> bool {
        let found = match self.container {
            Container::Xml => next_event_start(&self.buf, self.scan).map(|i| (i, i)),
            _ => memchr::memchr(b'\n', &self.buf[self.scan..]).map(|i| (self.scan + i, self.scan + i + 1)),
        };
        match found {
            Some((counted_to, next)) => {
                self.count_newlines(self.scan, counted_to + usize::from(self.container != Container::Xml));
                self.scan = next;
                self.seeking = false;
                true
            }
            None => {
                let keep = if at_end { self.buf.len() } else { self.buf.len().saturating_sub(8) };
                self.count_newlines(self.scan, keep);
                self.scan = keep;
                if at_end {
                    self.done = true;
                }
                false
            }
        }
    }

    fn offset_of(&self, index: usize) -> u64 {
        self.buf_offset + index as u64
    }

    fn in_range(&self, offset: u64) -> bool {
        offset >= self.range.start && offset < self.range.end
    }

    /// Counts the newlines of `buf[from..to]` that the range owns.
    fn count_newlines(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let (lo, hi) = (self.offset_of(from), self.offset_of(to));
        if lo >= self.range.start && hi <= self.range.end {
            self.newlines += memchr::memchr_iter(b'\n', &self.buf[from..to]).count() as u64;
        } else {
            let base = self.buf_offset;
            let range = self.range;
            self.newlines += memchr::memchr_iter(b'\n', &self.buf[from..to])
                .filter(|&i| {
                    let o = base + (from + i) as u64;
                    o >= range.start && o < range.end
                })
                .count() as u64;
        }
    }

    fn line_here(&self) -> u64 {
        self.newlines + 1
    }

    /// A document starts at `i`: opens it, unless it belongs to the next range.
    fn open_at(&mut self, i: usize) -> bool {
        let offset = self.offset_of(i);
        if offset >= self.range.end {
            self.done = true;
            return false;
        }
        self.open = Some((i, offset, self.line_here()));
        true
    }

    fn emit(&mut self, end: usize, out: &mut Vec<TextUnit>) {
        if let Some((start, offset, line)) = self.open.take() {
            if !self.oversized {
                out.push(TextUnit { offset, line, text: self.buf[start..end].to_vec() });
            }
            self.oversized = false;
        }
    }

    fn issue(&mut self, offset: u64, line: u64, reason: String) {
        self.issues.push(Issue { kind: "record".into(), chunk: None, offset, line: Some(line), reason });
    }

    fn scan_json(&mut self, at_end: bool, out: &mut Vec<TextUnit>) {
        let mut i = self.scan;
        while i < self.buf.len() && !self.done {
            let b = self.buf[i];
            if self.open.is_none() {
                if self.offset_of(i) >= self.range.end {
                    self.done = true;
                    break;
                }
                match b {
                    b'\n' => self.count_newlines(i, i + 1),
                    b' ' | b'\t' | b'\r' | b',' => {}
                    0xEF if self.offset_of(i) == 0 && self.buf[i..].starts_with(b"\xEF\xBB\xBF") => i += 2,
                    b'[' if !self.in_array && self.line_mode.is_none() => self.in_array = true,
                    b']' if self.in_array => self.in_array = false,
                    b'{' => {
                        if !self.open_at(i) {
                            break;
                        }
                        self.json = JsonDepth { depth: 1, ..JsonDepth::default() };
                    }
                    _ => match self.skip_line(i, at_end) {
                        Some(next) => {
                            i = next;
                            continue;
                        }
                        None => break,
                    },
                }
                i += 1;
                continue;
            }
            // Inside a document: find where it closes. Strings are skipped
            // whole (most of a document's bytes).
            let st = &mut self.json;
            if st.escaped {
                st.escaped = false;
                i += 1;
                continue;
            }
            if st.in_string {
                let Some(k) = memchr::memchr3(b'"', b'\\', b'\n', &self.buf[i..]) else {
                    i = self.buf.len();
                    self.check_size(i);
                    continue;
                };
                i += k;
                match self.buf[i] {
                    b'\\' => self.json.escaped = true,
                    b'"' => self.json.in_string = false,
                    _ => self.broken_line(i),
                }
                i += 1;
                self.check_size(i);
                continue;
            }
            match b {
                b'"' => st.in_string = true,
                b'{' | b'[' => st.depth += 1,
                b'}' | b']' => {
                    st.depth -= 1;
                    if st.depth == 0 {
                        let single_line = !st.has_newline;
                        self.line_mode.get_or_insert(single_line);
                        self.emit(i + 1, out);
                    }
                }
                b'\n' => {
                    st.has_newline = true;
                    if self.line_mode == Some(true) {
                        self.broken_line(i);
                    } else {
                        self.count_newlines(i, i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
            self.check_size(i);
        }
        self.scan = i.min(self.buf.len());
        let _ = at_end;
    }

    /// A line that is not a JSON document: reported, except evtx_dump's
    /// "Record N" headers. Returns where scanning goes on, or `None` to wait
    /// for the rest of the line.
    fn skip_line(&mut self, i: usize, at_end: bool) -> Option<usize> {
        let end = match memchr::memchr(b'\n', &self.buf[i..]) {
            Some(k) => i + k,
            None if at_end => self.buf.len(),
            None => return None,
        };
        let line = &self.buf[i..end];
        if !line.starts_with(b"Record ") {
            let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)]).trim_end().to_string();
            let (offset, number) = (self.offset_of(i), self.line_here());
            if self.in_range(offset) {
                self.issue(offset, number, format!("not a JSON document: {shown:?}; line skipped"));
            }
        }
        Some(end)
    }

    /// A newline inside a one-line document: the line was cut or malformed.
    fn broken_line(&mut self, newline_at: usize) {
        if let Some((_, offset, line)) = self.open.take() {
            if !self.oversized {
                self.issue(offset, line, "a JSON document that does not end on its line (malformed or cut); line skipped".into());
            }
        }
        self.oversized = false;
        self.json = JsonDepth::default();
        self.count_newlines(newline_at, newline_at + 1);
    }

    /// An open document past the size limit is dropped as it goes.
    fn check_size(&mut self, i: usize) {
        let Some((start, offset, line)) = self.open else { return };
        if i - start <= MAX_DOCUMENT_BYTES || self.oversized {
            return;
        }
        self.oversized = true;
        self.issue(offset, line, format!("a document larger than {} MiB; skipped", MAX_DOCUMENT_BYTES >> 20));
    }

    fn scan_xml(&mut self, at_end: bool, out: &mut Vec<TextUnit>) {
        let mut i = self.scan;
        while !self.done {
            match self.open {
                None => {
                    let Some(start) = next_event_start(&self.buf, i) else {
                        // Keep a few bytes: "<Event" may be split across pieces.
                        let keep = if at_end { self.buf.len() } else { self.buf.len().saturating_sub(8).max(i) };
                        self.count_newlines(i, keep);
                        i = keep;
                        break;
                    };
                    self.count_newlines(i, start);
                    if !self.open_at(start) {
                        i = start;
                        break;
                    }
                    i = start + 1;
                }
                Some((start, offset, line)) => {
                    let Some(close) = memmem::find(&self.buf[i..], b"</Event>").map(|k| i + k) else {
                        let next = next_event_start(&self.buf, i);
                        if let Some(next) = next {
                            self.unclosed_element(start, next, offset, line);
                            i = next;
                            continue;
                        }
                        if self.buf.len() - start > MAX_DOCUMENT_BYTES {
                            self.issue(offset, line, format!("an <Event> element larger than {} MiB; skipped", MAX_DOCUMENT_BYTES >> 20));
                            self.open = None;
                            self.count_newlines(start, self.buf.len());
                            i = self.buf.len();
                        } else {
                            i = self.buf.len().saturating_sub(8).max(start + 1);
                        }
                        break;
                    };
                    // Another element opened before this one closed: this one was cut.
                    if let Some(next) = next_event_start(&self.buf[..close], start + 1) {
                        self.unclosed_element(start, next, offset, line);
                        i = next;
                        continue;
                    }
                    let end = close + b"</Event>".len();
                    self.count_newlines(start, end);
                    self.emit(end, out);
                    i = end;
                }
            }
        }
        self.scan = i.min(self.buf.len());
    }

    fn unclosed_element(&mut self, start: usize, next: usize, offset: u64, line: u64) {
        self.issue(offset, line, "an <Event> element that is not closed before the next one starts; skipped".into());
        self.open = None;
        self.count_newlines(start, next);
    }

    /// Drops consumed bytes from the buffer.
    fn compact(&mut self) {
        let keep_from = match self.open {
            Some((start, ..)) if !self.oversized => start,
            _ => self.scan,
        };
        if keep_from == 0 {
            return;
        }
        self.buf.drain(..keep_from);
        self.buf_offset += keep_from as u64;
        self.scan -= keep_from;
        if let Some((start, ..)) = self.open.as_mut() {
            *start = start.saturating_sub(keep_from);
        }
    }
}

/// Where a reader of `range` starts feeding bytes: one byte early, so a
/// range that starts just after a newline knows it starts a line.
pub fn feed_from(range: Range) -> u64 {
    range.start.saturating_sub(1)
}

/// The next `<Event` start tag at or after `from` (not `<Events`, `<EventData`, `<EventID`).
fn next_event_start(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(k) = memmem::find(buf.get(at..)?, b"<Event") {
        let i = at + k;
        match buf.get(i + 6) {
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') => return Some(i),
            Some(_) => at = i + 6,
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(container: Container, text: &[u8], piece: usize) -> (Vec<TextUnit>, Vec<Issue>) {
        let mut s = TextSplitter::new(container);
        let mut units = Vec::new();
        for p in text.chunks(piece.max(1)) {
            units.extend(s.push(p));
        }
        units.extend(s.finish());
        (units, s.take_issues())
    }

    fn texts(units: &[TextUnit]) -> Vec<(u64, u64, String)> {
        units.iter().map(|u| (u.offset, u.line, String::from_utf8_lossy(&u.text).into_owned())).collect()
    }

    #[test]
    fn json_lines_with_bom_crlf_and_a_cut_last_line() {
        let text = b"\xEF\xBB\xBF{\"a\":\"x}\\\"\"}\r\n{\"b\":[1,{\"c\":2}]}\r\n{\"d\":";
        for piece in [1, 2, 5, 64] {
            let (units, issues) = split_all(Container::Json, text, piece);
            assert_eq!(texts(&units), vec![(3, 1, "{\"a\":\"x}\\\"\"}".into()), (17, 2, "{\"b\":[1,{\"c\":2}]}".into())], "piece {piece}");
            assert_eq!(issues.len(), 1);
            assert_eq!((issues[0].offset, issues[0].line), (36, Some(3)));
            assert!(issues[0].reason.contains("partial last record"), "{}", issues[0].reason);
        }
    }

    #[test]
    fn a_malformed_line_is_reported_and_the_next_lines_are_read() {
        let text = b"{\"a\":1}\n{\"b\": 2,\ngarbage here\n{\"c\":3}\n";
        let (units, issues) = split_all(Container::Json, text, 3);
        assert_eq!(texts(&units), vec![(0, 1, "{\"a\":1}".into()), (30, 4, "{\"c\":3}".into())]);
        let at: Vec<(u64, Option<u64>)> = issues.iter().map(|i| (i.offset, i.line)).collect();
        assert_eq!(at, vec![(8, Some(2)), (17, Some(3))]);
        assert!(issues[1].reason.contains("\"garbage here\""), "{}", issues[1].reason);
    }

    #[test]
    fn pretty_json_arrays_and_evtx_dump_record_lines() {
        let text = b"Record 1\n{\n  \"Event\": {\"x\": \"{\"}\n}\nRecord 2\n{\n  \"Event\": {}\n}\n";
        let (units, issues) = split_all(Container::Json, text, 4);
        assert_eq!(units.iter().map(|u| u.line).collect::<Vec<_>>(), vec![2, 6]);
        assert!(issues.is_empty(), "{issues:?}");
        let (units, _) = split_all(Container::Json, b"[\n {\"a\": 1},\n {\"b\": 2}\n]\n", 2);
        assert_eq!(texts(&units), vec![(3, 2, "{\"a\": 1}".into()), (14, 3, "{\"b\": 2}".into())]);
    }

    #[test]
    fn xml_events_inside_or_outside_an_events_element() {
        let text = b"<?xml version=\"1.0\"?>\n<Events>\n<Event xmlns=\"x\"><System><EventID>1</EventID></System>\n<EventData/></Event>\n<Event><System/></Event></Events>";
        for piece in [1, 3, 7, 1000] {
            let (units, issues) = split_all(Container::Xml, text, piece);
            let got: Vec<(u64, u64)> = units.iter().map(|u| (u.offset, u.line)).collect();
            assert_eq!(got, vec![(31, 3), (107, 5)], "piece {piece}");
            assert!(units[1].text.ends_with(b"</Event>"));
            assert!(issues.is_empty(), "{issues:?}");
        }
        let (units, issues) = split_all(Container::Xml, b"<Event><System>\n<Event><System/></Event>\n<Event><Sys", 5);
        assert_eq!(units.iter().map(|u| u.line).collect::<Vec<_>>(), vec![2]);
        assert_eq!(issues.iter().map(|i| i.line).collect::<Vec<_>>(), vec![Some(1), Some(3)]);
    }

    /// Ranges read separately own each line once, and their newline counts add up.
    #[test]
    fn ranges_own_each_document_once() {
        let mut text = Vec::new();
        for n in 0..200 {
            text.extend_from_slice(format!("{{\"n\":{n},\"pad\":\"{}\"}}\n", "x".repeat(n % 37)).as_bytes());
        }
        let whole = split_all(Container::Json, &text, 4096).0;
        for cut in [1usize, 17, 64, 500, 1999] {
            let mut units = Vec::new();
            let mut lines_before = 0;
            let mut start = 0u64;
            while start < text.len() as u64 {
                let end = (start + cut as u64).min(text.len() as u64);
                let range = Range { start, end };
                let mut s = TextSplitter::resume(Container::Json, range);
                let from = feed_from(range) as usize;
                for p in text[from..].chunks(7) {
                    units.extend(s.push(p).into_iter().map(|mut u| {
                        u.line += lines_before;
                        u
                    }));
                    if s.is_done() {
                        break;
                    }
                }
                units.extend(s.finish().into_iter().map(|mut u| {
                    u.line += lines_before;
                    u
                }));
                lines_before += s.newlines();
                start = end;
            }
            assert_eq!(texts(&units), texts(&whole), "cut {cut}");
            assert_eq!(lines_before, 200);
        }
    }
}
