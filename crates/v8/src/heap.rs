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
//! A page that still stops is damaged: it is walked once more, recovering past each stop
//! (see [`crate::walk`]), and the ranges skipped are kept for every later walk of it.

use std::collections::HashMap;
use std::sync::OnceLock;

use coroner_corefile::AddressSpace;
use coroner_image::ProcessImage;
use rayon::prelude::*;

use crate::error::HeapError;
use crate::isolate::{find_isolates, measured_heap_offset, Isolate};
use crate::labs::{find_in_memory, KnownLab, Lab, LabOrigin};
use crate::layout::{Layout, MetadataOrigin, TableMatch};
use crate::pages::{find_pages, lost_pages, LostPage, Page, PageKind, ReadOnlyAreas, Space};
use crate::read::Reader;
use crate::walk::{PageWalk, Skipped, StuckReason, WalkEnd};

/// The share of the heap's object bytes that may be unreadable as objects before a borrowed
/// table is taken not to fit the core (rather than the core to be damaged).
const MISFIT_SHARE: f64 = 0.02;

/// What a walk of one page must know besides the page.
#[derive(Debug, Clone, Default)]
struct PageState {
    labs: Vec<Lab>,
    /// The ranges a walk skips (a damaged page: see [`crate::walk`]).
    skips: Vec<Skipped>,
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
    /// Pages the found pages link to that do not read as pages (damaged headers).
    lost: Vec<LostPage>,
}

/// A range of the heap not read as objects (a damaged core): part of a page the walk skipped,
/// the rest of a page after a stop it could not recover from, or a whole page whose header is
/// damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    /// The page (for a page whose header is damaged, where it would start, or its metadata
    /// address when that cannot be told).
    pub page: u64,
    /// The page's isolate.
    pub isolate: Option<usize>,
    /// The page's space.
    pub space: Space,
    /// The range and what made it unreadable (an empty range for a lost page whose place
    /// cannot be told).
    pub range: Skipped,
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
        let lost = lost_pages(&layout, space, &pages);
        let heap = Heap {
            space,
            read_only: ReadOnlyAreas::of(&pages),
            layout,
            isolates,
            pages,
            labs,
            states,
            settled: OnceLock::new(),
            lost,
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
    /// and nothing after could be trusted as an object start (the rest of that page is not
    /// walked: a damaged heap, or a fact coroner has wrong). A damaged page that the walk
    /// recovered on ends as a healthy one; [`Heap::damaged_pages`] lists what it skipped.
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
            // What still stops is damage: walk those pages again, past each stop.
            let damaged: Vec<usize> = (0..ends.len())
                .filter(|&i| matches!(ends[i], WalkEnd::Stuck { .. }))
                .collect();
            let recovered: Vec<(usize, WalkEnd, Vec<Skipped>)> = damaged
                .into_par_iter()
                .map(|i| {
                    let mut walk = self.walk_in(i, &states[i]).recovering();
                    while walk.next().is_some() {}
                    let end = walk.end().unwrap_or(WalkEnd::AreaEnd);
                    (i, end, walk.skipped().to_vec())
                })
                .collect();
            for (i, end, skips) in recovered {
                ends[i] = end;
                states[i].skips = skips;
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
            &state.skips,
            state.unused,
        )
    }

    /// The last check of a borrowed table (see [`LayoutSource::needs_check`]): the pages must
    /// walk object by object to their end, as with a table of the core's own build; a wrong size
    /// rule, instance type number or page offset derails the walk of every page holding an
    /// object it touches. Damage in the core derails a few: a table is refused when more than
    /// half the pages, or more than [`MISFIT_SHARE`] of the objects' bytes, cannot be walked
    /// as objects; less is reported as damage, as are pages whose headers are damaged. Says
    /// which pages do not walk.
    ///
    /// [`LayoutSource::needs_check`]: crate::layout::LayoutSource::needs_check
    fn unwalkable(&self) -> Option<String> {
        // Pages whose headers are damaged say nothing of how objects are walked.
        let damage: Vec<Damage> = self
            .damage()
            .into_iter()
            .filter(|d| !matches!(d.range.reason, StuckReason::LostPage { .. }))
            .collect();
        let first = damage.first()?;
        let skipped: u64 = damage.iter().map(|d| d.range.bytes()).sum();
        let area: u64 = self
            .pages
            .iter()
            .map(|p| p.area_end.saturating_sub(p.area_start))
            .sum();
        let mut pages: Vec<u64> = damage.iter().map(|d| d.page).collect();
        pages.dedup();
        let misfit =
            pages.len() * 2 > self.pages.len() || skipped as f64 > area as f64 * MISFIT_SHARE;
        misfit.then(|| {
            format!(
                "{} of {} heap pages do not walk object by object to their end (the first stops at {:#x})",
                pages.len(),
                self.pages.len(),
                first.range.from
            )
        })
    }

    /// Every range of the heap not read as objects, in page order (see [`Damage`]): the ranges
    /// recovering walks skipped, the rest of each page after a stop they could not recover
    /// from, and the pages whose headers are damaged. Empty for a healthy heap. Walks the
    /// whole heap the first time.
    pub fn damage(&self) -> Vec<Damage> {
        let settled = self.settled();
        let mut damage: Vec<Damage> = Vec::new();
        for ((page, state), end) in self.pages.iter().zip(&settled.states).zip(&settled.ends) {
            let of = |range: Skipped| Damage {
                page: page.addr,
                isolate: page.isolate,
                space: page.space,
                range,
            };
            damage.extend(state.skips.iter().copied().map(of));
            if let WalkEnd::Stuck { addr, reason } = *end {
                damage.push(of(Skipped {
                    from: addr,
                    to: page.area_end,
                    reason,
                }));
            }
        }
        for lost in &self.lost {
            let (from, to) = lost.area.unwrap_or((lost.metadata, lost.metadata));
            damage.push(Damage {
                page: lost.area.map_or(lost.metadata, |(start, _)| {
                    start & !self.layout.page.page_size.saturating_sub(1)
                }),
                isolate: lost.isolate,
                space: lost.space,
                range: Skipped {
                    from,
                    to,
                    reason: StuckReason::LostPage {
                        linked_from: lost.linked_from,
                    },
                },
            });
        }
        damage.sort_by_key(|d| (d.page, d.range.from));
        damage
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
            return PageWalk::new(&self.layout, self.space, page, &[], &[], None);
        };
        match self.settled.get() {
            Some(settled) => self.walk_in(i, &settled.states[i]),
            // Should the page stop where no area known yet explains it, areas found in memory
            // may: the whole heap is settled then, and only then.
            None => self
                .walk_in(i, &self.states[i])
                .with_more_labs(Box::new(move || {
                    let state = &self.settled().states[i];
                    (state.labs.clone(), state.skips.clone())
                })),
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
        advice: match source.metadata_from {
            MetadataOrigin::Table => "pass the executable with --exe",
            _ => {
                "the executable's constants were used, so the core's heap is damaged or this \
                 release needs a table of its own (`cargo xtask layouts`)"
            }
        },
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
