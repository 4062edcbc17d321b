//! The crash's signature: a stable hash of what kind of end it was and the frames that lead to
//! it, without addresses, offsets or line numbers, so that the cores a fleet collects of one
//! bug group together across machines, restarts and builds (as ABRT's duplicate hash and
//! WinDbg's `!analyze` bucket do).

use super::reason::ReasonKind;
use crate::stacks::{NamedFrame, NamedKind};

/// Native frames taken (after libc's signal and abort machinery).
const NATIVE_FRAMES: usize = 3;
/// JavaScript frames taken.
const JS_FRAMES: usize = 5;

/// A crash signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// 16 hex digits.
    pub hash: String,
    /// What was hashed, one item per line: the kind, then `native NAME` and `js NAME (FILE)`.
    pub parts: Vec<String>,
}

/// The signature of a crash of `kind` whose crashing thread has `frames` (innermost first).
pub(crate) fn signature(kind: ReasonKind, frames: &[NamedFrame]) -> Signature {
    let mut parts = vec![kind.as_str().to_string()];
    let native = frames.iter().filter_map(|f| match &f.kind {
        NamedKind::Native { module, .. } if f.function != "??" && !is_libc(module.as_deref()) => {
            Some(format!("native {}", f.function))
        }
        _ => None,
    });
    parts.extend(native.take(NATIVE_FRAMES));
    let js = frames.iter().filter_map(|f| {
        let js = f.js().filter(|j| !j.hidden)?;
        let file = js.place.file.as_deref().map(base_name).unwrap_or("?");
        Some(format!("js {} ({file})", f.function))
    });
    parts.extend(js.take(JS_FRAMES));
    Signature {
        hash: format!("{:016x}", fnv1a(parts.join("\n").as_bytes())),
        parts,
    }
}

fn is_libc(module: Option<&str>) -> bool {
    module.is_some_and(|m| m.starts_with("libc.so") || m.starts_with("libpthread"))
}

/// The last path component (`/srv/app/lib/x.js` -> `x.js`); `node:internal/timers` as is.
fn base_name(file: &str) -> &str {
    if file.starts_with("node:") {
        return file;
    }
    file.rsplit('/').next().unwrap_or(file)
}

/// FNV-1a, 64 bits: small, stable across Rust releases and platforms (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of the FNV reference (http://www.isthe.com/chongo/src/fnv/test_fnv.c).
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name("/srv/app/x.js"), "x.js");
        assert_eq!(base_name("node:internal/timers"), "node:internal/timers");
    }
}
