//! What `v8.getHeapStatistics()` and `v8.getHeapSpaceStatistics()` would have said, per
//! isolate, from the page headers and a few fields of the `Heap`: each space's committed memory
//! (the sum of its pages' sizes, as V8's `CommittedMemory()`) and used memory (its pages'
//! allocated bytes, less what of the main thread's open allocation area is still free; for new
//! space, the to-space pages filled before its allocation top), the heap size limit
//! (`Heap::MaxReserved()`: the semi-spaces and the old generation's maximum) and the external
//! memory V8 accounts (ArrayBuffer backing stores and other memory the embedder reports). No
//! object is walked.

use crate::layout::HEAP_STATES;
use crate::pages::Space;
use crate::Heap;

/// One space of one isolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceStatistics {
    /// The space.
    pub space: Space,
    /// Bytes of its pages (V8's `space_size`).
    pub committed: u64,
    /// Bytes allocated in it (V8's `space_used_size`), when the layout says how to count them.
    pub used: Option<u64>,
    /// Its pages.
    pub pages: usize,
}

/// The heap figures of one isolate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapStatistics {
    /// The isolate's index in [`Heap::isolates`].
    pub isolate: usize,
    /// Its spaces with at least one page, in V8's space order (the read-only space, shared by
    /// every isolate, is not one of them, as V8 reports it empty).
    pub spaces: Vec<SpaceStatistics>,
    /// The heap size limit (`heap_size_limit`), when the layout knows where it is kept.
    pub limit: Option<u64>,
    /// External memory (`external_memory`), when the layout knows where it is kept.
    pub external: Option<u64>,
    /// The collection under way when the core was written (`Heap::gc_state_`: `scavenge`,
    /// `mark-compact`, ...), `None` when none was or the layout does not say where it is kept.
    pub gc_in_progress: Option<&'static str>,
}

impl HeapStatistics {
    /// Bytes of every space's pages (`total_heap_size`).
    pub fn committed(&self) -> u64 {
        self.spaces.iter().map(|s| s.committed).sum()
    }

    /// Bytes allocated in every space (`used_heap_size`), when each space's is known.
    pub fn used(&self) -> Option<u64> {
        self.spaces.iter().map(|s| s.used).sum()
    }
}

impl Heap<'_> {
    /// The heap figures of every isolate.
    pub fn statistics(&self) -> Vec<HeapStatistics> {
        self.isolates()
            .iter()
            .enumerate()
            .map(|(i, isolate)| {
                let mut spaces: Vec<SpaceStatistics> = Vec::new();
                for page in self.pages().iter().filter(|p| p.isolate == Some(i)) {
                    match spaces.iter_mut().find(|s| s.space == page.space) {
                        Some(s) => {
                            s.committed = s.committed.saturating_add(page.size);
                            s.pages += 1;
                        }
                        None => spaces.push(SpaceStatistics {
                            space: page.space,
                            committed: page.size,
                            used: None,
                            pages: 1,
                        }),
                    }
                }
                spaces.retain(|s| s.space != Space::ReadOnly);
                spaces.sort_by_key(|s| s.space);
                for s in &mut spaces {
                    s.used = self.space_used(i, isolate, s.space);
                }
                HeapStatistics {
                    isolate: i,
                    spaces,
                    limit: self.heap_limit(isolate.heap),
                    external: self.external_memory(isolate.heap),
                    gc_in_progress: self.gc_in_progress(isolate.heap),
                }
            })
            .collect()
    }

    /// The bytes allocated in `space` of isolate `i`.
    fn space_used(&self, i: usize, isolate: &crate::Isolate, space: Space) -> Option<u64> {
        let pages = || {
            self.pages()
                .iter()
                .filter(move |p| p.isolate == Some(i) && p.space == space)
        };
        if space == Space::New {
            return self.new_space_used(i, isolate);
        }
        let allocated = pages().map(|p| p.allocated_bytes).sum::<Option<u64>>()?;
        let counts_lab = self
            .layout()
            .heap_statistics
            .is_some_and(|l| l.allocated_bytes_count_open_lab);
        let lab = isolate.old_lab;
        let open_here = lab.is_active()
            && pages().any(|p| p.addr < lab.top && lab.top <= p.addr.saturating_add(p.size));
        Some(if counts_lab && open_here {
            allocated.saturating_sub(lab.limit - lab.top)
        } else {
            allocated
        })
    }

    /// New space's used bytes: the to-space pages before the one holding the allocation top,
    /// whole, and that page up to the top (V8's `NewSpace::Size()`). The pages before it are
    /// found back through the page list's links, at most as many as the isolate has pages.
    fn new_space_used(&self, i: usize, isolate: &crate::Isolate) -> Option<u64> {
        let lab = isolate.new_lab;
        if !lab.is_active() {
            return None;
        }
        let current = self.pages().iter().find(|p| {
            p.isolate == Some(i)
                && p.space == Space::New
                && p.area_start <= lab.top
                && lab.top <= p.area_end
        })?;
        let mut used = lab.top - current.area_start;
        let mut prev = current.prev;
        let bound = self.pages().len();
        for _ in 0..bound {
            if prev == 0 {
                return Some(used);
            }
            let page = self.pages().iter().find(|p| p.metadata == prev)?;
            used = used.saturating_add(page.area_end - page.area_start);
            prev = page.prev;
        }
        None
    }

    /// `Heap::MaxReserved()` of the `Heap` at `heap`.
    fn heap_limit(&self, heap: u64) -> Option<u64> {
        let l = self.layout().heap_statistics?;
        let memory = self.memory();
        let semi = memory
            .read_u64(heap.checked_add(l.max_semi_space_size)?)
            .ok()?;
        let holder = match l.max_old_generation_size_holder {
            Some(at) => memory.read_u64(heap.checked_add(at)?).ok()?,
            None => heap,
        };
        let old = memory
            .read_u64(holder.checked_add(l.max_old_generation_size)?)
            .ok()?;
        semi.checked_mul(l.semi_space_factor)?.checked_add(old)
    }

    /// The collection the `Heap` at `heap` was in, if it was in one.
    fn gc_in_progress(&self, heap: u64) -> Option<&'static str> {
        let at = heap.checked_add(self.layout().heap_gc_state?)?;
        let state = usize::try_from(self.memory().read_u32(at).ok()?).ok()?;
        match HEAP_STATES.get(state) {
            Some(_) if state == 0 => None,
            Some(name) => Some(name),
            None => Some("an unknown state"),
        }
    }

    /// The external memory the `Heap` at `heap` accounts.
    fn external_memory(&self, heap: u64) -> Option<u64> {
        let l = self.layout().heap_statistics?;
        let memory = self.memory();
        let own = memory.read_u64(heap.checked_add(l.external_memory)?).ok()?;
        match l.array_buffer_sweeper {
            Some((at, bytes)) => {
                let sweeper = memory.read_u64(heap.checked_add(at)?).ok()?;
                let swept = memory.read_u64(sweeper.checked_add(bytes)?).ok()?;
                own.checked_add(swept)
            }
            None => Some(own),
        }
    }
}
