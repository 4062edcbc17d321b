//! Which Node.js and V8 built the process.
//!
//! V8 keeps its version in `v8::internal::Version::{major_,minor_,build_,patch_}` (plain ints in
//! `.data`, exported by official builds) plus an embedder suffix such as `-node.33`. Node keeps
//! its own in `node::per_process::metadata.versions.node`, a `std::string` filled at start-up, so
//! that one is read from the core's memory; the release URL in `.rodata` is the fallback.
//!
//! Without the executable (a core copied to another machine) there are no symbols to find
//! either: both versions are then searched for in the core's writable memory, where node keeps
//! them as strings (`process.release.sourceUrl` holds `.../download/release/vX.Y.Z/...`, and
//! `process.versions.v8` V8's version with its `-node.N` suffix). The first well-formed match
//! wins; the layout loader trusts a version found this way only after checking the layout it
//! chooses on the core.

use coroner_corefile::Source;
use memchr::memmem;

use crate::ProcessImage;

/// The versions that identify the process's runtime.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    /// Node.js version with its leading `v`, e.g. `v20.20.2`.
    pub node: Option<String>,
    /// V8 version with the embedder suffix, e.g. `11.3.244.8-node.33`.
    pub v8: Option<String>,
    /// Where the Node version was read from.
    pub node_source: Option<VersionSource>,
}

/// Where a version string was found, for `info` to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionSource {
    /// `node::per_process::metadata` in the core's memory.
    Metadata,
    /// The release URL compiled into the executable's read-only data.
    ReleaseUrl,
    /// A version string in the core's writable memory (no executable at hand).
    CoreMemory,
}

impl VersionSource {
    /// A short description.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Metadata => "process metadata",
            VersionSource::ReleaseUrl => "executable's release URL",
            VersionSource::CoreMemory => "a version string in the core's memory",
        }
    }
}

const V8_MAJOR: &str = "_ZN2v88internal7Version6major_E";
const V8_MINOR: &str = "_ZN2v88internal7Version6minor_E";
const V8_BUILD: &str = "_ZN2v88internal7Version6build_E";
const V8_PATCH: &str = "_ZN2v88internal7Version6patch_E";
const V8_EMBEDDER: &str = "_ZN2v88internal7Version9embedder_E";
const NODE_METADATA: &str = "_ZN4node11per_process8metadataE";
const RELEASE_URL: &[u8] = b"/download/release/v";
/// What node appends to V8's version (`12.4.254.21-node.57`).
const V8_EMBEDDER_MARK: &[u8] = b"-node.";
/// libstdc++ `std::string`: data pointer, then length.
const STD_STRING_LEN_OFFSET: u64 = 8;
/// A version string is short; anything longer is not one.
const MAX_VERSION_LEN: u64 = 64;

/// Reads both versions from the executable's symbols and the core's memory, else from version
/// strings in the core's memory.
pub fn detect(image: &ProcessImage) -> Versions {
    let (node, node_source) = if let Some(v) = node_from_metadata(image) {
        (Some(v), Some(VersionSource::Metadata))
    } else if let Some(v) = image.exe_file().and_then(|f| release_url_version(f.data())) {
        (Some(v), Some(VersionSource::ReleaseUrl))
    } else if let Some(v) = in_writable_memory(image, release_url_version) {
        (Some(v), Some(VersionSource::CoreMemory))
    } else {
        (None, None)
    };
    Versions {
        node,
        v8: v8_version(image).or_else(|| in_writable_memory(image, embedded_v8_version)),
        node_source,
    }
}

/// The first version `find` finds in the core's own writable memory, region by region (each
/// region is one slice of the core file, so the search is a linear scan of what the core holds).
fn in_writable_memory(image: &ProcessImage, find: fn(&[u8]) -> Option<String>) -> Option<String> {
    let memory = image.memory();
    memory
        .regions()
        .iter()
        .filter(|r| r.perms.write && matches!(r.source, Source::Backing { index: 0, .. }))
        .find_map(|r| find(memory.bytes(r.start, usize::try_from(r.len()).ok()?).ok()?))
}

/// `X.Y.Z` after the first `/download/release/v` in `data` that is followed by a version and `/`.
fn release_url_version(data: &[u8]) -> Option<String> {
    memmem::find_iter(data, RELEASE_URL).find_map(|at| {
        let start = at + RELEASE_URL.len();
        let rest = data.get(start..(start + MAX_VERSION_LEN as usize).min(data.len()))?;
        let end = rest.iter().position(|&b| b == b'/')?;
        is_version(&rest[..end]).then(|| format!("v{}", String::from_utf8_lossy(&rest[..end])))
    })
}

/// The first `X.Y.Z[.W]-node.N` in `data`: V8's version as node embeds it.
fn embedded_v8_version(data: &[u8]) -> Option<String> {
    memmem::find_iter(data, V8_EMBEDDER_MARK).find_map(|at| {
        let is_part = |b: &u8| b.is_ascii_digit() || *b == b'.';
        let from = at.saturating_sub(MAX_VERSION_LEN as usize);
        let before = &data[from..at];
        let start = at - before.iter().rev().take_while(|b| is_part(b)).count();
        let after = at + V8_EMBEDDER_MARK.len();
        let digits = data[after..]
            .iter()
            .take(MAX_VERSION_LEN as usize)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &data[start..after + digits];
        (digits > 0 && is_version(text)).then(|| String::from_utf8_lossy(text).into_owned())
    })
}

fn v8_version(image: &ProcessImage) -> Option<String> {
    let int = |name| image.exe_data_i32(name);
    let (major, minor, build, patch) = (
        int(V8_MAJOR)?,
        int(V8_MINOR)?,
        int(V8_BUILD)?,
        int(V8_PATCH)?,
    );
    let mut v = format!("{major}.{minor}.{build}");
    if patch != 0 {
        v.push_str(&format!(".{patch}"));
    }
    if let Some(embedder) = image
        .exe_data_u64(V8_EMBEDDER)
        .and_then(|p| image.read_string(p, 32))
    {
        v.push_str(&embedder);
    }
    Some(v)
}

fn node_from_metadata(image: &ProcessImage) -> Option<String> {
    let addr = image.exe_runtime_address(NODE_METADATA)?;
    let mem = image.memory();
    let ptr = mem.read_u64(addr).ok()?;
    let len = mem.read_u64(addr + STD_STRING_LEN_OFFSET).ok()?;
    if len == 0 || len > MAX_VERSION_LEN {
        return None;
    }
    let bytes = mem.bytes(ptr, len as usize).ok()?;
    is_version(bytes).then(|| format!("v{}", String::from_utf8_lossy(bytes)))
}

/// `digits.digits.digits`, optionally with a `-suffix`.
fn is_version(s: &[u8]) -> bool {
    let core = s.split(|&b| b == b'-').next().unwrap_or(s);
    let parts: Vec<&[u8]> = core.split(|&b| b == b'.').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
}

#[cfg(test)]
mod tests {
    use super::{embedded_v8_version, is_version, release_url_version};

    #[test]
    fn versions_in_bytes() {
        let url = b"x/download/release/vX/ https://nodejs.org/download/release/v22.23.3/node-v22.23.3.tar.gz";
        assert_eq!(release_url_version(url).as_deref(), Some("v22.23.3"));
        assert_eq!(release_url_version(b"/download/release/v1.2"), None);
        let v8 = b"lib-node.js\0\x0012.4.254.21-node.57\0";
        assert_eq!(
            embedded_v8_version(v8).as_deref(),
            Some("12.4.254.21-node.57")
        );
        assert_eq!(embedded_v8_version(b"-node.5"), None);
        assert_eq!(embedded_v8_version(b"1.2.3-node."), None);
    }

    #[test]
    fn version_shapes() {
        assert!(is_version(b"20.20.2"));
        assert!(is_version(b"11.3.244.8-node.33"));
        assert!(!is_version(b"20.20"));
        assert!(!is_version(b"v20.1.2"));
        assert!(!is_version(b"1..2"));
    }
}
