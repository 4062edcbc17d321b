//! Pieces the JSON of several commands share: addresses as `"0x…"` strings, and the parts of an
//! edge (`findrefs` rows and `retainers` hops name their edges alike).

use coroner_heap::EdgeName;
use serde::Serializer;

/// `0x1a2b`: how every address is written.
pub fn hex(a: u64) -> String {
    format!("{a:#x}")
}

/// Serializes an address as a `"0x…"` string (`#[serde(serialize_with = "json::address")]`).
pub fn address<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(*v))
}

/// Serializes an optional address as a `"0x…"` string, or `null`.
pub fn opt_address<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => address(v, s),
        None => s.serialize_none(),
    }
}

/// The name (property, variable, Map key) and the index an edge carries, for the `"name"` and
/// `"index"` keys.
pub fn edge_parts(edge: &EdgeName) -> (Option<String>, Option<u64>) {
    match edge {
        EdgeName::Property { name, .. } | EdgeName::ContextVariable(name) => {
            (Some(name.clone()), None)
        }
        EdgeName::MapValue(k) | EdgeName::WeakMapValue(k) => (Some(k.clone()), None),
        EdgeName::Element(i) => (None, Some(*i)),
        _ => (None, None),
    }
}

/// Serializes an optional number of milliseconds as an integer when it is whole (as node
/// writes them), else as it is.
pub fn opt_number<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match *v {
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => s.serialize_i64(n as i64),
        Some(n) => s.serialize_f64(n),
        None => s.serialize_none(),
    }
}
