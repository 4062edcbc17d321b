//! Tagged values: what a heap word holds (a Smi, a strong heap pointer, a weak reference, or a
//! cleared weak reference), decoded with the layout's tag constants.
//!
//! coroner works with *untagged* object addresses (the object's first byte, where its map word
//! is); [`Tagging::tag`] gives back the pointer value V8 stores in fields.

use crate::layout::Tagging;

/// A decoded tagged word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tagged {
    /// A small integer.
    Smi(i64),
    /// A strong reference to the object at this untagged address.
    Strong(u64),
    /// A weak reference to the object at this untagged address.
    Weak(u64),
    /// A weak reference whose object was collected.
    Cleared,
}

impl Tagging {
    /// Decodes `word`.
    #[inline]
    pub fn decode(&self, word: u64) -> Tagged {
        if word & self.smi_tag_mask == self.smi_tag {
            return Tagged::Smi(self.smi_value(word));
        }
        let low = word & self.heap_object_tag_mask;
        if low == self.heap_object_tag {
            Tagged::Strong(word & !self.heap_object_tag_mask)
        } else if low == self.weak_tag {
            if word & u64::from(u32::MAX) == self.cleared_weak {
                Tagged::Cleared
            } else {
                Tagged::Weak(word & !self.heap_object_tag_mask)
            }
        } else {
            // With a one-bit Smi tag and a two-bit heap object tag every word is one of the
            // above; a layout with other tags would land here, and nothing here is a pointer.
            Tagged::Smi(self.smi_value(word))
        }
    }

    /// Whether `word` is a Smi.
    #[inline]
    pub fn is_smi(&self, word: u64) -> bool {
        word & self.smi_tag_mask == self.smi_tag
    }

    /// The value of `word` read as a Smi (whatever its tag).
    #[inline]
    pub fn smi_value(&self, word: u64) -> i64 {
        // An arithmetic shift: negative Smis keep their sign.
        (word as i64).checked_shr(self.smi_shift).unwrap_or(0)
    }

    /// The Smi's value when `word` is a Smi.
    #[inline]
    pub fn smi(&self, word: u64) -> Option<i64> {
        self.is_smi(word).then(|| self.smi_value(word))
    }

    /// The untagged address when `word` is a strong heap pointer.
    #[inline]
    pub fn strong(&self, word: u64) -> Option<u64> {
        (word & self.heap_object_tag_mask == self.heap_object_tag)
            .then_some(word & !self.heap_object_tag_mask)
    }

    /// The address an address-like word names: a heap pointer's (strong or weak) without its
    /// tag, any other word as it is. This is how coroner reads an address a person typed or
    /// a tool printed: either V8's tagged form (`0x…1`, or `0x…3` for a weak slot's value) or
    /// the object's own untagged address.
    #[inline]
    pub fn untag(&self, word: u64) -> u64 {
        let low = word & self.heap_object_tag_mask;
        if low == self.heap_object_tag || low == self.weak_tag {
            word & !self.heap_object_tag_mask
        } else {
            word
        }
    }

    /// The tagged (strong) pointer value of the object at untagged address `addr`.
    #[inline]
    pub fn tag(&self, addr: u64) -> u64 {
        addr | self.heap_object_tag
    }

    /// Rounds `n` up to a whole number of tagged words.
    #[inline]
    pub fn align(&self, n: u64) -> Option<u64> {
        let mask = self.tagged_size.checked_sub(1)?;
        Some(n.checked_add(mask)? & !mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tagging of the official x64 builds (their v8dbg_* values).
    const X64: Tagging = Tagging {
        tagged_size: 8,
        pointer_size: 8,
        smi_shift: 32,
        smi_tag_mask: 1,
        smi_tag: 0,
        heap_object_tag_mask: 3,
        heap_object_tag: 1,
        weak_tag: 3,
        cleared_weak: 3,
    };

    #[test]
    fn decodes_each_kind_of_word() {
        assert_eq!(X64.decode(42 << 32), Tagged::Smi(42));
        assert_eq!(X64.decode((-7i64 << 32) as u64), Tagged::Smi(-7));
        assert_eq!(X64.decode(0x1000_0001), Tagged::Strong(0x1000_0000));
        assert_eq!(X64.decode(0x1000_0003), Tagged::Weak(0x1000_0000));
        assert_eq!(X64.decode(3), Tagged::Cleared);
        assert_eq!(X64.tag(0x1000_0000), 0x1000_0001);
        assert_eq!(X64.strong(0x1000_0003), None);
        assert_eq!(X64.smi(0x1000_0001), None);
        assert_eq!(X64.align(13), Some(16));
        assert_eq!(X64.untag(0x1000_0001), 0x1000_0000);
        assert_eq!(X64.untag(0x1000_0003), 0x1000_0000);
        assert_eq!(X64.untag(0x1000_0000), 0x1000_0000);
    }
}
