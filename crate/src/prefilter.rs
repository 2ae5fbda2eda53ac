//! The byte prefilter: skip what no rule can match without parsing it.
//!
//! Every string a record holds is in the chunk's raw bytes as UTF-16LE (or,
//! rarely, as 8-bit ANSI). If each loaded rule needs at least one of a few
//! literals (for the built-ins: the lsass path or `lsass`), a chunk or record
//! whose bytes hold none of them cannot match any rule, and rendering it to
//! JSON is wasted work. The literals come from the rules themselves; a rule
//! with no usable literal is ruled out by its logsource alone (see
//! `RuleSet::record_may_match`), so results always equal a full parse.

use rsigma_parser::value::{SpecialChar, StringPart};
use rsigma_parser::{ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaRule, SigmaValue};

/// Fields every event of a source carries: a literal on them selects nothing.
const SYSTEM_FIELDS: &[&str] = &["Channel", "Provider_Name", "Computer", "EventID", "Level", "Task", "Keywords"];

/// Shortest literal worth searching for.
const MIN_LITERAL: usize = 3;

/// Text found in nearly every Windows event: it selects nothing, so a
/// literal's worth is the length left once these are taken out.
const UBIQUITOUS: &[&str] = &["c:\\windows", "\\windows\\", "system32", "syswow64", "c:\\program files", "microsoft", ".exe", ".dll", "\\"];

/// What a rule needs in the raw bytes: at least one of these literals.
pub type RequiredLiterals = Vec<String>;

/// A literal found in the bytes: where, and which one (index into `literals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub pos: usize,
    pub literal: usize,
}

/// Above this many literals the gate's one pass per literal costs more than
/// one automaton pass over the chunk for all of them.
const GATE_MAX_LITERALS: usize = 16;

/// The compiled prefilter for a set of rules.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// `false` when every shortcut is off: every record is rendered.
    on: bool,
    /// `None` when no rule has a usable literal.
    searcher: Option<Searcher>,
    /// Per literal, its searches to answer "is it anywhere?" one literal at
    /// a time; empty when the gate is not used (see `GATE_MAX_LITERALS`).
    gate: Vec<GateLiteral>,
    literals: Vec<String>,
    /// Per rule, clauses that must all hold; a clause holds when one of its
    /// literals (indexes into `literals`) is present. `None`: the rule has no
    /// usable literal, so only its logsource can rule a record out.
    rules: Vec<Option<Vec<Vec<usize>>>>,
    /// Per rule, the EventIDs its detection requires (`EventID: 4624`), when
    /// it says so plainly: checked against the record's EventID before
    /// rendering, which rules without a literal need most.
    event_ids: Vec<Option<Vec<u64>>>,
    /// Per literal, the rules whose key clause holds it: a rule with
    /// literals can match only where a literal of its key clause is, so the
    /// literals present name the rules worth a look (see [`Prefilter::keyed_rules`]).
    keyed: Vec<Vec<usize>>,
}

impl Prefilter {
    /// Builds the prefilter from every loaded rule.
    pub fn for_rules<'a>(rules: impl IntoIterator<Item = &'a SigmaRule>) -> Self {
        let mut literals: Vec<String> = Vec::new();
        let mut index_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut rule_clauses = Vec::new();
        let mut event_ids = Vec::new();
        for rule in rules {
            event_ids.push(required_event_ids(rule));
            let indexed = required_clauses(rule).map(|clauses| {
                clauses
                    .into_iter()
                    .map(|clause| {
                        let mut c: Vec<usize> = clause
                            .into_iter()
                            .map(|lit| {
                                *index_of.entry(lit.to_ascii_lowercase()).or_insert_with(|| {
                                    literals.push(lit);
                                    literals.len() - 1
                                })
                            })
                            .collect();
                        c.sort_unstable();
                        c.dedup();
                        c
                    })
                    .collect()
            });
            rule_clauses.push(indexed);
        }
        let searcher = (!literals.is_empty()).then(|| Searcher::new(&literals));
        let use_gate = literals.len() <= GATE_MAX_LITERALS && rule_clauses.iter().all(Option::is_some);
        let gate =
            if use_gate { literals.iter().enumerate().map(|(i, lit)| GateLiteral::new(i, lit, &literals)).collect() } else { Vec::new() };
        let keyed = key_clauses(&rule_clauses, literals.len());
        Prefilter { on: true, searcher, gate, literals, rules: rule_clauses, event_ids, keyed }
    }

    /// A prefilter that skips nothing.
    pub fn disabled() -> Self {
        Prefilter {
            on: false,
            searcher: None,
            gate: Vec::new(),
            literals: Vec::new(),
            rules: Vec::new(),
            event_ids: Vec::new(),
            keyed: Vec::new(),
        }
    }

    /// Whether records can be skipped at all (off: every shortcut is off).
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Whether literals are searched (some rule has one).
    pub fn is_active(&self) -> bool {
        self.searcher.is_some()
    }

    /// The literals searched for (empty when inactive).
    pub fn literals(&self) -> &[String] {
        &self.literals
    }

    /// Every literal occurrence in `bytes`, overlapping ones included, by
    /// position. Empty when no rule with literals can match there (the gate
    /// says so without finding every hit) or when no rule has literals.
    pub fn scan(&self, bytes: &[u8]) -> Vec<Hit> {
        let Some(searcher) = self.searcher.as_ref() else { return Vec::new() };
        // Most chunks fail on their first literal: answering rule by rule,
        // straight from the raw bytes, costs one pass where finding every
        // hit costs a lower-cased copy and one pass per pattern.
        if !self.gate.is_empty() && !self.may_match_raw(bytes) {
            return Vec::new();
        }
        thread_local! {
            static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        match searcher {
            // Lower-case once, then search case-sensitively for lower-case patterns.
            Searcher::Few(few) => LOWER.with_borrow_mut(|lower| {
                lower.clear();
                lower.extend_from_slice(bytes);
                lower.make_ascii_lowercase();
                few.hits(lower)
            }),
            Searcher::Many(many) => many.hits(bytes),
        }
    }

    /// Whether some rule has every clause met somewhere in `bytes`, searching
    /// each literal at most once and only while the answer is open.
    fn may_match_raw(&self, bytes: &[u8]) -> bool {
        let mut known = vec![None; self.literals.len()];
        self.rules.iter().flatten().any(|clauses| clauses.iter().all(|c| c.iter().any(|&l| self.present(l, bytes, &mut known))))
    }

    fn present(&self, literal: usize, bytes: &[u8], known: &mut [Option<bool>]) -> bool {
        if let Some(answer) = known[literal] {
            return answer;
        }
        let gate = &self.gate[literal];
        // A shorter literal inside this one is searched first: its absence
        // settles this one too (`lsass` before the whole lsass path).
        let answer = gate.contains.iter().all(|&inner| self.present(inner, bytes, known)) && contains_either_encoding(bytes, &gate.lower);
        known[literal] = Some(answer);
        answer
    }

    /// The literals in an event's values, as [`Prefilter::scan`] finds them
    /// in a record's bytes: for events that come as text (JSON, XML) or
    /// carved, whose bytes were not scanned.
    pub fn literals_in_values(&self, fields: &serde_json::Value) -> Vec<usize> {
        let mut text = Vec::new();
        collect_values(fields, &mut text);
        present_literals(&self.scan(&text))
    }

    /// The rules with literals that may match where literal `literal` is
    /// (each rule is keyed by one of its clauses; see `key_clauses`).
    pub fn keyed_rules(&self, literal: usize) -> &[usize] {
        self.keyed.get(literal).map_or(&[], Vec::as_slice)
    }

    /// The rules without a literal: only their logsource rules a record out.
    pub fn literal_free_rules(&self) -> impl Iterator<Item = usize> + '_ {
        self.rules.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(i, _)| i)
    }

    /// Whether every rule needs some literal: then bytes without hits hold no match.
    pub fn every_rule_needs_literals(&self) -> bool {
        self.on && self.rules.iter().all(Option::is_some)
    }

    /// Whether rule `rule` has literals to rule records out by.
    pub fn has_literals(&self, rule: usize) -> bool {
        matches!(self.rules.get(rule), Some(Some(_)))
    }

    /// Whether rule `rule` may match a record of this EventID (`None`: not known).
    pub fn rule_may_match_event(&self, rule: usize, event_id: Option<u64>) -> bool {
        match (self.event_ids.get(rule), event_id) {
            (Some(Some(ids)), Some(id)) => ids.contains(&id),
            _ => true,
        }
    }

    /// Whether rule `rule` may match where these literals (sorted, deduplicated) are present.
    pub fn rule_may_match(&self, rule: usize, present: &[usize]) -> bool {
        match self.rules.get(rule) {
            Some(Some(clauses)) => clauses.iter().all(|c| c.iter().any(|l| present.binary_search(l).is_ok())),
            // No literal to rule it out (or no prefilter): it may.
            _ => true,
        }
    }

    /// Whether some rule has all its clauses met by these hits (rules
    /// without literals always may).
    pub fn satisfied<'h>(&self, hits: impl IntoIterator<Item = &'h Hit>) -> bool {
        let present = present_literals(hits);
        (0..self.rules.len()).any(|r| self.rule_may_match(r, &present))
    }

    /// Whether `bytes` may hold something a rule matches.
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        !self.on || self.satisfied(&self.scan(bytes))
    }
}

/// The distinct literals of some hits, sorted.
pub fn present_literals<'h>(hits: impl IntoIterator<Item = &'h Hit>) -> Vec<usize> {
    let mut v: Vec<usize> = hits.into_iter().map(|h| h.literal).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Each rule with literals is keyed by one of its clauses (all must hold,
/// so any one will do): the one whose literals the fewest other clauses
/// share, so that a common literal (`powershell`) calls up few rules.
fn key_clauses(rules: &[Option<Vec<Vec<usize>>>], literal_count: usize) -> Vec<Vec<usize>> {
    let mut sharing = vec![0usize; literal_count];
    for clause in rules.iter().flatten().flatten() {
        clause.iter().for_each(|&l| sharing[l] += 1);
    }
    let mut keyed = vec![Vec::new(); literal_count];
    for (rule, clauses) in rules.iter().enumerate() {
        let Some(key) = clauses.as_ref().and_then(|cs| cs.iter().min_by_key(|c| c.iter().map(|&l| sharing[l]).sum::<usize>())) else {
            continue;
        };
        key.iter().for_each(|&l| keyed[l].push(rule));
    }
    keyed
}

/// Every string and number of an event, one per line.
fn collect_values(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            out.extend_from_slice(s.as_bytes());
            out.push(b'\n');
        }
        Value::Number(n) => {
            use std::io::Write;
            // Writing into a Vec cannot fail; no String per number.
            let _ = writeln!(out, "{n}");
        }
        Value::Array(items) => items.iter().for_each(|i| collect_values(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_values(i, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// One literal as the gate searches it: ASCII lower case, and the other
/// literals inside it.
#[derive(Debug, Clone)]
struct GateLiteral {
    lower: Vec<u8>,
    contains: Vec<usize>,
}

impl GateLiteral {
    fn new(index: usize, literal: &str, all: &[String]) -> Self {
        let lower = literal.to_ascii_lowercase();
        let contains = all
            .iter()
            .enumerate()
            .filter(|&(i, other)| i != index && other.len() < lower.len() && lower.contains(&other.to_ascii_lowercase()))
            .map(|(i, _)| i)
            .collect();
        GateLiteral { lower: lower.into_bytes(), contains }
    }
}

/// Whether `bytes` hold `lower` (ASCII lower case, 2 bytes or more) as
/// 8-bit text or as UTF-16LE, ignoring ASCII case. One pass finds both:
/// blocks of bytes are tested, without branches (the compiler makes SIMD of
/// it), for the literal's first two bytes in either encoding, with case
/// folded as `| 0x20` (which only adds candidates); a block with a candidate
/// is then checked place by place. No library searches two encodings and
/// two cases at once; this is 3x faster in wasm than two `memmem` passes
/// over a lower-cased copy.
fn contains_either_encoding(bytes: &[u8], lower: &[u8]) -> bool {
    const BLOCK: usize = 32;
    let (first, second) = (lower[0] | 0x20, lower[1] | 0x20);
    let mut at = 0;
    while at + BLOCK + 2 <= bytes.len() {
        let window: &[u8; BLOCK + 2] = bytes[at..at + BLOCK + 2].try_into().expect("window size");
        let mut candidate = false;
        for j in 0..BLOCK {
            let starts = window[j] | 0x20 == first;
            let then_8bit = window[j + 1] | 0x20 == second;
            let then_utf16 = (window[j + 1] == 0) & (window[j + 2] | 0x20 == second);
            candidate |= starts & (then_8bit | then_utf16);
        }
        if candidate && (at..at + BLOCK).any(|p| holds_at(bytes, p, lower)) {
            return true;
        }
        at += BLOCK;
    }
    (at..bytes.len()).any(|p| holds_at(bytes, p, lower))
}

/// Whether `lower` starts at `pos` in `bytes`, as 8-bit text or UTF-16LE, ignoring ASCII case.
fn holds_at(bytes: &[u8], pos: usize, lower: &[u8]) -> bool {
    let n = lower.len();
    let as_8bit = bytes.get(pos..pos + n).is_some_and(|w| w.eq_ignore_ascii_case(lower));
    as_8bit
        || bytes
            .get(pos..pos + 2 * n)
            .is_some_and(|w| w.chunks_exact(2).zip(lower).all(|(c, &l)| c[1] == 0 && c[0].to_ascii_lowercase() == l))
}

/// Where a target has Teddy (x86_64, aarch64), one Aho-Corasick automaton
/// finds every pattern in one pass. Elsewhere (WebAssembly) it falls back to
/// a rare-byte prefilter that stalls on the zero bytes of UTF-16 text, and one
/// SIMD `memmem` pass per pattern is 2x faster (measured in wasm).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
type FewPatterns = search::Automaton;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
type FewPatterns = search::PerPattern;

/// Above this many patterns (a rule pack), one overlapping automaton pass
/// beats both: a pass per pattern, or a check of every pattern per match.
const FEW_PATTERNS_MAX: usize = 32;

#[derive(Debug, Clone)]
enum Searcher {
    Few(FewPatterns),
    Many(search::Overlapping),
}

impl Searcher {
    fn new(literals: &[String]) -> Self {
        if literals.len() * 2 > FEW_PATTERNS_MAX {
            let patterns = literals.iter().enumerate().map(|(i, l)| (l.to_ascii_lowercase().into_bytes(), i)).collect();
            return Searcher::Many(search::Overlapping::new(patterns));
        }
        // Each literal is searched as UTF-16LE and as plain 8-bit text:
        // pattern 2i and 2i+1 are literal i. Patterns are ASCII lower case and
        // haystacks are lowered before the search: a case-sensitive automaton
        // keeps its SIMD prefilter, which an ASCII-case-insensitive one loses
        // (7x slower on Sysmon chunks).
        let mut patterns: Vec<(Vec<u8>, usize)> = Vec::new();
        for (i, lit) in literals.iter().enumerate() {
            let lower = lit.to_ascii_lowercase();
            patterns.push((lower.encode_utf16().flat_map(u16::to_le_bytes).collect(), i));
            patterns.push((lower.into_bytes(), i));
        }
        Searcher::Few(FewPatterns::new(patterns))
    }

    #[cfg(test)]
    fn hits(&self, lower: &[u8]) -> Vec<Hit> {
        match self {
            Searcher::Few(s) => s.hits(lower),
            Searcher::Many(s) => s.hits(lower),
        }
    }
}

mod search {
    use super::Hit;
    use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
    use memchr::memmem::Finder;

    /// Patterns (lower case) with the index of the literal each stands for.
    type Patterns = Vec<(Vec<u8>, usize)>;

    /// Thousands of literals (a rule pack): one automaton, every overlapping
    /// match in one pass, over the chunk with its zero bytes taken out and
    /// ASCII lowered. UTF-16LE text of ASCII characters then reads as 8-bit
    /// text, so one pattern per literal finds both encodings (half the
    /// patterns, and about half the bytes, of searching each). Joining bytes
    /// across a removed zero can only add candidates, never lose one: the
    /// literals are ASCII without zero bytes.
    #[derive(Debug, Clone)]
    pub struct Overlapping {
        searcher: AhoCorasick,
        literal_of: Vec<usize>,
    }

    thread_local! {
        /// The compacted chunk and, per byte, where it was in the chunk.
        static COMPACT: std::cell::RefCell<(Vec<u8>, Vec<u32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }

    impl Overlapping {
        pub fn new(patterns: Patterns) -> Self {
            let searcher = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(patterns.iter().map(|(p, _)| p))
                .or_else(|_| AhoCorasickBuilder::new().match_kind(MatchKind::Standard).build(patterns.iter().map(|(p, _)| p)))
                .expect("literal patterns build");
            Overlapping { searcher, literal_of: patterns.into_iter().map(|(_, l)| l).collect() }
        }

        /// Hits in `bytes` (raw, any case), at their positions in `bytes`.
        pub fn hits(&self, bytes: &[u8]) -> Vec<Hit> {
            COMPACT.with_borrow_mut(|(text, origin)| {
                // Branch-free: every byte is written, and kept by moving on
                // past it unless it is zero (half of UTF-16 text is; a branch
                // per byte mispredicts on it).
                text.resize(bytes.len(), 0);
                origin.resize(bytes.len(), 0);
                let mut kept = 0;
                for (i, &b) in bytes.iter().enumerate() {
                    text[kept] = b.to_ascii_lowercase();
                    origin[kept] = i as u32;
                    kept += usize::from(b != 0);
                }
                text.truncate(kept);
                origin.truncate(kept);
                let mut hits: Vec<Hit> = self
                    .searcher
                    .find_overlapping_iter(text.as_slice())
                    .map(|m| Hit { pos: origin[m.start()] as usize, literal: self.literal_of[m.pattern().as_usize()] })
                    .collect();
                hits.sort_unstable_by_key(|h| (h.pos, h.literal));
                hits.dedup();
                hits
            })
        }
    }

    #[derive(Debug, Clone)]
    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    pub struct Automaton {
        searcher: AhoCorasick,
        patterns: Patterns,
    }

    #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
    impl Automaton {
        pub fn new(patterns: Patterns) -> Self {
            let searcher = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(patterns.iter().map(|(p, _)| p))
                .expect("literal patterns build");
            Automaton { searcher, patterns }
        }

        /// Every occurrence of every pattern, by position. Overlapping search
        /// has no SIMD prefilter (10x slower), so find the leftmost match, take
        /// every pattern that starts there, and go on from the next byte.
        pub fn hits(&self, lower: &[u8]) -> Vec<Hit> {
            let mut hits = Vec::new();
            let mut at = 0;
            while let Some(m) = self.searcher.find(aho_corasick::Input::new(lower).range(at..)) {
                let start = m.start();
                for (p, literal) in &self.patterns {
                    if lower[start..].starts_with(p) {
                        hits.push(Hit { pos: start, literal: *literal });
                    }
                }
                at = start + 1;
            }
            hits
        }
    }

    #[derive(Debug, Clone)]
    #[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    pub struct PerPattern {
        finders: Vec<(Finder<'static>, usize)>,
    }

    #[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), allow(dead_code))]
    impl PerPattern {
        pub fn new(patterns: Patterns) -> Self {
            PerPattern { finders: patterns.into_iter().map(|(p, l)| (Finder::new(&p).into_owned(), l)).collect() }
        }

        /// Every occurrence of every pattern (overlapping ones too), by position.
        pub fn hits(&self, lower: &[u8]) -> Vec<Hit> {
            let mut hits = Vec::new();
            for (finder, literal) in &self.finders {
                let mut at = 0;
                while let Some(i) = finder.find(&lower[at..]) {
                    hits.push(Hit { pos: at + i, literal: *literal });
                    at += i + 1;
                }
            }
            hits.sort_by_key(|h| (h.pos, h.literal));
            hits
        }
    }
}

/// Every clause (any-of literal set) a rule's matches must all meet. For a
/// plain selection, or an `and` of them, each item with a literal gives a
/// clause; otherwise the rule gets the single clause of `required_literals`.
pub fn required_clauses(rule: &SigmaRule) -> Option<Vec<RequiredLiterals>> {
    let [cond] = rule.detection.conditions.as_slice() else {
        return required_literals(rule).map(|c| vec![c]);
    };
    let mut clauses = Vec::new();
    collect_and_clauses(cond, rule, &mut clauses);
    // Clauses on ubiquitous text select nothing; keep the informative ones.
    clauses.retain(|c| selectivity(c) >= MIN_LITERAL);
    if clauses.is_empty() {
        return required_literals(rule).map(|c| vec![c]);
    }
    clauses.sort();
    clauses.dedup();
    Some(clauses)
}

fn collect_and_clauses(cond: &ConditionExpr, rule: &SigmaRule, out: &mut Vec<RequiredLiterals>) {
    match cond {
        ConditionExpr::Identifier(name) => match rule.detection.named.get(name) {
            Some(Detection::AllOf(items)) => {
                // System fields may be template text, which the record-level
                // check cannot see; they select nothing anyway.
                out.extend(items.iter().filter(|i| !is_system_field(i)).filter_map(item_literals));
            }
            Some(d) => out.extend(detection_literals(d)),
            None => {}
        },
        ConditionExpr::And(parts) => parts.iter().for_each(|p| collect_and_clauses(p, rule, out)),
        ConditionExpr::Selector { quantifier, pattern } => {
            if let Some(expanded) = expand_selector(quantifier, pattern, rule) {
                collect_and_clauses(&expanded, rule, out);
            }
        }
        other => out.extend(condition_literals(other, rule)),
    }
}

/// The EventIDs every match of the rule has, when its detection says so
/// plainly (a selection with `EventID: N` or a list, and-ed with the rest).
pub fn required_event_ids(rule: &SigmaRule) -> Option<Vec<u64>> {
    let [cond] = rule.detection.conditions.as_slice() else { return None };
    condition_event_ids(cond, rule)
}

fn condition_event_ids(cond: &ConditionExpr, rule: &SigmaRule) -> Option<Vec<u64>> {
    match cond {
        ConditionExpr::Identifier(name) => detection_event_ids(rule.detection.named.get(name)?),
        ConditionExpr::And(parts) => parts.iter().find_map(|p| condition_event_ids(p, rule)),
        ConditionExpr::Or(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(condition_event_ids(p, rule)?);
            }
            Some(all)
        }
        ConditionExpr::Selector { quantifier, pattern } => condition_event_ids(&expand_selector(quantifier, pattern, rule)?, rule),
        ConditionExpr::Not(_) => None,
    }
}

fn detection_event_ids(detection: &Detection) -> Option<Vec<u64>> {
    match detection {
        Detection::AllOf(items) => {
            let item = items.iter().find(|i| i.field.name.as_deref() == Some("EventID") && i.field.modifiers.is_empty())?;
            item.values
                .iter()
                .map(|v| match v {
                    SigmaValue::Integer(n) => u64::try_from(*n).ok(),
                    SigmaValue::String(s) if s.parts.iter().all(|p| matches!(p, StringPart::Plain(_))) => s.original.trim().parse().ok(),
                    _ => None,
                })
                .collect()
        }
        Detection::AnyOf(subs) => {
            let mut all = Vec::new();
            for d in subs {
                all.extend(detection_event_ids(d)?);
            }
            Some(all)
        }
        Detection::And(parts) => parts.iter().find_map(detection_event_ids),
        _ => None,
    }
}

/// `all of selection_*` is an `and` of the detections it names, `1 of them`
/// an `or` (as is `N of`: at least one of them must hold). `them` leaves out
/// names starting with `_`, as Sigma says.
fn expand_selector(quantifier: &Quantifier, pattern: &SelectorPattern, rule: &SigmaRule) -> Option<ConditionExpr> {
    let mut names: Vec<&String> = rule
        .detection
        .named
        .keys()
        .filter(|name| match pattern {
            SelectorPattern::Them => !name.starts_with('_'),
            SelectorPattern::Pattern(glob) => glob_matches(glob, name),
        })
        .collect();
    names.sort();
    if names.is_empty() {
        return None;
    }
    let ids = names.into_iter().map(|n| ConditionExpr::Identifier(n.clone())).collect();
    Some(match quantifier {
        Quantifier::All => ConditionExpr::And(ids),
        Quantifier::Any | Quantifier::Count(_) => ConditionExpr::Or(ids),
    })
}

/// A detection-name pattern with `*` (any run) and `?` (any one character).
fn glob_matches(glob: &str, name: &str) -> bool {
    fn go(g: &[u8], n: &[u8]) -> bool {
        match (g.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&g[1..], n) || (!n.is_empty() && go(g, &n[1..])),
            (Some(b'?'), Some(_)) => go(&g[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&g[1..], &n[1..]),
            _ => false,
        }
    }
    go(glob.as_bytes(), name.as_bytes())
}

/// The literals one of which must be in the bytes of any event the rule
/// matches, or `None` when the rule needs no literal we can rely on.
pub fn required_literals(rule: &SigmaRule) -> Option<RequiredLiterals> {
    let detections = &rule.detection;
    if detections.conditions.len() != 1 {
        // Several conditions are OR-ed: each must yield literals.
        let mut all = Vec::new();
        for cond in &detections.conditions {
            all.extend(condition_literals(cond, rule)?);
        }
        return Some(all);
    }
    condition_literals(&detections.conditions[0], rule)
}

fn condition_literals(cond: &ConditionExpr, rule: &SigmaRule) -> Option<RequiredLiterals> {
    match cond {
        ConditionExpr::Identifier(name) => detection_literals(rule.detection.named.get(name)?),
        // Any operand's literals suffice; take the most selective.
        ConditionExpr::And(parts) => parts.iter().filter_map(|p| condition_literals(p, rule)).max_by_key(selectivity),
        // Every branch must bring literals.
        ConditionExpr::Or(parts) => {
            let mut all = Vec::new();
            for p in parts {
                all.extend(condition_literals(p, rule)?);
            }
            Some(all)
        }
        ConditionExpr::Selector { quantifier, pattern } => condition_literals(&expand_selector(quantifier, pattern, rule)?, rule),
        ConditionExpr::Not(_) => None,
    }
}

fn detection_literals(detection: &Detection) -> Option<RequiredLiterals> {
    match detection {
        Detection::AllOf(items) => {
            // Prefer a literal on an event-specific field over System fields.
            let pick =
                |system: bool| items.iter().filter(|i| is_system_field(i) == system).filter_map(item_literals).max_by_key(selectivity);
            pick(false).or_else(|| pick(true))
        }
        Detection::AnyOf(subs) => {
            let mut all = Vec::new();
            for d in subs {
                all.extend(detection_literals(d)?);
            }
            Some(all)
        }
        Detection::Keywords(values) => values_literals(values, ValueForm::Text { windash: false }),
        Detection::And(parts) => parts.iter().filter_map(detection_literals).max_by_key(selectivity),
        Detection::ArrayMatch { .. } | Detection::Conditional { .. } => None,
    }
}

fn is_system_field(item: &DetectionItem) -> bool {
    item.field.name.as_deref().is_some_and(|n| SYSTEM_FIELDS.contains(&n))
}

fn item_literals(item: &DetectionItem) -> Option<RequiredLiterals> {
    let form = ValueForm::of(&item.field.modifiers)?;
    if item.field.modifiers.contains(&Modifier::All) {
        // Every value must be present: any single one is required.
        return item.values.iter().filter_map(|v| values_literals(std::slice::from_ref(v), form)).max_by_key(selectivity);
    }
    values_literals(&item.values, form)
}

/// How a rule value reaches the event's text, as far as literals go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueForm {
    /// As written (`contains`, `startswith`, `endswith`, `cased`, `all`).
    /// With `windash` each `-` may be any of five dashes, so it ends a piece.
    Text { windash: bool },
    /// Base64 of the value at each of the three offsets (`base64offset`),
    /// of its UTF-16LE bytes with `wide`.
    Base64Offset { wide: bool },
    /// A regular expression (`re`, with `i` for case-insensitive).
    Regex { case_insensitive: bool },
}

impl ValueForm {
    /// `None` for modifiers whose values need not appear as text (numbers,
    /// CIDR, field references, existence, other encodings).
    fn of(mods: &[Modifier]) -> Option<Self> {
        let has = |m: Modifier| mods.contains(&m);
        let text_only =
            |m: &Modifier| matches!(m, Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith | Modifier::Cased | Modifier::All);
        let rest: Vec<&Modifier> = mods.iter().filter(|m| !text_only(m)).collect();
        let only = |allowed: &[Modifier]| rest.iter().all(|m| allowed.contains(m));
        if has(Modifier::Re) {
            return only(&[Modifier::Re, Modifier::IgnoreCase, Modifier::Multiline, Modifier::DotAll])
                .then_some(ValueForm::Regex { case_insensitive: has(Modifier::IgnoreCase) });
        }
        if has(Modifier::Base64Offset) {
            return only(&[Modifier::Base64Offset, Modifier::Wide]).then_some(ValueForm::Base64Offset { wide: has(Modifier::Wide) });
        }
        only(&[Modifier::WindAsh]).then_some(ValueForm::Text { windash: has(Modifier::WindAsh) })
    }
}

/// The literals of alternative values (one of which must be present);
/// `None` if some value has none.
fn values_literals(values: &[SigmaValue], form: ValueForm) -> Option<RequiredLiterals> {
    if values.is_empty() {
        return None;
    }
    let mut all = Vec::new();
    for v in values {
        let SigmaValue::String(s) = v else { return None };
        all.extend(value_literals(s, form)?);
    }
    Some(all)
}

/// The literals one of which any text the value matches holds.
fn value_literals(value: &rsigma_parser::value::SigmaString, form: ValueForm) -> Option<RequiredLiterals> {
    match form {
        ValueForm::Text { windash } => longest_safe_literal(&value.parts, windash).map(|l| vec![l]),
        ValueForm::Base64Offset { wide } => {
            let plain = value.as_plain()?;
            let bytes: Vec<u8> = if wide { plain.encode_utf16().flat_map(u16::to_le_bytes).collect() } else { plain.into_bytes() };
            base64_at_each_offset(&bytes).iter().map(|encoded| safe_piece(encoded, false)).collect()
        }
        ValueForm::Regex { case_insensitive } => {
            let piece = |run: &str| safe_piece(run, false);
            let score = |lits: &[String]| lits.iter().map(|l| worth(l)).min().unwrap_or(0);
            crate::regex_literals::required(
                &value.original,
                case_insensitive,
                &crate::regex_literals::LiteralPolicy { piece: &piece, score: &score },
            )
        }
    }
}

/// The base64 text of `bytes` placed at byte offsets 0, 1 and 2 of a
/// longer input, less the characters that depend on the bytes around it
/// (at the start) and the padding: what `base64offset` looks for.
fn base64_at_each_offset(bytes: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    (0..3)
        .map(|offset| {
            let mut padded = vec![0u8; offset];
            padded.extend_from_slice(bytes);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&padded);
            let unaffected_from = (offset * 4).div_ceil(3);
            encoded.trim_end_matches('=').get(unaffected_from..).unwrap_or("").to_string()
        })
        .collect()
}

/// The longest piece of a wildcard pattern that the raw bytes must hold.
fn longest_safe_literal(parts: &[StringPart], windash: bool) -> Option<String> {
    parts
        .iter()
        .filter_map(|p| match p {
            StringPart::Plain(text) => Some(text.as_str()),
            StringPart::Special(SpecialChar::WildcardMulti | SpecialChar::WildcardSingle) => None,
        })
        .filter_map(|text| safe_piece(text, windash))
        .max_by_key(|piece| worth(piece))
}

/// The most selective piece of plain text that the raw bytes hold wherever
/// an event's value holds the text.
fn safe_piece(text: &str, windash: bool) -> Option<String> {
    split_unsafe(text)
        .flat_map(|piece| piece.split(move |c| windash && c == '-'))
        .filter(|piece| piece.len() >= MIN_LITERAL && only_in_strings(piece))
        .max_by_key(|piece| worth(piece))
        .map(str::to_string)
}

/// Splits text at characters that case-insensitive matching could meet in
/// another form: non-ASCII text, and `k`, whose lower case is also that of
/// the Kelvin sign (U+212A).
fn split_unsafe(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii() || c.eq_ignore_ascii_case(&'k') || c.is_ascii_control())
}

/// The characters of each text the `evtx` crate renders from a binary
/// (non-string) value, which the raw bytes never hold as text: numbers and
/// lists of them, hex numbers and binary data, GUIDs, SIDs, timestamps.
const RENDERED_FORMS: &[&str] = &["0123456789.e+-, ", "0123456789abcdefx, ", "0123456789abcdef{}-", "0123456789s-", "0123456789tz:.-+ "];

/// Words rendered from binary values: booleans and special floats.
const RENDERED_WORDS: &[&str] = &["true", "false", "nan", "inf", "infinity", "null"];

/// True when the literal cannot be part of the text rendered from a
/// non-string value, so an event whose value holds it has it in its bytes.
fn only_in_strings(literal: &str) -> bool {
    let lower = literal.to_ascii_lowercase();
    let in_form = |form: &str| lower.chars().all(|c| form.contains(c));
    !RENDERED_WORDS.iter().any(|w| w.contains(&lower)) && !RENDERED_FORMS.iter().any(|f| in_form(f))
}

/// How well literals select: the weakest alternative decides.
fn selectivity(lits: &RequiredLiterals) -> usize {
    lits.iter().map(|l| worth(l)).min().unwrap_or(0)
}

/// A literal's length once ubiquitous Windows text is taken out of it.
fn worth(literal: &str) -> usize {
    let mut rest = literal.to_ascii_lowercase();
    for common in UBIQUITOUS {
        rest = rest.replace(common, "");
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::builtin_analytics;

    fn rule(yaml: &str) -> SigmaRule {
        rsigma_parser::parse_sigma_yaml(yaml).unwrap().rules.remove(0)
    }

    #[test]
    fn builtins_pick_their_most_selective_literals() {
        let lits: Vec<_> = builtin_analytics().iter().map(|a| required_literals(&a.rule)).collect();
        // The call trace libraries are rarer than the lsass path, which every
        // process-access event on lsass holds.
        assert_eq!(lits[0], Some(vec!["dbghelp.dll".to_string(), "dbgcore.dll".to_string()]));
        assert_eq!(lits[1], Some(vec!["lsass".to_string()]));
    }

    #[test]
    fn wildcards_k_and_numbers_are_not_literals() {
        let r =
            rule("title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\taskkill.exe'\n  condition: sel\n");
        assert_eq!(required_literals(&r), Some(vec!["ill.exe".to_string()]));
        let r = rule("title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n");
        assert_eq!(required_literals(&r), None);
        let r = rule("title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    SubjectUserSid: 'S-1-5-18'\n  condition: sel\n");
        assert_eq!(required_literals(&r), None);
        let r = rule("title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    CommandLine|contains: mimikatz\n  b:\n    Image|endswith: '\\rundll32.exe'\n  condition: a or b\n");
        assert_eq!(required_literals(&r), Some(vec!["mimi".to_string(), "\\rundll32.exe".to_string()]));
        let r = rule("title: t\nlogsource: {product: windows}\ndetection:\n  a:\n    CommandLine|contains: whoami\n  condition: not a\n");
        assert_eq!(required_literals(&r), None);
    }

    #[test]
    fn transformed_values_give_the_literals_their_matches_hold() {
        let one =
            |item: &str| rule(&format!("title: t\nlogsource: {{product: windows}}\ndetection:\n  sel:\n    {item}\n  condition: sel\n"));
        let lits = |item: &str| required_literals(&one(item));
        let v = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // Each dash may be written as one of five, so it ends a piece.
        assert_eq!(lits("CommandLine|contains|windash: ' -ma '"), v(&["ma "]));
        // The value's base64 at byte offsets 0, 1 and 2 (split at `K` as any text is).
        assert_eq!(lits("CommandLine|base64offset|contains: 'IEX ('"), v(&["SUVYICg", "lFWCAo", "JRVgg"]));
        assert_eq!(lits("CommandLine|re: '\\$PSHome\\[\\s*\\d'"), v(&["$PSHome["]));
        assert_eq!(lits("CommandLine|re: '\\w+`\\w'"), None);
        // Text that no number, hex, GUID, SID or timestamp renders as is a literal.
        assert_eq!(lits("Image|endswith: '\\cdb.exe'"), v(&["\\cdb.exe"]));
        assert_eq!(lits("CommandLine|contains: '{884e2002-217d}'"), None);
        assert_eq!(lits("Hashes|contains: 'ABCDEF0123'"), None);
        assert_eq!(lits("UtcTime|startswith: '2019-01-01T10:00'"), None);
        assert_eq!(lits("DestinationPort|cidr: '10.0.0.0/8'"), None);
    }

    #[test]
    fn both_search_backends_find_the_same_hits() {
        let pats = |v: &[&str]| v.iter().enumerate().map(|(i, p)| (p.as_bytes().to_vec(), i)).collect::<Vec<_>>();
        let patterns = pats(&["lsass", "c:\\windows\\system32\\lsass.exe", "ss", "mgr.exe"]);
        let hay = b"x c:\\windows\\system32\\lsass.exe lsasss taskmgr.exe mgr.exe";
        let a = search::Automaton::new(patterns.clone()).hits(hay);
        let b = search::PerPattern::new(patterns).hits(hay);
        let mut a_sorted = a.clone();
        a_sorted.sort_by_key(|h| (h.pos, h.literal));
        assert_eq!(a_sorted, b);
        assert_eq!(b.iter().filter(|h| h.literal == 0).count(), 2);
    }

    #[test]
    fn builtins_need_every_selective_item() {
        let clauses: Vec<_> = builtin_analytics().iter().map(|a| required_clauses(&a.rule)).collect();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(clauses[0], Some(vec![s(&["C:\\windows\\system32\\lsass.exe"]), s(&["dbghelp.dll", "dbgcore.dll"])]));
        assert_eq!(clauses[1], Some(vec![s(&[".dmp"]), s(&["lsass"]), s(&["mgr.exe"])]));
    }

    #[test]
    fn the_gate_answers_as_every_hit_would() {
        let p = Prefilter::for_rules(builtin_analytics().iter().map(|a| &a.rule));
        let texts = [
            "C:\\Windows\\system32\\lsass.exe dbgcore.dll",
            "lsass dbghelp.dll",
            "C:\\Windows\\system32\\lsass.exe",
            "taskmgr.exe lsass",
            "taskmgr.exe LSAS",
            "dbghelp.dll dbgcore.dll mgr.exe",
            "",
        ];
        for text in texts {
            for bytes in [utf16(text), text.as_bytes().to_vec(), utf16(&text.to_uppercase())] {
                let lower = bytes.to_ascii_lowercase();
                let every_hit = p.searcher.as_ref().unwrap().hits(&lower);
                assert_eq!(p.may_match_raw(&bytes), p.satisfied(&every_hit), "{text:?}");
                // A chunk that fails the gate yields no hits at all.
                let hits = p.scan(&bytes);
                assert_eq!(hits.is_empty(), !p.satisfied(&every_hit), "{text:?}");
            }
        }
        // `lsass` is inside the lsass path: its absence settles the path's.
        let path = p.literals().iter().position(|l| l.ends_with("lsass.exe")).unwrap();
        let lsass = p.literals().iter().position(|l| l == "lsass").unwrap();
        assert_eq!(p.gate[path].contains, vec![lsass]);
    }

    #[test]
    fn one_pass_finds_either_encoding_as_two_searches_would() {
        // Haystacks from a few bytes that make near misses likely, at every
        // length across block edges; a fixed seed keeps the test exact.
        let alphabet = [b'l', b'L', b's', b'S', b'a', b'A', 0, b'x', b'\\', b'|', 0x01];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let reference = |hay: &[u8], lower: &[u8]| {
            let hay = hay.to_ascii_lowercase();
            let wide: Vec<u8> = lower.iter().flat_map(|&b| [b, 0]).collect();
            memchr::memmem::find(&hay, lower).is_some() || memchr::memmem::find(&hay, &wide).is_some()
        };
        let mut found = 0;
        for round in 0..20_000 {
            let len = round % 120;
            let hay: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            for lower in [&b"lsa"[..], b"las", b"sl\\"] {
                let want = reference(&hay, lower);
                assert_eq!(contains_either_encoding(&hay, lower), want, "{hay:?} {lower:?}");
                found += usize::from(want);
            }
        }
        assert!(found > 1_000, "the haystacks hold the literals too rarely ({found})");
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    #[test]
    fn searches_utf16_and_ansi_case_insensitively() {
        let p = Prefilter::for_rules(builtin_analytics().iter().map(|a| &a.rule));
        assert!(p.is_active());
        assert!(p.may_match(&utf16("c:\\WINDOWS\\System32\\LSASS.exe|x|DbgHelp.DLL")));
        assert!(p.may_match(&utf16("C:\\Temp\\LSASS (2).DMP by C:\\Windows\\system32\\taskMGR.exe")));
        assert!(p.may_match(b"ansi lSaSs.dmp taskmgr.exe"));
        // One clause alone is not enough.
        assert!(!p.may_match(&utf16("C:\\Windows\\system32\\lsass.exe opened by svchost.exe")));
        assert!(!p.may_match(&utf16("C:\\Windows\\explorer.exe dbghelp.dll")));
        // Overlapping literals: the lsass path also counts as `lsass`.
        assert!(p.may_match(&utf16("C:\\Windows\\System32\\lsass.exe.dmp|taskmgr.exe")));
        // The dump file's name ends in `.dmp` (the rule's regex says so).
        assert!(!p.may_match(&utf16("C:\\Windows\\System32\\lsass.exe|taskmgr.exe")));
    }
}
