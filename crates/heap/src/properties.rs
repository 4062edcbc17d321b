//! Own properties of JS objects, in the object's own order: fast-mode properties through the
//! map's `DescriptorArray` (in-object fields, the out-of-object `PropertyArray`, constants kept
//! in the descriptor, accessors), dictionary-mode properties through a `NameDictionary` (sorted
//! by enumeration index, which is insertion order), and the global object's `GlobalDictionary`
//! of `PropertyCell`s. Descriptors are decoded once per map and cached.

use std::sync::Arc;

use crate::error::DecodeError;
use crate::model::{Class, HeapModel};

/// Longest property name decoded, in code units (longer names are cut, with `…`).
const KEY_LIMIT: u64 = 1024;

/// A property key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A string key.
    String(String),
    /// A symbol key.
    Symbol {
        /// Its description (`None` for `Symbol()`).
        description: Option<String>,
        /// A V8-internal private symbol (invisible to JS).
        private: bool,
        /// The key of a `#private` class member.
        private_name: bool,
        /// A well-known symbol (`Symbol.iterator`, ...).
        well_known: bool,
    },
}

impl Key {
    /// The key as shown: `name`, `Symbol(description)`, `#name`.
    pub fn display(&self) -> String {
        match self {
            Key::String(s) => s.clone(),
            Key::Symbol {
                description,
                private_name: true,
                ..
            } => description.clone().unwrap_or_default(),
            Key::Symbol { description, .. } => {
                format!("Symbol({})", description.as_deref().unwrap_or(""))
            }
        }
    }

    /// Whether the key is a V8-internal private symbol (not a `#name`).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Key::Symbol {
                private: true,
                private_name: false,
                ..
            }
        )
    }

    /// Whether this is the string key `name`.
    pub fn is(&self, name: &str) -> bool {
        matches!(self, Key::String(s) if s == name)
    }
}

/// Where a fast-mode property's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the object, at this byte offset.
    InObject(u64),
    /// In the out-of-object `PropertyArray`, at this index.
    OutOfObject(u64),
    /// In the descriptor itself (a constant, or an accessor): the tagged word.
    Descriptor(u64),
}

/// One own descriptor of a fast-mode map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The key.
    pub key: Key,
    /// An accessor (getter/setter) rather than a data property.
    pub accessor: bool,
    /// Where the value is.
    pub location: Location,
    /// `PropertyAttributes` (read-only 1, dont-enum 2, dont-delete 4).
    pub attributes: u64,
}

/// The value slot of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A data property: its tagged value.
    Data(u64),
    /// An accessor property: the tagged `AccessorPair` or `AccessorInfo`.
    Accessor(u64),
}

/// One own property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key.
    pub key: Key,
    /// The value.
    pub slot: Slot,
    /// `PropertyAttributes`.
    pub attributes: u64,
}

impl HeapModel<'_> {
    /// The backing stores of the JS object at `addr`: its out-of-object properties (a property
    /// array or dictionary) and its elements, when they are heap objects. V8's heap snapshot
    /// draws the values they hold as the object's own edges; so does the heap graph.
    pub fn backing_stores(&self, addr: u64) -> [Option<u64>; 2] {
        let layout = self.layout();
        let jo = &layout.js_object;
        [jo.properties_or_hash, jo.elements].map(|off| {
            self.field(addr, off)
                .ok()
                .and_then(|w| layout.tagging.strong(w))
        })
    }

    /// The key a tagged name word stands for.
    pub(crate) fn key(&self, word: u64) -> Result<Key, DecodeError> {
        let layout = self.layout();
        let addr = layout.tagging.strong(word).ok_or(DecodeError::Invalid {
            addr: 0,
            what: "property key",
            value: word,
        })?;
        let h = self.header(addr)?;
        match self.class_of(h.instance_type) {
            Class::String => {
                let s = self.string(addr, Some(KEY_LIMIT))?;
                let mut text = s.to_string_lossy();
                if s.truncated {
                    text.push('…');
                }
                Ok(Key::String(text))
            }
            Class::Symbol => {
                let sl = &layout.symbol;
                let flags = u64::from(self.u32_at(addr, sl.flags)?);
                let description = self.field(addr, sl.description)?;
                let (private, private_name) = sl.privacy(flags);
                Ok(Key::Symbol {
                    description: self.string_text(description, KEY_LIMIT),
                    private,
                    private_name,
                    well_known: flags & sl.is_well_known != 0,
                })
            }
            _ => Err(DecodeError::WrongType {
                addr,
                expected: "property key (string or symbol)",
                found: self.type_name(h.instance_type),
            }),
        }
    }

    /// The own descriptors of the fast-mode map at `map` (cached per map).
    pub fn descriptors(&self, map: u64) -> Arc<Result<Vec<Descriptor>, DecodeError>> {
        self.descriptors.get_or(map, || self.read_descriptors(map))
    }

    fn read_descriptors(&self, map: u64) -> Result<Vec<Descriptor>, DecodeError> {
        let layout = self.layout();
        let info = self.map_info(map)?;
        let own = info.number_of_own_descriptors(layout);
        if own == 0 {
            return Ok(Vec::new());
        }
        let da = &layout.descriptor_array;
        let pd = &layout.property_details;
        let array = self.pointer(map, layout.map.instance_descriptors, "instance descriptors")?;
        let used = self
            .heap()
            .memory()
            .read_u16(array.wrapping_add(da.number_of_all_descriptors))?;
        if own > u64::from(used) {
            return Err(DecodeError::Invalid {
                addr: map,
                what: "number of own descriptors",
                value: own,
            });
        }
        let word = layout.tagging.tagged_size;
        let start = u64::from(info.inobject_properties_start);
        let inobject = u64::from(info.instance_size_in_words).saturating_sub(start);
        let mut out = Vec::with_capacity(usize::try_from(own).unwrap_or(0));
        for i in 0..own {
            let entry = da.header_size + i * da.entry_words * word;
            let key_word = self.field(array, entry + da.entry_key * word)?;
            let details = self.smi(array, entry + da.entry_details * word, "property details")?;
            let details = details as u64;
            let value_at = entry + da.entry_value * word;
            let key = self.key(key_word)?;
            let accessor = pd.kind.get(details) == pd.kind_accessor;
            let location = if pd.location.get(details) == pd.location_descriptor {
                Location::Descriptor(self.field(array, value_at)?)
            } else {
                let index = pd.field_index.get(details);
                if index < inobject {
                    Location::InObject((start + index) * word)
                } else {
                    Location::OutOfObject(index - inobject)
                }
            };
            out.push(Descriptor {
                key,
                accessor,
                location,
                attributes: pd.attributes.get(details),
            });
        }
        Ok(out)
    }

    /// Whether the JS object at `addr` has the own data property `name` set to `true` (Node's
    /// `_destroyed` of a cleared timer, say). False when it has none, or it cannot be read.
    pub fn has_true_property(&self, addr: u64, name: &str) -> bool {
        self.own_properties(addr).is_ok_and(|props| {
            props.iter().any(|p| {
                p.key.is(name)
                    && matches!(p.slot, Slot::Data(word)
                        if self.oddball_kind(word) == Some(self.layout().oddball.kind_true))
            })
        })
    }

    /// Every own property of the JS object at `addr`, in property order (symbol keys and
    /// V8-internal private symbols included; see [`Key::is_internal`]).
    pub fn own_properties(&self, addr: u64) -> Result<Vec<Property>, DecodeError> {
        let layout = self.layout();
        let h = self.header(addr)?;
        if !self.class_of(h.instance_type).is_receiver() {
            return Err(DecodeError::WrongType {
                addr,
                expected: "JS object",
                found: self.type_name(h.instance_type),
            });
        }
        let info = self.map_info(h.map)?;
        let props = self.field(addr, layout.js_object.properties_or_hash)?;
        if info.is_dictionary_map(layout) {
            return self.dictionary_properties(props);
        }
        let descriptors = self.descriptors(h.map);
        let descriptors = match &*descriptors {
            Ok(d) => d,
            Err(e) => return Err(e.clone()),
        };
        let mut out = Vec::with_capacity(descriptors.len());
        for d in descriptors {
            let word = match d.location {
                Location::Descriptor(w) => w,
                Location::InObject(off) => self.field(addr, off)?,
                Location::OutOfObject(i) => self.property_array_slot(addr, props, i)?,
            };
            out.push(Property {
                key: d.key.clone(),
                slot: if d.accessor {
                    Slot::Accessor(word)
                } else {
                    Slot::Data(word)
                },
                attributes: d.attributes,
            });
        }
        Ok(out)
    }

    /// Slot `i` of an object's out-of-object `PropertyArray` (tagged `props`).
    fn property_array_slot(&self, addr: u64, props: u64, i: u64) -> Result<u64, DecodeError> {
        let layout = self.layout();
        let pa = &layout.property_array;
        let array = layout.tagging.strong(props).ok_or(DecodeError::Invalid {
            addr,
            what: "property array",
            value: props,
        })?;
        let raw = self.smi(array, pa.length_and_hash, "property array length")?;
        let len = pa.length.get(raw as u64);
        if i >= len {
            return Err(DecodeError::Invalid {
                addr: array,
                what: "property array index",
                value: i,
            });
        }
        self.field(array, pa.header_size + i * layout.tagging.tagged_size)
    }

    /// The properties of a `NameDictionary` or `GlobalDictionary` (tagged `dict`), by
    /// enumeration index.
    fn dictionary_properties(&self, dict: u64) -> Result<Vec<Property>, DecodeError> {
        let layout = self.layout();
        let ht = &layout.hash_table;
        let pd = &layout.property_details;
        let addr = layout.tagging.strong(dict).ok_or(DecodeError::Invalid {
            addr: 0,
            what: "property dictionary",
            value: dict,
        })?;
        let h = self.header(addr)?;
        let global = h.instance_type == layout.types.global_dictionary;
        if !global && h.instance_type != layout.types.name_dictionary {
            return Err(DecodeError::WrongType {
                addr,
                expected: "NameDictionary",
                found: self.type_name(h.instance_type),
            });
        }
        let (prefix, entry_size) = if global {
            (
                ht.global_dictionary_prefix_size,
                ht.global_dictionary_entry_size,
            )
        } else {
            (
                ht.name_dictionary_prefix_size,
                ht.name_dictionary_entry_size,
            )
        };
        let (start, capacity) = self.hash_table_shape(addr, prefix, entry_size)?;
        let mut found: Vec<(u64, Property)> = Vec::new();
        for i in 0..capacity {
            let at = start + i * entry_size;
            let (key_word, value, details) = if global {
                let cell_word = self.array_element(addr, at + ht.entry_key_index)?;
                let Some(cell) = layout.tagging.strong(cell_word) else {
                    continue;
                };
                if self.header(cell)?.instance_type != layout.types.property_cell {
                    continue;
                }
                let pc = &layout.property_cell;
                let value = self.field(cell, pc.value)?;
                if self.is_hole(value) {
                    continue;
                }
                (
                    self.field(cell, pc.name)?,
                    value,
                    self.smi(cell, pc.details, "property details")? as u64,
                )
            } else {
                let key_word = self.array_element(addr, at + ht.entry_key_index)?;
                if self.is_undefined(key_word) || self.is_hole(key_word) {
                    continue;
                }
                let value = self.array_element(addr, at + ht.dictionary_value_index)?;
                let details = self.array_element(addr, at + ht.dictionary_details_index)?;
                let details = layout.tagging.smi(details).ok_or(DecodeError::Invalid {
                    addr,
                    what: "property details",
                    value: details,
                })? as u64;
                (key_word, value, details)
            };
            let key = self.key(key_word)?;
            let slot = if pd.kind.get(details) == pd.kind_accessor {
                Slot::Accessor(value)
            } else {
                Slot::Data(value)
            };
            found.push((
                pd.dictionary_index.get(details),
                Property {
                    key,
                    slot,
                    attributes: pd.attributes.get(details),
                },
            ));
        }
        found.sort_by_key(|(index, _)| *index);
        Ok(found.into_iter().map(|(_, p)| p).collect())
    }

    /// The value of the entry keyed by the tagged word `key` in a property dictionary (tagged
    /// `dict`: a `NameDictionary` or a `GlobalDictionary`), compared by word: no key is decoded.
    pub(crate) fn dictionary_value(&self, dict: u64, key: u64) -> Option<u64> {
        let layout = self.layout();
        let ht = &layout.hash_table;
        let addr = layout.tagging.strong(dict)?;
        let h = self.header(addr).ok()?;
        let global = h.instance_type == layout.types.global_dictionary;
        if !global && h.instance_type != layout.types.name_dictionary {
            return None;
        }
        let (prefix, entry_size) = if global {
            (
                ht.global_dictionary_prefix_size,
                ht.global_dictionary_entry_size,
            )
        } else {
            (
                ht.name_dictionary_prefix_size,
                ht.name_dictionary_entry_size,
            )
        };
        let (start, capacity) = self.hash_table_shape(addr, prefix, entry_size).ok()?;
        for i in 0..capacity {
            let at = start + i * entry_size;
            let w = self.array_element(addr, at + ht.entry_key_index).ok()?;
            if global {
                let Some(cell) = layout.tagging.strong(w) else {
                    continue;
                };
                let pc = &layout.property_cell;
                if self.field(cell, pc.name).ok()? == key {
                    return self.field(cell, pc.value).ok();
                }
            } else if w == key {
                return self
                    .array_element(addr, at + ht.dictionary_value_index)
                    .ok();
            }
        }
        None
    }

    /// The first entry index and the capacity of a hash table with the given prefix and entry
    /// size, checked against the table's length.
    pub(crate) fn hash_table_shape(
        &self,
        addr: u64,
        prefix: u64,
        entry_size: u64,
    ) -> Result<(u64, u64), DecodeError> {
        let ht = &self.layout().hash_table;
        let len = self.array_length(addr)?;
        let capacity = self.array_element(addr, ht.capacity_index)?;
        let capacity = self
            .layout()
            .tagging
            .smi(capacity)
            .and_then(|c| u64::try_from(c).ok())
            .ok_or(DecodeError::Invalid {
                addr,
                what: "hash table capacity",
                value: capacity,
            })?;
        let start = ht.prefix_start_index + prefix;
        let end = capacity
            .checked_mul(entry_size)
            .and_then(|n| n.checked_add(start));
        if end.is_none_or(|e| e > len) {
            return Err(DecodeError::Invalid {
                addr,
                what: "hash table capacity",
                value: capacity,
            });
        }
        Ok((start, capacity))
    }

    /// The own data property `key` of the object at `addr`, when it has one (accessors are not
    /// data properties).
    pub fn own_data_property(&self, addr: u64, is_key: impl Fn(&Key) -> bool) -> Option<u64> {
        let props = self.own_properties(addr).ok()?;
        props.into_iter().find_map(|p| match p.slot {
            Slot::Data(w) if is_key(&p.key) => Some(w),
            _ => None,
        })
    }
}
