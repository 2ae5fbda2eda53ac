//! One copy of each text that findings repeat: a rule's id, title, level and
//! ATT&CK ids, the file, computer, channel and process names, the matched
//! fields' names. A finding points at them (`Arc<str>`) instead of holding
//! its own copies; the page interns the findings it parses from a worker's
//! reply, which would otherwise all get copies of their own.

use crate::report::Finding;
use crate::rules::MatchedField;
use std::collections::HashSet;
use std::sync::Arc;

/// Text shared by the findings that repeat it.
pub type SharedText = Arc<str>;

/// The texts seen so far, one copy each.
#[derive(Debug, Default)]
pub struct Interner {
    texts: HashSet<SharedText>,
    lists: HashSet<Arc<[String]>>,
}

impl Interner {
    /// Makes every repeated text of the finding point at the one copy.
    pub fn finding(&mut self, f: &mut Finding) {
        self.text(&mut f.analytic_id);
        self.text(&mut f.analytic_title);
        for t in [&mut f.level, &mut f.computer, &mut f.channel, &mut f.source_process, &mut f.false_positive_hint] {
            self.optional(t);
        }
        self.text(&mut f.file);
        self.list(&mut f.attack);
        self.list(&mut f.d3fend);
        if let Some(actor) = &mut f.actor {
            self.optional(&mut actor.image);
        }
        f.matched.iter_mut().for_each(|m| self.matched(m));
    }

    fn matched(&mut self, m: &mut MatchedField) {
        self.text(&mut m.field);
        self.optional(&mut m.selection);
        self.optional(&mut m.pattern);
    }

    fn text(&mut self, t: &mut SharedText) {
        match self.texts.get(t) {
            Some(known) => *t = known.clone(),
            None => {
                self.texts.insert(t.clone());
            }
        }
    }

    fn optional(&mut self, t: &mut Option<SharedText>) {
        if let Some(t) = t {
            self.text(t);
        }
    }

    fn list(&mut self, l: &mut Arc<[String]>) {
        match self.lists.get(l) {
            Some(known) => *l = known.clone(),
            None => {
                self.lists.insert(l.clone());
            }
        }
    }
}
