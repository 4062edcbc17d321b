//! `inspect`: one heap value decoded into a [`Value`] tree, with llnode's options
//! ([`InspectOptions`]): string and array limits, full strings, the map, function source, and
//! the depth of nested expansion. Primitives, contexts, accessors and V8's internal objects are
//! decoded here, JS objects in `receivers.rs`; whatever cannot be decoded becomes an
//! [`ValueKind::Other`] value carrying the error, never a panic.

use std::cell::Cell;
use std::ops::Deref;

use coroner_v8::Tagged;

use crate::error::DecodeError;
use crate::model::{Class, Header, HeapModel};
use crate::properties::{Key, Slot};
use crate::redact::Redactor;
use crate::value::{Internal, MapDescription, Property, Value, ValueKind, Variable};

/// Deepest expansion `inspect` does, whatever the options ask.
const MAX_DEPTH: u32 = 64;
/// Most objects one `inspect` expands (shows with their members): a deep expansion of a large
/// graph (`--depth 8` of `process` reaches most of the heap) would otherwise run for minutes
/// and print gigabytes. Past it, nested objects are shown in short form, marked truncated, and
/// counted ([`Inspection::unexpanded`]).
pub const MAX_EXPANDED: u64 = 10_000;
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
    /// Decode string contents and bytes even when the model redacts its output
    /// ([`HeapModel::with_redaction`]): for analyses that read values as data (node's versions,
    /// a socket's endpoint) and decide themselves what they show.
    pub reveal: bool,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            full_strings: false,
            limit: 16,
            show_map: false,
            depth: 1,
            function_source: false,
            reveal: false,
        }
    }
}

/// A value `inspect` decoded, and how many nested objects it left in short form because
/// [`MAX_EXPANDED`] were expanded already.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    /// The value.
    pub value: Value,
    /// Objects shown in short form that `--depth` asked to expand.
    pub unexpanded: u64,
}

/// One `inspect` under way: its options, and the objects it has expanded so far.
pub(crate) struct Expansion<'o> {
    options: &'o InspectOptions,
    /// Withholds contents, unless the options reveal them.
    pub(crate) redactor: Option<&'o Redactor>,
    expanded: Cell<u64>,
    unexpanded: Cell<u64>,
}

impl<'o> Expansion<'o> {
    /// An expansion with `options`, withholding contents as `model` does (unless the options
    /// reveal them).
    fn new(model: &'o HeapModel<'_>, options: &'o InspectOptions) -> Expansion<'o> {
        Expansion {
            options,
            redactor: model.redactor().filter(|_| !options.reveal),
            expanded: Cell::new(0),
            unexpanded: Cell::new(0),
        }
    }

    /// Whether one more object may be expanded (counting it), or counts it as left out.
    fn expand_one(&self) -> bool {
        let n = self.expanded.get();
        if n < MAX_EXPANDED {
            self.expanded.set(n + 1);
            true
        } else {
            self.unexpanded.set(self.unexpanded.get() + 1);
            false
        }
    }
}

impl Deref for Expansion<'_> {
    type Target = InspectOptions;

    fn deref(&self) -> &InspectOptions {
        self.options
    }
}

impl HeapModel<'_> {
    /// Decodes the heap object at `addr` (untagged, or a tagged pointer as V8 stores it).
    ///
    /// Fails when no heap object starts there (unmapped memory, a Smi, a word that is not a
    /// map pointer); parts of the object that cannot be decoded become [`ValueKind::Other`]
    /// values with an `error`.
    pub fn inspect(&self, addr: u64, options: &InspectOptions) -> Result<Value, DecodeError> {
        self.inspection(addr, options).map(|i| i.value)
    }

    /// [`inspect`](Self::inspect), also saying how many objects the expansion left out.
    pub fn inspection(
        &self,
        addr: u64,
        options: &InspectOptions,
    ) -> Result<Inspection, DecodeError> {
        let addr = self.untag(addr);
        let h = self.header(addr)?;
        let depth = options.depth.min(MAX_DEPTH);
        let o = Expansion::new(self, options);
        let value = self.object_value(h, depth, &o);
        Ok(Inspection {
            value,
            unexpanded: o.unexpanded.get(),
        })
    }

    /// Decodes a tagged value (a Smi, or a pointer to a heap object); never fails.
    pub fn inspect_tagged(&self, word: u64, options: &InspectOptions) -> Value {
        self.word_value(
            word,
            options.depth.min(MAX_DEPTH),
            &Expansion::new(self, options),
        )
    }

    /// The one-line short form of a tagged value (`<Walrus 0x…>`, `"str"`, `42`).
    pub fn short(&self, word: u64) -> String {
        let options = InspectOptions::default();
        self.word_value(word, 0, &Expansion::new(self, &options))
            .short()
    }

    /// The one-line short form of the heap object at `addr`.
    pub fn short_object(&self, addr: u64) -> String {
        let options = InspectOptions::default();
        match self.header(self.untag(addr)) {
            Ok(h) => self
                .object_value(h, 0, &Expansion::new(self, &options))
                .short(),
            Err(e) => format!("<error: {e}>"),
        }
    }

    /// The value of a tagged word, expanded `depth` levels.
    pub(crate) fn word_value(&self, word: u64, depth: u32, o: &Expansion<'_>) -> Value {
        match self.layout().tagging.decode(word) {
            Tagged::Smi(n) => Value::of(ValueKind::Smi(n)),
            Tagged::Cleared => Value::of(ValueKind::Other {
                name: Some("cleared weak reference".into()),
                internal: None,
            }),
            Tagged::Strong(addr) | Tagged::Weak(addr) => match self.header(addr) {
                Ok(h) => self.object_value(h, depth, o),
                Err(e) => Value::error(Some(addr), self.failure(&e)),
            },
        }
    }

    fn object_value(&self, h: Header, depth: u32, o: &Expansion<'_>) -> Value {
        let class = self.class_of(h.instance_type);
        let cut = depth > 0 && !o.expand_one();
        let depth = if cut { 0 } else { depth };
        let mut v = match self.decode(h, class, depth, o) {
            Ok(v) => v,
            // Named after its instance type, so that what failed is still known.
            Err(e) => Value {
                kind: ValueKind::Other {
                    name: Some(self.type_name(h.instance_type)),
                    internal: None,
                },
                ..Value::error(Some(h.addr), self.failure(&e))
            },
        };
        if o.show_map && depth > 0 {
            v.map = self.describe_map(h.map);
        }
        v.truncated |= cut;
        v
    }

    fn decode(
        &self,
        h: Header,
        class: Class,
        depth: u32,
        o: &Expansion<'_>,
    ) -> Result<Value, DecodeError> {
        let layout = self.layout();
        let addr = h.addr;
        // V8's internal objects are named by their instance type.
        let other = |internal| ValueKind::Other {
            name: Some(self.type_name(h.instance_type)),
            internal,
        };
        Ok(match class {
            Class::String => match o.redactor {
                Some(r) => {
                    let (length, digest) = self.string_digest(addr, r)?;
                    let kind = ValueKind::String {
                        text: String::new(),
                        length,
                        utf16: None,
                    };
                    Value {
                        redacted: Some(digest),
                        ..Value::at(addr, kind)
                    }
                }
                None => {
                    let limit = if o.full_strings { None } else { Some(o.limit) };
                    let s = self.string(addr, limit)?;
                    let kind = ValueKind::String {
                        utf16: (!s.is_well_formed()).then(|| s.units.clone()),
                        text: s.to_string_lossy(),
                        length: s.length,
                    };
                    Value {
                        truncated: s.truncated,
                        ..Value::at(addr, kind)
                    }
                }
            },
            Class::HeapNumber => Value::at(
                addr,
                ValueKind::Number(self.f64_at(addr, layout.heap_number.value)?),
            ),
            Class::Oddball => Value::at(addr, self.oddball(addr)?),
            Class::Hole => Value::at(addr, ValueKind::Hole),
            Class::Symbol => {
                let d = self.field(addr, layout.symbol.description)?;
                let description = self.string_text(d, 1024);
                Value::at(addr, ValueKind::Symbol { description })
            }
            Class::BigInt => {
                let decimal = self.bigint_decimal(addr, MAX_BIGINT_DIGITS)?;
                Value::at(addr, ValueKind::BigInt { decimal })
            }
            Class::Context => Value::at(addr, self.context(addr, depth, o)?),
            Class::SharedFunctionInfo => {
                let info = self.shared_info(addr)?;
                let sfi = Internal::SharedFunctionInfo {
                    debug_name: info.debug_name().to_string(),
                    script: info.script.and_then(|s| self.script_name(s)),
                };
                Value::at(addr, other(Some(sfi)))
            }
            Class::Script => {
                let name = self.script_name(addr);
                Value::at(addr, other(Some(Internal::Script { name })))
            }
            Class::Free | Class::Internal => Value::at(addr, other(None)),
            _ => self.receiver(h, class, depth, o)?,
        })
    }

    fn oddball(&self, addr: u64) -> Result<ValueKind, DecodeError> {
        let l = self.layout();
        let kind = self.smi(addr, l.oddball.kind, "oddball kind")?;
        let o = &l.oddball;
        Ok(if kind == o.kind_true || kind == o.kind_false {
            ValueKind::Boolean(kind == o.kind_true)
        } else if kind == o.kind_null {
            ValueKind::Null
        } else if kind == o.kind_undefined {
            ValueKind::Undefined
        } else if Some(kind) == o.kind_the_hole {
            ValueKind::Hole
        } else {
            // Other sentinels (uninitialized, exception, ...): named by their string.
            let s = self.field(addr, o.to_string)?;
            ValueKind::Other {
                name: Some(format!(
                    "oddball {}",
                    self.string_text(s, 64).unwrap_or_default()
                )),
                internal: None,
            }
        })
    }

    /// A context: when expanded, its variables and the enclosing context.
    fn context(&self, addr: u64, depth: u32, o: &Expansion<'_>) -> Result<ValueKind, DecodeError> {
        if depth == 0 {
            return Ok(ValueKind::Context {
                variables: None,
                previous: None,
            });
        }
        let layout = self.layout();
        let variables = self
            .context_variables(addr)?
            .into_iter()
            .map(|(name, w)| Variable {
                name,
                value: self.word_value(w, depth - 1, o),
            })
            .collect();
        let previous = self
            .array_element(addr, layout.context.previous_index)
            .ok()
            .filter(|&w| layout.tagging.strong(w).is_some());
        Ok(ValueKind::Context {
            variables: Some(variables),
            previous: previous.map(|w| Box::new(self.word_value(w, 0, o))),
        })
    }

    /// One own property, its value expanded `depth` levels.
    pub(crate) fn property(
        &self,
        key: &Key,
        slot: Slot,
        depth: u32,
        o: &Expansion<'_>,
    ) -> Property {
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
        let function = |at| {
            let w = self.field(h.addr, at).ok()?;
            matches!(self.class_of_word(w), Some((_, Class::Function))).then(|| {
                let options = InspectOptions::default();
                Box::new(self.word_value(w, 0, &Expansion::new(self, &options)))
            })
        };
        let internal = (h.instance_type == layout.types.accessor_pair).then(|| {
            let ap = &layout.accessor_pair;
            Internal::AccessorPair {
                getter: function(ap.getter),
                setter: function(ap.setter),
            }
        });
        let name = Some(self.type_name(h.instance_type));
        Value::at(h.addr, ValueKind::Other { name, internal })
    }

    /// The map at `map`, described (`inspect -m`).
    fn describe_map(&self, map: u64) -> Option<MapDescription> {
        let layout = self.layout();
        let info = self.map_info(map).ok()?;
        let prototype = self.field(map, layout.map.prototype).ok();
        let constructor = self.map_constructor(map);
        Some(MapDescription {
            address: map,
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
