//! The references an object holds, read fast: what an index of the whole heap's references
//! (the analyses' reverse index) needs from every object, without naming them. Naming an edge
//! (`Walrus.label`, `[17]`) is [`HeapModel::edges`]'s job, done again only for the few
//! references a query shows.
//!
//! An object's reference slots are the ranges its [`SlotRule`] gives (no map word, no raw
//! data); each word there that is a strong or weak pointer is a reference.

use coroner_v8::{Reader, Tagged};

use crate::edges::SlotRule;
use crate::model::HeapModel;

impl HeapModel<'_> {
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
        let tagging = &self.layout().tagging;
        let word = tagging.tagged_size;
        for (start, end) in rule.ranges(size) {
            let mut off = start;
            // Bounded by the object's size.
            while off.saturating_add(word) <= end {
                let Ok(w) = reader.u64(addr.wrapping_add(off)) else {
                    break;
                };
                let (target, weak) = match tagging.decode(w) {
                    Tagged::Strong(a) => (a, false),
                    Tagged::Weak(a) => (a, true),
                    Tagged::Smi(_) | Tagged::Cleared => {
                        off += word;
                        continue;
                    }
                };
                f(target, weak || rule.is_weak(off));
                off += word;
            }
        }
    }
}
