//! What grew between two cores of one process (`diff OLD`): per constructor, and per retainer
//! path, as DevTools' Comparison view and memlab's `find-leaks` compare two heap snapshots.
//!
//! Addresses mean nothing across cores (V8 moves objects when it compacts), so objects are
//! matched by *where they are held*: each reachable object gets a path key, the hash of the
//! last [`STEPS`] steps of the chain that leads to it down the dominator tree (its own step and
//! its nearest dominators'), a step being the object's name and the edge its dominator holds it
//! by when that dominator is a JS object or a closure context (`Map` held as `entryCache` ->
//! its table -> `CacheEntry`). Element indices and the entries of internal stores are not part
//! of a step, so the thousand values of one Map share one key, and so do the deep nodes of a
//! linked list. Only the last steps count because the top of a chain is what changes between
//! two cores of one process: a frame on the stack that holds a module's context at one moment
//! makes the roots its dominator, and the global object's the next. Objects present only in
//! the newer core show as the growth of their key's count: memlab's clusters of leaked
//! objects by retainer trace.
//!
//! A key's bytes are the retained sizes of its objects that no object of the same key
//! dominates. Paths are ranked by how much their bytes grew; a path whose growth is mostly
//! (more than half) that of new objects further down is left out for them, and so is a path
//! whose new objects are each brought by one new object of its parent path (`CacheEntry`'s
//! own arrays come with the `CacheEntry`s).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use coroner_heap::{Class, Role};
use rayon::prelude::*;

use crate::census::CensusOptions;
use crate::heapsnapshot::EdgeLabel;
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
    /// The census name.
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
        let paths = options.paths;
        let census = |a: &Analysis<'_>| {
            a.census(&CensusOptions {
                all: options.all,
                retained: true,
                reachable_only: true,
                ..CensusOptions::default()
            })
        };
        let (old_census, new_census) = (census(older), census(self));
        let old_keys = older.path_keys();
        let new_keys = self.path_keys();
        self.stage(Stage::ComparingCores, || {
            let mut classes: HashMap<String, ClassGrowth> = HashMap::new();
            for (i, c) in [&old_census, &new_census].into_iter().enumerate() {
                for row in &c.rows {
                    let g = classes
                        .entry(row.name.clone())
                        .or_insert_with(|| ClassGrowth {
                            name: row.name.clone(),
                            count: (0, 0),
                            size: (0, 0),
                            retained: (0, 0),
                        });
                    let (count, size, retained) = (row.count, row.size, row.retained.unwrap_or(0));
                    if i == 0 {
                        g.count.0 += count;
                        g.size.0 += size;
                        g.retained.0 += retained;
                    } else {
                        g.count.1 += count;
                        g.size.1 += size;
                        g.retained.1 += retained;
                    }
                }
            }
            let mut classes: Vec<ClassGrowth> = classes.into_values().collect();
            classes.sort_by(|a, b| {
                b.size_delta()
                    .cmp(&a.size_delta())
                    .then(b.count_delta().cmp(&a.count_delta()))
                    .then(a.name.cmp(&b.name))
            });
            Growth {
                classes,
                paths: self.grown_paths(&old_keys, &new_keys, paths),
                reachable: (
                    older.dominators().reachable_bytes(),
                    self.dominators().reachable_bytes(),
                ),
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
            // The edge each object is held by, when its dominator is a JS object or a context.
            let mut label = vec![0u64; n];
            let labelled: Vec<(u32, u64)> = (0..n as u32)
                .into_par_iter()
                .filter(|&d| {
                    let class = refs.class_of(index, d);
                    tree.reached(d)
                        && (class.is_receiver()
                            || (class == Class::Context
                                && refs.role_of(index, d) != Some(Role::NativeContext)))
                })
                .flat_map_iter(|d| {
                    model.check_interrupt();
                    self.snapshot_edges(d)
                        .into_iter()
                        .filter(move |e| {
                            matches!(tree.dominator(e.to), Some(crate::Dominator::Object(o)) if o == d)
                        })
                        .filter_map(|e| match e.name {
                            EdgeLabel::Name(name) => Some((e.to, hash_of(&name))),
                            EdgeLabel::Index(_) => None,
                        })
                })
                .collect();
            for (to, h) in labelled {
                if let Some(l) = label.get_mut(to as usize) {
                    *l = h;
                }
            }
            // Names once per map (the census name of most objects is their map's).
            let mut names: HashMap<u32, u64> = HashMap::new();
            let name_of = |id: u32, names: &mut HashMap<u32, u64>| -> u64 {
                let addr = index.addrs()[id as usize];
                let map = index.map_ids()[id as usize];
                let facts = model.map_facts(index.maps()[map as usize]);
                // A function by its name; a context by its kind only, since its name comes from
                // the closures that share it, and those come and go.
                if facts.class == Class::Function {
                    return hash_of(&holder_name(model, index, Some(refs), id));
                }
                *names
                    .entry(map)
                    .or_insert_with(|| hash_of(&model.census_name_of(addr, &facts)))
            };
            let mut key = vec![0u64; n];
            let mut step = vec![0u64; n];
            let mut up = vec![u32::MAX; n];
            let mut stats: HashMap<u64, KeyStats> = HashMap::new();
            for (done, (id, dominator)) in tree.top_down().enumerate() {
                if done % 65536 == 0 {
                    model.check_interrupt();
                }
                let i = id as usize;
                step[i] = hash_of(&(label[i], name_of(id, &mut names)));
                up[i] = dominator.unwrap_or(u32::MAX);
                // The last STEPS steps of the chain, this object's first.
                let mut steps = [0u64; STEPS];
                let mut at = id;
                for slot in steps.iter_mut() {
                    let Some(&s) = step.get(at as usize) else { break };
                    *slot = s;
                    at = up[at as usize];
                }
                let k = hash_of(&steps);
                key[i] = k;
                let parent = dominator.map_or(0, |d| key[d as usize]);
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
        })
    }
}

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}
