//! Which words of an object are references ([`SlotRule`], by instance type), and the one scan
//! that reads them ([`HeapModel::for_each_reference`]): the analyses' reverse index reads every
//! object's references through it, fast and unnamed, and [`HeapModel::edges`] reads an object's
//! references through it before naming them.
//!
//! Every tagged word of an object's body (after its map word) may hold a reference, except in
//! objects that keep raw data: sequential and external strings (characters), heap numbers,
//! BigInts, byte arrays, double arrays, feedback metadata and free space hold none; arrays of
//! bytes (byte and bytecode arrays, objects whose size rule counts one-byte elements) and
//! machine code (objects sized by a `code` rule) only in their header, before the bytes or
//! instructions; cons, sliced and thin strings only in their part pointers. A word is a
//! reference when it is a strong or weak pointer (by its tag); the map word is not counted
//! (every object holds its map). Some strong-tagged fields are weak to the garbage collector:
//! the entries of an `EphemeronHashTable` (WeakMap and WeakSet tables), a `JSWeakRef`'s target,
//! a `WeakCell`'s target and unregister token, a V8 10 native context's code lists
//! ([`SlotRule::is_weak`]).

use coroner_v8::size::SizeRule;
use coroner_v8::types::StringRepresentation;
use coroner_v8::{ReadError, Reader, Tagged};

use crate::model::HeapModel;

/// Byte offsets `[start, end)` of an object (`end` is capped at the object's size).
type Range = (u64, u64);

/// Which words of an object may hold references, by instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRule {
    ranges: [Range; 2],
    weak: [Range; 2],
}

/// No byte at all.
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

impl HeapModel<'_> {
    /// Which words of an object of instance type `t` may hold references (see the module
    /// documentation). Depends only on the type: callers may compute it once per map.
    pub fn slot_rule(&self, t: u16) -> SlotRule {
        self.cached_slot_rule(t)
            .unwrap_or_else(|| self.compute_slot_rule(t))
    }

    /// [`HeapModel::slot_rule`], worked out from the layout.
    pub(crate) fn compute_slot_rule(&self, t: u16) -> SlotRule {
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
        if named("NATIVE_CONTEXT_TYPE") {
            if let Some(slot) = layout.context.native_context_first_weak_slot {
                let from = layout
                    .fixed_array
                    .header_size
                    .saturating_add(slot.saturating_mul(word));
                return SlotRule {
                    ranges: [all, NONE],
                    weak: [(from, u64::MAX), NONE],
                };
            }
        }
        if named("WEAK_CELL_TYPE") {
            return SlotRule {
                ranges: [all, NONE],
                weak: [one(w.weak_cell_target), one(w.weak_cell_unregister_token)],
            };
        }
        rule([all, NONE])
    }

    /// The slot rule of the objects of the map at `map`: empty for free space and fillers, and
    /// for maps that cannot be read.
    pub fn map_slot_rule(&self, map: u64) -> SlotRule {
        match self.map_info(map) {
            Ok(info) if !self.layout().types.is_free(info.instance_type) => {
                self.slot_rule(info.instance_type)
            }
            _ => SlotRule::EMPTY,
        }
    }

    /// Calls `f(target, weak)` for every reference slot of the object at `addr` (of `size`
    /// bytes, its slots described by `rule`) that holds a heap pointer: `target` is the
    /// untagged address it points to, `weak` whether the slot is weak (a weak pointer, or a
    /// slot the rule says is weak). `reader` is the reader of the object's page
    /// ([`HeapModel::page_reader`]); a word it cannot read ends that range of slots.
    #[inline]
    pub fn for_each_reference(
        &self,
        reader: &Reader<'_>,
        addr: u64,
        size: u64,
        rule: &SlotRule,
        mut f: impl FnMut(u64, bool),
    ) {
        // An unreadable word ends its range; the references read are the object's all the same.
        let _ = self.scan_slots(reader, addr, size, rule, |_, target, weak| f(target, weak));
    }

    /// The slot scan: calls `f(offset, target, weak)` for every reference slot of the object at
    /// `addr` (as [`HeapModel::for_each_reference`] does, with the slot's byte offset in the
    /// object). A word `reader` cannot read ends its range of slots; the first such failure is
    /// returned once every range has been read.
    #[inline]
    pub(crate) fn scan_slots(
        &self,
        reader: &Reader<'_>,
        addr: u64,
        size: u64,
        rule: &SlotRule,
        mut f: impl FnMut(u64, u64, bool),
    ) -> Result<(), ReadError> {
        let tagging = &self.layout().tagging;
        let word = tagging.tagged_size;
        let mut unread = None;
        for (start, end) in rule.ranges(size) {
            let mut off = start;
            // Bounded by the object's size.
            while off.saturating_add(word) <= end {
                let w = match reader.u64(addr.wrapping_add(off)) {
                    Ok(w) => w,
                    Err(e) => {
                        unread.get_or_insert(e);
                        break;
                    }
                };
                match tagging.decode(w) {
                    Tagged::Strong(target) => f(off, target, rule.is_weak(off)),
                    Tagged::Weak(target) => f(off, target, true),
                    Tagged::Smi(_) | Tagged::Cleared => {}
                }
                off += word;
            }
        }
        unread.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
