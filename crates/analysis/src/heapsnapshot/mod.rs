//! The heap as a V8 heap snapshot ([`Analysis::write_heap_snapshot`]): the `.heapsnapshot`
//! JSON that Chrome DevTools' Memory panel and memlab open, drawn from the same graph as
//! coroner's dominator tree, so that they compute the same retained sizes and distances.
//!
//! * **Nodes.** A synthetic root, `(GC roots)` under it, and one group of roots per kind:
//!   `(Strong roots)` (words of the isolates' own data, and the global objects or native
//!   contexts that are not user roots), `(Stack roots)`, `(Global handles)` (words of native
//!   memory: global and eternal handles, handle blocks; only those that hold what nothing else
//!   reaches, as in the dominator tree), `(Internalized strings)` and `(Read-only roots)`. The
//!   root's shortcut edges point at the user roots (the global objects; from V8 14.6 the native
//!   contexts), as V8 links them. Then every object of the heap but free space, as V8 types
//!   and names it ([`node_kind`](kinds)): JS objects by their census name, functions as
//!   `closure` by name, strings by their text, V8 internals as `system / X`.
//! * **Ids.** Object number `k` of the object index (the heap's objects in address order) has
//!   node id `2k + 1`; synthetic nodes have even ids. DevTools and memlab keep ids as 32-bit
//!   numbers, so an address cannot be one: `@ID`, as DevTools shows it, is given back to
//!   coroner as an address argument (`inspect @ID`), and [`object_of_node_id`] reads it.
//! * **Edges.** Each object's references as the heap model names them ([`SnapshotEdge`]), and
//!   the references the dominator tree adds: its map (`map`), the values of its backing stores
//!   as its own properties and elements, a WeakMap value held by its key and its table (named
//!   as V8 names the pair, see [`Ephemerons`]). References to the
//!   read-only heap are left out but for maps (the reverse index leaves them out: the read-only
//!   heap is held by `(Read-only roots)` alone), as are references of an object to itself.
//!
//! The file is streamed: the graph's edges are gathered first in compact form (12 bytes each),
//! then nodes, edges and strings are written in turn; memory stays bounded by the graph.

mod json;
mod kinds;
mod read;

use std::collections::HashMap;
use std::io::{self, Write};

use coroner_heap::{Class, EdgeName, Role};
use rayon::prelude::*;

use crate::dominators::{Dominators, RootSets};
use crate::ephemerons::Ephemerons;
use crate::roots::RootKind;
use crate::session::{Analysis, Stage};
use json::SnapshotWriter;
pub(crate) use kinds::node_kind;
pub use kinds::NodeType;
pub use read::SnapshotFile;

/// Objects whose edges are gathered in parallel at a time.
const CHUNK: usize = 1 << 14;

/// What `snapshot` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Only the objects of this isolate (and of no isolate: the read-only and shared heaps).
    pub isolate: Option<usize>,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// Nodes (objects and synthetic roots).
    pub nodes: u64,
    /// Edges.
    pub edges: u64,
    /// Distinct strings (names).
    pub strings: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// V8's edge types, in the order of the snapshot's `edge_types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeType {
    /// A closure context's variable.
    Context,
    /// An element (index).
    Element,
    /// A named property.
    Property,
    /// A V8-internal field, named.
    Internal,
    /// A V8-internal field no rule names (by index).
    Hidden,
    /// The root's link to a user root.
    Shortcut,
    /// A weak reference: ignored for dominators and distances.
    Weak,
}

impl EdgeType {
    const NAMES: [&'static str; 7] = [
        "context", "element", "property", "internal", "hidden", "shortcut", "weak",
    ];

    fn number(self) -> u8 {
        self as u8
    }
}

/// Why an edge of the export exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeOrigin {
    /// A reference in one of the object's own slots (the reverse index has the same).
    Own,
    /// The object's map.
    Map,
    /// A value of one of the object's backing stores (property array or dictionary, elements,
    /// a global object's property cells), drawn as the object's own.
    Store,
    /// A WeakMap value, held by its key and by its table.
    Ephemeron,
}

/// One edge of an object in the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotEdge {
    /// V8's type of the edge.
    pub kind: EdgeType,
    /// Its name (an index for elements and hidden edges).
    pub name: EdgeLabel,
    /// The referenced object's id.
    pub to: u32,
    /// Why it is there.
    pub origin: EdgeOrigin,
}

/// The name of an edge: a string, or an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeLabel {
    /// A named edge.
    Name(String),
    /// An indexed edge.
    Index(u64),
}

/// The node id of object `id` of the object index.
pub fn node_id(id: u32) -> u64 {
    u64::from(id) * 2 + 1
}

/// The object of a node id written by [`Analysis::write_heap_snapshot`] (`None` for the even
/// ids of synthetic nodes).
pub fn object_of_node_id(node: u64) -> Option<u32> {
    if node % 2 == 1 {
        u32::try_from(node / 2).ok()
    } else {
        None
    }
}

/// An edge in compact form: its type, its name (string index) or index, its target's ordinal.
#[derive(Debug, Clone, Copy)]
struct Packed {
    kind: u8,
    name: u32,
    to: u32,
}

/// A node in compact form.
#[derive(Debug, Clone, Copy)]
struct Node {
    kind: NodeType,
    name: u32,
    id: u64,
    size: u32,
    edges: u32,
}

/// The synthetic root groups, in the order they hang under `(GC roots)`.
const GROUPS: [&str; 5] = [
    "(Strong roots)",
    "(Stack roots)",
    "(Global handles)",
    "(Internalized strings)",
    "(Read-only roots)",
];

/// Names interned into the snapshot's string table.
#[derive(Default)]
struct Strings {
    index: HashMap<Box<str>, u32>,
    list: Vec<Box<str>>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.into());
        self.index.insert(s.into(), i);
        i
    }
}

impl Analysis<'_> {
    /// Every edge object `id` has in the heap snapshot export (see the module documentation),
    /// with objects named by id; none for an id out of range.
    pub fn snapshot_edges(&self, id: u32) -> Vec<SnapshotEdge> {
        self.edges_of(id, self.ephemerons())
    }

    /// Writes the heap as a V8 heap snapshot to `out` (see the module documentation). Builds
    /// the reverse index, the roots and the dominator tree first, if no command has.
    pub fn write_heap_snapshot(
        &self,
        out: &mut dyn Write,
        options: &SnapshotOptions,
    ) -> io::Result<SnapshotSummary> {
        let tree = self.dominators();
        self.stage(Stage::WritingSnapshot, || {
            self.write_snapshot(out, options, tree)
        })
    }

    /// [`Analysis::write_heap_snapshot`], once the dominator tree is built.
    fn write_snapshot(
        &self,
        out: &mut dyn Write,
        options: &SnapshotOptions,
        tree: &Dominators,
    ) -> io::Result<SnapshotSummary> {
        let model = self.model();
        let index = self.index();
        let refs = self.refs();
        let roots = self.roots();
        let n = index.len();
        let wanted = |id: u32| -> bool {
            refs.class_of(index, id) != Class::Free
                && match options.isolate {
                    None => true,
                    Some(i) => index.isolate_of(id).is_none_or(|own| own as usize == i),
                }
        };
        // Ordinals: the synthetic nodes first (root, (GC roots), the groups), then objects.
        let first = 2 + GROUPS.len() as u32;
        let mut ordinal = vec![u32::MAX; n];
        let mut objects: Vec<u32> = Vec::new();
        for id in 0..n as u32 {
            if wanted(id) {
                ordinal[id as usize] = first + objects.len() as u32;
                objects.push(id);
            }
        }
        let mut strings = Strings::default();
        let mut nodes: Vec<Node> = Vec::with_capacity(objects.len() + first as usize);
        let mut edges: Vec<Packed> = Vec::new();
        let empty = strings.intern("");
        // The root and its groups.
        let sets = RootSets::of(model, index, refs, roots);
        let mut groups: [Vec<u32>; 5] = Default::default();
        for &id in &sets.primary {
            let kind = roots.get(id);
            let group = match kind {
                Some(RootKind::Stack { .. }) => 1,
                _ if sets.user.binary_search(&id).is_ok() => continue,
                _ => 0,
            };
            groups[group].push(id);
        }
        groups[2] = tree.linked_fallback().to_vec();
        groups[3] = sets.internalized.clone();
        groups[4] = sets.read_only.clone();
        let mut root_edges = vec![Packed {
            kind: EdgeType::Element.number(),
            name: 1,
            to: 1,
        }];
        for (i, &id) in sets.user.iter().enumerate() {
            if let Some(&o) = ordinal.get(id as usize).filter(|&&o| o != u32::MAX) {
                root_edges.push(Packed {
                    kind: EdgeType::Shortcut.number(),
                    name: strings.intern(&(i + 1).to_string()),
                    to: o,
                });
            }
        }
        nodes.push(Node {
            kind: NodeType::Synthetic,
            name: empty,
            id: 0,
            size: 0,
            edges: root_edges.len() as u32,
        });
        edges.extend(root_edges);
        let gc_roots = strings.intern("(GC roots)");
        nodes.push(Node {
            kind: NodeType::Synthetic,
            name: gc_roots,
            id: 2,
            size: 0,
            edges: GROUPS.len() as u32,
        });
        for g in 0..GROUPS.len() {
            edges.push(Packed {
                kind: EdgeType::Element.number(),
                name: g as u32 + 1,
                to: 2 + g as u32,
            });
        }
        for (g, name) in GROUPS.iter().enumerate() {
            let held: Vec<u32> = groups[g]
                .iter()
                .filter_map(|&id| ordinal.get(id as usize).copied())
                .filter(|&o| o != u32::MAX)
                .collect();
            nodes.push(Node {
                kind: NodeType::Synthetic,
                name: strings.intern(name),
                id: 4 + 2 * g as u64,
                size: 0,
                edges: held.len() as u32,
            });
            edges.extend(held.iter().enumerate().map(|(i, &o)| Packed {
                kind: EdgeType::Element.number(),
                name: i as u32 + 1,
                to: o,
            }));
        }
        // The objects, a chunk at a time: named and their edges gathered in parallel, then
        // interned in order.
        let ephemerons = self.ephemerons();
        let sizes = index.sizes();
        for chunk in objects.chunks(CHUNK) {
            let gathered: Vec<(NodeType, String, u64, Vec<SnapshotEdge>)> = chunk
                .par_iter()
                .map(|&id| {
                    let addr = index.addrs()[id as usize];
                    let class = refs.class_of(index, id);
                    let (kind, name) = kinds::node_kind(model, index, id, class);
                    let own = u64::from(sizes.get(id as usize).copied().unwrap_or(0));
                    let size = own + model.external_bytes(addr, class);
                    (kind, name, size, self.edges_of(id, ephemerons))
                })
                .collect();
            for (&id, (kind, name, size, list)) in chunk.iter().zip(gathered) {
                let mut count = 0u32;
                for e in list {
                    let Some(&to) = ordinal.get(e.to as usize).filter(|&&o| o != u32::MAX) else {
                        continue;
                    };
                    let name = match e.name {
                        EdgeLabel::Name(s) => strings.intern(&s),
                        EdgeLabel::Index(i) => u32::try_from(i).unwrap_or(u32::MAX),
                    };
                    edges.push(Packed {
                        kind: e.kind.number(),
                        name,
                        to,
                    });
                    count += 1;
                }
                nodes.push(Node {
                    kind,
                    name: strings.intern(&name),
                    id: node_id(id),
                    size: u32::try_from(size).unwrap_or(u32::MAX),
                    edges: count,
                });
            }
        }
        let mut w = SnapshotWriter::new(out);
        w.header(nodes.len() as u64, edges.len() as u64)?;
        w.nodes(nodes.iter().map(|n| {
            [
                n.kind as u64,
                u64::from(n.name),
                n.id,
                u64::from(n.size),
                u64::from(n.edges),
            ]
        }))?;
        w.edges(
            edges
                .iter()
                .map(|e| [u64::from(e.kind), u64::from(e.name), u64::from(e.to)]),
        )?;
        w.strings(strings.list.iter().map(|s| &**s))?;
        Ok(SnapshotSummary {
            nodes: nodes.len() as u64,
            edges: edges.len() as u64,
            strings: strings.list.len() as u64,
            bytes: w.finish()?,
        })
    }

    /// The edges of object `id` (see [`Analysis::snapshot_edges`]).
    fn edges_of(&self, id: u32, ephemerons: &Ephemerons) -> Vec<SnapshotEdge> {
        let model = self.model();
        let index = self.index();
        let refs = self.refs();
        let Some(&addr) = index.addrs().get(id as usize) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // The target's id, when it is an object other than `id` outside the read-only heap.
        let target = |t: u64| -> Option<u32> {
            if model.is_read_only(t) {
                return None;
            }
            index.id_of(t).filter(|&t| t != id)
        };
        if let Some(map) = index
            .map_ids()
            .get(id as usize)
            .and_then(|&m| index.maps().get(m as usize))
            .and_then(|&m| index.id_of(m))
            .filter(|&m| m != id)
        {
            out.push(SnapshotEdge {
                kind: EdgeType::Internal,
                name: EdgeLabel::Name("map".into()),
                to: map,
                origin: EdgeOrigin::Map,
            });
        }
        for e in model.edges(addr).unwrap_or_default() {
            if let Some(to) = target(e.target) {
                let (kind, name) = edge_type(&e.name, e.weak);
                out.push(SnapshotEdge {
                    kind,
                    name,
                    to,
                    origin: EdgeOrigin::Own,
                });
            }
        }
        if refs.class_of(index, id).is_receiver() {
            for store in model.backing_stores(addr).into_iter().flatten() {
                let Some(s) = index.id_of(store) else {
                    continue;
                };
                let cells = refs.role_of(index, s) == Some(Role::GlobalDictionary);
                for e in model.edges(store).unwrap_or_default() {
                    let Some(to) = target(e.target).filter(|_| !e.weak) else {
                        continue;
                    };
                    let named = model.owned_slot_name(addr, store, e.slot);
                    let (kind, name) = match &named {
                        Some(n) => edge_type(n, false),
                        None => edge_type(&e.name, false),
                    };
                    out.push(SnapshotEdge {
                        kind,
                        name: name.clone(),
                        to,
                        origin: EdgeOrigin::Store,
                    });
                    if cells {
                        // The cell's value is the global's property.
                        for c in model.edges(e.target).unwrap_or_default() {
                            if let Some(v) = target(c.target).filter(|_| !c.weak) {
                                out.push(SnapshotEdge {
                                    kind,
                                    name: name.clone(),
                                    to: v,
                                    origin: EdgeOrigin::Store,
                                });
                            }
                        }
                    }
                }
            }
        }
        // A WeakMap entry's value, held by its key and by its table, the edge named as V8 names
        // it (DevTools recognises the pair by that name and keeps the key's edge for
        // dominators).
        for &i in ephemerons.held_by(id) {
            let Some(entry) = ephemerons.entry(i) else {
                continue;
            };
            let name = |id: u32| {
                let class = refs.class_of(index, id);
                kinds::node_kind(model, index, id, class).1
            };
            out.push(SnapshotEdge {
                kind: EdgeType::Internal,
                name: EdgeLabel::Name(format!(
                    "{} / part of key ({} @{}) -> value ({} @{}) pair in WeakMap (table @{})",
                    out.len() + 1,
                    name(entry.key),
                    node_id(entry.key),
                    name(entry.value),
                    node_id(entry.value),
                    node_id(entry.table)
                )),
                to: entry.value,
                origin: EdgeOrigin::Ephemeron,
            });
        }
        out
    }
}

/// V8's type and name of an edge the heap model names.
fn edge_type(name: &EdgeName, weak: bool) -> (EdgeType, EdgeLabel) {
    let text = |s: String| EdgeLabel::Name(s);
    let (kind, label) = match name {
        EdgeName::Property { name, .. } => (EdgeType::Property, text(name.clone())),
        EdgeName::Element(i) => (EdgeType::Element, EdgeLabel::Index(*i)),
        EdgeName::ContextVariable(n) => (EdgeType::Context, text(n.clone())),
        EdgeName::Internal(n) => (EdgeType::Internal, text(n.clone())),
        EdgeName::Slot(off) => (EdgeType::Hidden, EdgeLabel::Index(*off)),
        other => (EdgeType::Internal, text(other.suffix().trim().to_string())),
    };
    if !weak {
        return (kind, label);
    }
    let label = match label {
        EdgeLabel::Index(i) => EdgeLabel::Name(i.to_string()),
        named => named,
    };
    (EdgeType::Weak, label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        for id in [0u32, 1, 41, u32::MAX] {
            assert_eq!(object_of_node_id(node_id(id)), Some(id));
        }
        assert_eq!(object_of_node_id(0), None);
        assert_eq!(object_of_node_id(8), None);
    }

    #[test]
    fn edge_types_follow_the_names() {
        let (k, l) = edge_type(&EdgeName::Element(3), false);
        assert_eq!((k, l), (EdgeType::Element, EdgeLabel::Index(3)));
        let (k, l) = edge_type(&EdgeName::Element(3), true);
        assert_eq!((k, l), (EdgeType::Weak, EdgeLabel::Name("3".into())));
        let (k, _) = edge_type(&EdgeName::ContextVariable("x".into()), false);
        assert_eq!(k, EdgeType::Context);
        let (k, l) = edge_type(&EdgeName::SetMember, false);
        assert_eq!(
            (k, l),
            (EdgeType::Internal, EdgeLabel::Name("member".into()))
        );
        assert_eq!(EdgeType::NAMES[EdgeType::Weak.number() as usize], "weak");
    }
}
