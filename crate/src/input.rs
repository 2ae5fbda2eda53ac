//! What kind of log a file holds, recognized by its first bytes (never by
//! its name): EVTX, or a text export of the same events.
//!
//! Text exports come as JSON (one document, a top-level array, or one
//! document per line) or as Event XML. Which JSON format a document is in
//! (evtx_dump, Winlogbeat, Security-Datasets, HELK) is decided per document
//! by its keys, in [`crate::doc_map`].

use serde::{Deserialize, Serialize};

/// The formats a file's events can be in. The file report names the one recognized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Binary `.evtx`.
    Evtx,
    /// `evtx_dump` JSON or JSONL (`Event.System`, `Event.EventData`).
    EvtxJson,
    /// Event Viewer's "Save as XML" or `wevtutil qe /f:xml`.
    EventXml,
    /// Winlogbeat / ECS documents (`winlog.*`).
    Winlogbeat,
    /// Security-Datasets (Mordor) flat documents (`EventID`, `Channel`, `Hostname`).
    SecurityDatasets,
    /// HELK-normalized documents (`event_id`, `log_name`, `host_name`).
    Helk,
}

impl InputFormat {
    pub fn label(self) -> &'static str {
        match self {
            InputFormat::Evtx => "EVTX",
            InputFormat::EvtxJson => "evtx_dump JSON",
            InputFormat::EventXml => "Event XML",
            InputFormat::Winlogbeat => "Winlogbeat/ECS JSON",
            InputFormat::SecurityDatasets => "Security-Datasets JSON",
            InputFormat::Helk => "HELK JSON",
        }
    }
}

/// How a file's bytes are laid out, as its first bytes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    Evtx,
    /// JSON documents: one, an array of them, or one per line.
    Json,
    /// `<Event>` elements, inside `<Events>` or not.
    Xml,
}

/// Said of a file that is none of the formats.
pub const FORMATS_TRIED: &str =
    "nor a text export (tried: JSON/JSONL of evtx_dump, Winlogbeat/ECS, Security-Datasets, HELK or Elasticsearch hits, and Event XML)";

/// The first bytes a sniff needs (more is fine, fewer may say "undecided").
pub const SNIFF_BYTES: usize = 64;

/// Recognizes a file's layout from its first bytes. `Ok(None)`: too few
/// bytes yet to tell. `Err`: none of the formats, with what was seen.
pub fn sniff(head: &[u8], whole_file: bool) -> Result<Option<Container>, String> {
    if head.starts_with(b"ElfFile\0") {
        return Ok(Some(Container::Evtx));
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(
            "UTF-16 text: not an EVTX file, and text exports are read as UTF-8 (convert it, e.g. PowerShell's Out-File -Encoding utf8)"
                .into(),
        );
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let Some(first) = text.iter().position(|b| !b.is_ascii_whitespace()) else {
        return if whole_file { Err(empty_reason(head)) } else { Ok(None) };
    };
    let rest = &text[first..];
    match rest[0] {
        b'{' | b'[' => Ok(Some(Container::Json)),
        b'<' => Ok(Some(Container::Xml)),
        // evtx_dump's JSON output puts "Record N" before each document.
        _ if rest.starts_with(b"Record ") => Ok(Some(Container::Json)),
        _ if !whole_file && rest.len() < 8 && b"Record ".starts_with(rest) => Ok(None),
        _ if !whole_file && rest.len() < 8 && b"ElfFile\0".starts_with(rest) => Ok(None),
        _ => Err(format!("{}, {FORMATS_TRIED}", crate::reader::not_evtx_reason(head))),
    }
}

fn empty_reason(head: &[u8]) -> String {
    if head.is_empty() {
        "empty file (0 bytes): not an EVTX log".into()
    } else {
        format!("only whitespace ({} bytes): no events", head.len())
    }
}

/// How much of a file [`looks_like_events`] wants.
pub const PEEK_BYTES: usize = 4096;

/// Whether a file found in a folder is worth reading as an event log: EVTX,
/// or a text export whose first bytes name event fields (so a folder's other
/// JSON and XML files, like a case's notes, are passed over, not failed).
pub fn looks_like_events(head: &[u8]) -> bool {
    const MARKERS: [&[u8]; 7] = [b"\"Event\"", b"\"winlog\"", b"\"event_id\"", b"\"EventID\"", b"<Event ", b"<Event>", b"\"log_name\""];
    match sniff(head, true) {
        Ok(Some(Container::Evtx)) => true,
        Ok(Some(_)) => MARKERS.iter().any(|m| memchr::memmem::find(head, m).is_some()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_layouts_by_content() {
        assert_eq!(sniff(b"ElfFile\0rest", false), Ok(Some(Container::Evtx)));
        assert_eq!(sniff(b"\xEF\xBB\xBF{\"a\":1}", true), Ok(Some(Container::Json)));
        assert_eq!(sniff(b"  \r\n[{", true), Ok(Some(Container::Json)));
        assert_eq!(sniff(b"Record 1\n{", true), Ok(Some(Container::Json)));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><Events>", true), Ok(Some(Container::Xml)));
        assert_eq!(sniff(b"Elf", false), Ok(None));
        assert_eq!(sniff(b"   ", false), Ok(None));
        assert_eq!(sniff(b"", true), Err("empty file (0 bytes): not an EVTX log".into()));
        let err = sniff(b"MZ\x90\x00binary", true).unwrap_err();
        assert_eq!(
            err,
            format!("not an EVTX file: it starts with 4d 5a 90 00 62 69 6e 61 (a Windows executable), not the \"ElfFile\" signature, {FORMATS_TRIED}")
        );
        assert!(sniff(b"\xFF\xFE<\x00", true).unwrap_err().starts_with("UTF-16 text"));
        assert!(looks_like_events(b"{\"winlog\": {\"event_id\": 1}}"));
        assert!(looks_like_events(b"<Events><Event xmlns=\"x\">"));
        assert!(!looks_like_events(b"{\"files\": {\"a.evtx\": {\"records\": 23}}}"));
        assert!(!looks_like_events(b"<html><body>"));
    }
}
