//! Which rules' logsources may admit a record, by its channel and EventID,
//! answered with one lookup per record and one bit test per rule.
//!
//! Asked rule by rule (`Scope::may_admit`, comparing channel names), it was
//! 5.6 % of a pack scan: a record's literals call up about a hundred rules,
//! each checked against the record's channel. Here every channel a rule
//! names gets bit sets of the rules it admits, built once at load.

use crate::logsource::Scope;
use std::collections::HashMap;

/// One bit per rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bits(Vec<u64>);

impl Bits {
    fn with_len(rules: usize) -> Self {
        Bits(vec![0; rules.div_ceil(64)])
    }

    fn set(&mut self, rule: usize) {
        self.0[rule / 64] |= 1 << (rule % 64);
    }

    fn has(&self, rule: usize) -> bool {
        self.0.get(rule / 64).is_some_and(|w| w & (1 << (rule % 64)) != 0)
    }

    fn union(&mut self, other: &Bits) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a |= b);
    }
}

/// The rules a channel admits: by EventID, with any EventID, with none known.
#[derive(Debug, Clone, Default)]
struct ChannelBits {
    any_event_id: Bits,
    by_event_id: HashMap<u64, Bits>,
    all: Bits,
}

/// Rules by the records their logsource may admit (see the module's doc).
#[derive(Debug, Clone, Default)]
pub struct Admission {
    /// `product: windows` alone: every record.
    always: Bits,
    /// By channel name in ASCII lower case, and as rules' tables spell it.
    channels: HashMap<String, ChannelBits>,
}

/// The rules a record may be for.
pub enum Admitted<'a> {
    /// No channel known: every rule may.
    Every,
    Some(&'a Bits),
}

impl Admitted<'_> {
    pub fn has(&self, rule: usize) -> bool {
        match self {
            Admitted::Every => true,
            Admitted::Some(bits) => bits.has(rule),
        }
    }
}

impl Admission {
    pub fn of<'a>(scopes: impl ExactSizeIterator<Item = &'a Scope>) -> Self {
        let rules = scopes.len();
        let mut always = Bits::with_len(rules);
        let mut channels: HashMap<String, ChannelBits> = HashMap::new();
        let mut spellings: Vec<String> = Vec::new();
        for (rule, scope) in scopes.enumerate() {
            let Scope::Sources(sources) = scope else {
                always.set(rule);
                continue;
            };
            for source in sources {
                for channel in &source.channels {
                    spellings.push(channel.clone());
                    let bits = channels.entry(channel.to_ascii_lowercase()).or_insert_with(|| ChannelBits {
                        any_event_id: Bits::with_len(rules),
                        by_event_id: HashMap::new(),
                        all: Bits::with_len(rules),
                    });
                    bits.all.set(rule);
                    match &source.event_ids {
                        None => bits.any_event_id.set(rule),
                        Some(ids) => {
                            ids.iter().for_each(|id| bits.by_event_id.entry(*id).or_insert_with(|| Bits::with_len(rules)).set(rule))
                        }
                    }
                }
            }
        }
        // Each set holds every rule that admits its records, so one lookup answers.
        for bits in channels.values_mut() {
            bits.any_event_id.union(&always);
            bits.all.union(&always);
            for by_id in bits.by_event_id.values_mut() {
                by_id.union(&bits.any_event_id);
            }
        }
        // Also under the table's spelling, which records use: no lower-casing per record then.
        for spelling in spellings {
            if let Some(bits) = channels.get(&spelling.to_ascii_lowercase()).filter(|_| !channels.contains_key(&spelling)).cloned() {
                channels.insert(spelling, bits);
            }
        }
        Admission { always, channels }
    }

    /// The rules that may admit a record of this channel and EventID (`None`: not known).
    pub fn admitted(&self, channel: Option<&str>, event_id: Option<u64>) -> Admitted<'_> {
        let Some(channel) = channel else { return Admitted::Every };
        let found = match self.channels.get(channel) {
            Some(bits) => Some(bits),
            None => self.channels.get(&channel.to_ascii_lowercase()),
        };
        let Some(bits) = found else { return Admitted::Some(&self.always) };
        Admitted::Some(match event_id {
            None => &bits.all,
            Some(id) => bits.by_event_id.get(&id).unwrap_or(&bits.any_event_id),
        })
    }
}
