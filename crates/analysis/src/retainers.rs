//! Retainer paths (`retainers`): the shortest chains of references from a GC root to an
//! object, like the Retainers pane of Chrome DevTools, each printed as one line of edges:
//! `global.zooKeeper -> .zoo -> [17] -> Walrus`.
//!
//! **Roots** are the heap's [`Roots`]: global objects, native contexts, stack words, isolate
//! data and words of native memory.
//!
//! Global objects and native contexts end a path; the other roots do not: the search goes on
//! past them towards a global. Paths are ranked by what a user can act on, then by length:
//! first from globals and native contexts (which hold the object for good), then from
//! JavaScript frames and isolate data (which let go of it when the frame returns or the
//! engine moves on), then from stack words found by a conservative scan (a native frame's, or
//! a JS frame's word that no variable holds: it may be stale, or an integer that looks like the
//! address), even when a later path is longer. Paths from native memory are shown only when no
//! other root gives one: freed memory keeps stale words (a heap snapshot taken before the dump
//! leaves a pointer to nearly every object in malloc'd memory), so such a path is a last resort.
//!
//! **Search.** Breadth-first over the [`ReverseIndex`], from the object back towards the
//! roots, level by level, each object visited once, bounded by a depth and a number of
//! objects visited. Weak references are skipped unless asked for. Within a level JS objects
//! come before contexts and those before V8 internals, so that when lengths tie the path
//! through named JS edges is found first. Each path is then named hop by hop: a hop through a
//! JS object's backing store (property array, dictionary, elements, collection table, the
//! global object's property cells) becomes one edge of the JS object (`.zoo`, `[17]`).

use coroner_heap::{Class, EdgeName, HeapModel};

use crate::index::ObjectIndex;
use crate::names::holder_name;
use crate::reverse::ReverseIndex;
use crate::roots::{RootKind, Roots};

/// How a retainer search is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetainerOptions {
    /// Paths wanted (each from a different root).
    pub paths: usize,
    /// Longest path, in references.
    pub max_depth: usize,
    /// Most objects visited.
    pub max_visited: usize,
    /// Follow weak references too.
    pub weak: bool,
}

impl Default for RetainerOptions {
    fn default() -> Self {
        RetainerOptions {
            paths: 5,
            max_depth: 64,
            max_visited: 10_000_000,
            weak: false,
        }
    }
}

/// One reference of a retainer path, named as its holder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The object holding the reference (a JS object, for references held by its backing
    /// stores).
    pub holder: u64,
    /// Its name (see [`Reference::holder_name`](crate::Reference::holder_name)).
    pub holder_name: String,
    /// The reference.
    pub edge: EdgeName,
    /// The backing stores the reference goes through (outermost first), if any.
    pub via: Vec<u64>,
    /// The object referenced.
    pub target: u64,
    /// Whether the reference is weak.
    pub weak: bool,
}

/// A chain of references from a root to the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainerPath {
    /// Why the first object is a root.
    pub root: RootKind,
    /// The root object.
    pub root_object: u64,
    /// The references, from the root to the object.
    pub hops: Vec<Hop>,
    /// The object's name.
    pub target_name: String,
}

impl RetainerPath {
    /// The path as one line: `global.zooKeeper -> .zoo -> [17] -> Walrus`; a root other than
    /// a global object is described first (`(native handle at 0x…) Timeout._onTimeout -> …`).
    /// Hops that are plain property or element accesses show only the access; the others name
    /// their holder (`Context tick.held`, `Map value of key "k"`, `Function tick (context)`).
    pub fn text(&self) -> String {
        let mut s = self.root.describe();
        if !s.is_empty() {
            s.push(' ');
        }
        if self.hops.is_empty() {
            s.push_str(&self.target_name);
            return s;
        }
        for (i, hop) in self.hops.iter().enumerate() {
            if i > 0 {
                s.push_str(" -> ");
            }
            if i == 0 || !hop.edge.is_access() {
                s.push_str(&hop.holder_name);
            }
            s.push_str(&hop.edge.suffix());
            if hop.weak {
                s.push_str(" (weak)");
            }
        }
        s.push_str(" -> ");
        s.push_str(&self.target_name);
        s
    }
}

/// The retainer paths of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retainers {
    /// The object.
    pub target: u64,
    /// Its name.
    pub target_name: String,
    /// The paths found, shortest first.
    pub paths: Vec<RetainerPath>,
    /// Objects visited by the search.
    pub visited: usize,
    /// The length of the longest paths searched.
    pub depth: usize,
    /// Why the search stopped before it had looked at everything that holds the object, when
    /// a limit stopped it (`None` also when enough paths were found).
    pub limited: Option<String>,
}

/// The search order within a level: JS objects, then contexts, then V8 internals.
fn priority(class: Class) -> u8 {
    if class.is_receiver() {
        0
    } else if class == Class::Context {
        1
    } else {
        2
    }
}

/// The shortest retainer paths of object `target` (an id of `index`).
pub(crate) fn retainers(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    roots: &Roots,
    target: u32,
    options: &RetainerOptions,
) -> Retainers {
    const UNSEEN: u32 = u32::MAX;
    let n = index.len();
    if !refs.is_indexed(target) {
        return Retainers {
            target: index.addrs().get(target as usize).copied().unwrap_or(0),
            target_name: holder_name(model, index, Some(refs), target),
            paths: Vec::new(),
            visited: 0,
            depth: 0,
            limited: Some(
                "it is on the read-only heap, which every isolate shares and no GC collects"
                    .to_string(),
            ),
        };
    }
    // Per object: the next object towards the target on the path found to it.
    let mut next = vec![UNSEEN; n];
    let addr = |id: u32| index.addrs().get(id as usize).copied().unwrap_or(0);
    let mut found: Vec<u32> = Vec::new();
    // Roots a user cannot act on, in the order met: stack words found by the conservative scan
    // that no frame is known to hold (shown after the others when they give too few paths), and words of
    // native memory (shown only when nothing else gives a path).
    let mut conservative: Vec<u32> = Vec::new();
    let mut fallback: Vec<u32> = Vec::new();
    // Roots that hold the object while the program runs but let go of it: a JavaScript frame
    // (until it returns), an isolate's data. Shown after the paths from globals and native
    // contexts, which hold it for good.
    let mut held: Vec<u32> = Vec::new();
    let (mut cut_by_depth, mut cut_by_visits) = (false, false);
    let mut visited = 1usize;
    let mut depth = 0usize;
    if let Some(slot) = next.get_mut(target as usize) {
        *slot = target;
    }
    let mut level = vec![target];
    'search: loop {
        let mut next_level = Vec::new();
        for &node in &level {
            if let Some(kind) = roots.get(node) {
                if kind.is_fallback() {
                    if fallback.len() < options.paths {
                        fallback.push(node);
                    }
                } else if kind.is_conservative() {
                    if conservative.len() < options.paths {
                        conservative.push(node);
                    }
                } else if kind.is_terminal() {
                    found.push(node);
                    if found.len() >= options.paths {
                        break 'search;
                    }
                    continue;
                } else if held.len() < options.paths {
                    held.push(node);
                }
            }
            if depth >= options.max_depth {
                cut_by_depth |= refs.referrer_count(node) > 0;
                continue;
            }
            for (r, weak) in refs.referrers(node) {
                if weak && !options.weak {
                    continue;
                }
                if let Some(slot) = next.get_mut(r as usize) {
                    if *slot == UNSEEN {
                        *slot = node;
                        visited += 1;
                        next_level.push(r);
                    }
                }
            }
            if visited >= options.max_visited {
                cut_by_visits = true;
                break 'search;
            }
        }
        if next_level.is_empty() {
            break;
        }
        next_level.sort_by_key(|&id| (priority(refs.class_of(index, id)), id));
        model.check_interrupt();
        level = next_level;
        depth += 1;
    }
    let limited = if found.len() >= options.paths {
        None
    } else if cut_by_visits {
        Some(format!(
            "the search stopped after visiting {} objects",
            options.max_visited
        ))
    } else if cut_by_depth {
        Some(format!(
            "paths longer than {} references were not searched",
            options.max_depth
        ))
    } else {
        None
    };
    found.extend(held);
    found.extend(conservative);
    found.truncate(options.paths);
    if found.is_empty() {
        found = fallback;
    }
    let target_name = holder_name(model, index, Some(refs), target);
    let paths = found
        .iter()
        .filter_map(|&root| {
            let mut chain = vec![root];
            let mut at = root;
            // Bounded by the depth searched.
            while at != target && chain.len() <= depth + 1 {
                at = *next.get(at as usize)?;
                chain.push(at);
            }
            Some(RetainerPath {
                root: roots.get(root)?,
                root_object: addr(root),
                hops: name_chain(model, index, refs, &chain),
                target_name: target_name.clone(),
            })
        })
        .collect();
    Retainers {
        target: addr(target),
        target_name,
        paths,
        visited,
        depth,
        limited,
    }
}

/// Names the references of a chain of object ids (root first), folding each hop through a JS
/// object's backing stores into one edge of the JS object.
fn name_chain(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    chain: &[u32],
) -> Vec<Hop> {
    let addr = |id: u32| index.addrs().get(id as usize).copied().unwrap_or(0);
    let name = |id: u32| holder_name(model, index, Some(refs), id);
    let mut hops = Vec::new();
    let mut i = 0;
    // Bounded: each turn moves at least one object along the chain.
    'hops: while i + 1 < chain.len() {
        let a = chain[i];
        if refs.class_of(index, a).is_receiver() {
            for j in [3usize, 2] {
                let (Some(&store), Some(&to)) = (chain.get(i + j - 1), chain.get(i + j)) else {
                    continue;
                };
                let Ok(edges) = model.edges_to(addr(store), addr(to)) else {
                    continue;
                };
                for e in edges {
                    if let Some(edge) = model.owned_slot_name(addr(a), addr(store), e.slot) {
                        hops.push(Hop {
                            holder: addr(a),
                            holder_name: name(a),
                            edge,
                            via: chain[i + 1..i + j].iter().map(|&v| addr(v)).collect(),
                            target: addr(to),
                            weak: e.weak,
                        });
                        i += j;
                        continue 'hops;
                    }
                }
            }
        }
        let b = chain[i + 1];
        let edge = model.edges_to(addr(a), addr(b)).ok().and_then(|mut e| {
            e.sort_by_key(|e| e.weak);
            e.into_iter().next()
        });
        hops.push(Hop {
            holder: addr(a),
            holder_name: name(a),
            edge: edge
                .as_ref()
                .map_or(EdgeName::Internal("reference".to_string()), |e| {
                    e.name.clone()
                }),
            via: Vec::new(),
            target: addr(b),
            weak: edge.is_some_and(|e| e.weak),
        });
        i += 1;
    }
    hops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_text() {
        let hop = |holder: &str, edge: EdgeName| Hop {
            holder: 1,
            holder_name: holder.to_string(),
            edge,
            via: Vec::new(),
            target: 2,
            weak: false,
        };
        let p = RetainerPath {
            root: RootKind::Global,
            root_object: 1,
            hops: vec![
                hop(
                    "global",
                    EdgeName::Property {
                        name: "zooKeeper".into(),
                        symbol: false,
                    },
                ),
                hop(
                    "Object",
                    EdgeName::Property {
                        name: "zoo".into(),
                        symbol: false,
                    },
                ),
                hop("(Array)", EdgeName::Element(17)),
            ],
            target_name: "Walrus".into(),
        };
        assert_eq!(p.text(), "global.zooKeeper -> .zoo -> [17] -> Walrus");
        let q = RetainerPath {
            root: RootKind::Native { at: 0x1000 },
            root_object: 1,
            hops: vec![
                hop("Function tick", EdgeName::Internal("context".into())),
                hop("Context tick", EdgeName::ContextVariable("held".into())),
            ],
            target_name: "HeldByClosure".into(),
        };
        assert_eq!(
            q.text(),
            "(native handle at 0x1000) Function tick (context) -> Context tick.held -> HeldByClosure"
        );
    }
}
