//! References between heap objects: which words of an object may point to another object
//! ([`SlotRule`], by instance type), every reference an object holds with a name for it
//! ([`HeapModel::edges`]: `.label`, `[3]`, a closure variable, `context`, ...), and the name a
//! JS object gives a reference its backing stores hold ([`HeapModel::owned_slot_name`]: a
//! `PropertyArray` slot is a property, an elements slot an index, an `OrderedHashMap` slot a
//! Map value of some key).
//!
//! **Slots.** Every tagged word of an object's body (after its map word) may hold a reference,
//! except in objects that keep raw data: sequential and external strings (characters), heap
//! numbers, BigInts, byte arrays, double arrays, feedback metadata and free space hold none;
//! arrays of bytes (byte and bytecode arrays, objects whose size rule counts one-byte elements)
//! and machine code (objects sized by a `code` rule) only in their header, before the bytes or
//! instructions; cons, sliced and thin strings only in their part pointers. A word is a reference when it is a strong or weak pointer (by its tag); the map
//! word is not counted (every object holds its map). Some strong-tagged fields are weak to the
//! garbage collector: the entries of an `EphemeronHashTable` (WeakMap and WeakSet tables), a
//! `JSWeakRef`'s target, a `WeakCell`'s target and unregister token ([`SlotRule::is_weak`]).
//!
//! **Names.** Each kind of object names its slots as precisely as the layout allows: a JS
//! object's in-object properties (by its map's descriptors), `properties`, `elements`; a
//! context's variables (by its scope info); a function's `context`, `shared`, ...; a
//! FixedArray's indices; a map's `prototype`, `descriptors`, ... A word no rule names is
//! `slot +0x18` ([`EdgeName::Slot`]).

use coroner_v8::size::{object_size, SizeRule};
use coroner_v8::types::StringRepresentation;
use coroner_v8::{Reader, Tagged};

use crate::error::DecodeError;
use crate::model::{Class, Header, HeapModel};
use crate::properties::{Key, Location};

/// Byte offsets `[start, end)` of an object (`end` is capped at the object's size).
type Range = (u64, u64);

/// Which words of an object may hold references, by instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRule {
    ranges: [Range; 2],
    weak: [Range; 2],
}

const NONE: Range = (0, 0);

impl SlotRule {
    /// No slot at all.
    pub const EMPTY: SlotRule = SlotRule {
        ranges: [NONE, NONE],
        weak: [NONE, NONE],
    };

    /// Whether the object holds no reference whatever its contents.
    pub fn is_empty(&self) -> bool {
        self.ranges.iter().all(|&(s, e)| s >= e)
    }

    /// The byte ranges `[start, end)` of an object of `size` bytes that hold tagged words.
    pub fn ranges(&self, size: u64) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.ranges
            .iter()
            .map(move |&(s, e)| (s, e.min(size)))
            .filter(|&(s, e)| s < e)
    }

    /// Whether the word at byte offset `offset` is weak to the garbage collector whatever its
    /// tag.
    #[inline]
    pub fn is_weak(&self, offset: u64) -> bool {
        self.weak.iter().any(|&(s, e)| s <= offset && offset < e)
    }
}

/// What a reference is, seen from the object that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EdgeName {
    /// A named property (`holder.name`); `symbol` for symbol keys.
    Property {
        /// The key as shown (`name`, `Symbol(desc)`, `#private`).
        name: String,
        /// A symbol key.
        symbol: bool,
    },
    /// An element or an index of an array-shaped object (`holder[3]`).
    Element(u64),
    /// A variable of a closure context, by name.
    ContextVariable(String),
    /// A key of a `Map`.
    MapKey,
    /// A value of a `Map`, with its key in short form (`"k"`, `<Walrus 0x…>`).
    MapValue(String),
    /// A member of a `Set`.
    SetMember,
    /// A key of a `WeakMap`.
    WeakMapKey,
    /// A value of a `WeakMap`, with its key in short form.
    WeakMapValue(String),
    /// A member of a `WeakSet`.
    WeakSetMember,
    /// A V8-internal field, by name (`context`, `elements`, `prototype`, ...).
    Internal(String),
    /// A word no rule names, at this byte offset of its object.
    Slot(u64),
}

impl EdgeName {
    /// A short word for the kind of edge (the `kind` of JSON output): `property`, `element`,
    /// `context variable`, `map key`, `map value`, `set member`, `weak map key`,
    /// `weak map value`, `weak set member`, `internal`, `slot`.
    pub fn kind(&self) -> &'static str {
        match self {
            EdgeName::Property { .. } => "property",
            EdgeName::Element(_) => "element",
            EdgeName::ContextVariable(_) => "context variable",
            EdgeName::MapKey => "map key",
            EdgeName::MapValue(_) => "map value",
            EdgeName::SetMember => "set member",
            EdgeName::WeakMapKey => "weak map key",
            EdgeName::WeakMapValue(_) => "weak map value",
            EdgeName::WeakSetMember => "weak set member",
            EdgeName::Internal(_) => "internal",
            EdgeName::Slot(_) => "slot",
        }
    }

    /// The edge written after its holder's name: `.label`, `[3]`, `.held` (a variable),
    /// ` value of key "k"`, ` member`, ` (context)`, ` (slot +0x18)`.
    pub fn suffix(&self) -> String {
        match self {
            EdgeName::Property { name, symbol } => {
                if !*symbol && is_identifier(name) {
                    format!(".{name}")
                } else if *symbol {
                    format!("[{name}]")
                } else {
                    format!("[{name:?}]")
                }
            }
            EdgeName::Element(i) => format!("[{i}]"),
            EdgeName::ContextVariable(n) => format!(".{n}"),
            EdgeName::MapKey | EdgeName::WeakMapKey => " key".to_string(),
            EdgeName::MapValue(k) | EdgeName::WeakMapValue(k) => format!(" value of key {k}"),
            EdgeName::SetMember | EdgeName::WeakSetMember => " member".to_string(),
            EdgeName::Internal(n) => format!(" ({n})"),
            EdgeName::Slot(off) => format!(" (slot +{off:#x})"),
        }
    }

    /// Whether JS code sees this reference: a property, an element, a closure variable or a
    /// collection entry (rather than a V8-internal field).
    pub fn is_js(&self) -> bool {
        !matches!(self, EdgeName::Internal(_) | EdgeName::Slot(_))
    }

    /// Whether the edge reads as a plain JS access (`.name`, `[3]`) after any holder.
    pub fn is_access(&self) -> bool {
        matches!(self, EdgeName::Property { .. } | EdgeName::Element(_))
    }
}

/// Whether `name` can follow a dot in JS (`a.b`): letters, digits, `_`, `$`, a leading `#`.
fn is_identifier(name: &str) -> bool {
    let body = name.strip_prefix('#').unwrap_or(name);
    let mut chars = body.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// One reference held by an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The address of the word that holds the reference.
    pub slot: u64,
    /// The referenced object (untagged).
    pub target: u64,
    /// Whether the reference is weak (a weak pointer, or a field the GC treats as weak).
    pub weak: bool,
    /// What the reference is.
    pub name: EdgeName,
}

/// How one object names the byte offsets of its slots: offsets with names known in advance
/// (sorted by offset), the rest by `fallback`.
struct Namer {
    fields: Vec<(u64, EdgeName)>,
    fallback: Fallback,
}

/// What a slot no field names is called.
enum Fallback {
    /// `slot +off`.
    Slot,
    /// An index of an array-shaped object whose elements start at `header`.
    Index { header: u64 },
    /// A feedback vector slot.
    Feedback { header: u64 },
    /// A native context slot (fixed-array-shaped).
    NativeContextSlot { header: u64 },
}

impl Namer {
    fn name(&self, offset: u64, word: u64) -> EdgeName {
        if let Ok(i) = self.fields.binary_search_by_key(&offset, |(o, _)| *o) {
            return self.fields[i].1.clone();
        }
        let index = |header: u64| {
            offset
                .checked_sub(header)
                .map(|d| d / word.max(1))
                .filter(|_| offset >= header)
        };
        match self.fallback {
            Fallback::Slot => EdgeName::Slot(offset),
            Fallback::Index { header } => match index(header) {
                Some(i) => EdgeName::Element(i),
                None => EdgeName::Slot(offset),
            },
            Fallback::Feedback { header } => match index(header) {
                Some(i) => EdgeName::Internal(format!("feedback slot {i}")),
                None => EdgeName::Slot(offset),
            },
            Fallback::NativeContextSlot { header } => match index(header) {
                Some(i) => EdgeName::Internal(format!("native context slot {i}")),
                None => EdgeName::Slot(offset),
            },
        }
    }
}

fn internal(name: &str) -> EdgeName {
    EdgeName::Internal(name.to_string())
}

impl HeapModel<'_> {
    /// Which words of an object of instance type `t` may hold references (see the module
    /// documentation). Depends only on the type: callers may compute it once per map.
    pub fn slot_rule(&self, t: u16) -> SlotRule {
        let layout = self.layout();
        let types = &layout.types;
        let word = layout.tagging.tagged_size;
        let body = layout.heap_object.map.saturating_add(word);
        let all = (body, u64::MAX);
        let one = |at: u64| (at, at.saturating_add(word));
        let rule = |ranges: [Range; 2]| SlotRule {
            ranges,
            weak: [NONE, NONE],
        };
        if let Some(shape) = types.string_shape(t) {
            let st = &layout.string;
            return match shape.representation {
                StringRepresentation::Seq | StringRepresentation::External => SlotRule::EMPTY,
                StringRepresentation::Cons => rule([one(st.cons_first), one(st.cons_second)]),
                StringRepresentation::Sliced => rule([one(st.sliced_parent), NONE]),
                StringRepresentation::Thin => rule([one(st.thin_actual), NONE]),
            };
        }
        let named = |name: &str| types.number(name) == Some(t);
        if types.is_free(t)
            || t == types.heap_number
            || t == types.big_int
            || t == types.byte_array
            || t == types.fixed_double_array
            || named("FEEDBACK_METADATA_TYPE")
        {
            return SlotRule::EMPTY;
        }
        if t == types.bytecode_array {
            return rule([(body, layout.bytecode_array.header_size), NONE]);
        }
        match layout.sizes.rule(t).map(|r| &r.rule) {
            // Machine code: only the header before the instructions holds tagged fields.
            Some(SizeRule::Code { header, .. }) => return rule([(body, *header), NONE]),
            // Arrays of bytes (byte arrays of every kind): only their header.
            Some(SizeRule::Array {
                header,
                element,
                then: None,
                ..
            }) if *element < word => return rule([(body, *header), NONE]),
            _ => {}
        }
        let w = &layout.weak_refs;
        if named("EPHEMERON_HASH_TABLE_TYPE") {
            return SlotRule {
                ranges: [all, NONE],
                weak: [(layout.fixed_array.header_size, u64::MAX), NONE],
            };
        }
        if named("JS_WEAK_REF_TYPE") {
            return SlotRule {
                ranges: [all, NONE],
                weak: [one(w.js_weak_ref_target), NONE],
            };
        }
        if named("WEAK_CELL_TYPE") {
            return SlotRule {
                ranges: [all, NONE],
                weak: [one(w.weak_cell_target), one(w.weak_cell_unregister_token)],
            };
        }
        rule([all, NONE])
    }

    /// Every reference the object at `addr` holds in its own slots, in slot order, each named
    /// (see the module documentation). Only words that point into a heap page's objects count
    /// (a raw field may look like a pointer). References held through the object's backing stores
    /// (its property array, dictionary, elements, collection table) are edges of those stores;
    /// [`HeapModel::owned_slot_name`] names them as the object sees them.
    pub fn edges(&self, addr: u64) -> Result<Vec<Edge>, DecodeError> {
        self.edges_filtered(addr, None)
    }

    /// The references the object at `addr` holds to the object at `target` (see
    /// [`HeapModel::edges`]); only those slots are named.
    pub fn edges_to(&self, addr: u64, target: u64) -> Result<Vec<Edge>, DecodeError> {
        self.edges_filtered(addr, Some(target))
    }

    fn edges_filtered(&self, addr: u64, only: Option<u64>) -> Result<Vec<Edge>, DecodeError> {
        let layout = self.layout();
        let h = self.header(addr)?;
        let info = self.map_info(h.map)?;
        let size = object_size(layout, self.heap().memory(), addr, &info).map_err(|e| match e {
            coroner_v8::size::SizeError::Read(r) => DecodeError::Read(r),
            _ => DecodeError::Invalid {
                addr,
                what: "object size",
                value: 0,
            },
        })?;
        let rule = self.slot_rule(h.instance_type);
        let word = layout.tagging.tagged_size;
        // The object's bytes taken in one piece when the core has them so (the usual case).
        let reader = Reader::with_window(self.heap().memory(), addr, addr.saturating_add(size));
        let mut found: Vec<(u64, u64, bool)> = Vec::new();
        for (start, end) in rule.ranges(size) {
            let mut off = start;
            // Bounded by the object's size.
            while off.saturating_add(word) <= end {
                let w = reader.u64(addr.wrapping_add(off))?;
                let pointer = match layout.tagging.decode(w) {
                    Tagged::Strong(t) => Some((t, rule.is_weak(off))),
                    Tagged::Weak(t) => Some((t, true)),
                    Tagged::Smi(_) | Tagged::Cleared => None,
                };
                if let Some((target, weak)) = pointer {
                    // A raw field can look like a pointer; only words into the heap's objects
                    // count.
                    let wanted = match only {
                        Some(t) => t == target,
                        None => self.heap().page_of(target).is_some(),
                    };
                    if wanted {
                        found.push((off, target, weak));
                    }
                }
                off += word;
            }
        }
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let namer = self.namer(h, size);
        Ok(found
            .into_iter()
            .map(|(off, target, weak)| Edge {
                slot: addr.wrapping_add(off),
                target,
                weak,
                name: namer.name(off, word),
            })
            .collect())
    }

    /// How the object `h` (of `size` bytes) names its slots.
    fn namer(&self, h: Header, size: u64) -> Namer {
        let layout = self.layout();
        let types = &layout.types;
        let t = h.instance_type;
        let class = self.class_of(t);
        let mut fields: Vec<(u64, EdgeName)> = Vec::new();
        let mut fallback = Fallback::Slot;
        let word = layout.tagging.tagged_size;
        let fa = &layout.fixed_array;
        match class {
            Class::String => {
                let st = &layout.string;
                if let Some(shape) = types.string_shape(t) {
                    match shape.representation {
                        StringRepresentation::Cons => fields.extend([
                            (st.cons_first, internal("first")),
                            (st.cons_second, internal("second")),
                        ]),
                        StringRepresentation::Sliced => {
                            fields.push((st.sliced_parent, internal("parent")))
                        }
                        StringRepresentation::Thin => {
                            fields.push((st.thin_actual, internal("actual")))
                        }
                        _ => {}
                    }
                }
            }
            Class::Context => {
                fields.push((
                    fa.header_size + layout.context.scope_info_index * word,
                    internal("scope info"),
                ));
                fields.push((
                    fa.header_size + layout.context.previous_index * word,
                    internal("previous"),
                ));
                if t == types.native_context {
                    fallback = Fallback::NativeContextSlot {
                        header: fa.header_size,
                    };
                } else if let (Ok(vars), Ok(len)) =
                    (self.context_variables(h.addr), self.array_length(h.addr))
                {
                    let first = len.saturating_sub(vars.len() as u64);
                    for (i, (name, _)) in vars.into_iter().enumerate() {
                        fields.push((
                            fa.header_size + (first + i as u64) * word,
                            EdgeName::ContextVariable(name),
                        ));
                    }
                    fallback = Fallback::Index {
                        header: fa.header_size,
                    };
                }
            }
            Class::SharedFunctionInfo => {
                let s = &layout.shared_function_info;
                fields.extend([
                    (s.function_data, internal("function data")),
                    (s.name_or_scope_info, internal("name or scope info")),
                    (s.script, internal("script")),
                    (s.feedback_metadata, internal("feedback metadata")),
                ]);
            }
            Class::Script => {
                let s = &layout.script;
                fields.extend([
                    (s.source, internal("source")),
                    (s.name, internal("name")),
                    (s.line_ends, internal("line ends")),
                ]);
            }
            c if c.is_receiver() => self.receiver_fields(h, c, &mut fields),
            _ => self.internal_fields(h, size, &mut fields, &mut fallback),
        }
        fields.sort_by_key(|(o, _)| *o);
        fields.dedup_by_key(|(o, _)| *o);
        Namer { fields, fallback }
    }

    /// The named slots of a JS object: class-specific fields, then properties and elements,
    /// then in-object properties by the map's descriptors.
    fn receiver_fields(&self, h: Header, class: Class, fields: &mut Vec<(u64, EdgeName)>) {
        let layout = self.layout();
        let jo = &layout.js_object;
        match class {
            Class::Proxy => {
                fields.extend([
                    (layout.js_proxy.target, internal("target")),
                    (layout.js_proxy.handler, internal("handler")),
                    (jo.properties_or_hash, internal("properties")),
                ]);
                // A proxy has no elements and no in-object properties.
                return;
            }
            Class::Function => {
                let f = &layout.js_function;
                fields.extend([
                    (f.shared, internal("shared")),
                    (f.context, internal("context")),
                    (f.feedback_cell, internal("feedback cell")),
                    (
                        f.prototype_or_initial_map,
                        internal("prototype or initial map"),
                    ),
                ]);
                if let Some(code) = f.code {
                    fields.push((code, internal("code")));
                }
            }
            Class::BoundFunction => {
                let b = &layout.js_bound_function;
                fields.extend([
                    (b.target, internal("bound target")),
                    (b.this, internal("bound this")),
                    (b.arguments, internal("bound arguments")),
                ]);
            }
            Class::PrimitiveWrapper => {
                fields.push((layout.js_primitive_wrapper.value, internal("value")));
            }
            Class::Map | Class::Set | Class::WeakMap | Class::WeakSet => {
                fields.push((layout.collections.table, internal("table")));
            }
            Class::Promise => {
                let js = &layout.js_misc;
                let pending = self
                    .smi(h.addr, js.promise_flags, "promise flags")
                    .ok()
                    .map(|f| js.promise_status.get(f as u64) == js.promise_pending);
                let name = match pending {
                    Some(true) => "reactions",
                    Some(false) => "result",
                    None => "reactions or result",
                };
                fields.push((js.promise_reactions_or_result, internal(name)));
            }
            Class::Generator => {
                let g = &layout.js_generator;
                fields.extend([
                    (g.function, internal("function")),
                    (g.context, internal("context")),
                    (g.receiver, internal("receiver")),
                ]);
            }
            Class::RegExp => {
                let js = &layout.js_misc;
                fields.extend([
                    (js.regexp_data, internal("data")),
                    (js.regexp_source, internal("source")),
                ]);
            }
            Class::Date => {
                fields.push((layout.js_misc.date_value, internal("value")));
            }
            Class::TypedArray | Class::DataView => {
                let b = &layout.buffers;
                fields.extend([
                    (b.view_buffer, internal("buffer")),
                    (b.typed_array_base_pointer, internal("base pointer")),
                ]);
            }
            Class::Array => {
                fields.push((layout.js_array.length, internal("length")));
            }
            _ => {}
        }
        if layout.types.number("JS_WEAK_REF_TYPE") == Some(h.instance_type) {
            fields.push((layout.weak_refs.js_weak_ref_target, internal("target")));
        }
        fields.extend([
            (jo.properties_or_hash, internal("properties")),
            (jo.elements, internal("elements")),
        ]);
        if let Ok(info) = self.map_info(h.map) {
            if !info.is_dictionary_map(layout) {
                if let Ok(descriptors) = &*self.descriptors(h.map) {
                    for d in descriptors {
                        if let Location::InObject(off) = d.location {
                            fields.push((off, property_name(&d.key)));
                        }
                    }
                }
            }
        }
    }

    /// The named slots of V8-internal objects.
    fn internal_fields(
        &self,
        h: Header,
        size: u64,
        fields: &mut Vec<(u64, EdgeName)>,
        fallback: &mut Fallback,
    ) {
        let layout = self.layout();
        let types = &layout.types;
        let t = h.instance_type;
        let word = layout.tagging.tagged_size;
        let named = |name: &str| types.number(name) == Some(t);
        if t == types.map {
            let m = &layout.map;
            let back = self
                .field(h.addr, m.constructor_or_back_pointer)
                .ok()
                .and_then(|w| self.class_of_word(w))
                .is_some_and(|(bh, _)| bh.instance_type == types.map);
            fields.extend([
                (m.prototype, internal("prototype")),
                (
                    m.constructor_or_back_pointer,
                    internal(if back { "back pointer" } else { "constructor" }),
                ),
                (m.instance_descriptors, internal("descriptors")),
                (m.dependent_code, internal("dependent code")),
                (
                    m.transitions_or_prototype_info,
                    internal("transitions or prototype info"),
                ),
            ]);
        } else if t == types.descriptor_array || named("STRONG_DESCRIPTOR_ARRAY_TYPE") {
            let da = &layout.descriptor_array;
            fields.push((da.enum_cache, internal("enum cache")));
            let n = self
                .heap()
                .memory()
                .read_u16(h.addr.wrapping_add(da.number_of_descriptors))
                .map_or(0, u64::from);
            let entry = da.entry_words * word;
            for i in 0..n {
                let at = da.header_size + i * entry;
                if at + entry > size {
                    break;
                }
                let key = self
                    .field(h.addr, at + da.entry_key * word)
                    .ok()
                    .and_then(|k| self.key(k).ok())
                    .map_or_else(|| format!("#{i}"), |k| k.display());
                fields.push((
                    at + da.entry_key * word,
                    EdgeName::Internal(format!("key of descriptor {key}")),
                ));
                fields.push((
                    at + da.entry_value * word,
                    EdgeName::Internal(format!("value of descriptor {key}")),
                ));
            }
        } else if t == types.property_cell {
            let pc = &layout.property_cell;
            let name = self
                .field(h.addr, pc.name)
                .ok()
                .and_then(|k| self.key(k).ok())
                .map(|k| k.display());
            fields.push((pc.name, internal("name")));
            fields.push((
                pc.value,
                EdgeName::Internal(match name {
                    Some(n) => format!("value of {n}"),
                    None => "value".to_string(),
                }),
            ));
        } else if named("FEEDBACK_CELL_TYPE") {
            fields.push((layout.feedback_cell.value, internal("value")));
        } else if t == types.feedback_vector {
            *fallback = Fallback::Feedback {
                header: layout.feedback_vector.header_size,
            };
        } else if t == types.accessor_pair {
            let ap = &layout.accessor_pair;
            fields.extend([
                (ap.getter, internal("getter")),
                (ap.setter, internal("setter")),
            ]);
        } else if named("PROMISE_REACTION_TYPE") {
            let pr = &layout.promise_reaction;
            fields.extend([
                (pr.next, internal("next reaction")),
                (pr.reject_handler, internal("reject handler")),
                (pr.fulfill_handler, internal("fulfill handler")),
                (pr.promise_or_capability, internal("promise or capability")),
            ]);
        } else if named("WEAK_CELL_TYPE") {
            let w = &layout.weak_refs;
            fields.extend([
                (w.weak_cell_target, internal("target")),
                (w.weak_cell_unregister_token, internal("unregister token")),
            ]);
        } else if t == types.property_array {
            *fallback = Fallback::Index {
                header: layout.property_array.header_size,
            };
        } else if types.is_fixed_array_like(t)
            || t == types.weak_fixed_array
            || t == types.transition_array
        {
            *fallback = Fallback::Index {
                header: layout.fixed_array.header_size,
            };
        }
    }

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
                    .map(|d| property_name(&d.key));
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
                    Some(property_name(&key))
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
            return Some(property_name(&self.key(name).ok()?));
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

/// The edge name of a property key.
fn property_name(key: &Key) -> EdgeName {
    EdgeName::Property {
        name: key.display(),
        symbol: matches!(
            key,
            Key::Symbol {
                private_name: false,
                ..
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        let p = |n: &str| EdgeName::Property {
            name: n.to_string(),
            symbol: false,
        };
        assert_eq!(p("label").suffix(), ".label");
        assert_eq!(p("#secret").suffix(), ".#secret");
        assert_eq!(p("a b").suffix(), "[\"a b\"]");
        assert_eq!(
            EdgeName::Property {
                name: "Symbol(x)".into(),
                symbol: true
            }
            .suffix(),
            "[Symbol(x)]"
        );
        assert_eq!(EdgeName::Element(1952).suffix(), "[1952]");
        assert_eq!(EdgeName::ContextVariable("hoard".into()).suffix(), ".hoard");
        assert_eq!(
            EdgeName::MapValue("\"k\"".into()).suffix(),
            " value of key \"k\""
        );
        assert_eq!(EdgeName::SetMember.suffix(), " member");
        assert_eq!(EdgeName::Slot(0x18).suffix(), " (slot +0x18)");
        assert_eq!(internal("context").suffix(), " (context)");
        assert!(EdgeName::Element(0).is_js() && !internal("map").is_js());
    }

    #[test]
    fn slot_rules() {
        let r = SlotRule {
            ranges: [(8, u64::MAX), NONE],
            weak: [(24, 32), NONE],
        };
        assert_eq!(r.ranges(40).collect::<Vec<_>>(), vec![(8, 40)]);
        assert!(r.is_weak(24) && !r.is_weak(32) && !r.is_weak(16));
        assert!(SlotRule::EMPTY.is_empty() && !r.is_empty());
    }
}
