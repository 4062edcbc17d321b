//! Object sizes: how many bytes an object takes on its page, from its map (a port of the idea of
//! V8's `HeapObject::SizeFromMap`, with every number from the layout).
//!
//! A map with a non-zero instance size gives the size directly. Variable-size objects follow a
//! rule chosen by instance type. The rules are data in the supplement (`[[object_size]]`): most
//! are "a header plus a count times an element size, rounded up to a tagged word", with the
//! count read from a field of the object; a few shapes need their own arithmetic (scope infos,
//! small ordered hash tables, feedback metadata, code). Sequential strings are sized from the
//! string tag bits and need no entry.

use std::collections::BTreeMap;

use coroner_corefile::{AddressSpace, ReadError};

use crate::layout::{FlagsEncoding, Layout, ScopePart};
use crate::map::MapInfo;
use crate::read::Reader;

/// How an integer field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    /// A tagged Smi.
    Smi,
    /// `i32`.
    I32,
    /// `u32`.
    U32,
    /// `u16`.
    U16,
    /// `u8`.
    U8,
}

/// An integer field of an object: `(value & mask) >> shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntField {
    /// Byte offset in the object.
    pub at: u64,
    /// Storage.
    pub kind: IntKind,
    /// Mask applied to the value (all ones when none).
    pub mask: u64,
    /// Right shift after masking.
    pub shift: u32,
}

/// How to size one kind of variable-size object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeRule {
    /// `align(header + count * element) [+ align(then_count * then_element)]`.
    Array {
        /// Bytes before the elements.
        header: u64,
        /// Number of elements.
        count: IntField,
        /// Bytes per element.
        element: u64,
        /// A second array after the first (e.g. `PreparseData` children).
        then: Option<(IntField, u64)>,
    },
    /// A fixed size the map does not give (its instance size is the variable-size sentinel).
    Fixed {
        /// The size.
        size: u64,
    },
    /// A sequential string: header plus characters of one or two bytes.
    SeqString {
        /// Latin-1 rather than UTF-16.
        one_byte: bool,
    },
    /// A `ScopeInfo`: the fixed part plus the parts its flags call for (see
    /// [`ScopeInfoLayout`](crate::layout::ScopeInfoLayout)).
    ScopeInfo,
    /// `SmallOrderedHashSet/Map/NameDictionary`: byte counters, a data table, then byte-sized
    /// hash and chain tables.
    SmallOrderedHashTable {
        /// Offset of the number-of-buckets byte.
        buckets_at: u64,
        /// Offset of the data table.
        data_start: u64,
        /// Tagged words per entry.
        entry_words: u64,
        /// Entries per bucket.
        load_factor: u64,
    },
    /// `FeedbackMetadata`: packed slot kinds, several per 32-bit word.
    FeedbackMetadata {
        /// Bytes before the packed words.
        header: u64,
        /// Number of slots.
        slot_count: IntField,
        /// Slot kinds per word.
        slots_per_word: u64,
        /// Bytes per word.
        word_bytes: u64,
        /// Entries of a second table after the words, and their size.
        then: Option<(IntField, u64)>,
    },
    /// Machine code: `align_up(header + sum of size fields, align)`, the size fields read from
    /// the object itself or from the object its field `via` points to.
    Code {
        /// Bytes before the instructions.
        header: u64,
        /// A tagged field pointing to the object holding the size fields.
        via: Option<u64>,
        /// `i32` size fields to add up (instructions, metadata).
        sizes: Vec<u64>,
        /// Alignment of code objects.
        align: u64,
    },
}

/// A size rule with the name the supplement gives it (which doubles as a family name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRule {
    /// `fixed_array`, `scope_info`, ...
    pub name: String,
    /// The rule.
    pub rule: SizeRule,
}

/// The size rule of every variable-size instance type of one version.
#[derive(Debug, Clone, Default)]
pub struct SizeRules {
    /// Index into `rules` + 1 per instance type number; 0 = no rule.
    by_type: Vec<u16>,
    rules: Vec<NamedRule>,
}

/// Why an object's size could not be worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// A field could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The layout has no rule for this variable-size type.
    #[error("no size rule for variable-size instance type {instance_type}")]
    NoRule {
        /// The instance type.
        instance_type: u16,
    },
    /// A count or size field holds an impossible value.
    #[error("impossible {what} {value} in the object at {addr:#x}")]
    Invalid {
        /// The object.
        addr: u64,
        /// Which value.
        what: &'static str,
        /// The value.
        value: i64,
    },
}

impl SizeRules {
    /// The rule for instance type `t`.
    pub fn rule(&self, t: u16) -> Option<&NamedRule> {
        let i = *self.by_type.get(usize::from(t))?;
        self.rules.get(usize::from(i).checked_sub(1)?)
    }

    /// The instance types sized by the rule named `name`.
    pub fn types_of(&self, name: &str) -> Vec<u16> {
        self.by_type
            .iter()
            .enumerate()
            .filter(|&(_, &i)| {
                usize::from(i)
                    .checked_sub(1)
                    .and_then(|i| self.rules.get(i))
                    .is_some_and(|r| r.name == name)
            })
            .filter_map(|(t, _)| u16::try_from(t).ok())
            .collect()
    }

    fn set(&mut self, t: u16, rule: usize) -> Result<(), String> {
        let t = usize::from(t);
        if self.by_type.len() <= t {
            self.by_type.resize(t + 1, 0);
        }
        if self.by_type[t] != 0 {
            return Err(format!("instance type {t} has two size rules"));
        }
        self.by_type[t] = u16::try_from(rule + 1).map_err(|_| "too many size rules".to_string())?;
        Ok(())
    }

    /// Builds the rules from the supplement's `object_size` array. `types` is the instance type
    /// table, `facts` the values of the layout's facts (rules may name one instead of giving a
    /// number), `seq_strings` the sequential string types with their encoding (one byte?).
    pub(crate) fn parse(
        value: Option<&toml::Value>,
        types: &BTreeMap<String, u16>,
        facts: &BTreeMap<String, i64>,
        seq_strings: &[(u16, bool)],
    ) -> Result<SizeRules, Vec<String>> {
        let mut out = SizeRules::default();
        let mut errors = Vec::new();
        let Some(toml::Value::Array(items)) = value else {
            return Err(vec!["object_size (the [[object_size]] rules)".to_string()]);
        };
        for (i, item) in items.iter().enumerate() {
            let Some(table) = item.as_table() else {
                errors.push(format!("object_size[{i}] is not a table"));
                continue;
            };
            let p = Params {
                table,
                facts,
                name: table
                    .get("name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_string(),
            };
            match p.rule() {
                Ok(rule) => {
                    let index = out.rules.len();
                    out.rules.push(NamedRule {
                        name: p.name.clone(),
                        rule,
                    });
                    for name in p.strings("types").unwrap_or_default() {
                        match types.get(&name) {
                            Some(&t) => {
                                if let Err(e) = out.set(t, index) {
                                    errors.push(format!("object_size {}: {e}", p.name));
                                }
                            }
                            None => errors.push(format!(
                                "object_size {}: instance type {name} is not in the table",
                                p.name
                            )),
                        }
                    }
                }
                Err(e) => errors.push(format!("object_size {}: {e}", p.name)),
            }
        }
        for one_byte in [true, false] {
            let index = out.rules.len();
            out.rules.push(NamedRule {
                name: if one_byte {
                    "seq_one_byte_string".to_string()
                } else {
                    "seq_two_byte_string".to_string()
                },
                rule: SizeRule::SeqString { one_byte },
            });
            for &(t, ob) in seq_strings {
                if ob == one_byte {
                    if let Err(e) = out.set(t, index) {
                        errors.push(format!("sequential strings: {e}"));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// The parameters of one `[[object_size]]` entry.
struct Params<'a> {
    table: &'a toml::Table,
    facts: &'a BTreeMap<String, i64>,
    name: String,
}

impl Params<'_> {
    fn rule(&self) -> Result<SizeRule, String> {
        let kind = self
            .table
            .get("rule")
            .and_then(|v| v.as_str())
            .ok_or("no rule")?;
        Ok(match kind {
            "array" => SizeRule::Array {
                header: self.num("header")?,
                count: self.field("count")?,
                element: self.num("element")?,
                then: match self.table.get("then_count") {
                    Some(_) => Some((self.field("then_count")?, self.num("then_element")?)),
                    None => None,
                },
            },
            "fixed" => SizeRule::Fixed {
                size: self.num("size")?,
            },
            "scope_info" => SizeRule::ScopeInfo,
            "small_ordered_hash_table" => SizeRule::SmallOrderedHashTable {
                buckets_at: self.num("buckets_at")?,
                data_start: self.num("data_start")?,
                entry_words: self.num("entry_words")?,
                load_factor: self.num("load_factor")?,
            },
            "feedback_metadata" => SizeRule::FeedbackMetadata {
                header: self.num("header")?,
                slot_count: self.field("slot_count")?,
                slots_per_word: self.num("slots_per_word")?,
                word_bytes: self.num("word_bytes")?,
                then: match self.table.get("then_count") {
                    Some(_) => Some((self.field("then_count")?, self.num("then_element")?)),
                    None => None,
                },
            },
            "code" => SizeRule::Code {
                header: self.num("header")?,
                via: match self.table.get("via") {
                    Some(_) => Some(self.num("via")?),
                    None => None,
                },
                sizes: match self.table.get("sizes") {
                    Some(toml::Value::Array(a)) => a
                        .iter()
                        .map(|v| self.value("sizes", v))
                        .collect::<Result<_, _>>()?,
                    _ => return Err("sizes must be a list".into()),
                },
                align: self.num("align")?,
            },
            other => return Err(format!("unknown rule {other:?}")),
        })
    }

    /// A non-negative number: an integer, or the name of a layout fact.
    fn value(&self, key: &str, v: &toml::Value) -> Result<u64, String> {
        let n = match v {
            toml::Value::Integer(i) => *i,
            toml::Value::String(s) => *self
                .facts
                .get(s.as_str())
                .ok_or_else(|| format!("{key} names {s}, which is not a layout fact"))?,
            other => return Err(format!("{key} = {other:?} is not a number")),
        };
        u64::try_from(n).map_err(|_| format!("{key} = {n} is negative"))
    }

    fn num(&self, key: &str) -> Result<u64, String> {
        let v = self.table.get(key).ok_or_else(|| format!("no {key}"))?;
        self.value(key, v)
    }

    /// `{ at = OFFSET, kind = "smi", mask = M, shift = S }`.
    fn field(&self, key: &str) -> Result<IntField, String> {
        let t = self
            .table
            .get(key)
            .and_then(|v| v.as_table())
            .ok_or_else(|| format!("{key} must be a table {{ at, kind }}"))?;
        let at = t.get("at").ok_or_else(|| format!("{key} has no at"))?;
        let kind = match t.get("kind").and_then(|v| v.as_str()) {
            Some("smi") => IntKind::Smi,
            Some("i32") => IntKind::I32,
            Some("u32") => IntKind::U32,
            Some("u16") => IntKind::U16,
            Some("u8") => IntKind::U8,
            other => return Err(format!("{key} has kind {other:?}")),
        };
        let mask = match t.get("mask") {
            Some(v) => self.value(key, v)?,
            None => u64::MAX,
        };
        let shift = match t.get("shift") {
            Some(v) => u32::try_from(self.value(key, v)?).map_err(|e| e.to_string())?,
            None => 0,
        };
        Ok(IntField {
            at: self.value(key, at)?,
            kind,
            mask,
            shift,
        })
    }

    fn strings(&self, key: &str) -> Option<Vec<String>> {
        let a = self.table.get(key)?.as_array()?;
        Some(
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    }
}

/// The size in bytes of the object at untagged address `addr`, whose map is `map`.
pub fn object_size(
    layout: &Layout,
    space: &AddressSpace,
    addr: u64,
    map: &MapInfo,
) -> Result<u64, SizeError> {
    object_size_with(layout, &Reader::new(space), addr, map)
}

pub(crate) fn object_size_with(
    layout: &Layout,
    r: &Reader<'_>,
    addr: u64,
    map: &MapInfo,
) -> Result<u64, SizeError> {
    if let Some(size) = map.instance_size(layout) {
        return Ok(size);
    }
    let t = map.instance_type;
    let rule = layout
        .sizes
        .rule(t)
        .ok_or(SizeError::NoRule { instance_type: t })?;
    let s = Sizer { layout, r, addr };
    match &rule.rule {
        SizeRule::Array {
            header,
            count,
            element,
            then,
        } => {
            let first = s.align(s.mul_add(*header, s.int(count, "length")?, *element)?)?;
            match then {
                None => Ok(first),
                Some((count, element)) => {
                    let second = s.mul_add(0, s.int(count, "length")?, *element)?;
                    s.align(s.add(first, second)?)
                }
            }
        }
        SizeRule::Fixed { size } => Ok(*size),
        SizeRule::SeqString { one_byte } => {
            let st = &layout.string;
            let len = r.u32(addr.wrapping_add(st.length))?;
            let len = s.non_negative("string length", i64::from(len as i32))?;
            let per_char = if *one_byte { 1 } else { 2 };
            s.align(s.mul_add(st.seq_chars, len, per_char)?)
        }
        SizeRule::ScopeInfo => scope_info_size(&s),
        SizeRule::SmallOrderedHashTable {
            buckets_at,
            data_start,
            entry_words,
            load_factor,
        } => {
            let buckets = u64::from(r.u8(addr.wrapping_add(*buckets_at))?);
            let capacity = buckets * load_factor;
            let data = s.mul_add(0, capacity, entry_words * layout.tagging.tagged_size)?;
            // hash table: one byte per bucket; chain table: one byte per entry.
            s.align(s.add(s.add(*data_start, data)?, buckets + capacity)?)
        }
        SizeRule::FeedbackMetadata {
            header,
            slot_count,
            slots_per_word,
            word_bytes,
            then,
        } => {
            let n = s.int(slot_count, "slot count")?;
            let words = if n == 0 || *slots_per_word == 0 {
                0
            } else {
                (n - 1) / slots_per_word + 1
            };
            let mut size = s.mul_add(*header, words, *word_bytes)?;
            if let Some((count, element)) = then {
                size = s.mul_add(size, s.int(count, "count")?, *element)?;
            }
            s.align(size)
        }
        SizeRule::Code {
            header,
            via,
            sizes,
            align,
        } => {
            let holder = match via {
                None => addr,
                Some(field) => {
                    let word = r.u64(addr.wrapping_add(*field))?;
                    layout.tagging.strong(word).ok_or(SizeError::Invalid {
                        addr,
                        what: "code object pointer",
                        value: word as i64,
                    })?
                }
            };
            let mut total = *header;
            for &at in sizes {
                let v = r.u32(holder.wrapping_add(at))?;
                total = s.add(total, s.non_negative("code size", i64::from(v as i32))?)?;
            }
            let mask = align.checked_sub(1).ok_or(SizeError::Invalid {
                addr,
                what: "code alignment",
                value: 0,
            })?;
            Ok(s.add(total, mask)? & !mask)
        }
    }
}

/// Arithmetic on one object's fields, every overflow or negative value an error.
struct Sizer<'a, 'b> {
    layout: &'a Layout,
    r: &'a Reader<'b>,
    addr: u64,
}

impl Sizer<'_, '_> {
    fn invalid(&self, what: &'static str, value: i64) -> SizeError {
        SizeError::Invalid {
            addr: self.addr,
            what,
            value,
        }
    }

    fn non_negative(&self, what: &'static str, v: i64) -> Result<u64, SizeError> {
        u64::try_from(v).map_err(|_| self.invalid(what, v))
    }

    fn add(&self, a: u64, b: u64) -> Result<u64, SizeError> {
        a.checked_add(b)
            .ok_or_else(|| self.invalid("size", i64::MAX))
    }

    fn mul_add(&self, base: u64, n: u64, each: u64) -> Result<u64, SizeError> {
        n.checked_mul(each)
            .and_then(|x| x.checked_add(base))
            .ok_or_else(|| self.invalid("size", i64::MAX))
    }

    fn align(&self, n: u64) -> Result<u64, SizeError> {
        self.layout
            .tagging
            .align(n)
            .ok_or_else(|| self.invalid("size", i64::MAX))
    }

    /// The value of an integer field of the object.
    fn int(&self, f: &IntField, what: &'static str) -> Result<u64, SizeError> {
        let at = self.addr.wrapping_add(f.at);
        let raw: i64 = match f.kind {
            IntKind::Smi => {
                let w = self.r.u64(at)?;
                if !self.layout.tagging.is_smi(w) {
                    return Err(self.invalid(what, w as i64));
                }
                self.layout.tagging.smi_value(w)
            }
            IntKind::I32 => i64::from(self.r.u32(at)? as i32),
            IntKind::U32 => i64::from(self.r.u32(at)?),
            IntKind::U16 => i64::from(self.r.u16(at)?),
            IntKind::U8 => i64::from(self.r.u8(at)?),
        };
        let v = self.non_negative(what, raw)?;
        Ok((v & f.mask).checked_shr(f.shift).unwrap_or(0))
    }

    /// A Smi field of the object at byte offset `at`.
    fn smi(&self, at: u64, what: &'static str) -> Result<u64, SizeError> {
        self.int(
            &IntField {
                at,
                kind: IntKind::Smi,
                mask: u64::MAX,
                shift: 0,
            },
            what,
        )
    }
}

/// The size of a `ScopeInfo`: its fixed part, then each part of the tail its flags call for.
fn scope_info_size(s: &Sizer<'_, '_>) -> Result<u64, SizeError> {
    scope_info_walk(s, |_, _, _| {}).map(|(_, size)| size)
}

/// Where each part of a `ScopeInfo`'s tail is, as [`scope_info_parts`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInfoParts {
    /// The flags word.
    pub flags: u64,
    /// The scope type (from the flags).
    pub scope_type: u64,
    /// Number of context-allocated locals.
    pub context_local_count: u64,
    /// Every part present (with at least one word), in order: the part, its byte offset in
    /// the object, and its length in tagged words.
    pub parts: Vec<(ScopePart, u64, u64)>,
    /// Byte offset of the position info (start and end positions, two Smis), when the scope
    /// info has one: a fixed header field in some versions, a tail part in others.
    pub position_info: Option<u64>,
    /// The object's size in bytes.
    pub size: u64,
}

impl ScopeInfoParts {
    /// The byte offset and length in words of `part`, when present.
    pub fn part(&self, part: ScopePart) -> Option<(u64, u64)> {
        self.parts
            .iter()
            .find(|(p, _, _)| *p == part)
            .map(|&(_, at, words)| (at, words))
    }
}

/// Decodes the shape of the `ScopeInfo` at untagged address `addr`: its flags, scope type,
/// number of context locals, and where each part of its tail lies (the same arithmetic that
/// sizes it for the walk).
pub fn scope_info_parts(
    layout: &Layout,
    space: &AddressSpace,
    addr: u64,
) -> Result<ScopeInfoParts, SizeError> {
    let r = Reader::new(space);
    let s = Sizer {
        layout,
        r: &r,
        addr,
    };
    let mut parts = Vec::new();
    let (header, size) = scope_info_walk(&s, |part, at, words| {
        if words > 0 {
            parts.push((part, at, words));
        }
    })?;
    let position_info = match layout.scope_info.position_info {
        Some(at) => Some(at),
        None => parts
            .iter()
            .find(|(p, _, _)| *p == ScopePart::PositionInfo)
            .map(|&(_, at, _)| at),
    };
    Ok(ScopeInfoParts {
        flags: header.0,
        scope_type: header.1,
        context_local_count: header.2,
        parts,
        position_info,
        size,
    })
}

/// Walks the parts of a `ScopeInfo`'s tail, calling `visit(part, offset, words)` for each (also
/// for absent parts, with 0 words); returns (flags, scope type, context local count) and the
/// size.
fn scope_info_walk(
    s: &Sizer<'_, '_>,
    mut visit: impl FnMut(ScopePart, u64, u64),
) -> Result<((u64, u64, u64), u64), SizeError> {
    let si = &s.layout.scope_info;
    let word = s.layout.tagging.tagged_size;
    let flags = match si.flags_encoding {
        FlagsEncoding::Smi => s.smi(si.flags, "scope info flags")?,
        FlagsEncoding::U32 => u64::from(s.r.u32(s.addr.wrapping_add(si.flags))?),
    };
    let locals = s.smi(si.context_local_count, "context local count")?;
    let scope_type = si.scope_type.get(flags);
    let is_module = scope_type == si.module_scope;
    let has = |mask: u64| mask != 0 && flags & mask != 0;
    let mut offset = si.variable_part;
    let mut module_variables = 0u64;
    for part in &si.parts {
        let words = match part {
            ScopePart::ModuleVariableCount => {
                if is_module {
                    module_variables = s.smi(offset, "module variable count")?;
                    1
                } else {
                    0
                }
            }
            ScopePart::ContextLocalNames => {
                if locals < si.max_inlined_local_names {
                    locals
                } else {
                    1
                }
            }
            ScopePart::ContextLocalInfos => locals,
            ScopePart::SavedClassVariableInfo => u64::from(has(si.has_saved_class_variable)),
            ScopePart::FunctionVariableInfo => {
                if si.function_variable.get(flags) != 0 {
                    si.function_variable_words
                } else {
                    0
                }
            }
            ScopePart::InferredFunctionName => u64::from(has(si.has_inferred_function_name)),
            ScopePart::PositionInfo => {
                let class_with_info = scope_type == si.class_scope && !has(si.is_empty);
                if si.position_info_scopes.contains(&scope_type) || class_with_info {
                    si.position_info_words
                } else {
                    0
                }
            }
            ScopePart::OuterScopeInfo => u64::from(has(si.has_outer_scope_info)),
            ScopePart::LocalsBlockList => u64::from(has(si.has_locals_block_list)),
            ScopePart::ModuleInfo => u64::from(is_module),
            ScopePart::ModuleVariables => {
                if is_module {
                    module_variables
                        .checked_mul(si.module_variable_words)
                        .ok_or_else(|| s.invalid("module variable count", i64::MAX))?
                } else {
                    0
                }
            }
            ScopePart::DependentCode => u64::from(has(si.sloppy_eval_can_extend_vars)),
            ScopePart::UnusedParameterBits => u64::from(scope_type == si.function_scope),
        };
        visit(*part, offset, words);
        offset = s.mul_add(offset, words, word)?;
    }
    Ok(((flags, scope_type, locals), offset))
}
