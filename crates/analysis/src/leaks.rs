//! Leak suspects (`leaks`): the objects most likely to be why a heap is large, ranked by the
//! bytes they keep alive, each with the pattern that makes it suspect, as Eclipse MAT's Leak
//! Suspects report finds them in one dump and memlab's detectors name them.
//!
//! The dominator tree is walked down from the roots through the objects that keep at least
//! [`LeakOptions::min_share`] of the heap alive. At each of them the question is where the
//! memory *accumulates*: where it spreads over many objects rather than passing on to one
//! (MAT's accumulation point). An object that hands on most of what it retains to a single
//! object (a Map to its table, a Buffer to its ArrayBuffer) is a wrapper of it; the suspect is
//! named at the wrapper a user knows. The patterns, first match wins:
//!
//! * **collection**: the accumulation point dominates many entries of one name (at least
//!   [`MIN_ENTRIES`]) that keep at least half of its bytes: an Array, Map, Set, or an object
//!   used as a dictionary that only grows (memlab's unbound collection). Named at the JS object
//!   that owns the store; a store no JS object owns (V8's own caches) is no collection. Entries
//!   marked finished (`_destroyed` or `destroyed` true: a cleared timer) are counted apart as
//!   stale: held for nothing.
//! * **closure**: a closure context (not the realm's native context) keeps the memory: a
//!   listener or callback that captured large data and was never released.
//! * **dominator**: one object keeps at least [`DOMINATOR_SHARE`] of the heap alive (MAT's
//!   threshold).
//! * **duplicate strings**: the same text in many string objects; the bytes of all copies but
//!   one are wasted. Found by hashing the text of every reachable string that is not
//!   internalized (internalized strings are unique by construction), up to
//!   [`MAX_HASHED_LENGTH`] code units.
//!
//! Global objects and native contexts are never suspects: they hold everything, and the
//! suspects inside them are named instead.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use coroner_heap::{Class, Role};
use rayon::prelude::*;

use crate::dominators::Dominators;
use crate::names::holder_name;
use crate::retainers::{RetainerOptions, RetainerPath};
use crate::session::{Analysis, Stage};

/// A collection is suspect with at least this many entries.
pub const MIN_ENTRIES: usize = 100;
/// One object keeping this share of the heap alive is suspect whatever its shape.
pub const DOMINATOR_SHARE: f64 = 0.10;
/// Strings longer than this are not compared (their copies are rare, and reading them is not).
pub const MAX_HASHED_LENGTH: u64 = 4096;
/// Own properties that mark an object finished when `true` (Node's timers: `_destroyed`).
const STALE_MARKS: [&str; 2] = ["_destroyed", "destroyed"];
/// An object must hand on at least this share of what it keeps to one object to be named as
/// its wrapper.
const WRAPPER_SHARE: f64 = 0.8;

/// What `leaks` looks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakOptions {
    /// Suspects wanted at most.
    pub limit: usize,
    /// A suspect keeps at least this share of the reachable heap alive (default 1%), and at
    /// least [`LeakOptions::min_bytes`].
    pub min_share: f64,
    /// A suspect keeps at least this many bytes alive.
    pub min_bytes: u64,
}

impl Default for LeakOptions {
    fn default() -> Self {
        LeakOptions {
            limit: 10,
            min_share: 0.01,
            min_bytes: 64 << 10,
        }
    }
}

/// Why an object is suspect.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// A collection with many entries, most of one name.
    Collection {
        /// Its entries: the objects of the name that keeps most bytes among those its store
        /// alone holds.
        entries: u64,
        /// That name.
        entry_name: String,
        /// Every object its store alone holds (the entries, their keys, ...).
        objects: u64,
        /// Entries marked finished but still held: an own `_destroyed` or `destroyed` data
        /// property that is `true` (Node's cleared and expired timers; objects that follow the
        /// convention). Streams and sockets keep theirs in bit fields, not counted.
        stale: u64,
    },
    /// A closure context keeping large data alive.
    Closure {
        /// The largest object it keeps, by name.
        largest: String,
    },
    /// One object keeping a large share of the heap alive.
    Dominator {
        /// Its share of the reachable heap.
        share: f64,
    },
    /// One text in many string objects.
    DuplicateStrings {
        /// The text (its first 120 characters).
        text: String,
        /// Its length in code units.
        length: u64,
        /// String objects holding it.
        copies: u64,
        /// Bytes of all copies but one.
        wasted: u64,
    },
}

impl Pattern {
    /// Its name in JSON and text: `collection`, `closure`, `dominator`, `duplicate-strings`.
    pub fn kind(&self) -> &'static str {
        match self {
            Pattern::Collection { .. } => "collection",
            Pattern::Closure { .. } => "closure",
            Pattern::Dominator { .. } => "dominator",
            Pattern::DuplicateStrings { .. } => "duplicate-strings",
        }
    }
}

/// A leak suspect.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// The object (for duplicate strings: one of the copies).
    pub address: u64,
    /// Its name as `retainers` names holders (`Map`, `Context onTick`, `(String)`).
    pub name: String,
    /// Bytes it keeps alive (duplicate strings: the bytes of all copies).
    pub retained: u64,
    /// Objects of the pattern: a collection's entries, a text's copies, else 1.
    pub count: u64,
    /// Why it is suspect.
    pub pattern: Pattern,
    /// The shortest path from a root to it, as `retainers` prints it.
    pub path: Option<RetainerPath>,
}

/// The leak report of one heap.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaks {
    /// Suspects, the most bytes first.
    pub suspects: Vec<Suspect>,
    /// Bytes the roots keep alive.
    pub reachable: u64,
    /// The least a suspect keeps alive.
    pub threshold: u64,
}

impl Analysis<'_> {
    /// The leak suspects of the heap (see the module documentation).
    pub fn leaks(&self, options: &LeakOptions) -> Leaks {
        let tree = self.dominators();
        self.stage(Stage::FindingLeaks, || self.find_leaks(tree, options))
    }

    fn find_leaks(&self, tree: &Dominators, options: &LeakOptions) -> Leaks {
        let refs = self.refs();
        let index = self.index();
        let model = self.model();
        let roots = self.roots();
        let reachable = tree.reachable_bytes();
        let threshold = ((reachable as f64 * options.min_share) as u64).max(options.min_bytes);
        let retained = |id: u32| tree.retained(id).unwrap_or(0);
        let name = |id: u32| holder_name(model, index, Some(refs), id);
        let held_for_good = |id: u32| roots.get(id).is_some_and(|k| k.is_terminal());
        let is_context = |id: u32| {
            refs.class_of(index, id) == Class::Context
                && refs.role_of(index, id) != Some(Role::NativeContext)
        };

        let mut found: Vec<(u32, u64, u64, Pattern)> = Vec::new();
        for (point, below) in tree.large(threshold) {
            model.check_interrupt();
            let kept = retained(point);
            // The point and the objects it is the bulk of, nearest first.
            let mut band = vec![point];
            for up in tree.chain(point) {
                if (kept as f64) < WRAPPER_SHARE * retained(up) as f64 || held_for_good(up) {
                    break;
                }
                band.push(up);
            }
            let spread = below
                .first()
                .is_none_or(|&c| (retained(c) as f64) < WRAPPER_SHARE * kept as f64);
            if !spread {
                continue;
            }
            // A collection: most of what the point keeps is in many entries of one name.
            let owner = band
                .iter()
                .copied()
                .find(|&b| refs.class_of(index, b).is_receiver());
            let suspect = owner
                .filter(|_| below.len() >= MIN_ENTRIES)
                .and_then(|owner| {
                    // Each entry's name, read once for both the count and the stale entries.
                    let names: Vec<String> = below.iter().map(|&c| self.census_name(c)).collect();
                    let (entry_name, of_that_name, bytes) = heaviest_name(
                        names
                            .iter()
                            .zip(&below)
                            .map(|(n, &c)| (n.clone(), retained(c))),
                    );
                    let collection = of_that_name as usize >= MIN_ENTRIES && bytes * 2 >= kept;
                    collection.then(|| {
                        let stale = below
                            .iter()
                            .zip(&names)
                            .filter(|(_, n)| **n == entry_name)
                            .filter(|&(&c, _)| {
                                let addr = index.addrs()[c as usize];
                                STALE_MARKS.iter().any(|m| model.has_true_property(addr, m))
                            })
                            .count() as u64;
                        let pattern = Pattern::Collection {
                            entries: of_that_name,
                            entry_name,
                            objects: below.len() as u64,
                            stale,
                        };
                        (owner, of_that_name, pattern)
                    })
                });
            let suspect = suspect.or_else(|| {
                band.iter()
                    .copied()
                    .find(|&b| is_context(b))
                    .map(|context| {
                        let largest = tree
                            .chain(point)
                            .into_iter()
                            .take_while(|&a| a != context)
                            .last()
                            .unwrap_or(point);
                        (
                            context,
                            1,
                            Pattern::Closure {
                                largest: name(largest),
                            },
                        )
                    })
            });
            let suspect = suspect.or_else(|| {
                let top = *band.last().unwrap_or(&point);
                let share = retained(top) as f64 / reachable.max(1) as f64;
                (share >= DOMINATOR_SHARE).then_some((top, 1, Pattern::Dominator { share }))
            });
            if let Some((id, count, pattern)) = suspect.filter(|s| !held_for_good(s.0)) {
                if !found.iter().any(|f| f.0 == id) {
                    found.push((id, retained(id), count, pattern));
                }
            }
        }
        found.extend(self.duplicate_strings(threshold));
        found.sort_by_key(|f| std::cmp::Reverse(f.1));
        found.truncate(options.limit);

        let path_options = RetainerOptions {
            paths: 1,
            ..RetainerOptions::default()
        };
        let suspects = found
            .into_iter()
            .map(|(id, bytes, count, pattern)| {
                let address = index.addrs()[id as usize];
                Suspect {
                    address,
                    name: name(id),
                    retained: bytes,
                    count,
                    pattern,
                    path: self
                        .retainers(address, &path_options)
                        .ok()
                        .and_then(|r| r.paths.into_iter().next()),
                }
            })
            .collect();
        Leaks {
            suspects,
            reachable,
            threshold,
        }
    }

    /// Texts held by many string objects, wasting at least `threshold` bytes: `(one copy, bytes
    /// of all copies, copies, pattern)`.
    fn duplicate_strings(&self, threshold: u64) -> Vec<(u32, u64, u64, Pattern)> {
        let tree = self.dominators();
        let refs = self.refs();
        let index = self.index();
        let model = self.model();
        let sizes = index.sizes();
        let addrs = index.addrs();
        // (length, hash of the text) -> (copies, bytes, first copy).
        type Groups = HashMap<(u64, u64), (u64, u64, u32)>;
        let groups: Groups = (0..index.len() as u32)
            .into_par_iter()
            .filter(|&id| {
                refs.class_of(index, id) == Class::String
                    && refs.role_of(index, id) != Some(Role::InternalizedString)
                    && tree.reached(id)
            })
            .fold(Groups::new, |mut groups, id| {
                if id % 4096 == 0 {
                    model.check_interrupt();
                }
                let addr = addrs[id as usize];
                let text = model
                    .string_length(addr)
                    .ok()
                    .filter(|&l| l <= MAX_HASHED_LENGTH)
                    .and_then(|_| model.string(addr, None).ok());
                if let Some(text) = text {
                    let mut hasher = DefaultHasher::new();
                    text.units.hash(&mut hasher);
                    let group = groups
                        .entry((text.length, hasher.finish()))
                        .or_insert((0, 0, id));
                    group.0 += 1;
                    group.1 += u64::from(sizes[id as usize]);
                }
                groups
            })
            .reduce(Groups::new, |mut a, b| {
                for (key, (copies, bytes, first)) in b {
                    let group = a.entry(key).or_insert((0, 0, first));
                    group.0 += copies;
                    group.1 += bytes;
                    group.2 = group.2.min(first);
                }
                a
            });
        groups
            .into_iter()
            .filter_map(|((length, _), (copies, bytes, first))| {
                let wasted = bytes - bytes / copies.max(1);
                (copies > 1 && wasted >= threshold).then(|| {
                    let text = model
                        .shown_string(addrs[first as usize], Some(120))
                        .unwrap_or_default();
                    let pattern = Pattern::DuplicateStrings {
                        text,
                        length,
                        copies,
                        wasted,
                    };
                    (first, bytes, copies, pattern)
                })
            })
            .collect()
    }
}

/// Of `(name, bytes)` pairs, the name with the most bytes: `(name, how many, its bytes)`.
fn heaviest_name(entries: impl Iterator<Item = (String, u64)>) -> (String, u64, u64) {
    let mut totals: HashMap<String, (u64, u64)> = HashMap::new();
    for (name, bytes) in entries {
        let total = totals.entry(name).or_default();
        total.0 += 1;
        total.1 += bytes;
    }
    totals
        .into_iter()
        .max_by(|a, b| a.1 .1.cmp(&b.1 .1).then_with(|| b.0.cmp(&a.0)))
        .map(|(name, (count, bytes))| (name, count, bytes))
        .unwrap_or_default()
}
