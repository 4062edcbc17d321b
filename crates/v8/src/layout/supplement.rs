//! The per-Node-major supplements: the facts V8's postmortem metadata lacks (page headers,
//! isolate offsets, object size rules, frame layout, ...), kept as hand-written TOML files in
//! `crates/v8/layouts/` and embedded in the binary. (The complete instance type table is per
//! build, in the generated tables of `layouts/builds/`.) Each file's header says where its
//! facts come from and how they were checked.
//!
//! [`for_major`] is the one place in coroner that chooses by Node version; everything that
//! differs between versions is data in these files.

use std::collections::BTreeMap;

/// The value a supplement gives a fact that this version of V8 does not have.
pub(crate) const ABSENT: &str = "absent";

/// The supplements: Node major, file name, contents.
const SUPPLEMENTS: &[(u32, &str, &str)] = &[
    (18, "node18.toml", include_str!("../../layouts/node18.toml")),
    (20, "node20.toml", include_str!("../../layouts/node20.toml")),
    (22, "node22.toml", include_str!("../../layouts/node22.toml")),
    (24, "node24.toml", include_str!("../../layouts/node24.toml")),
    (25, "node25.toml", include_str!("../../layouts/node25.toml")),
    (26, "node26.toml", include_str!("../../layouts/node26.toml")),
];

/// The supplement of Node `major`: its file name and text.
pub(crate) fn for_major(major: u32) -> Option<(&'static str, &'static str)> {
    SUPPLEMENTS
        .iter()
        .find(|(m, _, _)| *m == major)
        .map(|&(_, name, text)| (name, text))
}

/// Every supplement: Node major, file name, text (for tests of the files themselves).
#[cfg(test)]
pub(crate) fn all() -> impl Iterator<Item = (u32, &'static str, &'static str)> {
    SUPPLEMENTS.iter().copied()
}

/// A parsed supplement: nested tables flattened to dotted keys (`page.area_start`); arrays and
/// arrays of tables are kept whole under their key.
#[derive(Debug)]
pub(crate) struct Supplement {
    values: BTreeMap<String, toml::Value>,
}

impl Supplement {
    /// Parses a supplement; the error is the TOML parser's message.
    pub(crate) fn parse(text: &str) -> Result<Supplement, String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let mut values = BTreeMap::new();
        flatten("", table, &mut values);
        Ok(Supplement { values })
    }

    /// The value at a dotted key.
    pub(crate) fn get(&self, key: &str) -> Option<&toml::Value> {
        self.values.get(key)
    }

    /// Every dotted key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// The integer entries directly under `section` (`instance_types.MAP_TYPE` -> `MAP_TYPE`).
    pub(crate) fn table_ints(&self, section: &str) -> Vec<(String, i64)> {
        let prefix = format!("{section}.");
        self.values
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, v)| {
                let name = &k[prefix.len()..];
                match v {
                    toml::Value::Integer(i) if !name.contains('.') => Some((name.to_string(), *i)),
                    _ => None,
                }
            })
            .collect()
    }
}

fn flatten(prefix: &str, table: toml::Table, out: &mut BTreeMap<String, toml::Value>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            other => {
                out.insert(key, other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supplement_parses() {
        for (major, file, text) in all() {
            let s = Supplement::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(s.get("object_size").is_some(), "{file}");
            assert!(
                text.contains(&format!("Node {major}")),
                "{file}: header names another version"
            );
        }
    }

    #[test]
    fn one_supplement_per_major() {
        assert_eq!(for_major(20).map(|(f, _)| f), Some("node20.toml"));
        assert_eq!(for_major(21), None);
    }
}
