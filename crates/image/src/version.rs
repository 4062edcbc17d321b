//! Which Node.js and V8 built the process.
//!
//! V8 keeps its version in `v8::internal::Version::{major_,minor_,build_,patch_}` (plain ints in
//! `.data`, exported by official builds) plus an embedder suffix such as `-node.33`. Node keeps
//! its own in `node::per_process::metadata.versions.node`, a `std::string` filled at start-up, so
//! that one is read from the core's memory; the release URL in `.rodata` is the fallback.

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
}

impl VersionSource {
    /// A short description.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Metadata => "process metadata",
            VersionSource::ReleaseUrl => "executable's release URL",
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
/// libstdc++ `std::string`: data pointer, then length.
const STD_STRING_LEN_OFFSET: u64 = 8;
/// A version string is short; anything longer is not one.
const MAX_VERSION_LEN: u64 = 64;

/// Reads both versions from the executable's symbols and the core's memory.
pub fn detect(image: &ProcessImage) -> Versions {
    let (node, node_source) = match node_from_metadata(image) {
        Some(v) => (Some(v), Some(VersionSource::Metadata)),
        None => match node_from_release_url(image) {
            Some(v) => (Some(v), Some(VersionSource::ReleaseUrl)),
            None => (None, None),
        },
    };
    Versions {
        node,
        v8: v8_version(image),
        node_source,
    }
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

fn node_from_release_url(image: &ProcessImage) -> Option<String> {
    let data = image.exe_file()?.data();
    let at = data
        .windows(RELEASE_URL.len())
        .position(|w| w == RELEASE_URL)?
        + RELEASE_URL.len();
    let rest = data.get(at..at + MAX_VERSION_LEN as usize)?;
    let end = rest.iter().position(|&b| b == b'/')?;
    is_version(&rest[..end]).then(|| format!("v{}", String::from_utf8_lossy(&rest[..end])))
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
    use super::is_version;

    #[test]
    fn version_shapes() {
        assert!(is_version(b"20.20.2"));
        assert!(is_version(b"11.3.244.8-node.33"));
        assert!(!is_version(b"20.20"));
        assert!(!is_version(b"v20.1.2"));
        assert!(!is_version(b"1..2"));
    }
}
