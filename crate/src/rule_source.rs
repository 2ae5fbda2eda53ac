//! Where rule texts come from: files, folders and zip archives, with limits
//! that keep a hostile archive or file from hanging or exhausting the
//! analyzer. Every entry that is not used is reported, never dropped.

use std::io::Read;

/// One rule file's text and where it came from (`pack.zip/rules/x.yml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleText {
    pub source: String,
    pub text: String,
}

/// A rule file that could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub source: String,
    pub reason: String,
}

/// A rule file bigger than this is refused: SigmaHQ's largest is about 40 KB.
pub const MAX_RULE_BYTES: usize = 1 << 20;
/// All rule text taken from one archive (SigmaHQ's whole repository is ~20 MB).
pub const MAX_ARCHIVE_TEXT_BYTES: u64 = 256 << 20;
/// Entries looked at in one archive.
pub const MAX_ARCHIVE_ENTRIES: usize = 50_000;

/// What reading some rule sources gave.
#[derive(Debug, Default)]
pub struct RuleTexts {
    pub texts: Vec<RuleText>,
    pub unreadable: Vec<Unreadable>,
}

impl RuleTexts {
    pub fn extend(&mut self, other: RuleTexts) {
        self.texts.extend(other.texts);
        self.unreadable.extend(other.unreadable);
    }
}

/// Whether a name is a rule file's (`.yml`, `.yaml`).
pub fn is_rule_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yml") || lower.ends_with(".yaml")
}

/// Whether a name is a zip archive's.
pub fn is_zip_name(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// A rule file's bytes as text, or why not.
pub fn text_of(source: &str, bytes: Vec<u8>) -> Result<RuleText, Unreadable> {
    let refuse = |reason: String| Unreadable { source: source.to_string(), reason };
    if bytes.len() > MAX_RULE_BYTES {
        return Err(refuse(format!("the file is {} bytes; rule files over {} bytes are not loaded", bytes.len(), MAX_RULE_BYTES)));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(RuleText { source: source.to_string(), text: text.trim_start_matches('\u{feff}').to_string() }),
        Err(e) => Err(refuse(format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))),
    }
}

/// The rule files inside a zip archive (any folder depth). Entries with
/// unsafe paths (`..`, absolute), over-size entries and whatever goes past
/// the archive's text budget are reported; nothing is written anywhere.
pub fn from_zip(name: &str, bytes: &[u8]) -> RuleTexts {
    let mut out = RuleTexts::default();
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            out.unreadable.push(Unreadable { source: name.to_string(), reason: format!("not a readable zip archive: {e}") });
            return out;
        }
    };
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        out.unreadable.push(Unreadable {
            source: name.to_string(),
            reason: format!("the archive holds {} entries; only the first {MAX_ARCHIVE_ENTRIES} are read", archive.len()),
        });
    }
    let mut budget = MAX_ARCHIVE_TEXT_BYTES;
    for i in 0..archive.len().min(MAX_ARCHIVE_ENTRIES) {
        let mut entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                out.unreadable.push(Unreadable { source: format!("{name} entry {i}"), reason: format!("unreadable entry: {e}") });
                continue;
            }
        };
        let raw_name = entry.name().to_string();
        if entry.is_dir() || !is_rule_name(&raw_name) {
            continue;
        }
        let source = format!("{name}/{raw_name}");
        if entry.enclosed_name().is_none() {
            out.unreadable.push(Unreadable { source, reason: "unsafe path in the archive (absolute or with ..); not read".into() });
            continue;
        }
        // Declared sizes can lie: read at most one byte past the limit.
        let limit = (MAX_RULE_BYTES as u64 + 1).min(budget + 1);
        let mut data = Vec::new();
        if let Err(e) = (&mut entry).take(limit).read_to_end(&mut data) {
            out.unreadable.push(Unreadable { source, reason: format!("cannot decompress: {e}") });
            continue;
        }
        if data.len() as u64 > budget {
            out.unreadable.push(Unreadable {
                source,
                reason: format!("the archive expands past {MAX_ARCHIVE_TEXT_BYTES} bytes of rules; this and later entries are not read"),
            });
            break;
        }
        budget -= data.len() as u64;
        if data.len() > MAX_RULE_BYTES {
            out.unreadable.push(Unreadable {
                source,
                reason: format!("the entry expands past {MAX_RULE_BYTES} bytes; rule files that big are not loaded"),
            });
            continue;
        }
        match text_of(&source, data) {
            Ok(t) => out.texts.push(t),
            Err(u) => out.unreadable.push(u),
        }
    }
    out
}

/// One file given by the user: a zip's rules, or one rule file's text.
pub fn from_bytes(name: &str, bytes: Vec<u8>) -> RuleTexts {
    if is_zip_name(name) || bytes.starts_with(b"PK\x03\x04") {
        return from_zip(name, &bytes);
    }
    let mut out = RuleTexts::default();
    match text_of(name, bytes) {
        Ok(t) => out.texts.push(t),
        Err(u) => out.unreadable.push(u),
    }
    out
}

/// Rule files under a path: a file (rule or zip), or a folder searched
/// recursively for `.yml`, `.yaml` and `.zip` files, in name order.
#[cfg(not(target_arch = "wasm32"))]
pub fn from_path(path: &std::path::Path) -> RuleTexts {
    let mut out = RuleTexts::default();
    if !path.is_dir() {
        let source = path.display().to_string();
        match read_limited(path) {
            Ok(bytes) => out.extend(from_bytes(&source, bytes)),
            Err(reason) => out.unreadable.push(Unreadable { source, reason }),
        }
        return out;
    }
    let mut files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(path)
        .follow_links(true)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| p.is_file())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| is_rule_name(n) || is_zip_name(n)))
        .collect();
    files.sort();
    for file in files {
        let source = file.display().to_string();
        match read_limited(&file) {
            Ok(bytes) => out.extend(from_bytes(&source, bytes)),
            Err(reason) => out.unreadable.push(Unreadable { source, reason }),
        }
    }
    out
}

/// Reads a file, refusing a rule file too big to be one before reading it.
#[cfg(not(target_arch = "wasm32"))]
fn read_limited(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let size = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?.len();
    // A zip is known by its name or by its first bytes (a download may have no name).
    let mut magic = [0u8; 4];
    let starts_like_zip = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == *b"PK\x03\x04";
    let is_zip = starts_like_zip || path.to_str().is_some_and(is_zip_name);
    if !is_zip && size > MAX_RULE_BYTES as u64 {
        return Err(format!("the file is {size} bytes; rule files over {MAX_RULE_BYTES} bytes are not loaded"));
    }
    let limit = if is_zip { MAX_ARCHIVE_TEXT_BYTES } else { MAX_RULE_BYTES as u64 + 1 };
    let mut data = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut data)).map_err(|e| format!("cannot read: {e}"))?;
    Ok(data)
}

/// A zip archive of rule texts, each under its source name (the active
/// set, exported to load elsewhere). Names are made safe: no leading `/`,
/// no `..` element.
pub fn zip_of(texts: &[RuleText]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut used = std::collections::HashSet::new();
    for (i, t) in texts.iter().enumerate() {
        let clean: Vec<&str> = t.source.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".." && *p != ".").collect();
        let mut name = clean.join("/");
        if name.is_empty() || !used.insert(name.clone()) {
            name = format!("rule-{i}.yml");
            used.insert(name.clone());
        }
        // Writing to memory cannot fail.
        writer.start_file(name, options).expect("zip entry in memory");
        writer.write_all(t.text.as_bytes()).expect("zip entry in memory");
    }
    writer.finish().expect("zip in memory").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_set_reads_back_as_the_same_texts() {
        let texts = vec![
            RuleText { source: "pack.zip/rules/a.yml".into(), text: "title: a".into() },
            RuleText { source: "../b.yml".into(), text: "title: b".into() },
        ];
        let back = from_zip("set.zip", &zip_of(&texts));
        assert!(back.unreadable.is_empty(), "{:?}", back.unreadable);
        let got: Vec<(String, String)> = back.texts.into_iter().map(|t| (t.source, t.text)).collect();
        assert_eq!(
            got,
            [("set.zip/pack.zip/rules/a.yml".to_string(), "title: a".to_string()), ("set.zip/b.yml".to_string(), "title: b".to_string())]
        );
    }

    #[test]
    fn oversize_and_non_utf8_texts_are_refused_with_their_reason() {
        let big = text_of("big.yml", vec![b' '; MAX_RULE_BYTES + 1]).unwrap_err();
        assert_eq!(big.reason, format!("the file is {} bytes; rule files over {MAX_RULE_BYTES} bytes are not loaded", MAX_RULE_BYTES + 1));
        let bad = text_of("bad.yml", vec![b't', 0xff, 0xfe]).unwrap_err();
        assert_eq!(bad.reason, "not UTF-8 text (invalid byte at offset 1)");
    }
}
