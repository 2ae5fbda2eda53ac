//! The timeline: events per bucket and series equal an independent count
//! over every record the `evtx` crate parses (times read with jiff, buckets
//! by plain arithmetic), findings sit on the buckets of their times, a
//! --from/--to range keeps exactly its events, both groupings, and the text
//! exports of the same records give the same counts.

mod support;

use evtx_triage::demo::{demo_log, DEMO_COMPUTER, DEMO_EVENT_COUNT, DEMO_EXPECTED};
use evtx_triage::query::Query;
use evtx_triage::report::{Finding, RunReport, StatsBuilder};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::text_export::{self, TextForm};
use evtx_triage::timeline::{Group, Timeline, TimelineCounts, TimelineOptions};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::TempDir;

/// One record as the `evtx` crate renders it: Unix seconds of TimeCreated, computer, channel.
#[derive(Debug, Clone)]
struct Rec {
    secs: i64,
    computer: String,
    channel: String,
}

fn recs_of_bytes(bytes: &[u8]) -> Vec<Rec> {
    let mut parser = evtx::EvtxParser::from_buffer(bytes.to_vec()).unwrap();
    parser.records_json_value().filter_map(Result::ok).map(|r| rec_of(&r.data, r.timestamp.as_second())).collect()
}

/// A record's TimeCreated, else its header's time (`header_secs`), as the scanner takes them.
fn rec_of(event: &Value, header_secs: i64) -> Rec {
    let system = &event["Event"]["System"];
    let time = system["TimeCreated"]["#attributes"]["SystemTime"].as_str();
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_default();
    Rec {
        secs: time.map_or(header_secs, |t| t.parse::<jiff::Timestamp>().unwrap().as_second()),
        computer: text(&system["Computer"]),
        channel: text(&system["Channel"]),
    }
}

/// The run as the CLI folds it (files in order), and the merged statistics of its files.
fn scan_all(files: &[(String, Vec<u8>)], rules: &RuleSet) -> (RunReport, StatsBuilder) {
    let mut run = RunBuilder::new();
    let mut totals = StatsBuilder::default();
    for (name, bytes) in files {
        let scan = scan_bytes(name, bytes, rules);
        totals.merge(scan.stats());
        run.add_file(scan);
    }
    (run.finish(rules), totals)
}

const MONDAY: i64 = 4 * 86_400;

/// What the buckets must hold, counted here: per bucket start (Unix seconds), events per series name.
fn expected(recs: &[Rec], group: Group, width: i64, from: i64, to: i64) -> BTreeMap<i64, BTreeMap<String, u64>> {
    let mut out: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    for r in recs.iter().filter(|r| r.secs >= from && r.secs < to) {
        let start = MONDAY + (r.secs - MONDAY).div_euclid(width) * width;
        let name = if group == Group::Computer { r.computer.clone() } else { r.channel.clone() };
        *out.entry(start).or_default().entry(name).or_default() += 1;
    }
    out
}

fn secs(iso: &str) -> i64 {
    iso.parse::<jiff::Timestamp>().unwrap().as_second()
}

/// The timeline's buckets as the same map (empty buckets and zero counts left out), checking its totals on the way.
fn actual(t: &Timeline) -> BTreeMap<i64, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for (i, b) in t.buckets.iter().enumerate() {
        assert_eq!(secs(&b.end) - secs(&b.start), t.bucket_seconds, "bucket {i} is one width");
        if i > 0 {
            assert_eq!(b.start, t.buckets[i - 1].end, "buckets follow each other");
        }
        assert_eq!(b.counts.len(), t.series.len());
        assert_eq!(b.events, b.counts.iter().sum::<u64>(), "bucket {i}: events = sum over series");
        let per: BTreeMap<String, u64> =
            t.series.iter().zip(&b.counts).filter(|(_, n)| **n > 0).map(|(s, n)| (s.name.clone(), *n)).collect();
        if !per.is_empty() {
            out.insert(secs(&b.start), per);
        }
    }
    for (s, series) in t.series.iter().enumerate() {
        assert_eq!(series.events, t.buckets.iter().map(|b| b.counts[s]).sum::<u64>(), "series {} total", series.name);
    }
    assert_eq!(t.events, t.buckets.iter().map(|b| b.events).sum::<u64>());
    out
}

/// Findings per bucket start and series, counted here from their times.
fn expected_findings(findings: &[Finding], group: Group, width: i64, from: i64, to: i64) -> BTreeMap<i64, BTreeMap<String, u64>> {
    let recs: Vec<Rec> = findings
        .iter()
        .map(|f| Rec {
            secs: secs(f.time_created.as_deref().expect("findings have times")),
            computer: f.computer.as_deref().unwrap_or_default().to_string(),
            channel: f.channel.as_deref().unwrap_or_default().to_string(),
        })
        .collect();
    expected(&recs, group, width, from, to)
}

fn actual_findings(t: &Timeline) -> BTreeMap<i64, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for b in t.buckets.iter().filter(|b| b.findings > 0) {
        assert_eq!(b.finding_counts.len(), t.series.len());
        assert_eq!(b.findings, b.finding_counts.iter().sum::<u64>());
        let per = t.series.iter().zip(&b.finding_counts).filter(|(_, n)| **n > 0).map(|(s, n)| (s.name.clone(), *n)).collect();
        out.insert(secs(&b.start), per);
    }
    assert!(t.buckets.iter().filter(|b| b.findings == 0).all(|b| b.finding_counts.is_empty()));
    out
}

fn read_all(paths: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    paths.iter().map(|p| (p.display().to_string(), std::fs::read(p).unwrap())).collect()
}

fn span_of(recs: &[Rec]) -> (i64, i64) {
    let first = recs.iter().map(|r| r.secs).min().unwrap().div_euclid(60) * 60;
    let end = recs.iter().map(|r| r.secs).max().unwrap().div_euclid(60) * 60 + 60;
    (first, end)
}

fn options(group: Group, bucket: Option<i64>) -> TimelineOptions {
    TimelineOptions { group, bucket_seconds: bucket, from: None, to: None }
}

#[test]
fn corpus_buckets_equal_an_independent_count_of_every_record() {
    let Some(corpus) = support::corpus_dir("the timeline test on the whole corpus") else { return };
    let files = read_all(&support::evtx_files(&corpus));
    assert_eq!(files.len(), 300);
    let recs: Vec<Rec> = files.iter().flat_map(|(_, b)| recs_of_bytes(b)).collect();
    let rules = RuleSet::builtin();
    let (report, totals) = scan_all(&files, &rules);
    assert_eq!(report.totals.records, recs.len() as u64, "the scan reads every record evtx reads");
    assert_eq!(totals.timeline.events(), recs.len() as u64);
    assert_eq!(totals.timeline.untimed, 0);
    // Minute by minute, per computer and channel.
    let mut minutes: BTreeMap<(String, String, i64), u32> = BTreeMap::new();
    for r in &recs {
        *minutes.entry((r.computer.clone(), r.channel.clone(), r.secs.div_euclid(60))).or_default() += 1;
    }
    let counted: BTreeMap<(String, String, i64), u32> =
        totals.timeline.minutes().map(|(c, ch, m, n)| ((c.to_string(), ch.to_string(), m), n)).collect();
    assert_eq!(counted, minutes, "per-minute counts per (computer, channel)");

    let (first, end) = span_of(&recs);
    for group in [Group::Computer, Group::Channel] {
        // A record of 1601 (FILETIME 0) stretches the span over four centuries: widths of a month and a year.
        for bucket in [None, Some(30 * 86_400), Some(364 * 86_400)] {
            let t = Timeline::build(&totals.timeline, &report.findings, &options(group, bucket)).unwrap();
            let w = t.bucket_seconds;
            assert_eq!(actual(&t), expected(&recs, group, w, first, end), "{group:?} by {}", t.bucket);
            assert_eq!(actual_findings(&t), expected_findings(&report.findings, group, w, first, end), "{group:?} findings");
            assert_eq!(t.events, 26_818, "every record of the 300 files (those given twice counted twice here)");
            assert_eq!(t.findings, report.findings.len() as u64);
            assert_eq!(secs(t.buckets[0].start.as_str()), MONDAY + (first - MONDAY).div_euclid(w) * w);
            assert!(secs(&t.buckets.last().unwrap().end) >= end && secs(&t.buckets.last().unwrap().start) < end);
            if bucket.is_none() {
                assert!(t.buckets.len() <= 120, "{} automatic buckets", t.buckets.len());
            }
        }
        // A range of a few days in hour buckets (from and to on whole minutes, taken as they are).
        let (from, to) = (secs("2019-07-17T06:13:00Z"), secs("2019-07-21T00:00:00Z"));
        let ranged = TimelineOptions { group, bucket_seconds: Some(3_600), from: Some(from), to: Some(to) };
        let t = Timeline::build(&totals.timeline, &report.findings, &ranged).unwrap();
        assert_eq!((t.from.as_deref(), t.to.as_deref()), (Some("2019-07-17T06:13:00Z"), Some("2019-07-21T00:00:00Z")));
        assert_eq!(t.buckets.len(), 90, "06:00 on the 17th to midnight on the 21st");
        let want = expected(&recs, group, 3_600, from, to);
        assert_eq!(actual(&t), want);
        assert_eq!(t.events, recs.iter().filter(|r| r.secs >= from && r.secs < to).count() as u64);
        assert_eq!(t.events, 577, "events from 2019-07-17T06:13 to the 21st");
        assert_eq!(actual_findings(&t), expected_findings(&report.findings, group, 3_600, from, to));
    }
    // The report's own timeline is the automatic one by computer.
    let auto = Timeline::build(&totals.timeline, &report.findings, &options(Group::Computer, None)).unwrap();
    assert_eq!(report.timeline.as_ref(), Some(&auto));
    let channels = Timeline::build(&totals.timeline, &report.findings, &options(Group::Channel, None)).unwrap();
    let security = recs.iter().filter(|r| r.channel == "Security").count() as u64;
    assert_eq!(channels.series.iter().find(|s| s.name == "Security").map(|s| s.events), Some(security));
    assert_eq!(channels.series[0].name, "Security", "the series with most events first");
    // What crosses from a worker to the page: the counts survive JSON.
    let back: StatsBuilder = serde_json::from_str(&serde_json::to_string(&totals).unwrap()).unwrap();
    assert_eq!(back, totals);
    // The report's statistics do not carry the minute counts; its timeline is at most 120 buckets.
    let totals_json = serde_json::to_value(&report.totals).unwrap();
    assert!(totals_json.get("timeline").is_none());
    assert!(serde_json::to_value(&report.files).unwrap().to_string().find("\"timeline\"").is_none());
}

#[test]
fn one_minute_buckets_on_a_sysmon_log_and_its_text_exports() {
    let Some(corpus) = support::corpus_dir("the timeline test on a Sysmon log") else { return };
    let path = corpus.join("attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx");
    let bytes = std::fs::read(&path).unwrap();
    let recs = recs_of_bytes(&bytes);
    assert_eq!(recs.len(), 565);
    let rules = RuleSet::builtin();
    let (report, totals) = scan_all(&[("panache.evtx".into(), bytes.clone())], &rules);
    let t = report.timeline.clone().unwrap();
    assert_eq!((t.bucket.as_str(), t.buckets.len(), t.events), ("1m", 31, 565));
    assert_eq!((t.from.as_deref(), t.to.as_deref()), (Some("2019-07-19T14:42:00Z"), Some("2019-07-19T15:13:00Z")));
    let (first, end) = span_of(&recs);
    assert_eq!(actual(&t), expected(&recs, Group::Computer, 60, first, end));
    // The same records as JSON and XML exports: the same minutes.
    let (json, xml) = text_export::records(&bytes);
    for form in [TextForm::EvtxJsonl, TextForm::EvtxJson, TextForm::EventXml, TextForm::Winlogbeat, TextForm::SecurityDatasets] {
        let text = form.write(&json, &xml);
        let (text_report, text_totals) = scan_all(&[("panache.txt".into(), text)], &rules);
        assert_eq!(text_report.totals.records, 565, "{form:?}");
        assert_eq!(text_totals.timeline, totals.timeline, "{form:?}: per-minute counts");
        let tt = text_report.timeline.unwrap();
        assert_eq!(tt.buckets, t.buckets, "{form:?}: buckets");
    }
}

#[test]
fn every_record_rendered_or_read_quickly_lands_on_the_same_minute() {
    // The built-in rules skip rendering most records (their System fields are read from the bytes);
    // a query matching every event renders them all. Both count the same minutes.
    let Some(corpus) = support::corpus_dir("the timeline test on quick and rendered records") else { return };
    let files = read_all(&support::evtx_files(&corpus.join("attack-samples/Lateral Movement")));
    let all = Query::parse("TimeCreated>=1601-01-01").unwrap().rule_set().unwrap();
    let (rendered_report, rendered) = scan_all(&files, &all);
    let (_, quick) = scan_all(&files, &RuleSet::builtin());
    let live = rendered_report.findings.iter().filter(|f| f.recovered.is_none() && f.partial.is_none()).count();
    assert_eq!(live, 1_288, "the query matched (so rendered) every live record");
    assert_eq!(quick.timeline, rendered.timeline);
    assert_eq!(quick.timeline.events(), 1_288);
}

#[test]
fn the_demo_log_with_its_findings_marked() {
    let bytes = demo_log();
    let recs = recs_of_bytes(&bytes);
    assert_eq!(recs.len(), DEMO_EVENT_COUNT);
    let rules = RuleSet::builtin();
    let (report, totals) = scan_all(&[("demo.evtx".into(), bytes)], &rules);
    assert_eq!(report.findings.len(), DEMO_EXPECTED.len());
    let t = report.timeline.clone().unwrap();
    let (first, end) = span_of(&recs);
    let w = t.bucket_seconds;
    assert_eq!(actual(&t), expected(&recs, Group::Computer, w, first, end));
    assert_eq!(actual_findings(&t), expected_findings(&report.findings, Group::Computer, w, first, end));
    assert_eq!(t.series.len(), 1);
    assert_eq!(t.series[0].name, DEMO_COMPUTER);
    assert_eq!((t.events, t.findings), (DEMO_EVENT_COUNT as u64, DEMO_EXPECTED.len() as u64));
    // By channel, in 1-minute buckets: every finding's bucket holds its event.
    let by_channel = Timeline::build(&totals.timeline, &report.findings, &options(Group::Channel, Some(60))).unwrap();
    assert_eq!(actual(&by_channel), expected(&recs, Group::Channel, 60, first, end));
    assert_eq!(actual_findings(&by_channel), expected_findings(&report.findings, Group::Channel, 60, first, end));
    for f in &report.findings {
        let minute = secs(f.time_created.as_deref().unwrap()).div_euclid(60) * 60;
        let b = by_channel.buckets.iter().find(|b| secs(&b.start) == minute).expect("a bucket for each finding");
        assert!(b.findings >= 1 && b.events >= b.findings, "{}: {b:?}", f.event_record_id);
    }
    // Findings counted per minute equal the findings counted from the list.
    let streamed =
        Timeline::build_counts(&totals.timeline, &TimelineCounts::of_findings(&report.findings), &options(Group::Channel, Some(60)));
    assert_eq!(streamed.unwrap(), by_channel);
}

fn cli_timeline(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Value {
    let out = support::cli(args);
    assert!(out.status.success(), "{}", support::stderr(&out));
    serde_json::from_str(&support::stdout(&out)).unwrap()
}

/// The buckets of the CLI's JSON as (start, events, findings, per series).
fn cli_buckets(v: &Value) -> Vec<(String, u64, u64, BTreeMap<String, u64>)> {
    let names: Vec<String> = v["series"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_string()).collect();
    v["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let per = names.iter().zip(b["counts"].as_array().unwrap()).filter(|(_, n)| n.as_u64() != Some(0));
            (
                b["start"].as_str().unwrap().to_string(),
                b["events"].as_u64().unwrap(),
                b["findings"].as_u64().unwrap(),
                per.map(|(s, n)| (s.clone(), n.as_u64().unwrap())).collect(),
            )
        })
        .collect()
}

#[test]
fn cli_range_and_groupings_on_the_demo_log() {
    let dir = TempDir::new("timeline");
    let path: PathBuf = dir.write("demo.evtx", &demo_log());
    let recs = recs_of_bytes(&demo_log());
    let (first, end) = span_of(&recs);
    // A range inside the log, not on whole minutes: taken out to them (from down, to up).
    let from = first + 90 + 17;
    let to = end - 150 - 29;
    let iso = |s: i64| jiff::Timestamp::from_second(s).unwrap().to_string();
    let (lo, hi) = (from.div_euclid(60) * 60, (to + 59).div_euclid(60) * 60);
    assert!(lo > first && hi < end, "the range cuts events off both ends");
    let p: &Path = &path;
    for (by, group) in [("computer", Group::Computer), ("channel", Group::Channel)] {
        let v = cli_timeline(&[
            &"timeline",
            &p,
            &"--format",
            &"json",
            &"--by",
            &by,
            &"--bucket",
            &"1m",
            &"--from",
            &iso(from),
            &"--to",
            &iso(to),
        ]);
        assert_eq!(v["group"], by);
        assert_eq!((v["from"].as_str().unwrap(), v["to"].as_str().unwrap()), (iso(lo).as_str(), iso(hi).as_str()));
        let buckets = cli_buckets(&v);
        assert_eq!(buckets.len() as i64, (hi - lo) / 60, "one bucket per minute of the range");
        let want = expected(&recs, group, 60, lo, hi);
        let got: BTreeMap<i64, BTreeMap<String, u64>> =
            buckets.iter().filter(|b| b.1 > 0).map(|(start, _, _, per)| (secs(start), per.clone())).collect();
        assert_eq!(got, want, "{by}");
        let inside = recs.iter().filter(|r| r.secs >= lo && r.secs < hi).count() as u64;
        assert!(inside > 0 && inside < recs.len() as u64);
        assert_eq!(v["events"].as_u64(), Some(inside));
        // Findings: those of the scan whose time is in the range.
        let (report, _) = scan_all(&[("demo.evtx".into(), demo_log())], &RuleSet::builtin());
        let found = report.findings.iter().filter(|f| (lo..hi).contains(&secs(f.time_created.as_deref().unwrap()))).count() as u64;
        assert_eq!(v["findings"].as_u64(), Some(found));
        assert_eq!(buckets.iter().map(|b| b.2).sum::<u64>(), found);
    }
    // The table and CSV say the same.
    let csv = support::stdout(&support::cli(&[&"timeline", &p, &"--format", &"csv", &"--bucket", &"1h"]));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(format!("start,end,events,findings,{DEMO_COMPUTER}").as_str()));
    assert_eq!(lines.map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap()).sum::<u64>(), DEMO_EVENT_COUNT as u64);
    let table = support::stdout(&support::cli(&[&"timeline", &p]));
    assert!(table.starts_with(&format!("{DEMO_EVENT_COUNT} event(s), {} finding(s) from ", DEMO_EXPECTED.len())), "{table}");
    // Usage errors: an empty range, an unknown width.
    let empty = support::cli(&[&"timeline", &p, &"--from", &"2024-01-02", &"--to", &"2024-01-01"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(support::stderr(&empty).contains("--from must be before --to"));
    let bad = support::cli(&[&"timeline", &p, &"--bucket", &"3x"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn cli_equals_the_reports_timeline_and_counts_a_file_given_twice_once() {
    let dir = TempDir::new("timeline-twice");
    let path = dir.write("demo.evtx", &demo_log());
    let copy = dir.write("copy/demo.evtx", &demo_log());
    let v = cli_timeline(&[&"timeline", &path, &copy, &"--format", &"json"]);
    let scan: Value = serde_json::from_str(&support::stdout(&support::cli(&[&"scan", &"--format", &"json", &path, &copy]))).unwrap();
    assert_eq!(v, scan["timeline"], "timeline --format json = scan --format json's timeline");
    assert_eq!(v["events"].as_u64(), Some(DEMO_EVENT_COUNT as u64));
    assert_eq!(scan["schema_version"], 5);
}
