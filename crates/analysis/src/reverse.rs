//! The reverse-reference index ([`ReverseIndex`]): for every object, the objects that hold a
//! reference to it. `findrefs` and `retainers` are answered from it.
//!
//! Built once per open core from the [`ObjectIndex`], in parallel over its page runs: every
//! reference an object holds ([`HeapModel::for_each_reference`]: its tagged slots by the heap
//! model's slot rules, pointing outside the read-only heap) that points exactly at the start
//! of an indexed object is a reference. The references of one object to one target count once
//! (weak only if all of them are weak). They are kept in compressed sparse rows keyed by target
//! id: `offsets[t]..offsets[t + 1]` indexes `entries`, the ids of the referrers in increasing
//! order, the top bit of each entry marking a weak-only reference. That is 4 bytes per object
//! plus 4 per reference; no edge names are stored: a query re-reads each referrer's slots to
//! name the edge ([`HeapModel::edges_to`]). Objects of the read-only heap (undefined, the hole,
//! empty arrays, builtin names...) are held by nearly everything and hold nothing else: they
//! are neither indexed as targets nor scanned as referrers; their referrers are found by a
//! full scan instead ([`scan_referrers`]).

use coroner_heap::{Class, HeapModel, PageKind, Role, SlotRule};
use rayon::prelude::*;

use crate::index::ObjectIndex;

/// The top bit of a referrer entry: the reference is weak.
const WEAK_BIT: u32 = 1 << 31;

/// The reverse references of every object of the heap (see the module documentation).
#[derive(Debug, Default)]
pub struct ReverseIndex {
    offsets: Vec<u32>,
    entries: Vec<u32>,
    /// The class of the objects of each map id.
    classes: Vec<Class>,
    /// The role of the objects of each map id.
    roles: Vec<Option<Role>>,
    /// Objects of the read-only heap, by id range.
    read_only: Vec<(u32, u32)>,
    /// Whether some references were left out (more than `u32::MAX` of them).
    truncated: bool,
}

/// Reads the references of indexed objects as object ids.
struct Scanner<'m, 'a> {
    model: &'m HeapModel<'a>,
    index: &'m ObjectIndex,
    /// Per map id.
    rules: Vec<SlotRule>,
}

impl<'m, 'a> Scanner<'m, 'a> {
    fn new(model: &'m HeapModel<'a>, index: &'m ObjectIndex) -> Scanner<'m, 'a> {
        let rules = index
            .maps()
            .par_iter()
            .map(|&m| model.map_slot_rule(m))
            .collect();
        Scanner {
            model,
            index,
            rules,
        }
    }

    /// Calls `f(target, weak)` for every reference of object `id` to another indexed object,
    /// by id. Objects of one page are read through `reader`, the page's reader.
    fn scan(&self, id: u32, reader: &coroner_heap::Reader<'_>, f: &mut impl FnMut(u32, bool)) {
        let i = id as usize;
        let (Some(&addr), Some(&size), Some(&map_id)) = (
            self.index.addrs().get(i),
            self.index.sizes().get(i),
            self.index.map_ids().get(i),
        ) else {
            return;
        };
        let Some(rule) = self.rules.get(map_id as usize) else {
            return;
        };
        if rule.is_empty() {
            return;
        }
        // Consecutive slots often point at one object (a map's descriptors, a string's parts).
        let mut last: (u64, Option<u32>) = (u64::MAX, None);
        self.model
            .for_each_reference(reader, addr, u64::from(size), rule, |target, weak| {
                if last.0 != target {
                    // Read-only objects are not indexed (see the module documentation).
                    let id = if self.model.is_read_only(target) {
                        None
                    } else {
                        self.index.id_of(target)
                    };
                    last = (target, id);
                }
                if let Some(t) = last.1.filter(|&t| t != id) {
                    f(t, weak);
                }
            });
    }

    /// The reader of page number `page` (its object area read once).
    fn reader(&self, page: u32) -> Option<coroner_heap::Reader<'a>> {
        self.model
            .pages()
            .get(page as usize)
            .map(|p| self.model.page_reader(p))
    }
}

impl ReverseIndex {
    /// Builds the index of `model`'s heap from its object index, in parallel.
    pub(crate) fn build(model: &HeapModel<'_>, index: &ObjectIndex) -> ReverseIndex {
        let scanner = Scanner::new(model, index);
        let pages = model.pages();
        let on_read_only_page = |page: u32| {
            pages
                .get(page as usize)
                .is_none_or(|p| p.kind == PageKind::ReadOnly)
        };
        let runs: Vec<_> = index.run_ranges().collect();
        let read_only: Vec<(u32, u32)> = runs
            .iter()
            .filter(|(run, _)| on_read_only_page(run.page))
            .map(|(_, ids)| (ids.start as u32, ids.end as u32))
            .collect();
        // Per run: (target, referrer | weak bit), grouped by referrer in id order.
        let per_run: Vec<Vec<(u32, u32)>> = runs
            .par_iter()
            .map(|(run, ids)| {
                let mut out = Vec::new();
                if on_read_only_page(run.page) {
                    return out;
                }
                let Some(reader) = scanner.reader(run.page) else {
                    return out;
                };
                let mut one: Vec<(u32, bool)> = Vec::new();
                for id in ids.clone() {
                    let Ok(id) = u32::try_from(id) else { break };
                    if id >= WEAK_BIT {
                        break;
                    }
                    one.clear();
                    scanner.scan(id, &reader, &mut |t, weak| one.push((t, weak)));
                    if one.is_empty() {
                        continue;
                    }
                    // One entry per target, weak only when every reference to it is.
                    one.sort_unstable();
                    let mut i = 0;
                    while i < one.len() {
                        let t = one[i].0;
                        let mut weak = true;
                        while i < one.len() && one[i].0 == t {
                            weak &= one[i].1;
                            i += 1;
                        }
                        out.push((t, if weak { id | WEAK_BIT } else { id }));
                    }
                }
                out
            })
            .collect();
        let n = index.len();
        let total: usize = per_run.iter().map(Vec::len).sum();
        // Ids use 31 bits (the top one is the weak bit) and rows u32 offsets: heaps beyond
        // that lose references, and say so.
        let truncated = total > u32::MAX as usize || n > WEAK_BIT as usize;
        let mut offsets = vec![0u32; n + 1];
        for &(t, _) in per_run.iter().flatten() {
            if let Some(c) = offsets.get_mut(t as usize + 1) {
                *c = c.saturating_add(1);
            }
        }
        for i in 1..offsets.len() {
            offsets[i] = offsets[i].saturating_add(offsets[i - 1]);
        }
        let mut entries = vec![0u32; offsets.last().copied().unwrap_or(0) as usize];
        let mut cursor: Vec<u32> = offsets[..n].to_vec();
        for &(t, r) in per_run.iter().flatten() {
            let Some(c) = cursor.get_mut(t as usize) else {
                continue;
            };
            if let Some(slot) = entries.get_mut(*c as usize) {
                *slot = r;
                *c += 1;
            }
        }
        let (classes, roles) = index
            .maps()
            .par_iter()
            .map(|&m| {
                let facts = model.map_facts(m);
                let role = facts.info.and_then(|i| model.role_of(i.instance_type));
                (facts.class, role)
            })
            .unzip();
        ReverseIndex {
            offsets,
            entries,
            classes,
            roles,
            read_only,
            truncated,
        }
    }

    /// The objects that hold a reference to object `target`, by id (increasing), each with
    /// whether all its references to it are weak. Empty for read-only objects, which are not
    /// indexed (see [`ReverseIndex::is_indexed`]).
    pub fn referrers(&self, target: u32) -> impl Iterator<Item = (u32, bool)> + '_ {
        let t = target as usize;
        let (start, end) = match (self.offsets.get(t), self.offsets.get(t + 1)) {
            (Some(&s), Some(&e)) => (s as usize, e as usize),
            _ => (0, 0),
        };
        self.entries
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .map(|&e| (e & !WEAK_BIT, e & WEAK_BIT != 0))
    }

    /// How many objects hold a reference to `target`.
    pub fn referrer_count(&self, target: u32) -> usize {
        let t = target as usize;
        match (self.offsets.get(t), self.offsets.get(t + 1)) {
            (Some(&s), Some(&e)) => e.saturating_sub(s) as usize,
            _ => 0,
        }
    }

    /// Whether references to `target` are in the index (objects of the read-only heap are
    /// not).
    pub fn is_indexed(&self, target: u32) -> bool {
        !self
            .read_only
            .iter()
            .any(|&(s, e)| s <= target && target < e)
    }

    /// The objects of the read-only heap, by id.
    pub fn read_only_ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.read_only.iter().flat_map(|&(s, e)| s..e)
    }

    /// The class of object `id`'s map (`Class::Internal` when unknown).
    pub fn class_of(&self, index: &ObjectIndex, id: u32) -> Class {
        index
            .map_ids()
            .get(id as usize)
            .and_then(|&m| self.classes.get(m as usize))
            .copied()
            .unwrap_or(Class::Internal)
    }

    /// The role of object `id`'s map, if it has one.
    pub fn role_of(&self, index: &ObjectIndex, id: u32) -> Option<Role> {
        index
            .map_ids()
            .get(id as usize)
            .and_then(|&m| self.roles.get(m as usize))
            .copied()
            .flatten()
    }

    /// Whether object `id` is the boilerplate of an object literal: V8's template copied by
    /// each evaluation of the literal, held by the literal's `AllocationSite`, not an object
    /// the program made.
    pub fn is_boilerplate(&self, index: &ObjectIndex, id: u32) -> bool {
        self.referrers(id)
            .any(|(r, _)| self.role_of(index, r) == Some(Role::AllocationSite))
    }

    /// Number of (referrer, target) pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no object holds any other.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether references were left out because there were more than 2^32.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Bytes the index takes.
    pub fn memory_bytes(&self) -> usize {
        self.offsets.capacity() * 4
            + self.entries.capacity() * 4
            + self.classes.capacity() * std::mem::size_of::<Class>()
            + self.roles.capacity() * std::mem::size_of::<Option<Role>>()
            + self.read_only.capacity() * 8
    }
}

/// The referrers of `target` found by scanning every object (for targets the index leaves out:
/// objects of the read-only heap).
pub(crate) fn scan_referrers(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    target: u32,
) -> Vec<(u32, bool)> {
    let Some(&target_addr) = index.addrs().get(target as usize) else {
        return Vec::new();
    };
    let scanner = Scanner::new(model, index);
    let runs: Vec<_> = index.run_ranges().collect();
    let mut found: Vec<(u32, bool)> = runs
        .par_iter()
        .flat_map_iter(|(run, ids)| {
            let mut out = Vec::new();
            let Some(reader) = scanner.reader(run.page) else {
                return out;
            };
            for id in ids.clone() {
                let id = id as u32;
                let (Some(&addr), Some(&size), Some(&m)) = (
                    index.addrs().get(id as usize),
                    index.sizes().get(id as usize),
                    index.map_ids().get(id as usize),
                ) else {
                    continue;
                };
                let Some(rule) = scanner.rules.get(m as usize) else {
                    continue;
                };
                let mut weak = None;
                model.for_each_reference(&reader, addr, u64::from(size), rule, |t, w| {
                    if t == target_addr && t != addr {
                        weak = Some(weak.unwrap_or(true) && w);
                    }
                });
                if let Some(w) = weak {
                    out.push((id, w));
                }
            }
            out
        })
        .collect();
    found.sort_unstable();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ReverseIndex>();
    }

    #[test]
    fn referrers_from_rows() {
        let refs = ReverseIndex {
            offsets: vec![0, 0, 2, 3],
            entries: vec![0, 2 | WEAK_BIT, 1],
            ..ReverseIndex::default()
        };
        assert_eq!(refs.referrers(0).count(), 0);
        assert_eq!(
            refs.referrers(1).collect::<Vec<_>>(),
            vec![(0, false), (2, true)]
        );
        assert_eq!(refs.referrers(2).collect::<Vec<_>>(), vec![(1, false)]);
        assert_eq!(refs.referrers(7).count(), 0);
        assert_eq!(refs.referrer_count(1), 2);
        assert_eq!(refs.len(), 3);
    }
}
