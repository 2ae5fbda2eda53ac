//! Findings as they cross from a browser worker to the page (`ChunkTally`'s
//! `findings`, `#[serde(with = "finding_table")]`): each distinct text once,
//! each finding a row of numbers pointing at them.
//!
//! As a list of JSON objects, every finding repeated its field names, rule
//! title, file and computer: a search for `EventID:1` on the 1 GiB bench log
//! (314,411 hits) sent about 400 bytes per hit, and the page's thread spent
//! more time parsing and interning them than the workers took to find them.
//! Decoded rows share one `Arc` per text, so the page's interner sees the
//! same pointers again and again (see `Interner`'s recent cache).
//!
//! Only JSON carries it: a snippet crosses as its raw JSON text.

use crate::intern::SharedText;
use crate::report::{Finding, PartialRecord, Recovered, Snippet};
use crate::rules::MatchedField;
use crate::story::Actor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;

/// One finding: text and list fields are indices into the table's `texts` and `lists`.
#[derive(Deserialize)]
struct Row(
    /* analytic_id */ u32,
    /* analytic_title */ u32,
    /* level */ Option<u32>,
    /* file */ u32,
    /* chunk */ u64,
    /* offset */ u64,
    /* event_record_id */ u64,
    /* event_id */ Option<u64>,
    /* time_created */ Option<String>,
    /* computer */ Option<u32>,
    /* channel */ Option<u32>,
    /* attack */ u32,
    /* d3fend */ u32,
    /* source_process */ Option<u32>,
    /* false_positive_hint */ Option<u32>,
    /* the rest, when any is set */ Option<Box<Rest>>,
);

/// A finding's fields that a search hit never has and that rule findings
/// have in many shapes: as the finding serializes them.
#[derive(Deserialize)]
struct Rest {
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    length: Option<u64>,
    #[serde(default)]
    actor: Option<Actor>,
    #[serde(default)]
    matched: Box<[MatchedField]>,
    #[serde(default)]
    snippet: Option<Snippet>,
    #[serde(default)]
    partial: Option<Box<PartialRecord>>,
    #[serde(default)]
    recovered: Option<Box<Recovered>>,
}

/// [`Rest`], borrowed from the finding being sent.
#[derive(Serialize)]
struct RestOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<&'a Actor>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    matched: &'a [MatchedField],
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partial: Option<&'a PartialRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovered: Option<&'a Recovered>,
}

impl<'a> RestOut<'a> {
    fn of(f: &'a Finding) -> Option<Self> {
        let snippet = (f.snippet.json() != "{}").then(|| f.snippet.raw());
        let rest = RestOut {
            line: f.line,
            length: f.length,
            actor: f.actor.as_ref(),
            matched: &f.matched,
            snippet,
            partial: f.partial.as_deref(),
            recovered: f.recovered.as_deref(),
        };
        let empty = rest.line.is_none()
            && rest.length.is_none()
            && rest.actor.is_none()
            && rest.matched.is_empty()
            && rest.snippet.is_none()
            && rest.partial.is_none()
            && rest.recovered.is_none();
        (!empty).then_some(rest)
    }
}

#[derive(Serialize)]
struct TableOut<'a> {
    texts: Vec<&'a str>,
    lists: Vec<&'a [String]>,
    rows: Vec<RowOut<'a>>,
}

/// [`Row`], with [`RestOut`] for its rest.
#[derive(Serialize)]
struct RowOut<'a>(
    u32,
    u32,
    Option<u32>,
    u32,
    u64,
    u64,
    u64,
    Option<u64>,
    Option<&'a str>,
    Option<u32>,
    Option<u32>,
    u32,
    u32,
    Option<u32>,
    Option<u32>,
    Option<RestOut<'a>>,
);

#[derive(Deserialize)]
struct Table {
    texts: Vec<SharedText>,
    lists: Vec<Arc<[String]>>,
    rows: Vec<Row>,
}

/// Numbers the distinct texts and lists of the findings being sent.
#[derive(Default)]
struct Numbering<'a> {
    texts: Vec<&'a str>,
    text_ids: HashMap<&'a str, u32>,
    lists: Vec<&'a [String]>,
    list_ids: HashMap<&'a [String], u32>,
}

impl<'a> Numbering<'a> {
    fn text(&mut self, t: &'a str) -> u32 {
        let next = self.texts.len() as u32;
        *self.text_ids.entry(t).or_insert_with(|| {
            self.texts.push(t);
            next
        })
    }

    fn optional(&mut self, t: &'a Option<SharedText>) -> Option<u32> {
        t.as_deref().map(|t| self.text(t))
    }

    fn list(&mut self, l: &'a [String]) -> u32 {
        let next = self.lists.len() as u32;
        *self.list_ids.entry(l).or_insert_with(|| {
            self.lists.push(l);
            next
        })
    }

    fn row(&mut self, f: &'a Finding) -> RowOut<'a> {
        RowOut(
            self.text(&f.analytic_id),
            self.text(&f.analytic_title),
            self.optional(&f.level),
            self.text(&f.file),
            f.chunk,
            f.offset,
            f.event_record_id,
            f.event_id,
            f.time_created.as_deref(),
            self.optional(&f.computer),
            self.optional(&f.channel),
            self.list(&f.attack),
            self.list(&f.d3fend),
            self.optional(&f.source_process),
            self.optional(&f.false_positive_hint),
            RestOut::of(f),
        )
    }
}

pub fn serialize<S: Serializer>(findings: &[Finding], serializer: S) -> Result<S::Ok, S::Error> {
    let mut numbering = Numbering::default();
    let rows = findings.iter().map(|f| numbering.row(f)).collect();
    TableOut { texts: numbering.texts, lists: numbering.lists, rows }.serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Finding>, D::Error> {
    let mut table = Table::deserialize(deserializer)?;
    let rows = std::mem::take(&mut table.rows);
    rows.into_iter().map(|row| table.finding(row)).collect::<Result<_, String>>().map_err(serde::de::Error::custom)
}

impl Table {
    fn text(&self, id: u32) -> Result<SharedText, String> {
        self.texts.get(id as usize).cloned().ok_or_else(|| format!("finding table: no text {id}"))
    }

    fn optional(&self, id: Option<u32>) -> Result<Option<SharedText>, String> {
        id.map(|id| self.text(id)).transpose()
    }

    fn list(&self, id: u32) -> Result<Arc<[String]>, String> {
        self.lists.get(id as usize).cloned().ok_or_else(|| format!("finding table: no list {id}"))
    }

    fn finding(&self, row: Row) -> Result<Finding, String> {
        let Row(
            id,
            title,
            level,
            file,
            chunk,
            offset,
            event_record_id,
            event_id,
            time_created,
            computer,
            channel,
            attack,
            d3fend,
            source,
            hint,
            rest,
        ) = row;
        let rest = rest.map(|r| *r);
        let (line, length, actor, matched, snippet, partial, recovered) = match rest {
            Some(r) => (r.line, r.length, r.actor, r.matched, r.snippet.unwrap_or_default(), r.partial, r.recovered),
            None => (None, None, None, Box::default(), Snippet::default(), None, None),
        };
        Ok(Finding {
            analytic_id: self.text(id)?,
            analytic_title: self.text(title)?,
            level: self.optional(level)?,
            file: self.text(file)?,
            chunk,
            offset,
            line,
            length,
            event_record_id,
            event_id,
            time_created,
            computer: self.optional(computer)?,
            channel: self.optional(channel)?,
            attack: self.list(attack)?,
            d3fend: self.list(d3fend)?,
            source_process: self.optional(source)?,
            actor,
            false_positive_hint: self.optional(hint)?,
            matched,
            snippet,
            partial,
            recovered,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::report::{Finding, PartialRecord, Recovered};
    use crate::scan::ChunkTally;

    fn finding(rid: u64) -> Finding {
        Finding {
            analytic_id: "search".into(),
            analytic_title: "Search".into(),
            level: None,
            file: "a \"quoted\" name.jsonl".into(),
            chunk: 0,
            offset: 4096 + rid,
            line: None,
            length: None,
            event_record_id: rid,
            event_id: Some(1),
            time_created: Some("2019-03-17T19:00:00.000000Z".into()),
            computer: Some("PC-1".into()),
            channel: None,
            attack: vec!["T1003".to_string()].into(),
            d3fend: Vec::new().into(),
            source_process: None,
            actor: None,
            false_positive_hint: None,
            matched: Box::default(),
            snippet: Default::default(),
            partial: None,
            recovered: None,
        }
    }

    /// Lines of text exports, cut records and carved ones cross as the finding's rest.
    #[test]
    fn rare_fields_cross_unchanged_and_texts_cross_once() {
        let plain = finding(1);
        let mut rare = finding(2);
        rare.line = Some(7);
        rare.length = Some(912);
        rare.partial = Some(Box::new(PartialRecord { bytes_present: 700, record_size: 2320 }));
        let mut carved = finding(3);
        carved.computer = Some("PC-2".into());
        carved.recovered = Some(Box::new(Recovered::ChunkSlack));
        let tally = ChunkTally { findings: vec![plain, rare, carved], ..Default::default() };
        let text = serde_json::to_string(&tally).unwrap();
        let back: ChunkTally = serde_json::from_str(&text).unwrap();
        assert_eq!(back, tally);
        assert_eq!(text.matches("PC-1").count(), 1, "{text}");
        assert_eq!(text.matches("Search").count(), 1, "{text}");
        // The three decoded findings share one copy of the file's name.
        assert!(std::sync::Arc::ptr_eq(&back.findings[0].file, &back.findings[2].file));
    }

    /// The page interns each reply's findings: texts shared within a reply
    /// (by pointer) and texts of other replies (by value) end as one copy,
    /// and each field keeps its own text.
    #[test]
    fn interned_replies_share_one_copy_of_each_text() {
        let reply = |computers: &[&str]| {
            let findings =
                computers.iter().enumerate().map(|(i, c)| Finding { computer: Some((*c).into()), ..finding(i as u64) }).collect();
            let text = serde_json::to_string(&ChunkTally { findings, ..Default::default() }).unwrap();
            serde_json::from_str::<ChunkTally>(&text).unwrap().findings
        };
        let mut interner = crate::intern::Interner::default();
        let mut all = [reply(&["PC-1", "PC-2", "PC-1"]), reply(&["PC-2", "PC-1"])].concat();
        all.iter_mut().for_each(|f| interner.finding(f));
        let computers: Vec<&str> = all.iter().map(|f| f.computer.as_deref().unwrap()).collect();
        assert_eq!(computers, ["PC-1", "PC-2", "PC-1", "PC-2", "PC-1"]);
        let same = |a: usize, b: usize| std::sync::Arc::ptr_eq(all[a].computer.as_ref().unwrap(), all[b].computer.as_ref().unwrap());
        assert!(same(0, 2) && same(0, 4) && same(1, 3) && !same(0, 1));
        assert!(std::sync::Arc::ptr_eq(&all[0].file, &all[4].file) && std::sync::Arc::ptr_eq(&all[0].attack, &all[4].attack));
    }

    #[test]
    fn a_row_naming_a_text_the_table_lacks_is_an_error() {
        let text = r#"{"texts":["search"],"lists":[[]],"rows":[[0,0,null,5,0,4096,1,1,null,null,null,0,0,null,null,null]]}"#;
        let err = serde_json::from_str::<Wrapper>(&format!(r#"{{"f":{text}}}"#)).unwrap_err().to_string();
        assert!(err.starts_with("finding table: no text 5"), "{err}");
    }

    #[derive(serde::Deserialize, Debug)]
    struct Wrapper {
        #[serde(with = "super")]
        #[allow(dead_code)]
        f: Vec<Finding>,
    }
}
