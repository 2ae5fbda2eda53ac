//! How times are shown: UTC everywhere by default (as the events and every
//! export carry them), or shifted to the reader's local time or a chosen
//! offset, for display only.

use serde::{Deserialize, Serialize};

/// The time zone the page shows times in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShownZone {
    #[default]
    Utc,
    /// A fixed offset east of UTC, in minutes (the browser's local offset, or one chosen).
    Offset(i32),
}

impl ShownZone {
    /// `+02:00`, `-05:30`, or `UTC`.
    pub fn label(self) -> String {
        match self {
            ShownZone::Utc => "UTC".into(),
            ShownZone::Offset(m) => offset_text(m),
        }
    }

    /// An ISO 8601 UTC time (`2019-03-17T19:09:41.3288680Z`) as shown in this
    /// zone, fraction kept: `2019-03-17T21:09:41.3288680+02:00`. Text that is
    /// no such time is shown as it is.
    pub fn show(self, utc: &str) -> String {
        let ShownZone::Offset(minutes) = self else { return utc.to_string() };
        let Ok(t) = utc.parse::<jiff::Timestamp>() else { return utc.to_string() };
        let Ok(offset) = jiff::tz::Offset::from_seconds(minutes * 60) else { return utc.to_string() };
        let local = t.to_zoned(jiff::tz::TimeZone::fixed(offset));
        // The fraction as the event gave it (7 digits in EVTX), not re-rounded.
        let fraction = utc.split_once('.').map(|(_, f)| f.trim_end_matches('Z')).filter(|f| f.bytes().all(|b| b.is_ascii_digit()));
        let base = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
        match fraction {
            Some(f) if !f.is_empty() => format!("{base}.{f}{}", offset_text(minutes)),
            _ => format!("{base}{}", offset_text(minutes)),
        }
    }
}

fn offset_text(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", minutes.abs() / 60, minutes.abs() % 60)
}

/// Parses `+02:00`, `-0530`, `+2`, `UTC` or `Z` (what a person types).
pub fn parse_offset(text: &str) -> Option<ShownZone> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("utc") || t.eq_ignore_ascii_case("z") {
        return Some(ShownZone::Utc);
    }
    let (sign, rest) = match t.as_bytes().first()? {
        b'+' => (1, &t[1..]),
        b'-' => (-1, &t[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(ShownZone::Offset(sign * (h * 60 + m)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_shift_for_display_and_keep_their_fraction() {
        let t = "2019-03-17T23:09:41.3288680Z";
        assert_eq!(ShownZone::Utc.show(t), t);
        assert_eq!(ShownZone::Offset(120).show(t), "2019-03-18T01:09:41.3288680+02:00");
        assert_eq!(ShownZone::Offset(-330).show(t), "2019-03-17T17:39:41.3288680-05:30");
        assert_eq!(ShownZone::Offset(60).show("2024-05-01T10:00:01Z"), "2024-05-01T11:00:01+01:00");
        assert_eq!(ShownZone::Offset(60).show("not a time"), "not a time");
        assert_eq!(parse_offset("+02:00"), Some(ShownZone::Offset(120)));
        assert_eq!(parse_offset("-0530"), Some(ShownZone::Offset(-330)));
        assert_eq!(parse_offset("+9"), Some(ShownZone::Offset(540)));
        assert_eq!(parse_offset("utc"), Some(ShownZone::Utc));
        assert_eq!(parse_offset("+25:00"), None);
        assert_eq!(parse_offset("02:00"), None);
        assert_eq!(ShownZone::Offset(-330).label(), "-05:30");
    }
}
