//! A Security log of logons and Sigma correlation rules over it, shared by
//! `tests/correlation.rs` and the browser fixture writer
//! (`examples/write_fixture.rs logons`), so the page is checked on the very
//! case whose counts the Rust test states.

use evtx_triage::writer::EventSpec;

/// Two detection rules (failed and successful logon) and one correlation of each kind.
pub const RULES: &str = r#"
title: Failed logon (test)
id: 6f1c5a7e-0000-4000-8000-000000004625
name: failed_logon
status: test
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Successful logon (test)
id: 6f1c5a7e-0000-4000-8000-000000004624
name: successful_logon
status: test
level: informational
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4624
    condition: selection
---
title: Many failed logons for one user (test)
id: 6f1c5a7e-0000-4000-8000-0000000000e1
status: test
level: high
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 5m
    condition:
        gte: 5
---
title: Password spray from one address (test)
id: 6f1c5a7e-0000-4000-8000-0000000000e2
status: test
level: high
correlation:
    type: value_count
    rules:
        - 6f1c5a7e-0000-4000-8000-000000004625
    group-by:
        - IpAddress
    timespan: 10m
    condition:
        field: TargetUserName
        gte: 3
---
title: Failed and successful logon of one user (test)
id: 6f1c5a7e-0000-4000-8000-0000000000e3
status: test
level: medium
correlation:
    type: temporal
    rules:
        - failed_logon
        - successful_logon
    group-by:
        - TargetUserName
    timespan: 5m
---
title: Failed then successful logon of one user (test)
id: 6f1c5a7e-0000-4000-8000-0000000000e4
status: test
level: high
correlation:
    type: temporal_ordered
    rules:
        - failed_logon
        - successful_logon
    group-by:
        - TargetUserName
    timespan: 5m
"#;

fn logon(rid: u64, time: &str, event_id: u16, user: &str, ip: &str) -> EventSpec {
    EventSpec {
        record_id: rid,
        time: format!("2024-05-06T{time}.0000000Z"),
        provider: "Microsoft-Windows-Security-Auditing".into(),
        event_id,
        channel: "Security".into(),
        computer: "DC-01".into(),
        data: [("TargetUserName", user), ("TargetDomainName", "CORP"), ("LogonType", "3"), ("IpAddress", ip)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// bob fails 7 times in 2 minutes then logs on, and fails 5 times again two
/// hours later; alice fails 3 times; one address tries 4 users; carol logs on
/// before she fails. Written out of time order: correlations sort by time.
pub fn events() -> Vec<EventSpec> {
    let mut out = Vec::new();
    let mut rid = 0;
    let mut add = |time: &str, id: u16, user: &str, ip: &str| {
        rid += 1;
        out.push(logon(rid, time, id, user, ip));
    };
    for t in ["12:00:00", "12:00:10", "12:00:20", "12:00:30", "12:00:40"] {
        add(t, 4625, "bob", "10.0.0.5");
    }
    for t in ["10:00:00", "10:00:20", "10:00:40", "10:01:00", "10:01:20", "10:01:40", "10:02:00"] {
        add(t, 4625, "bob", "10.0.0.5");
    }
    add("10:02:30", 4624, "bob", "10.0.0.5");
    for t in ["10:00:10", "10:00:30", "10:00:50"] {
        add(t, 4625, "alice", "10.0.0.6");
    }
    for (t, user) in [("10:30:00", "u1"), ("10:30:10", "u2"), ("10:30:20", "u3"), ("10:30:30", "u4")] {
        add(t, 4625, user, "10.0.0.9");
    }
    add("11:00:00", 4624, "carol", "10.0.0.7");
    add("11:01:00", 4625, "carol", "10.0.0.7");
    out
}
