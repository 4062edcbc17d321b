//! The executable's V8 postmortem metadata: every `v8dbg_*` symbol (a 4-byte `int` that V8's
//! `gen-postmortem-metadata.py` compiles into `debug-support.cc`) read once into a name -> value
//! map, names kept without the `v8dbg_` prefix.
//!
//! Class fields are named `class_<Class>__<field>__<type>`, and the type suffix changed between
//! versions (`__Object` in Node 20, `__Tagged_Object_` in 22, ...), so fields are looked up by
//! the prefix `class_<Class>__<field>__`. Instance types are `type_<Class>__<NAME>`.

use std::collections::BTreeMap;

use coroner_image::ProcessImage;

/// The symbol prefix of V8's postmortem metadata.
const PREFIX: &str = "v8dbg_";
/// The symbol prefix of node's own postmortem metadata.
const NODE_PREFIX: &str = "nodedbg_";
/// The prefix of instance type constants, after [`PREFIX`].
const TYPE_PREFIX: &str = "type_";

/// Every `v8dbg_*` constant of one executable (read from it, or from its build's table).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Metadata {
    values: BTreeMap<String, i64>,
}

impl Metadata {
    /// Reads every `v8dbg_*` symbol of the image's executable (runtime value from the core when
    /// it has the page, else the file's initial value, which is what these constants are).
    /// `None` when there is no executable file.
    pub(crate) fn read(image: &ProcessImage) -> Option<Metadata> {
        Metadata::read_prefixed(image, PREFIX)
    }

    /// Reads every `nodedbg_*` symbol of the image's executable: node's own postmortem
    /// constants (offsets in `Environment`, `HandleWrap`, ...). Some are computed by a static
    /// initialiser, so the core's runtime value is the one that counts; each is read as the
    /// low 32 bits of its word (the offsets are `uintptr_t`, the rest `int`: all small).
    pub(crate) fn read_node(image: &ProcessImage) -> Option<Metadata> {
        Metadata::read_prefixed(image, NODE_PREFIX)
    }

    fn read_prefixed(image: &ProcessImage, prefix: &str) -> Option<Metadata> {
        let file = image.exe_file()?;
        let mut values = BTreeMap::new();
        for sym in file.symbols().with_prefix(prefix) {
            if let Some(v) = image.exe_data_i32(&sym.name) {
                values.insert(sym.name[prefix.len()..].to_string(), i64::from(v));
            }
        }
        Some(Metadata { values })
    }

    /// Constants by name (without the prefix), as a build table records them.
    pub(crate) fn from_values(values: BTreeMap<String, i64>) -> Metadata {
        Metadata { values }
    }

    /// Adds the constants of `other` that this one lacks (the executable's own values win over
    /// a table's); returns how many were added.
    pub(crate) fn fill_from(&mut self, other: &Metadata) -> usize {
        let before = self.values.len();
        for (k, v) in &other.values {
            self.values.entry(k.clone()).or_insert(*v);
        }
        self.values.len() - before
    }

    /// The names both have with different values.
    pub(crate) fn disagreeing(&self, other: &Metadata) -> Vec<String> {
        self.values
            .iter()
            .filter(|(k, v)| other.values.get(*k).is_some_and(|o| o != *v))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The names whose values differ between `self` and `other`, and the names only one has.
    #[cfg(test)]
    pub(crate) fn differences(&self, other: &Metadata) -> Vec<String> {
        let mut names: Vec<String> = self
            .values
            .iter()
            .filter(|(k, v)| other.values.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect();
        names.extend(
            other
                .values
                .keys()
                .filter(|k| !self.values.contains_key(*k))
                .cloned(),
        );
        names
    }

    /// The constants, by name.
    pub(crate) fn into_values(self) -> BTreeMap<String, i64> {
        self.values
    }

    /// Number of constants.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The constant `v8dbg_<name>`.
    pub(crate) fn get(&self, name: &str) -> Option<i64> {
        self.values.get(name).copied()
    }

    /// Every constant whose name starts with `prefix`, in name order.
    pub(crate) fn with_prefix(&self, prefix: &str) -> Vec<(String, i64)> {
        self.values
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// The instance types the metadata exports: `type_<Class>__<NAME>` -> (NAME, number).
    pub(crate) fn instance_types(&self) -> Vec<(String, i64)> {
        self.with_prefix(TYPE_PREFIX)
            .into_iter()
            .filter_map(|(k, v)| {
                let rest = &k[TYPE_PREFIX.len()..];
                let (_, name) = rest.split_once("__")?;
                Some((name.to_string(), v))
            })
            .collect()
    }
}
