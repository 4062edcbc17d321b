//! [`ObjectIndex`]: every object of the heap, built by one parallel walk and kept compactly —
//! per object its address, a dense `u32` map id and its size, in heap (address) order, so that
//! an object's `u32` id is its position. The census, `instances` and later analyses (a reverse
//! reference index keyed by object id) share it; it is built once per open core.
//!
//! It also records which objects are some function's `prototype` object (the census files them
//! under `(Prototype)`, not under the class whose prototype they are), and which isolate each
//! object belongs to (through its page).

use std::collections::HashMap;

use coroner_heap::{Class, HeapModel};

/// A run of consecutive object ids that live on one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRun {
    /// The first object id of the run.
    pub first: u32,
    /// Index of the page in [`HeapModel::pages`].
    pub page: u32,
    /// The isolate the page belongs to (`None`: the read-only heap shared by all isolates, or a
    /// heap without a known isolate).
    pub isolate: Option<u32>,
}

/// Every object of the heap, in address order.
#[derive(Debug, Default)]
pub struct ObjectIndex {
    addrs: Vec<u64>,
    map_ids: Vec<u32>,
    sizes: Vec<u32>,
    maps: Vec<u64>,
    runs: Vec<PageRun>,
    prototypes: Vec<u64>,
}

/// What the walk of one page gathers.
struct PageObjects {
    addrs: Vec<u64>,
    local_maps: Vec<u64>,
    local_ids: Vec<u32>,
    sizes: Vec<u32>,
    prototypes: Vec<u64>,
}

impl ObjectIndex {
    /// Walks every page of the model's heap (in parallel) and indexes its objects.
    pub fn build(model: &HeapModel<'_>) -> ObjectIndex {
        let per_page: Vec<PageObjects> = model.par_map_pages(|_, walk| {
            let mut local: HashMap<u64, u32> = HashMap::new();
            let mut p = PageObjects {
                addrs: Vec::new(),
                local_maps: Vec::new(),
                local_ids: Vec::new(),
                sizes: Vec::new(),
                prototypes: Vec::new(),
            };
            let mut last_map = u64::MAX;
            let mut last_id = 0u32;
            for o in walk {
                let id = if o.map == last_map {
                    last_id
                } else {
                    let next = p.local_maps.len() as u32;
                    let id = *local.entry(o.map).or_insert(next);
                    if id == next {
                        p.local_maps.push(o.map);
                    }
                    last_map = o.map;
                    last_id = id;
                    id
                };
                p.addrs.push(o.addr);
                p.local_ids.push(id);
                p.sizes.push(o.size);
                if model.class_of(o.instance_type) == Class::Function {
                    if let Some(proto) = model.function_prototype(o.addr) {
                        p.prototypes.push(proto);
                    }
                }
            }
            p
        });
        let total: usize = per_page.iter().map(|p| p.addrs.len()).sum();
        let mut index = ObjectIndex {
            addrs: Vec::with_capacity(total),
            map_ids: Vec::with_capacity(total),
            sizes: Vec::with_capacity(total),
            ..ObjectIndex::default()
        };
        let mut global: HashMap<u64, u32> = HashMap::new();
        let mut prototypes = Vec::new();
        for (page_index, (page, p)) in model.pages().iter().zip(per_page).enumerate() {
            if p.addrs.is_empty() {
                continue;
            }
            let translate: Vec<u32> = p
                .local_maps
                .iter()
                .map(|&m| {
                    let next = index.maps.len() as u32;
                    let id = *global.entry(m).or_insert(next);
                    if id == next {
                        index.maps.push(m);
                    }
                    id
                })
                .collect();
            index.runs.push(PageRun {
                first: index.addrs.len() as u32,
                page: page_index as u32,
                isolate: page.isolate.map(|i| i as u32),
            });
            index.addrs.extend_from_slice(&p.addrs);
            index
                .map_ids
                .extend(p.local_ids.iter().map(|&l| translate[l as usize]));
            index.sizes.extend_from_slice(&p.sizes);
            prototypes.extend(p.prototypes);
        }
        prototypes.sort_unstable();
        prototypes.dedup();
        index.prototypes = vec![0u64; total.div_ceil(64)];
        for p in prototypes {
            if let Some(id) = index.id_of(p) {
                index.prototypes[id as usize / 64] |= 1 << (id % 64);
            }
        }
        index
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    /// Whether the heap has no objects.
    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// Every object's address, by id.
    pub fn addrs(&self) -> &[u64] {
        &self.addrs
    }

    /// Every object's map id, by id.
    pub fn map_ids(&self) -> &[u32] {
        &self.map_ids
    }

    /// Every object's size in bytes, by id.
    pub fn sizes(&self) -> &[u32] {
        &self.sizes
    }

    /// Every distinct map's address, by map id.
    pub fn maps(&self) -> &[u64] {
        &self.maps
    }

    /// The runs of object ids per page, in order.
    pub fn runs(&self) -> &[PageRun] {
        &self.runs
    }

    /// The id of the object that starts at `addr`.
    pub fn id_of(&self, addr: u64) -> Option<u32> {
        self.addrs.binary_search(&addr).ok().map(|i| i as u32)
    }

    /// The id of the object whose bytes include `addr`.
    pub fn containing(&self, addr: u64) -> Option<u32> {
        let i = self.addrs.partition_point(|&a| a <= addr).checked_sub(1)?;
        let end = self.addrs[i] + u64::from(self.sizes[i]);
        (addr < end).then_some(i as u32)
    }

    /// Whether object `id` is some function's `prototype` object.
    pub fn is_function_prototype(&self, id: u32) -> bool {
        self.prototypes
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// The isolate object `id` belongs to (`None` for the shared read-only heap).
    pub fn isolate_of(&self, id: u32) -> Option<u32> {
        let i = self
            .runs
            .partition_point(|r| r.first <= id)
            .checked_sub(1)?;
        self.runs[i].isolate
    }

    /// The ids of the objects of each run, with the run.
    pub(crate) fn run_ranges(
        &self,
    ) -> impl Iterator<Item = (PageRun, std::ops::Range<usize>)> + '_ {
        self.runs.iter().enumerate().map(|(i, r)| {
            let end = self
                .runs
                .get(i + 1)
                .map_or(self.addrs.len(), |n| n.first as usize);
            (*r, r.first as usize..end)
        })
    }

    /// Bytes the index takes.
    pub fn memory_bytes(&self) -> usize {
        self.addrs.capacity() * 8
            + self.map_ids.capacity() * 4
            + self.sizes.capacity() * 4
            + self.maps.capacity() * 8
            + self.runs.capacity() * std::mem::size_of::<PageRun>()
            + self.prototypes.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<ObjectIndex>();
    }

    #[test]
    fn ids_by_address() {
        let index = ObjectIndex {
            addrs: vec![0x100, 0x120, 0x200],
            map_ids: vec![0, 0, 1],
            sizes: vec![0x20, 0x10, 0x40],
            maps: vec![0x10, 0x20],
            runs: vec![
                PageRun {
                    first: 0,
                    page: 0,
                    isolate: Some(0),
                },
                PageRun {
                    first: 2,
                    page: 1,
                    isolate: None,
                },
            ],
            prototypes: vec![0b10],
        };
        assert_eq!(index.id_of(0x120), Some(1));
        assert_eq!(index.id_of(0x121), None);
        assert_eq!(index.containing(0x12f), Some(1));
        assert_eq!(index.containing(0x130), None);
        assert_eq!(index.containing(0x23f), Some(2));
        assert!(index.is_function_prototype(1));
        assert!(!index.is_function_prototype(0));
        assert_eq!(index.isolate_of(1), Some(0));
        assert_eq!(index.isolate_of(2), None);
    }
}
