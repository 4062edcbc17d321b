//! Linear allocation areas (LABs): the stretches of a page that an allocator has reserved for
//! bump allocation. From a LAB's `top` to its `limit` nothing has been written, not even
//! fillers, so a page walk must stop (or skip) there.
//!
//! coroner knows three kinds: the main thread's new- and old-space LABs, which each isolate keeps
//! at fixed offsets; the read-only heap's allocation top, which its pages keep as their high
//! water mark; and any other allocator's LAB (code space, map space, background threads),
//! found in memory as a `LinearAllocationArea {start, top, limit}` whose `top` is exactly where
//! a page walk stopped.

use coroner_corefile::AddressSpace;

use crate::layout::Layout;
use crate::pages::Page;
use crate::scan::par_scan;

/// A linear allocation area: `[top, limit)` is reserved for bump allocation and holds no objects
/// yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lab {
    /// Next allocation address.
    pub top: u64,
    /// End of the area.
    pub limit: u64,
}

impl Lab {
    /// Whether the area is in use (`top` set and not past `limit`).
    pub fn is_active(&self) -> bool {
        self.top != 0 && self.top <= self.limit
    }
}

/// Where coroner learnt of a LAB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabOrigin {
    /// The main thread's new-space LAB of isolate number `isolate`.
    NewSpace {
        /// Index in [`Heap::isolates`](crate::Heap::isolates).
        isolate: usize,
    },
    /// The main thread's old-space LAB of isolate number `isolate`.
    OldSpace {
        /// Index in [`Heap::isolates`](crate::Heap::isolates).
        isolate: usize,
    },
    /// The allocation top of a read-only page (its high water mark).
    ReadOnlyTop,
    /// A `LinearAllocationArea` found in memory at `at` (its `start` field).
    Found {
        /// Address of the structure.
        at: u64,
    },
}

/// A LAB and where it was learnt of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KnownLab {
    /// The area.
    pub lab: Lab,
    /// Its origin.
    pub origin: LabOrigin,
}

/// The `LinearAllocationArea`s in writable memory outside the heap pages (`pages`, sorted)
/// whose `top` is one of `tops` (sorted), with `start <= top <= limit` all in the object area of
/// the page holding `top`.
pub(crate) fn find_in_memory(
    layout: &Layout,
    space: &AddressSpace,
    pages: &[Page],
    tops: &[u64],
) -> Vec<KnownLab> {
    let (Some(&lo), Some(&hi)) = (tops.first(), tops.last()) else {
        return Vec::new();
    };
    let page_of = |addr: u64| -> Option<&Page> {
        let i = pages.partition_point(|p| p.addr <= addr);
        pages
            .get(i.checked_sub(1)?)
            .filter(|p| addr < p.addr.saturating_add(p.size))
    };
    let align = layout.tagging.pointer_size;
    let il = &layout.isolate;
    // Words from a LinearAllocationArea's `start` to its `top`, and from `top` to `limit`.
    let words = |from: u64, to: u64| {
        let n = to.checked_sub(from)?.checked_div(align)?;
        usize::try_from(n).ok()
    };
    let (Some(before), Some(after)) = (
        words(il.lab_start, il.lab_top),
        words(il.lab_top, il.lab_limit),
    ) else {
        return Vec::new();
    };
    let mut found: Vec<KnownLab> = par_scan(space, pages, |run, from, to| {
        let mut out = Vec::new();
        for i in from.max(before)..to {
            let top = run.word(i);
            if top < lo || top > hi || tops.binary_search(&top).is_err() {
                continue;
            }
            let (start, limit) = (run.word(i - before), run.word(i + after));
            let Some(page) = page_of(top) else { continue };
            let fits = start <= top
                && top <= limit
                && start % align == 0
                && page.area_start <= start
                && limit <= page.area_end;
            if fits {
                out.push(KnownLab {
                    lab: Lab { top, limit },
                    origin: LabOrigin::Found {
                        at: run.addr(i - before),
                    },
                });
            }
        }
        out
    });
    found.sort_by_key(|k| (k.lab.top, k.lab.limit));
    found.dedup_by_key(|k| (k.lab.top, k.lab.limit));
    found
}
