//! The references an object holds, each named ([`HeapModel::edges`]: `.label`, `[3]`, a closure
//! variable, `context`, ...), for `findrefs` and `retainers`: the object's reference slots
//! ([`HeapModel::for_each_reference`]'s scan) named by the fields of its kind (`fields.rs`). A
//! reference a JS object holds through a backing store is an edge of the store, which
//! [`HeapModel::owned_slot_name`] names as the object sees it.

use coroner_v8::size::object_size;
use coroner_v8::Reader;

use crate::error::DecodeError;
use crate::model::HeapModel;
use crate::properties::Key;

/// What a reference is, seen from the object that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EdgeName {
    /// A named property (`holder.name`); `symbol` for symbol keys.
    Property {
        /// The key as shown (`name`, `Symbol(desc)`, `#private`).
        name: String,
        /// A symbol key.
        symbol: bool,
    },
    /// An element or an index of an array-shaped object (`holder[3]`).
    Element(u64),
    /// A variable of a closure context, by name.
    ContextVariable(String),
    /// A key of a `Map`.
    MapKey,
    /// A value of a `Map`, with its key in short form (`"k"`, `<Walrus 0x…>`).
    MapValue(String),
    /// A member of a `Set`.
    SetMember,
    /// A key of a `WeakMap`.
    WeakMapKey,
    /// A value of a `WeakMap`, with its key in short form.
    WeakMapValue(String),
    /// A member of a `WeakSet`.
    WeakSetMember,
    /// A V8-internal field, by name (`context`, `elements`, `prototype`, ...).
    Internal(String),
    /// A word no rule names, at this byte offset of its object.
    Slot(u64),
}

impl EdgeName {
    /// The edge of the property keyed by `key`.
    pub(crate) fn property(key: &Key) -> EdgeName {
        EdgeName::Property {
            name: key.display(),
            symbol: matches!(
                key,
                Key::Symbol {
                    private_name: false,
                    ..
                }
            ),
        }
    }

    /// A short word for the kind of edge (the `kind` of JSON output): `property`, `element`,
    /// `context variable`, `map key`, `map value`, `set member`, `weak map key`,
    /// `weak map value`, `weak set member`, `internal`, `slot`.
    pub fn kind(&self) -> &'static str {
        match self {
            EdgeName::Property { .. } => "property",
            EdgeName::Element(_) => "element",
            EdgeName::ContextVariable(_) => "context variable",
            EdgeName::MapKey => "map key",
            EdgeName::MapValue(_) => "map value",
            EdgeName::SetMember => "set member",
            EdgeName::WeakMapKey => "weak map key",
            EdgeName::WeakMapValue(_) => "weak map value",
            EdgeName::WeakSetMember => "weak set member",
            EdgeName::Internal(_) => "internal",
            EdgeName::Slot(_) => "slot",
        }
    }

    /// The edge written after its holder's name: `.label`, `[3]`, `.held` (a variable),
    /// ` value of key "k"`, ` member`, ` (context)`, ` (slot +0x18)`.
    pub fn suffix(&self) -> String {
        match self {
            EdgeName::Property { name, symbol } => {
                if !*symbol && is_identifier(name) {
                    format!(".{name}")
                } else if *symbol {
                    format!("[{name}]")
                } else {
                    format!("[{name:?}]")
                }
            }
            EdgeName::Element(i) => format!("[{i}]"),
            EdgeName::ContextVariable(n) => format!(".{n}"),
            EdgeName::MapKey | EdgeName::WeakMapKey => " key".to_string(),
            EdgeName::MapValue(k) | EdgeName::WeakMapValue(k) => format!(" value of key {k}"),
            EdgeName::SetMember | EdgeName::WeakSetMember => " member".to_string(),
            EdgeName::Internal(n) => format!(" ({n})"),
            EdgeName::Slot(off) => format!(" (slot +{off:#x})"),
        }
    }

    /// Whether JS code sees this reference: a property, an element, a closure variable or a
    /// collection entry (rather than a V8-internal field).
    pub fn is_js(&self) -> bool {
        !matches!(self, EdgeName::Internal(_) | EdgeName::Slot(_))
    }

    /// Whether the edge reads as a plain JS access (`.name`, `[3]`) after any holder.
    pub fn is_access(&self) -> bool {
        matches!(self, EdgeName::Property { .. } | EdgeName::Element(_))
    }
}

/// Whether `name` can follow a dot in JS (`a.b`): letters, digits, `_`, `$`, a leading `#`.
fn is_identifier(name: &str) -> bool {
    let body = name.strip_prefix('#').unwrap_or(name);
    let mut chars = body.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// One reference held by an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The address of the word that holds the reference.
    pub slot: u64,
    /// The referenced object (untagged).
    pub target: u64,
    /// Whether the reference is weak (a weak pointer, or a field the GC treats as weak).
    pub weak: bool,
    /// What the reference is.
    pub name: EdgeName,
}

impl HeapModel<'_> {
    /// Every reference the object at `addr` holds in its own slots, in slot order, each named
    /// (see the module documentation). Only words that point into a heap page's objects count
    /// (a raw field may look like a pointer). References held through the object's backing stores
    /// (its property array, dictionary, elements, collection table) are edges of those stores;
    /// [`HeapModel::owned_slot_name`] names them as the object sees them.
    pub fn edges(&self, addr: u64) -> Result<Vec<Edge>, DecodeError> {
        self.edges_filtered(addr, None)
    }

    /// The references the object at `addr` holds to the object at `target` (see
    /// [`HeapModel::edges`]); only those slots are named.
    pub fn edges_to(&self, addr: u64, target: u64) -> Result<Vec<Edge>, DecodeError> {
        self.edges_filtered(addr, Some(target))
    }

    /// The size of the object at `addr` in bytes (its shallow size), from its map.
    pub fn shallow_size(&self, addr: u64) -> Result<u64, DecodeError> {
        let h = self.header(addr)?;
        let info = self.map_info(h.map)?;
        object_size(self.layout(), self.heap().memory(), addr, &info).map_err(|e| match e {
            coroner_v8::size::SizeError::Read(r) => DecodeError::Read(r),
            _ => DecodeError::Invalid {
                addr,
                what: "object size",
                value: 0,
            },
        })
    }

    /// The edges of the object at `addr`, only those to `only` when it is given (the others are
    /// not named, which is the costly part).
    fn edges_filtered(&self, addr: u64, only: Option<u64>) -> Result<Vec<Edge>, DecodeError> {
        let layout = self.layout();
        let h = self.header(addr)?;
        let size = self.shallow_size(addr)?;
        let rule = self.slot_rule(h.instance_type);
        // The object's bytes taken in one piece when the core has them so (the usual case).
        let reader = Reader::with_window(self.heap().memory(), addr, addr.saturating_add(size));
        let mut found: Vec<(u64, u64, bool)> = Vec::new();
        // Consecutive slots often hold one target (an array of holes): asked once for it.
        let mut last: Option<(u64, bool)> = None;
        self.scan_slots(&reader, addr, size, &rule, |off, target, weak| {
            // A raw field can look like a pointer; only words into the heap's objects count.
            let wanted = match (only, last) {
                (Some(t), _) => t == target,
                (None, Some((t, wanted))) if t == target => wanted,
                (None, _) => {
                    let wanted = self.heap().page_of(target).is_some();
                    last = Some((target, wanted));
                    wanted
                }
            };
            if wanted {
                found.push((off, target, weak));
            }
        })?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let namer = self.namer(h, size);
        Ok(found
            .into_iter()
            .map(|(off, target, weak)| Edge {
                slot: addr.wrapping_add(off),
                target,
                weak,
                name: namer.name(off, layout.tagging.tagged_size),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        let p = |n: &str| EdgeName::Property {
            name: n.to_string(),
            symbol: false,
        };
        assert_eq!(p("label").suffix(), ".label");
        assert_eq!(p("#secret").suffix(), ".#secret");
        assert_eq!(p("a b").suffix(), "[\"a b\"]");
        assert_eq!(
            EdgeName::Property {
                name: "Symbol(x)".into(),
                symbol: true
            }
            .suffix(),
            "[Symbol(x)]"
        );
        assert_eq!(EdgeName::Element(1952).suffix(), "[1952]");
        assert_eq!(EdgeName::ContextVariable("hoard".into()).suffix(), ".hoard");
        assert_eq!(
            EdgeName::MapValue("\"k\"".into()).suffix(),
            " value of key \"k\""
        );
        assert_eq!(EdgeName::SetMember.suffix(), " member");
        assert_eq!(EdgeName::Slot(0x18).suffix(), " (slot +0x18)");
        let internal = |n: &str| EdgeName::Internal(n.to_string());
        assert_eq!(internal("context").suffix(), " (context)");
        assert!(EdgeName::Element(0).is_js() && !internal("map").is_js());
    }
}
