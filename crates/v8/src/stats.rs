//! What `v8.getHeapStatistics()` and `v8.getHeapSpaceStatistics()` would have said, per
//! isolate, from the page headers and a few fields of the `Heap`: each space's committed memory
//! (the sum of its pages' sizes, as V8's `CommittedMemory()`), the heap size limit
//! (`Heap::MaxReserved()`: the semi-spaces and the old generation's maximum) and the external
//! memory V8 accounts (ArrayBuffer backing stores and other memory the embedder reports). No
//! object is walked.

use crate::pages::Space;
use crate::Heap;

/// One space of one isolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpaceStatistics {
    /// The space.
    pub space: Space,
    /// Bytes of its pages (V8's `space_size`).
    pub committed: u64,
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
}

impl HeapStatistics {
    /// Bytes of every space's pages (`total_heap_size`).
    pub fn committed(&self) -> u64 {
        self.spaces.iter().map(|s| s.committed).sum()
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
                            pages: 1,
                        }),
                    }
                }
                spaces.retain(|s| s.space != Space::ReadOnly);
                spaces.sort_by_key(|s| s.space);
                HeapStatistics {
                    isolate: i,
                    spaces,
                    limit: self.heap_limit(isolate.heap),
                    external: self.external_memory(isolate.heap),
                }
            })
            .collect()
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
