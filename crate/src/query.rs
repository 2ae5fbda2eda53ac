//! Event search: a small query language compiled to one Sigma rule, run by
//! the same engine and byte prefilter as the analytics.
//!
//! A query is terms separated by spaces, all of which must hold:
//!
//! - `Field:value`: the field of the flat event view (see [`crate::event`])
//!   equals the value as a Sigma value without modifiers does: ignoring
//!   case, `*` any run and `?` any one character, `\*`, `\?` and `\\`
//!   escaping them (`TargetImage:*\lsass.exe`, `EventID:10`). Numbers are
//!   compared as their text. Field names are matched ignoring case for the
//!   System fields and the common Sysmon, Security and PowerShell fields
//!   ([`KNOWN_FIELDS`]); the engine looks fields up by exact name, so the
//!   rule names both the spelling typed and the known one. Other names must
//!   be spelled as the events have them ([`Query::unknown_fields`]).
//! - free text (a term with no field): some text value of the event holds
//!   it, ignoring case (Sigma `keywords`; numbers such as `EventID` are
//!   searched with `Field:value`). Wildcards work in it too.
//! - `"..."` quotes spaces (and `:`) into a value or a free-text term:
//!   `CommandLine:"*-ma lsass*"`, `"lsass.exe -ma"`; `\"` is a quote inside.
//! - `-term`: the term must not hold.
//! - `TimeCreated>=2019-03-17T19:00:00Z` (also `>`, `<`, `<=`; a date alone
//!   is its midnight UTC, a time without offset is UTC): Sigma has no range
//!   on text, so bounds are not in the rule; they are checked on each
//!   match's `TimeCreated` ([`Query::admits`]), compared as instants. An
//!   event without a readable `TimeCreated` is outside any bound.
//!
//! The rule's logsource is `product: windows` alone, so it applies to every
//! event; its literals feed the prefilter, so chunks and records without
//! them are not rendered. Records the scan carves or reads cut short are
//! searched too; their hits say so ([`SearchHit::recovery`]).

use crate::analytics::custom_analytics;
use crate::report::Finding;
use crate::rules::RuleSet;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The rule's id: findings of a search carry it.
pub const RULE_ID: &str = "search-query";

/// Field names matched ignoring case: the flat view's System fields, then
/// the common EventData names of Sysmon, Security and PowerShell events.
#[rustfmt::skip]
pub const KNOWN_FIELDS: &[&str] = &[
    // System (crate::event).
    "EventID", "EventRecordID", "Channel", "Computer", "Provider_Name", "Provider_Guid", "Version", "Level", "Task", "Opcode",
    "Keywords", "TimeCreated", "ExecutionProcessID", "ExecutionThreadID", "UserID",
    // Sysmon.
    "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion", "Description", "Product", "Company", "OriginalFileName",
    "CommandLine", "CurrentDirectory", "User", "LogonGuid", "LogonId", "TerminalSessionId", "IntegrityLevel", "Hashes", "Hash",
    "ParentProcessGuid", "ParentProcessId", "ParentImage", "ParentCommandLine", "ParentUser", "TargetFilename", "CreationUtcTime",
    "PreviousCreationUtcTime", "Protocol", "Initiated", "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort", "SourcePortName",
    "DestinationIsIpv6", "DestinationIp", "DestinationHostname", "DestinationPort", "DestinationPortName", "State", "SchemaVersion",
    "ImageLoaded", "Signed", "Signature", "SignatureStatus", "SourceProcessGuid", "SourceProcessId", "SourceThreadId", "SourceImage",
    "SourceUser", "TargetProcessGuid", "TargetProcessId", "TargetImage", "TargetUser", "NewThreadId", "StartAddress", "StartModule",
    "StartFunction", "GrantedAccess", "CallTrace", "Device", "EventType", "TargetObject", "Details", "NewName", "Configuration",
    "ConfigurationFileHash", "PipeName", "Operation", "EventNamespace", "Name", "Query", "Type", "Destination", "Consumer", "Filter",
    "QueryName", "QueryStatus", "QueryResults", "IsExecutable", "Archived",
    // Security.
    "SubjectUserSid", "SubjectUserName", "SubjectDomainName", "SubjectLogonId", "TargetUserSid", "TargetUserName", "TargetDomainName",
    "TargetLogonId", "TargetServerName", "TargetInfo", "LogonType", "LogonProcessName", "AuthenticationPackageName", "WorkstationName",
    "TransmittedServices", "LmPackageName", "KeyLength", "ProcessName", "IpAddress", "IpPort", "ImpersonationLevel", "ElevatedToken",
    "NewProcessId", "NewProcessName", "TokenElevationType", "ParentProcessName", "MandatoryLabel", "ServiceName", "ServiceFileName",
    "ServiceType", "ServiceStartType", "ServiceAccount", "StartType", "AccountName", "ObjectServer", "ObjectName", "ObjectType",
    "HandleId", "ShareName", "ShareLocalPath", "RelativeTargetName", "AccessMask", "AccessList", "Accesses", "PrivilegeList",
    "TaskName", "TaskContent", "Status", "SubStatus", "FailureReason", "TicketEncryptionType", "TicketOptions", "PreAuthType",
    "MemberName", "MemberSid", "SamAccountName", "DisplayName", "UserPrincipalName", "AttributeLDAPDisplayName", "AttributeValue",
    "ObjectDN", "ObjectClass", "Properties", "CallerProcessName", "CallerProcessId", "Application", "SourceAddress", "DestAddress",
    "DestPort", "Direction",
    // PowerShell and services.
    "ScriptBlockText", "ScriptBlockId", "MessageNumber", "MessageTotal", "Path", "Payload", "ContextInfo", "HostApplication",
    "ImagePath", "param1", "param2", "Data",
];

/// Why a query cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// No term at all.
    Empty,
    /// A `"` (at this character, counted from 1) is never closed.
    UnclosedQuote { at: usize },
    /// `:value`, `>=2019-03-17`.
    EmptyField { term: String },
    /// `Image:`, `""`.
    EmptyValue { term: String },
    /// `Image|contains:x`: Sigma modifiers are not part of the language.
    PipeInField { term: String },
    /// A `-` with nothing after it.
    DanglingNot,
    /// `<`, `<=`, `>`, `>=` on another field than `TimeCreated`.
    RangeOnField { term: String },
    /// A time bound that is no date or time.
    BadTime { term: String },
    /// The compiled rule was refused by the engine (a bug here, not the query).
    Rule(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Empty => f.write_str("the query is empty"),
            QueryError::UnclosedQuote { at } => write!(f, "unclosed quote: the \" at character {at} has no closing \""),
            QueryError::EmptyField { term } => write!(f, "no field name before the operator in `{term}`"),
            QueryError::EmptyValue { term } => write!(f, "no value in `{term}`"),
            QueryError::PipeInField { term } => {
                write!(f, "a field name cannot hold `|` (Sigma modifiers are not part of queries): `{term}`")
            }
            QueryError::DanglingNot => f.write_str("a `-` with no term after it"),
            QueryError::RangeOnField { term } => write!(f, "only TimeCreated can be compared with <, <=, > or >=, not as in `{term}`"),
            QueryError::BadTime { term } => {
                write!(f, "bad time bound in `{term}`: expected a date (2019-03-17) or a time (2019-03-17T19:00:00Z)")
            }
            QueryError::Rule(reason) => write!(f, "the query's Sigma rule does not compile: {reason}"),
        }
    }
}

impl std::error::Error for QueryError {}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    text: String,
    terms: Vec<Term>,
    bounds: Vec<TimeBound>,
}

/// One compiled term: a field match or free text, maybe negated.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    /// `None`: free text.
    field: Option<String>,
    /// A Sigma string (wildcards and escapes as Sigma reads them).
    value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeBound {
    cmp: Cmp,
    at: jiff::Timestamp,
}

/// One character of a term, and whether it was inside quotes.
type Marked = (char, bool);

impl Query {
    /// Parses a query (the language is in the module's documentation).
    pub fn parse(text: &str) -> Result<Query, QueryError> {
        let mut query = Query { text: text.trim().to_string(), terms: Vec::new(), bounds: Vec::new() };
        for token in tokens(text)? {
            match parse_term(&token)? {
                Parsed::Term(t) => query.terms.push(t),
                Parsed::Bound(b) => query.bounds.push(b),
            }
        }
        if query.terms.is_empty() && query.bounds.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(query)
    }

    /// The query as given (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The Sigma rule the query compiles to (without its time bounds).
    pub fn sigma_yaml(&self) -> String {
        let mut detection = Map::new();
        let mut condition = Vec::new();
        for (i, term) in self.terms.iter().enumerate() {
            let name = format!("t{}", i + 1);
            detection.insert(name.clone(), term.detection());
            condition.push(if term.negated { format!("not {name}") } else { name });
        }
        if self.terms.is_empty() {
            // Bounds alone: every event with a time, the bounds do the rest.
            detection.insert("t0".into(), json!({"TimeCreated": "*"}));
            condition.push("t0".into());
        }
        detection.insert("condition".into(), Value::String(condition.join(" and ")));
        let rule = json!({
            "title": format!("Search: {}", self.text),
            "id": RULE_ID,
            "status": "experimental",
            "description": "An event search, compiled to Sigma.",
            "logsource": {"product": "windows"},
            "detection": detection,
        });
        serde_yaml::to_string(&rule).expect("a JSON value serializes to YAML")
    }

    /// A rule set of the query's rule alone (no built-in analytics).
    pub fn rule_set(&self) -> Result<RuleSet, QueryError> {
        let rule = |e: crate::analytics::RuleLoadError| QueryError::Rule(e.reason);
        RuleSet::new(custom_analytics("query", &self.sigma_yaml()).map_err(rule)?).map_err(rule)
    }

    /// Whether an event of this `TimeCreated` is within the query's time bounds.
    pub fn admits_time(&self, time: Option<&str>) -> bool {
        if self.bounds.is_empty() {
            return true;
        }
        let Some(t) = time.and_then(parse_time) else { return false };
        self.bounds.iter().all(|b| b.admits(t))
    }

    /// Whether a finding of the query's rule is a hit (its time is in bounds).
    pub fn admits(&self, f: &Finding) -> bool {
        self.admits_time(f.time_created.as_deref())
    }

    /// Field names typed that are not known ones: they match only as spelled.
    pub fn unknown_fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for field in self.terms.iter().filter_map(|t| t.field.as_deref()).filter(|f| known_field(f).is_none()) {
            if !out.contains(&field) {
                out.push(field);
            }
        }
        out
    }
}

impl Term {
    /// The term's Sigma detection: a selection on the field (one per
    /// spelling, any of which may hold), or keywords.
    fn detection(&self) -> Value {
        let Some(field) = &self.field else { return json!([keyword(&self.value)]) };
        let mut names = vec![field.as_str()];
        if let Some(known) = known_field(field).filter(|k| *k != field) {
            names.push(known);
        }
        if names.len() == 1 {
            return json!({ field: self.value });
        }
        Value::Array(names.into_iter().map(|n| json!({ n: self.value })).collect())
    }
}

/// Free text as a Sigma keyword with contains semantics: rsigma reads a
/// plain keyword as a substring but one with wildcards as a whole value, so
/// those get `*` on both ends.
fn keyword(value: &str) -> String {
    let has_wildcard = rsigma_parser::SigmaString::new(value).contains_wildcards();
    if !has_wildcard {
        return value.to_string();
    }
    // A trailing lone `\` is a literal one; before the added `*` it would escape it.
    let tail = if ends_in_escape(value) { "\\" } else { "" };
    format!("*{value}{tail}*")
}

/// Whether the text ends in a `\` that escapes nothing (Sigma keeps it literal).
fn ends_in_escape(value: &str) -> bool {
    let mut escaped = false;
    for c in value.chars() {
        escaped = !escaped && c == '\\';
    }
    escaped
}

/// The known spelling of a field name, ignoring case.
fn known_field(name: &str) -> Option<&'static str> {
    KNOWN_FIELDS.iter().copied().find(|k| k.eq_ignore_ascii_case(name))
}

impl TimeBound {
    fn admits(&self, t: jiff::Timestamp) -> bool {
        match self.cmp {
            Cmp::Lt => t < self.at,
            Cmp::Le => t <= self.at,
            Cmp::Gt => t > self.at,
            Cmp::Ge => t >= self.at,
        }
    }

    /// The bound that holds where this one does not (for `-TimeCreated>=x`).
    fn negate(self) -> Self {
        let cmp = match self.cmp {
            Cmp::Lt => Cmp::Ge,
            Cmp::Le => Cmp::Gt,
            Cmp::Gt => Cmp::Le,
            Cmp::Ge => Cmp::Lt,
        };
        TimeBound { cmp, at: self.at }
    }
}

/// An instant from ISO 8601 text: with an offset, or UTC without one, or a
/// date alone (its midnight UTC).
fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    let utc = jiff::tz::TimeZone::UTC;
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return utc.to_timestamp(dt).ok();
    }
    text.parse::<jiff::civil::Date>().ok().and_then(|d| utc.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())).ok())
}

/// A term as typed, and its characters with the quotes dropped, each
/// marked with whether it was inside quotes.
struct Token<'a> {
    raw: &'a str,
    chars: Vec<Marked>,
}

/// Splits the query at spaces outside quotes. `\"` is a quote character and
/// `\\` stays as it is (Sigma reads it), so `"C:\dir\\"` ends its quote.
fn tokens(text: &str) -> Result<Vec<Token<'_>>, QueryError> {
    let mut out = Vec::new();
    // The current token's start (byte) and characters.
    let mut current: Option<(usize, Vec<Marked>)> = None;
    let mut open_at: Option<usize> = None;
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((n, (at, c))) = chars.next() {
        let quoted = open_at.is_some();
        if c.is_whitespace() && !quoted {
            if let Some((start, chars)) = current.take() {
                out.push(Token { raw: &text[start..at], chars });
            }
            continue;
        }
        let (_, token) = current.get_or_insert_with(|| (at, Vec::new()));
        let next = chars.peek().map(|&(_, (_, c))| c);
        match (c, next) {
            ('\\', Some('"')) => {
                chars.next();
                token.push(('"', quoted));
            }
            ('\\', Some('\\')) => {
                chars.next();
                token.extend([('\\', quoted), ('\\', quoted)]);
            }
            ('"', _) => open_at = if quoted { None } else { Some(n + 1) },
            (c, _) => token.push((c, quoted)),
        }
    }
    if let Some(at) = open_at {
        return Err(QueryError::UnclosedQuote { at });
    }
    if let Some((start, chars)) = current {
        out.push(Token { raw: &text[start..], chars });
    }
    Ok(out)
}

enum Parsed {
    Term(Term),
    Bound(TimeBound),
}

fn parse_term(token: &Token) -> Result<Parsed, QueryError> {
    let term_text = token.raw.to_string();
    let (negated, body) = match token.chars.first() {
        Some(('-', false)) => (true, &token.chars[1..]),
        _ => (false, &token.chars[..]),
    };
    if negated && token.raw == "-" {
        return Err(QueryError::DanglingNot);
    }
    let plain = |marked: &[Marked]| marked.iter().map(|&(c, _)| c).collect::<String>();
    // The operator is the first unquoted `:`, `<` or `>` before any quoted character.
    let op_at = body.iter().take_while(|&&(_, quoted)| !quoted).position(|&(c, _)| matches!(c, ':' | '<' | '>'));
    let Some(at) = op_at else {
        let value = plain(body);
        if value.is_empty() {
            return Err(QueryError::EmptyValue { term: term_text });
        }
        return Ok(Parsed::Term(Term { negated, field: None, value }));
    };
    let name = plain(&body[..at]);
    let (op, rest) = match (body[at].0, body.get(at + 1)) {
        (':', _) => (":", &body[at + 1..]),
        (c, Some(('=', false))) => (if c == '<' { "<=" } else { ">=" }, &body[at + 2..]),
        (c, _) => (if c == '<' { "<" } else { ">" }, &body[at + 1..]),
    };
    let value = plain(rest);
    if name.is_empty() {
        return Err(QueryError::EmptyField { term: term_text });
    }
    if value.is_empty() {
        return Err(QueryError::EmptyValue { term: term_text });
    }
    if name.contains('|') {
        return Err(QueryError::PipeInField { term: term_text });
    }
    if op == ":" {
        return Ok(Parsed::Term(Term { negated, field: Some(name), value }));
    }
    if !name.eq_ignore_ascii_case("TimeCreated") {
        return Err(QueryError::RangeOnField { term: term_text });
    }
    let at = parse_time(&value).ok_or(QueryError::BadTime { term: term_text })?;
    let cmp = match op {
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        ">" => Cmp::Gt,
        _ => Cmp::Ge,
    };
    let bound = TimeBound { cmp, at };
    Ok(Parsed::Bound(if negated { bound.negate() } else { bound }))
}

/// One event a search found.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub file: String,
    pub event_record_id: u64,
    pub event_id: Option<u64>,
    pub time_created: Option<String>,
    pub computer: Option<String>,
    pub channel: Option<String>,
    /// How the record was read when it is no live record (carved from slack, cut short).
    pub recovery: Option<String>,
    /// The full event, read again from the file (or `{"error": ...}`); put
    /// in a line as it is (see `export::search_jsonl_line`), not serialized.
    #[serde(skip)]
    pub event: crate::reread::EventText,
}

impl SearchHit {
    /// The hit of a finding of the query's rule, with its event.
    pub fn new(f: &Finding, event: crate::reread::EventText) -> Self {
        SearchHit {
            file: f.file.to_string(),
            event_record_id: f.event_record_id,
            event_id: f.event_id,
            time_created: f.time_created.clone(),
            computer: f.computer.as_deref().map(str::to_string),
            channel: f.channel.as_deref().map(str::to_string),
            recovery: f.recovery_text(),
            event,
        }
    }

    /// The event of a hit whose event cannot be read: `{"error": why}`.
    pub fn error_event(why: &str) -> crate::reread::EventText {
        crate::reread::event_text(&serde_json::json!({ "error": why }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_of_system_fields_alone_needs_only_those_without_stories() {
        let fields = |q: &str| Query::parse(q).unwrap().rule_set().unwrap().without_stories().system_view_fields().map(<[String]>::to_vec);
        assert_eq!(fields("EventID:1"), Some(vec!["EventID".to_string()]));
        assert_eq!(
            fields("Channel:Security -EventID:4624 Computer:ws1"),
            Some(vec!["Channel".into(), "Computer".into(), "EventID".into()])
        );
        // `computer` as typed may be an EventData field's name too.
        assert_eq!(fields("computer:ws1"), None);
        assert_eq!(fields("EventID:1 Image:*cmd.exe"), None);
        assert_eq!(fields("EventID:1 powershell"), None);
        let with_stories = Query::parse("EventID:1").unwrap().rule_set().unwrap();
        assert_eq!(with_stories.system_view_fields(), None);
    }

    fn terms(q: &str) -> Vec<(bool, Option<String>, String)> {
        Query::parse(q).unwrap().terms.into_iter().map(|t| (t.negated, t.field, t.value)).collect()
    }

    fn t(negated: bool, field: Option<&str>, value: &str) -> (bool, Option<String>, String) {
        (negated, field.map(str::to_string), value.to_string())
    }

    fn err(q: &str) -> String {
        Query::parse(q).unwrap_err().to_string()
    }

    #[test]
    fn terms_fields_quotes_and_negation() {
        assert_eq!(
            terms(r#"EventID:10  TargetImage:*\lsass.exe -"svchost.exe -k" CommandLine:"*-ma lsass*" mimikatz"#),
            [
                t(false, Some("EventID"), "10"),
                t(false, Some("TargetImage"), r"*\lsass.exe"),
                t(true, None, "svchost.exe -k"),
                t(false, Some("CommandLine"), "*-ma lsass*"),
                t(false, None, "mimikatz"),
            ]
        );
        // A quoted colon is text; an unquoted one after a quote is too.
        assert_eq!(terms(r#""C:\Windows" "a b":c"#), [t(false, None, r"C:\Windows"), t(false, None, "a b:c")]);
        // The value keeps its colons; `\"` is a quote, `\\` stays for Sigma.
        assert_eq!(terms(r#"Details:"a \"b\" c:\\""#), [t(false, Some("Details"), r#"a "b" c:\\"#)]);
        assert_eq!(terms("-Image:*cmd.exe"), [t(true, Some("Image"), "*cmd.exe")]);
        // A `-` inside a term is text.
        assert_eq!(terms("-ma x-y"), [t(true, None, "ma"), t(false, None, "x-y")]);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(err(""), "the query is empty");
        assert_eq!(err("   "), "the query is empty");
        assert_eq!(err(r#"Image:"C:\x"#), "unclosed quote: the \" at character 7 has no closing \"");
        assert_eq!(err(":lsass"), "no field name before the operator in `:lsass`");
        assert_eq!(err(">=2019-03-17"), "no field name before the operator in `>=2019-03-17`");
        assert_eq!(err("Image:"), "no value in `Image:`");
        assert_eq!(err(r#"Image:"""#), r#"no value in `Image:""`"#);
        assert_eq!(err(r#"x """#), r#"no value in `""`"#);
        assert_eq!(err("x -"), "a `-` with no term after it");
        assert_eq!(err("Image|re:x"), "a field name cannot hold `|` (Sigma modifiers are not part of queries): `Image|re:x`");
        assert_eq!(err("EventID>4"), "only TimeCreated can be compared with <, <=, > or >=, not as in `EventID>4`");
        assert_eq!(
            err("TimeCreated>=yesterday"),
            "bad time bound in `TimeCreated>=yesterday`: expected a date (2019-03-17) or a time (2019-03-17T19:00:00Z)"
        );
    }

    #[test]
    fn time_bounds_compare_instants() {
        let q = Query::parse("timecreated>=2019-03-17T19:00:00Z TimeCreated<2019-03-18").unwrap();
        assert!(q.terms.is_empty());
        assert!(q.admits_time(Some("2019-03-17T19:00:00.0000000Z")));
        assert!(q.admits_time(Some("2019-03-17T23:59:59.9999999Z")));
        assert!(!q.admits_time(Some("2019-03-18T00:00:00.000001Z")));
        assert!(!q.admits_time(Some("2019-03-17T18:59:59.999Z")));
        assert!(!q.admits_time(None));
        assert!(!q.admits_time(Some("not a time")));
        // Without an offset: UTC.
        let q = Query::parse("TimeCreated>2019-03-17T19:00:00").unwrap();
        assert!(q.admits_time(Some("2019-03-17T19:00:00.1Z")));
        assert!(!q.admits_time(Some("2019-03-17T20:30:00+02:00")));
        // Negated: the opposite comparison.
        let q = Query::parse("-TimeCreated<=2019-03-17 x").unwrap();
        assert!(q.admits_time(Some("2019-03-17T00:00:00.1Z")));
        assert!(!q.admits_time(Some("2019-03-17T00:00:00Z")));
        assert!(Query::parse("x").unwrap().admits_time(None));
    }

    #[test]
    fn compiles_to_one_rule_with_known_spellings() {
        let q = Query::parse(r#"targetimage:*\lsass.exe "dump file" -Image:x* TimeCreated>2019-01-01 FooBar:1 -FooBar:2"#).unwrap();
        let yaml = q.sigma_yaml();
        let rule = rsigma_parser::parse_sigma_yaml(&yaml).unwrap().rules.remove(0);
        assert_eq!(rule.detection.conditions[0].to_string(), "(t1 and t2 and not t3 and t4 and not t5)");
        assert!(yaml.contains("- targetimage: '*\\lsass.exe'\n"), "{yaml}");
        assert!(yaml.contains("- TargetImage: '*\\lsass.exe'\n"), "{yaml}");
        assert_eq!(q.unknown_fields(), ["FooBar"]);
        let rules = q.rule_set().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules.analytic(0).id, RULE_ID);
        // The field literal and the free text both reach the prefilter.
        let lits = rules.prefilter().literals();
        assert!(lits.iter().any(|l| l == "\\lsass.exe") && lits.iter().any(|l| l == "dump file"), "{lits:?}");
        // Bounds alone still make a rule.
        assert!(Query::parse("TimeCreated<2020-01-01").unwrap().rule_set().is_ok());
    }

    #[test]
    fn known_fields_are_unique_ignoring_case() {
        let mut lower: Vec<String> = KNOWN_FIELDS.iter().map(|f| f.to_ascii_lowercase()).collect();
        lower.sort();
        let before = lower.len();
        lower.dedup();
        assert_eq!(lower.len(), before);
    }

    #[test]
    fn free_text_with_wildcards_keeps_contains_semantics() {
        assert_eq!(keyword("lsass"), "lsass");
        assert_eq!(keyword("ls*ss"), "*ls*ss*");
        assert_eq!(keyword(r"C:\x?\"), r"*C:\x?\\*");
        assert_eq!(keyword(r"a?\\"), r"*a?\\*");
    }
}
