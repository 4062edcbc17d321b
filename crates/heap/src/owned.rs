//! The name a JS object gives a reference that one of its backing stores holds
//! ([`HeapModel::owned_slot_name`]): a `PropertyArray` or property dictionary slot is a
//! property, a `PropertyCell` of the global object's dictionary too, an elements slot an index,
//! a `Map`/`Set`/`WeakMap`/`WeakSet` table slot a key, a value of a key or a member, a bound
//! function's arguments slot a bound argument. The analyses name a store's edges so, from the
//! object that owns the store.

use crate::edges::EdgeName;
use crate::model::{Class, HeapModel};
use crate::properties::Location;

impl HeapModel<'_> {
    /// The name the JS object at `owner` gives the reference in slot `slot` of `store`, when
    /// `store` is one of its backing stores: its property array or property dictionary (a
    /// property), a `PropertyCell` of the global object's dictionary (a property), its elements
    /// (an index), its `Map`/`Set`/`WeakMap`/`WeakSet` table (a key, a value of a key, a
    /// member), or a bound function's arguments. `None` when `store` is not the owner's, or
    /// the slot is not one of its entries.
    pub fn owned_slot_name(&self, owner: u64, store: u64, slot: u64) -> Option<EdgeName> {
        let layout = self.layout();
        let types = &layout.types;
        let h = self.header(owner).ok()?;
        let class = self.class_of(h.instance_type);
        if !class.is_receiver() {
            return None;
        }
        let word = layout.tagging.tagged_size;
        let off = slot.checked_sub(store)?;
        if off % word != 0 {
            return None;
        }
        let sh = self.header(store).ok()?;
        let strong_field = |at: u64| {
            self.field(owner, at)
                .ok()
                .and_then(|w| layout.tagging.strong(w))
        };
        let fa = &layout.fixed_array;
        let index_of = |header: u64| off.checked_sub(header).map(|d| d / word);
        if class == Class::Proxy {
            return None;
        }
        let props = strong_field(layout.js_object.properties_or_hash);
        if props == Some(store) {
            if sh.instance_type == types.property_array {
                let i = index_of(layout.property_array.header_size)?;
                let descriptors = self.descriptors(h.map);
                let d = (*descriptors).as_ref().ok()?;
                return d
                    .iter()
                    .find(|d| d.location == Location::OutOfObject(i))
                    .map(|d| EdgeName::property(&d.key));
            }
            if sh.instance_type == types.name_dictionary {
                let ht = &layout.hash_table;
                let entry = ht.name_dictionary_entry_size;
                let (start, capacity) = self
                    .hash_table_shape(store, ht.name_dictionary_prefix_size, entry)
                    .ok()?;
                let i = index_of(fa.header_size)?.checked_sub(start)?;
                let (e, k) = (i / entry, i % entry);
                if e >= capacity {
                    return None;
                }
                let at = start + e * entry;
                let key = self
                    .key(self.array_element(store, at + ht.entry_key_index).ok()?)
                    .ok()?;
                return if k == ht.entry_key_index {
                    Some(EdgeName::Internal(format!(
                        "key of property {}",
                        key.display()
                    )))
                } else if k == ht.dictionary_value_index {
                    Some(EdgeName::property(&key))
                } else {
                    None
                };
            }
            if sh.instance_type == types.global_dictionary {
                let w = self.field(store, off).ok()?;
                let cell = layout.tagging.strong(w)?;
                let name = self.field(cell, layout.property_cell.name).ok()?;
                let key = self.key(name).ok()?;
                return Some(EdgeName::Internal(format!(
                    "property cell of {}",
                    key.display()
                )));
            }
            return None;
        }
        if sh.instance_type == types.property_cell {
            // The global object's properties live in PropertyCells of its GlobalDictionary.
            let dict = props?;
            if off != layout.property_cell.value || !self.dictionary_holds(dict, store) {
                return None;
            }
            let name = self.field(store, layout.property_cell.name).ok()?;
            return Some(EdgeName::property(&self.key(name).ok()?));
        }
        let elements = strong_field(layout.js_object.elements);
        if elements == Some(store) && class != Class::TypedArray && class != Class::DataView {
            if sh.instance_type == types.number_dictionary {
                let ht = &layout.hash_table;
                let entry = ht.number_dictionary_entry_size;
                let (start, capacity) = self
                    .hash_table_shape(store, ht.number_dictionary_prefix_size, entry)
                    .ok()?;
                let i = index_of(fa.header_size)?.checked_sub(start)?;
                let (e, k) = (i / entry, i % entry);
                if e >= capacity || k != ht.dictionary_value_index {
                    return None;
                }
                let key = self
                    .array_element(store, start + e * entry + ht.entry_key_index)
                    .ok()?;
                let index = layout
                    .tagging
                    .smi(key)
                    .and_then(|n| u64::try_from(n).ok())?;
                return Some(EdgeName::Element(index));
            }
            if types.is_fixed_array_like(sh.instance_type) {
                let i = index_of(fa.header_size)?;
                return (i < self.array_length(store).ok()?).then_some(EdgeName::Element(i));
            }
            return None;
        }
        if matches!(
            class,
            Class::Map | Class::Set | Class::WeakMap | Class::WeakSet
        ) && strong_field(layout.collections.table) == Some(store)
        {
            return self.collection_slot_name(class, store, index_of(fa.header_size)?);
        }
        if class == Class::BoundFunction
            && strong_field(layout.js_bound_function.arguments) == Some(store)
        {
            let i = index_of(fa.header_size)?;
            return (i < self.array_length(store).ok()?)
                .then(|| EdgeName::Internal(format!("bound argument {i}")));
        }
        None
    }

    /// The name of element `i` of a collection's table, seen from the collection.
    fn collection_slot_name(&self, class: Class, table: u64, i: u64) -> Option<EdgeName> {
        let layout = self.layout();
        let weak = matches!(class, Class::WeakMap | Class::WeakSet);
        let is_map = matches!(class, Class::Map | Class::WeakMap);
        // Where the entries start, their size and number, and where an entry keeps its key and
        // its value.
        let (start, words, count, key_at, value_at) = if weak {
            let ht = &layout.hash_table;
            let entry = ht.object_hash_table_entry_size;
            let (start, capacity) = self
                .hash_table_shape(table, ht.object_hash_table_prefix_size, entry)
                .ok()?;
            let value_at = ht.object_hash_table_value_index;
            (start, entry, capacity, ht.entry_key_index, value_at)
        } else {
            let c = &layout.collections;
            let smi = |at: u64| {
                self.array_element(table, at)
                    .ok()
                    .and_then(|w| layout.tagging.smi(w))
                    .and_then(|n| u64::try_from(n).ok())
            };
            let buckets = smi(c.number_of_buckets_index)?;
            let used =
                smi(c.number_of_elements_index)?.checked_add(smi(c.number_of_deleted_index)?)?;
            let words = if is_map {
                c.map_entry_words
            } else {
                c.set_entry_words
            };
            let start = c.buckets_start_index.checked_add(buckets)?;
            (start, words, used, c.entry_key_index, c.map_value_index)
        };
        let rel = i.checked_sub(start)?;
        let (e, k) = (rel / words, rel % words);
        if e >= count {
            return None;
        }
        let key = || {
            let word = self.array_element(table, start + e * words + key_at);
            self.short(word.unwrap_or(0))
        };
        match class {
            Class::Map if k == key_at => Some(EdgeName::MapKey),
            Class::Map if k == value_at => Some(EdgeName::MapValue(key())),
            Class::Set if k == key_at => Some(EdgeName::SetMember),
            Class::WeakMap if k == key_at => Some(EdgeName::WeakMapKey),
            Class::WeakMap if k == value_at => Some(EdgeName::WeakMapValue(key())),
            Class::WeakSet if k == key_at => Some(EdgeName::WeakSetMember),
            _ => None,
        }
    }

    /// Whether the `GlobalDictionary` at `dict` holds the `PropertyCell` at `cell`.
    fn dictionary_holds(&self, dict: u64, cell: u64) -> bool {
        let layout = self.layout();
        let ht = &layout.hash_table;
        let Ok(h) = self.header(dict) else {
            return false;
        };
        if h.instance_type != layout.types.global_dictionary {
            return false;
        }
        let entry = ht.global_dictionary_entry_size;
        let Ok((start, capacity)) =
            self.hash_table_shape(dict, ht.global_dictionary_prefix_size, entry)
        else {
            return false;
        };
        let tagged = layout.tagging.tag(cell);
        (0..capacity).any(|i| {
            let at = start + i * entry + ht.entry_key_index;
            self.array_element(dict, at).ok() == Some(tagged)
        })
    }
}
