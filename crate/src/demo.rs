//! The sample log behind the web app's "Try a sample log": a deterministic Sysmon log of about
//! half an hour on one workstation, `WKS-FINANCE-07`, on 2026-03-02.
//!
//! Around 200 everyday events (process creations, network connections, file creations and
//! process accesses by Windows, Edge, Office, Teams, OneDrive and Defender) surround a short
//! credential-dumping story:
//!
//! 1. `jdoe` downloads `procdump64.exe`, runs it from a command prompt, and it opens `lsass.exe`
//!    through `dbghelp.dll` (CAR-2020-05-001) and writes `Downloads\lsass.dmp`. That file is
//!    procdump's, not Task Manager's, so CAR-2019-08-001 stays quiet.
//! 2. Later, Task Manager opens `lsass.exe` through `dbgcore.dll` (CAR-2020-05-001) and writes
//!    `AppData\Local\Temp\lsass.DMP` ("Create dump file"; CAR-2019-08-001). It also dumps Edge,
//!    which neither analytic should report.
//! 3. Near misses: Windows Error Reporting dumps a crashed `explorer.exe` through `dbghelp.dll`
//!    (not lsass: no finding), and then opens `lsass.exe` through `dbghelp.dll`, CAR-2020-05-001's
//!    documented false positive, which it does report.
//!
//! [`DEMO_EXPECTED`] lists the findings the built-in analytics should give.

use crate::writer::{write_evtx, EventSpec};

/// File name the web app offers the sample log under.
pub const DEMO_FILE_NAME: &str = "evtx-triage-demo.evtx";
/// The workstation every demo event comes from.
pub const DEMO_COMPUTER: &str = "WKS-FINANCE-07";
/// `EventRecordID` of the first demo event; the others follow one by one.
pub const DEMO_FIRST_RECORD_ID: u64 = 1000;
/// Number of events in the demo log.
pub const DEMO_EVENT_COUNT: usize = 212;

// Record IDs of the story's events (everything else is benign background).
const EDGE_SYSINTERNALS_CONNECT: u64 = 1041;
const EDGE_PROCDUMP_DOWNLOAD: u64 = 1042;
const CMD_START: u64 = 1057;
const PROCDUMP_START: u64 = 1060;
const PROCDUMP_LSASS_ACCESS: u64 = 1061;
const PROCDUMP_LSASS_DUMP: u64 = 1062;
const WERFAULT_EXPLORER_START: u64 = 1088;
const WERFAULT_EXPLORER_ACCESS: u64 = 1089;
const WERFAULT_EXPLORER_REPORT: u64 = 1090;
const TASKMGR_START: u64 = 1118;
const TASKMGR_LSASS_ACCESS: u64 = 1121;
const TASKMGR_LSASS_DUMP: u64 = 1122;
const TASKMGR_EDGE_ACCESS: u64 = 1133;
const TASKMGR_EDGE_DUMP: u64 = 1134;
const WERFAULT_LSASS_START: u64 = 1160;
const WERFAULT_LSASS_ACCESS: u64 = 1161;
const WERFAULT_LSASS_REPORT: u64 = 1163;

/// The (analytic ID, `EventRecordID`) pairs the built-in analytics should report on the demo
/// log, in record order:
///
/// * CAR-2020-05-001 (MiniDump of LSASS): procdump's, Task Manager's and WerFault's opening of
///   `lsass.exe` through `dbghelp.dll`/`dbgcore.dll` (the last one a known false positive).
/// * CAR-2019-08-001 (Credential Dumping via Windows Task Manager): Task Manager writing
///   `lsass.DMP`.
pub const DEMO_EXPECTED: &[(&str, u64)] = &[
    ("CAR-2020-05-001", PROCDUMP_LSASS_ACCESS),
    ("CAR-2020-05-001", TASKMGR_LSASS_ACCESS),
    ("CAR-2019-08-001", TASKMGR_LSASS_DUMP),
    ("CAR-2020-05-001", WERFAULT_LSASS_ACCESS),
];

/// The demo log as a complete .evtx file.
pub fn demo_log() -> Vec<u8> {
    write_evtx(&demo_events())
}

/// The demo log's events, in order (record IDs from [`DEMO_FIRST_RECORD_ID`]).
pub fn demo_events() -> Vec<EventSpec> {
    let mut story = Story::new();
    let first = DEMO_FIRST_RECORD_ID;
    for id in first..first + DEMO_EVENT_COUNT as u64 {
        story.next_id = id;
        match id {
            EDGE_SYSINTERNALS_CONNECT => {
                story.pause_ms(900, 2500);
                story.network(&EDGE, "152.199.4.33", "download.sysinternals.com", 443, "https");
            }
            EDGE_PROCDUMP_DOWNLOAD => {
                story.pause_ms(1500, 3000);
                story.file_create(&EDGE, r"C:\Users\jdoe\Downloads\procdump64.exe");
            }
            CMD_START => {
                story.pause_ms(2000, 6000);
                story.process_create(&CMD, &EXPLORER, "\"C:\\Windows\\system32\\cmd.exe\" ", "High");
            }
            PROCDUMP_START => {
                story.pause_ms(3000, 9000);
                story.process_create(
                    &PROCDUMP,
                    &CMD,
                    r"procdump64.exe  -accepteula -ma lsass.exe C:\Users\jdoe\Downloads\lsass.dmp",
                    "High",
                );
            }
            PROCDUMP_LSASS_ACCESS => {
                story.pause_ms(80, 300);
                story.process_access(&PROCDUMP, &LSASS, "0x1fffff", PROCDUMP_CALL_TRACE);
            }
            PROCDUMP_LSASS_DUMP => {
                story.pause_ms(300, 900);
                story.file_create(&PROCDUMP, r"C:\Users\jdoe\Downloads\lsass.dmp");
            }
            WERFAULT_EXPLORER_START => {
                story.pause_ms(1000, 4000);
                story.process_create(&WERFAULT_EXPLORER, &EXPLORER, r"C:\Windows\system32\WerFault.exe -u -p 4412 -s 3352", "Medium");
            }
            WERFAULT_EXPLORER_ACCESS => {
                story.pause_ms(100, 400);
                story.process_access(&WERFAULT_EXPLORER, &EXPLORER, "0x1fffff", WERFAULT_CALL_TRACE);
            }
            WERFAULT_EXPLORER_REPORT => {
                story.pause_ms(500, 1500);
                story.file_create(&WERFAULT_EXPLORER, r"C:\Users\jdoe\AppData\Local\CrashDumps\explorer.exe.4412.dmp");
            }
            TASKMGR_START => {
                story.pause_ms(2000, 6000);
                story.process_create(&TASKMGR, &EXPLORER, "\"C:\\Windows\\system32\\taskmgr.exe\" /4", "High");
            }
            TASKMGR_LSASS_ACCESS => {
                story.pause_ms(4000, 12000);
                story.process_access(&TASKMGR, &LSASS, "0x1fffff", TASKMGR_CALL_TRACE);
            }
            TASKMGR_LSASS_DUMP => {
                story.pause_ms(200, 700);
                story.file_create(&TASKMGR, r"C:\Users\jdoe\AppData\Local\Temp\lsass.DMP");
            }
            TASKMGR_EDGE_ACCESS => {
                story.pause_ms(3000, 9000);
                story.process_access(&TASKMGR, &EDGE, "0x1fffff", TASKMGR_CALL_TRACE);
            }
            TASKMGR_EDGE_DUMP => {
                story.pause_ms(200, 700);
                story.file_create(&TASKMGR, r"C:\Users\jdoe\AppData\Local\Temp\msedge.DMP");
            }
            WERFAULT_LSASS_START => {
                story.pause_ms(2000, 6000);
                story.process_create(&WERFAULT_LSASS, &LSASS, r"C:\Windows\system32\WerFault.exe -u -p 640 -s 1208", "System");
            }
            WERFAULT_LSASS_ACCESS => {
                story.pause_ms(100, 400);
                story.process_access(&WERFAULT_LSASS, &LSASS, "0x1fffff", WERFAULT_CALL_TRACE);
            }
            WERFAULT_LSASS_REPORT => {
                story.pause_ms(1000, 3000);
                story.file_create(&WERFAULT_LSASS, r"C:\ProgramData\Microsoft\Windows\WER\Temp\WER7C1E.tmp.WERInternalMetadata.xml");
            }
            _ => story.benign(),
        }
    }
    story.events
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A running process as Sysmon names it.
struct Proc {
    pid: u32,
    image: &'static str,
    /// Low bits of its Sysmon ProcessGuid.
    seq: u32,
    user: &'static str,
}

impl Proc {
    /// A Sysmon-style process GUID, stable per process.
    fn guid(&self) -> String {
        format!("{{7b3e1c52-{:04x}-69a5-{:04x}-00000000{:04x}}}", 0x2a10 + self.seq * 0x1d, 0x0c00 + (self.seq & 0xff), self.pid & 0xffff)
    }
}

const SYSTEM: &str = r"NT AUTHORITY\SYSTEM";
const JDOE: &str = r"CORP\jdoe";
const LOCAL_SERVICE: &str = r"NT AUTHORITY\LOCAL SERVICE";
const NETWORK_SERVICE: &str = r"NT AUTHORITY\NETWORK SERVICE";

macro_rules! procs {
    ($($name:ident = $pid:literal, $seq:literal, $user:ident, $image:literal;)*) => {
        $(const $name: Proc = Proc { pid: $pid, image: $image, seq: $seq, user: $user };)*
    };
}

procs! {
    CSRSS = 520, 3, SYSTEM, r"C:\Windows\system32\csrss.exe";
    SERVICES = 628, 5, SYSTEM, r"C:\Windows\system32\services.exe";
    LSASS = 640, 6, SYSTEM, r"C:\Windows\system32\lsass.exe";
    SVCHOST_DCOM = 812, 8, SYSTEM, r"C:\Windows\system32\svchost.exe";
    SVCHOST_NETSVCS = 1288, 12, SYSTEM, r"C:\Windows\system32\svchost.exe";
    SVCHOST_DNS = 2316, 17, NETWORK_SERVICE, r"C:\Windows\system32\svchost.exe";
    SVCHOST_LOCAL = 1512, 13, LOCAL_SERVICE, r"C:\Windows\system32\svchost.exe";
    MSMPENG = 3120, 21, SYSTEM, r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe";
    WMIPRVSE = 3876, 24, SYSTEM, r"C:\Windows\system32\wbem\wmiprvse.exe";
    EXPLORER = 4412, 40, JDOE, r"C:\Windows\explorer.exe";
    ONEDRIVE = 6840, 44, JDOE, r"C:\Users\jdoe\AppData\Local\Microsoft\OneDrive\OneDrive.exe";
    EDGE = 6120, 47, JDOE, r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe";
    OUTLOOK = 5532, 51, JDOE, r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE";
    TEAMS = 7012, 53, JDOE, r"C:\Users\jdoe\AppData\Local\Microsoft\Teams\current\Teams.exe";
    EXCEL = 8264, 58, JDOE, r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE";
    CMD = 7312, 90, JDOE, r"C:\Windows\System32\cmd.exe";
    PROCDUMP = 9044, 93, JDOE, r"C:\Users\jdoe\Downloads\procdump64.exe";
    WERFAULT_EXPLORER = 5108, 96, JDOE, r"C:\Windows\System32\WerFault.exe";
    TASKMGR = 8812, 101, JDOE, r"C:\Windows\system32\taskmgr.exe";
    WERFAULT_LSASS = 1208, 120, SYSTEM, r"C:\Windows\System32\WerFault.exe";
}

// Call traces of MiniDumpWriteDump callers, and of ordinary handle openers.
const PROCDUMP_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|C:\Windows\SYSTEM32\dbghelp.dll+1a8b4|C:\Windows\SYSTEM32\dbghelp.dll+19bd5|C:\Windows\SYSTEM32\dbghelp.dll+1c7e3|C:\Users\jdoe\Downloads\procdump64.exe+1f2c1|C:\Users\jdoe\Downloads\procdump64.exe+1e08d|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";
const TASKMGR_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|C:\Windows\SYSTEM32\dbgcore.DLL+6af4|C:\Windows\SYSTEM32\dbgcore.DLL+19e2f|C:\Windows\SYSTEM32\dbgcore.DLL+1a0f6|C:\Windows\system32\taskmgr.exe+7fe7d|C:\Windows\system32\taskmgr.exe+5f6a3|C:\Windows\System32\SHCORE.dll+3bfd5|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";
const WERFAULT_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|C:\Windows\SYSTEM32\dbghelp.dll+1a8b4|C:\Windows\SYSTEM32\dbghelp.dll+19bd5|C:\Windows\SYSTEM32\faultrep.dll+4ab9c|C:\Windows\SYSTEM32\faultrep.dll+22f0b|C:\Windows\system32\WerFault.exe+1a3c4|C:\Windows\system32\WerFault.exe+d3e1|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";
const LSM_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|c:\windows\system32\lsm.dll+e959|C:\Windows\System32\RPCRT4.dll+7a0e3|C:\Windows\System32\RPCRT4.dll+5b6a9|C:\Windows\System32\RPCRT4.dll+4d3d3|C:\Windows\SYSTEM32\ntdll.dll+3357e|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";
const DEFENDER_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpSvc.dll+2c8e1|C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpSvc.dll+1fa02|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";
const WMI_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|C:\Windows\system32\wbem\cimwin32.dll+2d8f5|C:\Windows\system32\wbem\cimwin32.dll+2c9a2|C:\Windows\SYSTEM32\framedynos.dll+1b2f3|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";
const CSRSS_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\system32\CSRSRV.dll+4e06|C:\Windows\system32\basesrv.DLL+2d7c|C:\Windows\system32\CSRSRV.dll+7a0d|C:\Windows\SYSTEM32\ntdll.dll+52651";
const SHELL_CALL_TRACE: &str = r"C:\Windows\SYSTEM32\ntdll.dll+9c534|C:\Windows\System32\KERNELBASE.dll+2b7ae|C:\Windows\System32\SHELL32.dll+8e1b4|C:\Windows\System32\SHELL32.dll+8d6f2|C:\Windows\explorer.exe+2b1a3|C:\Windows\System32\KERNEL32.DLL+17034|C:\Windows\SYSTEM32\ntdll.dll+52651";

/// A benign process start: the process, its parent, command line, integrity level.
struct Spawn {
    image: &'static str,
    parent: &'static Proc,
    command_line: &'static str,
    user: &'static str,
    integrity: &'static str,
}

const SPAWNS: &[Spawn] = &[
    Spawn {
        image: r"C:\Windows\System32\svchost.exe",
        parent: &SERVICES,
        command_line: r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        user: SYSTEM,
        integrity: "System",
    },
    Spawn {
        image: r"C:\Windows\System32\backgroundTaskHost.exe",
        parent: &SVCHOST_DCOM,
        command_line: r#""C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider"#,
        user: JDOE,
        integrity: "Low",
    },
    Spawn {
        image: r"C:\Windows\System32\RuntimeBroker.exe",
        parent: &SVCHOST_DCOM,
        command_line: r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        user: JDOE,
        integrity: "Medium",
    },
    Spawn {
        image: r"C:\Windows\System32\SearchProtocolHost.exe",
        parent: &SVCHOST_NETSVCS,
        command_line: r#""C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe7_ Global\UsGthrCtrlFltPipeMssGthrPipe7 1 -2147483646 "Software\Microsoft\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\ProgramData\Microsoft\Search\Data\Temp\usgthrsvc" "DownLevelDaemon""#,
        user: SYSTEM,
        integrity: "System",
    },
    Spawn {
        image: r"C:\Windows\System32\wbem\WmiPrvSE.exe",
        parent: &SVCHOST_DCOM,
        command_line: r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
        user: NETWORK_SERVICE,
        integrity: "System",
    },
    Spawn {
        image: r"C:\Windows\System32\taskhostw.exe",
        parent: &SVCHOST_NETSVCS,
        command_line: r"taskhostw.exe SYSTEM",
        user: SYSTEM,
        integrity: "System",
    },
    Spawn {
        image: r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        parent: &EDGE,
        command_line: r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=renderer --instant-process --lang=en-US --js-flags=--ms-user-locale= --device-scale-factor=1 --num-raster-threads=4 --renderer-client-id=41 --mojo-platform-channel-handle=5816 /prefetch:1"#,
        user: JDOE,
        integrity: "Low",
    },
    Spawn {
        image: r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        parent: &EDGE,
        command_line: r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none --mojo-platform-channel-handle=2260 /prefetch:3"#,
        user: JDOE,
        integrity: "Medium",
    },
    Spawn {
        image: r"C:\Windows\System32\conhost.exe",
        parent: &CSRSS,
        command_line: r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        user: JDOE,
        integrity: "Medium",
    },
    Spawn {
        image: r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        parent: &EXPLORER,
        command_line: r#""C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE" "C:\Users\jdoe\Documents\Q1 forecast.xlsx""#,
        user: JDOE,
        integrity: "Medium",
    },
    Spawn {
        image: r"C:\Windows\System32\dllhost.exe",
        parent: &SVCHOST_DCOM,
        command_line: r"C:\Windows\system32\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
        user: JDOE,
        integrity: "Medium",
    },
    Spawn {
        image: r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe",
        parent: &MSMPENG,
        command_line: r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe" SignaturesUpdateService -ScheduleJob -UnmanagedUpdate"#,
        user: SYSTEM,
        integrity: "System",
    },
];

/// A benign network connection: process, destination address, host name, port.
const CONNECTIONS: &[(&Proc, &str, &str, u16)] = &[
    (&EDGE, "13.107.42.14", "www.bing.com", 443),
    (&EDGE, "204.79.197.239", "edge.microsoft.com", 443),
    (&EDGE, "10.20.0.25", "intranet.corp.example", 443),
    (&OUTLOOK, "52.96.188.18", "outlook.office365.com", 443),
    (&OUTLOOK, "52.96.223.2", "outlook.office365.com", 443),
    (&TEAMS, "52.113.194.132", "teams.microsoft.com", 443),
    (&TEAMS, "52.112.95.14", "api.flightproxy.teams.microsoft.com", 443),
    (&ONEDRIVE, "13.107.136.10", "corpexample-my.sharepoint.com", 443),
    (&MSMPENG, "20.50.201.195", "wdcp.microsoft.com", 443),
    (&SVCHOST_NETSVCS, "13.107.4.50", "settings-win.data.microsoft.com", 443),
    (&SVCHOST_DNS, "10.20.0.10", "dc01.corp.example", 53),
    (&SVCHOST_LOCAL, "10.20.0.10", "dc01.corp.example", 123),
];

/// A benign file creation: process and file name (`{n}` is replaced by a counter).
const FILES: &[(&Proc, &str)] = &[
    (&EDGE, r"C:\Users\jdoe\AppData\Local\Microsoft\Edge\User Data\Default\Cache\Cache_Data\f_00{n}"),
    (&EDGE, r"C:\Users\jdoe\AppData\Local\Microsoft\Edge\User Data\Default\Sessions\Tabs_13{n}"),
    (&OUTLOOK, r"C:\Users\jdoe\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\7QX2L4RB\Invoice-{n}.pdf"),
    (&EXCEL, r"C:\Users\jdoe\AppData\Local\Temp\~DF{n}.TMP"),
    (&EXCEL, r"C:\Users\jdoe\Documents\~$Q1 forecast.xlsx"),
    (&TEAMS, r"C:\Users\jdoe\AppData\Roaming\Microsoft\Teams\IndexedDB\https_teams.microsoft.com_0.indexeddb.leveldb\{n}.log"),
    (&ONEDRIVE, r"C:\Users\jdoe\AppData\Local\Microsoft\OneDrive\logs\Business1\SyncEngine-2026-03-02.{n}.odl"),
    (&SVCHOST_NETSVCS, r"C:\Windows\Prefetch\BACKGROUNDTASKHOST.EXE-{n}.pf"),
    (&MSMPENG, r"C:\ProgramData\Microsoft\Windows Defender\Scans\History\Service\DetectionHistory\{n}.bin"),
    (&EXPLORER, r"C:\Users\jdoe\AppData\Roaming\Microsoft\Windows\Recent\Q1 forecast.lnk"),
];

/// A benign process access: source, target, granted access, call trace.
const ACCESSES: &[(&Proc, &Proc, &str, &str)] = &[
    (&SVCHOST_NETSVCS, &LSASS, "0x1000", LSM_CALL_TRACE),
    (&MSMPENG, &LSASS, "0x1010", DEFENDER_CALL_TRACE),
    (&WMIPRVSE, &LSASS, "0x1400", WMI_CALL_TRACE),
    (&CSRSS, &EDGE, "0x1fffff", CSRSS_CALL_TRACE),
    (&EXPLORER, &ONEDRIVE, "0x1000", SHELL_CALL_TRACE),
    (&MSMPENG, &EXPLORER, "0x1010", DEFENDER_CALL_TRACE),
];

// ---------------------------------------------------------------------------------------------
// The story being written

/// 100 ns ticks per second and per millisecond.
const SECOND: u64 = 10_000_000;
const MILLI: u64 = 10_000;

/// Builds the demo events one at a time, with a clock and a deterministic random source.
struct Story {
    events: Vec<EventSpec>,
    next_id: u64,
    /// Time of day, in 100 ns ticks since 2026-03-02 00:00 UTC.
    clock: u64,
    rng: u64,
    /// Next process ID / GUID counter for benign process starts.
    next_pid: u32,
    next_seq: u32,
    /// Counter for benign file names.
    file_serial: u32,
}

impl Story {
    fn new() -> Self {
        Story {
            events: Vec::with_capacity(DEMO_EVENT_COUNT),
            next_id: DEMO_FIRST_RECORD_ID,
            clock: (9 * 3600 + 12 * 60 + 3) * SECOND + 417 * MILLI,
            rng: 0x5eed_0fc0_ffee,
            next_pid: 9300,
            next_seq: 130,
            file_serial: 0x3a41,
        }
    }

    /// splitmix64.
    fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A random number in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.random() % (hi - lo + 1)
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[(self.random() % items.len() as u64) as usize]
    }

    /// Let some milliseconds pass (plus sub-millisecond jitter).
    fn pause_ms(&mut self, lo: u64, hi: u64) {
        self.clock += self.between(lo, hi) * MILLI + self.between(0, MILLI - 1);
    }

    /// `UtcTime` as Sysmon writes it: `2026-03-02 09:12:03.417`.
    fn utc_time(&self) -> String {
        let (h, m, s, ticks) = clock_parts(self.clock);
        format!("2026-03-02 {h:02}:{m:02}:{s:02}.{:03}", ticks / MILLI)
    }

    /// Add a Sysmon event; it is logged a few milliseconds after its `UtcTime`.
    fn push(&mut self, event_id: u16, data: &[(&str, &str)]) {
        let logged = self.clock + self.between(MILLI / 2, 3 * MILLI);
        let (h, m, s, ticks) = clock_parts(logged);
        let time = format!("2026-03-02T{h:02}:{m:02}:{s:02}.{ticks:07}Z");
        self.events.push(EventSpec::sysmon(self.next_id, &time, event_id, DEMO_COMPUTER, data));
    }

    /// Sysmon event 1, process creation.
    fn process_create(&mut self, child: &Proc, parent: &Proc, command_line: &str, integrity: &str) {
        let utc = self.utc_time();
        let file = child.image.rsplit('\\').next().unwrap_or(child.image);
        let (file_version, description, product, company) = image_version_info(file);
        let (logon_guid, logon_id, session) = match child.user {
            JDOE => ("{7b3e1c52-2b6c-69a5-8f1a-050000000000}", "0x5a3f1", "1"),
            SYSTEM => ("{7b3e1c52-2a10-69a5-e703-000000000000}", "0x3e7", "0"),
            LOCAL_SERVICE => ("{7b3e1c52-2a12-69a5-e503-000000000000}", "0x3e5", "0"),
            _ => ("{7b3e1c52-2a12-69a5-e403-000000000000}", "0x3e4", "0"),
        };
        let current_directory = match child.user {
            JDOE => r"C:\Users\jdoe\",
            _ => r"C:\Windows\system32\",
        };
        let hashes = fake_hashes(child.image);
        let (pid, parent_pid) = (child.pid.to_string(), parent.pid.to_string());
        let (guid, parent_guid) = (child.guid(), parent.guid());
        self.push(
            1,
            &[
                ("RuleName", "-"),
                ("UtcTime", &utc),
                ("ProcessGuid", &guid),
                ("ProcessId", &pid),
                ("Image", child.image),
                ("FileVersion", file_version),
                ("Description", description),
                ("Product", product),
                ("Company", company),
                ("OriginalFileName", original_file_name(file)),
                ("CommandLine", command_line),
                ("CurrentDirectory", current_directory),
                ("User", child.user),
                ("LogonGuid", logon_guid),
                ("LogonId", logon_id),
                ("TerminalSessionId", session),
                ("IntegrityLevel", integrity),
                ("Hashes", &hashes),
                ("ParentProcessGuid", &parent_guid),
                ("ParentProcessId", &parent_pid),
                ("ParentImage", parent.image),
                ("ParentCommandLine", command_line_of(parent)),
            ],
        );
    }

    /// Sysmon event 3, network connection (TCP, or UDP for DNS and NTP).
    fn network(&mut self, proc: &Proc, ip: &str, host: &str, port: u16, port_name: &str) {
        let utc = self.utc_time();
        let source_port = self.between(49_700, 64_900).to_string();
        let protocol = if port == 53 || port == 123 { "udp" } else { "tcp" };
        let (pid, guid, port) = (proc.pid.to_string(), proc.guid(), port.to_string());
        self.push(
            3,
            &[
                ("RuleName", "-"),
                ("UtcTime", &utc),
                ("ProcessGuid", &guid),
                ("ProcessId", &pid),
                ("Image", proc.image),
                ("User", proc.user),
                ("Protocol", protocol),
                ("Initiated", "true"),
                ("SourceIsIpv6", "false"),
                ("SourceIp", "10.20.31.47"),
                ("SourceHostname", "WKS-FINANCE-07.corp.example"),
                ("SourcePort", &source_port),
                ("SourcePortName", "-"),
                ("DestinationIsIpv6", "false"),
                ("DestinationIp", ip),
                ("DestinationHostname", host),
                ("DestinationPort", &port),
                ("DestinationPortName", port_name),
            ],
        );
    }

    /// Sysmon event 11, file created.
    fn file_create(&mut self, proc: &Proc, target: &str) {
        let utc = self.utc_time();
        let (pid, guid) = (proc.pid.to_string(), proc.guid());
        self.push(
            11,
            &[
                ("RuleName", "-"),
                ("UtcTime", &utc),
                ("ProcessGuid", &guid),
                ("ProcessId", &pid),
                ("Image", proc.image),
                ("TargetFilename", target),
                ("CreationUtcTime", &utc),
            ],
        );
    }

    /// Sysmon event 10, process accessed.
    fn process_access(&mut self, source: &Proc, target: &Proc, access: &str, call_trace: &str) {
        let utc = self.utc_time();
        let thread = (self.between(1000, 12_000) & !3).to_string();
        let (source_pid, target_pid) = (source.pid.to_string(), target.pid.to_string());
        let (source_guid, target_guid) = (source.guid(), target.guid());
        self.push(
            10,
            &[
                ("RuleName", "-"),
                ("UtcTime", &utc),
                ("SourceProcessGUID", &source_guid),
                ("SourceProcessId", &source_pid),
                ("SourceThreadId", &thread),
                ("SourceImage", source.image),
                ("TargetProcessGUID", &target_guid),
                ("TargetProcessId", &target_pid),
                ("TargetImage", target.image),
                ("GrantedAccess", access),
                ("CallTrace", call_trace),
            ],
        );
    }

    /// One background event, a few seconds after the previous one.
    fn benign(&mut self) {
        self.pause_ms(4000, 13_000);
        match self.random() % 20 {
            // 35%: network connections.
            0..=6 => {
                let &(proc, ip, host, port) = self.pick(CONNECTIONS);
                let port_name = match port {
                    443 => "https",
                    53 => "domain",
                    123 => "ntp",
                    _ => "-",
                };
                self.network(proc, ip, host, port, port_name);
            }
            // 25%: file creations.
            7..=11 => {
                let &(proc, pattern) = self.pick(FILES);
                self.file_serial += self.between(1, 40) as u32;
                let name = pattern.replace("{n}", &format!("{:04X}", self.file_serial));
                self.file_create(proc, &name);
            }
            // 20%: process accesses.
            12..=15 => {
                let &(source, target, access, trace) = self.pick(ACCESSES);
                self.process_access(source, target, access, trace);
            }
            // 20%: process starts.
            _ => {
                let spawn = self.pick(SPAWNS);
                self.next_pid += 4 * self.between(1, 60) as u32;
                self.next_seq += 1;
                let child = Proc { pid: self.next_pid, image: spawn.image, seq: self.next_seq, user: spawn.user };
                self.process_create(&child, spawn.parent, spawn.command_line, spawn.integrity);
            }
        }
    }
}

/// Hours, minutes, seconds and leftover 100 ns ticks of a time of day.
fn clock_parts(clock: u64) -> (u64, u64, u64, u64) {
    let seconds = clock / SECOND;
    (seconds / 3600, seconds / 60 % 60, seconds % 60, clock % SECOND)
}

/// The command line a long-running process was started with.
fn command_line_of(proc: &Proc) -> &'static str {
    match proc.pid {
        520 => {
            r"%SystemRoot%\system32\csrss.exe ObjectDirectory=\Windows SharedSection=1024,20480,768 Windows=On SubSystemType=Windows ServerDll=basesrv,1 ServerDll=winsrv:UserServerDllInitialization,3 ServerDll=sxssrv,4 ProfileControl=Off MaxRequestThreads=16"
        }
        628 => r"C:\Windows\system32\services.exe",
        812 => r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
        1288 => r"C:\Windows\system32\svchost.exe -k netsvcs -p",
        3120 => r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe""#,
        4412 => r"C:\Windows\Explorer.EXE",
        6120 => r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --profile-directory=Default"#,
        7312 => "\"C:\\Windows\\system32\\cmd.exe\" ",
        _ => proc.image,
    }
}

/// `FileVersion`, `Description`, `Product` and `Company` of an executable, as Sysmon reads them.
fn image_version_info(file: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    const WINDOWS: &str = "Microsoft® Windows® Operating System";
    const MS: &str = "Microsoft Corporation";
    const BUILD: &str = "10.0.19041.1 (WinBuild.160101.0800)";
    match file.to_ascii_lowercase().as_str() {
        "procdump64.exe" => ("11.0", "Sysinternals process dump utility", "ProcDump", "Sysinternals - www.sysinternals.com"),
        "msedge.exe" => ("122.0.2365.66", "Microsoft Edge", "Microsoft Edge", MS),
        "excel.exe" => ("16.0.17328.20162", "Microsoft Excel", "Microsoft Office", MS),
        "mpcmdrun.exe" => ("4.18.24090.11 (WinBuild.160101.0800)", "Microsoft Malware Protection Command Line Utility", WINDOWS, MS),
        "cmd.exe" => (BUILD, "Windows Command Processor", WINDOWS, MS),
        "taskmgr.exe" => (BUILD, "Task Manager", WINDOWS, MS),
        "werfault.exe" => (BUILD, "Windows Problem Reporting", WINDOWS, MS),
        "svchost.exe" => (BUILD, "Host Process for Windows Services", WINDOWS, MS),
        "backgroundtaskhost.exe" => (BUILD, "Background Task Host", WINDOWS, MS),
        "runtimebroker.exe" => (BUILD, "Runtime Broker", WINDOWS, MS),
        "searchprotocolhost.exe" => (BUILD, "Microsoft Windows Search Protocol Host", WINDOWS, MS),
        "wmiprvse.exe" => (BUILD, "WMI Provider Host", WINDOWS, MS),
        "taskhostw.exe" => (BUILD, "Host Process for Windows Tasks", WINDOWS, MS),
        "conhost.exe" => (BUILD, "Console Window Host", WINDOWS, MS),
        "dllhost.exe" => (BUILD, "COM Surrogate", WINDOWS, MS),
        _ => (BUILD, "-", WINDOWS, MS),
    }
}

/// `OriginalFileName` (the PE's own name for itself) of an executable.
fn original_file_name(file: &str) -> &'static str {
    match file.to_ascii_lowercase().as_str() {
        "procdump64.exe" => "procdump",
        "msedge.exe" => "msedge.exe",
        "excel.exe" => "Excel.exe",
        "mpcmdrun.exe" => "MpCmdRun.exe",
        "cmd.exe" => "Cmd.Exe",
        "taskmgr.exe" => "Taskmgr.exe",
        "werfault.exe" => "WerFault.exe",
        "svchost.exe" => "svchost.exe",
        "backgroundtaskhost.exe" => "backgroundTaskHost.exe",
        "runtimebroker.exe" => "RuntimeBroker.exe",
        "searchprotocolhost.exe" => "SearchProtocolHost.exe",
        "wmiprvse.exe" => "Wmiprvse.exe",
        "taskhostw.exe" => "taskhostw.exe",
        "conhost.exe" => "CONHOST.EXE",
        "dllhost.exe" => "dllhost.exe",
        _ => "-",
    }
}

/// Made-up but stable `Hashes` for an image (these are not the real files' hashes).
fn fake_hashes(image: &str) -> String {
    let mut state = image.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut hex = |n: usize| {
        (0..n)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                char::from_digit((state >> 60) as u32, 16).unwrap().to_ascii_uppercase()
            })
            .collect::<String>()
    };
    let (md5, sha256) = (hex(32), hex(64));
    format!("MD5={md5},SHA256={sha256}")
}
