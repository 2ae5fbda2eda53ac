//! Literals that every match of a `|re` rule value must contain.
//!
//! The prefilter needs text that any matching event holds in its bytes.
//! For a regular expression that is a piece of plain text some match must
//! go through: the parsed expression (regex-syntax's HIR) is walked, runs of
//! literal characters are kept, and anything that may match varied text
//! (classes, `.`, optional parts) ends a run. An alternation needs a literal
//! in each branch. With `windash`, `base64offset` and a closer look at
//! what non-string values render as (see `prefilter`), the SigmaHQ rules
//! without any literal went from 204 to 139 (`process_creation`: 45 to 17).

use regex_syntax::hir::{Class, Hir, HirKind};

/// How the caller turns a run of literal text into a searchable literal
/// (`None`: the run is unusable), and scores a set of alternatives.
pub struct LiteralPolicy<'a> {
    pub piece: &'a dyn Fn(&str) -> Option<String>,
    pub score: &'a dyn Fn(&[String]) -> usize,
}

/// One literal per alternative, one of which every match contains; `None`
/// when the pattern does not parse or needs none.
pub fn required(pattern: &str, case_insensitive: bool, policy: &LiteralPolicy) -> Option<Vec<String>> {
    let hir = regex_syntax::ParserBuilder::new().case_insensitive(case_insensitive).build().parse(pattern).ok()?;
    required_in(&hir, policy)
}

fn required_in(hir: &Hir, policy: &LiteralPolicy) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Literal(_) | HirKind::Class(_) => (policy.piece)(&text_of(hir)?).map(|p| vec![p]),
        HirKind::Repetition(rep) if rep.min >= 1 => required_in(&rep.sub, policy),
        HirKind::Capture(cap) => required_in(&cap.sub, policy),
        HirKind::Concat(parts) => best_in_sequence(parts, policy),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required_in(b, policy)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// In a sequence every part is required: runs of adjacent literal text are
/// candidates, as is each other part's own requirement; the best one wins.
fn best_in_sequence(parts: &[Hir], policy: &LiteralPolicy) -> Option<Vec<String>> {
    let mut candidates: Vec<Vec<String>> = Vec::new();
    let mut run = String::new();
    let flush = |run: &mut String, candidates: &mut Vec<Vec<String>>| {
        if let Some(p) = (policy.piece)(run) {
            candidates.push(vec![p]);
        }
        run.clear();
    };
    for part in parts {
        match text_of(part) {
            Some(text) => run.push_str(&text),
            None => {
                flush(&mut run, &mut candidates);
                candidates.extend(required_in(part, policy));
            }
        }
    }
    flush(&mut run, &mut candidates);
    candidates.into_iter().max_by_key(|c| (policy.score)(c))
}

/// The text a node matches when it matches one text only, up to ASCII case:
/// a literal, or a class of one ASCII letter in both cases (what `(?i)`
/// makes of a letter). `k` and `s` fold to non-ASCII signs too, so their
/// classes have three members and end the run.
fn text_of(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Literal(lit) => String::from_utf8(lit.0.to_vec()).ok(),
        HirKind::Class(Class::Unicode(class)) => {
            let chars: Vec<char> = class.ranges().iter().flat_map(|r| r.start()..=r.end()).take(3).collect();
            match chars.as_slice() {
                [upper, lower] if upper.is_ascii_uppercase() && *lower == upper.to_ascii_lowercase() => Some(lower.to_string()),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literals(pattern: &str, ci: bool) -> Option<Vec<String>> {
        let piece = |s: &str| (s.len() >= 3).then(|| s.to_ascii_lowercase());
        let score = |c: &[String]| c.iter().map(String::len).min().unwrap_or(0);
        required(pattern, ci, &LiteralPolicy { piece: &piece, score: &score })
    }

    #[test]
    fn takes_the_longest_run_every_match_holds() {
        assert_eq!(literals(r"\$PSHome\[\s*\d{1,3}\s*\]\s*\+\s*\$PSHome\[", false), Some(vec!["$pshome[".to_string()]));
        assert_eq!(literals(r"cmd.{0,5}(?:/c|/r).+powershell.+", false), Some(vec!["powershell".to_string()]));
        assert_eq!(literals(r"(?i)echo.*clip.*&&", false), Some(vec!["clip".to_string()]));
    }

    #[test]
    fn alternations_need_a_literal_in_each_branch() {
        assert_eq!(literals(r"(?:invoke-expression|iex\b)", false), Some(vec!["invoke-expression".to_string(), "iex".to_string()]));
        assert_eq!(literals(r"(?:invoke|\d+)", false), None);
    }

    #[test]
    fn optional_parts_classes_and_folding_letters_end_runs() {
        assert_eq!(literals(r"\w+`(?:\w+|-|.)`[\w+|\s]", false), None);
        assert_eq!(literals(r"abc(?:defgh)?", false), Some(vec!["abc".to_string()]));
        // Case-insensitive `k` and `s` also match the Kelvin sign and the long s.
        assert_eq!(literals(r"task-list", true), Some(vec!["-li".to_string()]));
        assert_eq!(literals(r"[", false), None);
    }
}
