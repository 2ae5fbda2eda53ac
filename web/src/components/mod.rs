pub mod app;
pub mod detail;
pub mod findings;
pub mod incidents;
pub mod rules;
pub mod search;
pub mod summary;
pub mod timeline;

use evtx_triage::time_zone::ShownZone;

thread_local! {
    /// The zone the page shows times in (a display setting, like a locale:
    /// every export stays UTC).
    static SHOWN_ZONE: std::cell::Cell<ShownZone> = const { std::cell::Cell::new(ShownZone::Utc) };
}

pub fn set_shown_zone(zone: ShownZone) {
    SHOWN_ZONE.with(|z| z.set(zone));
}

/// A UTC time of an event as the page shows it.
pub fn shown_time(utc: &str) -> String {
    SHOWN_ZONE.with(|z| z.get().show(utc))
}

/// The browser's local offset from UTC now, in minutes east.
pub fn local_zone() -> ShownZone {
    ShownZone::Offset(-(js_sys::Date::new_0().get_timezone_offset() as i32))
}

/// Bytes as KiB / MiB / GiB for people.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A count with thousands separators.
pub use evtx_triage::report::thousands as group;
