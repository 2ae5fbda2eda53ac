//! SigmaHQ's rule pack (`../shared/sigma`: rules/windows, rules-threat-hunting,
//! rules-emerging-threats, about 3,000 rules) loaded all at once, against
//! SigmaHQ's own regression cases and its own logsource configuration
//! (`tests/thor.yml`, parsed here independently of the project's table), and
//! over the 300 logs of `../shared/corpus`. Under CI the shared data must be
//! there; elsewhere each test skips with a notice when it is not.

mod support;

use evtx_triage::logsource::Scope;
use evtx_triage::report::Finding;
use evtx_triage::rule_load::LoadOptions;
use evtx_triage::rule_source::{from_path, RuleText, RuleTexts};
use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, FileScan};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;
use support::{corpus_dir, evtx_files};

const BIN: &str = env!("CARGO_BIN_EXE_evtx-triage");

/// The rule folders of the pack, relative to `../shared/sigma`.
const RULE_FOLDERS: [&str; 3] = ["rules/windows", "rules-threat-hunting", "rules-emerging-threats"];

/// `../shared/sigma` (next to the repository), when present. Under CI it
/// must be: a missing folder fails the test; elsewhere it is skipped with a notice.
fn sigma_dir(what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/sigma");
    if dir.join("tests/thor.yml").is_file() && dir.join("regression_data").is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the Sigma rules are missing at {}", dir.display());
    }
    eprintln!("NOTICE: Sigma rules not found at {}; skipping {what}", dir.display());
    None
}

fn pack_texts(sigma: &Path) -> RuleTexts {
    let mut pack = RuleTexts::default();
    for folder in RULE_FOLDERS {
        let dir = sigma.join(folder);
        assert!(dir.is_dir(), "{} is missing", dir.display());
        pack.extend(from_path(&dir));
    }
    pack
}

fn load_pack(sigma: &Path) -> RuleSet {
    let started = Instant::now();
    let pack = pack_texts(sigma);
    let rules = RuleSet::load(&pack, &LoadOptions::default());
    let report = rules.load_report();
    eprintln!("{} rule texts loaded in {:.2?}: {}", pack.texts.len() + pack.unreadable.len(), started.elapsed(), report.summary());
    rules
}

/// All the pack's rules (and the built-ins), loaded once for every test.
fn pack(sigma: &Path) -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| load_pack(sigma))
}

/// One of SigmaHQ's regression cases.
struct Case {
    rule_id: String,
    title: String,
    /// At least this many events must match (SigmaHQ's criterion).
    wanted: usize,
    evtx: PathBuf,
}

#[derive(Deserialize)]
struct Info {
    rule_metadata: Vec<RuleMetadata>,
    #[serde(default)]
    regression_tests_info: Vec<TestInfo>,
}

#[derive(Deserialize)]
struct RuleMetadata {
    id: String,
    #[serde(default)]
    title: String,
}

#[derive(Deserialize)]
struct TestInfo {
    #[serde(default)]
    match_count: Option<usize>,
}

/// Every `info.yml` under `regression_data`, sorted, with the one `.evtx` next to it.
fn regression_cases(sigma: &Path) -> Vec<Case> {
    let mut infos = Vec::new();
    let mut stack = vec![sigma.join("regression_data")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "info.yml") {
                infos.push(p);
            }
        }
    }
    infos.sort();
    infos
        .into_iter()
        .map(|info_path| {
            let info: Info =
                serde_yaml::from_slice(&std::fs::read(&info_path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", info_path.display()));
            let folder = info_path.parent().unwrap();
            let logs = evtx_files(folder);
            assert_eq!(logs.len(), 1, "{}: one .evtx expected next to it, found {logs:?}", info_path.display());
            let meta = &info.rule_metadata[0];
            Case {
                rule_id: meta.id.clone(),
                title: meta.title.clone(),
                wanted: info.regression_tests_info.first().and_then(|t| t.match_count).unwrap_or(1),
                evtx: logs.into_iter().next().unwrap(),
            }
        })
        .collect()
}

/// Why a rule may not have matched: skipped at load time (with the reason), or unknown.
fn why_missing(rules: &RuleSet, id: &str) -> String {
    if rules.analytics().any(|a| a.id == id) {
        return "loaded".into();
    }
    match rules.load_report().skipped.iter().find(|s| s.id.as_deref() == Some(id)) {
        Some(s) => format!("skipped ({:?}: {})", s.kind, s.reason),
        None => "not in the pack".into(),
    }
}

/// Each case's rule matches at least `match_count` events of its log (SigmaHQ's CI criterion).
fn check_cases(rules: &RuleSet, cases: &[Case], count: impl Fn(&Case) -> usize) {
    let mut failures = Vec::new();
    for case in cases {
        let found = count(case);
        if found < case.wanted {
            failures.push(format!(
                "{} {:?}: found {found}, wanted at least {} [rule {}] in {}",
                case.rule_id,
                case.title,
                case.wanted,
                why_missing(rules, &case.rule_id),
                case.evtx.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} regression case(s) fail:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn every_regression_case_passes_sigmahq_criterion() {
    let Some(sigma) = sigma_dir("the regression cases") else {
        return;
    };
    let rules = pack(&sigma);
    let cases = regression_cases(&sigma);
    assert_eq!(cases.len(), 92, "SigmaHQ's regression cases");
    check_cases(rules, &cases, |case| {
        let bytes = std::fs::read(&case.evtx).unwrap();
        let scan = scan_bytes(&case.evtx.display().to_string(), &bytes, rules);
        scan.findings().iter().filter(|f| *f.analytic_id == *case.rule_id).count()
    });
}

#[test]
fn the_cli_runs_every_regression_case() {
    let Some(sigma) = sigma_dir("the regression cases through the CLI") else {
        return;
    };
    let cases = regression_cases(&sigma);
    assert_eq!(cases.len(), 92, "SigmaHQ's regression cases");
    let mut cmd = Command::new(BIN);
    cmd.args(["scan", "--format", "jsonl"]);
    for folder in RULE_FOLDERS {
        cmd.arg("--rules").arg(sigma.join(folder));
    }
    cmd.arg(sigma.join("regression_data"));
    let started = Instant::now();
    let out = cmd.output().expect("run evtx-triage");
    eprintln!("the CLI ran in {:.2?}", started.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut per_file: HashMap<(String, String), usize> = HashMap::new();
    let mut files = BTreeSet::new();
    let mut loaded = None;
    let mut duplicates = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        match v["type"].as_str() {
            Some("rules") => loaded = v["loaded"].as_u64(),
            // Records carved from a log's slack are not in its JSON export: live findings only.
            Some("finding") if v.get("recovered").is_none() => {
                let key = (v["file"].as_str().unwrap().to_string(), v["analytic_id"].as_str().unwrap().to_string());
                *per_file.entry(key).or_default() += 1;
            }
            Some("file") => {
                files.insert(v["file"].as_str().unwrap().to_string());
                if let Some(first) = v["duplicate_of"].as_str() {
                    duplicates.push((v["file"].as_str().unwrap().to_string(), first.to_string()));
                }
            }
            _ => {}
        }
    }
    // Some cases share a log byte for byte: it is analyzed once, and its findings are those of the first.
    for (copy, first) in &duplicates {
        let of_first: Vec<(String, usize)> = per_file.iter().filter(|((f, _), _)| f == first).map(|((_, r), n)| (r.clone(), *n)).collect();
        for (rule, n) in of_first {
            assert!(per_file.insert((copy.clone(), rule), n).is_none(), "{copy}: a duplicate has no findings of its own");
        }
    }
    eprintln!("{} of the cases' files are byte copies of earlier ones", duplicates.len());
    // The same rules as in process.
    let rules = pack(&sigma);
    assert_eq!(loaded, Some(rules.load_report().loaded as u64), "rules loaded by the CLI");
    let case_files: BTreeSet<String> = cases.iter().map(|c| c.evtx.display().to_string()).collect();
    // Each case also has its events as evtx_dump JSON: the folder scan reads them too (by content).
    let exports: BTreeSet<String> =
        cases.iter().map(|c| c.evtx.with_extension("json")).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    assert_eq!(exports.len(), cases.len(), "every case has its JSON export");
    assert_eq!(files, case_files.union(&exports).cloned().collect::<BTreeSet<_>>(), "the CLI scans exactly the cases' logs and exports");
    // The JSON export of a log gives exactly the log's findings, rule by rule.
    let by_rule = |file: &str| -> BTreeMap<String, usize> {
        per_file.iter().filter(|((f, _), _)| f == file).map(|((_, rule), n)| (rule.clone(), *n)).collect()
    };
    for evtx in &case_files {
        let json = evtx.strip_suffix(".evtx").unwrap().to_string() + ".json";
        assert_eq!(by_rule(&json), by_rule(evtx), "{json}: the same findings as its .evtx");
    }
    check_cases(rules, &cases, |case| per_file.get(&(case.evtx.display().to_string(), case.rule_id.clone())).copied().unwrap_or(0));
}

/// A rule's logsource, lower case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Logsource {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
}

/// The logsource of the Sigma document whose id is `id` (or of the only document).
fn logsource_of(sigma_text: &str, id: &str) -> Logsource {
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(sigma_text)
        .map(|d| serde_yaml::Value::deserialize(d).expect("a loaded rule is valid YAML"))
        .filter(|d| !d.is_null())
        .collect();
    let doc = match docs.iter().find(|d| d["id"].as_str() == Some(id)) {
        Some(d) => d,
        None if docs.len() == 1 => &docs[0],
        None => panic!("no document with id {id} among {} in:\n{sigma_text}", docs.len()),
    };
    let field = |k: &str| doc["logsource"][k].as_str().map(|s| s.trim().to_lowercase());
    Logsource { product: field("product"), category: field("category"), service: field("service") }
}

/// Records a logsource admits: these channels and EventIDs (`None`: any).
type Allowed = (Vec<String>, Option<Vec<u64>>);

/// SigmaHQ's logsource configuration (`tests/thor.yml`), as (channel, EventID) facts.
struct Thor {
    /// service -> channels (`WinEventLog:` sources).
    services: HashMap<String, Vec<String>>,
    /// category -> (rewritten service, EventIDs).
    categories: HashMap<String, Vec<(String, Vec<u64>)>>,
}

impl Thor {
    fn read(path: &Path) -> Self {
        let v: serde_yaml::Value = serde_yaml::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut thor = Thor { services: HashMap::new(), categories: HashMap::new() };
        for (name, entry) in v["logsources"].as_mapping().expect("thor.yml has logsources") {
            let text = |v: &serde_yaml::Value| v.as_str().map(str::to_lowercase);
            if let Some(category) = text(&entry["category"]) {
                let Some(service) = text(&entry["rewrite"]["service"]) else {
                    continue;
                };
                let ids: Vec<u64> = match &entry["conditions"]["EventID"] {
                    serde_yaml::Value::Number(n) => vec![n.as_u64().unwrap()],
                    serde_yaml::Value::Sequence(list) => list.iter().map(|n| n.as_u64().unwrap()).collect(),
                    other => panic!("thor.yml {name:?}: EventID {other:?}"),
                };
                thor.categories.entry(category).or_default().push((service, ids));
            } else if let Some(service) = text(&entry["service"]) {
                let channels = entry["sources"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str()?.strip_prefix("WinEventLog:"))
                    .map(str::to_string);
                thor.services.entry(service).or_default().extend(channels);
            }
        }
        thor
    }

    /// Allowed (channels, EventIDs: `None` any) for a logsource; `None` when
    /// thor.yml does not know its service at all.
    fn allowed(&self, ls: &Logsource) -> Option<Vec<Allowed>> {
        match (&ls.category, &ls.service) {
            (Some(category), service) => {
                let alternatives = self.categories.get(category).map(Vec::as_slice).unwrap_or_default();
                Some(
                    alternatives
                        .iter()
                        .filter(|(s, _)| service.as_ref().is_none_or(|want| want == s))
                        .map(|(s, ids)| (self.services.get(s).cloned().unwrap_or_default(), Some(ids.clone())))
                        .collect(),
                )
            }
            (None, Some(service)) => self.services.get(service).map(|channels| vec![(channels.clone(), None)]),
            (None, None) => unreachable!("handled by the caller"),
        }
    }
}

fn admits(allowed: &[Allowed], channel: Option<&str>, event_id: Option<u64>) -> bool {
    allowed.iter().any(|(channels, ids)| {
        channel.is_some_and(|c| channels.iter().any(|x| x.eq_ignore_ascii_case(c)))
            && ids.as_ref().is_none_or(|ids| event_id.is_some_and(|id| ids.contains(&id)))
    })
}

/// Every corpus log, read once.
fn corpus_logs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let files = evtx_files(dir);
    assert_eq!(files.len(), 300, "corpus logs");
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let bytes = std::fs::read(&p).unwrap();
            (rel, bytes)
        })
        .collect()
}

#[test]
fn no_finding_falls_outside_its_rules_logsource() {
    let Some(sigma) = sigma_dir("the logsource check") else {
        return;
    };
    let Some(corpus) = corpus_dir("the logsource check") else {
        return;
    };
    let rules = pack(&sigma);
    let thor = Thor::read(&sigma.join("tests/thor.yml"));
    assert!(thor.categories.contains_key("process_creation") && thor.services.contains_key("sysmon"));
    let index_of: HashMap<&str, usize> = rules.analytics().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    let mut logsources: HashMap<usize, Logsource> = HashMap::new();
    let (mut by_thor, mut by_project, mut any_event, mut builtin) = (0usize, 0usize, 0usize, 0usize);
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut per_logsource: BTreeMap<String, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    for (rel, bytes) in corpus_logs(&corpus) {
        let scan = scan_bytes(&rel, &bytes, rules);
        for f in scan.findings() {
            let i = *index_of.get(&*f.analytic_id).unwrap_or_else(|| panic!("{rel}: finding of unknown rule {}", f.analytic_id));
            let info = rules.analytic(i);
            let ls = logsources.entry(i).or_insert_with(|| logsource_of(&info.sigma, &f.analytic_id)).clone();
            let what = ls.category.as_deref().or(ls.service.as_deref()).unwrap_or("any").to_string();
            fired.entry(what.clone()).or_default().insert(f.analytic_id.to_string());
            *per_logsource.entry(what).or_default() += 1;
            builtin += usize::from(info.source == "builtin");
            let (channel, event_id) = (f.channel.as_deref(), f.event_id);
            let ok = if ls.category.is_none() && ls.service.is_none() {
                // `product: windows` alone: every Windows event.
                any_event += 1;
                ls.product.as_deref() == Some("windows")
            } else if let Some(allowed) = thor.allowed(&ls) {
                by_thor += 1;
                admits(&allowed, channel, event_id)
            } else {
                // A service thor.yml does not name: the project's own table.
                by_project += 1;
                match rules.scope(i) {
                    Scope::Sources(sources) => sources.iter().any(|s| {
                        channel.is_some_and(|c| s.channels.iter().any(|x| x.eq_ignore_ascii_case(c)))
                            && s.event_ids.as_ref().is_none_or(|ids| event_id.is_some_and(|id| ids.contains(&id)))
                    }),
                    Scope::AnyWindowsEvent => false,
                }
            };
            if !ok {
                violations.push(format!(
                    "{rel}: {} {:?} (logsource {ls:?}) fired on record {} of {channel:?} EventID {event_id:?}",
                    f.analytic_id, f.analytic_title, f.event_record_id
                ));
            }
        }
    }
    let checked = by_thor + by_project + any_event;
    eprintln!(
        "{checked} findings checked: {by_thor} against thor.yml, {by_project} against the project's table (services thor.yml lacks), \
         {any_event} of product-only rules; {builtin} of them by the built-in CAR analytics; {} rules fired",
        fired.values().map(BTreeSet::len).sum::<usize>()
    );
    for (logsource, n) in &per_logsource {
        eprintln!("  {n:5} findings of {:3} {logsource} rules", fired[logsource].len());
    }
    assert!(violations.is_empty(), "{} finding(s) outside their rule's logsource:\n{}", violations.len(), violations.join("\n"));
    assert!(checked >= 1000, "only {checked} findings checked");
}

/// The findings with each one's matched fields in a fixed order. The engine
/// lists them in the order it met the selections, which for `1 of sel_*` /
/// `all of sel_*` is a hash map's, different in each loaded set (see
/// [`loading_the_pack_twice_gives_the_same_findings`]).
fn sorted_matches(findings: &[Finding]) -> Vec<Finding> {
    let mut out = findings.to_vec();
    for f in &mut out {
        f.matched.sort_by_key(|m| (m.selection.clone(), m.field.clone(), m.pattern.clone(), m.value.to_string()));
    }
    out
}

/// Compares two scans of one file: findings (as given by `prepare`),
/// statistics, file report (but for the count of skipped chunks).
fn compare_scans(rel: &str, a: FileScan, b: FileScan, prepare: fn(&[Finding]) -> Vec<Finding>) -> Option<String> {
    let (fa, fb) = (prepare(a.findings()), prepare(b.findings()));
    if fa != fb {
        return Some(format!("{rel}: findings differ: {}", finding_diff(&fa, &fb)));
    }
    if a.stats() != b.stats() {
        return Some(format!("{rel}: statistics differ:\n  first  {:?}\n  second {:?}", a.stats(), b.stats()));
    }
    let (mut ra, _, _) = a.finish();
    let (rb, _, _) = b.finish();
    ra.chunks_skipped = rb.chunks_skipped;
    (ra != rb).then(|| format!("{rel}: file reports differ:\n  first  {ra:?}\n  second {rb:?}"))
}

/// The shortcuts (literal prefilter, quick System fields) change nothing
/// with the whole pack loaded: every corpus file's findings, statistics and
/// report equal those of rendering and evaluating every record. Matched
/// fields are compared in a fixed order (see [`sorted_matches`]). All 300
/// files: measured in release on 2 cores, the exhaustive pass takes 0.9 s
/// (0.7 to 1.0 s with shortcuts), so no subset is needed.
#[test]
fn shortcuts_equal_a_full_parse_with_the_pack() {
    let Some(sigma) = sigma_dir("the shortcut check") else {
        return;
    };
    let Some(corpus) = corpus_dir("the shortcut check") else {
        return;
    };
    let fast = pack(&sigma);
    let full = load_pack(&sigma).exhaustive();
    let (mut fast_time, mut full_time) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let (mut compared, mut findings) = (0, 0);
    let mut differences = Vec::new();
    for (rel, bytes) in corpus_logs(&corpus) {
        let started = Instant::now();
        let a = scan_bytes(&rel, &bytes, fast);
        fast_time += started.elapsed();
        let started = Instant::now();
        let b = scan_bytes(&rel, &bytes, &full);
        full_time += started.elapsed();
        compared += 1;
        findings += b.findings().len();
        differences.extend(compare_scans(&rel, a, b, sorted_matches));
    }
    eprintln!("{compared} files, {findings} findings: {fast_time:.2?} with shortcuts, {full_time:.2?} without");
    assert!(differences.is_empty(), "{} of {compared} file(s) differ:\n{}", differences.len(), differences.join("\n"));
    assert_eq!(compared, 300);
}

/// Two loads of the same rules give the same findings, matched fields in
/// the same order: the output of a run does not change from run to run.
/// (rsigma-eval evaluates `1 of sel_*` / `all of sel_*` over a `HashMap` of
/// the rule's detections, so the order of the matched selections, and of
/// `Finding::matched`, is that map's: random per load unless the crate
/// puts them in a fixed order.)
#[test]
fn loading_the_pack_twice_gives_the_same_findings() {
    let Some(sigma) = sigma_dir("the determinism check") else {
        return;
    };
    let Some(corpus) = corpus_dir("the determinism check") else {
        return;
    };
    let first = pack(&sigma);
    let second = load_pack(&sigma);
    let mut differences = Vec::new();
    for (rel, bytes) in corpus_logs(&corpus) {
        let (a, b) = (scan_bytes(&rel, &bytes, first), scan_bytes(&rel, &bytes, &second));
        differences.extend(compare_scans(&rel, a, b, <[Finding]>::to_vec));
    }
    assert!(
        differences.is_empty(),
        "{} of 300 file(s) differ between two loads of the pack:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Findings only one side has, and findings both have that differ, briefly.
fn finding_diff(first: &[Finding], second: &[Finding]) -> String {
    let key = |f: &Finding| (f.analytic_id.to_string(), f.event_record_id, f.offset);
    let first_keys: BTreeSet<_> = first.iter().map(key).collect();
    let second_keys: BTreeSet<_> = second.iter().map(key).collect();
    let only = |a: &BTreeSet<(String, u64, u64)>, b: &BTreeSet<(String, u64, u64)>, findings: &[Finding]| -> Vec<String> {
        a.difference(b)
            .map(|k| {
                let f = findings.iter().find(|f| key(f) == *k).unwrap();
                format!("{} {:?} on record {} ({:?} EventID {:?})", k.0, f.analytic_title, k.1, f.channel, f.event_id)
            })
            .collect()
    };
    let mut out = String::new();
    for (what, list) in
        [("only in the first", only(&first_keys, &second_keys, first)), ("only in the second", only(&second_keys, &first_keys, second))]
    {
        for line in list {
            out.push_str(&format!("\n    {what}: {line}"));
        }
    }
    let mut differ = 0;
    for f in first {
        let Some(g) = second.iter().find(|g| key(g) == key(f)) else {
            continue;
        };
        if f == g {
            continue;
        }
        differ += 1;
        if differ > 3 {
            continue;
        }
        let names = |f: &Finding| -> Vec<String> {
            f.matched.iter().map(|m| format!("{}.{}", m.selection.as_deref().unwrap_or("?"), m.field)).collect()
        };
        if sorted_matches(std::slice::from_ref(f)) == sorted_matches(std::slice::from_ref(g)) {
            out.push_str(&format!(
                "\n    {} on record {}: the same matched fields in another order: {:?} / {:?}",
                f.analytic_id,
                f.event_record_id,
                names(f),
                names(g)
            ));
        } else {
            out.push_str(&format!("\n    {} on record {} differs:\n      {f:?}\n      {g:?}", f.analytic_id, f.event_record_id));
        }
    }
    if differ > 3 {
        out.push_str(&format!("\n    ... {} more differ", differ - 3));
    }
    if out.is_empty() {
        out = "same findings, in another order".into();
    }
    out
}

#[test]
fn defender_rules_fire_on_fields_with_spaces() {
    let Some(sigma) = sigma_dir("the Defender check") else {
        return;
    };
    let Some(corpus) = corpus_dir("the Defender check") else {
        return;
    };
    let rules = pack(&sigma);
    let rel = "attack-samples/AutomatedTestingTools/WinDefender_Events_1117_1116_AtomicRedTeam.evtx";
    let bytes = std::fs::read(corpus.join(rel)).unwrap();
    let scan = scan_bytes(rel, &bytes, rules);
    let index_of: HashMap<&str, usize> = rules.analytics().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
    let mut defender: BTreeMap<String, usize> = BTreeMap::new();
    for f in scan.findings() {
        let info = rules.analytic(index_of[&*f.analytic_id]);
        let ls = logsource_of(&info.sigma, &f.analytic_id);
        if ls.service.as_deref() == Some("windefend") || ls.category.as_deref() == Some("antivirus") {
            *defender.entry(format!("{} {:?} ({:?}/{:?})", f.analytic_id, f.analytic_title, ls.category, ls.service)).or_default() += 1;
        }
    }
    eprintln!("{} findings on {rel}; Defender rules that fired:", scan.findings().len());
    for (rule, n) in &defender {
        eprintln!("  {n:4}  {rule}");
    }
    assert!(!defender.is_empty(), "no windefend / antivirus rule fired on {rel}");

    // The pack's rules that fire here test EventIDs only. Rules on the
    // fields, as Sigma names them: `ThreatName` and `ProcessName` are the
    // record's `Threat Name` and `Process Name`; in the antivirus category
    // `Signature` is `ThreatName` too, and only EventID 1116 of these is
    // antivirus (1117 is not in thor.yml's list).
    let texts = RuleTexts {
        texts: vec![
            RuleText {
                source: "threat-name.yml".into(),
                text: "title: Powersploit seen by Defender\nid: defender-powersploit\nlogsource:\n  product: windows\n  service: windefend\n\
                       detection:\n  sel:\n    ThreatName|contains: 'Powersploit'\n    ProcessName|endswith: '\\powershell.exe'\n  condition: sel\n"
                    .into(),
            },
            RuleText {
                source: "signature.yml".into(),
                text: "title: Jsprat signature\nid: antivirus-jsprat\nlogsource:\n  category: antivirus\n\
                       detection:\n  sel:\n    Signature|startswith: 'HackTool:JS/'\n  condition: sel\n"
                    .into(),
            },
        ],
        unreadable: Vec::new(),
    };
    let spaced = RuleSet::load(&texts, &LoadOptions::default());
    assert_eq!(spaced.load_report().loaded, 4, "{:?}", spaced.load_report().skipped);
    let found: BTreeSet<(String, u64)> =
        scan_bytes(rel, &bytes, &spaced).findings().iter().map(|f| (f.analytic_id.to_string(), f.event_record_id)).collect();
    let want: BTreeSet<(String, u64)> =
        [("defender-powersploit", 37), ("defender-powersploit", 101), ("antivirus-jsprat", 75), ("antivirus-jsprat", 102)]
            .into_iter()
            .map(|(a, r)| (a.to_string(), r))
            .collect();
    assert_eq!(found, want);
}

/// Every incident's story told together (each chunk read once per round,
/// see `story_batch`) is the story told alone, across the files of a run:
/// the pack's findings on one folder of the corpus give many incidents.
#[test]
fn stories_told_together_equal_stories_told_one_by_one() {
    let Some(sigma) = sigma_dir("the story batch check") else {
        return;
    };
    let Some(corpus) = corpus_dir("the story batch check") else {
        return;
    };
    let rules = pack(&sigma);
    let paths = evtx_files(&corpus.join("attack-samples/Credential Access"));
    let mut run = evtx_triage::scan::RunBuilder::new();
    for p in &paths {
        run.add_file(scan_bytes(&p.display().to_string(), &std::fs::read(p).unwrap(), rules));
    }
    let index = run.take_index();
    let report = run.finish(rules);
    let by_name: BTreeMap<String, PathBuf> = paths.iter().map(|p| (p.display().to_string(), p.clone())).collect();
    let together = evtx_triage::incident::incidents_from_disk(&report.findings, &index, &by_name, 2);
    let alone: Vec<_> = evtx_triage::incident::group(&report.findings)
        .into_iter()
        .filter_map(|members| {
            let builder = evtx_triage::story::StoryBuilder::new(&report.findings[members[0]])?;
            let theirs: Vec<&Finding> = members.iter().map(|&i| &report.findings[i]).collect();
            let story = evtx_triage::story::story_from_disk(builder, &index, &by_name, &theirs);
            Some(evtx_triage::incident::from_story(&story, members))
        })
        .collect();
    eprintln!("{} files, {} findings, {} incidents", paths.len(), report.findings.len(), together.len());
    assert!(together.len() >= 20, "only {} incidents", together.len());
    assert_eq!(together, alone);
}

/// The scan decides which rules a record's literals call up by bit sets per
/// channel and EventID (see `admission`); they answer as each rule's own
/// logsource does, for every channel and EventID the pack names, in other
/// cases, and for channels and EventIDs no rule names.
#[test]
fn logsource_bit_sets_admit_what_each_rules_logsource_admits() {
    use evtx_triage::logsource::Scope;
    let Some(sigma) = sigma_dir("the logsource bit set check") else {
        return;
    };
    let rules = pack(&sigma);
    let (mut channels, mut event_ids) = (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
    for i in 0..rules.len() {
        if let Scope::Sources(sources) = rules.scope(i) {
            for s in sources {
                for c in &s.channels {
                    channels.extend([c.clone(), c.to_ascii_lowercase(), c.to_ascii_uppercase()]);
                }
                event_ids.extend(s.event_ids.iter().flatten().copied());
            }
        }
    }
    let channels: Vec<Option<String>> = channels.into_iter().map(Some).chain([None, Some("Nobody's/Channel".into())]).collect();
    let event_ids: Vec<Option<u64>> = event_ids.into_iter().map(Some).chain([None, Some(999_999)]).collect();
    // The pack's channels in three spellings (plus none and an unknown one), its EventIDs (plus none and an unknown one).
    assert_eq!((channels.len(), event_ids.len()), (134, 44));
    for channel in &channels {
        for &event_id in &event_ids {
            for i in 0..rules.len() {
                let want = rules.scope(i).may_admit(channel.as_deref(), event_id);
                assert_eq!(rules.may_admit(i, channel.as_deref(), event_id), want, "rule {i} on {channel:?} {event_id:?}");
            }
        }
    }
}

/// A browser worker sends its part's tally to the page as JSON, its findings
/// as a table of texts and rows (`finding_table`): with the pack over the
/// corpus, every tally comes back equal, and shorter than a list of findings
/// (2,059 findings: 1.44 MB as a table, 2.21 MB as a list; their matched
/// fields and snippets are most of it).
#[test]
fn tallies_cross_to_the_page_unchanged() {
    use evtx_triage::reader::ChunkSplitter;
    use evtx_triage::scan::{analyze_chunk, ChunkTally};
    let Some(sigma) = sigma_dir("the tally round trip") else {
        return;
    };
    let Some(corpus) = corpus_dir("the tally round trip") else {
        return;
    };
    let rules = pack(&sigma);
    let (mut findings, mut with_rest, mut table_bytes, mut list_bytes) = (0, 0, 0, 0);
    for (rel, bytes) in corpus_logs(&corpus) {
        let mut splitter = ChunkSplitter::new();
        let Ok(mut chunks) = splitter.push(&bytes) else { continue };
        chunks.extend(splitter.finish().unwrap());
        let mut tally = ChunkTally::default();
        chunks.iter().for_each(|raw| tally.add(analyze_chunk(&rel, raw, rules)));
        let text = serde_json::to_string(&tally).unwrap();
        let back: ChunkTally = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(back == tally, "{rel}: the tally differs after crossing:\n{}", finding_diff(&tally.findings, &back.findings));
        findings += tally.findings.len();
        with_rest += tally.findings.iter().filter(|f| !f.matched.is_empty() && f.actor.is_some()).count();
        let without_findings = serde_json::to_string(&ChunkTally { findings: Vec::new(), ..tally.clone() }).unwrap().len();
        table_bytes += text.len() - without_findings;
        list_bytes += serde_json::to_string(&tally.findings).unwrap().len();
    }
    eprintln!("{findings} findings crossed: {table_bytes} bytes of JSON as a table, {list_bytes} as a list");
    assert!(with_rest > 0 && with_rest < findings, "matched fields and actors crossed on {with_rest} of {findings}");
    assert!(table_bytes < list_bytes, "a table of {table_bytes} bytes against a list of {list_bytes}");
}
