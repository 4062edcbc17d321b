//! How each kind of object names its own slots, for [`HeapModel::edges`], as precisely as the
//! layout allows: a JS object's in-object properties (by its map's descriptors), `properties`,
//! `elements`; a context's variables (by its scope info); a function's `context`, `shared`,
//! ...; a FixedArray's indices; a map's `prototype`, `descriptors`, ... A slot no field names
//! is `slot +0x18` ([`EdgeName::Slot`]).

use coroner_v8::types::StringRepresentation;

use crate::edges::EdgeName;
use crate::model::{Class, Header, HeapModel};
use crate::properties::Location;

/// How one object names the byte offsets of its slots: offsets with names known in advance
/// (sorted by offset), the rest by `fallback`.
pub(crate) struct Namer {
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
    /// The name of the slot at byte `offset` (`word`: bytes per slot).
    pub(crate) fn name(&self, offset: u64, word: u64) -> EdgeName {
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

/// The name of a V8-internal field.
fn internal(name: &str) -> EdgeName {
    EdgeName::Internal(name.to_string())
}

impl HeapModel<'_> {
    /// How the object `h` (of `size` bytes) names its slots.
    pub(crate) fn namer(&self, h: Header, size: u64) -> Namer {
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
                // As V8's heap snapshot names them.
                fields.extend([
                    (g.function, internal("function")),
                    (g.context, internal("context")),
                    (g.receiver, internal("receiver")),
                    (
                        g.parameters_and_registers,
                        internal("parameters_and_registers"),
                    ),
                ]);
                if layout.types.number("JS_ASYNC_FUNCTION_OBJECT_TYPE") == Some(h.instance_type) {
                    fields.push((g.async_function_promise, internal("promise")));
                }
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
                            fields.push((off, EdgeName::property(&d.key)));
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
}
