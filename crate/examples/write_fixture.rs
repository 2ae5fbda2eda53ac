//! Writes EVTX fixtures for the browser end-to-end tests (tests/hostile.test.mjs,
//! tests/scale.test.mjs) with the project's own writer, and prints what the built-in analytics
//! should find in them as JSON on stdout.
//!
//! ```text
//! write_fixture hostile OUT.evtx     Sysmon events whose fields hold markup, script, a
//!                                    javascript: URL, a right-to-left override, a 100 KB string
//!                                    and a spreadsheet formula; some of them are findings
//! write_fixture many OUT_DIR N       N files f0000.evtx ... with one finding each (distinct
//!                                    record ids), plus notes.txt and image.png (not EVTX)
//! write_fixture dense OUT.evtx [C]   C full chunks (default 1), each: near misses the prefilter
//!                                    cannot skip (so every record is rendered and evaluated) and
//!                                    one finding; record ids distinct, the header's count right
//! write_fixture logons OUT_DIR       logons.evtx (failed and successful logons) and logons.yml
//!                                    (two rules and a correlation of each kind), as in
//!                                    crate/tests/correlation.rs
//! ```
//!
//! Output (one JSON object): `{"mode", "files": [{"path", "name", "size"}], "expected":
//! [{"analytic", "event_record_id", "file"}], ...}`; `hostile` adds `"strings"` (the hostile
//! values, so the test does not repeat them).
//!
//! Run: cargo run --release --example write_fixture -- hostile /tmp/hostile.evtx

use evtx_triage::writer::{write_evtx, EventSpec};

// The correlation test's case, from the one place that writes it.
#[path = "../tests/support/logons.rs"]
mod logons;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const MINIDUMP: &str = "CAR-2020-05-001";
const TASKMGR: &str = "CAR-2019-08-001";
const LSASS: &str = r"C:\Windows\system32\lsass.exe";
const TASKMGR_EXE: &str = r"C:\Windows\System32\taskmgr.exe";
const DBGHELP_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\KERNELBASE.dll+2bcb5|C:\Windows\System32\dbghelp.dll+e6f0|C:\Users\bob\Desktop\dumper.exe+1a2b";
const DBGCORE_TRACE: &str =
    r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\dbgcore.dll+6e05|C:\Windows\System32\KERNELBASE.dll+2bcb5";
const PLAIN_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\KERNELBASE.dll+2bcb5|UNKNOWN(00000000001A2B3C)";

// The hostile values.
const IMG: &str = r#"<img src=x onerror="document.body.dataset.pwned=1">"#;
const SCRIPT: &str = "</script><script>document.body.dataset.pwned=2</script>";
const JS_URL: &str = "javascript:alert(1)";
const RLO: char = '\u{202E}';
const FORMULA: &str = r#"=HYPERLINK("http://evil/x","y")"#;
const SCRIPT_COMPUTER: &str = "WKS-<script>document.body.dataset.pwned=4</script>";
const ATTR_BREAKOUT: &str = r#"x" autofocus onfocus="document.body.dataset.pwned=5"#;
/// Repeated to make the 100 KB string.
const LONG_UNIT: &str = "<svg/onload=document.body.dataset.pwned=6>&amp;";
const LONG_BYTES: usize = 100_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("hostile") if args.len() == 3 => hostile(Path::new(&args[2])),
        Some("many") if args.len() == 4 => match args[3].parse::<usize>() {
            Ok(n) if (1..=10_000).contains(&n) => many(Path::new(&args[2]), n),
            _ => Err(format!("N must be a number from 1 to 10000, not {:?}", args[3])),
        },
        Some("dense") if args.len() == 3 || args.len() == 4 => match args.get(3).map_or(Ok(1), |c| c.parse::<u64>()) {
            Ok(c) if (1..=65_535).contains(&c) => dense(Path::new(&args[2]), c),
            _ => Err(format!("C must be a number from 1 to 65535, not {:?}", args[3])),
        },
        Some("logons") if args.len() == 3 => write_logons(Path::new(&args[2])),
        _ => {
            eprintln!(
                "usage: write_fixture hostile OUT.evtx | write_fixture many OUT_DIR N | write_fixture dense OUT.evtx [CHUNKS] | write_fixture logons OUT_DIR"
            );
            std::process::exit(2);
        }
    };
    match result {
        Ok(doc) => println!("{}", serde_json::to_string_pretty(&doc).expect("json")),
        Err(e) => {
            eprintln!("write_fixture: {e}");
            std::process::exit(1);
        }
    }
}

/// The logons log and its correlation rules, in `dir`.
fn write_logons(dir: &Path) -> Result<Value, String> {
    let log = dir.join("logons.evtx");
    let rules = dir.join("logons.yml");
    let bytes = write_evtx(&logons::events());
    std::fs::write(&log, &bytes).map_err(|e| format!("{}: {e}", log.display()))?;
    std::fs::write(&rules, logons::RULES).map_err(|e| format!("{}: {e}", rules.display()))?;
    Ok(json!({ "mode": "logons", "files": [
        { "path": log, "name": "logons.evtx", "size": bytes.len() },
        { "path": rules, "name": "logons.yml", "size": logons::RULES.len() },
    ] }))
}

/// 2024-05-06 07:00:00 UTC plus `n` seconds.
fn time(n: u64) -> String {
    format!("2024-05-06T{:02}:{:02}:{:02}.{:07}Z", 7 + n / 3600 % 17, n / 60 % 60, n % 60, n * 1_001 % 10_000_000)
}

fn access(rid: u64, computer: &str, source: &str, target: &str, call_trace: &str) -> EventSpec {
    EventSpec::sysmon(
        rid,
        &time(rid),
        10,
        computer,
        &[
            ("RuleName", "-"),
            ("UtcTime", "2024-05-06 07:08:09.123"),
            ("SourceProcessGUID", "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"),
            ("SourceProcessId", "4242"),
            ("SourceThreadId", "4243"),
            ("SourceImage", source),
            ("TargetProcessGUID", "{5770385f-c22a-43e0-bf4c-06f5698ffbd0}"),
            ("TargetProcessId", "640"),
            ("TargetImage", target),
            ("GrantedAccess", "0x1fffff"),
            ("CallTrace", call_trace),
        ],
    )
}

fn file_create(rid: u64, computer: &str, image: &str, target_filename: &str) -> EventSpec {
    EventSpec::sysmon(
        rid,
        &time(rid),
        11,
        computer,
        &[
            ("RuleName", "-"),
            ("UtcTime", "2024-05-06 07:08:09.123"),
            ("ProcessGuid", "{5770385f-c22a-43e0-bf4c-06f5698ffbd1}"),
            ("ProcessId", "5150"),
            ("Image", image),
            ("TargetFilename", target_filename),
            ("CreationUtcTime", "2024-05-06 07:08:09.123"),
        ],
    )
}

fn process_create(rid: u64, computer: &str, image: &str, command_line: &str) -> EventSpec {
    EventSpec::sysmon(
        rid,
        &time(rid),
        1,
        computer,
        &[
            ("RuleName", "-"),
            ("UtcTime", "2024-05-06 07:08:09.123"),
            ("ProcessGuid", "{5770385f-c22a-43e0-bf4c-06f5698ffbd2}"),
            ("ProcessId", "6160"),
            ("Image", image),
            ("CommandLine", command_line),
            ("CurrentDirectory", r"C:\Users\x\"),
            ("User", r"CORP\x"),
            ("ParentImage", r"C:\Windows\explorer.exe"),
        ],
    )
}

fn with_data(mut e: EventSpec, name: &str, value: &str) -> EventSpec {
    e.data.push((name.to_owned(), value.to_owned()));
    e
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn file_entry(path: &Path, size: usize) -> Value {
    json!({
        "path": path.display().to_string(),
        "name": path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        "size": size,
    })
}

fn expected(file: &str, pairs: &[(&str, u64)]) -> Vec<Value> {
    pairs.iter().map(|&(a, r)| json!({"analytic": a, "event_record_id": r, "file": file})).collect()
}

/// The long string: `LONG_UNIT` repeated to at least `LONG_BYTES` bytes.
fn long_string() -> String {
    LONG_UNIT.repeat(LONG_BYTES.div_ceil(LONG_UNIT.len()))
}

fn hostile(out: &Path) -> Result<Value, String> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let img_exe = format!(r"C:\Temp\{IMG}.exe");
    let script_trace = format!(r"C:\Windows\SYSTEM32\ntdll.dll+9d1e4|C:\Windows\System32\dbghelp.dll+e6f0|{SCRIPT}|C:\Temp\x.exe+1a2b");
    let rlo_exe = format!(r"C:\Users\x\Desktop\report{RLO}fdp.exe");
    let rlo_dump = format!(r"C:\Users\x\AppData\Local\Temp\lsass{RLO}pmd.DMP");
    // No '/' (or '\') in the file name: CAR-2019-08-001 needs its last element to be lsass*.dmp.
    let img_dump = r#"C:\Temp\lsass_<img src=x onerror="document.body.dataset.pwned=3">.dmp"#.to_string();
    let long = long_string();
    let long_cmd = format!("cmd.exe /c echo {long}");

    // Record ids of the events that are findings.
    const IMG_ACCESS: u64 = 2;
    const JS_ACCESS: u64 = 3;
    const RLO_ACCESS: u64 = 4;
    const LONG_ACCESS: u64 = 5;
    const IMG_DUMP: u64 = 7;
    const RLO_DUMP: u64 = 8;
    const ATTR_ACCESS: u64 = 11;

    let events = vec![
        // 1: not a finding; a javascript: URL as the image, a 100 KB command line.
        process_create(1, FORMULA, JS_URL, &long_cmd),
        // 2: CAR-2020-05-001; markup in the source image, a script end tag in the call trace.
        access(IMG_ACCESS, FORMULA, &img_exe, LSASS, &script_trace),
        // 3: CAR-2020-05-001; a javascript: URL as the source image, markup as the computer.
        access(JS_ACCESS, SCRIPT_COMPUTER, JS_URL, LSASS, DBGCORE_TRACE),
        // 4: CAR-2020-05-001; a right-to-left override in the source image's file name.
        access(RLO_ACCESS, "WKS-01", &rlo_exe, LSASS, DBGHELP_TRACE),
        // 5: CAR-2020-05-001 with a 100 KB CommandLine (cut by the writer to fit a chunk).
        with_data(access(LONG_ACCESS, "WKS-01", r"C:\Temp\long.exe", LSASS, DBGHELP_TRACE), "CommandLine", &long_cmd),
        // 6: not a finding: a javascript: URL as a created file.
        file_create(6, FORMULA, r"C:\Windows\explorer.exe", JS_URL),
        // 7: CAR-2019-08-001; markup in the dump's file name.
        file_create(IMG_DUMP, FORMULA, TASKMGR_EXE, &img_dump),
        // 8: CAR-2019-08-001; a right-to-left override in the dump's file name.
        file_create(RLO_DUMP, "WKS-01", TASKMGR_EXE, &rlo_dump),
        // 9: not a finding: markup in a file name, plain access.
        file_create(9, "WKS-01", r"C:\Windows\explorer.exe", &format!(r"C:\Users\x\Desktop\report{RLO}fdp.exe")),
        // 10: not a finding: lsass accessed without a dump library.
        access(10, FORMULA, &img_exe, LSASS, PLAIN_TRACE),
        // 11: CAR-2020-05-001; an attribute breakout as a Data name and value.
        with_data(access(ATTR_ACCESS, "WKS-01", &format!(r"C:\Temp\{ATTR_BREAKOUT}.exe"), LSASS, DBGCORE_TRACE), ATTR_BREAKOUT, IMG),
    ];
    let bytes = write_evtx(&events);
    write(out, &bytes)?;
    Ok(json!({
        "mode": "hostile",
        "files": [file_entry(out, bytes.len())],
        "expected": expected(&name, &[
            (MINIDUMP, IMG_ACCESS),
            (MINIDUMP, JS_ACCESS),
            (MINIDUMP, RLO_ACCESS),
            (MINIDUMP, LONG_ACCESS),
            (TASKMGR, IMG_DUMP),
            (TASKMGR, RLO_DUMP),
            (MINIDUMP, ATTR_ACCESS),
        ]),
        "strings": {
            "img": IMG,
            "script": SCRIPT,
            "js_url": JS_URL,
            "rlo": RLO.to_string(),
            "formula": FORMULA,
            "script_computer": SCRIPT_COMPUTER,
            "attr_breakout": ATTR_BREAKOUT,
            "img_exe": img_exe,
            "script_trace": script_trace,
            "rlo_exe": rlo_exe,
            "rlo_dump": rlo_dump,
            "img_dump": img_dump,
            "long_unit": LONG_UNIT,
            "long_bytes": long.len(),
        },
        "records": {
            "img_access": IMG_ACCESS, "js_access": JS_ACCESS, "rlo_access": RLO_ACCESS,
            "long_access": LONG_ACCESS, "img_dump": IMG_DUMP, "rlo_dump": RLO_DUMP, "attr_access": ATTR_ACCESS,
        },
    }))
}

/// One small log: two benign events around one CAR-2020-05-001 finding (record `10 * i + 2`).
fn many(dir: &Path, n: usize) -> Result<Value, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    let mut pairs = Vec::new();
    for i in 0..n {
        let base = 10 * i as u64;
        let name = format!("f{i:04}.evtx");
        let path: PathBuf = dir.join(&name);
        let computer = format!("WKS-{:02}", i % 10);
        let events = [
            process_create(base + 1, &computer, r"C:\Windows\System32\notepad.exe", r"notepad.exe C:\x.txt"),
            access(base + 2, &computer, &format!(r"C:\Users\x\Desktop\dumper{i:04}.exe"), LSASS, DBGHELP_TRACE),
            access(base + 3, &computer, r"C:\Windows\System32\svchost.exe", LSASS, PLAIN_TRACE),
        ];
        let bytes = write_evtx(&events);
        write(&path, &bytes)?;
        files.push(file_entry(&path, bytes.len()));
        pairs.push(json!({"analytic": MINIDUMP, "event_record_id": base + 2, "file": name}));
    }
    let notes = dir.join("notes.txt");
    write(&notes, b"not a log\n")?;
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(1024, 0x42);
    let image = dir.join("image.png");
    write(&image, &png)?;
    Ok(json!({
        "mode": "many",
        "files": files,
        "other_files": [file_entry(&notes, 10), file_entry(&image, png.len())],
        "expected": pairs,
    }))
}

/// `chunks` chunks, each as full as the writer makes it: near misses of CAR-2020-05-001 that hold
/// every literal the prefilter looks for (so each is rendered and evaluated), and one real finding
/// first (record `per_chunk * k + 1` in chunk k).
fn dense(out: &Path, chunks: u64) -> Result<Value, String> {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let chunk_events = |first: u64, count: u64| -> Vec<EventSpec> {
        (first..first + count)
            .map(|rid| {
                if rid == first {
                    access(rid, "WKS-DENSE", r"C:\Users\x\Desktop\dumper.exe", LSASS, DBGHELP_TRACE)
                } else {
                    // The lsass path and dbghelp.dll are in the record, but the TargetImage is not lsass.exe.
                    access(rid, "WKS-DENSE", r"C:\Windows\System32\svchost.exe", r"C:\Windows\system32\lsass.exe.bak", DBGHELP_TRACE)
                }
            })
            .collect()
    };
    // How many fit in one chunk (with the largest record ids used, so the longest numbers).
    let last_first = 1_000_000;
    let mut per_chunk = 1;
    while write_evtx(&chunk_events(last_first, per_chunk + 1)).len() <= 4096 + 65536 {
        per_chunk += 1;
    }
    let events: Vec<EventSpec> = (0..chunks).flat_map(|k| chunk_events(per_chunk * k + 1, per_chunk)).collect();
    let bytes = write_evtx(&events);
    let written = (bytes.len() as u64 - 4096) / 65536;
    if written != chunks {
        return Err(format!("wrote {written} chunks, not {chunks}"));
    }
    write(out, &bytes)?;
    let pairs: Vec<Value> =
        (0..chunks).map(|k| json!({"analytic": MINIDUMP, "event_record_id": per_chunk * k + 1, "file": name})).collect();
    Ok(json!({
        "mode": "dense",
        "files": [file_entry(out, bytes.len())],
        "chunks": chunks,
        "records_per_chunk": per_chunk,
        "expected": pairs,
    }))
}
