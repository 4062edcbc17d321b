//! [`Heap`]: the V8 heap of a core, tied together — the layout, every isolate, every page
//! (attributed to its isolate), the allocation areas a walk must respect, and walks over the
//! pages, one at a time or in parallel.
//!
//! Opening a heap: find the pages (header signatures), the isolates (roots-table signature),
//! attribute pages to isolates by their heap pointer, and gather the allocation areas: the
//! isolates' main-thread LABs, read-only pages' allocation tops, and the new-space pages that
//! lie after the allocation top. Then every page is walked once; where a walk stops early,
//! memory is searched for an allocator's `LinearAllocationArea` whose `top` is that address
//! (code-space, map-space and background-thread LABs live in allocator objects coroner has no
//! offsets for).

use std::collections::HashMap;

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

/// The V8 heap of one core: every isolate and every page, with the layout to read them.
pub struct Heap<'a> {
    space: &'a AddressSpace,
    layout: Layout,
    isolates: Vec<Isolate>,
    pages: Vec<Page>,
    labs: Vec<KnownLab>,
    /// Per page (same order as `pages`).
    states: Vec<PageState>,
    /// How the walk of each page ends (same order as `pages`), found when the heap opens.
    ends: Vec<WalkEnd>,
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
        let mut pages = find_pages(&layout, space);
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
        let mut heap = Heap {
            space,
            read_only: ReadOnlyAreas::of(&pages),
            layout,
            isolates,
            pages,
            labs,
            states: Vec::new(),
            ends: Vec::new(),
        };
        heap.assign_labs();
        heap.mark_unused_new_pages();
        heap.ends = heap.par_map_pages(|_, walk| walk.finish());
        let stuck = heap.stuck_pages();
        if !stuck.is_empty() {
            let found = find_in_memory(&heap.layout, space, &heap.pages, &stuck);
            if !found.is_empty() {
                heap.labs.extend(found);
                heap.assign_labs();
                // Only the pages that stopped can end otherwise now.
                for i in 0..heap.pages.len() {
                    if matches!(heap.ends[i], WalkEnd::Stuck { .. }) {
                        heap.ends[i] = heap.walk(&heap.pages[i]).finish();
                    }
                }
            }
            if heap.layout.source.needs_check() {
                if let Some(why) = heap.unwalkable() {
                    return Err(mismatch(&heap.layout, &why));
                }
            }
        }
        Ok(heap)
    }

    /// How the walk of each page ends, in page order: at its area end, a LAB top, or past new
    /// space's top when all is well; `Stuck` where something that is not an object stopped it
    /// (the rest of that page is not walked: a damaged heap, or a fact coroner has wrong).
    pub fn walk_ends(&self) -> &[WalkEnd] {
        &self.ends
    }

    /// The last check of a borrowed table (see [`LayoutSource::needs_check`]): every page must
    /// walk object by object to its end, as with a table of the core's own build; a wrong size
    /// rule, instance type number or page offset derails the walk of the page it touches. Says
    /// which pages do not.
    ///
    /// [`LayoutSource::needs_check`]: crate::layout::LayoutSource::needs_check
    fn unwalkable(&self) -> Option<String> {
        let stuck = self.stuck_pages();
        let first = stuck.first()?;
        Some(format!(
            "{} of {} heap pages do not walk object by object to their end (the first stops at {first:#x})",
            stuck.len(),
            self.pages.len()
        ))
    }

    /// Where the walk of each page that stops early stops, in address order.
    fn stuck_pages(&self) -> Vec<u64> {
        let mut stuck: Vec<u64> = self
            .ends
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
    fn assign_labs(&mut self) {
        let mut states: Vec<PageState> = vec![PageState::default(); self.pages.len()];
        for known in &self.labs {
            let lab = known.lab;
            if !lab.is_active() {
                continue;
            }
            let i = self.pages.partition_point(|p| p.addr <= lab.top);
            let Some(i) = i.checked_sub(1) else { continue };
            let page = &self.pages[i];
            if page.area_start <= lab.top && lab.top < page.area_end {
                states[i].labs.push(lab);
            }
        }
        for (state, old) in states.iter_mut().zip(&self.states) {
            state.unused = old.unused;
        }
        self.states = states;
    }

    /// Marks the new-space pages that hold no live object: from-space pages (the last
    /// scavenge evacuated them; in a core dumped with no GC since, they still hold the stale
    /// originals), and the to-space pages that follow, in allocation order, the page holding
    /// their isolate's new-space allocation top.
    fn mark_unused_new_pages(&mut self) {
        for (page, state) in self.pages.iter().zip(self.states.iter_mut()) {
            if page.space == Space::New && page.is_from_space(&self.layout) {
                state.unused = Some(WalkEnd::FromSpace);
            }
        }
        let by_metadata: HashMap<u64, usize> = self
            .pages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.metadata, i))
            .collect();
        for iso in &self.isolates {
            let top = iso.new_lab.top;
            let current = self.pages.iter().position(|p| {
                p.space == Space::New
                    && p.heap == iso.heap
                    && p.area_start <= top
                    && top <= p.area_end
            });
            let Some(mut i) = current else { continue };
            // Bounded: each page is visited at most once.
            let mut seen = vec![false; self.pages.len()];
            seen[i] = true;
            while let Some(&next) = by_metadata.get(&self.pages[i].next) {
                let page = &self.pages[next];
                if seen[next] || page.space != Space::New || page.heap != iso.heap {
                    break;
                }
                seen[next] = true;
                self.states[next].unused = Some(WalkEnd::PastTop { top });
                i = next;
            }
        }
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

    /// Every allocation area coroner knows of (inactive ones included).
    pub fn labs(&self) -> &[KnownLab] {
        &self.labs
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
        let state = self
            .pages
            .binary_search_by_key(&page.addr, |p| p.addr)
            .ok()
            .and_then(|i| self.states.get(i));
        let (labs, unused) = match state {
            Some(s) => (s.labs.as_slice(), s.unused),
            None => (&[][..], None),
        };
        PageWalk::new(&self.layout, self.space, page, labs, unused)
    }

    /// Runs `f` on every page with a walk of it, in parallel, and returns the results in page
    /// order.
    pub fn par_map_pages<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(&Page, PageWalk<'_>) -> R + Sync + Send,
    {
        self.pages
            .par_iter()
            .map(|page| f(page, self.walk(page)))
            .collect()
    }

    /// Runs `f` on every page with a walk of it, in parallel.
    pub fn par_for_each_page<F>(&self, f: F)
    where
        F: Fn(&Page, PageWalk<'_>) + Sync + Send,
    {
        self.pages
            .par_iter()
            .for_each(|page| f(page, self.walk(page)));
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
