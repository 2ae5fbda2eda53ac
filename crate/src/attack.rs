//! MITRE ATT&CK Enterprise names for technique and tactic ids and Sigma tags.
//!
//! Sigma rules tag what they detect as `attack.t1003.001` or
//! `attack.credential-access`; a report wants "OS Credential Dumping: LSASS
//! Memory" and "Credential Access". The names come from a table built into the
//! binary (`crate/data/attack.tsv`, ATT&CK Enterprise v18.1, © The MITRE
//! Corporation, written by `scripts/gen-attack-table.py`), so lookups work
//! offline and in the browser.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../data/attack.tsv");

/// The ATT&CK major version the table was generated from (`data/attack.tsv`'s header
/// names "Enterprise v18.1"): Navigator layers name it.
pub const MAJOR_VERSION: &str = "18";

/// An ATT&CK tactic: `TA0006`, `credential-access`, "Credential Access".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tactic {
    pub id: String,
    pub shortname: String,
    pub name: String,
}

/// An ATT&CK technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    pub id: String,
    /// For a sub-technique "Parent Name: Sub Name", as ATT&CK displays it.
    pub name: String,
    /// In ATT&CK matrix order.
    pub tactics: Vec<Tactic>,
    /// Revoked or deprecated in this ATT&CK version; old rules still tag it.
    pub deprecated: bool,
    /// The parent technique's id, for a sub-technique.
    pub parent: Option<String>,
}

/// What a rule's Sigma tags say about ATT&CK, each list in tag order without
/// repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TagMapping {
    pub techniques: Vec<Technique>,
    /// Only tactics the tags name; a technique's own are in its `tactics`.
    pub tactics: Vec<Tactic>,
    /// `attack.*` tags that name no known technique or tactic, as written
    /// (trimmed).
    pub unknown: Vec<String>,
}

struct Table {
    /// Keyed by upper-case id.
    tactics: HashMap<String, Tactic>,
    /// Shortname to upper-case tactic id.
    shortnames: HashMap<String, String>,
    /// Keyed by upper-case id.
    techniques: HashMap<String, Technique>,
}

fn table() -> &'static Table {
    static TABLE_CELL: OnceLock<Table> = OnceLock::new();
    TABLE_CELL.get_or_init(|| parse(TABLE).unwrap_or_else(|e| panic!("built-in crate/data/attack.tsv: {e}")))
}

fn parse(text: &str) -> Result<Table, String> {
    let mut tactics = HashMap::new();
    let mut shortnames = HashMap::new();
    // (id, own name, tactic shortnames, deprecated); names resolved below,
    // once every parent is known.
    let mut raw = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["tactic", id, short, name] => {
                let tactic = Tactic { id: id.to_string(), shortname: short.to_string(), name: name.to_string() };
                shortnames.insert(short.to_string(), id.to_ascii_uppercase());
                tactics.insert(id.to_ascii_uppercase(), tactic);
            }
            ["technique", id, name, shorts] => raw.push((*id, *name, *shorts, false)),
            ["technique", id, name, shorts, "deprecated"] => raw.push((*id, *name, *shorts, true)),
            _ => return Err(format!("line {}: malformed row {line:?}", n + 1)),
        }
    }

    let own_names: HashMap<&str, &str> = raw.iter().map(|r| (r.0, r.1)).collect();
    let mut techniques = HashMap::new();
    for (id, own_name, shorts, deprecated) in raw {
        let parent = id.split_once('.').map(|(base, _)| base);
        let name = match parent {
            Some(base) => {
                let parent_name = own_names.get(base).ok_or_else(|| format!("{id}: no parent technique {base}"))?;
                format!("{parent_name}: {own_name}")
            }
            None => own_name.to_string(),
        };
        let tactics = shorts
            .split(',')
            .map(|short| shortnames.get(short).map(|tid| tactics[tid].clone()).ok_or_else(|| format!("{id}: unknown tactic {short}")))
            .collect::<Result<Vec<_>, _>>()?;
        let technique = Technique { id: id.to_string(), name, tactics, deprecated, parent: parent.map(str::to_string) };
        techniques.insert(id.to_ascii_uppercase(), technique);
    }
    Ok(Table { tactics, shortnames, techniques })
}

/// The technique or sub-technique with this id, any case (`t1003.001`).
pub fn technique(id: &str) -> Option<Technique> {
    table().techniques.get(&id.trim().to_ascii_uppercase()).cloned()
}

/// The tactic with this id, any case (`ta0006`).
pub fn tactic(id: &str) -> Option<Tactic> {
    table().tactics.get(&id.trim().to_ascii_uppercase()).cloned()
}

/// The tactic with this shortname, any case, `_` for `-` accepted
/// (`credential_access`, the spelling of older Sigma rules).
pub fn tactic_by_shortname(short: &str) -> Option<Tactic> {
    let short = short.trim().to_ascii_lowercase().replace('_', "-");
    let t = table();
    t.shortnames.get(&short).map(|id| t.tactics[id].clone())
}

/// Sorts a rule's Sigma tags into ATT&CK techniques, tactics and unknown
/// `attack.*` tags. Other namespaces (`cve.*`, `detection.*`) and ATT&CK
/// group and software ids (`attack.g0007`, `attack.s0002`) are skipped: they
/// name no technique or tactic.
pub fn from_sigma_tags(tags: &[String]) -> TagMapping {
    let mut out = TagMapping::default();
    for tag in tags {
        let trimmed = tag.trim();
        // Sigma's namespace is lower case; old rules are not always.
        let Some(rest) = strip_prefix_ignore_case(trimmed, "attack.") else {
            continue;
        };
        if let Some(t) = technique(rest) {
            if !out.techniques.iter().any(|seen| seen.id == t.id) {
                out.techniques.push(t);
            }
        } else if let Some(t) = tactic_by_shortname(rest).or_else(|| tactic(rest)) {
            if !out.tactics.iter().any(|seen| seen.id == t.id) {
                out.tactics.push(t);
            }
        } else if !is_group_or_software(rest) && !out.unknown.iter().any(|u| u == trimmed) {
            out.unknown.push(trimmed.to_string());
        }
    }
    out
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// `g0007` (group) or `s0002` (software): a letter and four digits.
fn is_group_or_software(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 5 && matches!(b[0].to_ascii_lowercase(), b'g' | b's') && b[1..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn credential_access() -> Tactic {
        Tactic { id: "TA0006".into(), shortname: "credential-access".into(), name: "Credential Access".into() }
    }

    #[test]
    fn sub_technique_has_parent_name_and_tactics() {
        let t = technique("T1003.001").expect("T1003.001 in the table");
        assert_eq!(t.id, "T1003.001");
        assert_eq!(t.name, "OS Credential Dumping: LSASS Memory");
        assert_eq!(t.tactics, vec![credential_access()]);
        assert_eq!(t.parent.as_deref(), Some("T1003"));
        assert!(!t.deprecated);
        assert_eq!(technique("t1003.001"), Some(t));
    }

    #[test]
    fn technique_name() {
        let t = technique("T1003").expect("T1003 in the table");
        assert_eq!(t.name, "OS Credential Dumping");
        assert_eq!(t.parent, None);
        assert_eq!(technique("T9999"), None);
        assert_eq!(technique(""), None);
    }

    #[test]
    fn tactics_in_matrix_order_and_deprecated_flag() {
        let t = technique("T1574.002").expect("T1574.002 in the table");
        assert_eq!(t.name, "Hijack Execution Flow: DLL Side-Loading");
        assert!(t.deprecated);
        let shorts: Vec<&str> = t.tactics.iter().map(|t| t.shortname.as_str()).collect();
        assert_eq!(shorts, ["persistence", "privilege-escalation", "defense-evasion"]);
        assert!(technique("T1002").expect("T1002 in the table").deprecated);
    }

    #[test]
    fn tactic_lookups() {
        assert_eq!(tactic_by_shortname("credential-access").map(|t| t.id), Some("TA0006".to_string()));
        assert_eq!(tactic_by_shortname("Credential_Access"), Some(credential_access()));
        assert_eq!(tactic("ta0006"), Some(credential_access()));
        assert_eq!(tactic_by_shortname("credential access"), None);
        assert_eq!(tactic("TA9999"), None);
    }

    #[test]
    fn sigma_tags() {
        let m = from_sigma_tags(&tags(&["attack.credential-access", "attack.t1003.001", "attack.s0002", "attack.t9999", "cve.2020-1"]));
        let ids: Vec<&str> = m.techniques.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["T1003.001"]);
        assert_eq!(m.tactics, vec![credential_access()]);
        assert_eq!(m.unknown, ["attack.t9999"]);
    }

    #[test]
    fn sigma_tags_dedup_order_and_spellings() {
        let m = from_sigma_tags(&tags(&[
            "attack.execution",
            "attack.t1059.001",
            "attack.credential_access",
            "attack.T1059.001",
            "attack.credential-access",
            "attack.g0007",
            "attack.m1042",
            "attack.m1042",
            "detection.threat-hunting",
            "attack",
        ]));
        let ids: Vec<&str> = m.techniques.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["T1059.001"]);
        let tactic_ids: Vec<&str> = m.tactics.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(tactic_ids, ["TA0002", "TA0006"]);
        assert_eq!(m.unknown, ["attack.m1042"]);
        assert_eq!(from_sigma_tags(&[]), TagMapping::default());
    }

    #[test]
    fn table_holds_every_source_row() {
        let rows = TABLE.lines().filter(|l| l.starts_with("technique\t")).count();
        assert_eq!(rows, 835);
        assert_eq!(table().techniques.len(), rows);
        assert_eq!(table().tactics.len(), 14);
        assert!(TABLE.starts_with("# ATT&CK Enterprise v18.1"));
    }

    #[test]
    fn malformed_table_is_an_error() {
        assert!(parse("technique\tT1003.001\tLSASS Memory\tcredential-access\n").is_err());
        assert!(parse("tactic\tTA0006\n").is_err());
    }
}
