//! Hostile rule input: YAML alias bombs, oversize files, regexes built to
//! blow up, zip bombs, non-UTF-8 text and zip entries that climb out of
//! their folder. Each is skipped with its kind and reason (or, for the
//! regexes the engine can run, runs in linear time); the good rules beside
//! them still load, and nothing hangs or is written anywhere.

mod support;

use evtx_triage::rule_load::{LoadOptions, SkipKind, SkippedRule};
use evtx_triage::rule_source::{from_bytes, from_path, from_zip, RuleText, RuleTexts, MAX_RULE_BYTES};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::scan_bytes;
use evtx_triage::writer::write_evtx;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;
use support::*;

/// A usable rule: whoami.exe started.
fn good_rule(id: &str) -> String {
    format!(
        r#"title: Good rule {id}
id: {id}
status: test
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
level: low
"#
    )
}

/// "Billion laughs": nine levels of nine aliases, 9^9 (387,420,489) strings once expanded.
fn alias_bomb() -> String {
    let mut text =
        String::from("title: Alias bomb\nid: alias-bomb\nstatus: test\nlogsource:\n  product: windows\n  category: process_creation\n");
    text.push_str("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        let refs = vec![format!("*{}", w[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
    }
    text.push_str("detection:\n  selection:\n    CommandLine|contains: *i\n  condition: selection\n");
    text
}

/// A rule file of 10 MB (mostly spaces).
fn ten_mb_rule() -> Vec<u8> {
    let mut bytes = good_rule("ten-mb").into_bytes();
    bytes.resize(10 << 20, b' ');
    bytes
}

/// A rule file in UTF-16LE with its byte order mark: not UTF-8.
fn utf16_rule() -> Vec<u8> {
    let mut bytes = vec![0xff, 0xfe];
    for unit in good_rule("utf16").encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

fn regex_rule(id: &str, pattern: &str) -> String {
    format!(
        r#"title: Regex {id}
id: {id}
status: test
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    CommandLine|re: '{pattern}'
  condition: selection
level: low
"#
    )
}

/// What the 300 MB zip entry expands to.
const BOMB_BYTES: usize = 300 << 20;

/// A zip holding `big.yml`, 300 MB of spaces deflated (about 300 KB, written
/// piece by piece), and a good rule after it. Built once.
fn zip_bomb() -> &'static [u8] {
    static ZIP: OnceLock<Vec<u8>> = OnceLock::new();
    ZIP.get_or_init(|| {
        let started = Instant::now();
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(6));
        zip.start_file("big.yml", options).unwrap();
        let piece = vec![b' '; 1 << 20];
        for _ in 0..BOMB_BYTES / piece.len() {
            zip.write_all(&piece).unwrap();
        }
        zip.start_file("rules/after-bomb.yml", options).unwrap();
        zip.write_all(good_rule("after-bomb").as_bytes()).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        eprintln!("zip bomb: {} bytes for {BOMB_BYTES} bytes of text, built in {:.2?}", bytes.len(), started.elapsed());
        bytes
    })
}

/// A zip whose entries climb out of their folder, plus a good one.
fn unsafe_zip() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, id) in [("../evil.yml", "evil-parent"), ("/abs.yml", "evil-absolute"), ("rules/inside.yml", "inside")] {
        zip.start_file(name, options).unwrap();
        zip.write_all(good_rule(id).as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// (source, kind) of skipped rules, sorted.
fn shapes(skipped: &[SkippedRule]) -> Vec<(String, SkipKind)> {
    let mut out: Vec<_> = skipped.iter().map(|s| (s.source.clone(), s.kind)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn ids(rules: &RuleSet) -> Vec<String> {
    rules.analytics().map(|a| a.id.clone()).collect()
}

fn load(pack: &RuleTexts) -> RuleSet {
    RuleSet::load(pack, &LoadOptions::default())
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn size_reason(size: usize) -> String {
    format!("the file is {size} bytes; rule files over {MAX_RULE_BYTES} bytes are not loaded")
}

#[test]
fn a_yaml_alias_bomb_is_skipped_as_invalid() {
    let dir = TempDir::new("alias-bomb");
    let bomb = dir.write("rules/bomb.yml", alias_bomb().as_bytes());
    dir.write("rules/good.yml", good_rule("good").as_bytes());
    let pack = from_path(&dir.path().join("rules"));
    assert_eq!(pack.texts.len(), 2);
    assert!(pack.unreadable.is_empty());
    let started = Instant::now();
    let rules = load(&pack);
    eprintln!("loading the alias bomb took {:.2?}", started.elapsed());
    let report = rules.load_report();
    assert_eq!(shapes(&report.skipped), [(s(&bomb), SkipKind::Invalid)]);
    let skipped = &report.skipped[0];
    eprintln!("alias bomb: {}", skipped.reason);
    assert!(!skipped.reason.is_empty());
    assert_eq!((skipped.id.as_deref(), skipped.title.as_deref()), (Some("alias-bomb"), Some("Alias bomb")));
    assert_eq!(report.loaded, 3);
    assert_eq!(ids(&rules), [MINIDUMP, TASKMGR, "good"]);
}

#[test]
fn a_10_mb_rule_file_is_unreadable_and_its_size_is_named() {
    let dir = TempDir::new("ten-mb");
    let bytes = ten_mb_rule();
    let big = dir.write("rules/big.yml", &bytes);
    dir.write("rules/good.yml", good_rule("good").as_bytes());
    // From a folder: refused by its size before it is read.
    let pack = from_path(&dir.path().join("rules"));
    assert_eq!(pack.texts.len(), 1);
    assert_eq!(pack.unreadable.len(), 1);
    assert_eq!((pack.unreadable[0].source.clone(), pack.unreadable[0].reason.clone()), (s(&big), size_reason(10 << 20)));
    let rules = load(&pack);
    let report = rules.load_report();
    assert_eq!(shapes(&report.skipped), [(s(&big), SkipKind::Unreadable)]);
    assert_eq!(report.skipped[0].reason, size_reason(10 << 20));
    assert_eq!(ids(&rules), [MINIDUMP, TASKMGR, "good"]);
    // From bytes (an upload): the same.
    let pack = from_bytes("big.yml", bytes);
    assert!(pack.texts.is_empty());
    assert_eq!(pack.unreadable.len(), 1);
    assert_eq!((pack.unreadable[0].source.as_str(), pack.unreadable[0].reason.clone()), ("big.yml", size_reason(10 << 20)));
    let rules = load(&pack);
    assert_eq!(shapes(&rules.load_report().skipped), [("big.yml".to_string(), SkipKind::Unreadable)]);
    assert_eq!(rules.load_report().loaded, 2);
    // One byte over the limit is refused, the limit itself is not.
    assert_eq!(from_bytes("over.yml", vec![b' '; MAX_RULE_BYTES + 1]).unreadable[0].reason, size_reason(MAX_RULE_BYTES + 1));
    let mut at_limit = good_rule("at-limit").into_bytes();
    at_limit.resize(MAX_RULE_BYTES, b' ');
    let pack = from_bytes("at-limit.yml", at_limit);
    assert_eq!((pack.texts.len(), pack.unreadable.len()), (1, 0));
    assert_eq!(ids(&load(&pack)), [MINIDUMP, TASKMGR, "at-limit"]);
}

/// Rust's regex engine runs in linear time: `(a+)+$` loads and a long
/// `aaaa…b` value is matched (or not) without backtracking. A pattern
/// whose compiled form is too big is refused by the engine, named.
#[test]
fn catastrophic_regexes_run_in_linear_time_or_are_refused() {
    let pack = RuleTexts {
        texts: vec![
            RuleText { source: "nested.yml".into(), text: regex_rule("nested", "(a+)+$") },
            RuleText { source: "huge.yml".into(), text: regex_rule("huge", "(a{1000}){1000}") },
        ],
        unreadable: Vec::new(),
    };
    let started = Instant::now();
    let rules = load(&pack);
    eprintln!("loading the regex rules took {:.2?}", started.elapsed());
    let report = rules.load_report();
    assert_eq!(ids(&rules), [MINIDUMP, TASKMGR, "nested"]);
    assert_eq!(shapes(&report.skipped), [("huge.yml".to_string(), SkipKind::Unsupported)]);
    let huge = &report.skipped[0];
    eprintln!("huge regex: {}", huge.reason);
    assert_eq!(huge.id.as_deref(), Some("huge"));
    assert!(huge.reason.starts_with("the engine cannot run it: "), "{}", huge.reason);
    assert!(huge.reason.contains("size limit"), "{}", huge.reason);

    // 'a' x 20,000 then 'b': `(a+)+$` cannot match (the value ends in b); a
    // backtracking engine would take 2^20000 steps. 'a' x 20,000: it matches.
    let no_match = "a".repeat(20_000) + "b";
    let matches = "a".repeat(20_000);
    let mut events = benign_run(1, 4);
    events.push(process_create(5, "WKS-01", r"C:\Windows\System32\cmd.exe", &no_match));
    events.push(process_create(6, "WKS-01", r"C:\Windows\System32\cmd.exe", &matches));
    events.extend(benign_run(7, 4));
    let log = write_evtx(&events);
    let started = Instant::now();
    let scan = scan_bytes("long.evtx", &log, &rules);
    eprintln!("scanning the long values took {:.2?}", started.elapsed());
    assert_eq!(scan.records(), 10);
    assert_eq!(pairs(scan.findings()), set(&[("nested", 6)]));
}

#[test]
fn a_zip_bomb_entry_is_unreadable_and_the_rest_loads() {
    let bomb = zip_bomb();
    assert!(bomb.len() < 512 << 10, "the bomb is {} bytes", bomb.len());
    let started = Instant::now();
    let pack = from_zip("bomb.zip", bomb);
    eprintln!("reading the zip bomb took {:.2?}", started.elapsed());
    assert_eq!(pack.texts.iter().map(|t| t.source.as_str()).collect::<Vec<_>>(), ["bomb.zip/rules/after-bomb.yml"]);
    assert_eq!(pack.unreadable.len(), 1);
    assert_eq!(pack.unreadable[0].source, "bomb.zip/big.yml");
    assert_eq!(pack.unreadable[0].reason, format!("the entry expands past {MAX_RULE_BYTES} bytes; rule files that big are not loaded"));
    let rules = load(&pack);
    assert_eq!(shapes(&rules.load_report().skipped), [("bomb.zip/big.yml".to_string(), SkipKind::Unreadable)]);
    assert_eq!(ids(&rules), [MINIDUMP, TASKMGR, "after-bomb"]);
    // From a file, by its bytes, the same.
    let again = from_bytes("bomb.zip", bomb.to_vec());
    assert_eq!((again.texts, again.unreadable), (pack.texts, pack.unreadable));
}

#[test]
fn a_non_utf8_rule_file_is_unreadable() {
    let dir = TempDir::new("utf16");
    let bad = dir.write("rules/utf16.yml", &utf16_rule());
    dir.write("rules/good.yml", good_rule("good").as_bytes());
    let pack = from_path(&dir.path().join("rules"));
    let rules = load(&pack);
    let report = rules.load_report();
    assert_eq!(shapes(&report.skipped), [(s(&bad), SkipKind::Unreadable)]);
    assert_eq!(report.skipped[0].reason, "not UTF-8 text (invalid byte at offset 0)");
    assert!(report.skipped[0].reason.contains("UTF-8"));
    assert_eq!(ids(&rules), [MINIDUMP, TASKMGR, "good"]);
    // Bad bytes after good ones: the offset is theirs.
    let mut bytes = good_rule("late").into_bytes();
    let at = bytes.len();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    let pack = from_bytes("late.yml", bytes);
    assert!(pack.texts.is_empty());
    assert_eq!(pack.unreadable[0].reason, format!("not UTF-8 text (invalid byte at offset {at})"));
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn zip_entries_outside_their_folder_are_unsafe_and_not_written() {
    let outer = TempDir::new("unsafe-zip");
    let inner = outer.path().join("in/rules");
    std::fs::create_dir_all(&inner).unwrap();
    let zip_path = inner.join("pack.zip");
    std::fs::write(&zip_path, unsafe_zip()).unwrap();
    let abs_existed = Path::new("/abs.yml").exists();
    let before = tree(outer.path());
    let pack = from_path(&inner);
    let unsafe_reason = "unsafe path in the archive (absolute or with ..); not read";
    let zip = s(&zip_path);
    let got: Vec<(String, String)> = pack.unreadable.iter().map(|u| (u.source.clone(), u.reason.clone())).collect();
    assert_eq!(got, [(format!("{zip}/../evil.yml"), unsafe_reason.to_string()), (format!("{zip}//abs.yml"), unsafe_reason.to_string())]);
    assert_eq!(pack.texts.iter().map(|t| t.source.clone()).collect::<Vec<_>>(), [format!("{zip}/rules/inside.yml")]);
    let rules = load(&pack);
    assert_eq!(
        shapes(&rules.load_report().skipped),
        [(format!("{zip}/../evil.yml"), SkipKind::Unreadable), (format!("{zip}//abs.yml"), SkipKind::Unreadable)]
    );
    assert_eq!(ids(&rules), [MINIDUMP, TASKMGR, "inside"]);
    // Nothing was written: not beside the zip, not above it, not at the root.
    assert_eq!(tree(outer.path()), before);
    assert!(!inner.parent().unwrap().join("evil.yml").exists());
    assert_eq!(Path::new("/abs.yml").exists(), abs_existed);
    // From bytes, the same.
    let from_memory = from_zip("pack.zip", &unsafe_zip());
    let sources: Vec<&str> = from_memory.unreadable.iter().map(|u| u.source.as_str()).collect();
    assert_eq!(sources, ["pack.zip/../evil.yml", "pack.zip//abs.yml"]);
    assert_eq!(from_memory.texts.len(), 1);
}

#[test]
fn the_cli_skips_bad_rules_in_a_folder_and_refuses_a_named_one() {
    let dir = TempDir::new("cli-rules");
    let mut events = benign_run(1, 5);
    events.push(process_create(6, "WKS-01", r"C:\Windows\System32\whoami.exe", "whoami /all"));
    let log = dir.write("log.evtx", &write_evtx(&events));
    let big = dir.write("rules/big.yml", &ten_mb_rule());
    let bomb = dir.write("rules/bomb.yml", alias_bomb().as_bytes());
    dir.write("rules/good.yml", good_rule("good").as_bytes());
    let huge = dir.write("rules/huge.yml", regex_rule("huge", "(a{1000}){1000}").as_bytes());
    let unsafe_zip = dir.write("rules/unsafe.zip", &unsafe_zip());
    let utf16 = dir.write("rules/utf16.yml", &utf16_rule());
    let zip_bomb = dir.write("rules/zipbomb.zip", zip_bomb());
    let started = Instant::now();
    let out = cli(&[&"scan", &"--format", &"json", &"--rules", &dir.path().join("rules"), &log]);
    eprintln!("the CLI ran in {:.2?}", started.elapsed());
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Built-ins, good.yml, the good entries of both zips.
    assert_eq!(v["rules"]["loaded"], 5, "{}", v["rules"]);
    let mut skipped: Vec<(String, String)> = v["rules"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["source"].as_str().unwrap().to_string(), s["kind"].as_str().unwrap().to_string()))
        .collect();
    skipped.sort();
    let (uz, zb) = (s(&unsafe_zip), s(&zip_bomb));
    let mut want = vec![
        (s(&big), "unreadable".to_string()),
        (s(&bomb), "invalid".to_string()),
        (s(&huge), "unsupported".to_string()),
        (format!("{uz}/../evil.yml"), "unreadable".to_string()),
        (format!("{uz}//abs.yml"), "unreadable".to_string()),
        (s(&utf16), "unreadable".to_string()),
        (format!("{zb}/big.yml"), "unreadable".to_string()),
    ];
    want.sort();
    assert_eq!(skipped, want);
    for sk in v["rules"]["skipped"].as_array().unwrap() {
        assert!(!sk["reason"].as_str().unwrap().is_empty(), "{sk}");
        assert!(
            stderr.contains(&format!("evtx-triage: skipped {}: {}", sk["source"].as_str().unwrap(), sk["reason"].as_str().unwrap())),
            "{stderr}"
        );
    }
    assert!(
        stderr
            .starts_with("evtx-triage: 5 rule(s) loaded, 7 skipped: 1 unsupported by the engine, 1 invalid YAML or Sigma, 5 unreadable\n"),
        "{stderr}"
    );
    let found: Vec<(&str, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["analytic_id"].as_str().unwrap(), f["event_record_id"].as_u64().unwrap()))
        .collect();
    // The three good rules fire on whoami, in load order: good.yml, then
    // unsafe.zip's inside.yml, then zipbomb.zip's after-bomb.yml.
    assert_eq!(found, [("good", 6), ("inside", 6), ("after-bomb", 6)]);

    // The 10 MB file named on its own: a usage error naming it.
    let out = cli(&[&"scan", &"--rules", &big, &log]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("evtx-triage: {}: not a usable Sigma rule: {}\n", s(&big), size_reason(10 << 20))
    );
    assert!(out.stdout.is_empty());
}
