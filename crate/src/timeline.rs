//! The timeline: events per time bucket, per computer or channel, with the
//! findings marked on their buckets.
//!
//! While a run reads its records, [`TimelineCounts`] keeps one count per
//! minute per series (computer and channel), and only for minutes that have
//! events: its size follows the span of the logs and their number of
//! computers and channels, not their number of events. It is part of the
//! mergeable statistics ([`crate::report::StatsBuilder`]), so it is folded
//! chunk by chunk, file by file, as everything else is (and crosses from the
//! browser's workers to the page with them).
//!
//! [`Timeline::build`] buckets the counts for people: a width chosen so that
//! the span takes at most [`MAX_AUTO_BUCKETS`] buckets (or a given one),
//! grouped by computer or by channel, in a time range if asked for, with the
//! findings counted on the bucket of their `time_created`. Times are whole
//! minutes: a range's bounds are taken to the minute (`from` down, `to` up).

use crate::report::Finding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Seconds in a minute, an hour, a day.
const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The widths an automatic timeline chooses from, narrowest first (longer
/// spans than 120 weeks take a multiple of a week).
pub const WIDTHS: [(i64, &str); 7] =
    [(MINUTE, "1m"), (5 * MINUTE, "5m"), (15 * MINUTE, "15m"), (HOUR, "1h"), (6 * HOUR, "6h"), (DAY, "1d"), (7 * DAY, "7d")];

/// An automatic width keeps the span within this many buckets.
pub const MAX_AUTO_BUCKETS: i64 = 120;

/// A given width may make at most this many buckets (1 minute over a year
/// of logs is half a million): narrow the range or widen the bucket.
pub const MAX_BUCKETS: i64 = 100_000;

/// Buckets start on multiples of their width counted from a Monday
/// (1970-01-05T00:00:00Z), so weeks start on Mondays and days at midnight UTC.
const ORIGIN: i64 = 4 * DAY;

/// Minutes with events, per computer and channel: what a run keeps to draw its timeline.
///
/// `series[computer][channel][unix minute] = events`; a record without a
/// computer or channel counts under `""`, one without a readable time in `untimed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineCounts {
    #[serde(default)]
    pub series: BTreeMap<String, BTreeMap<String, BTreeMap<i64, u32>>>,
    #[serde(default)]
    pub untimed: u64,
}

impl TimelineCounts {
    /// Counts one record at `minute` (a Unix minute, see [`minute_of_iso`]).
    pub fn add(&mut self, computer: Option<&str>, channel: Option<&str>, minute: Option<i64>) {
        let Some(minute) = minute else {
            self.untimed += 1;
            return;
        };
        let (computer, channel) = (computer.unwrap_or(""), channel.unwrap_or(""));
        // Look up by &str first: a record allocates nothing once its series is known.
        let channels = match self.series.get_mut(computer) {
            Some(c) => c,
            None => self.series.entry(computer.to_string()).or_default(),
        };
        let minutes = match channels.get_mut(channel) {
            Some(m) => m,
            None => channels.entry(channel.to_string()).or_default(),
        };
        let n = minutes.entry(minute).or_insert(0);
        *n = n.saturating_add(1);
    }

    /// Adds another part's counts.
    pub fn merge(&mut self, other: &TimelineCounts) {
        self.untimed += other.untimed;
        for (computer, channels) in &other.series {
            let mine = match self.series.get_mut(computer) {
                Some(c) => c,
                None => self.series.entry(computer.clone()).or_default(),
            };
            for (channel, minutes) in channels {
                let mine = match mine.get_mut(channel) {
                    Some(m) => m,
                    None => mine.entry(channel.clone()).or_default(),
                };
                for (minute, n) in minutes {
                    let slot = mine.entry(*minute).or_insert(0);
                    *slot = slot.saturating_add(*n);
                }
            }
        }
    }

    /// Findings counted by the minute of their `time_created`, as events are.
    pub fn of_findings(findings: &[Finding]) -> TimelineCounts {
        let mut counts = TimelineCounts::default();
        findings.iter().for_each(|f| counts.add_finding(f));
        counts
    }

    /// Counts one finding at the minute of its `time_created`.
    pub fn add_finding(&mut self, f: &Finding) {
        self.add(f.computer.as_deref(), f.channel.as_deref(), f.time_created.as_deref().and_then(minute_of_iso));
    }

    /// Events counted with a time.
    pub fn events(&self) -> u64 {
        self.minutes().map(|(_, _, _, n)| u64::from(n)).sum()
    }

    /// The first and last minute with an event.
    pub fn span(&self) -> Option<(i64, i64)> {
        let ends = self.series.values().flat_map(|c| c.values()).filter_map(|m| Some((*m.keys().next()?, *m.keys().next_back()?)));
        ends.reduce(|(a, b), (c, d)| (a.min(c), b.max(d)))
    }

    /// Every (computer, channel, minute, events) entry.
    pub fn minutes(&self) -> impl Iterator<Item = (&str, &str, i64, u32)> + '_ {
        self.series.iter().flat_map(|(computer, channels)| {
            channels
                .iter()
                .flat_map(move |(channel, minutes)| minutes.iter().map(move |(m, n)| (computer.as_str(), channel.as_str(), *m, *n)))
        })
    }

    /// Minute entries held (what the counts weigh: about 30 bytes each in memory).
    pub fn entries(&self) -> usize {
        self.series.values().flat_map(|c| c.values()).map(BTreeMap::len).sum()
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// The Unix minute of an ISO 8601 time as event logs write it
/// (`2019-03-19T07:35:50.1234567Z`, also with `+02:00` or a space for `T`,
/// or without seconds): a parse of its digits, cheap enough for every record.
/// `None` when it is not such a time.
pub fn minute_of_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    if b.len() < 16 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let (y, mo, d, h, mi) = (num(0, 4)?, num(5, 2)?, num(8, 2)?, num(11, 2)?, num(14, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 {
        return None;
    }
    let minute = days_from_civil(y, mo, d) * 1440 + h * 60 + mi;
    // Seconds and fraction change nothing but where the offset is.
    let mut at = 16;
    if b.get(at) == Some(&b':') {
        num(at + 1, 2)?;
        at += 3;
        if matches!(b.get(at), Some(b'.') | Some(b',')) {
            at += 1;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
        }
    }
    match b.get(at) {
        None | Some(b'Z') | Some(b'z') => Some(minute),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(at + 1, 2)?;
            let om = match b.get(at + 3) {
                Some(b':') => num(at + 4, 2)?,
                Some(_) => num(at + 3, 2)?,
                None => 0,
            };
            let offset = oh * 60 + om;
            Some(if sign == b'+' { minute - offset } else { minute + offset })
        }
        Some(_) => None,
    }
}

/// 1601-01-01 (FILETIME's epoch) to 1970-01-01, in minutes.
const FILETIME_EPOCH_MINUTES: i64 = 194_074_560;
const TICKS_PER_MINUTE: u64 = 600_000_000;

/// The Unix minute of a FILETIME (100 ns ticks since 1601).
pub fn minute_of_filetime(ft: u64) -> i64 {
    (ft / TICKS_PER_MINUTE) as i64 - FILETIME_EPOCH_MINUTES
}

/// Unix seconds as ISO 8601 UTC (`2019-03-19T07:35:00Z`).
pub fn iso_of_seconds(secs: i64) -> String {
    let (days, rest) = (secs.div_euclid(DAY), secs.rem_euclid(DAY));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / HOUR, rest % HOUR / MINUTE, rest % MINUTE)
}

/// Unix seconds of an ISO 8601 time (with an offset, UTC without one) or a date (its midnight UTC).
pub fn seconds_of_iso(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t.as_second());
    }
    let utc = jiff::tz::TimeZone::UTC;
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return utc.to_timestamp(dt).ok().map(|t| t.as_second());
    }
    let d = text.parse::<jiff::civil::Date>().ok()?;
    utc.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok().map(|t| t.as_second())
}

/// What a timeline's series are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    #[default]
    Computer,
    Channel,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Computer => "computer",
            Group::Channel => "channel",
        }
    }

    pub fn parse(text: &str) -> Option<Group> {
        match text.trim().to_ascii_lowercase().as_str() {
            "computer" => Some(Group::Computer),
            "channel" => Some(Group::Channel),
            _ => None,
        }
    }
}

/// A bucket width by its name (`1m`, `5m`, `15m`, `1h`, `6h`, `1d`, `7d`,
/// or any `<n>m`/`<n>h`/`<n>d`/`<n>w`), in seconds.
pub fn parse_width(text: &str) -> Option<i64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().ok().filter(|&n| n > 0 && n <= 100_000)?;
    let unit = match unit {
        "m" | "min" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        "w" => 7 * DAY,
        _ => return None,
    };
    Some(n * unit)
}

/// A width's name: `15m`, `6h`, `7d`.
pub fn width_label(secs: i64) -> String {
    if secs > 7 * DAY && secs % (7 * DAY) == 0 {
        format!("{}w", secs / (7 * DAY))
    } else if secs % DAY == 0 {
        format!("{}d", secs / DAY)
    } else if secs % HOUR == 0 {
        format!("{}h", secs / HOUR)
    } else {
        format!("{}m", secs / MINUTE)
    }
}

/// The narrowest of [`WIDTHS`] that lays `span` seconds (first minute to the
/// end of the last) in at most [`MAX_AUTO_BUCKETS`] buckets, however they
/// fall on its boundaries; past 120 weeks, a multiple of a week.
pub fn auto_width(first: i64, end: i64) -> i64 {
    let fits = |w: i64| bucket_count(first, end, w) <= MAX_AUTO_BUCKETS;
    if let Some((w, _)) = WIDTHS.iter().find(|(w, _)| fits(*w)) {
        return *w;
    }
    let week = 7 * DAY;
    let mut weeks = ((end - first) / week / MAX_AUTO_BUCKETS).max(2);
    while !fits(weeks * week) {
        weeks += 1;
    }
    weeks * week
}

/// The start of the bucket of width `w` holding second `t`.
fn bucket_start(t: i64, w: i64) -> i64 {
    ORIGIN + (t - ORIGIN).div_euclid(w) * w
}

/// How many buckets of width `w` cover `[first, end)`.
fn bucket_count(first: i64, end: i64, w: i64) -> i64 {
    if end <= first {
        return 0;
    }
    (bucket_start(end - 1, w) - bucket_start(first, w)) / w + 1
}

/// How to lay a timeline out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineOptions {
    pub group: Group,
    /// Bucket width in seconds (a multiple of 60); `None`: automatic.
    pub bucket_seconds: Option<i64>,
    /// Only events from this time (Unix seconds, taken down to its minute) ...
    pub from: Option<i64>,
    /// ... and before this one (taken up to the end of its minute).
    pub to: Option<i64>,
}

/// Why a timeline cannot be laid out as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineError {
    /// A width that is not a whole number of minutes.
    Width(i64),
    /// `from` is not before `to`.
    EmptyRange,
    /// More than [`MAX_BUCKETS`] buckets.
    TooManyBuckets(i64),
}

impl std::fmt::Display for TimelineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimelineError::Width(w) => write!(f, "a bucket is a whole number of minutes, not {w} seconds"),
            TimelineError::EmptyRange => write!(f, "the range is empty: --from must be before --to"),
            TimelineError::TooManyBuckets(n) => {
                write!(f, "that makes {n} buckets (at most {MAX_BUCKETS}): give a wider bucket or a shorter --from/--to range")
            }
        }
    }
}

impl std::error::Error for TimelineError {}

/// One series of a timeline: a computer or a channel, and its events and findings in the timeline's range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// The computer or channel (`""`: records without one).
    pub name: String,
    pub events: u64,
    pub findings: u64,
}

/// One bucket: `[start, end)`, its events (in all and per series) and the findings on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// ISO 8601 UTC, whole minutes.
    pub start: String,
    pub end: String,
    pub events: u64,
    pub findings: u64,
    /// Events per series, in the order of [`Timeline::series`].
    pub counts: Vec<u64>,
    /// Findings per series, in the same order; empty when the bucket has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finding_counts: Vec<u64>,
}

/// Events per time bucket, per computer or channel, with findings marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub group: Group,
    pub bucket_seconds: i64,
    /// The width's name (`15m`).
    pub bucket: String,
    /// The range the timeline covers (`from` inclusive, `to` exclusive; whole
    /// minutes), `None` when there is no event and no finding with a time in it.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The computers or channels, most events first (then by name).
    pub series: Vec<Series>,
    pub buckets: Vec<Bucket>,
    /// Events and findings in the buckets.
    pub events: u64,
    pub findings: u64,
    /// Records and findings without a readable time (in no bucket).
    pub untimed_events: u64,
    pub untimed_findings: u64,
}

impl Timeline {
    /// Buckets the events and the findings as `options` say.
    pub fn build(events: &TimelineCounts, findings: &[Finding], options: &TimelineOptions) -> Result<Timeline, TimelineError> {
        Timeline::build_counts(events, &TimelineCounts::of_findings(findings), options)
    }

    /// Buckets events and findings both counted per minute (a run that
    /// streams its findings need not keep them to mark them).
    pub fn build_counts(events: &TimelineCounts, findings: &TimelineCounts, options: &TimelineOptions) -> Result<Timeline, TimelineError> {
        let group = options.group;
        if options.bucket_seconds.is_some_and(|w| w <= 0 || w % MINUTE != 0) {
            return Err(TimelineError::Width(options.bucket_seconds.unwrap_or(0)));
        }
        // The range in minutes, [from, to): given, else the span of the events and findings.
        let span = match (events.span(), findings.span()) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (a, b) => a.or(b),
        };
        let from = options.from.map(|s| s.div_euclid(MINUTE)).or(span.map(|s| s.0));
        let to = options.to.map(|s| (s + MINUTE - 1).div_euclid(MINUTE)).or(span.map(|s| s.1 + 1));
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) if f < t => (f, t),
            (Some(_), Some(_)) if options.from.is_some() && options.to.is_some() => return Err(TimelineError::EmptyRange),
            // Nothing with a time (or a one-sided range past every event): no bucket.
            _ => return Ok(Timeline::empty(group, options.bucket_seconds.unwrap_or(MINUTE), events, findings)),
        };
        let (first, end) = (from * MINUTE, to * MINUTE);
        let width = options.bucket_seconds.unwrap_or_else(|| auto_width(first, end));
        let n = bucket_count(first, end, width);
        if n > MAX_BUCKETS {
            return Err(TimelineError::TooManyBuckets(n));
        }
        let base = bucket_start(first, width);
        let index = |minute: i64| ((bucket_start(minute * MINUTE, width) - base) / width) as usize;
        // Per series name: its total and its counts per bucket (sparse while counting).
        let per_series = |counts: &TimelineCounts| {
            let mut out: BTreeMap<String, (u64, BTreeMap<usize, u64>)> = BTreeMap::new();
            for (computer, channels) in &counts.series {
                for (channel, minutes) in channels {
                    let name = match group {
                        Group::Computer => computer,
                        Group::Channel => channel,
                    };
                    let slot = match out.get_mut(name) {
                        Some(s) => s,
                        None => out.entry(name.clone()).or_default(),
                    };
                    for (&minute, &n) in minutes.range(from..to) {
                        slot.0 += u64::from(n);
                        *slot.1.entry(index(minute)).or_default() += u64::from(n);
                    }
                }
            }
            out
        };
        let (event_series, finding_series) = (per_series(events), per_series(findings));
        let total_of = |map: &BTreeMap<String, (u64, BTreeMap<usize, u64>)>, name: &String| map.get(name).map_or(0, |s| s.0);
        // Series with something in the range: most events first, then most findings, then by name.
        let mut names: Vec<&String> =
            event_series.iter().chain(&finding_series).filter(|(_, (total, _))| *total > 0).map(|(name, _)| name).collect();
        names.sort();
        names.dedup();
        names.sort_by(|a, b| {
            let key = |n: &String| (total_of(&event_series, n), total_of(&finding_series, n));
            key(b).cmp(&key(a)).then_with(|| a.cmp(b))
        });
        let series: Vec<Series> = names
            .iter()
            .map(|name| Series { name: (*name).clone(), events: total_of(&event_series, name), findings: total_of(&finding_series, name) })
            .collect();
        let mut buckets: Vec<Bucket> = (0..n)
            .map(|i| {
                let start = base + i * width;
                Bucket {
                    start: iso_of_seconds(start),
                    end: iso_of_seconds(start + width),
                    events: 0,
                    findings: 0,
                    counts: vec![0; names.len()],
                    finding_counts: Vec::new(),
                }
            })
            .collect();
        for (s, name) in names.iter().enumerate() {
            for (&i, &n) in event_series.get(*name).map(|p| &p.1).into_iter().flatten() {
                buckets[i].counts[s] += n;
                buckets[i].events += n;
            }
            for (&i, &n) in finding_series.get(*name).map(|p| &p.1).into_iter().flatten() {
                let b = &mut buckets[i];
                if b.finding_counts.is_empty() {
                    b.finding_counts = vec![0; names.len()];
                }
                b.finding_counts[s] += n;
                b.findings += n;
            }
        }
        Ok(Timeline {
            group,
            bucket_seconds: width,
            bucket: width_label(width),
            from: Some(iso_of_seconds(first)),
            to: Some(iso_of_seconds(end)),
            events: series.iter().map(|s| s.events).sum(),
            findings: series.iter().map(|s| s.findings).sum(),
            series,
            buckets,
            untimed_events: events.untimed,
            untimed_findings: findings.untimed,
        })
    }

    fn empty(group: Group, width: i64, events: &TimelineCounts, findings: &TimelineCounts) -> Timeline {
        Timeline {
            group,
            bucket_seconds: width,
            bucket: width_label(width),
            from: None,
            to: None,
            series: Vec::new(),
            buckets: Vec::new(),
            events: 0,
            findings: 0,
            untimed_events: events.untimed,
            untimed_findings: findings.untimed,
        }
    }

    /// The report's timeline: automatic width, by computer, over everything.
    pub fn for_report(events: &TimelineCounts, findings: &[Finding]) -> Timeline {
        Timeline::build(events, findings, &TimelineOptions::default()).expect("an automatic timeline always lays out")
    }

    /// The buckets as CSV: `start,end,events,findings`, then one column per series.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["start".to_string(), "end".into(), "events".into(), "findings".into()];
        header.extend(self.series.iter().map(|s| if s.name.is_empty() { "(none)".to_string() } else { s.name.clone() }));
        let _ = w.write_record(&header);
        for b in &self.buckets {
            let mut row = vec![b.start.clone(), b.end.clone(), b.events.to_string(), b.findings.to_string()];
            row.extend(b.counts.iter().map(u64::to_string));
            let _ = w.write_record(&row);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// The buckets as a text table with a bar each (`#` events, `!` when findings are on it).
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let (Some(from), Some(to)) = (&self.from, &self.to) else {
            out.push_str("No event or finding with a time.\n");
            return out;
        };
        out.push_str(&format!(
            "{} event(s), {} finding(s) from {from} to {to} in {} bucket(s) of {}, by {}\n",
            crate::report::thousands(self.events),
            crate::report::thousands(self.findings),
            self.buckets.len(),
            self.bucket,
            self.group.as_str()
        ));
        for s in &self.series {
            let name = if s.name.is_empty() { "(none)" } else { s.name.as_str() };
            out.push_str(&format!("  {name}: {} event(s), {} finding(s)\n", crate::report::thousands(s.events), s.findings));
        }
        out.push('\n');
        const BAR: u64 = 40;
        let most = self.buckets.iter().map(|b| b.events).max().unwrap_or(0).max(1);
        out.push_str(&format!("{:<20}  {:>10} {:>8}  {}\n", "BUCKET START (UTC)", "EVENTS", "FINDINGS", "BAR"));
        // Runs of three or more empty buckets take one line.
        let mut i = 0;
        while i < self.buckets.len() {
            let empty = self.buckets[i..].iter().take_while(|b| b.events == 0 && b.findings == 0).count();
            if empty >= 3 {
                out.push_str(&format!("{:<20}  ({empty} empty buckets, to {})\n", self.buckets[i].start, self.buckets[i + empty - 1].end));
                i += empty;
                continue;
            }
            let b = &self.buckets[i];
            let len = if b.events == 0 { 0 } else { (b.events * BAR).div_ceil(most) };
            let mark = if b.findings > 0 { " !" } else { "" };
            out.push_str(&format!("{:<20}  {:>10} {:>8}  {}{mark}\n", b.start, b.events, b.findings, "#".repeat(len as usize)));
            i += 1;
        }
        if self.untimed_events > 0 || self.untimed_findings > 0 {
            out.push_str(&format!("\n{} event(s) and {} finding(s) without a time\n", self.untimed_events, self.untimed_findings));
        }
        out
    }
}

/// A time range picked on a timeline, `[from, to)` in Unix seconds: what
/// filters findings, search and context in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl TimeRange {
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether an event at `time` (ISO 8601) is in the range; an event without a readable time is outside any bound.
    pub fn admits(&self, time: Option<&str>) -> bool {
        if self.is_all() {
            return true;
        }
        let Some(t) = time.and_then(crate::scan::iso_to_filetime) else { return false };
        let ticks = |s: i64| (s as i128) * 10_000_000 + 116_444_736_000_000_000;
        self.from.is_none_or(|f| t as i128 >= ticks(f)) && self.to.is_none_or(|e| (t as i128) < ticks(e))
    }

    /// The range as query terms (`TimeCreated>=2019-03-19T07:00:00Z TimeCreated<...`).
    pub fn query_terms(&self) -> String {
        let mut terms = Vec::new();
        if let Some(f) = self.from {
            terms.push(format!("TimeCreated>={}", iso_of_seconds(f)));
        }
        if let Some(t) = self.to {
            terms.push(format!("TimeCreated<{}", iso_of_seconds(t)));
        }
        terms.join(" ")
    }

    /// A FILETIME window clipped to the range (for the events around a finding): `None` when nothing is left.
    pub fn clip_filetimes(&self, from: u64, to: u64) -> Option<(u64, u64)> {
        let ticks = |s: i64| u64::try_from((s as i128) * 10_000_000 + 116_444_736_000_000_000).unwrap_or(0);
        let lo = self.from.map_or(from, |f| from.max(ticks(f)));
        // `to` is exclusive: the last tick before it.
        let hi = self.to.map_or(to, |t| to.min(ticks(t).saturating_sub(1)));
        (lo <= hi).then_some((lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jiff_minute(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond().div_euclid(60_000)
    }

    #[test]
    fn minutes_of_iso_times_equal_jiffs() {
        for t in [
            "2019-03-19T07:35:50.1234567Z",
            "2019-03-19T07:35:00Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999Z",
            "1601-01-01T00:00:00.0000000Z",
            "2000-02-29T23:59:59Z",
            "2024-12-31T23:59:59.9999999Z",
            "2019-03-17T20:30:00+02:00",
            "2019-03-17T20:30:59.5-05:30",
            "9999-12-30T12:00:00Z",
        ] {
            assert_eq!(minute_of_iso(t), Some(jiff_minute(t)), "{t}");
        }
        assert_eq!(minute_of_iso("2019-03-19 07:35:50.123"), Some(jiff_minute("2019-03-19T07:35:50Z")));
        for bad in ["", "2019-03-19", "not a time at all", "2019-13-19T07:35:50Z", "2019-03-19T24:00:00Z", "2019-03-19T07:35:50Q"] {
            assert_eq!(minute_of_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn filetime_minutes_equal_iso_minutes() {
        for ft in [0u64, 131_973_233_813_288_680, 116_444_736_000_000_000, 116_444_735_999_999_999] {
            let iso = crate::quick::format_filetime(ft);
            assert_eq!(minute_of_filetime(ft), minute_of_iso(&iso).unwrap(), "{iso}");
        }
        assert_eq!(iso_of_seconds(jiff_minute("2019-03-19T07:35:50Z") * 60), "2019-03-19T07:35:00Z");
        assert_eq!(iso_of_seconds(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn widths_and_alignment() {
        let t = |s: &str| seconds_of_iso(s).unwrap();
        assert_eq!(parse_width("15m"), Some(900));
        assert_eq!(parse_width("7d"), Some(7 * DAY));
        assert_eq!(parse_width("2w"), Some(14 * DAY));
        assert_eq!(parse_width("1x"), None);
        assert_eq!(parse_width("m"), None);
        assert_eq!(width_label(7 * DAY), "7d");
        assert_eq!(width_label(14 * DAY), "2w");
        assert_eq!(width_label(900), "15m");
        // Two hours: 120 one-minute buckets when aligned, 5 minutes once one more.
        assert_eq!(auto_width(t("2019-03-19T07:00:00Z"), t("2019-03-19T09:00:00Z")), MINUTE);
        assert_eq!(auto_width(t("2019-03-19T07:00:00Z"), t("2019-03-19T09:01:00Z")), 5 * MINUTE);
        assert_eq!(auto_width(t("2019-01-01T00:00:00Z"), t("2019-03-01T00:00:00Z")), DAY);
        // Weeks start on Mondays (2019-03-18 was one).
        assert_eq!(iso_of_seconds(bucket_start(t("2019-03-20T12:00:00Z"), 7 * DAY)), "2019-03-18T00:00:00Z");
        // Ten years: a multiple of a week, within 120 buckets.
        let (a, b) = (t("2010-01-01T00:00:00Z"), t("2020-01-01T00:00:00Z"));
        let w = auto_width(a, b);
        assert_eq!(w % (7 * DAY), 0);
        assert!(bucket_count(a, b, w) <= MAX_AUTO_BUCKETS && bucket_count(a, b, w - 7 * DAY) > MAX_AUTO_BUCKETS);
    }

    #[test]
    fn ranges_admit_and_clip() {
        let t = |s: &str| seconds_of_iso(s).unwrap();
        let r = TimeRange { from: Some(t("2019-03-19T07:00:00Z")), to: Some(t("2019-03-19T08:00:00Z")) };
        assert!(r.admits(Some("2019-03-19T07:00:00.0000000Z")));
        assert!(r.admits(Some("2019-03-19T07:59:59.9999999Z")));
        assert!(!r.admits(Some("2019-03-19T08:00:00.0000000Z")));
        assert!(!r.admits(None));
        assert!(TimeRange::default().admits(None));
        assert_eq!(r.query_terms(), "TimeCreated>=2019-03-19T07:00:00Z TimeCreated<2019-03-19T08:00:00Z");
        let ft = |s: &str| crate::scan::iso_to_filetime(s).unwrap();
        let (lo, hi) = r.clip_filetimes(ft("2019-03-19T06:55:00Z"), ft("2019-03-19T07:05:00Z")).unwrap();
        assert_eq!((lo, hi), (ft("2019-03-19T07:00:00Z"), ft("2019-03-19T07:05:00Z")));
        assert_eq!(r.clip_filetimes(ft("2019-03-19T09:00:00Z"), ft("2019-03-19T09:05:00Z")), None);
    }
}
