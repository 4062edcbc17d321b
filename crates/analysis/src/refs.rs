//! Who holds an object: the reverse-reference index ([`ReverseIndex`]) and the queries behind
//! `findrefs` — the references to an object, each named as its holder sees it
//! ([`references`]), the objects that have a property of some name ([`with_property`]), and
//! the objects whose property or element is a string of some text ([`holding_string`]).
//!
//! **The index.** Built once per open core from the [`ObjectIndex`], in parallel over its
//! page runs: every tagged slot of every object (the heap model's [`SlotRule`]s: no map word,
//! no raw data) that points exactly at the start of an indexed object is a reference. The
//! references of one object to one target count once (weak only if all of them are weak). They
//! are kept in compressed sparse rows keyed by target id: `offsets[t]..offsets[t + 1]` indexes
//! `entries`, the ids of the referrers in increasing order, the top bit of each entry marking a
//! weak-only reference. That is 4 bytes per object plus 4 per reference; no edge names are
//! stored: a query re-reads each referrer's slots to name the edge ([`HeapModel::edges`]).
//! Objects of the read-only heap (undefined, the hole, empty arrays, builtin names...) are
//! held by nearly everything and hold nothing else: they are neither indexed as targets nor
//! scanned as referrers; [`references`] finds their referrers with a full scan instead.
//!
//! **Naming.** A reference held by a backing store is named from the JS object that owns the
//! store ([`HeapModel::owned_slot_name`]): a `PropertyArray` or `NameDictionary` slot as the
//! owner's property (`Walrus.label`), a `PropertyCell` of the global dictionary as a property of
//! the global object, an elements slot as an index (`(Array)[1952]`), a collection table's
//! slot as a Map value of its key or a Set member. The owners are the store's own referrers in
//! the index. A context is named after the first closure that holds it (`Context tick`), a
//! function after itself (`Function tick`).

use coroner_heap::v8::pages::PageKind;
use coroner_heap::v8::Tagged;
use coroner_heap::{Class, EdgeName, HeapModel, Slot, SlotRule};
use rayon::prelude::*;

use crate::index::ObjectIndex;

/// The top bit of a referrer entry: the reference is weak.
const WEAK_BIT: u32 = 1 << 31;
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

/// The reverse references of every object of the heap (see the module documentation).
#[derive(Debug, Default)]
pub struct ReverseIndex {
    offsets: Vec<u32>,
    entries: Vec<u32>,
    /// The class of the objects of each map id.
    classes: Vec<Class>,
    /// The instance type of the objects of each map id.
    types: Vec<u16>,
    /// Objects of the read-only heap, by id range.
    read_only: Vec<(u32, u32)>,
    /// Whether some references were left out (more than `u32::MAX` of them).
    truncated: bool,
}

/// Reads the slots of indexed objects and resolves them to object ids.
struct Scanner<'m, 'a> {
    model: &'m HeapModel<'a>,
    index: &'m ObjectIndex,
    /// Per map id.
    rules: Vec<SlotRule>,
    /// Object areas of the read-only pages.
    ro: Vec<(u64, u64)>,
}

impl<'m, 'a> Scanner<'m, 'a> {
    fn new(model: &'m HeapModel<'a>, index: &'m ObjectIndex) -> Scanner<'m, 'a> {
        let rules = index
            .maps()
            .par_iter()
            .map(|&m| match model.map_info(m) {
                Ok(info) if !model.layout().types.is_free(info.instance_type) => {
                    model.slot_rule(info.instance_type)
                }
                _ => SlotRule::EMPTY,
            })
            .collect();
        let ro = model
            .heap()
            .pages()
            .iter()
            .filter(|p| p.kind == PageKind::ReadOnly)
            .map(|p| (p.area_start, p.area_end))
            .collect();
        Scanner {
            model,
            index,
            rules,
            ro,
        }
    }

    /// The id of the object a tagged word points to, with whether the pointer is weak; `None`
    /// for Smis, cleared references, read-only objects and words that point at no object
    /// start.
    #[inline]
    fn target(&self, word: u64, last: &mut (u64, Option<u32>)) -> Option<(u32, bool)> {
        let (addr, weak) = match self.model.layout().tagging.decode(word) {
            Tagged::Strong(a) => (a, false),
            Tagged::Weak(a) => (a, true),
            _ => return None,
        };
        if last.0 == addr {
            return last.1.map(|id| (id, weak));
        }
        let id = if self.ro.iter().any(|&(s, e)| s <= addr && addr < e) {
            None
        } else {
            self.index.id_of(addr)
        };
        *last = (addr, id);
        id.map(|id| (id, weak))
    }

    /// Calls `f(target, weak)` for every reference slot of object `id` (read from `window`,
    /// the bytes of its page's object area from `window_start`, when given).
    fn scan(&self, id: u32, window: (u64, &[u8]), f: &mut impl FnMut(u32, bool)) {
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
        let memory = self.model.heap().memory();
        let word = self.model.layout().tagging.tagged_size;
        let mut last = (u64::MAX, None);
        for (start, end) in rule.ranges(u64::from(size)) {
            let mut off = start;
            // Bounded by the object's size.
            while off.saturating_add(word) <= end {
                let at = addr.wrapping_add(off);
                let w = match read_window(window, at) {
                    Some(w) => w,
                    None => match memory.read_u64(at) {
                        Ok(w) => w,
                        Err(_) => break,
                    },
                };
                if let Some((t, weak)) = self.target(w, &mut last) {
                    if t != id {
                        f(t, weak || rule.is_weak(off));
                    }
                }
                off += word;
            }
        }
    }

    /// The bytes of the object area of page number `page`, when the core holds them in one
    /// piece.
    fn window(&self, page: u32) -> (u64, &'m [u8]) {
        let Some(p) = self.model.heap().pages().get(page as usize) else {
            return (0, &[]);
        };
        let bytes = usize::try_from(p.area_end.saturating_sub(p.area_start))
            .ok()
            .and_then(|len| self.model.heap().memory().bytes(p.area_start, len).ok())
            .unwrap_or(&[]);
        (p.area_start, bytes)
    }
}

/// The little-endian word at `at` from a window of memory.
#[inline]
fn read_window((start, bytes): (u64, &[u8]), at: u64) -> Option<u64> {
    let off = usize::try_from(at.checked_sub(start)?).ok()?;
    let b = bytes.get(off..off.checked_add(8)?)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

impl ReverseIndex {
    /// Builds the index of `model`'s heap from its object index, in parallel.
    pub fn build(model: &HeapModel<'_>, index: &ObjectIndex) -> ReverseIndex {
        let scanner = Scanner::new(model, index);
        let pages = model.heap().pages();
        let runs: Vec<_> = index.run_ranges().collect();
        let read_only: Vec<(u32, u32)> = runs
            .iter()
            .filter(|(run, _)| {
                pages
                    .get(run.page as usize)
                    .is_some_and(|p| p.kind == PageKind::ReadOnly)
            })
            .map(|(_, ids)| (ids.start as u32, ids.end as u32))
            .collect();
        // Per run: (target, referrer | weak bit), grouped by referrer in id order.
        let per_run: Vec<Vec<(u32, u32)>> = runs
            .par_iter()
            .map(|(run, ids)| {
                let mut out = Vec::new();
                let read_only = pages
                    .get(run.page as usize)
                    .is_none_or(|p| p.kind == PageKind::ReadOnly);
                if read_only {
                    return out;
                }
                let window = scanner.window(run.page);
                let mut one: Vec<(u32, bool)> = Vec::new();
                for id in ids.clone() {
                    let Ok(id) = u32::try_from(id) else { break };
                    if id >= WEAK_BIT {
                        break;
                    }
                    one.clear();
                    scanner.scan(id, window, &mut |t, weak| one.push((t, weak)));
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
        let classes = index
            .maps()
            .par_iter()
            .map(|&m| model.map_facts(m).class)
            .collect();
        let types = index
            .maps()
            .iter()
            .map(|&m| model.map_info(m).map_or(u16::MAX, |i| i.instance_type))
            .collect();
        ReverseIndex {
            offsets,
            entries,
            classes,
            types,
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

    /// The class of object `id`'s map (`Class::Internal` when unknown).
    pub fn class_of(&self, index: &ObjectIndex, id: u32) -> Class {
        index
            .map_ids()
            .get(id as usize)
            .and_then(|&m| self.classes.get(m as usize))
            .copied()
            .unwrap_or(Class::Internal)
    }

    /// The instance type of object `id` (`None` when its map is unreadable).
    pub fn type_of(&self, index: &ObjectIndex, id: u32) -> Option<u16> {
        index
            .map_ids()
            .get(id as usize)
            .and_then(|&m| self.types.get(m as usize))
            .copied()
            .filter(|&t| t != u16::MAX)
    }

    /// Whether object `id` is the boilerplate of an object literal: V8's template copied by
    /// each evaluation of the literal, held by the literal's `AllocationSite`, not an object
    /// the program made.
    pub fn is_boilerplate(&self, model: &HeapModel<'_>, index: &ObjectIndex, id: u32) -> bool {
        let Some(site) = model.layout().types.number("ALLOCATION_SITE_TYPE") else {
            return false;
        };
        self.referrers(id)
            .any(|(r, _)| self.type_of(index, r) == Some(site))
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
            + self.types.capacity() * 2
            + self.read_only.capacity() * 8
    }
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
pub fn object_id(model: &HeapModel<'_>, index: &ObjectIndex, addr: u64) -> Result<u32, RefsError> {
    let t = &model.layout().tagging;
    let untagged = if addr & t.heap_object_tag_mask == t.heap_object_tag
        || addr & t.heap_object_tag_mask == t.weak_tag
    {
        addr & !t.heap_object_tag_mask
    } else {
        addr
    };
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

/// The name of object `id` as a holder: see [`Reference::holder_name`]. `refs`, when built,
/// names a closure context after a closure that holds it.
pub fn holder_name(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: Option<&ReverseIndex>,
    id: u32,
) -> String {
    let Some(&addr) = index.addrs().get(id as usize) else {
        return "?".to_string();
    };
    let Some(map) = index
        .map_ids()
        .get(id as usize)
        .and_then(|&m| index.maps().get(m as usize))
    else {
        return "?".to_string();
    };
    let facts = model.map_facts(*map);
    match facts.class {
        Class::Function => {
            let name = model.function_name(addr).unwrap_or_default();
            if name.is_empty() {
                "Function (anonymous)".to_string()
            } else {
                format!("Function {name}")
            }
        }
        Class::Context => {
            let native = facts
                .info
                .is_some_and(|i| i.instance_type == model.layout().types.native_context);
            if native {
                return "NativeContext".to_string();
            }
            let closure = refs.and_then(|r| context_name(model, index, r, id, addr));
            match closure {
                Some(name) => format!("Context {name}"),
                None => "Context".to_string(),
            }
        }
        _ => {
            let name = model.census_name_of(addr, &facts);
            match name
                .strip_prefix("(internal: ")
                .and_then(|n| n.strip_suffix(')'))
            {
                Some(internal) => internal.to_string(),
                None => name.to_string(),
            }
        }
    }
}

/// The name of the closure context `id` (at `addr`): the name its closures share; else the
/// function whose scope it is, when that has a name; else the first closure's.
fn context_name(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    id: u32,
    addr: u64,
) -> Option<String> {
    let layout = model.layout();
    let memory = model.heap().memory();
    let mut closures: Vec<String> = refs
        .referrers(id)
        .filter(|&(f, _)| refs.class_of(index, f) == Class::Function)
        .filter_map(|(f, _)| {
            let a = *index.addrs().get(f as usize)?;
            // Only closures of this very context, not functions that hold it elsewhere.
            let ctx = memory
                .read_u64(a.wrapping_add(layout.js_function.context))
                .ok()?;
            if layout.tagging.strong(ctx) != Some(addr) {
                return None;
            }
            model.function_name(a).ok().filter(|n| !n.is_empty())
        })
        .collect();
    let first = closures.first().cloned();
    closures.sort_unstable();
    closures.dedup();
    if closures.len() == 1 {
        return first;
    }
    // The function whose scope this is: the SharedFunctionInfo holding the context's scope
    // info as its own.
    let scope = model
        .heap()
        .memory()
        .read_u64(
            addr.wrapping_add(layout.fixed_array.header_size)
                .wrapping_add(layout.context.scope_info_index * layout.tagging.tagged_size),
        )
        .ok()
        .and_then(|w| layout.tagging.strong(w))
        .and_then(|s| index.id_of(s));
    let owner = scope.and_then(|s| {
        refs.referrers(s).find_map(|(r, _)| {
            if refs.type_of(index, r) != Some(layout.types.shared_function_info) {
                return None;
            }
            let sfi = *index.addrs().get(r as usize)?;
            let name = model.shared_info(sfi).ok()?.debug_name().to_string();
            (!name.is_empty()).then_some(name)
        })
    });
    owner.or(first)
}

/// The references to object `target` (an id of `index`), each named (see the module
/// documentation). Read-only objects are looked for by a parallel scan of the whole heap.
pub fn references(
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

/// The referrers of `target` found by scanning every object (for targets the index leaves out).
fn scan_referrers(model: &HeapModel<'_>, index: &ObjectIndex, target: u32) -> Vec<(u32, bool)> {
    let scanner = Scanner {
        ro: Vec::new(),
        ..Scanner::new(model, index)
    };
    let runs: Vec<_> = index.run_ranges().collect();
    let mut found: Vec<(u32, bool)> = runs
        .par_iter()
        .flat_map_iter(|(run, ids)| {
            let window = scanner.window(run.page);
            let mut out = Vec::new();
            for id in ids.clone() {
                let id = id as u32;
                let mut weak = None;
                scanner.scan(id, window, &mut |t, w| {
                    if t == target {
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
            for (owner, via) in owners(model, index, refs, r) {
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
fn owners(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: &ReverseIndex,
    store: u32,
) -> Vec<(u32, Vec<u64>)> {
    let addr = |id: u32| index.addrs().get(id as usize).copied().unwrap_or(0);
    let mut out = Vec::new();
    for (o, _) in refs.referrers(store).take(MAX_OWNERS) {
        match refs.class_of(index, o) {
            c if c.is_receiver() => out.push((o, vec![addr(store)])),
            _ => {
                // A PropertyCell's owner is the global object of the dictionary holding it.
                let is_dictionary = index
                    .map_ids()
                    .get(o as usize)
                    .and_then(|&m| index.maps().get(m as usize))
                    .and_then(|&m| model.map_info(m).ok())
                    .is_some_and(|i| i.instance_type == model.layout().types.global_dictionary);
                if is_dictionary {
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
pub fn with_property(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: Option<&ReverseIndex>,
    name: &str,
) -> Vec<PropertyMatch> {
    let layout = model.layout();
    // Per map id: Some(true) every object has it, Some(false) none does, None: look.
    let per_map: Vec<Option<bool>> = index
        .maps()
        .par_iter()
        .map(|&m| {
            let facts = model.map_facts(m);
            let Some(info) = facts.info else {
                return Some(false);
            };
            if !facts.class.is_receiver() {
                return Some(false);
            }
            if info.is_dictionary_map(layout) {
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
                if refs.is_some_and(|r| r.is_boilerplate(model, index, id as u32)) {
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
                                coroner_heap::Key::Symbol {
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
pub fn strings_equal_to(model: &HeapModel<'_>, index: &ObjectIndex, text: &str) -> Vec<u32> {
    let want: Vec<u16> = text.encode_utf16().collect();
    let len = want.len() as u64;
    let layout = model.layout();
    let is_string: Vec<bool> = index
        .maps()
        .par_iter()
        .map(|&m| model.map_facts(m).class == Class::String)
        .collect();
    let runs: Vec<_> = index.run_ranges().collect();
    let memory = model.heap().memory();
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
                let same_length = memory
                    .read_u32(addr.wrapping_add(layout.string.length))
                    .is_ok_and(|l| u64::from(l) == len);
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
pub fn holding_string(
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
                refs.class_of(index, h).is_receiver() && !refs.is_boilerplate(model, index, h)
            })
        })
        .collect();
    out.sort_by_key(|r| (r.holder, r.slot));
    out.dedup_by(|a, b| a.holder == b.holder && a.slot == b.slot);
    Ok(out)
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
    fn words_from_a_window() {
        let bytes: Vec<u8> = (0u8..24).collect();
        assert_eq!(
            read_window((0x1000, &bytes), 0x1008),
            Some(u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]))
        );
        assert_eq!(read_window((0x1000, &bytes), 0x1011), None);
        assert_eq!(read_window((0x1000, &bytes), 0xff8), None);
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
