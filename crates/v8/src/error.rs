//! The crate's errors: why V8's layout could not be loaded ([`LayoutError`]) and why a heap could
//! not be opened ([`HeapError`]). Each `Display` is one line: what is wrong, and what to do.

/// Why [`Layout::load`](crate::Layout::load) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// Neither the build id nor a version string identifies the Node build.
    #[error("cannot tell which Node build made this core: {} and no Node version string was found in its memory; pass the executable with --exe, or name the release with --node-version", match build_id { Some(id) => format!("its executable's build id {id} is not one coroner has a table for"), None => "it keeps no build id for its executable".to_string() })]
    UnknownBuild {
        /// The executable's build id as the core keeps it, when it does.
        build_id: Option<String>,
    },
    /// No table or supplement exists for this Node major.
    #[error("Node {found} is not supported: coroner knows V8's layout of Node {supported} and of the other releases of those majors (docs/versions.md says how to add one)")]
    UnsupportedVersion {
        /// The version found, e.g. `v21.7.3`.
        found: String,
        /// The tabled releases, e.g. `18.20.8, 20.20.2`.
        supported: String,
    },
    /// A pointer-compressed build (tagged fields of 4 bytes).
    #[error("this node was built with pointer compression (v8dbg_TaggedSize = {tagged_size}): coroner reads only uncompressed heaps, as in the official Node builds")]
    PointerCompression {
        /// `v8dbg_TaggedSize`.
        tagged_size: i64,
    },
    /// Facts the walk needs are in neither the metadata nor the supplement.
    #[error("V8 layout for Node {version} lacks {}: fix crates/v8/layouts/{supplement}", names.join(", "))]
    Missing {
        /// The Node version.
        version: String,
        /// The supplement file.
        supplement: &'static str,
        /// Each missing fact, with the names it was looked up by.
        names: Vec<String>,
    },
    /// Constants whose values cannot be (negative offsets, instance types past 16 bits): the
    /// executable or the core's copy of its data is damaged, not coroner's tables.
    #[error("the V8 constants of Node {version} are impossible ({}): the executable, or the core's copy of its data, looks damaged; pass an intact executable with --exe, or --core-only to use coroner's table of the build", names.join(", "))]
    Impossible {
        /// The Node version.
        version: String,
        /// Each impossible fact and its value.
        names: Vec<String>,
    },
    /// A build table is not valid (its file and the problem).
    #[error("layout table crates/v8/layouts/builds/{0}: regenerate it with `cargo xtask layouts`")]
    Table(String),
    /// The supplement file is not valid TOML.
    #[error("layout supplement crates/v8/layouts/{supplement} is not valid TOML: {message}")]
    Supplement {
        /// The supplement file.
        supplement: &'static str,
        /// The parser's message (first line).
        message: String,
    },
}

/// Why [`Heap::open`](crate::Heap::open) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeapError {
    /// The layout could not be loaded.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// No heap page header was found in the core.
    #[error("no V8 heap pages found in the core: it is not a core of a node process, or its heap memory was left out of the dump")]
    NoPages,
    /// The layout is another release's table, and the core contradicts it.
    #[error("the layout table {table}, {how}, does not fit this core: {why}; {advice}")]
    LayoutMismatch {
        /// The table tried.
        table: &'static str,
        /// Why that table was tried: `read for Node v22.5.1, which has no table of its own`.
        how: String,
        /// The check that failed.
        why: String,
        /// What the user can do: pass the executable (whose constants replace the table's),
        /// or, when it was passed, know that the core may be damaged or the release needs a
        /// table of its own.
        advice: &'static str,
    },
    /// Heap pages were found, but no isolate's roots table.
    #[error("{pages} V8 heap pages found but no isolate: the core lacks the isolate's memory, or the layout's isolate offsets are wrong for this build")]
    NoIsolate {
        /// Number of pages found.
        pages: usize,
    },
}
