//! Retainer paths (`retainers`): the shortest chains of references from a GC root to an
//! object, like the Retainers pane of Chrome DevTools, each printed as one line of edges:
//! `global.zooKeeper -> .zoo -> [17] -> Walrus`.
//!
//! **Roots** ([`Roots`]). coroner cannot read V8's own root visitors, so it takes what holds
//! objects from outside the heap, found in the core:
//! * the global objects (`global`) and native contexts: every `JSGlobalObject` and
//!   `NativeContext` of the heap;
//! * the stacks: every word of each thread's stack, from its stack pointer to the end of its
//!   stack mapping, that points exactly at the start of an object (a conservative scan: it
//!   covers the JS frames' functions, receivers, arguments and contexts, and handle scopes on
//!   the stack), labelled with the frame the word is in;
//! * the isolate: words of each isolate's own data (roots table, thread-local top, handle
//!   scope data) that point at an object;
//! * native memory: every other word of writable memory outside the heap's pages that points
//!   exactly at an object — a stand-in for V8's global handles, eternal handles, handle scope
//!   blocks and the microtask queue, which live in malloc'd memory. Such a word may be stale
//!   (freed memory); the output says `(native handle at 0x…)` so it can be judged.
//!
//! Global objects and native contexts end a path; the other roots do not: the search goes on
//! past them towards a global. Paths from native memory are shown only when no other root
//! gives one: freed memory keeps stale words (a heap snapshot taken before the dump leaves a
//! pointer to nearly every object in malloc'd memory), so such a path is a last resort.
//!
//! **Search.** Breadth-first over the [`ReverseIndex`], from the object back towards the
//! roots, level by level, each object visited once, bounded by a depth and a number of
//! objects visited. Weak references are skipped unless asked for. Within a level JS objects
//! come before contexts and those before V8 internals, so that when lengths tie the path
//! through named JS edges is found first. Each path is then named hop by hop: a hop through a
//! JS object's backing store (property array, dictionary, elements, collection table, the
//! global object's property cells) becomes one edge of the JS object (`.zoo`, `[17]`).

use coroner_corefile::Source;
use coroner_heap::v8::pages::PageKind;
use coroner_heap::{Class, EdgeName, HeapModel};
use rayon::prelude::*;

use crate::index::ObjectIndex;
use crate::refs::{holder_name, ReverseIndex};
use crate::stacks::ThreadStack;

/// Bytes of a thread's stack scanned at most.
const MAX_STACK_BYTES: u64 = 64 << 20;
/// Bytes of native memory per parallel scanning task.
const CHUNK_BYTES: u64 = 4 << 20;

/// Why an object is a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKind {
    /// A global object (`JSGlobalObject`).
    Global,
    /// A native context.
    NativeContext,
    /// A word of an isolate's own data.
    Isolate {
        /// The isolate's index.
        isolate: usize,
        /// The word's offset from the isolate.
        offset: u64,
    },
    /// A word of a thread's stack.
    Stack {
        /// The thread.
        tid: u32,
        /// The frame the word is in (its index in the thread's backtrace), and its function.
        frame: Option<(usize, String)>,
        /// The word's address.
        at: u64,
    },
    /// A word of native (non-heap) writable memory.
    Native {
        /// The word's address.
        at: u64,
    },
}

impl RootKind {
    /// Which kind wins when an object is a root several ways (lower first).
    fn rank(&self) -> u8 {
        match self {
            RootKind::Global => 0,
            RootKind::NativeContext => 1,
            RootKind::Isolate { .. } => 2,
            RootKind::Stack { .. } => 3,
            RootKind::Native { .. } => 4,
        }
    }

    /// Whether a path ends at this root (global objects and native contexts), rather than
    /// going on to other roots that hold it.
    pub fn is_terminal(&self) -> bool {
        matches!(self, RootKind::Global | RootKind::NativeContext)
    }

    /// Whether paths from this root are shown only when no other kind of root gives one:
    /// words of native memory, which may be stale (freed memory keeps its contents).
    pub fn is_fallback(&self) -> bool {
        matches!(self, RootKind::Native { .. })
    }

    /// `global`, `native context`, `isolate`, `stack`, `native handle`.
    pub fn kind(&self) -> &'static str {
        match self {
            RootKind::Global => "global",
            RootKind::NativeContext => "native context",
            RootKind::Isolate { .. } => "isolate",
            RootKind::Stack { .. } => "stack",
            RootKind::Native { .. } => "native handle",
        }
    }

    /// The address of the word that holds the root object, for roots held from outside the
    /// heap.
    pub fn at(&self) -> Option<u64> {
        match self {
            RootKind::Stack { at, .. } | RootKind::Native { at } => Some(*at),
            _ => None,
        }
    }

    /// What a path line starts with: nothing for a global object (its edges read
    /// `global.name`), else `(native context)`, `(isolate 0 data +0x1f8)`,
    /// `(stack of thread 1234, frame #9 inner, at 0x7ffd…)`, `(native handle at 0x55d…)`.
    pub fn describe(&self) -> String {
        match self {
            RootKind::Global => String::new(),
            RootKind::NativeContext => "(native context)".to_string(),
            RootKind::Isolate { isolate, offset } => {
                format!("(isolate {isolate} data +{offset:#x})")
            }
            RootKind::Stack { tid, frame, at } => match frame {
                Some((i, f)) => format!("(stack of thread {tid}, frame #{i} {f}, at {at:#x})"),
                None => format!("(stack of thread {tid} at {at:#x})"),
            },
            RootKind::Native { at } => format!("(native handle at {at:#x})"),
        }
    }
}

/// The roots of the heap: objects held from outside it (see the module documentation).
#[derive(Debug, Default)]
pub struct Roots {
    /// Root object ids, increasing, one entry each (its best kind).
    ids: Vec<u32>,
    kinds: Vec<RootKind>,
    /// Words found per kind: global objects, native contexts, isolate, stack, native.
    counts: [usize; 5],
}

impl Roots {
    /// Finds the roots of `model`'s heap: global objects and native contexts, the words of the
    /// threads' stacks (`stacks`, possibly empty), of the isolates' data and of the other
    /// writable memory outside the heap that point at objects.
    pub fn find(model: &HeapModel<'_>, index: &ObjectIndex, stacks: &[ThreadStack]) -> Roots {
        let layout = model.layout();
        let types = &layout.types;
        let mut found: Vec<(u32, RootKind)> = Vec::new();
        let map_types: Vec<Option<u16>> = index
            .maps()
            .iter()
            .map(|&m| model.map_info(m).ok().map(|i| i.instance_type))
            .collect();
        for (id, &m) in index.map_ids().iter().enumerate() {
            match map_types.get(m as usize).copied().flatten() {
                Some(t) if t == types.js_global_object => found.push((id as u32, RootKind::Global)),
                Some(t) if t == types.native_context => {
                    found.push((id as u32, RootKind::NativeContext))
                }
                _ => {}
            }
        }
        let finder = Finder::new(model, index);
        let memory = model.heap().memory();
        let regions = memory.regions();
        // Stacks: from each thread's stack pointer to the end of its mapping.
        let mut stack_ranges: Vec<(u64, u64)> = Vec::new();
        for t in stacks {
            let Some(sp) = t.raw.frames.first().map(|f| f.sp) else {
                continue;
            };
            let i = regions.partition_point(|r| r.start <= sp);
            let Some(region) = i.checked_sub(1).and_then(|i| regions.get(i)) else {
                continue;
            };
            if sp >= region.end {
                continue;
            }
            let start = sp & !7;
            let end = region.end.min(start.saturating_add(MAX_STACK_BYTES));
            stack_ranges.push((start, end));
            for (at, id) in finder.scan(start, end) {
                let k = t.raw.frames.partition_point(|f| f.sp <= at);
                let frame = k.checked_sub(1).map(|k| {
                    let name = t
                        .frames
                        .get(k)
                        .map(|f| without_parameters(&f.function).to_string())
                        .unwrap_or_default();
                    (k, name)
                });
                found.push((
                    id,
                    RootKind::Stack {
                        tid: t.tid,
                        frame,
                        at,
                    },
                ));
            }
        }
        stack_ranges.sort_unstable();
        // Every other writable word outside the heap's pages and the stacks.
        let mut excluded: Vec<(u64, u64)> = model
            .heap()
            .pages()
            .iter()
            .map(|p| (p.addr, p.addr.saturating_add(p.size)))
            .chain(stack_ranges.iter().copied())
            .collect();
        excluded.sort_unstable();
        let mut tasks: Vec<(u64, u64)> = Vec::new();
        for r in regions {
            if !r.perms.write || r.source == Source::Absent {
                continue;
            }
            for (s, e) in outside(r.start, r.end, &excluded) {
                let mut at = s;
                while at < e {
                    let to = e.min(at.saturating_add(CHUNK_BYTES));
                    tasks.push((at, to));
                    at = to;
                }
            }
        }
        let isolates: Vec<(u64, u64)> = model
            .heap()
            .isolates()
            .iter()
            .map(|i| (i.addr, i.heap))
            .collect();
        let native: Vec<(u32, RootKind)> = tasks
            .par_iter()
            .flat_map_iter(|&(s, e)| {
                finder.scan(s, e).into_iter().map(|(at, id)| {
                    let kind = match isolates.iter().position(|&(a, h)| a <= at && at < h) {
                        Some(i) => RootKind::Isolate {
                            isolate: i,
                            offset: at - isolates[i].0,
                        },
                        None => RootKind::Native { at },
                    };
                    (id, kind)
                })
            })
            .collect();
        found.extend(native);
        let mut counts = [0usize; 5];
        for (_, k) in &found {
            counts[k.rank() as usize] += 1;
        }
        found.sort_by_key(|a| (a.0, a.1.rank()));
        found.dedup_by_key(|(id, _)| *id);
        let (ids, kinds) = found.into_iter().unzip();
        Roots { ids, kinds, counts }
    }

    /// Why object `id` is a root, if it is one.
    pub fn get(&self, id: u32) -> Option<&RootKind> {
        let i = self.ids.binary_search(&id).ok()?;
        self.kinds.get(i)
    }

    /// Number of root objects.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no root at all.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many roots of each kind were found (before keeping one kind per object), by
    /// [`RootKind::kind`] name.
    pub fn counts(&self) -> [(&'static str, usize); 5] {
        [
            ("global", self.counts[0]),
            ("native context", self.counts[1]),
            ("isolate", self.counts[2]),
            ("stack", self.counts[3]),
            ("native handle", self.counts[4]),
        ]
    }
}

/// A C++ function name without its parameter list (`v8::internal::Invoke` for
/// `v8::internal::Invoke(v8::internal::Isolate*, ...)`); other names as they are.
fn without_parameters(name: &str) -> &str {
    if !name.contains("::") || !name.ends_with(')') {
        return name;
    }
    let mut depth = 0usize;
    for (i, c) in name.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &name[..i];
                }
            }
            _ => {}
        }
    }
    name
}

/// The parts of `[start, end)` outside `excluded` (sorted by start).
fn outside(start: u64, end: u64, excluded: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut cur = start;
    let first = excluded.partition_point(|&(_, e)| e <= start);
    for &(s, e) in excluded.iter().skip(first) {
        if s >= end {
            break;
        }
        if s > cur {
            out.push((cur, s));
        }
        cur = cur.max(e);
        if cur >= end {
            break;
        }
    }
    if cur < end {
        out.push((cur, end));
    }
    out
}

/// Finds the words of a memory range that point exactly at an indexed object outside the
/// read-only heap.
struct Finder<'m, 'a> {
    model: &'m HeapModel<'a>,
    index: &'m ObjectIndex,
    /// First and last byte of the heap's pages.
    bounds: (u64, u64),
    ro: Vec<(u64, u64)>,
}

impl<'m, 'a> Finder<'m, 'a> {
    fn new(model: &'m HeapModel<'a>, index: &'m ObjectIndex) -> Finder<'m, 'a> {
        let pages = model.heap().pages();
        let bounds = (
            pages.first().map_or(0, |p| p.addr),
            pages.last().map_or(0, |p| p.addr.saturating_add(p.size)),
        );
        let ro = pages
            .iter()
            .filter(|p| p.kind == PageKind::ReadOnly)
            .map(|p| (p.area_start, p.area_end))
            .collect();
        Finder {
            model,
            index,
            bounds,
            ro,
        }
    }

    /// (word address, object id) for every word of `[start, end)` that is a strong pointer to
    /// the start of an indexed object.
    fn scan(&self, start: u64, end: u64) -> Vec<(u64, u32)> {
        let t = &self.model.layout().tagging;
        let memory = self.model.heap().memory();
        let start = start.saturating_add(7) & !7;
        let mut out = Vec::new();
        let Ok(len) = usize::try_from(end.saturating_sub(start)) else {
            return out;
        };
        let Ok(bytes) = memory.bytes(start, len) else {
            return out;
        };
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let Ok(b) = <[u8; 8]>::try_from(chunk) else {
                continue;
            };
            let w = u64::from_le_bytes(b);
            if w & t.heap_object_tag_mask != t.heap_object_tag {
                continue;
            }
            let addr = w & !t.heap_object_tag_mask;
            if addr < self.bounds.0 || addr >= self.bounds.1 {
                continue;
            }
            if self.ro.iter().any(|&(s, e)| s <= addr && addr < e) {
                continue;
            }
            if let Some(id) = self.index.id_of(addr) {
                out.push((start.wrapping_add(i as u64 * 8), id));
            }
        }
        out
    }
}

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
pub fn retainers(
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
    // Roots in native memory, in the order met: used when the other roots give too few paths.
    let mut fallback: Vec<u32> = Vec::new();
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
                } else {
                    found.push(node);
                    if found.len() >= options.paths {
                        break 'search;
                    }
                    if kind.is_terminal() {
                        continue;
                    }
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
                root: roots.get(root)?.clone(),
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
    fn cpp_names_without_parameters() {
        assert_eq!(
            without_parameters(
                "v8::internal::Builtin_HandleApiCall(int, unsigned long*, v8::internal::Isolate*)"
            ),
            "v8::internal::Builtin_HandleApiCall"
        );
        assert_eq!(
            without_parameters("node::(anonymous namespace)::Run(f(int))"),
            "node::(anonymous namespace)::Run"
        );
        assert_eq!(without_parameters("findHolders"), "findHolders");
        assert_eq!(without_parameters("(anonymous)"), "(anonymous)");
    }

    #[test]
    fn ranges_outside_exclusions() {
        let ex = [(10, 20), (30, 40)];
        assert_eq!(outside(0, 50, &ex), vec![(0, 10), (20, 30), (40, 50)]);
        assert_eq!(outside(12, 35, &ex), vec![(20, 30)]);
        assert_eq!(outside(10, 20, &ex), vec![]);
        assert_eq!(outside(0, 5, &ex), vec![(0, 5)]);
    }

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
