//! What grew between two cores of one process (`diff OLD`), or since a V8 heap snapshot of it:
//! per constructor, and per retainer path, as DevTools' Comparison view and memlab's
//! `find-leaks` compare two heap snapshots.
//!
//! Addresses mean nothing across cores (V8 moves objects when it compacts), so objects are
//! matched by *where they are held*: each reachable object gets a path key, the hash of the
//! last [`STEPS`] steps of the chain that leads to it down the dominator tree (its own step and
//! its nearest dominators'), a step being the object's name ([`step_name`]: a JS object's
//! constructor, a function's name; strings and V8's internals one word each) and the property
//! or closure variable its dominator holds it by, if any (`Map` held as `entryCache` -> its
//! table -> `CacheEntry`). Element indices and the entries of internal stores are not part of
//! a step, so the thousand values of one Map share one key, and so do the deep nodes of a
//! linked list. Only the last steps count because the top of a chain is what changes between
//! two cores of one process: a frame on the stack that holds a module's context at one moment
//! makes the roots its dominator, and the global object's the next. Objects present only in
//! the newer core show as the growth of their key's count: memlab's clusters of leaked
//! objects by retainer trace.
//!
//! The older side may be a heap snapshot file instead of a core. Its dominator tree is then
//! computed by DevTools' rules ([`snapshot_side`]), and both sides are named in the snapshot's
//! vocabulary, which a core can speak ([`core_kind`]): a core and V8's own snapshot name V8's
//! internals differently, hence the one word for them.
//!
//! A key's bytes are the retained sizes of its objects that no object of the same key
//! dominates. Paths are ranked by how much their bytes grew; a path whose growth is mostly
//! (more than half) that of new objects further down is left out for them, and so is a path
//! whose new objects are each brought by one new object of its parent path (`CacheEntry`'s
//! own arrays come with the `CacheEntry`s).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use coroner_heap::Class;
use rayon::prelude::*;

use crate::census::{CensusOptions, PROTOTYPE_NAME};
use crate::dominators::{Dominator, Dominators};
use crate::heapsnapshot::{
    node_kind, EdgeLabel, EdgeOrigin, EdgeType, NodeType, SnapshotEdge, SnapshotFile,
};
use crate::names::holder_name;
use crate::retainers::{RetainerOptions, RetainerPath};
use crate::session::{Analysis, Stage};

/// Longest chain of path keys followed up (a bound on data from a core).
const MAX_DEPTH: usize = 256;
/// Steps of the dominator chain a path key is made of: an object's own and its nearest
/// dominators'.
const STEPS: usize = 3;

/// Growth of one constructor (a census row of either core).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassGrowth {
    /// The census name (between a core and a heap snapshot: DevTools' group, see
    /// `class_name`).
    pub name: String,
    /// Objects in the older and the newer core.
    pub count: (u64, u64),
    /// Their shallow bytes.
    pub size: (u64, u64),
    /// The bytes they keep alive.
    pub retained: (u64, u64),
}

/// Growth of one retainer path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathGrowth {
    /// The name of the objects at its end.
    pub name: String,
    /// Objects at it in the older and the newer core.
    pub count: (u64, u64),
    /// The bytes they keep alive.
    pub retained: (u64, u64),
    /// One of its objects in the newer core.
    pub sample: u64,
    /// The shortest path from a root to that object, as `retainers` prints it.
    pub path: Option<RetainerPath>,
}

impl PathGrowth {
    /// Bytes gained (negative: lost).
    pub fn retained_delta(&self) -> i64 {
        delta(self.retained)
    }

    /// Objects gained.
    pub fn count_delta(&self) -> i64 {
        delta(self.count)
    }
}

impl ClassGrowth {
    /// Objects gained.
    pub fn count_delta(&self) -> i64 {
        delta(self.count)
    }

    /// Shallow bytes gained.
    pub fn size_delta(&self) -> i64 {
        delta(self.size)
    }

    /// Retained bytes gained.
    pub fn retained_delta(&self) -> i64 {
        delta(self.retained)
    }
}

fn delta((old, new): (u64, u64)) -> i64 {
    (new as i64).saturating_sub(old as i64)
}

/// What grew between two cores.
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    /// Every constructor of either core, most bytes gained first (their own bytes, as
    /// DevTools' Comparison view sorts: a container's retained size grows with whatever it
    /// holds), then most objects gained.
    pub classes: Vec<ClassGrowth>,
    /// The paths that grew, most retained bytes gained first (at most the limit asked for).
    pub paths: Vec<PathGrowth>,
    /// Bytes the roots keep alive in the older and the newer core.
    pub reachable: (u64, u64),
}

/// What `diff` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthOptions {
    /// Retainer paths wanted at most.
    pub paths: usize,
    /// Compare V8 internals' rows too (as `findjsobjects --all`).
    pub all: bool,
}

impl Default for GrowthOptions {
    fn default() -> Self {
        GrowthOptions {
            paths: 10,
            all: false,
        }
    }
}

/// One path key's objects in one core.
#[derive(Debug, Clone, Copy, Default)]
struct KeyStats {
    count: u64,
    retained: u64,
    /// The key of the dominator's path (0 for the roots).
    parent: u64,
    /// One object with this key.
    sample: u32,
}

impl Analysis<'_> {
    /// What grew from `older` (an earlier core of the same process) to this core: per
    /// constructor, and the retainer paths that grew most (see the module documentation).
    pub fn growth_since(&self, older: &Analysis<'_>, options: &GrowthOptions) -> Growth {
        let census = |a: &Analysis<'_>| {
            a.census(&CensusOptions {
                all: options.all,
                retained: true,
                reachable_only: true,
                ..CensusOptions::default()
            })
        };
        let rows = |a: &Analysis<'_>| -> HashMap<String, (u64, u64, u64)> {
            census(a)
                .rows
                .iter()
                .map(|r| (r.name.clone(), (r.count, r.size, r.retained.unwrap_or(0))))
                .collect()
        };
        let (old_rows, new_rows) = (rows(older), rows(self));
        let old_keys = older.path_keys();
        let new_keys = self.path_keys();
        self.stage(Stage::ComparingCores, || Growth {
            classes: compare_rows(&old_rows, &new_rows),
            paths: self.grown_paths(&old_keys, &new_keys, options.paths),
            reachable: (
                older.dominators().reachable_bytes(),
                self.dominators().reachable_bytes(),
            ),
        })
    }

    /// What grew from `older`, a V8 heap snapshot of the same process taken earlier, to this
    /// core: as [`Analysis::growth_since`], with both sides' rows grouped as DevTools' Summary
    /// groups a snapshot's objects (JS objects by constructor, the rest by kind), and the
    /// snapshot's dominator tree computed by DevTools' rules.
    pub fn growth_since_snapshot(&self, older: &SnapshotFile, options: &GrowthOptions) -> Growth {
        let tree = self.dominators();
        let new_keys = self.path_keys();
        self.stage(Stage::ComparingCores, || {
            let (old_tree, steps, labels) = snapshot_side(older);
            let old_keys = key_stats(&old_tree, &steps, &labels, || {
                self.model().check_interrupt()
            });
            let old_rows = class_totals(
                &old_tree,
                |v| class_name(older.type_of(v), older.name_of(v)),
                |v| older.self_size.get(v as usize).copied().unwrap_or(0),
            );
            let refs = self.refs();
            let index = self.index();
            let new_rows = class_totals(
                tree,
                |id| {
                    let (kind, name) = core_kind(self, id, refs.class_of(index, id));
                    class_name(kind, &name)
                },
                |id| u64::from(index.sizes()[id as usize]),
            );
            Growth {
                classes: compare_rows(&old_rows, &new_rows),
                paths: self.grown_paths(&old_keys, &new_keys, options.paths),
                reachable: (old_tree.reachable_bytes(), tree.reachable_bytes()),
            }
        })
    }

    /// The paths of `new` that grew since `old`, ranked and pruned (module documentation).
    fn grown_paths(
        &self,
        old: &HashMap<u64, KeyStats>,
        new: &HashMap<u64, KeyStats>,
        limit: usize,
    ) -> Vec<PathGrowth> {
        let before = |k: &u64| old.get(k).copied().unwrap_or_default();
        let grew = |k: &u64, s: &KeyStats| s.retained > before(k).retained;
        // New objects each brought by a new object of the parent path (`CacheEntry`'s own
        // arrays come with the `CacheEntry`s): they add nothing to say.
        let mut explained: HashSet<u64> = HashSet::new();
        let gained: Vec<(u64, KeyStats)> = new
            .iter()
            .filter(|(k, s)| s.count > before(k).count)
            .map(|(k, s)| (*k, *s))
            .collect();
        for (k, s) in &gained {
            if let Some(p) = new.get(&s.parent) {
                let parent_new = p.count.saturating_sub(before(&s.parent).count);
                if parent_new > 0 && s.count - before(k).count <= parent_new {
                    explained.insert(*k);
                }
            }
        }
        // Paths whose growth is mostly that of new objects further down, which are listed.
        let listed: Vec<(u64, KeyStats)> = gained
            .into_iter()
            .filter(|(k, _)| !explained.contains(k))
            .collect();
        for (k, s) in &listed {
            let gain = s.retained.saturating_sub(before(k).retained);
            let mut up = s.parent;
            for _ in 0..MAX_DEPTH {
                let Some(p) = new.get(&up).filter(|_| up != *k) else {
                    break;
                };
                if gain * 2 > p.retained.saturating_sub(before(&up).retained) {
                    explained.insert(up);
                }
                up = p.parent;
            }
        }
        let roots = self.roots();
        let mut grown: Vec<(u64, KeyStats)> = new
            .iter()
            .filter(|(k, s)| grew(k, s) && !explained.contains(k))
            .filter(|(_, s)| !roots.get(s.sample).is_some_and(|r| r.is_terminal()))
            .map(|(k, s)| (*k, *s))
            .collect();
        grown.sort_by_key(|(k, s)| {
            (
                std::cmp::Reverse(s.retained.saturating_sub(before(k).retained)),
                *k,
            )
        });
        grown.truncate(limit);
        let options = RetainerOptions {
            paths: 1,
            ..RetainerOptions::default()
        };
        grown
            .into_iter()
            .map(|(k, s)| {
                let was = before(&k);
                let sample = self.index().addrs()[s.sample as usize];
                PathGrowth {
                    name: holder_name(self.model(), self.index(), Some(self.refs()), s.sample),
                    count: (was.count, s.count),
                    retained: (was.retained, s.retained),
                    sample,
                    path: self
                        .retainers(sample, &options)
                        .ok()
                        .and_then(|r| r.paths.into_iter().next()),
                }
            })
            .collect()
    }

    /// Every reachable object's path key, gathered per key (module documentation).
    fn path_keys(&self) -> HashMap<u64, KeyStats> {
        let tree = self.dominators();
        let refs = self.refs();
        self.stage(Stage::ComparingCores, || {
            let index = self.index();
            let model = self.model();
            let n = index.len();
            // The property or variable each object is held by, when its dominator holds it so.
            let mut label = vec![0u64; n];
            let labelled: Vec<(u32, u64)> = (0..n as u32)
                .into_par_iter()
                .filter(|&d| {
                    let class = refs.class_of(index, d);
                    tree.reached(d) && (class.is_receiver() || class == Class::Context)
                })
                .flat_map_iter(|d| {
                    model.check_interrupt();
                    let mut held: Vec<(u32, String)> = self
                        .snapshot_edges(d)
                        .into_iter()
                        .filter(|e| tree.dominator(e.to) == Some(Dominator::Object(d)))
                        .filter_map(|e| Some((e.to, held_as(&e)?.to_string())))
                        .collect();
                    // The first name in order, whichever order the edges come in.
                    held.sort_unstable();
                    held.dedup_by_key(|h| h.0);
                    held.into_iter().map(|(to, name)| (to, hash_of(&name)))
                })
                .collect();
            for (to, h) in labelled {
                if let Some(l) = label.get_mut(to as usize) {
                    *l = h;
                }
            }
            // Steps once per map but for functions (named each) and strings.
            let mut by_map: HashMap<u32, u64> = HashMap::new();
            let mut step = |id: u32| -> u64 {
                let map = index.map_ids()[id as usize];
                let class = refs.class_of(index, id);
                let own = || {
                    let (kind, name) = core_kind(self, id, class);
                    hash_of(&step_name(kind, &name))
                };
                if class == Class::Function {
                    return own();
                }
                *by_map.entry(map).or_insert_with(own)
            };
            let steps: Vec<u64> = (0..n as u32)
                .map(|id| if tree.reached(id) { step(id) } else { 0 })
                .collect();
            key_stats(tree, &steps, &label, || model.check_interrupt())
        })
    }
}

/// Rows of either side compared: every name of either, most own bytes gained first, then most
/// objects.
fn compare_rows(
    old: &HashMap<String, (u64, u64, u64)>,
    new: &HashMap<String, (u64, u64, u64)>,
) -> Vec<ClassGrowth> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort_unstable();
    names.dedup();
    let mut classes: Vec<ClassGrowth> = names
        .into_iter()
        .map(|name| {
            let (a, b) = (
                old.get(name).copied().unwrap_or_default(),
                new.get(name).copied().unwrap_or_default(),
            );
            ClassGrowth {
                name: name.clone(),
                count: (a.0, b.0),
                size: (a.1, b.1),
                retained: (a.2, b.2),
            }
        })
        .collect();
    classes.sort_by(|a, b| {
        b.size_delta()
            .cmp(&a.size_delta())
            .then(b.count_delta().cmp(&a.count_delta()))
            .then(a.name.cmp(&b.name))
    });
    classes
}

/// The property or variable name an edge of the export holds its target by: a property or
/// context edge's name, and a global object's property held through its cell (the export
/// names that edge `property cell of NAME`, V8 draws it as the property `NAME`).
fn held_as(edge: &SnapshotEdge) -> Option<&str> {
    match (&edge.kind, &edge.name) {
        (EdgeType::Property | EdgeType::Context, EdgeLabel::Name(name)) => Some(name),
        (EdgeType::Internal, EdgeLabel::Name(name)) if edge.origin == EdgeOrigin::Store => {
            name.strip_prefix("property cell of ")
        }
        _ => None,
    }
}

/// The node type and name of core object `id` as a V8 heap snapshot would give them, as far as
/// path keys and snapshot rows use them (a string's text is not read: its type says enough).
fn core_kind(analysis: &Analysis<'_>, id: u32, class: Class) -> (&'static str, String) {
    let model = analysis.model();
    let index = analysis.index();
    match class {
        Class::String => ("string", String::new()),
        Class::BoundFunction => ("closure", BOUND.to_string()),
        _ => {
            let (kind, name) = node_kind(model, index, id, class);
            if name == PROTOTYPE_NAME {
                // V8 names a function's `prototype` object after its map's constructor (a
                // derived class's after its base, a base class's `Object`), as the census
                // would without setting prototypes apart.
                let addr = index.addrs()[id as usize];
                if let Ok(h) = model.header(addr) {
                    let facts = model.map_facts(h.map);
                    return ("object", model.census_name_of(addr, &facts).to_string());
                }
            }
            (NodeType::NAMES[kind as usize], name)
        }
    }
}

/// V8's name of a bound function's node.
const BOUND: &str = "native_bind";

/// The name a path step gives a node of heap snapshot type `kind` named `name`: JS objects by
/// constructor, functions by name, contexts as contexts; strings, numbers and V8's internals by
/// one word each, since a core and V8's own snapshot name internals differently.
fn step_name(kind: &str, name: &str) -> String {
    match kind {
        "object" if name == "system / Context" || !name.starts_with("system / ") => {
            name.to_string()
        }
        "closure" => format!("closure {name}"),
        "string" | "concatenated string" | "sliced string" => "string".into(),
        "regexp" => "regexp".into(),
        _ => "internal".into(),
    }
}

/// The row a node of heap snapshot type `kind` named `name` is counted in when a core is
/// compared with a heap snapshot, as DevTools' Summary groups them: JS objects by constructor,
/// the rest by kind.
fn class_name(kind: &str, name: &str) -> String {
    match kind {
        "object" | "native" if !name.starts_with("system / ") => name.to_string(),
        "string" | "concatenated string" | "sliced string" => "(string)".into(),
        "closure" => "(closure)".into(),
        "regexp" => "(regexp)".into(),
        "number" => "(number)".into(),
        _ => "(V8 internals)".into(),
    }
}

/// Path keys gathered per key, from each reached object's step (its name) and label (the
/// edge its dominator holds it by), walking the tree top-down.
fn key_stats(
    tree: &Dominators,
    steps: &[u64],
    labels: &[u64],
    interrupt: impl Fn(),
) -> HashMap<u64, KeyStats> {
    let n = steps.len();
    let mut key = vec![0u64; n];
    let mut step = vec![0u64; n];
    let mut up = vec![u32::MAX; n];
    let mut stats: HashMap<u64, KeyStats> = HashMap::new();
    for (done, (id, dominator)) in tree.top_down().enumerate() {
        if done % 65536 == 0 {
            interrupt();
        }
        let i = id as usize;
        if i >= n {
            continue;
        }
        step[i] = hash_of(&(labels.get(i).copied().unwrap_or(0), steps[i]));
        up[i] = dominator.unwrap_or(u32::MAX);
        // The last STEPS steps of the chain, this object's first.
        let mut chain = [0u64; STEPS];
        let mut at = id;
        for slot in chain.iter_mut() {
            let Some(&s) = step.get(at as usize) else {
                break;
            };
            *slot = s;
            at = up[at as usize];
        }
        let k = hash_of(&chain);
        key[i] = k;
        let parent = dominator.map_or(0, |d| key.get(d as usize).copied().unwrap_or(0));
        let entry = stats.entry(k).or_insert(KeyStats {
            parent,
            sample: id,
            ..KeyStats::default()
        });
        entry.count += 1;
        // Retained once per run of one key (a linked list's nodes dominate each other).
        if parent != k {
            entry.retained += tree.retained(id).unwrap_or(0);
        }
    }
    stats
}

/// Per row of [`class_name`]: objects, their own bytes, and the bytes they keep alive (the
/// retained sizes of those whose dominator is not of the same row).
fn class_totals(
    tree: &Dominators,
    class: impl Fn(u32) -> String,
    size: impl Fn(u32) -> u64,
) -> HashMap<String, (u64, u64, u64)> {
    let mut row_of: HashMap<u32, String> = HashMap::new();
    let mut totals: HashMap<String, (u64, u64, u64)> = HashMap::new();
    for (id, dominator) in tree.top_down() {
        let name = class(id);
        let nested = dominator
            .and_then(|d| row_of.get(&d))
            .is_some_and(|r| *r == name);
        let t = totals.entry(name.clone()).or_default();
        t.0 += 1;
        t.1 += size(id);
        if !nested {
            t.2 += tree.retained(id).unwrap_or(0);
        }
        row_of.insert(id, name);
    }
    totals
}

/// The dominator tree, steps and labels of a heap snapshot file, by DevTools' rules: weak edges
/// do not count, shortcut edges only from the root, a WeakMap table's edge to a value does not
/// (its key's does), and an edge from an object that is not page-owned into one that is does
/// not (page-owned: reached from the root's shortcut targets, the global objects, over
/// non-weak edges).
fn snapshot_side(file: &SnapshotFile) -> (Dominators, Vec<u64>, Vec<u64>) {
    let n = file.len();
    let mut edges: Vec<(u32, u32)> = Vec::new();
    let mut strong: Vec<(u32, u32)> = Vec::new();
    let mut primary = Vec::new();
    let mut user = Vec::new();
    for v in 0..n as u32 {
        let id = file.node_id.get(v as usize).copied().unwrap_or(0);
        for e in file.edges_of(v) {
            let to = file.edge_to[e];
            let kind = file.edge_type_of(e);
            if kind == "weak" {
                continue;
            }
            strong.push((v, to));
            if v == 0 {
                if kind == "shortcut" {
                    user.push(to);
                }
                primary.push(to);
                continue;
            }
            let table_value = kind == "internal"
                && file
                    .edge_name_of(e)
                    .and_then(weak_map_table)
                    .is_some_and(|t| t == id);
            if kind == "shortcut" || table_value {
                continue;
            }
            edges.push((v, to));
        }
    }
    user.sort_unstable();
    user.dedup();
    let mut page = vec![false; n];
    let mut next: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &(from, to) in &strong {
        next[from as usize].push(to);
    }
    drop(strong);
    let mut todo = user.clone();
    for &u in &user {
        page[u as usize] = true;
    }
    while let Some(v) = todo.pop() {
        for &t in &next[v as usize] {
            if !page[t as usize] {
                page[t as usize] = true;
                todo.push(t);
            }
        }
    }
    drop(next);
    let tree = Dominators::of_graph(n, &edges, &primary, &user, &page, &file.self_size);
    let steps = (0..n as u32)
        .map(|v| hash_of(&step_name(file.type_of(v), file.name_of(v))))
        .collect();
    let mut labels = vec![0u64; n];
    for v in 0..n as u32 {
        let mut held: Vec<(u32, &str)> = file
            .edges_of(v)
            .filter(|&e| matches!(file.edge_type_of(e), "property" | "context"))
            .filter(|&e| tree.dominator(file.edge_to[e]) == Some(Dominator::Object(v)))
            .filter_map(|e| Some((file.edge_to[e], file.edge_name_of(e)?)))
            .collect();
        held.sort_unstable();
        held.dedup_by_key(|h| h.0);
        for (to, name) in held {
            labels[to as usize] = hash_of(&name.to_string());
        }
    }
    (tree, steps, labels)
}

/// The table's node id in the name V8 gives a WeakMap table's edge to a value
/// (`N / part of key (K @1) -> value (V @2) pair in WeakMap (table @ID)`).
fn weak_map_table(name: &str) -> Option<u64> {
    let rest = name.split("pair in WeakMap (table @").nth(1)?;
    rest.strip_suffix(')')?.parse().ok()
}

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}
