//! What keeps what alive ([`Dominators`]): the dominator tree of the heap graph, each object's
//! retained size (the bytes freed if it went: its own and those of every object it
//! dominates) and its distance from the roots, as Chrome DevTools computes them.
//!
//! The graph is drawn as V8's heap snapshot draws it: the objects of the [`ObjectIndex`]; the
//! strong references of the [`ReverseIndex`] (weak ones are left out, as DevTools leaves
//! them); each object's reference to its map (which the reverse index leaves out: a map's
//! descriptors and transitions are retained by the objects that use it); and, for every JS
//! object, the values of its backing stores (property array or dictionary, elements, and a
//! global object's property cells) as its own references too, so that a property is one hop
//! from its object; a WeakMap's value is held by its key (V8 draws it held by its key and by
//! the table, and DevTools keeps the key's edge alone for dominators: removing either would
//! free it; for distance, the value is one hop beyond the later of the two). One virtual root holds every root object ([`Roots`]), the read-only heap and the
//! internalized strings (V8's string table is one of its roots). Roots found only as words of
//! native memory (which may be stale) hold an object only when no other root reaches it: the
//! graph is walked from the other roots first, then from those.
//!
//! DevTools' rule for what JavaScript reaches is followed too: objects reached from the user
//! roots (the global objects; the native contexts from V8 14.6) are "page-owned", and a
//! reference from an object that is not page-owned to one that is does not count for
//! dominators (a handle or a stack slot holding an object the page holds anyway does not
//! make it the handle's). The virtual root's own edges always count.
//!
//! The immediate dominators are computed by the semi-NCA algorithm (Georgiadis; as in LLVM's
//! dominator trees): a depth-first numbering from the root, semi-dominators by path-compressed
//! evaluation over each object's referrers in reverse numbering, then each immediate
//! dominator as the nearest common ancestor of its semi-dominator and its tree parent. Every
//! step is iterative (explicit stacks, no recursion) and works on dense `u32` arrays indexed
//! by number, about 24 bytes per object plus 8 per reference. Retained sizes follow in one
//! pass over the numbering backwards (a dominator is numbered before what it dominates), and
//! distances by a breadth-first walk from the roots.
//!
//! Memory is what limits the size of heap this handles, so the graph is never held twice: the
//! successors (for the distances and the numbering) are dropped before the predecessors (for
//! semi-NCA) are built, both straight from the edges' sources ([`Edges`]), and the
//! predecessors keep only the edges semi-NCA looks at.

use coroner_heap::{Class, HeapModel, Role, UserRoots};
use rayon::prelude::*;

use crate::ephemerons::Ephemerons;
use crate::index::ObjectIndex;
use crate::reverse::ReverseIndex;
use crate::roots::{RootKind, Roots};

/// The objects the virtual root of the heap graph holds, by why (each list sorted, no free
/// space): the dominator tree and the heap snapshot export hold the same ones.
#[derive(Debug, Default)]
pub(crate) struct RootSets {
    /// The user roots of V8's heap snapshot: the global objects (from V8 14.6 the native
    /// contexts). What they reach is page-owned.
    pub user: Vec<u32>,
    /// Every root of [`Roots`] but words of native memory (the user roots among them).
    pub primary: Vec<u32>,
    /// Internalized strings: V8's string table is one of its roots.
    pub internalized: Vec<u32>,
    /// Objects of the read-only heap (`(Read-only roots)`).
    pub read_only: Vec<u32>,
    /// Roots found as words of native memory, held only when nothing else reaches them.
    pub fallback: Vec<u32>,
}

impl RootSets {
    pub(crate) fn of(
        model: &HeapModel<'_>,
        index: &ObjectIndex,
        refs: &ReverseIndex,
        roots: &Roots,
    ) -> RootSets {
        let n = index.len();
        // Free space and fillers are no objects (a stale native word may point at one).
        let object = |id: u32| (id as usize) < n && refs.class_of(index, id) != Class::Free;
        let mut sets = RootSets {
            // V8's heap snapshot counts the string table among the roots (no object retains
            // a property name it uses), and the read-only heap, which the reverse index
            // leaves out: their objects are held by the roots alone.
            internalized: (0..n as u32)
                .filter(|&id| refs.role_of(index, id) == Some(Role::InternalizedString))
                .collect(),
            read_only: refs.read_only_ids().filter(|&id| object(id)).collect(),
            ..RootSets::default()
        };
        for (id, kind) in roots.iter().filter(|&(id, _)| object(id)) {
            if kind.is_fallback() {
                sets.fallback.push(id);
                continue;
            }
            let user_root = match model.user_roots() {
                UserRoots::GlobalObjects => kind == RootKind::Global,
                UserRoots::NativeContexts => kind == RootKind::NativeContext,
            };
            if user_root {
                sets.user.push(id);
            }
            sets.primary.push(id);
        }
        for list in [
            &mut sets.user,
            &mut sets.primary,
            &mut sets.internalized,
            &mut sets.read_only,
            &mut sets.fallback,
        ] {
            list.sort_unstable();
            list.dedup();
        }
        sets
    }
}

/// Number of the virtual root in the depth-first numbering.
const ROOT: u32 = 0;
/// "Not numbered": an object no root reaches.
const NONE: u32 = u32::MAX;

/// Who dominates an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dominator {
    /// Only the roots: the object is a root, or is reached from several roots.
    Roots,
    /// The object with this id.
    Object(u32),
}

/// The dominator tree of the heap, with retained sizes and distances (see the module
/// documentation).
#[derive(Debug, Default)]
pub struct Dominators {
    /// Per object id: its depth-first number, or [`NONE`].
    number: Vec<u32>,
    /// Per number: the object id (`vertex[0]` is unused: the virtual root).
    vertex: Vec<u32>,
    /// Per number: the number of its immediate dominator.
    idom: Vec<u32>,
    /// Per number: retained size in bytes (`retained[0]`, the virtual root's, is the whole
    /// reachable heap). Kept by number, the order they are summed in, not copied per id.
    retained: Vec<u64>,
    /// Per object id: hops from the virtual root (1 for a root object, 0 when unreachable).
    distance: Vec<u32>,
    /// The roots found as words of native memory that the virtual root holds (those nothing
    /// else reaches), sorted.
    linked_fallback: Vec<u32>,
    /// Per object id, a bit: reached from a root other than a word of native memory.
    by_roots: Vec<u64>,
}

impl Dominators {
    /// Builds the tree of the heap of `index`, with its references `refs` and its `roots`.
    pub(crate) fn build(
        model: &HeapModel<'_>,
        index: &ObjectIndex,
        refs: &ReverseIndex,
        roots: &Roots,
        ephemerons: &Ephemerons,
    ) -> Dominators {
        let n = index.len();
        // Each step takes a fraction of a second on a million objects: Ctrl-C is heard between
        // them (and within the page walks below them).
        let edges = Edges::new(model, index, refs, ephemerons);
        model.check_interrupt();
        let forward = Graph::successors(&edges);
        model.check_interrupt();
        let sets = RootSets::of(model, index, refs, roots);
        let mut held_by_v8: Vec<u32> = sets
            .internalized
            .iter()
            .chain(&sets.read_only)
            .copied()
            .collect();
        held_by_v8.sort_unstable();
        held_by_v8.dedup();
        let (distance, page, by_roots) = distances(
            &forward,
            n,
            &[&sets.user, &sets.primary, &held_by_v8, &sets.fallback],
            ephemerons,
        );
        // The user roots first: the depth-first tree then reaches page-owned objects from them.
        let held: Vec<u32> = sets
            .user
            .iter()
            .chain(&sets.primary)
            .chain(&held_by_v8)
            .copied()
            .collect();
        model.check_interrupt();
        let (number, vertex, parent, linked) =
            numbering(&forward, n, &held, &sets.fallback, &page, &sets.user);
        model.check_interrupt();
        // The predecessors are needed by this step alone: built for it, dropped after it; the
        // successors are not needed any more.
        drop(forward);
        // Only the edges semi-NCA looks at: between reached objects, counting for dominators.
        let reached = |id: u32| number.get(id as usize).is_some_and(|&k| k != NONE);
        let backward = Graph::predecessors(&edges, |from, to| {
            reached(from) && reached(to) && essential(&page, from, to)
        });
        drop(edges);
        model.check_interrupt();
        let idom = semi_nca(&backward, &number, &vertex, parent, &linked, &page);
        drop(backward);
        model.check_interrupt();
        // Shallow sizes, with the bytes an object owns outside the heap (an ArrayBuffer's
        // backing store), as V8's heap snapshot counts them.
        let sizes = index.sizes();
        let by_number = retained_sizes(&vertex, &idom, |v| {
            let own = u64::from(sizes.get(v as usize).copied().unwrap_or(0));
            own + model.external_bytes(index.addrs()[v as usize], refs.class_of(index, v))
        });
        let linked_fallback = sets
            .fallback
            .iter()
            .copied()
            .filter(|&id| linked[id as usize])
            .collect();
        Dominators {
            number,
            vertex,
            idom,
            retained: by_number,
            distance,
            linked_fallback,
            by_roots,
        }
    }

    /// The dominator tree of a graph given whole (a heap snapshot file's): `n` nodes, the
    /// `edges` that count (weak ones left out), the `primary` nodes the virtual root holds (the
    /// `user` roots among them, sorted), which nodes are `page`-owned (DevTools' rule, as in
    /// [`Dominators::build`]), and each node's own bytes. Distances are not computed.
    pub(crate) fn of_graph(
        n: usize,
        edges: &[(u32, u32)],
        primary: &[u32],
        user: &[u32],
        page: &[bool],
        sizes: &[u64],
    ) -> Dominators {
        let forward = Graph::from_edges(n, || edges.iter().copied());
        let (number, vertex, parent, linked) = numbering(&forward, n, primary, &[], page, user);
        drop(forward);
        let reached = |id: u32| number.get(id as usize).is_some_and(|&k| k != NONE);
        let backward = Graph::from_edges(n, || {
            edges
                .iter()
                .filter(|&&(from, to)| reached(from) && reached(to) && essential(page, from, to))
                .map(|&(from, to)| (to, from))
        });
        let idom = semi_nca(&backward, &number, &vertex, parent, &linked, page);
        drop(backward);
        let retained = retained_sizes(&vertex, &idom, |v| {
            sizes.get(v as usize).copied().unwrap_or(0)
        });
        let mut by_roots = vec![0u64; n.div_ceil(64)];
        for &v in vertex.iter().skip(1) {
            by_roots[v as usize / 64] |= 1 << (v % 64);
        }
        Dominators {
            number,
            vertex,
            idom,
            retained,
            distance: vec![0; n],
            linked_fallback: Vec::new(),
            by_roots,
        }
    }

    /// Whether a root other than a word of native memory reaches object `id`: false for an
    /// object that only such words (which may be stale: freed memory keeps its contents) or
    /// nothing at all reach.
    pub fn reached_by_roots(&self, id: u32) -> bool {
        let id = id as usize;
        self.by_roots
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// The bytes object `id` keeps alive (its own included); `None` when no root reaches it.
    pub fn retained(&self, id: u32) -> Option<u64> {
        let k = *self.number.get(id as usize)?;
        self.retained.get(usize::try_from(k).ok()?).copied()
    }

    /// Hops from the roots to object `id` over strong references (1 for a root object);
    /// `None` when no root reaches it.
    pub fn distance(&self, id: u32) -> Option<u32> {
        self.distance.get(id as usize).copied().filter(|&d| d > 0)
    }

    /// The immediate dominator of object `id`; `None` when no root reaches it.
    pub fn dominator(&self, id: u32) -> Option<Dominator> {
        let k = *self.number.get(id as usize)?;
        let d = *self.idom.get(usize::try_from(k).ok()?)?;
        Some(match d {
            ROOT => Dominator::Roots,
            d => Dominator::Object(*self.vertex.get(d as usize)?),
        })
    }

    /// The objects `d` dominates immediately (the top of the tree for [`Dominator::Roots`]),
    /// largest retained size first.
    pub fn dominated_by(&self, d: Dominator) -> Vec<u32> {
        let k = match d {
            Dominator::Roots => ROOT,
            Dominator::Object(id) => match self.number.get(id as usize) {
                Some(&k) if k != NONE => k,
                _ => return Vec::new(),
            },
        };
        let mut out: Vec<u32> = self
            .idom
            .iter()
            .enumerate()
            .skip(1)
            .filter(|&(_, &i)| i == k)
            .map(|(n, _)| self.vertex[n])
            .collect();
        out.sort_by_key(|&id| std::cmp::Reverse(self.retained(id).unwrap_or(0)));
        out
    }

    /// The dominators of object `id`, nearest first, up to (not including) the roots.
    pub fn chain(&self, id: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut k = match self.number.get(id as usize) {
            Some(&k) if k != NONE => k,
            _ => return out,
        };
        // Bounded: each step goes to a smaller number.
        while let Some(&d) = self.idom.get(k as usize) {
            if d == ROOT || d >= k {
                break;
            }
            out.push(self.vertex[d as usize]);
            k = d;
        }
        out
    }

    /// The roots found only as words of native memory that hold what nothing else reaches
    /// (the others add nothing to the tree), sorted.
    pub(crate) fn linked_fallback(&self) -> &[u32] {
        &self.linked_fallback
    }

    /// Whether a root reaches object `id`.
    pub fn reached(&self, id: u32) -> bool {
        self.number.get(id as usize).is_some_and(|&k| k != NONE)
    }

    /// Per group, the bytes its objects keep alive together, as DevTools sums a constructor's
    /// retained size: the retained sizes of its objects that no other object of the group
    /// dominates (`group[id]` is object `id`'s group, `None` for objects of no group), and the
    /// smallest distance of its objects. Groups of no reachable object get `(0, None)`.
    pub fn group_totals(&self, group: &[Option<u32>], groups: usize) -> Vec<(u64, Option<u32>)> {
        let mut totals = vec![(0u64, None::<u32>); groups];
        // Walk the dominator tree depth first, counting per group how many of the node's
        // dominators belong to it: a node adds its retained size when none does.
        let children = self.children();
        let mut inside = vec![0u32; groups];
        let group_of = |k: u32| -> Option<usize> {
            let id = *self.vertex.get(k as usize)?;
            group
                .get(id as usize)
                .copied()
                .flatten()
                .map(|g| g as usize)
        };
        // (number, entering): a node is pushed twice, to enter and to leave.
        let mut stack: Vec<(u32, bool)> = vec![(ROOT, true)];
        while let Some((k, entering)) = stack.pop() {
            let g = if k == ROOT { None } else { group_of(k) };
            if !entering {
                if let Some(g) = g {
                    inside[g] -= 1;
                }
                continue;
            }
            if let Some(g) = g.filter(|&g| g < groups) {
                let id = self.vertex[k as usize] as usize;
                if inside[g] == 0 {
                    totals[g].0 += self.retained[k as usize];
                }
                let d = self.distance[id];
                if d > 0 && totals[g].1.is_none_or(|m| d < m) {
                    totals[g].1 = Some(d);
                }
                inside[g] += 1;
            }
            stack.push((k, false));
            let (from, to) = (children.0[k as usize], children.0[k as usize + 1]);
            stack.extend(
                children.1[from as usize..to as usize]
                    .iter()
                    .map(|&c| (c, true)),
            );
        }
        totals
    }

    /// The bytes the roots keep alive: every object a root reaches.
    pub fn reachable_bytes(&self) -> u64 {
        self.retained.get(ROOT as usize).copied().unwrap_or(0)
    }

    /// The objects that keep at least `min` bytes alive, each with what it dominates
    /// immediately (ids, largest retained size first): the candidates of a leak report. The
    /// walk goes down the tree from the roots only through objects of at least `min` bytes, so
    /// it visits at most `reachable_bytes / min` objects per level of the tree.
    pub(crate) fn large(&self, min: u64) -> Vec<(u32, Vec<u32>)> {
        let children = self.children();
        let min = min.max(1);
        let mut out = Vec::new();
        let mut stack = vec![ROOT];
        while let Some(k) = stack.pop() {
            let (from, to) = (children.0[k as usize], children.0[k as usize + 1]);
            let mut below: Vec<u32> = children.1[from as usize..to as usize].to_vec();
            below.sort_by_key(|&c| std::cmp::Reverse(self.retained[c as usize]));
            stack.extend(
                below
                    .iter()
                    .copied()
                    .take_while(|&c| self.retained[c as usize] >= min),
            );
            if k != ROOT {
                let ids = below.iter().map(|&c| self.vertex[c as usize]).collect();
                out.push((self.vertex[k as usize], ids));
            }
        }
        out
    }

    /// The top of the tree for a picture of it: the objects keeping the most bytes, taken
    /// largest first from the roots down (an object only after its dominator), at most
    /// `max_nodes` of them and none keeping less than `min_bytes`. Each is `(id, index in the
    /// list of its dominator)`, `None` for objects only the roots dominate.
    pub(crate) fn top(&self, max_nodes: usize, min_bytes: u64) -> Vec<(u32, Option<usize>)> {
        let children = self.children();
        let mut out = Vec::new();
        // (retained, number, index of the dominator in `out`).
        let mut frontier = std::collections::BinaryHeap::new();
        let push =
            |frontier: &mut std::collections::BinaryHeap<(u64, u32, usize)>, k: u32, at: usize| {
                let (from, to) = (children.0[k as usize], children.0[k as usize + 1]);
                for &c in &children.1[from as usize..to as usize] {
                    let bytes = self.retained[c as usize];
                    if bytes >= min_bytes {
                        frontier.push((bytes, c, at));
                    }
                }
            };
        push(&mut frontier, ROOT, usize::MAX);
        while out.len() < max_nodes {
            let Some((_, k, at)) = frontier.pop() else {
                break;
            };
            let index = out.len();
            out.push((self.vertex[k as usize], (at != usize::MAX).then_some(at)));
            push(&mut frontier, k, index);
        }
        out
    }

    /// Every object a root reaches with its immediate dominator (`None`: the roots), each
    /// after its dominator.
    pub(crate) fn top_down(&self) -> impl Iterator<Item = (u32, Option<u32>)> + '_ {
        self.vertex
            .iter()
            .zip(&self.idom)
            .skip(1)
            .map(|(&id, &d)| (id, (d != ROOT).then(|| self.vertex[d as usize])))
    }

    /// The dominator tree's children of each number, as compressed rows (offsets, numbers).
    fn children(&self) -> (Vec<u32>, Vec<u32>) {
        let count = self.vertex.len();
        let mut offsets = vec![0u32; count + 1];
        for &d in self.idom.iter().skip(1) {
            offsets[d as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut cursor = offsets.clone();
        let mut out = vec![0u32; count.saturating_sub(1)];
        for (k, &d) in self.idom.iter().enumerate().skip(1) {
            let c = &mut cursor[d as usize];
            out[*c as usize] = k as u32;
            *c += 1;
        }
        (offsets, out)
    }

    /// Bytes of memory the tree takes.
    pub fn memory_bytes(&self) -> usize {
        self.number.len() * 4
            + self.vertex.len() * 4
            + self.idom.len() * 4
            + self.retained.len() * 8
            + self.distance.len() * 4
            + self.linked_fallback.len() * 4
            + self.by_roots.len() * 8
    }
}

/// Edges of the heap graph as compressed rows: `targets[offsets[v]..offsets[v + 1]]` are the
/// ends of the edges of `v` (forward: what it references; transposed: what references it).
struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Graph {
    /// What each object references.
    fn successors(edges: &Edges<'_>) -> Graph {
        Graph::from_edges(edges.index.len(), || edges.iter())
    }

    /// What references each object, over the edges `keep` lets through.
    fn predecessors(edges: &Edges<'_>, keep: impl Fn(u32, u32) -> bool) -> Graph {
        Graph::from_edges(edges.index.len(), || {
            edges
                .iter()
                .filter(|&(from, to)| keep(from, to))
                .map(|(from, to)| (to, from))
        })
    }

    /// The graph of the edges (from, to) over `n` nodes that `edges` lists (twice: to count,
    /// then to place them).
    fn from_edges<I: Iterator<Item = (u32, u32)>>(n: usize, edges: impl Fn() -> I) -> Graph {
        let mut offsets = vec![0u32; n + 1];
        for (from, _) in edges() {
            if let Some(c) = offsets.get_mut(from as usize + 1) {
                *c = c.saturating_add(1);
            }
        }
        for i in 1..offsets.len() {
            offsets[i] = offsets[i].saturating_add(offsets[i - 1]);
        }
        let mut targets = vec![0u32; offsets[n] as usize];
        // Each row's start serves as its cursor while the row fills, ending at the next row's
        // start; shifted back by one row after, the offsets are whole again (no cursor copy).
        for (from, to) in edges() {
            if let Some(c) = offsets.get_mut(from as usize) {
                if let Some(slot) = targets.get_mut(*c as usize) {
                    *slot = to;
                    *c += 1;
                }
            }
        }
        offsets.copy_within(..n, 1);
        offsets[0] = 0;
        Graph { offsets, targets }
    }

    fn of(&self, id: u32) -> &[u32] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.targets.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// The edges of the heap graph (see the module documentation), listed as often as a graph
/// needs them without being stored whole: the strong references come from the reverse index
/// and the map references from the object index, each time; only the values of backing
/// stores and WeakMap entries, found by reading the heap, are kept.
struct Edges<'a> {
    index: &'a ObjectIndex,
    refs: &'a ReverseIndex,
    ephemerons: &'a Ephemerons,
    /// Per map of the object index, the map's object id.
    map_ids: Vec<Option<u32>>,
    /// The edges the heap had to be read for: an object to its backing stores' values.
    stores: Vec<(u32, u32)>,
}

impl<'a> Edges<'a> {
    fn new(
        model: &HeapModel<'_>,
        index: &'a ObjectIndex,
        refs: &'a ReverseIndex,
        ephemerons: &'a Ephemerons,
    ) -> Edges<'a> {
        let n = index.len();
        let mut edges = Edges {
            index,
            refs,
            ephemerons,
            map_ids: index.maps().iter().map(|&m| index.id_of(m)).collect(),
            stores: Vec::new(),
        };
        // What each backing store references, forward: its values become its owner's.
        let strong = Graph::from_edges(n, || edges.strong());
        edges.stores = (0..n as u32)
            .into_par_iter()
            .flat_map_iter(|v| {
                let mut out = Vec::new();
                if refs.class_of(index, v).is_receiver() {
                    let addr = index.addrs()[v as usize];
                    for store in model.backing_stores(addr).into_iter().flatten() {
                        let Some(s) = index.id_of(store) else {
                            continue;
                        };
                        let cells = refs.role_of(index, s) == Some(Role::GlobalDictionary);
                        for &value in strong.of(s) {
                            out.push((v, value));
                            if cells {
                                out.extend(strong.of(value).iter().map(|&x| (v, x)));
                            }
                        }
                    }
                }
                out.retain(|&(a, b)| a != b);
                out.into_iter()
            })
            .collect();
        edges
    }

    /// The strong references of the reverse index, as (referrer, target).
    fn strong(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.index.len() as u32).flat_map(move |t| {
            self.refs
                .referrers(t)
                .filter(|&(_, weak)| !weak)
                .map(move |(r, _)| (r, t))
        })
    }

    /// Every edge, as (from, to).
    fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        let maps = self
            .index
            .map_ids()
            .iter()
            .enumerate()
            .filter_map(move |(v, &m)| {
                let map = self.map_ids.get(m as usize).copied().flatten()?;
                (map != v as u32).then_some((v as u32, map))
            });
        // A WeakMap value counts as its key's (DevTools' rule for dominators).
        let keys = self.ephemerons.entries().iter().map(|e| (e.key, e.value));
        self.strong()
            .chain(maps)
            .chain(self.stores.iter().copied())
            .chain(keys)
    }
}

/// Per number, the bytes its object keeps alive: its `own` bytes and those of everything it
/// dominates, summed in one pass backwards (a dominator is numbered before what it dominates).
fn retained_sizes(vertex: &[u32], idom: &[u32], own: impl Fn(u32) -> u64 + Sync) -> Vec<u64> {
    let mut by_number: Vec<u64> = vertex
        .par_iter()
        .enumerate()
        .map(|(i, &v)| if i == ROOT as usize { 0 } else { own(v) })
        .collect();
    for i in (1..vertex.len()).rev() {
        let d = idom[i] as usize;
        by_number[d] = by_number[d].saturating_add(by_number[i]);
    }
    by_number
}

/// Whether the reference from `from` to `to` counts for dominators: not when it enters the
/// page-owned objects from outside them (DevTools' rule, see the module documentation).
fn essential(page: &[bool], from: u32, to: u32) -> bool {
    !page.get(to as usize).copied().unwrap_or(false)
        || page.get(from as usize).copied().unwrap_or(false)
}

/// Depth-first numbering from the virtual root (number 0): its children are the `primary`
/// roots (the `user` roots among them; the others only when not page-owned), then the
/// `fallback` roots not reached from them. Returns each object's number ([`NONE`] when
/// unreached), each number's object, each number's tree parent, and which objects the
/// virtual root holds.
fn numbering(
    forward: &Graph,
    n: usize,
    primary: &[u32],
    fallback: &[u32],
    page: &[bool],
    user: &[u32],
) -> (Vec<u32>, Vec<u32>, Vec<u32>, Vec<bool>) {
    let mut number = vec![NONE; n];
    let mut vertex = vec![NONE];
    let mut parent = vec![ROOT];
    let mut linked = vec![false; n];
    // (object, its number, next reference to follow).
    let mut stack: Vec<(u32, u32, usize)> = Vec::new();
    let visit = |start: u32,
                 number: &mut Vec<u32>,
                 vertex: &mut Vec<u32>,
                 parent: &mut Vec<u32>,
                 stack: &mut Vec<(u32, u32, usize)>| {
        if number[start as usize] != NONE {
            return;
        }
        let k = vertex.len() as u32;
        number[start as usize] = k;
        vertex.push(start);
        parent.push(ROOT);
        stack.push((start, k, 0));
        while let Some(top) = stack.last_mut() {
            let (v, kv, next) = *top;
            match forward.of(v).get(next) {
                Some(&t) => {
                    top.2 += 1;
                    if number[t as usize] == NONE && essential(page, v, t) {
                        let kt = vertex.len() as u32;
                        number[t as usize] = kt;
                        vertex.push(t);
                        parent.push(kv);
                        stack.push((t, kt, 0));
                    }
                }
                None => {
                    stack.pop();
                }
            }
        }
    };
    for &r in primary {
        // The root's edges to the user roots count; to other page-owned objects they do not.
        if page[r as usize] && user.binary_search(&r).is_err() {
            continue;
        }
        linked[r as usize] = true;
        visit(r, &mut number, &mut vertex, &mut parent, &mut stack);
    }
    for &r in fallback {
        if number[r as usize] == NONE && !page[r as usize] {
            linked[r as usize] = true;
            visit(r, &mut number, &mut vertex, &mut parent, &mut stack);
        }
    }
    (number, vertex, parent, linked)
}

/// The immediate dominator (as a number) of every number, by semi-NCA.
fn semi_nca(
    backward: &Graph,
    number: &[u32],
    vertex: &[u32],
    parent: Vec<u32>,
    linked: &[bool],
    page: &[bool],
) -> Vec<u32> {
    let count = vertex.len();
    // `ancestor` starts as the tree parent and is compressed by `eval`; `idom` keeps the tree
    // parent for the second step.
    let mut ancestor = parent.to_vec();
    let mut semi: Vec<u32> = (0..count as u32).collect();
    let mut label: Vec<u32> = (0..count as u32).collect();
    let mut path: Vec<u32> = Vec::new();
    for w in (1..count).rev() {
        let mut s = parent[w];
        let v_id = vertex[w] as usize;
        let mut consider = |u: u32, s: &mut u32| {
            let e = eval(u, w as u32 + 1, &mut ancestor, &semi, &mut label, &mut path);
            if semi[e as usize] < *s {
                *s = semi[e as usize];
            }
        };
        if linked.get(v_id).copied().unwrap_or(false) {
            consider(ROOT, &mut s);
        }
        for &r in backward.of(vertex[w]) {
            let k = number.get(r as usize).copied().unwrap_or(NONE);
            if k != NONE && essential(page, r, vertex[w]) {
                consider(k, &mut s);
            }
        }
        semi[w] = s;
    }
    let mut idom = parent;
    for w in 1..count {
        let mut candidate = idom[w];
        while candidate > semi[w] {
            candidate = idom[candidate as usize];
        }
        idom[w] = candidate;
    }
    idom
}

/// The number with the smallest semi-dominator on the path from `v` up through the part of
/// the forest linked so far (the numbers from `last_linked` on), compressing that path:
/// iteratively, with `path` as the stack.
fn eval(
    v: u32,
    last_linked: u32,
    ancestor: &mut [u32],
    semi: &[u32],
    label: &mut [u32],
    path: &mut Vec<u32>,
) -> u32 {
    if ancestor[v as usize] < last_linked {
        return label[v as usize];
    }
    path.clear();
    let mut x = v;
    loop {
        path.push(x);
        x = ancestor[x as usize];
        if ancestor[x as usize] < last_linked {
            break;
        }
    }
    // `x` is the last node of the path still linked; compress everything below it onto its
    // ancestor, carrying the smallest semi-dominator's label down.
    let mut p = x;
    let mut y = v;
    while let Some(top) = path.pop() {
        y = top;
        ancestor[y as usize] = ancestor[p as usize];
        if semi[label[p as usize] as usize] < semi[label[y as usize] as usize] {
            label[y as usize] = label[p as usize];
        }
        p = y;
    }
    label[y as usize]
}

/// Hops over strong references from the roots, 1 for a root, as DevTools counts them: first
/// from the user roots of V8's heap snapshot (the global objects; from V8 14.6 the native
/// contexts), so that what JavaScript reaches from a global gets its distance from there;
/// then, for what is left, from the other roots of each phase in turn. A WeakMap value is one
/// hop beyond the later of its key and its table (DevTools' rule: both hold it), unless
/// something else reaches it sooner. Also returns which objects the first phase reached: the
/// page-owned ones, and, as a bitset, which objects a phase before the last reached (the last
/// is the words of native memory, which may be stale).
fn distances(
    forward: &Graph,
    n: usize,
    phases: &[&[u32]],
    ephemerons: &Ephemerons,
) -> (Vec<u32>, Vec<bool>, Vec<u64>) {
    let mut distance = vec![0u32; n];
    let mut page = Vec::new();
    let mut before_last = vec![0u64; n.div_ceil(64)];
    // Per WeakMap entry: whether one of its key and table has been reached already.
    let mut half_reached = vec![false; ephemerons.entries().len()];
    let mut queue: std::collections::VecDeque<u32> = std::collections::VecDeque::new();
    for (i, phase) in phases.iter().enumerate() {
        if i + 1 == phases.len() {
            for (id, _) in distance.iter().enumerate().filter(|(_, &d)| d > 0) {
                before_last[id / 64] |= 1 << (id % 64);
            }
        }
        for &id in *phase {
            if distance[id as usize] == 0 {
                distance[id as usize] = 1;
                queue.push_back(id);
            }
        }
        while let Some(v) = queue.pop_front() {
            let d = distance[v as usize].saturating_add(1);
            let held = ephemerons.held_by(v);
            let mut reach = |t: u32| {
                if let Some(slot) = distance.get_mut(t as usize).filter(|s| **s == 0) {
                    *slot = d;
                    queue.push_back(t);
                }
            };
            for &t in forward.of(v) {
                // A key's edge to its value waits for the table (below).
                let entry_edge = held.iter().any(|&e| {
                    ephemerons
                        .entry(e)
                        .is_some_and(|e| e.key == v && e.value == t)
                });
                if !entry_edge {
                    reach(t);
                }
            }
            for &e in held {
                let Some(slot) = half_reached.get_mut(e as usize) else {
                    continue;
                };
                if *slot {
                    if let Some(entry) = ephemerons.entry(e) {
                        reach(entry.value);
                    }
                } else {
                    *slot = true;
                }
            }
        }
        if i == 0 {
            page = distance.iter().map(|&d| d > 0).collect();
        }
    }
    if page.is_empty() {
        page = vec![false; n];
    }
    (distance, page, before_last)
}
