//! [`Heap`]: the V8 heap of a core, tied together — the layout, every isolate, every page
//! (attributed to its isolate), the allocation areas a walk must respect, and walks over the
//! pages, one at a time or in parallel.
//!
//! Opening a heap: find the pages (header signatures), the isolates (roots-table signature),
//! attribute pages to isolates by their heap pointer, and gather the allocation areas: the
//! isolates' main-thread LABs, read-only pages' allocation tops, and the new-space pages that
//! lie after the allocation top. That is all opening reads. The first time something needs the
//! whole heap walked, every page is walked once; where a walk stops early, memory is searched
//! for an allocator's `LinearAllocationArea` whose `top` is that address (code-space,
//! map-space and background-thread LABs live in allocator objects coroner has no offsets for).

use std::collections::HashMap;
use std::sync::OnceLock;

use coroner_corefile::AddressSpace;
use coroner_image::ProcessImage;
use rayon::prelude::*;

use crate::error::HeapError;
use crate::isolate::{find_isolates, measured_heap_offset, Isolate};
use crate::labs::{find_in_memory, KnownLab, Lab, LabOrigin};
use crate::layout::{Layout, TableMatch};
use crate::pages::{find_pages, Page, PageKind, ReadOnlyAreas, Space};
use crate::read::Reader;
use crate::walk::{PageWalk, WalkEnd};

/// What a walk of one page must know besides the page.
#[derive(Debug, Clone, Default)]
struct PageState {
    labs: Vec<Lab>,
    /// Why the page holds no live object, when it holds none: it lies past new space's
    /// allocation top, or in from-space.
    unused: Option<WalkEnd>,
}

/// The whole heap walked once: where each page's walk ends, after allocation areas were
/// searched for in memory for the pages whose walk stopped at an address no known area
/// explains.
struct Settled {
    /// Every allocation area known: those known when the heap opened and those found.
    labs: Vec<KnownLab>,
    /// Per page (same order as the heap's pages).
    states: Vec<PageState>,
    ends: Vec<WalkEnd>,
}

/// The V8 heap of one core: every isolate and every page, with the layout to read them.
///
/// Opening reads the page headers and the isolates, no more: the heap is walked only when
/// something needs a whole walk (a census, [`Heap::walk_ends`]), so that inspecting one object
/// or unwinding a stack of a multi-gigabyte core costs what it reads. A single page's walk
/// settles the whole heap only when that page stops at an address no known allocation area
/// explains.
pub struct Heap<'a> {
    space: &'a AddressSpace,
    layout: Layout,
    isolates: Vec<Isolate>,
    pages: Vec<Page>,
    /// The allocation areas known when the heap opens: each isolate's main-thread LABs and
    /// the read-only pages' tops.
    labs: Vec<KnownLab>,
    /// Per page (same order as `pages`), from `labs`.
    states: Vec<PageState>,
    settled: OnceLock<Settled>,
    read_only: ReadOnlyAreas,
}

impl<'a> Heap<'a> {
    /// Loads the layout of `image`'s V8, then finds its pages, isolates and allocation areas.
    pub fn open(image: &'a ProcessImage) -> Result<Heap<'a>, HeapError> {
        let layout = Layout::load(image)?;
        Heap::with_layout(image.memory(), layout)
    }

    /// Finds the pages, isolates and allocation areas of `space` with a layout already loaded.
    pub fn with_layout(space: &'a AddressSpace, mut layout: Layout) -> Result<Heap<'a>, HeapError> {
        let mut pages = space.sparse_reads(|| find_pages(&layout, space));
        if pages.is_empty() {
            return Err(if layout.source.needs_check() {
                mismatch(&layout, "no heap page header matches the table")
            } else {
                HeapError::NoPages
            });
        }
        let mut isolates = find_isolates(&layout, space, &pages);
        let attributed = |isolates: &[Isolate]| {
            pages
                .iter()
                .filter(|p| p.heap != 0)
                .all(|p| isolates.iter().any(|i| i.heap == p.heap))
        };
        if !isolates.is_empty() && !attributed(&isolates) {
            let measured = measured_heap_offset(&isolates, &pages);
            if let Some(offset) = measured.filter(|&o| o != layout.isolate.heap) {
                layout.measure("isolate.heap", layout.isolate.heap, offset);
                layout.isolate.heap = offset;
                for iso in &mut isolates {
                    iso.heap = iso.addr.wrapping_add(offset);
                }
            }
        }
        if layout.source.needs_check() && !isolates.is_empty() && !attributed(&isolates) {
            return Err(mismatch(
                &layout,
                "heap pages name a heap that no isolate found holds",
            ));
        }
        if isolates.is_empty() {
            return Err(if layout.source.needs_check() {
                mismatch(
                    &layout,
                    "no isolate passes the self-pointer and roots-table checks",
                )
            } else {
                HeapError::NoIsolate { pages: pages.len() }
            });
        }
        for page in &mut pages {
            page.isolate = isolates.iter().position(|i| i.heap == page.heap);
        }
        let mut labs = Vec::new();
        for (i, iso) in isolates.iter().enumerate() {
            labs.push(KnownLab {
                lab: iso.new_lab,
                origin: LabOrigin::NewSpace { isolate: i },
            });
            labs.push(KnownLab {
                lab: iso.old_lab,
                origin: LabOrigin::OldSpace { isolate: i },
            });
        }
        for page in pages.iter().filter(|p| p.kind == PageKind::ReadOnly) {
            labs.push(KnownLab {
                lab: Lab {
                    top: page.high_water_mark,
                    limit: page.area_end,
                },
                origin: LabOrigin::ReadOnlyTop,
            });
        }
        let mut states = assign_labs(&pages, &labs);
        mark_unused_new_pages(&layout, &isolates, &pages, &mut states);
        let heap = Heap {
            space,
            read_only: ReadOnlyAreas::of(&pages),
            layout,
            isolates,
            pages,
            labs,
            states,
            settled: OnceLock::new(),
        };
        if heap.layout.source.needs_check() {
            if let Some(why) = heap.unwalkable() {
                return Err(mismatch(&heap.layout, &why));
            }
        }
        Ok(heap)
    }

    /// How the walk of each page ends, in page order: at its area end, a LAB top, or past new
    /// space's top when all is well; `Stuck` where something that is not an object stopped it
    /// (the rest of that page is not walked: a damaged heap, or a fact coroner has wrong).
    /// Walks the whole heap the first time.
    pub fn walk_ends(&self) -> &[WalkEnd] {
        &self.settled().ends
    }

    /// The whole heap walked once (see [`Settled`]).
    fn settled(&self) -> &Settled {
        self.settled.get_or_init(|| {
            let mut ends: Vec<WalkEnd> = (0..self.pages.len())
                .into_par_iter()
                .map(|i| self.walk_in(i, &self.states[i]).finish())
                .collect();
            let mut labs = self.labs.clone();
            let mut states = self.states.clone();
            let stuck = stuck_addresses(&ends);
            if !stuck.is_empty() {
                let found = find_in_memory(&self.layout, self.space, &self.pages, &stuck);
                if !found.is_empty() {
                    labs.extend(found);
                    let mut again = assign_labs(&self.pages, &labs);
                    for (state, old) in again.iter_mut().zip(&states) {
                        state.unused = old.unused;
                    }
                    states = again;
                    // Only the pages that stopped can end otherwise now.
                    for (i, end) in ends.iter_mut().enumerate() {
                        if matches!(end, WalkEnd::Stuck { .. }) {
                            *end = self.walk_in(i, &states[i]).finish();
                        }
                    }
                }
            }
            Settled { labs, states, ends }
        })
    }

    /// A walk of page `i` in `state`.
    fn walk_in<'s>(&'s self, i: usize, state: &'s PageState) -> PageWalk<'s> {
        PageWalk::new(
            &self.layout,
            self.space,
            &self.pages[i],
            &state.labs,
            state.unused,
        )
    }

    /// The last check of a borrowed table (see [`LayoutSource::needs_check`]): every page must
    /// walk object by object to its end, as with a table of the core's own build; a wrong size
    /// rule, instance type number or page offset derails the walk of the page it touches. Says
    /// which pages do not.
    ///
    /// [`LayoutSource::needs_check`]: crate::layout::LayoutSource::needs_check
    fn unwalkable(&self) -> Option<String> {
        let stuck = stuck_addresses(self.walk_ends());
        let first = stuck.first()?;
        Some(format!(
            "{} of {} heap pages do not walk object by object to their end (the first stops at {first:#x})",
            stuck.len(),
            self.pages.len()
        ))
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The process memory the heap is read from.
    pub fn memory(&self) -> &'a AddressSpace {
        self.space
    }

    /// Every isolate, by address.
    pub fn isolates(&self) -> &[Isolate] {
        &self.isolates
    }

    /// Every page, by address.
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }

    /// Every allocation area coroner knows of (inactive ones included), those found in memory
    /// for pages whose walk stopped among them (the whole heap is walked the first time).
    pub fn labs(&self) -> &[KnownLab] {
        &self.settled().labs
    }

    /// The page whose object area holds `addr` (large pages included).
    pub fn page_of(&self, addr: u64) -> Option<&Page> {
        let i = self.pages.partition_point(|p| p.addr <= addr);
        let page = self.pages.get(i.checked_sub(1)?)?;
        page.contains(addr).then_some(page)
    }

    /// Whether `addr` is in the read-only heap (shared by every isolate, never collected).
    #[inline]
    pub fn is_read_only(&self, addr: u64) -> bool {
        self.read_only.contains(addr)
    }

    /// A reader of `page`'s object area: the area's bytes taken once as a slice when the core
    /// holds them contiguously, so that reading every word of every object of the page is
    /// indexing, not a search of the address space per word.
    pub fn page_reader(&self, page: &Page) -> Reader<'a> {
        Reader::with_window(self.space, page.area_start, page.area_end)
    }

    /// A walk over the objects of `page` (one of [`Heap::pages`]).
    pub fn walk(&self, page: &Page) -> PageWalk<'_> {
        let Ok(i) = self.pages.binary_search_by_key(&page.addr, |p| p.addr) else {
            return PageWalk::new(&self.layout, self.space, page, &[], None);
        };
        match self.settled.get() {
            Some(settled) => self.walk_in(i, &settled.states[i]),
            // Should the page stop where no area known yet explains it, areas found in memory
            // may: the whole heap is settled then, and only then.
            None => self
                .walk_in(i, &self.states[i])
                .with_more_labs(Box::new(move || self.settled().states[i].labs.clone())),
        }
    }

    /// Runs `f` on every page with a walk of it, in parallel, and returns the results in page
    /// order. Settles the heap first (every page is walked anyway).
    pub fn par_map_pages<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(&Page, PageWalk<'_>) -> R + Sync + Send,
    {
        let settled = self.settled();
        (0..self.pages.len())
            .into_par_iter()
            .map(|i| f(&self.pages[i], self.walk_in(i, &settled.states[i])))
            .collect()
    }

    /// Runs `f` on every page with a walk of it, in parallel.
    pub fn par_for_each_page<F>(&self, f: F)
    where
        F: Fn(&Page, PageWalk<'_>) + Sync + Send,
    {
        let settled = self.settled();
        (0..self.pages.len())
            .into_par_iter()
            .for_each(|i| f(&self.pages[i], self.walk_in(i, &settled.states[i])));
    }
}

/// Where the walks that stop early stop, in address order.
fn stuck_addresses(ends: &[WalkEnd]) -> Vec<u64> {
    let mut stuck: Vec<u64> = ends
        .iter()
        .filter_map(|e| match e {
            WalkEnd::Stuck { addr, .. } => Some(*addr),
            _ => None,
        })
        .collect();
    stuck.sort_unstable();
    stuck
}

/// Gives each page the active LABs whose `top` lies in its object area.
fn assign_labs(pages: &[Page], labs: &[KnownLab]) -> Vec<PageState> {
    let mut states: Vec<PageState> = vec![PageState::default(); pages.len()];
    for known in labs {
        let lab = known.lab;
        if !lab.is_active() {
            continue;
        }
        let i = pages.partition_point(|p| p.addr <= lab.top);
        let Some(i) = i.checked_sub(1) else { continue };
        let page = &pages[i];
        if page.area_start <= lab.top && lab.top < page.area_end {
            states[i].labs.push(lab);
        }
    }
    states
}

/// Marks the new-space pages that hold no live object: from-space pages (the last scavenge
/// evacuated them; in a core dumped with no GC since, they still hold the stale originals),
/// and the to-space pages that follow, in allocation order, the page holding their isolate's
/// new-space allocation top. A link the next page does not return (its `prev` is another
/// page) ends the list there: the pages after it are walked, not assumed empty.
fn mark_unused_new_pages(
    layout: &Layout,
    isolates: &[Isolate],
    pages: &[Page],
    states: &mut [PageState],
) {
    for (page, state) in pages.iter().zip(states.iter_mut()) {
        if page.space == Space::New && page.is_from_space(layout) {
            state.unused = Some(WalkEnd::FromSpace);
        }
    }
    let by_metadata: HashMap<u64, usize> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.metadata, i))
        .collect();
    for iso in isolates {
        let top = iso.new_lab.top;
        let current = pages.iter().position(|p| {
            p.space == Space::New && p.heap == iso.heap && p.area_start <= top && top <= p.area_end
        });
        let Some(mut i) = current else { continue };
        // Bounded: each page is visited at most once.
        let mut seen = vec![false; pages.len()];
        seen[i] = true;
        while let Some(&next) = by_metadata.get(&pages[i].next) {
            let page = &pages[next];
            if seen[next]
                || page.space != Space::New
                || page.heap != iso.heap
                || page.prev != pages[i].metadata
            {
                break;
            }
            seen[next] = true;
            states[next].unused = Some(WalkEnd::PastTop { top });
            i = next;
        }
    }
}

/// The error for a borrowed table that the core contradicts.
fn mismatch(layout: &Layout, why: &str) -> HeapError {
    let source = &layout.source;
    HeapError::LayoutMismatch {
        table: source.table,
        how: match source.table_match {
            TableMatch::Chosen => "chosen for this core".to_string(),
            _ => format!(
                "read for Node {}, which has no table of its own",
                source.node_version
            ),
        },
        why: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Heap<'static>>();
    }
}
