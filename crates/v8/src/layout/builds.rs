//! The per-build layout tables (`crates/v8/layouts/builds/node-VERSION.toml`, written by
//! `cargo xtask layouts` from each official build): every `v8dbg_*` constant of the build and
//! its complete instance type table, keyed by Node version, V8 version and build id.
//!
//! They are what lets coroner read a core without its executable: the core's executable mapping
//! still carries the build id note in its first page, and that picks the table. A core of a
//! release that has no table of its own borrows the table whose range covers it, which the heap
//! then checks against the core before anything is decoded with it (see
//! [`Heap::with_layout`](crate::Heap::with_layout)).

use std::collections::BTreeMap;

use super::metadata::Metadata;
use super::MicrotaskQueueLayout;

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
    /// The releases the table is used for: `[covers.0, covers.1)`.
    pub covers: ((u32, u32, u32), (u32, u32, u32)),
    /// The `v8dbg_*` constants (names without the prefix).
    pub metadata: Metadata,
    /// The `nodedbg_*` constants (names without the prefix).
    pub node_metadata: Metadata,
    /// Instance type name -> number.
    pub instance_types: BTreeMap<String, u16>,
    /// The build's bytecode lengths (`[bytecodes] sizes`), when recorded.
    pub bytecode_sizes: Option<Vec<u8>>,
    /// Facts read from the build's code and read-only data (`[code]`).
    pub code: CodeFacts,
}

/// The `[code]` section of a build table: offsets no postmortem constant exports, read from
/// the executable's code and read-only data by `cargo xtask layouts`.
#[derive(Debug, Default)]
pub(crate) struct CodeFacts(BTreeMap<String, u64>);

impl CodeFacts {
    /// The fact `name`.
    pub(crate) fn get(&self, name: &str) -> Option<u64> {
        self.0.get(name).copied()
    }

    /// V8's `MicrotaskQueue` offsets, when all four are recorded.
    pub(crate) fn microtask_queue(&self) -> Option<MicrotaskQueueLayout> {
        Some(MicrotaskQueueLayout {
            size: self.get("microtask_queue_size")?,
            capacity: self.get("microtask_queue_capacity")?,
            start: self.get("microtask_queue_start")?,
            ring_buffer: self.get("microtask_queue_ring_buffer")?,
        })
    }
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
        let release = |key: &str| -> Result<(u32, u32, u32), TableError> {
            release_key(&field(key)?)
                .ok_or_else(|| format!("{file}: [build] {key} is not a release"))
        };
        Ok(BuildTable {
            file,
            covers: (release("covers_from")?, release("covers_to")?),
            node_version: field("node_version")?,
            v8_version: field("v8_version")?,
            build_id: field("build_id")?,
            major,
            metadata: Metadata::from_values(ints("v8dbg").into_iter().collect()),
            node_metadata: Metadata::from_values(ints("nodedbg").into_iter().collect()),
            instance_types: ints("instance_types")
                .into_iter()
                .filter_map(|(n, v)| Some((n, u16::try_from(v).ok()?)))
                .collect(),
            code: CodeFacts(
                ints("code")
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, u64::try_from(v).ok()?)))
                    .collect(),
            ),
            bytecode_sizes: table
                .get("bytecodes")
                .and_then(|b| b.get("sizes"))
                .and_then(toml::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| u8::try_from(v.as_integer()?).ok())
                        .collect()
                }),
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
    first(|t| t.build_id == build_id)
}

/// The table of release `release` (`22.23.3`, with or without `v`).
pub(crate) fn by_release(release: &str) -> Option<Result<BuildTable, TableError>> {
    let release = release.trim_start_matches('v');
    first(|t| t.node_version == release)
}

/// The table to try for Node `version` (`22.5.1`, with or without `v`), which has none of its
/// own: the one whose `covers_from`..`covers_to` range holds it (the xtask gives the tables of
/// a major ranges that cover it without overlap).
pub(crate) fn covering(version: &str) -> Option<Result<BuildTable, TableError>> {
    let wanted = release_key(version)?;
    first(|t| t.covers.0 <= wanted && wanted < t.covers.1)
}

/// The first table, in file order, that `wanted` accepts; a table that does not parse stops
/// the search with its error, so that a broken file is never skipped silently.
fn first(wanted: impl Fn(&BuildTable) -> bool) -> Option<Result<BuildTable, TableError>> {
    TABLES
        .iter()
        .map(|&(file, text)| BuildTable::parse(file, text))
        .find(|table| table.as_ref().map_or(true, &wanted))
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
            // The first number of the embedder range, which V8 11+ prints as `[api object] 0`.
            assert_eq!(
                t.instance_types
                    .get("JS_API_OBJECT_TYPE")
                    .map(|&n| i64::from(n)),
                t.metadata.get("APIObjectType"),
                "{file}"
            );
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
    fn an_untabled_release_borrows_the_table_covering_it() {
        let file = |v| covering(v).and_then(Result::ok).map(|t| t.file);
        assert_eq!(file("22.1.0"), Some("node-22.23.3.toml"));
        assert_eq!(file("v22.30.1"), Some("node-22.23.3.toml"));
        assert_eq!(file("22.23.3"), Some("node-22.23.3.toml"));
        assert_eq!(file("21.7.3"), None);
        assert_eq!(file("garbage"), None);
        assert!(by_build_id("00").is_none());
    }

    /// Every release of a tabled major is covered by exactly one table.
    #[test]
    fn the_tables_of_a_major_cover_it_once() {
        let tables: Vec<BuildTable> = files()
            .iter()
            .map(|&(f, t)| BuildTable::parse(f, t).expect("parses"))
            .collect();
        for t in &tables {
            let own = release_key(&t.node_version).expect("release");
            assert!(t.covers.0 <= own && own < t.covers.1, "{}", t.file);
            let (major, next) = (t.major, t.major + 1);
            for probe in [(major, 0, 0), own, (major, 99, 99), (next, 0, 0)] {
                let n = tables
                    .iter()
                    .filter(|x| x.major == major && x.covers.0 <= probe && probe < x.covers.1)
                    .count();
                let want = usize::from(probe.0 == major);
                assert_eq!(n, want, "{probe:?}: {n} tables");
            }
        }
    }
}
