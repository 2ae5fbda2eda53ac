//! Event search against an independent filter: every query's hits over the
//! real logs of `../shared/corpus` are exactly the (file, EventRecordID)
//! pairs that plain Rust finds in every event the `evtx` crate parses. Under
//! CI the corpus must be there; elsewhere those tests skip with a notice.
//! Then the `search` command's formats and exit codes.

mod support;

use evtx_triage::event::EventView;
use evtx_triage::query::Query;
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::scan_bytes;
use evtx_triage::writer::write_evtx;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::*;

type Hits = BTreeSet<(String, u64)>;

/// One parsed event: its file (relative to the corpus) and flat view.
struct Event {
    file: String,
    view: EventView,
}

impl Event {
    /// The field's values as text (numbers as digits; arrays member by member).
    fn texts(&self, name: &str) -> Vec<String> {
        match self.view.fields.get(name) {
            Some(Value::Array(items)) => items.iter().filter_map(evtx_triage::event::scalar_text).collect(),
            Some(v) => evtx_triage::event::scalar_text(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    fn is(&self, name: &str, pattern: &str) -> bool {
        self.texts(name).iter().any(|t| wildcard(pattern, t))
    }

    /// Some text value of the event holds `needle` (a wildcard pattern), ignoring case.
    fn has_text(&self, needle: &str) -> bool {
        let mut strings = Vec::new();
        collect_strings(&self.view.fields, &mut strings);
        let pattern = format!("*{needle}*");
        strings.iter().any(|s| wildcard(&pattern, s))
    }

    fn time(&self) -> String {
        self.view.field_text("TimeCreated").unwrap_or_default()
    }
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// Whole-text match ignoring case: `*` any run, `?` any one character.
fn wildcard(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| go(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && go(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    go(&p, &t)
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap().display().to_string()
}

/// Every event the `evtx` crate reads from the corpus's logs.
fn all_events(dir: &Path, files: &[PathBuf]) -> Vec<Event> {
    let mut out = Vec::new();
    for p in files {
        let Ok(mut parser) = evtx::EvtxParser::from_path(p) else { continue };
        for record in parser.records_json_value().flatten() {
            out.push(Event { file: rel(dir, p), view: EventView::from_rendered(&record.data) });
        }
    }
    out
}

/// What a search finds in the files (through the scan, prefilter on): the
/// hits on live records, on records carved from slack or cut short (which
/// the `evtx` crate's walk does not read), and the chunks scanned and skipped.
struct Found {
    live: Hits,
    recovered: Hits,
    chunks: u64,
    skipped: u64,
}

fn search(dir: &Path, files: &[(PathBuf, Vec<u8>)], query: &Query, rules: RuleSet) -> Found {
    let mut found = Found { live: Hits::new(), recovered: Hits::new(), chunks: 0, skipped: 0 };
    for (p, bytes) in files {
        let (report, findings, _) = scan_bytes(&rel(dir, p), bytes, &rules).finish();
        found.chunks += report.chunks;
        found.skipped += report.chunks_skipped;
        for f in findings.iter().filter(|f| query.admits(f)) {
            let set = if f.recovered.is_some() || f.partial.is_some() { &mut found.recovered } else { &mut found.live };
            set.insert((f.file.to_string(), f.event_record_id));
        }
    }
    found
}

/// What a hit line shows of each hit besides its event, in file order.
type HitPlace = (String, u64, Option<u64>, Option<String>, Option<String>, Option<String>, Option<String>);

fn hit_places(dir: &Path, files: &[(PathBuf, Vec<u8>)], query: &Query, rules: RuleSet) -> Vec<HitPlace> {
    let mut out = Vec::new();
    for (p, bytes) in files {
        let (_, findings, _) = scan_bytes(&rel(dir, p), bytes, &rules).finish();
        out.extend(findings.iter().filter(|f| query.admits(f)).map(|f| {
            let text = |t: &Option<evtx_triage::intern::SharedText>| t.as_deref().map(str::to_string);
            (
                f.file.to_string(),
                f.event_record_id,
                f.event_id,
                f.time_created.clone(),
                text(&f.computer),
                text(&f.channel),
                f.recovery_text(),
            )
        }));
    }
    out
}

type Filter = fn(&Event) -> bool;

/// Ten and more queries, each with the same test written in plain Rust.
const CASES: &[(&str, Filter)] = &[
    // A field with a wildcard.
    (r"TargetImage:*\lsass.exe", |e| e.is("TargetImage", r"*\lsass.exe")),
    // Free text, and free text with wildcards.
    ("powershell", |e| e.has_text("powershell")),
    ("ls?ss.e*e", |e| e.has_text("ls?ss.e*e")),
    // A number field.
    ("EventID:4624", |e| e.is("EventID", "4624")),
    ("EventID:46??", |e| e.is("EventID", "46??")),
    // Value case ignored; field name case ignored.
    ("Channel:microsoft-windows-sysmon/operational", |e| e.is("Channel", "Microsoft-Windows-Sysmon/Operational")),
    ("computer:IEWIN7", |e| e.is("Computer", "IEWIN7")),
    // A time range (compared here as text: EVTX times are all of one form).
    ("TimeCreated>=2019-03-17T19:00:00Z TimeCreated<2019-03-19", |e| {
        let t = e.time();
        t.as_str() >= "2019-03-17T19:00:00" && t.as_str() < "2019-03-19"
    }),
    // Quoted values with spaces, as a field value and as free text.
    (r#"CommandLine:"*-k netsvcs*""#, |e| e.is("CommandLine", "*-k netsvcs*")),
    (r#""cmd.exe /c""#, |e| e.has_text("cmd.exe /c")),
    // Negation.
    ("Channel:Security -EventID:4624 -EventID:4672", |e| {
        e.is("Channel", "Security") && !e.is("EventID", "4624") && !e.is("EventID", "4672")
    }),
    // Combinations.
    (r"EventID:1 Image:*\cmd.exe -CommandLine:*/c*", |e| {
        e.is("EventID", "1") && e.is("Image", r"*\cmd.exe") && !e.is("CommandLine", "*/c*")
    }),
    ("targetimage:*lsass.exe EventID:10 TimeCreated<2019-03-18", |e| {
        e.is("TargetImage", "*lsass.exe") && e.is("EventID", "10") && e.time().as_str() < "2019-03-18"
    }),
];

#[test]
fn every_query_finds_exactly_what_an_independent_filter_finds() {
    let Some(dir) = corpus_dir("the search corpus test") else { return };
    let paths = evtx_files(&dir);
    let events = all_events(&dir, &paths);
    let files: Vec<(PathBuf, Vec<u8>)> = paths.iter().map(|p| (p.clone(), std::fs::read(p).unwrap())).collect();
    println!("{} events in {} files", events.len(), files.len());
    let mut failures = Vec::new();
    for (text, filter) in CASES {
        let query = Query::parse(text).unwrap();
        let want: Hits = events.iter().filter(|e| filter(e)).map(|e| (e.file.clone(), e.view.basics().event_record_id.unwrap())).collect();
        let found = search(&dir, &files, &query, query.rule_set().unwrap());
        // As the CLI runs it: without stories (a query of System fields reads those
        // alone) and without the matched fields.
        let with_stories = hit_places(&dir, &files, &query, query.rule_set().unwrap());
        let as_the_cli_runs = query.rule_set().unwrap().without_stories().without_match_detail();
        assert_eq!(hit_places(&dir, &files, &query, as_the_cli_runs), with_stories, "{text}: without stories");
        let got = found.live;
        println!(
            "{:>6} events (+{:>2} recovered)  {:>3} of {} chunks skipped  {text}",
            got.len(),
            found.recovered.len(),
            found.skipped,
            found.chunks
        );
        assert!(!want.is_empty(), "{text}: the filter finds nothing; pick another query");
        if got != want {
            let extra: Vec<_> = got.difference(&want).take(5).collect();
            let missed: Vec<_> = want.difference(&got).take(5).collect();
            failures.push(format!("{text}: {} found, {} expected; extra {extra:?}, missed {missed:?}", got.len(), want.len()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The prefilter skips chunks without the query's literal, and changes no result.
#[test]
fn the_prefilter_skips_chunks_and_changes_nothing() {
    let Some(dir) = corpus_dir("the search prefilter test") else { return };
    let files: Vec<(PathBuf, Vec<u8>)> = evtx_files(&dir).into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect();
    for text in [r"TargetImage:*\lsass.exe", "powershell", r#""cmd.exe /c" -EventID:4688"#] {
        let query = Query::parse(text).unwrap();
        let found = search(&dir, &files, &query, query.rule_set().unwrap());
        assert!(found.skipped * 2 > found.chunks, "{text}: {} of {} chunks skipped", found.skipped, found.chunks);
        let hits: Hits = found.live.union(&found.recovered).cloned().collect();
        let rules = query.rule_set().unwrap().exhaustive();
        let mut full = Hits::new();
        for (p, bytes) in &files {
            let (_, findings, _) = scan_bytes(&rel(&dir, p), bytes, &rules).finish();
            full.extend(findings.iter().map(|f| (f.file.to_string(), f.event_record_id)));
        }
        assert_eq!(hits, full, "{text}");
    }
}

/// Two lsass accesses (5 and 7) among benign events.
fn lsass_log() -> Vec<u8> {
    let mut events = benign_run(1, 4);
    events.push(access(5, "WKS-01", r"C:\Users\bob\Desktop\dumper.exe", LSASS, DBGHELP_TRACE));
    events.push(process_create(6, "WKS-01", r"C:\Windows\System32\whoami.exe", "whoami /all"));
    events.push(access(7, "WKS-02", r"C:\Windows\System32\taskmgr.exe", LSASS, PLAIN_TRACE));
    events.extend(benign_run(8, 4));
    write_evtx(&events)
}

const COLUMNS: [&str; 8] = ["file", "event_record_id", "event_id", "time_created", "computer", "channel", "recovery", "event"];

/// jsonl: one object per hit with the columns, its event read again and agreeing with them.
fn check_jsonl(out: &Output) -> Vec<Value> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let lines: Vec<Value> = stdout(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for line in &lines {
        let keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, COLUMNS);
        let b = EventView::from_rendered(&line["event"]).basics();
        assert_eq!(b.event_record_id, line["event_record_id"].as_u64());
        assert_eq!(b.event_id, line["event_id"].as_u64());
        assert_eq!(b.time_created.as_deref(), line["time_created"].as_str());
        assert_eq!(b.computer.as_deref(), line["computer"].as_str());
    }
    lines
}

#[test]
fn jsonl_csv_and_table_give_the_hits_with_their_events() {
    let dir = TempDir::new("search");
    let file = dir.write("log.evtx", &lsass_log());
    let lines = check_jsonl(&cli(&[&"search", &r"TargetImage:*\lsass.exe", &file, &"--format", &"jsonl"]));
    let ids: Vec<u64> = lines.iter().map(|l| l["event_record_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [5, 7]);
    assert_eq!(lines[0]["file"], Value::from(file.display().to_string()));
    assert_eq!(lines[1]["computer"], "WKS-02");
    assert_eq!(lines[1]["event"]["Event"]["EventData"]["SourceImage"], r"C:\Windows\System32\taskmgr.exe");
    // A leading `-` is a term, not a flag.
    let lines = check_jsonl(&cli(&[&"search", &r"-TargetImage:*\lsass.exe EventID:10", &"--format", &"jsonl", &file]));
    assert!(lines.iter().all(|l| l["event_id"] == 10) && !lines.is_empty());

    let out = cli(&[&"search", &"--format", &"csv", &r"TargetImage:*\lsass.exe", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().next(), Some("file,event_record_id,event_id,time_created,computer,channel,recovery,event"));
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[1][1], "7");
    assert_eq!(&rows[1][6], "");
    let event: Value = serde_json::from_str(&rows[1][7]).unwrap();
    assert_eq!(event["Event"]["System"]["EventRecordID"], 7);

    // A field name not known here is matched as spelled, with a note.
    let out = cli(&[&"search", &"--format", &"jsonl", &"commandline:whoami* Foo:x", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("\"Foo\" is not a field name known here"), "{}", stderr(&out));

    let out = cli(&[&"search", &"whoami", &file]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("TIME") && header.contains("EVENT") && header.ends_with("FILE"), "{text}");
    assert!(text.lines().nth(1).unwrap().contains("WKS-01"), "{text}");
    assert!(text.ends_with("\n1 event(s)\n"), "{text}");
}

#[test]
fn a_bad_query_exits_2_with_its_reason() {
    let dir = TempDir::new("search-bad");
    let file = dir.write("log.evtx", &lsass_log());
    let out = cli(&[&"search", &r#"Image:"C:\x"#, &file]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "evtx-triage: bad query: unclosed quote: the \" at character 7 has no closing \"\n");
    assert_eq!(stdout(&out), "");
    let out = cli(&[&"search", &"EventID>4", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("only TimeCreated can be compared"), "{}", stderr(&out));
}

#[test]
fn an_unreadable_input_exits_1_and_the_others_are_still_searched() {
    let dir = TempDir::new("search-unreadable");
    let bad = dir.write("bad.evtx", b"this is not an event log at all");
    let good = dir.write("good.evtx", &lsass_log());
    let out = cli(&[&"search", &"--format", &"jsonl", &"EventID:10", &bad, &good]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&bad.display().to_string()), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let good = good.display().to_string();
    assert!(!lines.is_empty() && lines.iter().all(|l| l["file"].as_str() == Some(good.as_str())));
}

/// The CLI over a corpus folder: the same hits as the library, in file order.
#[test]
fn the_cli_finds_what_the_library_finds_in_a_folder() {
    let Some(dir) = corpus_dir("the search CLI corpus test") else { return };
    let folder = dir.join("attack-samples");
    let query = Query::parse(r"TargetImage:*\lsass.exe").unwrap();
    let rules = query.rule_set().unwrap();
    let mut want = Vec::new();
    for p in evtx_files(&folder) {
        let (_, findings, _) = scan_bytes(&p.display().to_string(), &std::fs::read(&p).unwrap(), &rules).finish();
        want.extend(findings.iter().map(|f| (f.file.to_string(), f.event_record_id)));
    }
    let lines = check_jsonl(&cli(&[&"search", &"--format", &"jsonl", &"--threads", &"3", &query.text(), &folder]));
    let got: Vec<(String, u64)> =
        lines.iter().map(|l| (l["file"].as_str().unwrap().to_string(), l["event_record_id"].as_u64().unwrap())).collect();
    println!("{} hits in {}", got.len(), folder.display());
    assert!(!got.is_empty());
    assert_eq!(got, want);
}

/// Every event of the dirty and corrupted parser samples (records carved from
/// slack, cut short, behind broken headers): the CLI writes each hit's event as
/// the library reads it again from the file, and no hit twice.
#[test]
fn the_cli_writes_each_hit_with_the_event_the_library_reads_again() {
    let Some(dir) = corpus_dir("the search CLI event test") else { return };
    let folder = dir.join("parser-samples");
    let query = Query::parse("Channel:*").unwrap();
    let rules = query.rule_set().unwrap();
    let mut want = Vec::new();
    for p in evtx_files(&folder) {
        let bytes = std::fs::read(&p).unwrap();
        let (_, findings, _) = scan_bytes(&p.display().to_string(), &bytes, &rules).finish();
        for f in findings.iter().filter(|f| query.admits(f)) {
            let event = match evtx_triage::reread::event_in_file(&p, f) {
                Ok(event) => event,
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            };
            want.push((f.file.to_string(), f.event_record_id, f.recovery_text(), event));
        }
    }
    let lines = check_jsonl(&cli(&[&"search", &"--format", &"jsonl", &"--threads", &"2", &query.text(), &folder]));
    let got: Vec<(String, u64, Option<String>, Value)> = lines
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().map(str::to_string);
            (text("file").unwrap(), l["event_record_id"].as_u64().unwrap(), text("recovery"), l["event"].clone())
        })
        .collect();
    let recovered = got.iter().filter(|g| g.2.is_some()).count();
    println!("{} hits ({recovered} recovered) in {}", got.len(), folder.display());
    assert!(recovered > 0, "the samples hold carved or cut records");
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}

/// Reading a few records of a chunk again builds only those (the others are
/// emptied in a copy first): each event, live or carved from the slack, equals
/// the one read with every record of the chunk built, on every chunk of the corpus.
#[test]
fn a_few_records_read_again_equal_them_read_with_all_the_others() {
    let Some(dir) = corpus_dir("the partial re-read test") else { return };
    let (mut chunks, mut emptied, mut compared) = (0, 0, 0);
    for p in evtx_files(&dir) {
        let bytes = std::fs::read(&p).unwrap();
        for (index, chunk) in bytes.get(4096..).unwrap_or_default().chunks(65536).enumerate() {
            let index = index as u64;
            let start = evtx_triage::reread::chunk_start(index);
            // Live and carved records alike (those in the slack of a chunk that has some).
            let Ok(mut data) = evtx::EvtxChunkData::new(evtx_triage::recover::bytes_to_parse(None, chunk), false) else { continue };
            let settings = std::sync::Arc::new(evtx::ParserSettings::default().num_threads(1).recover_records(true));
            let Ok(mut parsed) = data.parse(settings) else { continue };
            let all: Vec<u64> = parsed.iter().flatten().map(|r| start + r.binxml_offset - 24).collect();
            if all.is_empty() {
                continue;
            }
            let Ok(every_one) = evtx_triage::reread::events_in_chunk_at(chunk, index, &all) else { continue };
            // Every third record, and the last: templates defined in the records left out must still serve.
            let few: Vec<u64> =
                all.iter().copied().enumerate().filter(|(i, _)| i % 3 == 2 || *i + 1 == all.len()).map(|(_, o)| o).collect();
            let some = evtx_triage::reread::events_in_chunk_at(chunk, index, &few).unwrap();
            for (o, event) in few.iter().zip(some) {
                let i = all.iter().position(|a| a == o).unwrap();
                assert_eq!(event, every_one[i], "{}: chunk {index}, record at {o}", p.display());
                compared += 1;
            }
            chunks += 1;
            // A chunk is read from an emptied copy when its live records are as written.
            emptied += usize::from(evtx_triage::recover::plan(chunk).is_none_or(|p| p.only_carves_slack()));
        }
    }
    println!("{compared} records of {chunks} chunks compared, {emptied} chunks read from an emptied copy");
    assert!(compared > 9_000 && emptied > 500, "only {compared} records of {emptied} emptied chunks compared");
}

/// The emptied copy builds only the records kept: the others render nothing
/// of their event (a corpus log's first chunk; `write_evtx` writes no templates).
#[test]
fn the_records_left_out_of_a_re_read_are_not_built() {
    let Some(dir) = corpus_dir("the emptied re-read test") else { return };
    let log = std::fs::read(dir.join("attack-samples/Credential Access/sysmon_10_11_lsass_memdump.evtx")).unwrap();
    let chunk = &log[4096..4096 + 65536];
    let offsets: Vec<usize> = evtx_triage::quick::chunk_records(chunk).unwrap().iter().map(|r| r.offset).collect();
    assert!(offsets.len() >= 3);
    let copy = evtx_triage::recover::only_records_built(chunk, |at| at == offsets[1]);
    let mut data = evtx::EvtxChunkData::new(copy, false).unwrap();
    let mut parsed = data.parse(std::sync::Arc::new(evtx::ParserSettings::default())).unwrap();
    let rendered: Vec<Option<String>> = parsed.iter().map(|r| r.ok().and_then(|r| r.into_json().ok()).map(|j| j.data)).collect();
    assert_eq!(rendered.len(), offsets.len(), "every record is still walked");
    let kept = rendered[1].as_deref().unwrap();
    assert!(kept.contains("\"EventData\"") && kept.contains("\"Computer\""), "{kept}");
    for left_out in rendered.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, r)| r) {
        assert!(left_out.as_deref().is_none_or(|j| !j.contains("\"Computer\"")), "{left_out:?}");
    }
}

/// Records read again through `evtx`'s whole-chunk renderer (several chunks to
/// one parser, asked for in any order) equal each record built and rendered on
/// its own by `evtx`, on every chunk of the corpus whose live records are as written.
#[test]
fn records_read_again_by_whole_chunks_equal_them_rendered_one_by_one() {
    let Some(dir) = corpus_dir("the whole-chunk re-read test") else { return };
    let (mut compared, mut chunks) = (0, 0);
    for p in evtx_files(&dir) {
        let bytes = std::fs::read(&p).unwrap();
        // (chunk, its bytes, the records asked for, their events rendered one by one)
        type Asked<'b> = (u64, &'b [u8], Vec<u64>, Vec<String>);
        let mut asked: Vec<Asked> = Vec::new();
        for (index, chunk) in bytes.get(4096..).unwrap_or_default().chunks(65536).enumerate() {
            if !evtx_triage::recover::plan(chunk).is_none_or(|p| p.only_carves_slack()) {
                continue;
            }
            let start = evtx_triage::reread::chunk_start(index as u64);
            let Ok(mut data) = evtx::EvtxChunkData::new(evtx_triage::recover::bytes_to_parse(None, chunk), false) else { continue };
            let Ok(mut parsed) = data.parse(std::sync::Arc::new(evtx::ParserSettings::default().num_threads(1))) else { continue };
            // Every other record: the ones between are emptied in the copy rendered.
            let (offsets, events): (Vec<u64>, Vec<String>) = parsed
                .iter()
                .flatten()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .filter_map(|(_, r)| Some((start + r.binxml_offset - 24, r.into_json().ok()?.data)))
                .unzip();
            if !offsets.is_empty() {
                asked.push((index as u64, chunk, offsets, events));
            }
        }
        // Last chunk first: the parser starts at the chunk with the oldest records and wraps around.
        asked.reverse();
        let requests: Vec<evtx_triage::chunk_json::ChunkRequest> = asked
            .iter()
            .map(|(index, bytes, offsets, _)| evtx_triage::chunk_json::ChunkRequest { index: *index, bytes, offsets, as_written: None })
            .collect();
        for ((index, _, offsets, expected), got) in asked.iter().zip(evtx_triage::chunk_json::render(&requests)) {
            // A chunk whose rendering does not line up with the walk by sizes is read record by record.
            let Some(got) = got else {
                println!("{}: chunk {index} is not read by whole chunks", p.display());
                continue;
            };
            for ((o, want), event) in offsets.iter().zip(expected).zip(got) {
                let event = event.unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert_eq!(event.get(), want, "{}: chunk {index}, record at {o}", p.display());
                compared += 1;
            }
            chunks += 1;
        }
    }
    println!("{compared} records of {chunks} chunks compared");
    assert!(compared > 9_000 && chunks > 500, "only {compared} records of {chunks} chunks compared");
}
