//! Isolates: finding every V8 isolate of the process (the main thread's and one per worker
//! thread) without debug information, by the signature of its roots table.
//!
//! The roots table starts with a few read-only roots at fixed indices: `undefined`, `null`,
//! `true` and `false` are oddballs on the read-only heap's pages, with kinds the metadata names.
//! Every writable word that could start such a table is checked; the isolate is then the table
//! address minus the roots offset, and must point to itself where `IsolateData` keeps its own
//! address. (The read-only heap keeps a copy of the read-only roots too; it fails that check.)
//! For each isolate its heap address and the main thread's linear allocation areas are read.

use std::collections::HashMap;

use coroner_corefile::{AddressSpace, ReadError};

use crate::labs::Lab;
use crate::layout::Layout;
use crate::pages::{Page, ReadOnlyAreas};
use crate::read::Reader;
use crate::scan::{par_scan, Run};

/// One isolate of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolate {
    /// The `Isolate` object's address.
    pub addr: u64,
    /// Its roots table.
    pub roots: u64,
    /// Its `Heap`, which its pages point to.
    pub heap: u64,
    /// The main thread's new-space allocation area.
    pub new_lab: Lab,
    /// The main thread's old-space allocation area.
    pub old_lab: Lab,
    /// Frame pointer of the topmost exit frame (`ThreadLocalTop::c_entry_fp_`), 0 when the
    /// thread is not in C++ called from JS.
    pub c_entry_fp: u64,
    /// Frame pointer of the outermost JS entry frame (`ThreadLocalTop::js_entry_sp_`), 0 when
    /// the thread is not running JS.
    pub js_entry_sp: u64,
}

impl Isolate {
    /// The tagged value of root number `index`.
    pub fn root(
        &self,
        space: &AddressSpace,
        layout: &Layout,
        index: u64,
    ) -> Result<u64, ReadError> {
        space.read_u64(
            self.roots
                .wrapping_add(index.wrapping_mul(layout.tagging.pointer_size)),
        )
    }
}

/// Every isolate of the process, by address. `pages` are the heap pages found in the core: the
/// oddballs of a roots table must be on the read-only ones.
pub(crate) fn find_isolates(layout: &Layout, space: &AddressSpace, pages: &[Page]) -> Vec<Isolate> {
    let ro = ReadOnlyAreas::of(pages);
    let checker = Checker {
        layout,
        r: Reader::new(space),
        ro: &ro,
    };
    // Every page header names its Heap, which lives at a fixed offset in its isolate: checking
    // those few candidates touches a handful of pages, where the signature scan below reads all
    // writable memory (most of the peak memory on a large gcore core). The scan stays as the
    // fallback for cores whose page headers name no isolate we can verify.
    let mut from_pages: Vec<u64> = pages
        .iter()
        .filter(|p| p.heap != 0)
        .filter_map(|p| {
            p.heap
                .checked_sub(layout.isolate.heap)?
                .checked_add(layout.isolate.roots)
        })
        .collect();
    from_pages.sort_unstable();
    from_pages.dedup();
    from_pages.retain(|&roots| checker.is_roots_table(roots));
    let candidates = if from_pages.is_empty() {
        scan_for_roots(&checker, space, pages)
    } else {
        from_pages
    };
    verified(layout, space, candidates)
}

/// How far an `Isolate` reaches: its `Heap` lies within this many bytes of its start (about
/// 57 000 in V8 12.x).
const MAX_ISOLATE_BYTES: u64 = 1 << 20;

/// The offset of `Heap` in `Isolate`, measured on the core: every page header names its heap,
/// and each isolate (found by its roots table and self pointer) must hold one of those heaps at
/// the same offset. `None` unless every isolate holds exactly one page heap, all at one offset.
///
/// Patch releases of one major can move it (22.12.0 has it 16 bytes before 22.23.3), while the
/// offsets the isolate checks verify stay put; a table borrowed from another release is thereby
/// corrected instead of leaving every page without an isolate.
pub(crate) fn measured_heap_offset(isolates: &[Isolate], pages: &[Page]) -> Option<u64> {
    let mut heaps: Vec<u64> = pages.iter().map(|p| p.heap).filter(|&h| h != 0).collect();
    heaps.sort_unstable();
    heaps.dedup();
    let mut offset = None;
    for iso in isolates {
        let end = iso.addr.saturating_add(MAX_ISOLATE_BYTES);
        let mut inside = heaps.iter().filter(|&&h| iso.addr < h && h < end);
        let heap = inside.next()?;
        if inside.next().is_some() {
            return None;
        }
        let delta = heap - iso.addr;
        if offset.is_some_and(|o| o != delta) {
            return None;
        }
        offset = Some(delta);
    }
    offset
}

/// Candidate roots tables found by reading every writable word (the slow, sure way).
fn scan_for_roots(checker: &Checker<'_>, space: &AddressSpace, pages: &[Page]) -> Vec<u64> {
    par_scan(space, pages, |run, from, to| checker.scan(run, from, to))
}

/// The isolates whose self pointer confirms a candidate roots table, by address.
fn verified(layout: &Layout, space: &AddressSpace, candidates: Vec<u64>) -> Vec<Isolate> {
    let mut isolates: Vec<Isolate> = candidates
        .into_iter()
        .filter_map(|roots_addr| {
            let addr = roots_addr.checked_sub(layout.isolate.roots)?;
            let me = space
                .read_u64(addr.wrapping_add(layout.isolate.self_pointer))
                .ok()?;
            (me == addr).then(|| read_isolate(layout, space, addr, roots_addr))
        })
        .collect();
    isolates.sort_by_key(|i| i.addr);
    isolates.dedup_by_key(|i| i.addr);
    isolates
}

fn read_isolate(layout: &Layout, space: &AddressSpace, addr: u64, roots: u64) -> Isolate {
    let il = &layout.isolate;
    let q = |off: u64| space.read_u64(addr.wrapping_add(off)).unwrap_or(0);
    let lab = |at: u64| Lab {
        top: q(at.wrapping_add(il.lab_top)),
        limit: q(at.wrapping_add(il.lab_limit)),
    };
    Isolate {
        addr,
        roots,
        heap: addr.wrapping_add(il.heap),
        new_lab: lab(il.new_allocation_info),
        old_lab: lab(il.old_allocation_info),
        c_entry_fp: q(il.thread_local_top.wrapping_add(il.c_entry_fp)),
        js_entry_sp: q(il.thread_local_top.wrapping_add(il.js_entry_sp)),
    }
}

/// Checks words against the oddballs of the read-only heap.
struct Checker<'a> {
    layout: &'a Layout,
    r: Reader<'a>,
    ro: &'a ReadOnlyAreas,
}

impl Checker<'_> {
    /// The addresses of words `from..to` of `run` where a roots table could start: the words
    /// at the undefined, null, true and false indices point to those oddballs.
    fn scan(&self, run: Run<'_>, from: usize, to: usize) -> Vec<u64> {
        let roots = &self.layout.roots;
        let kinds = &self.layout.oddball;
        let index = |i: u64| usize::try_from(i).unwrap_or(usize::MAX);
        let (undefined, null) = (index(roots.undefined), index(roots.null));
        let (true_value, false_value) = (index(roots.true_value), index(roots.false_value));
        let mut found = Vec::new();
        let mut known: HashMap<u64, bool> = HashMap::new();
        for table in from..to {
            let w = run.word(table.saturating_add(undefined));
            if !self.in_ro(w) {
                continue;
            }
            let is_undefined = *known
                .entry(w)
                .or_insert_with(|| self.is_oddball(w, kinds.kind_undefined));
            if is_undefined
                && self.is_oddball(run.word(table.saturating_add(null)), kinds.kind_null)
                && self.is_oddball(run.word(table.saturating_add(true_value)), kinds.kind_true)
                && self.is_oddball(
                    run.word(table.saturating_add(false_value)),
                    kinds.kind_false,
                )
            {
                found.push(run.addr(table));
            }
        }
        found
    }

    /// Whether the roots table could start at `addr`: its undefined, null, true and false
    /// entries point to oddballs of those kinds.
    fn is_roots_table(&self, addr: u64) -> bool {
        let roots = &self.layout.roots;
        let kinds = &self.layout.oddball;
        let stride = self.layout.tagging.tagged_size;
        let entry = |i: u64| {
            i.checked_mul(stride)
                .and_then(|off| addr.checked_add(off))
                .and_then(|at| self.r.u64(at).ok())
                .unwrap_or(0)
        };
        self.is_oddball(entry(roots.undefined), kinds.kind_undefined)
            && self.is_oddball(entry(roots.null), kinds.kind_null)
            && self.is_oddball(entry(roots.true_value), kinds.kind_true)
            && self.is_oddball(entry(roots.false_value), kinds.kind_false)
    }

    /// Whether `word` is a strong pointer into a read-only page.
    #[inline]
    fn in_ro(&self, word: u64) -> bool {
        match self.layout.tagging.strong(word) {
            Some(a) => self.ro.contains(a),
            None => false,
        }
    }

    /// Whether `word` points to an oddball of kind `kind`.
    fn is_oddball(&self, word: u64, kind: i64) -> bool {
        if !self.in_ro(word) {
            return false;
        }
        let Some(addr) = self.layout.tagging.strong(word) else {
            return false;
        };
        let t = crate::map::instance_type_of(self.layout, self.r.space(), addr);
        if t != Some(self.layout.types.oddball) {
            return false;
        }
        self.r
            .u64(addr.wrapping_add(self.layout.oddball.kind))
            .ok()
            .and_then(|w| self.layout.tagging.smi(w))
            == Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_image::{OpenOptions, ProcessImage};

    /// The page-header way of finding isolates finds exactly what the full scan finds.
    #[test]
    fn page_headers_find_the_isolates_the_scan_finds() {
        let mut seen = std::collections::HashSet::new();
        for f in coroner_fixtures::all() {
            // One core per version and scenario is enough; workers has three isolates.
            if !seen.insert((f.version.clone(), f.scenario.clone())) {
                continue;
            }
            let image =
                ProcessImage::open(&f.core, &OpenOptions::with_exe(f.exe.clone())).expect("image");
            let layout = Layout::load(&image).expect("layout");
            let space = image.memory();
            let pages = crate::pages::find_pages(&layout, space);
            let ro = ReadOnlyAreas::of(&pages);
            let checker = Checker {
                layout: &layout,
                r: Reader::new(space),
                ro: &ro,
            };
            let scanned: Vec<u64> =
                verified(&layout, space, scan_for_roots(&checker, space, &pages))
                    .iter()
                    .map(|i| i.addr)
                    .collect();
            let found: Vec<u64> = find_isolates(&layout, space, &pages)
                .iter()
                .map(|i| i.addr)
                .collect();
            assert!(!found.is_empty(), "{} {}", f.version, f.scenario);
            assert_eq!(found, scanned, "{} {}", f.version, f.scenario);
        }
    }
}
