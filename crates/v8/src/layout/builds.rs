//! The per-build layout tables (`crates/v8/layouts/builds/node-VERSION.toml`, written by
//! `cargo xtask layouts` from each official build): every `v8dbg_*` constant of the build and
//! its complete instance type table, keyed by Node version, V8 version and build id.
//!
//! They are what lets coroner read a core without its executable: the core's executable mapping
//! still carries the build id note in its first page, and that picks the table. A core of a
//! release that has no table of its own borrows the nearest table of its major, which the heap
//! then checks against the core before anything is decoded with it (see
//! [`Heap::with_layout`](crate::Heap::with_layout)).

use std::collections::BTreeMap;

use super::metadata::Metadata;

/// Every table: file name and contents, embedded by `build.rs`.
const TABLES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builds.rs"));

/// One build's table, parsed.
#[derive(Debug)]
pub(crate) struct BuildTable {
    /// The file, e.g. `node-22.23.3.toml`.
    pub file: &'static str,
    /// The release, e.g. `22.23.3` (no leading `v`).
    pub node_version: String,
    /// V8's version with the embedder suffix.
    pub v8_version: String,
    /// The executable's GNU build id, in hex.
    pub build_id: String,
    /// The Node major.
    pub major: u32,
    /// The `v8dbg_*` constants (names without the prefix).
    pub metadata: Metadata,
    /// Instance type name -> number.
    pub instance_types: BTreeMap<String, u16>,
}

/// Why a table could not be read: its file and the problem.
pub(crate) type TableError = String;

impl BuildTable {
    fn parse(file: &'static str, text: &str) -> Result<BuildTable, TableError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| format!("{file}: {}", e.message()))?;
        let build = table.get("build").and_then(toml::Value::as_table);
        let field = |key: &str| -> Result<String, TableError> {
            build
                .and_then(|b| b.get(key))
                .and_then(toml::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{file}: [build] has no {key}"))
        };
        let major = build
            .and_then(|b| b.get("major"))
            .and_then(toml::Value::as_integer)
            .and_then(|m| u32::try_from(m).ok())
            .ok_or_else(|| format!("{file}: [build] has no major"))?;
        let ints = |section: &str| -> Vec<(String, i64)> {
            table
                .get(section)
                .and_then(toml::Value::as_table)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_integer()?)))
                .collect()
        };
        Ok(BuildTable {
            file,
            node_version: field("node_version")?,
            v8_version: field("v8_version")?,
            build_id: field("build_id")?,
            major,
            metadata: Metadata::from_values(ints("v8dbg").into_iter().collect()),
            instance_types: ints("instance_types")
                .into_iter()
                .filter_map(|(n, v)| Some((n, u16::try_from(v).ok()?)))
                .collect(),
        })
    }
}

/// The file names and texts of every table (for tests of the files themselves).
#[cfg(test)]
pub(crate) fn files() -> &'static [(&'static str, &'static str)] {
    TABLES
}

/// The table of the build whose GNU build id is `build_id` (lower-case hex).
pub(crate) fn by_build_id(build_id: &str) -> Option<Result<BuildTable, TableError>> {
    TABLES
        .iter()
        .map(|&(file, text)| BuildTable::parse(file, text))
        .find(|table| table.as_ref().map_or(true, |t| t.build_id == build_id))
}

/// The table of release `release` (`22.23.3`, no `v`).
pub(crate) fn by_release(release: &str) -> Option<Result<BuildTable, TableError>> {
    let file = format!("node-{}.toml", release.trim_start_matches('v'));
    TABLES
        .iter()
        .find(|(f, _)| *f == file)
        .map(|&(file, text)| BuildTable::parse(file, text))
}

/// The table to try for Node `version` (`22.5.1`, no `v`), which has none of its own: the
/// tabled release of the same major nearest to it (the newest when it is newer than all).
pub(crate) fn nearest(major: u32, version: &str) -> Option<Result<BuildTable, TableError>> {
    let wanted = release_key(version)?;
    TABLES
        .iter()
        .filter_map(|&(file, _)| {
            let v = file.strip_prefix("node-")?.strip_suffix(".toml")?;
            let key = release_key(v)?;
            (key.0 == major).then_some((file, key))
        })
        .min_by_key(|(_, key)| (key.1.abs_diff(wanted.1), key.2.abs_diff(wanted.2)))
        .and_then(|(file, _)| TABLES.iter().find(|(f, _)| *f == file))
        .map(|&(file, text)| BuildTable::parse(file, text))
}

/// The tabled releases, e.g. `18.20.8, 20.20.2, ...`, for messages.
pub(crate) fn tabled_versions() -> String {
    let versions: Vec<&str> = TABLES
        .iter()
        .filter_map(|(f, _)| f.strip_prefix("node-")?.strip_suffix(".toml"))
        .collect();
    versions.join(", ")
}

/// `major.minor.patch` as numbers.
fn release_key(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.trim_start_matches('v').split(['.', '-']);
    let mut next = || parts.next()?.parse::<u32>().ok();
    Some((next()?, next()?, next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_parses_and_is_named_for_its_release() {
        assert!(files().len() >= 6, "{} tables", files().len());
        for &(file, text) in files() {
            let t = BuildTable::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(file, format!("node-{}.toml", t.node_version));
            assert_eq!(release_key(&t.node_version).map(|k| k.0), Some(t.major));
            assert_eq!(t.build_id.len(), 40, "{file}: build id {}", t.build_id);
            assert!(t.metadata.len() > 300, "{file}: {}", t.metadata.len());
            assert!(t.instance_types.len() > 250, "{file}");
            assert!(t.instance_types.contains_key("MAP_TYPE"), "{file}");
            let found = by_build_id(&t.build_id).map(|r| r.map(|b| b.file));
            assert_eq!(found, Some(Ok(file)));
        }
    }

    /// The table of each fixture's build holds exactly the constants its executable exports
    /// (so a core read without the executable is read with the same numbers); a release marked
    /// untabled has no table.
    #[test]
    fn each_table_holds_its_executables_constants() {
        use coroner_image::{hex, OpenOptions, ProcessImage};
        let mut seen = std::collections::BTreeSet::new();
        for f in coroner_fixtures::all() {
            if !seen.insert(f.version.clone()) {
                continue;
            }
            let image =
                ProcessImage::open(&f.core, &OpenOptions::with_exe(f.exe.clone())).expect("image");
            let exe = Metadata::read(&image).expect("the executable's metadata");
            let id = image
                .exe_file()
                .and_then(|e| e.build_id())
                .map(hex)
                .expect("build id");
            match by_build_id(&id) {
                Some(table) => {
                    let table = table.expect("table parses");
                    assert_eq!(table.node_version, f.version);
                    let differ = table.metadata.differences(&exe);
                    assert!(differ.is_empty(), "{}: {differ:?}", f.version);
                }
                None => assert!(
                    by_release(&f.version).is_none(),
                    "{}: a table of this release with another build id",
                    f.version
                ),
            }
        }
    }

    #[test]
    fn an_untabled_release_borrows_the_nearest_of_its_major() {
        let file = |major, v| nearest(major, v).and_then(Result::ok).map(|t| t.file);
        assert_eq!(file(22, "22.1.0"), Some("node-22.23.3.toml"));
        assert_eq!(file(22, "v22.30.1"), Some("node-22.23.3.toml"));
        assert_eq!(file(21, "21.7.3"), None);
        assert_eq!(file(22, "garbage"), None);
        assert!(by_build_id("00").is_none());
    }
}
