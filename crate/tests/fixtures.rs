use evtx_triage::rules::RuleSet;
use evtx_triage::scan::{scan_bytes, RunBuilder};
use evtx_triage::writer::{write_evtx, EventSpec};

#[test]
fn explore() {
    let evs = vec![
        EventSpec::sysmon(1, "2024-01-02T03:04:05.1234567Z", 10, "HOST", &[
            ("SourceImage", "C:\\Windows\\System32\\WerFault.exe"),
            ("TargetImage", "c:\\WINDOWS\\System32\\LSASS.EXE"),
            ("GrantedAccess", "0x1fffff"),
            ("CallTrace", "C:\\Windows\\SYSTEM32\\ntdll.dll+9c584|C:\\Windows\\System32\\DBGHELP.DLL+1234"),
        ]),
        EventSpec::sysmon(2, "2024-01-02T03:04:06Z", 11, "HOST", &[
            ("Image", "c:\\windows\\SysWOW64\\TaskMgr.exe"),
            ("TargetFilename", "C:\\Temp\\LSASS (2).DMP"),
        ]),
    ];
    let bytes = write_evtx(&evs);
    let rules = RuleSet::builtin();
    let scan = scan_bytes("x.evtx", &bytes, &rules);
    let mut run = RunBuilder::new();
    run.add_file(scan);
    let rep = run.finish(&rules);
    println!("{}", evtx_triage::export::to_json(&rep));
}
