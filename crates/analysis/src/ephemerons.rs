//! The entries of every WeakMap and WeakSet table ([`Ephemerons`]): V8 keeps a value alive
//! only while both its key and its table are, and draws it in its heap snapshot as held by
//! both (`N / part of key (K @k) -> value (V @v) pair in WeakMap (table @t)`). DevTools counts
//! the key's edge alone for dominators, and for distance puts the value one hop beyond the
//! later of the two; the dominator tree and the snapshot export follow both rules from here.

use std::collections::HashMap;

use coroner_heap::{HeapModel, Role};

use crate::index::ObjectIndex;
use crate::reverse::ReverseIndex;

/// One entry of a table: the ids of its key, its value and the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: u32,
    pub value: u32,
    pub table: u32,
}

/// Every entry whose key and value are objects of the index, found by key and by table.
#[derive(Debug, Default)]
pub(crate) struct Ephemerons {
    entries: Vec<Entry>,
    /// Per object: the entries it is the key or the table of.
    by_holder: HashMap<u32, Vec<u32>>,
}

impl Ephemerons {
    pub(crate) fn find(
        model: &HeapModel<'_>,
        index: &ObjectIndex,
        refs: &ReverseIndex,
    ) -> Ephemerons {
        let mut found = Ephemerons::default();
        for table in 0..index.len() as u32 {
            if refs.role_of(index, table) != Some(Role::EphemeronTable) {
                continue;
            }
            for (key, value) in model.ephemeron_pairs(index.addrs()[table as usize]) {
                let (Some(key), Some(value)) = (index.id_of(key), index.id_of(value)) else {
                    continue;
                };
                if key == value || value == table {
                    continue;
                }
                let Ok(i) = u32::try_from(found.entries.len()) else {
                    break;
                };
                found.entries.push(Entry { key, value, table });
                found.by_holder.entry(key).or_default().push(i);
                found.by_holder.entry(table).or_default().push(i);
            }
        }
        found
    }

    /// Every entry.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entries object `id` is the key or the table of, by index in [`entries`](Self::entries).
    pub(crate) fn held_by(&self, id: u32) -> &[u32] {
        self.by_holder.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The entry of index `i`.
    pub(crate) fn entry(&self, i: u32) -> Option<Entry> {
        self.entries.get(i as usize).copied()
    }
}
