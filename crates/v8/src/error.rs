//! The crate's errors: why V8's layout could not be loaded ([`LayoutError`]) and why a heap could
//! not be opened ([`HeapError`]). Each `Display` is one line: what is wrong, and what to do.

/// Why [`Layout::load`](crate::Layout::load) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The executable, whose `v8dbg_*` symbols describe V8's layout, is not available.
    #[error("the node executable is not available, and V8's layout is read from its v8dbg_* symbols: pass the executable with --exe")]
    NoExecutable,
    /// The executable has no `v8dbg_*` symbols.
    #[error("the executable has no v8dbg_* symbols (V8's postmortem metadata): pass an official Node build's executable with --exe")]
    NoMetadata,
    /// The Node version of the process could not be found.
    #[error("cannot tell which Node version made this core, so V8's layout cannot be chosen: pass the executable with --exe")]
    UnknownVersion,
    /// No supplement exists for this Node major.
    #[error("Node {found} is not supported: coroner knows V8's layout for Node {supported}")]
    UnsupportedVersion {
        /// The version found, e.g. `v21.7.3`.
        found: String,
        /// The supported majors, e.g. `18, 20, 22, 24`.
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
    /// Heap pages were found, but no isolate's roots table.
    #[error("{pages} V8 heap pages found but no isolate: the core lacks the isolate's memory, or the layout's isolate offsets are wrong for this build")]
    NoIsolate {
        /// Number of pages found.
        pages: usize,
    },
}
