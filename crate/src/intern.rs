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
    /// Per field of a finding: the last text given and its copy here. The
    /// findings of one worker reply share their texts (see `finding_table`),
    /// so most fields are found by pointer, without hashing their text
    /// (314,411 search hits: 9 hash lookups each, a third of the page
    /// thread's time on a reply).
    recent: [Option<Recent<str>>; FIELDS],
    recent_lists: [Option<Recent<[String]>>; 2],
}

/// What a field was last given, and the interned copy it was given.
#[derive(Debug)]
struct Recent<T: ?Sized> {
    given: Arc<T>,
    known: Arc<T>,
}

impl<T: ?Sized> Recent<T> {
    /// Points `t` at the known copy if it is what was last given.
    fn replace(recent: &Option<Self>, t: &mut Arc<T>) -> bool {
        let Some(r) = recent.as_ref().filter(|r| Arc::ptr_eq(&r.given, t)) else { return false };
        *t = r.known.clone();
        true
    }
}

/// The text fields a finding's interning looks up by pointer first.
const FIELDS: usize = 9;

impl Interner {
    /// Makes every repeated text of the finding point at the one copy.
    pub fn finding(&mut self, f: &mut Finding) {
        self.recent_text(0, &mut f.analytic_id);
        self.recent_text(1, &mut f.analytic_title);
        for (slot, t) in
            [&mut f.level, &mut f.computer, &mut f.channel, &mut f.source_process, &mut f.false_positive_hint].into_iter().enumerate()
        {
            if let Some(t) = t {
                self.recent_text(2 + slot, t);
            }
        }
        self.recent_text(7, &mut f.file);
        self.recent_list(0, &mut f.attack);
        self.recent_list(1, &mut f.d3fend);
        if let Some(image) = f.actor.as_mut().and_then(|a| a.image.as_mut()) {
            self.recent_text(8, image);
        }
        f.matched.iter_mut().for_each(|m| self.matched(m));
    }

    fn matched(&mut self, m: &mut MatchedField) {
        self.text(&mut m.field);
        self.optional(&mut m.selection);
        self.optional(&mut m.pattern);
    }

    /// [`Self::text`], by pointer when the field's last text is given again.
    fn recent_text(&mut self, slot: usize, t: &mut SharedText) {
        if !Recent::replace(&self.recent[slot], t) {
            let given = t.clone();
            self.text(t);
            self.recent[slot] = Some(Recent { given, known: t.clone() });
        }
    }

    fn recent_list(&mut self, slot: usize, l: &mut Arc<[String]>) {
        if !Recent::replace(&self.recent_lists[slot], l) {
            let given = l.clone();
            self.list(l);
            self.recent_lists[slot] = Some(Recent { given, known: l.clone() });
        }
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
