//! Who holds an object: the queries behind `findrefs`, answered from the [`ReverseIndex`]: the
//! references to an object, each named as its holder sees it ([`references`]), the objects
//! that have a property of some name ([`with_property`]), and the objects whose property or
//! element is a string of some text ([`holding_string`]). Read-only objects are not in the
//! index: their referrers are found by a full scan.
//!
//! **Naming.** A reference held by a backing store is named from the JS object that owns the
//! store ([`HeapModel::owned_slot_name`]): a `PropertyArray` or `NameDictionary` slot as the
//! owner's property (`Walrus.label`), a `PropertyCell` of the global dictionary as a property of
//! the global object, an elements slot as an index (`(Array)[1952]`), a collection table's
//! slot as a Map value of its key or a Set member. The owners are the store's own referrers in
//! the index. A context is named after the first closure that holds it (`Context tick`), a
//! function after itself (`Function tick`).

use coroner_heap::{Class, EdgeName, HeapModel, Key, Role, Slot};
use rayon::prelude::*;

use crate::index::ObjectIndex;
use crate::names::holder_name;
use crate::reverse::{scan_referrers, ReverseIndex};

/// Most owners of one backing store tried when naming a reference it holds.
const MAX_OWNERS: usize = 64;

/// Why a reference query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefsError {
    /// No indexed object starts at the address.
    #[error("no heap object starts at {addr:#x}{inside}")]
    NotAnObject {
        /// The address asked about.
        addr: u64,
        /// Where it is, when inside an object (` (it is inside the ... at 0x...)`).
        inside: String,
    },
    /// The string to look for is empty.
    #[error("the text to look for is empty")]
    EmptyText,
}

/// One reference to an object, named as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The object that holds the reference: for a reference held by a JS object's backing
    /// store (property array, dictionary, elements, collection table), the JS object.
    pub holder: u64,
    /// The holder's name: its census name (`Walrus`, `(Array)`), `Function NAME` for
    /// functions, `Context NAME` for a closure context (NAME: a closure that holds it), the
    /// type name for V8 internals (`FixedArray`).
    pub holder_name: String,
    /// What the reference is.
    pub edge: EdgeName,
    /// The backing store (or stores, outermost first) holding the slot, when not the holder.
    pub via: Vec<u64>,
    /// The address of the slot.
    pub slot: u64,
    /// The referenced object.
    pub target: u64,
    /// Whether the reference is weak.
    pub weak: bool,
}

impl Reference {
    /// `Walrus.label`, `(Array)[1952]`, `Context tick.held`, `Map value of key "k"`.
    pub fn text(&self) -> String {
        format!("{}{}", self.holder_name, self.edge.suffix())
    }
}

/// The references to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct References {
    /// The object (untagged).
    pub target: u64,
    /// Its name (as a holder would be named).
    pub target_name: String,
    /// The references, by holder address then slot.
    pub references: Vec<Reference>,
    /// Whether they were found by scanning the whole heap (the target is on the read-only
    /// heap, which the index leaves out) rather than from the index.
    pub scanned: bool,
}

/// The object id of `addr` (untagged, or tagged as V8 stores it), or why there is none.
pub(crate) fn object_id(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    addr: u64,
) -> Result<u32, RefsError> {
    let untagged = model.untag(addr);
    if let Some(id) = index.id_of(untagged) {
        return Ok(id);
    }
    let inside = match index.containing(untagged) {
        Some(id) => {
            let start = index.addrs()[id as usize];
            format!(
                " (it is inside the {} at {start:#x}, {} bytes)",
                holder_name(model, index, None, id),
                index.sizes()[id as usize]
            )
        }
        None => " (not in any heap page's objects)".to_string(),
    };
    Err(RefsError::NotAnObject { addr, inside })
}

/// The references to object `target` (an id of `index`), each named (see the module
/// documentation). Read-only objects are looked for by a parallel scan of the whole heap.
pub(crate) fn references(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    target: u32,
) -> References {
    let scanned = !refs.is_indexed(target);
    let referrers: Vec<(u32, bool)> = if scanned {
        scan_referrers(model, index, target)
    } else {
        refs.referrers(target).collect()
    };
    let target_addr = index.addrs().get(target as usize).copied().unwrap_or(0);
    let mut out: Vec<Reference> = referrers
        .par_iter()
        .flat_map_iter(|&(r, weak)| name_references(model, index, refs, r, target_addr, weak))
        .collect();
    out.sort_by_key(|r| (r.holder, r.slot));
    out.dedup_by(|a, b| a.holder == b.holder && a.slot == b.slot);
    References {
        target: target_addr,
        target_name: holder_name(model, index, Some(refs), target),
        references: out,
        scanned,
    }
}

/// The named references referrer `r` holds to the object at `target`.
fn name_references(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    r: u32,
    target: u64,
    weak_only: bool,
) -> Vec<Reference> {
    let Some(&r_addr) = index.addrs().get(r as usize) else {
        return Vec::new();
    };
    let edges = model.edges_to(r_addr, target).unwrap_or_default();
    let holder = || holder_name(model, index, Some(refs), r);
    if edges.is_empty() {
        // The slot could not be decoded again; say who holds it all the same.
        return vec![Reference {
            holder: r_addr,
            holder_name: holder(),
            edge: EdgeName::Internal("reference".to_string()),
            via: Vec::new(),
            slot: r_addr,
            target,
            weak: weak_only,
        }];
    }
    let mut out = Vec::new();
    let owned = !refs.class_of(index, r).is_receiver() && refs.class_of(index, r) != Class::Context;
    for e in edges {
        let mut named = false;
        if owned {
            for (owner, via) in owners(index, refs, r) {
                let Some(&o_addr) = index.addrs().get(owner as usize) else {
                    continue;
                };
                if let Some(name) = model.owned_slot_name(o_addr, r_addr, e.slot) {
                    out.push(Reference {
                        holder: o_addr,
                        holder_name: holder_name(model, index, Some(refs), owner),
                        edge: name,
                        via: via.clone(),
                        slot: e.slot,
                        target,
                        weak: e.weak,
                    });
                    named = true;
                }
            }
        }
        if !named {
            out.push(Reference {
                holder: r_addr,
                holder_name: holder(),
                edge: e.name,
                via: Vec::new(),
                slot: e.slot,
                target,
                weak: e.weak,
            });
        }
    }
    out
}

/// The JS objects that may own backing store `store` (its referrers that are JS objects, and
/// for a `PropertyCell` the referrers of its global dictionary), each with the stores between
/// it and the slot (outermost first).
fn owners(index: &ObjectIndex, refs: &ReverseIndex, store: u32) -> Vec<(u32, Vec<u64>)> {
    let addr = |id: u32| index.addrs().get(id as usize).copied().unwrap_or(0);
    let mut out = Vec::new();
    for (o, _) in refs.referrers(store).take(MAX_OWNERS) {
        match refs.class_of(index, o) {
            c if c.is_receiver() => out.push((o, vec![addr(store)])),
            _ => {
                // A PropertyCell's owner is the global object of the dictionary holding it.
                if refs.role_of(index, o) == Some(Role::GlobalDictionary) {
                    for (g, _) in refs.referrers(o).take(MAX_OWNERS) {
                        if refs.class_of(index, g).is_receiver() {
                            out.push((g, vec![addr(o), addr(store)]));
                        }
                    }
                }
            }
        }
    }
    out
}

/// An object that has a property of the name asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyMatch {
    /// The object.
    pub holder: u64,
    /// Its name (see [`Reference::holder_name`]).
    pub holder_name: String,
    /// The property.
    pub edge: EdgeName,
    /// The property's value (a tagged word), or its accessor pair.
    pub value: u64,
    /// Whether it is an accessor property.
    pub accessor: bool,
}

/// Every JS object that has an own property named `name` (as `inspect` shows keys: `name`,
/// `Symbol(desc)`, `#private`), by address. Fast-mode maps are decided once each; objects in
/// dictionary mode are each read.
pub(crate) fn with_property(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: Option<&ReverseIndex>,
    name: &str,
) -> Vec<PropertyMatch> {
    // Per map id: Some(true) every object has it, Some(false) none does, None: look.
    let per_map: Vec<Option<bool>> = index
        .maps()
        .par_iter()
        .map(|&m| {
            let facts = model.map_facts(m);
            if facts.info.is_none() || !facts.class.is_receiver() {
                return Some(false);
            }
            if facts.dictionary_properties {
                return None;
            }
            match &*model.descriptors(m) {
                Ok(d) => Some(d.iter().any(|d| d.key.display() == name)),
                Err(_) => None,
            }
        })
        .collect();
    let runs: Vec<_> = index.run_ranges().collect();
    let mut found: Vec<PropertyMatch> = runs
        .par_iter()
        .flat_map_iter(|(_, ids)| {
            let mut out = Vec::new();
            for id in ids.clone() {
                let map_id = index.map_ids()[id] as usize;
                if per_map.get(map_id).copied().flatten() == Some(false) {
                    continue;
                }
                let addr = index.addrs()[id];
                if refs.is_some_and(|r| r.is_boilerplate(index, id as u32)) {
                    continue;
                }
                let Ok(props) = model.own_properties(addr) else {
                    continue;
                };
                for p in props.into_iter().filter(|p| p.key.display() == name) {
                    let (value, accessor) = match p.slot {
                        Slot::Data(w) => (w, false),
                        Slot::Accessor(w) => (w, true),
                    };
                    out.push(PropertyMatch {
                        holder: addr,
                        holder_name: holder_name(model, index, refs, id as u32),
                        edge: EdgeName::Property {
                            name: p.key.display(),
                            symbol: matches!(
                                p.key,
                                Key::Symbol {
                                    private_name: false,
                                    ..
                                }
                            ),
                        },
                        value,
                        accessor,
                    });
                }
            }
            out
        })
        .collect();
    found.sort_by_key(|m| m.holder);
    found
}

/// The strings whose text is exactly `text` (every representation), by id.
pub(crate) fn strings_equal_to(model: &HeapModel<'_>, index: &ObjectIndex, text: &str) -> Vec<u32> {
    let want: Vec<u16> = text.encode_utf16().collect();
    let len = want.len() as u64;
    let is_string: Vec<bool> = index
        .maps()
        .par_iter()
        .map(|&m| model.map_facts(m).class == Class::String)
        .collect();
    let runs: Vec<_> = index.run_ranges().collect();
    let mut found: Vec<u32> = runs
        .par_iter()
        .flat_map_iter(|(_, ids)| {
            let mut out = Vec::new();
            for id in ids.clone() {
                if !is_string
                    .get(index.map_ids()[id] as usize)
                    .copied()
                    .unwrap_or(false)
                {
                    continue;
                }
                let addr = index.addrs()[id];
                // The length first: most strings are rejected without decoding them.
                let same_length = model.string_length(addr).is_ok_and(|l| l == len);
                if !same_length {
                    continue;
                }
                if let Ok(s) = model.string(addr, Some(len)) {
                    if s.length == len && s.units == want {
                        out.push(id as u32);
                    }
                }
            }
            out
        })
        .collect();
    found.sort_unstable();
    found
}

/// The JS objects whose property or element is a string equal to `text`: the references to
/// every such string (of any representation) that are properties or elements of JS objects.
pub(crate) fn holding_string(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    text: &str,
) -> Result<Vec<Reference>, RefsError> {
    if text.is_empty() {
        return Err(RefsError::EmptyText);
    }
    let strings = strings_equal_to(model, index, text);
    let mut out: Vec<Reference> = strings
        .iter()
        .flat_map(|&s| references(model, index, refs, s).references)
        .filter(|r| r.edge.is_access())
        .filter(|r| {
            index.id_of(r.holder).is_some_and(|h| {
                refs.class_of(index, h).is_receiver() && !refs.is_boilerplate(index, h)
            })
        })
        .collect();
    out.sort_by_key(|r| (r.holder, r.slot));
    out.dedup_by(|a, b| a.holder == b.holder && a.slot == b.slot);
    Ok(out)
}
