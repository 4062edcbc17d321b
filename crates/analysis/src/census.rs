//! The census of the heap (`findjsobjects`): how many objects of each name, and how many bytes
//! they take (shallow sizes), sorted by total size.
//!
//! Objects are counted per map first — dense counters indexed by map id, per isolate, summed in
//! parallel over the [`ObjectIndex`] — and each distinct map is named once
//! ([`MapFacts::census_name`](coroner_heap::MapFacts)). Function `prototype` objects are counted
//! apart, as `(Prototype)`: V8 names `Emperor.prototype` after its base class `Penguin`, and a
//! class's prototype is no instance of it. V8 internals (`(internal: FixedArray)`, free space,
//! oddballs) are left out unless every type is asked for; their total is still reported.
//!
//! In detailed mode, JS objects of the ordinary kind (plain objects, class instances, API
//! objects) are grouped by name *and* own property names in order, as mdb_v8 does
//! (`Walrus {id, name}`), each group with one sample address.

use std::collections::HashMap;
use std::sync::Arc;

use coroner_heap::{Class, HeapModel, MapFacts, Space};
use rayon::prelude::*;

use crate::damage::{damaged_ranges, Damaged};
use crate::dominators::Dominators;
use crate::index::{ObjectIndex, PageRun};

/// The census name of function prototype objects.
pub const PROTOTYPE_NAME: &str = "(Prototype)";
/// Above this many (isolate, map) counters, objects are attributed to their map's isolate.
const DENSE_LIMIT: usize = 1 << 24;

/// What the census counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CensusOptions {
    /// List V8 internals too (`--all`).
    pub all: bool,
    /// Group ordinary JS objects by their own property names too (`-d`).
    pub detailed: bool,
    /// Count only the objects of this isolate (index into the heap's isolates).
    pub isolate: Option<usize>,
    /// Count only the objects of one generation.
    pub generation: Option<Generation>,
    /// Weigh each row by what its objects keep alive (retained size) and give its distance
    /// from the roots: needs the dominator tree ([`Dominators`]).
    pub retained: bool,
    /// Count only the objects a root reaches, leaving out the garbage a live core holds (as a
    /// heap snapshot, taken after a GC, does). Words of native memory do not count as roots
    /// here (freed memory keeps stale words: `findrefs` calls what only they reach
    /// unreachable). Needs the dominator tree; not with `detailed`.
    pub reachable_only: bool,
}

/// V8's generations: where an object lives tells how recently it was allocated, as every full
/// GC moves the survivors of the young generation to the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// New space and new large-object space: allocated since the last GC that moved them.
    Young,
    /// Every other space (old, code, large-object, read-only, ...).
    Old,
}

impl Generation {
    /// The generation of objects on pages of `space`.
    pub fn of(space: Space) -> Generation {
        match space {
            Space::New | Space::NewLargeObject => Generation::Young,
            _ => Generation::Old,
        }
    }
}

/// Whether the objects of `run` are counted under `options`.
pub(crate) fn run_wanted(model: &HeapModel<'_>, run: &PageRun, options: &CensusOptions) -> bool {
    if let Some(g) = options.generation {
        let space = model.pages().get(run.page as usize).map(|p| p.space);
        if space.map(Generation::of) != Some(g) {
            return false;
        }
    }
    true
}

/// How many objects, and how many bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Objects.
    pub count: u64,
    /// Bytes (shallow sizes).
    pub size: u64,
}

impl Totals {
    fn add(&mut self, count: u64, size: u64) {
        self.count += count;
        self.size += size;
    }
}

/// The part of a row in one isolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolateShare {
    /// Index of the isolate in the heap's isolates (`None`: the read-only heap, shared by all).
    pub isolate: Option<usize>,
    /// Objects.
    pub count: u64,
    /// Bytes.
    pub size: u64,
}

/// One row of the census.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CensusRow {
    /// The name (a constructor name, or a bracketed kind like `(String)`); in detailed mode
    /// with the property names, `Walrus {id, name}`.
    pub name: String,
    /// Number of objects.
    pub count: u64,
    /// Their total shallow size in bytes.
    pub size: u64,
    /// The name alone (detailed mode).
    pub constructor: Option<String>,
    /// The own property names in order (detailed mode).
    pub properties: Option<Vec<String>>,
    /// One object of the row, by address (detailed mode).
    pub sample: Option<String>,
    /// A V8 internal (listed only with `all`).
    pub internal: bool,
    /// How the row splits over isolates (one entry per isolate holding such objects).
    pub isolates: Vec<IsolateShare>,
    /// The bytes its objects keep alive, counted as DevTools counts a constructor's retained
    /// size: the retained sizes of its objects that no other object of the row dominates
    /// (with [`CensusOptions::retained`]; `None` otherwise).
    pub retained: Option<u64>,
    /// The smallest distance from the roots of its objects (`None` when no root reaches
    /// any, or without [`CensusOptions::retained`]).
    pub distance: Option<u32>,
}

/// The census.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// Rows, by total size (largest first), then count, then name.
    pub rows: Vec<CensusRow>,
    /// Everything counted (listed rows and hidden internals).
    pub total: Totals,
    /// What the rows leave out (V8 internals, without `all`).
    pub hidden: Totals,
    /// Number of isolates in the heap.
    pub isolates: usize,
    /// The ranges of damaged pages (of the isolates and generation counted) not read as
    /// objects: what lived there is missing from the counts.
    pub damaged: Vec<Damaged>,
}

/// Counts per (slot, map id): slot = isolate index, or the last slot for the shared heap.
struct Counts {
    slots: usize,
    maps: usize,
    by_map_only: bool,
    cells: Vec<(u64, u64)>,
}

impl Counts {
    fn new(slots: usize, maps: usize, by_map_only: bool) -> Counts {
        let n = if by_map_only { maps } else { slots * maps };
        Counts {
            slots,
            maps,
            by_map_only,
            cells: vec![(0, 0); n],
        }
    }

    #[inline]
    fn cell(&mut self, slot: usize, map: usize) -> &mut (u64, u64) {
        let i = if self.by_map_only {
            map
        } else {
            slot * self.maps + map
        };
        &mut self.cells[i]
    }

    fn merge(mut self, other: Counts) -> Counts {
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self
    }
}

/// Takes the census of the heap indexed by `index`.
pub(crate) fn census(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    options: &CensusOptions,
    dominators: Option<&Dominators>,
) -> Census {
    let isolates = model.isolates().len();
    let slots = isolates + 1;
    let shared = isolates;
    let maps = index.maps().len();
    let by_map_only = slots.saturating_mul(maps) > DENSE_LIMIT;
    let slot_of = |isolate: Option<u32>| isolate.map_or(shared, |i| (i as usize).min(shared));
    let runs: Vec<_> = index
        .run_ranges()
        .filter(|(run, _)| run_wanted(model, run, options))
        .collect();
    let map_ids = index.map_ids();
    let sizes = index.sizes();
    let counted = |id: usize| {
        !options.reachable_only || dominators.is_none_or(|d| d.reached_by_roots(id as u32))
    };
    // Objects counted per map, prototypes apart.
    let counts = runs
        .par_iter()
        .fold(
            || Counts::new(slots, maps, by_map_only),
            |mut c, (run, ids)| {
                let slot = slot_of(run.isolate);
                for id in ids.clone().filter(|&id| counted(id)) {
                    let cell = c.cell(slot, map_ids[id] as usize);
                    cell.0 += 1;
                    cell.1 += u64::from(sizes[id]);
                }
                c
            },
        )
        .reduce(|| Counts::new(slots, maps, by_map_only), Counts::merge);
    let mut counts = counts;
    // Name every map that has objects, once.
    let used: Vec<bool> = (0..maps)
        .map(|m| {
            if counts.by_map_only {
                counts.cells[m].0 > 0
            } else {
                (0..counts.slots).any(|s| counts.cells[s * maps + m].0 > 0)
            }
        })
        .collect();
    let facts: Vec<Option<Arc<MapFacts>>> = index
        .maps()
        .par_iter()
        .enumerate()
        .map(|(m, &map)| used[m].then(|| model.map_facts(map)))
        .collect();
    let names: Vec<Option<(Arc<str>, bool, Class)>> = facts
        .iter()
        .map(|f| {
            f.as_ref()
                .map(|f| (Arc::clone(&f.census_name), f.internal, f.class))
        })
        .collect();
    // Objects named on their own: function prototypes, and objects whose own
    // Symbol.toStringTag names them. They leave their map's count.
    let renamed: Vec<(usize, usize, Arc<str>)> = runs
        .par_iter()
        .flat_map_iter(|(run, ids)| {
            let slot = slot_of(run.isolate);
            let facts = &facts;
            ids.clone().filter(|&id| counted(id)).filter_map(move |id| {
                let m = map_ids[id] as usize;
                if index.is_function_prototype(id as u32) {
                    return Some((slot, id, Arc::from(PROTOTYPE_NAME)));
                }
                let f = facts[m].as_ref()?;
                if !f.per_object_name {
                    return None;
                }
                let name = model.census_name_of(index.addrs()[id], f);
                (name != f.census_name).then_some((slot, id, name))
            })
        })
        .collect();
    for (slot, id, _) in &renamed {
        let cell = counts.cell(*slot, map_ids[*id] as usize);
        cell.0 -= 1;
        cell.1 -= u64::from(sizes[*id]);
    }
    let wanted_slot = |slot: usize| match options.isolate {
        Some(i) => slot == i,
        None => true,
    };
    let mut rows: HashMap<Arc<str>, CensusRow> = HashMap::new();
    let mut total = Totals::default();
    let mut hidden = Totals::default();
    let mut add = |name: &Arc<str>, internal: bool, slot: usize, count: u64, size: u64| {
        total.add(count, size);
        if internal && !options.all {
            hidden.add(count, size);
            return;
        }
        let row = rows.entry(Arc::clone(name)).or_insert_with(|| CensusRow {
            name: name.to_string(),
            count: 0,
            size: 0,
            constructor: None,
            properties: None,
            sample: None,
            internal,
            isolates: Vec::new(),
            retained: None,
            distance: None,
        });
        row.count += count;
        row.size += size;
        let isolate = (slot < shared).then_some(slot);
        match row.isolates.iter_mut().find(|s| s.isolate == isolate) {
            Some(s) => {
                s.count += count;
                s.size += size;
            }
            None => row.isolates.push(IsolateShare {
                isolate,
                count,
                size,
            }),
        }
    };
    let detailed_classes = |class: Class| options.detailed && class == Class::Object;
    for (m, name) in names.iter().enumerate() {
        let Some((name, internal, class)) = name else {
            continue;
        };
        if detailed_classes(*class) {
            continue;
        }
        for slot in 0..slots {
            if !wanted_slot(slot) {
                continue;
            }
            let (count, size) = if counts.by_map_only {
                if slot != 0 {
                    continue;
                }
                counts.cells[m]
            } else {
                counts.cells[slot * maps + m]
            };
            if count > 0 {
                add(name, *internal, slot, count, size);
            }
        }
    }
    for (slot, id, name) in &renamed {
        let grouped_in_detail = options.detailed
            && !index.is_function_prototype(*id as u32)
            && names[map_ids[*id] as usize]
                .as_ref()
                .is_some_and(|(_, _, c)| *c == Class::Object);
        if wanted_slot(*slot) && !grouped_in_detail {
            add(name, false, *slot, 1, u64::from(sizes[*id]));
        }
    }
    if options.detailed {
        for row in detailed_rows(model, index, &facts, options) {
            total.add(row.count, row.size);
            let key: Arc<str> = Arc::from(row.name.as_str());
            rows.insert(key, row);
        }
    }
    let mut rows: Vec<CensusRow> = rows.into_values().collect();
    for row in &mut rows {
        row.isolates
            .sort_by_key(|s| s.isolate.map_or(usize::MAX, |i| i));
    }
    rows.sort_by(|a, b| {
        b.size
            .cmp(&a.size)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.name.cmp(&b.name))
    });
    if let Some(dominators) = dominators {
        // Each counted object's row, then what each row keeps alive.
        let row_of: HashMap<&str, u32> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.as_str(), i as u32))
            .collect();
        let signatures = if options.detailed {
            signatures(model, &facts)
        } else {
            Vec::new()
        };
        let mut group: Vec<Option<u32>> = vec![None; index.len()];
        for (run, ids) in &runs {
            if !wanted_slot(slot_of(run.isolate)) {
                continue;
            }
            for id in ids.clone() {
                let m = map_ids[id] as usize;
                group[id] = match names[m].as_ref() {
                    Some((_, _, class)) if detailed_classes(*class) => {
                        detailed_key(model, index, &facts, &signatures, id).and_then(
                            |(name, signature)| {
                                row_of.get(format!("{name} {signature}").as_str()).copied()
                            },
                        )
                    }
                    named => named.and_then(|(name, _, _)| row_of.get(&**name).copied()),
                };
            }
        }
        for (slot, id, name) in &renamed {
            let in_detail = group[*id].is_some_and(|g| rows[g as usize].properties.is_some());
            if wanted_slot(*slot) && !in_detail {
                group[*id] = row_of.get(&**name).copied();
            }
        }
        let totals = dominators.group_totals(&group, rows.len());
        for (row, (retained, distance)) in rows.iter_mut().zip(totals) {
            row.retained = Some(retained);
            row.distance = distance;
        }
    }
    let damaged = damaged_ranges(model, |d| {
        (options.isolate.is_none() || d.isolate == options.isolate)
            && options
                .generation
                .is_none_or(|g| Generation::of(d.space) == g)
    });
    Census {
        rows,
        total,
        hidden,
        isolates,
        damaged,
    }
}

/// The own property names of the objects of each map, for detailed rows: once per fast-mode
/// map (dictionary-mode objects get theirs one by one, `None` here).
fn signatures(model: &HeapModel<'_>, facts: &[Option<Arc<MapFacts>>]) -> Vec<Option<Arc<str>>> {
    facts
        .par_iter()
        .map(|f| match f {
            Some(f) if f.class == Class::Object => f.signature(model),
            _ => None,
        })
        .collect()
}

/// The detailed group of object `id` (census name, property names), when it is an ordinary JS
/// object (not a function's prototype).
fn detailed_key(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    facts: &[Option<Arc<MapFacts>>],
    signatures: &[Option<Arc<str>>],
    id: usize,
) -> Option<(Arc<str>, Arc<str>)> {
    let m = index.map_ids()[id] as usize;
    let f = facts[m].as_ref().filter(|f| f.class == Class::Object)?;
    if index.is_function_prototype(id as u32) {
        return None;
    }
    let addr = index.addrs()[id];
    let signature = match &signatures[m] {
        Some(s) => Arc::clone(s),
        None => Arc::from(object_signature(model, addr)),
    };
    Some((model.census_name_of(addr, f), signature))
}

/// Detailed rows: ordinary JS objects grouped by census name and own property names.
fn detailed_rows(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    facts: &[Option<Arc<MapFacts>>],
    options: &CensusOptions,
) -> Vec<CensusRow> {
    let signatures = signatures(model, facts);
    let runs: Vec<_> = index
        .run_ranges()
        .filter(|(run, _)| run_wanted(model, run, options))
        .collect();
    type Group = (u64, u64, u64, HashMap<Option<u32>, (u64, u64)>);
    type Groups = HashMap<(Arc<str>, Arc<str>), Group>;
    let groups: Groups = runs
        .par_iter()
        .fold(Groups::new, |mut g, (run, ids)| {
            if let Some(i) = options.isolate {
                if run.isolate != Some(i as u32) {
                    return g;
                }
            }
            for id in ids.clone() {
                let Some((name, signature)) = detailed_key(model, index, facts, &signatures, id)
                else {
                    continue;
                };
                let addr = index.addrs()[id];
                let size = u64::from(index.sizes()[id]);
                let entry = g
                    .entry((name, signature))
                    .or_insert((0, 0, addr, HashMap::new()));
                entry.0 += 1;
                entry.1 += size;
                entry.2 = entry.2.min(addr);
                let share = entry.3.entry(run.isolate).or_insert((0, 0));
                share.0 += 1;
                share.1 += size;
            }
            g
        })
        .reduce(Groups::new, |mut a, b| {
            for (k, (c, s, sample, shares)) in b {
                let e = a.entry(k).or_insert((0, 0, sample, HashMap::new()));
                e.0 += c;
                e.1 += s;
                e.2 = e.2.min(sample);
                for (iso, (ic, is)) in shares {
                    let x = e.3.entry(iso).or_insert((0, 0));
                    x.0 += ic;
                    x.1 += is;
                }
            }
            a
        });
    groups
        .into_iter()
        .map(|((name, signature), (count, size, sample, shares))| {
            let mut isolates: Vec<IsolateShare> = shares
                .into_iter()
                .map(|(iso, (c, s))| IsolateShare {
                    isolate: iso.map(|i| i as usize),
                    count: c,
                    size: s,
                })
                .collect();
            isolates.sort_by_key(|s| s.isolate.map_or(usize::MAX, |i| i));
            CensusRow {
                name: format!("{name} {signature}"),
                count,
                size,
                constructor: Some(name.to_string()),
                properties: Some(signature_names(&signature)),
                sample: Some(format!("{sample:#x}")),
                internal: false,
                isolates,
                retained: None,
                distance: None,
            }
        })
        .collect()
}

/// `{a, b}` of one object (dictionary-mode objects).
pub(crate) fn object_signature(model: &HeapModel<'_>, addr: u64) -> String {
    let names: Vec<String> = match model.own_properties(addr) {
        Ok(props) => props
            .iter()
            .filter(|p| !p.key.is_internal())
            .map(|p| p.key.display())
            .collect(),
        Err(_) => return "{?}".to_string(),
    };
    format!("{{{}}}", names.join(", "))
}

/// The names of a `{a, b}` signature.
fn signature_names(signature: &str) -> Vec<String> {
    let inner = signature
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(signature);
    if inner.is_empty() {
        Vec::new()
    } else {
        inner.split(", ").map(str::to_string).collect()
    }
}
