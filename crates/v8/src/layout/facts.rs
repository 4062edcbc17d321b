//! Merging the two sources of layout facts: the executable's `v8dbg_*` postmortem metadata and the
//! per-Node-major supplement. Each fact is asked for once, by its supplement key (the dotted path
//! of the [`Layout`](super::Layout) field it fills) and the metadata names that may hold it.
//!
//! The metadata wins whenever it has the fact; when the supplement gives the same fact with
//! another value the disagreement is recorded. A fact neither source has is recorded as missing
//! (never guessed); the loader then refuses the layout if any required fact is missing.

use std::collections::{BTreeMap, BTreeSet};

use super::metadata::Metadata;
use super::supplement::{Supplement, ABSENT};
use super::Disagreement;

/// The fact-by-fact merge of metadata and supplement, with what went missing.
pub(crate) struct Facts<'a> {
    meta: &'a Metadata,
    supp: &'a Supplement,
    /// Supplement keys read so far (the rest are reported as unused).
    used: BTreeSet<String>,
    /// Required facts found nowhere.
    missing: Vec<String>,
    /// Optional facts found nowhere and not declared absent.
    missing_optional: Vec<String>,
    /// Facts whose value cannot be (a negative offset, an instance type past 16 bits): the
    /// constants they came from are damaged.
    impossible: Vec<String>,
    disagreements: Vec<Disagreement>,
    /// Instance type name -> number (metadata merged over the supplement's table).
    types: BTreeMap<String, u16>,
    /// The value of every fact found, by key (size rules may name one).
    values: BTreeMap<String, i64>,
}

/// What [`Facts::finish`] hands back to the loader.
pub(crate) struct Outcome {
    pub missing: Vec<String>,
    pub impossible: Vec<String>,
    pub missing_optional: Vec<String>,
    pub disagreements: Vec<Disagreement>,
    pub unused_keys: Vec<String>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(
        meta: &'a Metadata,
        supp: &'a Supplement,
        types: BTreeMap<String, u16>,
    ) -> Facts<'a> {
        Facts {
            meta,
            supp,
            used: BTreeSet::new(),
            missing: Vec::new(),
            missing_optional: Vec::new(),
            impossible: Vec::new(),
            disagreements: Vec::new(),
            types,
            values: BTreeMap::new(),
        }
    }

    /// The merged instance type table.
    pub(crate) fn types(&self) -> &BTreeMap<String, u16> {
        &self.types
    }

    /// The value of every fact found so far, by key.
    pub(crate) fn values(&self) -> &BTreeMap<String, i64> {
        &self.values
    }

    /// Marks a whole supplement section as read (it is consumed by a dedicated parser).
    pub(crate) fn use_section(&mut self, prefix: &str) {
        let dotted = format!("{prefix}.");
        for key in self.supp.keys() {
            if key == prefix || key.starts_with(&dotted) {
                self.used.insert(key.to_string());
            }
        }
    }

    /// The metadata value for the first candidate that has one. A candidate ending in `__` is a
    /// class-field prefix (`class_Map__instance_type__`): the type suffix after it is ignored,
    /// and when several symbols match with different values the disagreement is recorded.
    fn in_metadata(&mut self, key: &str, candidates: &[&str]) -> Option<i64> {
        for cand in candidates {
            let found = if cand.ends_with("__") {
                self.meta.with_prefix(cand)
            } else {
                self.meta
                    .get(cand)
                    .map(|v| vec![(cand.to_string(), v)])
                    .unwrap_or_default()
            };
            let Some((first_name, first)) = found.first().cloned() else {
                continue;
            };
            for (name, value) in found.iter().skip(1) {
                if *value != first {
                    self.disagreements.push(Disagreement {
                        fact: key.to_string(),
                        metadata: first,
                        other: *value,
                        other_source: format!("v8dbg_{name} (kept v8dbg_{first_name})"),
                    });
                }
            }
            return Some(first);
        }
        None
    }

    /// The supplement's integer (or type-name, resolved through the type table) for `key`.
    /// `Err(())` when the supplement declares the fact absent in this version.
    fn in_supplement(&mut self, key: &str) -> Result<Option<i64>, ()> {
        let Some(value) = self.supp.get(key) else {
            return Ok(None);
        };
        self.used.insert(key.to_string());
        match value {
            toml::Value::Integer(i) => Ok(Some(*i)),
            toml::Value::String(s) if s == ABSENT => Err(()),
            toml::Value::String(s) => match self.types.get(s.as_str()) {
                Some(&t) => Ok(Some(i64::from(t))),
                None => {
                    self.missing
                        .push(format!("{key} (instance type {s} is not in the table)"));
                    Ok(None)
                }
            },
            other => {
                self.missing.push(format!(
                    "{key} (supplement value {other:?} is not a number)"
                ));
                Ok(None)
            }
        }
    }

    /// A fact both sources may give: metadata first, then the supplement.
    fn lookup(&mut self, key: &str, meta: &[&str]) -> Result<Option<i64>, ()> {
        let found = self.merge(key, meta);
        if let Ok(Some(v)) = found {
            self.values.insert(key.to_string(), v);
        }
        found
    }

    fn merge(&mut self, key: &str, meta: &[&str]) -> Result<Option<i64>, ()> {
        let m = self.in_metadata(key, meta);
        let s = self.in_supplement(key);
        match (m, s) {
            (Some(m), Ok(Some(s))) => {
                if m != s {
                    self.disagreements.push(Disagreement {
                        fact: key.to_string(),
                        metadata: m,
                        other: s,
                        other_source: "supplement".to_string(),
                    });
                }
                Ok(Some(m))
            }
            (Some(m), _) => Ok(Some(m)),
            (None, s) => s,
        }
    }

    /// A required fact. When it is missing the name is recorded and 0 is returned; the loader
    /// refuses the whole layout in that case, so the 0 is never used.
    pub(crate) fn int(&mut self, key: &str, meta: &[&str]) -> i64 {
        match self.lookup(key, meta) {
            Ok(Some(v)) => v,
            Ok(None) | Err(()) => {
                self.missing.push(describe(key, meta));
                0
            }
        }
    }

    /// A fact some versions do not have: `None` when the supplement declares it `"absent"`;
    /// recorded as missing (optional) when neither source says anything.
    pub(crate) fn opt(&mut self, key: &str, meta: &[&str]) -> Option<i64> {
        match self.lookup(key, meta) {
            Ok(v @ Some(_)) => v,
            Ok(None) => {
                self.missing_optional.push(describe(key, meta));
                None
            }
            Err(()) => None,
        }
    }

    /// A required non-negative offset or size.
    pub(crate) fn off(&mut self, key: &str, meta: &[&str]) -> u64 {
        let v = self.int(key, meta);
        self.non_negative(key, v)
    }

    /// An optional non-negative offset or size.
    pub(crate) fn opt_off(&mut self, key: &str, meta: &[&str]) -> Option<u64> {
        let v = self.opt(key, meta)?;
        Some(self.non_negative(key, v))
    }

    fn non_negative(&mut self, key: &str, v: i64) -> u64 {
        u64::try_from(v).unwrap_or_else(|_| {
            self.impossible.push(format!("{key} (negative value {v})"));
            0
        })
    }

    /// A required instance type number, by name, from the merged table (the metadata's
    /// `type_<Class>__<NAME>` over the supplement's `[instance_types]`).
    pub(crate) fn type_named(&mut self, name: &str) -> u16 {
        match self.types.get(name) {
            Some(&t) => t,
            None => {
                self.missing.push(format!("instance type {name}"));
                0
            }
        }
    }

    /// An instance type that some versions do not have (`None` when the table lacks it).
    pub(crate) fn opt_type_named(&self, name: &str) -> Option<u16> {
        self.types.get(name).copied()
    }

    /// A required instance type fact given by metadata or by the supplement (as a number or a
    /// type name).
    pub(crate) fn type_fact(&mut self, key: &str, meta: &[&str]) -> u16 {
        let v = self.int(key, meta);
        self.as_type_number(key, v)
    }

    fn as_type_number(&mut self, key: &str, v: i64) -> u16 {
        u16::try_from(v).unwrap_or_else(|_| {
            self.impossible
                .push(format!("{key} (value {v} is not an instance type)"));
            0
        })
    }

    /// A required bit given as a bit number in the supplement (`flags.large_page = 7`),
    /// returned as a mask.
    pub(crate) fn bit(&mut self, key: &str) -> u64 {
        let v = self.int(key, &[]);
        match u32::try_from(v).ok().and_then(|b| 1u64.checked_shl(b)) {
            Some(mask) => mask,
            None => {
                self.missing
                    .push(format!("{key} (bit number {v} out of range)"));
                0
            }
        }
    }

    /// A bit number the supplement may declare `"absent"`, as a mask (`None` then).
    pub(crate) fn opt_bit(&mut self, key: &str) -> Option<u64> {
        let v = self.opt(key, &[])?;
        match u32::try_from(v).ok().and_then(|b| 1u64.checked_shl(b)) {
            Some(mask) => Some(mask),
            None => {
                self.missing
                    .push(format!("{key} (bit number {v} out of range)"));
                None
            }
        }
    }

    /// A required string (an enumerated choice) from the supplement.
    pub(crate) fn text(&mut self, key: &str) -> String {
        match self.supp.get(key) {
            Some(toml::Value::String(s)) => {
                self.used.insert(key.to_string());
                s.clone()
            }
            _ => {
                self.missing.push(format!("{key} (supplement text)"));
                String::new()
            }
        }
    }

    /// A required yes-or-no fact from the supplement.
    pub(crate) fn flag(&mut self, key: &str) -> bool {
        match self.supp.get(key) {
            Some(toml::Value::Boolean(b)) => {
                self.used.insert(key.to_string());
                *b
            }
            _ => {
                self.missing
                    .push(format!("{key} (supplement true or false)"));
                false
            }
        }
    }

    /// A list of strings from the supplement.
    pub(crate) fn list(&mut self, key: &str) -> Option<Vec<String>> {
        let a = self.supp.get(key)?.as_array()?;
        self.used.insert(key.to_string());
        Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    }

    /// A list of integers from the supplement (empty when absent).
    pub(crate) fn int_list(&mut self, key: &str) -> Vec<i64> {
        let Some(a) = self.supp.get(key).and_then(|v| v.as_array()) else {
            self.missing.push(format!("{key} (a list of numbers)"));
            return Vec::new();
        };
        self.used.insert(key.to_string());
        a.iter().filter_map(toml::Value::as_integer).collect()
    }

    /// Records a supplement value that does not fit its field (an unknown enumerated choice).
    pub(crate) fn invalid(&mut self, key: &str, what: &str) {
        self.missing.push(format!("{key} ({what})"));
    }

    /// The supplement's table at `key` (e.g. `spaces`), marked as read.
    pub(crate) fn table(&mut self, key: &str) -> Vec<(String, i64)> {
        self.use_section(key);
        self.supp.table_ints(key)
    }

    /// The bookkeeping, once every fact has been asked for.
    pub(crate) fn finish(self) -> Outcome {
        let unused_keys = self
            .supp
            .keys()
            .filter(|k| !self.used.contains(*k))
            .map(str::to_string)
            .collect();
        Outcome {
            missing: self.missing,
            impossible: self.impossible,
            missing_optional: self.missing_optional,
            disagreements: self.disagreements,
            unused_keys,
        }
    }
}

/// `map.instance_type (v8dbg_class_Map__instance_type__*)`, for the missing list.
fn describe(key: &str, meta: &[&str]) -> String {
    if meta.is_empty() {
        return key.to_string();
    }
    let names: Vec<String> = meta
        .iter()
        .map(|m| {
            if m.ends_with("__") {
                format!("v8dbg_{m}*")
            } else {
                format!("v8dbg_{m}")
            }
        })
        .collect();
    format!("{key} ({})", names.join(" or "))
}
