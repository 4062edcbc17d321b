//! `inspect`: one heap value decoded into a [`Value`] tree, with llnode's options
//! ([`InspectOptions`]): string and array limits, full strings, the map, function source, and
//! the depth of nested expansion. Every object kind has its decoder here; whatever cannot be
//! decoded becomes an `other` value carrying the error, never a panic.

use coroner_v8::Tagged;

use crate::elements::ElementValue;
use crate::error::DecodeError;
use crate::maps::{typed_array_element_size, typed_array_name};
use crate::model::{Class, Header, HeapModel};
use crate::properties::{Key, Slot};
use crate::value::{
    Address, Element, Entry, MapDescription, Primitive, Property, Value, ValueType,
};

/// Deepest expansion `inspect` does, whatever the options ask.
const MAX_DEPTH: u32 = 64;
/// Most properties listed for one object.
const MAX_PROPERTIES: usize = 100_000;
/// Most 64-bit digits of a BigInt converted to decimal.
const MAX_BIGINT_DIGITS: u64 = 1 << 16;

/// How `inspect` decodes and how much it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectOptions {
    /// Show strings in full (`-F`), whatever `limit` says.
    pub full_strings: bool,
    /// Most string characters, array elements, collection entries and buffer bytes shown
    /// (`-l`, default 16).
    pub limit: u64,
    /// Describe the object's map (`-m`).
    pub show_map: bool,
    /// Levels of nested objects expanded (`--depth`, default 1: the object's own properties,
    /// with nested objects in short form).
    pub depth: u32,
    /// Show functions' source (`-s`).
    pub function_source: bool,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            full_strings: false,
            limit: 16,
            show_map: false,
            depth: 1,
            function_source: false,
        }
    }
}

impl HeapModel<'_> {
    /// Decodes the heap object at `addr` (untagged, or a tagged pointer as V8 stores it).
    ///
    /// Fails when no heap object starts there (unmapped memory, a Smi, a word that is not a
    /// map pointer); parts of the object that cannot be decoded become `other` values with an
    /// `error`.
    pub fn inspect(&self, addr: u64, options: &InspectOptions) -> Result<Value, DecodeError> {
        let addr = self.untag(addr);
        let h = self.header(addr)?;
        let depth = options.depth.min(MAX_DEPTH);
        Ok(self.object_value(h, depth, options))
    }

    /// Decodes a tagged value (a Smi, or a pointer to a heap object); never fails.
    pub fn inspect_tagged(&self, word: u64, options: &InspectOptions) -> Value {
        self.word_value(word, options.depth.min(MAX_DEPTH), options)
    }

    /// The one-line short form of a tagged value (`<Walrus 0x…>`, `"str"`, `42`).
    pub fn short(&self, word: u64) -> String {
        self.word_value(word, 0, &InspectOptions::default()).short()
    }

    /// The one-line short form of the heap object at `addr`.
    pub fn short_object(&self, addr: u64) -> String {
        match self.header(self.untag(addr)) {
            Ok(h) => self.object_value(h, 0, &InspectOptions::default()).short(),
            Err(e) => format!("<error: {e}>"),
        }
    }

    fn word_value(&self, word: u64, depth: u32, o: &InspectOptions) -> Value {
        match self.layout().tagging.decode(word) {
            Tagged::Smi(n) => Value {
                value: Some(Primitive::Int(n)),
                ..Value::of(ValueType::Smi)
            },
            Tagged::Cleared => Value {
                name: Some("cleared weak reference".into()),
                ..Value::of(ValueType::Other)
            },
            Tagged::Strong(addr) | Tagged::Weak(addr) => match self.header(addr) {
                Ok(h) => self.object_value(h, depth, o),
                Err(e) => Value::error(Some(addr), self.failure(&e)),
            },
        }
    }

    fn object_value(&self, h: Header, depth: u32, o: &InspectOptions) -> Value {
        let class = self.class_of(h.instance_type);
        let mut v = match self.decode(h, class, depth, o) {
            Ok(v) => v,
            Err(e) => {
                let mut v = Value::error(Some(h.addr), self.failure(&e));
                v.name = Some(self.type_name(h.instance_type));
                v
            }
        };
        if o.show_map && depth > 0 {
            v.map = self.describe_map(h.map);
        }
        v
    }

    fn decode(
        &self,
        h: Header,
        class: Class,
        depth: u32,
        o: &InspectOptions,
    ) -> Result<Value, DecodeError> {
        let layout = self.layout();
        let addr = h.addr;
        let at = Some(Address(addr));
        Ok(match class {
            Class::String => {
                let limit = if o.full_strings { None } else { Some(o.limit) };
                let s = self.string(addr, limit)?;
                Value {
                    address: at,
                    length: Some(s.length),
                    utf16: (!s.is_well_formed()).then(|| s.units.clone()),
                    value: Some(Primitive::String(s.to_string_lossy())),
                    truncated: s.truncated,
                    ..Value::of(ValueType::String)
                }
            }
            Class::HeapNumber => Value {
                address: at,
                value: Some(Primitive::Number(
                    self.f64_at(addr, layout.heap_number.value)?,
                )),
                ..Value::of(ValueType::Number)
            },
            Class::Oddball => self.oddball(addr)?,
            Class::Hole => Value {
                address: at,
                ..Value::of(ValueType::Hole)
            },
            Class::Symbol => {
                let d = self.field(addr, layout.symbol.description)?;
                Value {
                    address: at,
                    description: self.string_text(d, 1024),
                    ..Value::of(ValueType::Symbol)
                }
            }
            Class::BigInt => Value {
                address: at,
                value: Some(Primitive::String(
                    self.bigint_decimal(addr, MAX_BIGINT_DIGITS)?,
                )),
                ..Value::of(ValueType::Bigint)
            },
            Class::Context => {
                let mut v = Value {
                    address: at,
                    ..Value::of(ValueType::Context)
                };
                if depth > 0 {
                    let mut props = Vec::new();
                    for (name, w) in self.context_variables(addr)? {
                        props.push(Property {
                            name,
                            value: self.word_value(w, depth - 1, o),
                            symbol: false,
                            accessor: false,
                        });
                    }
                    v.properties = Some(props);
                    let prev = self
                        .array_element(addr, layout.context.previous_index)
                        .ok()
                        .filter(|&w| layout.tagging.strong(w).is_some());
                    v.previous = prev.map(|w| Box::new(self.word_value(w, 0, o)));
                }
                v
            }
            Class::SharedFunctionInfo => {
                let info = self.shared_info(addr)?;
                Value {
                    address: at,
                    name: Some(self.type_name(h.instance_type)),
                    inferred_name: Some(info.debug_name().to_string()),
                    script: info.script.and_then(|s| self.script_name(s)),
                    ..Value::of(ValueType::Other)
                }
            }
            Class::Script => Value {
                address: at,
                name: Some(self.type_name(h.instance_type)),
                script: self.script_name(addr),
                ..Value::of(ValueType::Other)
            },
            Class::Free | Class::Internal => Value {
                address: at,
                name: Some(self.type_name(h.instance_type)),
                ..Value::of(ValueType::Other)
            },
            _ => self.receiver(h, class, depth, o)?,
        })
    }

    fn oddball(&self, addr: u64) -> Result<Value, DecodeError> {
        let l = self.layout();
        let kind = self.smi(addr, l.oddball.kind, "oddball kind")?;
        let o = &l.oddball;
        let at = Some(Address(addr));
        let v = if kind == o.kind_true || kind == o.kind_false {
            Value {
                value: Some(Primitive::Bool(kind == o.kind_true)),
                ..Value::of(ValueType::Boolean)
            }
        } else if kind == o.kind_null {
            Value::of(ValueType::Null)
        } else if kind == o.kind_undefined {
            Value::of(ValueType::Undefined)
        } else if Some(kind) == o.kind_the_hole {
            Value::of(ValueType::Hole)
        } else {
            // Other sentinels (uninitialized, exception, ...): named by their string.
            let s = self.field(addr, o.to_string)?;
            Value {
                name: Some(format!(
                    "oddball {}",
                    self.string_text(s, 64).unwrap_or_default()
                )),
                ..Value::of(ValueType::Other)
            }
        };
        Ok(Value { address: at, ..v })
    }

    /// JS objects of every class.
    fn receiver(
        &self,
        h: Header,
        class: Class,
        depth: u32,
        o: &InspectOptions,
    ) -> Result<Value, DecodeError> {
        let layout = self.layout();
        let addr = h.addr;
        let facts = self.map_facts(h.map);
        let kind = match class {
            Class::Array => ValueType::Array,
            Class::Function | Class::BoundFunction => ValueType::Function,
            Class::Map | Class::WeakMap => ValueType::Map,
            Class::Set | Class::WeakSet => ValueType::Set,
            Class::Date => ValueType::Date,
            Class::RegExp => ValueType::Regexp,
            Class::Error => ValueType::Error,
            Class::Promise => ValueType::Promise,
            Class::ArrayBuffer => ValueType::Arraybuffer,
            Class::TypedArray | Class::DataView => ValueType::Typedarray,
            _ => ValueType::Object,
        };
        let mut v = Value {
            address: Some(Address(addr)),
            constructor: facts.constructor.as_deref().map(str::to_string),
            ..Value::of(kind)
        };
        // What even the short form shows.
        match class {
            Class::Array => v.length = Some(self.array_length_value(addr)?),
            Class::Function => {
                let sfi = self.function_shared(addr)?;
                let info = self.shared_info(sfi)?;
                v.name = Some(info.name.clone());
                if depth > 0 {
                    if info.name.is_empty() {
                        v.inferred_name = info.inferred_name.clone();
                    }
                    if let Some(script) = info.script {
                        v.script = self.script_name(script);
                        if let Some((start, end)) = info.positions {
                            let start = info.token_position.unwrap_or(start);
                            if let Ok(pos) = self.script_position(script, start) {
                                v.line = Some(pos.line);
                                v.column = Some(pos.column);
                            }
                            if o.function_source {
                                let limit = (!o.full_strings).then_some(o.limit.max(4096));
                                match self.script_text(script, start, end, limit) {
                                    Ok((text, cut)) => {
                                        v.source = Some(text);
                                        v.truncated |= cut;
                                    }
                                    Err(e) => v.error = Some(self.failure(&e)),
                                }
                            }
                        }
                    }
                    let ctx = self.field(addr, layout.js_function.context)?;
                    v.context = Some(Box::new(self.word_value(ctx, depth - 1, o)));
                }
            }
            Class::BoundFunction => {
                let b = &layout.js_bound_function;
                let target = self.field(addr, b.target)?;
                let target_name = match self.class_of_word(target) {
                    Some((th, Class::Function)) => self.function_name(th.addr).ok(),
                    _ => None,
                };
                v.name = Some(format!("bound {}", target_name.unwrap_or_default()));
                if depth > 0 {
                    v.target = Some(Box::new(self.word_value(target, depth - 1, o)));
                    let this = self.field(addr, b.this)?;
                    v.bound_this = Some(Box::new(self.word_value(this, depth - 1, o)));
                    let args = self.pointer(addr, b.arguments, "bound arguments")?;
                    let n = self.array_length(args)?;
                    let mut list = Vec::new();
                    for i in 0..n.min(o.limit) {
                        list.push(self.word_value(self.array_element(args, i)?, depth - 1, o));
                    }
                    v.truncated |= n > o.limit;
                    v.bound_arguments = Some(list);
                }
            }
            Class::Map | Class::Set | Class::WeakMap | Class::WeakSet => {
                let (entries, count, cut) = self.collection(addr, class, depth, o)?;
                v.length = Some(count);
                if depth > 0 {
                    v.entries = Some(entries);
                    v.truncated |= cut;
                }
            }
            _ => {}
        }
        if depth == 0 {
            return Ok(v);
        }
        match class {
            Class::Date => {
                let ms = self.date_value(addr)?;
                v.value = Some(Primitive::Number(ms));
                v.iso = iso_date(ms);
            }
            Class::RegExp => {
                let js = &layout.js_misc;
                let src = self.field(addr, js.regexp_source)?;
                v.source = self.string_text(src, 1 << 20);
                let flags = self.smi(addr, js.regexp_flags, "regexp flags")?;
                v.flags = Some(layout.regexp_flags.text(flags as u64));
            }
            Class::Promise => {
                let js = &layout.js_misc;
                let flags = self.smi(addr, js.promise_flags, "promise flags")? as u64;
                let status = js.promise_status.get(flags);
                let state = if status == js.promise_fulfilled {
                    "fulfilled"
                } else if status == js.promise_rejected {
                    "rejected"
                } else {
                    "pending"
                };
                v.state = Some(state.to_string());
                if state != "pending" {
                    let r = self.field(addr, js.promise_reactions_or_result)?;
                    v.result = Some(Box::new(self.word_value(r, depth - 1, o)));
                }
            }
            Class::ArrayBuffer => {
                let b = &layout.buffers;
                let len = self.field(addr, b.buffer_byte_length)?;
                let store = self.field(addr, b.backing_store)?;
                v.byte_length = Some(len);
                v.length = Some(len);
                let (bytes, cut) = self.bytes(store, len, o.limit);
                v.bytes = bytes;
                v.truncated |= cut;
            }
            Class::TypedArray | Class::DataView => self.view(addr, class, &mut v, o)?,
            Class::Proxy => {
                let p = &layout.js_proxy;
                v.target = Some(Box::new(self.word_value(
                    self.field(addr, p.target)?,
                    depth - 1,
                    o,
                )));
                v.handler = Some(Box::new(self.word_value(
                    self.field(addr, p.handler)?,
                    depth - 1,
                    o,
                )));
                // A proxy has no properties of its own (its dictionary is V8's bookkeeping).
                return Ok(v);
            }
            Class::PrimitiveWrapper => {
                let w = self.field(addr, layout.js_primitive_wrapper.value)?;
                v.primitive = Some(Box::new(self.word_value(w, depth - 1, o)));
            }
            Class::Generator => {
                let g = &layout.js_generator;
                v.function = Some(Box::new(self.word_value(
                    self.field(addr, g.function)?,
                    0,
                    o,
                )));
                let c = self.smi(addr, g.continuation, "generator continuation")?;
                v.state = Some(
                    if c == g.closed {
                        "closed"
                    } else if c == g.executing {
                        "executing"
                    } else {
                        "suspended"
                    }
                    .to_string(),
                );
                v.context = Some(Box::new(self.word_value(
                    self.field(addr, g.context)?,
                    depth - 1,
                    o,
                )));
            }
            _ => {}
        }
        // Own properties and elements.
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
                if class == Class::Error {
                    v.message = out
                        .iter()
                        .find(|p| p.name == "message")
                        .and_then(|p| p.value.as_str().map(str::to_string));
                    v.stack = self.error_stack(addr);
                }
                v.properties = Some(out);
            }
            Err(e) => v.error = Some(self.failure(&e)),
        }
        if !matches!(class, Class::TypedArray | Class::DataView) {
            match self.elements(addr, o.limit) {
                Ok(els) => {
                    if !els.items.is_empty() || class == Class::Array {
                        v.truncated |= els.truncated;
                        v.elements = Some(
                            els.items
                                .into_iter()
                                .map(|(index, e)| Element {
                                    index,
                                    value: match e {
                                        ElementValue::Tagged(w) => self.word_value(w, depth - 1, o),
                                        ElementValue::Double(d) => Value {
                                            value: Some(Primitive::Number(d)),
                                            ..Value::of(ValueType::Number)
                                        },
                                        ElementValue::Hole => Value::of(ValueType::Hole),
                                    },
                                })
                                .collect(),
                        );
                    }
                }
                Err(e) => v.error = Some(self.failure(&e)),
            }
        }
        Ok(v)
    }

    fn property(&self, key: &Key, slot: Slot, depth: u32, o: &InspectOptions) -> Property {
        let (value, accessor) = match slot {
            Slot::Data(w) => (self.word_value(w, depth, o), false),
            Slot::Accessor(w) => (self.accessor(w), true),
        };
        Property {
            name: key.display(),
            value,
            symbol: matches!(key, Key::Symbol { .. }),
            accessor,
        }
    }

    /// An accessor slot: an `AccessorPair` (getter and setter functions) or an `AccessorInfo`
    /// (a native accessor).
    fn accessor(&self, word: u64) -> Value {
        let layout = self.layout();
        let Some((h, _)) = self.class_of_word(word) else {
            return Value::error(None, "accessor slot is not an object");
        };
        let mut v = Value {
            address: Some(Address(h.addr)),
            name: Some(self.type_name(h.instance_type)),
            ..Value::of(ValueType::Other)
        };
        if h.instance_type == layout.types.accessor_pair {
            let ap = &layout.accessor_pair;
            for (at, slot) in [(ap.getter, &mut v.getter), (ap.setter, &mut v.setter)] {
                if let Ok(w) = self.field(h.addr, at) {
                    if matches!(self.class_of_word(w), Some((_, Class::Function))) {
                        *slot = Some(Box::new(self.word_value(w, 0, &InspectOptions::default())));
                    }
                }
            }
        }
        v
    }

    /// Entries of a Map, Set, WeakMap or WeakSet (at most `limit` when expanding), their
    /// number, and whether the list was cut.
    fn collection(
        &self,
        addr: u64,
        class: Class,
        depth: u32,
        o: &InspectOptions,
    ) -> Result<(Vec<Entry>, u64, bool), DecodeError> {
        let layout = self.layout();
        let c = &layout.collections;
        let table = self.pointer(addr, c.table, "collection table")?;
        let limit = if depth > 0 { o.limit } else { 0 };
        let child = depth.saturating_sub(1);
        let is_map = matches!(class, Class::Map | Class::WeakMap);
        let mut entries = Vec::new();
        let mut cut = false;
        if matches!(class, Class::WeakMap | Class::WeakSet) {
            let ht = &layout.hash_table;
            let entry = ht.object_hash_table_entry_size;
            let (start, capacity) =
                self.hash_table_shape(table, ht.object_hash_table_prefix_size, entry)?;
            let mut count = 0;
            for i in 0..capacity {
                let at = start + i * entry;
                let key = self.array_element(table, at)?;
                if self.is_undefined(key) || self.is_hole(key) {
                    continue;
                }
                count += 1;
                if entries.len() as u64 >= limit {
                    cut |= depth > 0;
                    continue;
                }
                let value = is_map
                    .then(|| self.array_element(table, at + 1))
                    .transpose()?;
                entries.push(Entry {
                    key: self.word_value(key, child, o),
                    value: value.map(|w| self.word_value(w, child, o)),
                });
            }
            return Ok((entries, count, cut));
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
        for i in 0..used {
            if entries.len() as u64 >= limit {
                cut = depth > 0 && elements > limit;
                break;
            }
            let at = start + i * words;
            let key = self.array_element(table, at)?;
            if self.is_hole(key) {
                continue;
            }
            let value = is_map
                .then(|| self.array_element(table, at + 1))
                .transpose()?;
            entries.push(Entry {
                key: self.word_value(key, child, o),
                value: value.map(|w| self.word_value(w, child, o)),
            });
        }
        Ok((entries, elements, cut))
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

    /// A typed array's or DataView's contents.
    fn view(
        &self,
        addr: u64,
        class: Class,
        v: &mut Value,
        o: &InspectOptions,
    ) -> Result<(), DecodeError> {
        let layout = self.layout();
        let b = &layout.buffers;
        let offset = self.field(addr, b.view_byte_offset)?;
        let byte_length = self.field(addr, b.view_byte_length)?;
        v.byte_offset = Some(offset);
        v.byte_length = Some(byte_length);
        let buffer = self.field(addr, b.view_buffer)?;
        v.buffer = Some(Box::new(self.word_value(buffer, 0, o)));
        let data = if class == Class::TypedArray {
            let h = self.header(addr)?;
            let info = self.map_info(h.map)?;
            let kind_name = layout.elements_kinds.name(info.elements_kind(layout));
            let kind = kind_name.and_then(typed_array_name);
            v.element_type = kind.map(|k| k.trim_end_matches("Array").to_string());
            v.length = match b.typed_array_length {
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
            external.wrapping_add(base)
        } else {
            let buf = self.pointer(addr, b.view_buffer, "view buffer")?;
            self.field(buf, b.backing_store)?.wrapping_add(offset)
        };
        let (bytes, cut) = self.bytes(data, byte_length, o.limit);
        v.bytes = bytes;
        v.truncated |= cut;
        Ok(())
    }

    /// Up to `limit` bytes of `len` at `data`, as hex, and whether that cut them.
    fn bytes(&self, data: u64, len: u64, limit: u64) -> (Option<String>, bool) {
        let n = len.min(limit);
        let Ok(n_usize) = usize::try_from(n) else {
            return (None, false);
        };
        let mut buf = vec![0u8; n_usize];
        if n > 0 && self.heap().memory().read(data, &mut buf).is_err() {
            return (None, false);
        }
        let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        (Some(hex), len > n)
    }

    /// An error's stack, when V8 has formatted it: an own `stack` data property holding a
    /// string, or a string under one of V8's private symbols.
    fn error_stack(&self, addr: u64) -> Option<String> {
        let props = self.own_properties(addr).ok()?;
        props.into_iter().find_map(|p| match p.slot {
            Slot::Data(w) if p.key.is("stack") || p.key.is_internal() => {
                self.string_text(w, 1 << 20)
            }
            _ => None,
        })
    }

    /// The map at `map`, described (`inspect -m`).
    fn describe_map(&self, map: u64) -> Option<MapDescription> {
        let layout = self.layout();
        let info = self.map_info(map).ok()?;
        let prototype = self.field(map, layout.map.prototype).ok();
        let constructor = self.map_constructor(map);
        Some(MapDescription {
            address: Address(map),
            instance_type: self.type_name(info.instance_type),
            instance_size: info.instance_size(layout).unwrap_or(0),
            inobject_properties: u64::from(info.instance_size_in_words)
                .saturating_sub(u64::from(info.inobject_properties_start)),
            own_descriptors: info.number_of_own_descriptors(layout),
            dictionary: info.is_dictionary_map(layout),
            prototype_map: u64::from(info.bit_field3) & layout.map.is_prototype_map != 0,
            elements_kind: self
                .class_of(info.instance_type)
                .is_receiver()
                .then(|| {
                    layout
                        .elements_kinds
                        .name(info.elements_kind(layout))
                        .map(str::to_string)
                })
                .flatten(),
            prototype: prototype.map(|w| self.short(w)),
            constructor: constructor.map(|w| self.short(w)),
        })
    }
}

/// ISO 8601 text of a time value (`2023-11-14T22:13:20.000Z`), as `Date.prototype.toISOString`
/// writes it; `None` for invalid dates.
pub fn iso_date(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return None;
    }
    let ms = ms as i64;
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    let (h, min, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else {
        format!("{}{:06}", if y < 0 { '-' } else { '+' }, y.abs())
    };
    Some(format!(
        "{year}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z"
    ))
}

#[cfg(test)]
mod tests {
    use super::iso_date;

    #[test]
    fn iso_dates() {
        assert_eq!(
            iso_date(1_700_000_000_000.0).as_deref(),
            Some("2023-11-14T22:13:20.000Z")
        );
        assert_eq!(iso_date(0.0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(iso_date(-1.0).as_deref(), Some("1969-12-31T23:59:59.999Z"));
        assert_eq!(iso_date(f64::NAN), None);
    }
}
