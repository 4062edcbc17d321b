//! `inspect` of JS objects (V8's receivers): each class decoded into its [`ValueKind`] — arrays,
//! functions and bound functions, collections, dates, regexps, errors, promises, buffers and
//! views, proxies, boxed primitives, generators — with, when expanded, the own properties and
//! elements every JS object has ([`JsObject`]).

use coroner_v8::types::StringRepresentation;

use crate::elements::ElementValue;
use crate::error::DecodeError;
use crate::errors::ErrorStack;
use crate::inspect::Expansion;
use crate::maps::{typed_array_element_size, typed_array_name};
use crate::model::{Class, Header, HeapModel};
use crate::redact::MAX_DIGESTED;
use crate::value::{
    Element, FunctionDetail, GeneratorState, InternalSlots, JsObject, MapEntry, PromiseState,
    Value, ValueKind, View,
};

/// Most properties listed for one object.
const MAX_PROPERTIES: usize = 100_000;
/// Longest text decoded of a regexp's source, in code units.
const TEXT_LIMIT: u64 = 1 << 20;

/// What decoding a value's kind noted besides its data: the last error met in a part that could
/// be skipped, and whether a limit cut something.
#[derive(Default)]
struct Notes {
    error: Option<String>,
    truncated: bool,
    /// The digest of the bytes `--redact` withheld.
    redacted: Option<String>,
}

/// The entries of a collection, as `collection` reads them.
struct Collection {
    /// The keys (the members, for sets), at most the limit.
    keys: Vec<Value>,
    /// The value of each key (maps only).
    values: Vec<Value>,
    /// The number of entries.
    size: u64,
    /// Whether the limit cut the list.
    cut: bool,
}

impl HeapModel<'_> {
    /// A JS object of any class: what its short form shows, and when `depth > 0` everything
    /// else, its own properties and elements included.
    pub(crate) fn receiver(
        &self,
        h: Header,
        class: Class,
        depth: u32,
        o: &Expansion<'_>,
    ) -> Result<Value, DecodeError> {
        let addr = h.addr;
        let object = JsObject {
            constructor: self
                .map_facts(h.map)
                .constructor
                .as_deref()
                .map(str::to_string),
            ..JsObject::default()
        };
        let mut notes = Notes::default();
        let kind = self.receiver_kind(addr, class, object, depth, o, &mut notes)?;
        let mut v = Value {
            error: notes.error,
            truncated: notes.truncated,
            redacted: notes.redacted,
            ..Value::at(addr, kind)
        };
        // A proxy has no properties of its own (its dictionary is V8's bookkeeping).
        if depth > 0 && class != Class::Proxy {
            self.list_members(&mut v, addr, class, depth, o);
        }
        Ok(v)
    }

    /// The kind of a JS object of `class`, with its own data.
    fn receiver_kind(
        &self,
        addr: u64,
        class: Class,
        object: JsObject,
        depth: u32,
        o: &Expansion<'_>,
        notes: &mut Notes,
    ) -> Result<ValueKind, DecodeError> {
        let layout = self.layout();
        let js = &layout.js_misc;
        let expand = depth > 0;
        let child = depth.saturating_sub(1);
        Ok(match class {
            Class::Array => ValueKind::Array {
                object,
                length: self.array_length_value(addr)?,
            },
            Class::Function => self.function(addr, object, depth, o, notes)?,
            Class::BoundFunction => self.bound_function(addr, object, depth, o, notes)?,
            Class::Map | Class::WeakMap => {
                let c = self.collection(addr, class, depth, o)?;
                notes.truncated |= expand && c.cut;
                let entries = c.keys.into_iter().zip(c.values);
                ValueKind::Map {
                    object,
                    size: c.size,
                    entries: expand.then(|| {
                        entries
                            .map(|(key, value)| MapEntry { key, value })
                            .collect()
                    }),
                }
            }
            Class::Set | Class::WeakSet => {
                let c = self.collection(addr, class, depth, o)?;
                notes.truncated |= expand && c.cut;
                ValueKind::Set {
                    object,
                    size: c.size,
                    members: expand.then_some(c.keys),
                }
            }
            Class::Date => ValueKind::Date {
                object,
                time: expand.then(|| self.date_value(addr)).transpose()?,
            },
            Class::RegExp if expand => {
                let src = self.field(addr, js.regexp_source)?;
                let source = self.string_text(src, TEXT_LIMIT);
                let flags = self.smi(addr, js.regexp_flags, "regexp flags")?;
                ValueKind::RegExp {
                    object,
                    source,
                    flags: Some(layout.regexp_flags.text(flags as u64)),
                }
            }
            Class::RegExp => ValueKind::RegExp {
                object,
                source: None,
                flags: None,
            },
            // The message and the stack are properties: `list_members` finds them.
            Class::Error => ValueKind::Error {
                object,
                message: None,
                stack: None,
                call_sites: None,
            },
            Class::Promise => ValueKind::Promise {
                object,
                state: expand
                    .then(|| self.promise_state(addr, child, o))
                    .transpose()?,
            },
            Class::ArrayBuffer if expand => {
                let b = &layout.buffers;
                let len = self.field(addr, b.buffer_byte_length)?;
                let store = self.field(addr, b.backing_store)?;
                let bytes = self.shown_bytes(store, len, o, notes);
                ValueKind::ArrayBuffer {
                    object,
                    byte_length: Some(len),
                    bytes,
                }
            }
            Class::ArrayBuffer => ValueKind::ArrayBuffer {
                object,
                byte_length: None,
                bytes: None,
            },
            Class::TypedArray | Class::DataView => ValueKind::TypedArray {
                object,
                view: expand
                    .then(|| self.view(addr, class, o, notes))
                    .transpose()?,
            },
            Class::Proxy | Class::PrimitiveWrapper | Class::Generator if expand => {
                ValueKind::Object {
                    object,
                    slots: Some(self.internal_slots(addr, class, child, o)?),
                }
            }
            _ => ValueKind::Object {
                object,
                slots: None,
            },
        })
    }

    /// A function: its name, and when expanded its script, position, source (`-s`) and
    /// closure context.
    fn function(
        &self,
        addr: u64,
        object: JsObject,
        depth: u32,
        o: &Expansion<'_>,
        notes: &mut Notes,
    ) -> Result<ValueKind, DecodeError> {
        let sfi = self.function_shared(addr)?;
        let info = self.shared_info(sfi)?;
        if depth == 0 {
            return Ok(ValueKind::Function {
                object,
                name: info.name,
                detail: None,
            });
        }
        let inferred_name = if info.name.is_empty() {
            info.inferred_name.clone()
        } else {
            None
        };
        let (script, position) = self.definition_place(&info);
        let mut source = None;
        if let Some(s) = info.script {
            if let Some((start, end)) = info.positions {
                let start = info.token_position.unwrap_or(start);
                if o.function_source {
                    let limit = (!o.full_strings).then_some(o.limit.max(4096));
                    match self.script_text(s, start, end, limit) {
                        Ok((text, cut)) => {
                            source = Some(text);
                            notes.truncated |= cut;
                        }
                        Err(e) => notes.error = Some(self.failure(&e)),
                    }
                }
            }
        }
        let ctx = self.field(addr, self.layout().js_function.context)?;
        Ok(ValueKind::Function {
            object,
            name: info.name,
            detail: Some(FunctionDetail::Closure {
                inferred_name,
                script,
                position,
                source,
                context: Box::new(self.word_value(ctx, depth - 1, o)),
            }),
        })
    }

    /// A bound function: named `bound target`, and when expanded its target, `this` and
    /// arguments (at most the limit).
    fn bound_function(
        &self,
        addr: u64,
        object: JsObject,
        depth: u32,
        o: &Expansion<'_>,
        notes: &mut Notes,
    ) -> Result<ValueKind, DecodeError> {
        let b = &self.layout().js_bound_function;
        let target = self.field(addr, b.target)?;
        let target_name = match self.class_of_word(target) {
            Some((th, Class::Function)) => self.function_name(th.addr).ok(),
            _ => None,
        };
        let name = format!("bound {}", target_name.unwrap_or_default());
        if depth == 0 {
            return Ok(ValueKind::Function {
                object,
                name,
                detail: None,
            });
        }
        let target = Box::new(self.word_value(target, depth - 1, o));
        let this = self.field(addr, b.this)?;
        let this = Box::new(self.word_value(this, depth - 1, o));
        let args = self.pointer(addr, b.arguments, "bound arguments")?;
        let n = self.array_length(args)?;
        let mut arguments = Vec::new();
        for i in 0..n.min(o.limit) {
            arguments.push(self.word_value(self.array_element(args, i)?, depth - 1, o));
        }
        notes.truncated |= n > o.limit;
        Ok(ValueKind::Function {
            object,
            name,
            detail: Some(FunctionDetail::Bound {
                target,
                this,
                arguments,
            }),
        })
    }

    /// A promise's state, with its value or reason (expanded `depth` levels) once settled.
    fn promise_state(
        &self,
        addr: u64,
        depth: u32,
        o: &Expansion<'_>,
    ) -> Result<PromiseState, DecodeError> {
        let js = &self.layout().js_misc;
        let flags = self.smi(addr, js.promise_flags, "promise flags")? as u64;
        let status = js.promise_status.get(flags);
        if status != js.promise_fulfilled && status != js.promise_rejected {
            return Ok(PromiseState::Pending);
        }
        let r = self.field(addr, js.promise_reactions_or_result)?;
        let result = Box::new(self.word_value(r, depth, o));
        Ok(if status == js.promise_fulfilled {
            PromiseState::Fulfilled(result)
        } else {
            PromiseState::Rejected(result)
        })
    }

    /// The internal slots of a proxy, a boxed primitive or a generator, their values expanded
    /// `depth` levels (a generator's function in summary form).
    fn internal_slots(
        &self,
        addr: u64,
        class: Class,
        depth: u32,
        o: &Expansion<'_>,
    ) -> Result<InternalSlots, DecodeError> {
        let layout = self.layout();
        let value = |at| -> Result<Box<Value>, DecodeError> {
            Ok(Box::new(self.word_value(self.field(addr, at)?, depth, o)))
        };
        Ok(match class {
            Class::Proxy => InternalSlots::Proxy {
                target: value(layout.js_proxy.target)?,
                handler: value(layout.js_proxy.handler)?,
            },
            Class::PrimitiveWrapper => {
                InternalSlots::Primitive(value(layout.js_primitive_wrapper.value)?)
            }
            _ => {
                let g = &layout.js_generator;
                let function = self.field(addr, g.function)?;
                let function = Box::new(self.word_value(function, 0, o));
                let c = self.smi(addr, g.continuation, "generator continuation")?;
                let state = if c == g.closed {
                    GeneratorState::Closed
                } else if c == g.executing {
                    GeneratorState::Executing
                } else {
                    GeneratorState::Suspended
                };
                InternalSlots::Generator {
                    function,
                    state,
                    context: value(g.context)?,
                }
            }
        })
    }

    /// Fills in the own properties and elements of `v`, the expanded JS object at `addr` (and
    /// an Error's message and stack); what cannot be listed is `v`'s error.
    fn list_members(&self, v: &mut Value, addr: u64, class: Class, depth: u32, o: &Expansion<'_>) {
        let mut properties = None;
        match self.own_properties(addr) {
            Ok(props) => {
                let mut out = Vec::new();
                for p in props.into_iter().filter(|p| !p.key.is_internal()) {
                    if out.len() >= MAX_PROPERTIES {
                        v.truncated = true;
                        break;
                    }
                    out.push(self.property(&p.key, p.slot, depth - 1, o));
                }
                if let ValueKind::Error {
                    message,
                    stack,
                    call_sites,
                    ..
                } = &mut v.kind
                {
                    *message = out.iter().find(|p| p.name == "message").and_then(|p| {
                        match p.value.redacted {
                            Some(_) => Some(p.value.short()),
                            None => p.value.as_str().map(str::to_string),
                        }
                    });
                    match self.shown_error_stack(addr, o.redactor) {
                        Some(ErrorStack::Formatted(text)) => *stack = Some(text),
                        Some(ErrorStack::Captured(sites)) => *call_sites = Some(sites),
                        None => {}
                    }
                }
                properties = Some(out);
            }
            Err(e) => v.error = Some(self.failure(&e)),
        }
        let mut elements = None;
        // A view's elements are its bytes.
        if !matches!(class, Class::TypedArray | Class::DataView) {
            match self.elements(addr, o.limit) {
                Ok(els) if !els.items.is_empty() || class == Class::Array => {
                    v.truncated |= els.truncated;
                    let list = els.items.into_iter().map(|(index, e)| Element {
                        index,
                        value: match e {
                            ElementValue::Tagged(w) => self.word_value(w, depth - 1, o),
                            ElementValue::Double(d) => Value::of(ValueKind::Number(d)),
                            ElementValue::Hole => Value::of(ValueKind::Hole),
                        },
                    });
                    elements = Some(list.collect());
                }
                Ok(_) => {}
                Err(e) => v.error = Some(self.failure(&e)),
            }
        }
        if let Some(object) = v.object_mut() {
            object.properties = properties;
            object.elements = elements;
        }
    }

    /// Bytes an object keeps outside the V8 heap that V8's heap snapshot counts as its own: an
    /// `ArrayBuffer`'s backing store (its byte length, when it has one) and, where the layout
    /// says V8 counts them (`external_string_payload`), an external string's characters. 0 for
    /// anything else.
    pub fn external_bytes(&self, addr: u64, class: Class) -> u64 {
        let layout = self.layout();
        match class {
            Class::ArrayBuffer => {
                let b = &layout.buffers;
                match (
                    self.field(addr, b.backing_store),
                    self.field(addr, b.buffer_byte_length),
                ) {
                    (Ok(store), Ok(len)) if store != 0 => len,
                    _ => 0,
                }
            }
            Class::String if layout.external_string_payload => {
                let shape = self
                    .header(addr)
                    .ok()
                    .and_then(|h| layout.types.string_shape(h.instance_type));
                match shape {
                    Some(shape) if shape.representation == StringRepresentation::External => {
                        let width = if shape.one_byte { 1 } else { 2 };
                        self.string_length(addr)
                            .map_or(0, |n| n.saturating_mul(width))
                    }
                    _ => 0,
                }
            }
            _ => 0,
        }
    }

    /// The (key, value) pairs of the `EphemeronHashTable` at `table` whose key and value are
    /// both heap objects: V8's heap snapshot draws each value as held by its key and by the
    /// table (a WeakMap value lives as long as both).
    pub fn ephemeron_pairs(&self, table: u64) -> Vec<(u64, u64)> {
        let layout = self.layout();
        let ht = &layout.hash_table;
        let entry = ht.object_hash_table_entry_size;
        let Ok((start, capacity)) =
            self.hash_table_shape(table, ht.object_hash_table_prefix_size, entry)
        else {
            return Vec::new();
        };
        (0..capacity)
            .filter_map(|i| {
                let at = start + i * entry;
                let key = self.array_element(table, at + ht.entry_key_index).ok()?;
                let value = self
                    .array_element(table, at + ht.object_hash_table_value_index)
                    .ok()?;
                Some((layout.tagging.strong(key)?, layout.tagging.strong(value)?))
            })
            .collect()
    }

    /// The entries of a Map, Set, WeakMap or WeakSet (at most `limit` when expanding), their
    /// number, and whether the list was cut.
    fn collection(
        &self,
        addr: u64,
        class: Class,
        depth: u32,
        o: &Expansion<'_>,
    ) -> Result<Collection, DecodeError> {
        let layout = self.layout();
        let c = &layout.collections;
        let table = self.pointer(addr, c.table, "collection table")?;
        let limit = if depth > 0 { o.limit } else { 0 };
        let child = depth.saturating_sub(1);
        let is_map = matches!(class, Class::Map | Class::WeakMap);
        let mut out = Collection {
            keys: Vec::new(),
            values: Vec::new(),
            size: 0,
            cut: false,
        };
        // A key, and (in maps) the element index of its value.
        let push = |out: &mut Collection, key: u64, value_at: u64| -> Result<(), DecodeError> {
            if is_map {
                let value = self.array_element(table, value_at)?;
                out.values.push(self.word_value(value, child, o));
            }
            out.keys.push(self.word_value(key, child, o));
            Ok(())
        };
        if matches!(class, Class::WeakMap | Class::WeakSet) {
            let ht = &layout.hash_table;
            let entry = ht.object_hash_table_entry_size;
            let (start, capacity) =
                self.hash_table_shape(table, ht.object_hash_table_prefix_size, entry)?;
            for i in 0..capacity {
                let at = start + i * entry;
                let key = self.array_element(table, at + ht.entry_key_index)?;
                if self.is_undefined(key) || self.is_hole(key) {
                    continue;
                }
                out.size += 1;
                if out.keys.len() as u64 >= limit {
                    out.cut |= depth > 0;
                    continue;
                }
                push(&mut out, key, at + ht.object_hash_table_value_index)?;
            }
            return Ok(out);
        }
        let smi_at = |i: u64, what: &'static str| -> Result<u64, DecodeError> {
            let w = self.array_element(table, i)?;
            layout
                .tagging
                .smi(w)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or(DecodeError::Invalid {
                    addr: table,
                    what,
                    value: w,
                })
        };
        let elements = smi_at(c.number_of_elements_index, "collection size")?;
        let deleted = smi_at(c.number_of_deleted_index, "collection deleted count")?;
        let buckets = smi_at(c.number_of_buckets_index, "collection buckets")?;
        let words = if is_map {
            c.map_entry_words
        } else {
            c.set_entry_words
        };
        let start = c.buckets_start_index + buckets;
        let used = elements + deleted;
        let len = self.array_length(table)?;
        if used
            .checked_mul(words)
            .and_then(|n| n.checked_add(start))
            .is_none_or(|end| end > len)
        {
            return Err(DecodeError::Invalid {
                addr: table,
                what: "collection entry count",
                value: used,
            });
        }
        out.size = elements;
        for i in 0..used {
            if out.keys.len() as u64 >= limit {
                out.cut = depth > 0 && elements > limit;
                break;
            }
            let at = start + i * words;
            let key = self.array_element(table, at + c.entry_key_index)?;
            if self.is_hole(key) {
                continue;
            }
            push(&mut out, key, at + c.map_value_index)?;
        }
        Ok(out)
    }

    /// A `JSDate`'s time value (milliseconds since the epoch; NaN for invalid dates).
    fn date_value(&self, addr: u64) -> Result<f64, DecodeError> {
        let layout = self.layout();
        let at = layout.js_misc.date_value;
        match layout.js_misc.date_value_encoding {
            coroner_v8::layout::NumberEncoding::Float64 => self.f64_at(addr, at),
            coroner_v8::layout::NumberEncoding::Tagged => {
                let w = self.field(addr, at)?;
                if let Some(n) = layout.tagging.smi(w) {
                    return Ok(n as f64);
                }
                match self.class_of_word(w) {
                    Some((nh, Class::HeapNumber)) => self.f64_at(nh.addr, layout.heap_number.value),
                    _ => Err(DecodeError::Invalid {
                        addr,
                        what: "date value",
                        value: w,
                    }),
                }
            }
        }
    }

    /// Where a typed array's or DataView's bytes are, and the first of them.
    fn view(
        &self,
        addr: u64,
        class: Class,
        o: &Expansion<'_>,
        notes: &mut Notes,
    ) -> Result<View, DecodeError> {
        let layout = self.layout();
        let b = &layout.buffers;
        let byte_offset = self.field(addr, b.view_byte_offset)?;
        let byte_length = self.field(addr, b.view_byte_length)?;
        let buffer = self.field(addr, b.view_buffer)?;
        let buffer = Box::new(self.word_value(buffer, 0, o));
        let (element_type, length, data) = if class == Class::TypedArray {
            let h = self.header(addr)?;
            let info = self.map_info(h.map)?;
            let kind_name = layout.elements_kinds.name(info.elements_kind(layout));
            let kind = kind_name.and_then(typed_array_name);
            let element_type = kind.map(|k| k.trim_end_matches("Array").to_string());
            let length = match b.typed_array_length {
                Some(at) => Some(self.field(addr, at)?),
                // V8 14 keeps no length: a fixed-length array's is its byte length over the
                // element size (what v8::TypedArray::Length computes).
                None => kind_name
                    .and_then(typed_array_element_size)
                    .and_then(|size| byte_length.checked_div(size)),
            };
            // external_pointer + base_pointer (the raw tagged word: a Smi 0 off-heap, the
            // on-heap byte array's pointer otherwise, with external_pointer its data offset).
            let external = self.field(addr, b.typed_array_external_pointer)?;
            let base = self.field(addr, b.typed_array_base_pointer)?;
            let base = if layout.tagging.is_smi(base) { 0 } else { base };
            (element_type, length, external.wrapping_add(base))
        } else {
            let buf = self.pointer(addr, b.view_buffer, "view buffer")?;
            let data = self.field(buf, b.backing_store)?.wrapping_add(byte_offset);
            (None, None, data)
        };
        let bytes = self.shown_bytes(data, byte_length, o, notes);
        Ok(View {
            element_type,
            length,
            byte_offset,
            byte_length,
            bytes,
            buffer,
        })
    }

    /// The first bytes of `len` at `data` as output shows them: up to the limit, noting a cut;
    /// none when they cannot be read, or when `--redact` withholds them (noting their digest).
    fn shown_bytes(
        &self,
        data: u64,
        len: u64,
        o: &Expansion<'_>,
        notes: &mut Notes,
    ) -> Option<Vec<u8>> {
        if let Some(r) = o.redactor {
            let (bytes, _) = self.bytes(data, len, MAX_DIGESTED);
            notes.redacted = bytes.map(|b| r.digest_bytes(&b, len));
            return None;
        }
        let (bytes, cut) = self.bytes(data, len, o.limit);
        notes.truncated |= cut;
        bytes
    }

    /// Up to `limit` bytes of `len` at `data` (`None` when they cannot be read), and whether
    /// that cut them.
    fn bytes(&self, data: u64, len: u64, limit: u64) -> (Option<Vec<u8>>, bool) {
        let n = len.min(limit);
        let Ok(n_usize) = usize::try_from(n) else {
            return (None, false);
        };
        let mut buf = vec![0u8; n_usize];
        if n > 0 && self.heap().memory().read(data, &mut buf).is_err() {
            return (None, false);
        }
        (Some(buf), len > n)
    }
}
