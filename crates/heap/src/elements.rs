//! Elements (indexed properties) of JS objects and arrays, for every elements kind: packed and
//! holey Smi and object kinds (and their non-extensible, sealed and frozen variants) in a
//! `FixedArray` whose holes are the hole; double kinds in a `FixedDoubleArray` whose holes are
//! the hole NaN; dictionary elements in a `NumberDictionary` (sorted by index). Kinds are told
//! apart by V8's names for them (`PACKED_SMI_ELEMENTS`), their numbers come from the layout.

use crate::error::DecodeError;
use crate::model::{Class, HeapModel};

/// One element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ElementValue {
    /// A tagged value.
    Tagged(u64),
    /// An unboxed double (double elements kinds).
    Double(f64),
    /// A hole of a holey array.
    Hole,
}

/// Elements read from an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Elements {
    /// V8's name of the elements kind (`HOLEY_SMI_ELEMENTS`).
    pub kind: String,
    /// (index, value), by index.
    pub items: Vec<(u64, ElementValue)>,
    /// Whether `items` stops before the last element (a limit).
    pub truncated: bool,
}

impl HeapModel<'_> {
    /// The elements of the JS object at `addr`: at most `limit` of them. For arrays, indices
    /// run up to the array's length and holes are listed; for other objects holes are not
    /// elements and are skipped.
    pub fn elements(&self, addr: u64, limit: u64) -> Result<Elements, DecodeError> {
        let layout = self.layout();
        let h = self.header(addr)?;
        let class = self.class_of(h.instance_type);
        if !class.is_receiver() {
            return Err(DecodeError::WrongType {
                addr,
                expected: "JS object",
                found: self.type_name(h.instance_type),
            });
        }
        let info = self.map_info(h.map)?;
        let kind_number = info.elements_kind(layout);
        let kind = layout
            .elements_kinds
            .name(kind_number)
            .unwrap_or("unknown elements kind")
            .to_string();
        let is_array = class == Class::Array;
        let array_length = if is_array {
            Some(self.array_length_value(addr)?)
        } else {
            None
        };
        let backing = self.field(addr, layout.js_object.elements)?;
        let store = layout.tagging.strong(backing).ok_or(DecodeError::Invalid {
            addr,
            what: "elements",
            value: backing,
        })?;
        let mut out = Elements {
            kind: kind.clone(),
            items: Vec::new(),
            truncated: false,
        };
        if kind == "DICTIONARY_ELEMENTS" {
            self.dictionary_elements(store, limit, &mut out)?;
            return Ok(out);
        }
        let fast_tagged = [
            "PACKED_SMI_ELEMENTS",
            "HOLEY_SMI_ELEMENTS",
            "PACKED_ELEMENTS",
            "HOLEY_ELEMENTS",
            "PACKED_NONEXTENSIBLE_ELEMENTS",
            "HOLEY_NONEXTENSIBLE_ELEMENTS",
            "PACKED_SEALED_ELEMENTS",
            "HOLEY_SEALED_ELEMENTS",
            "PACKED_FROZEN_ELEMENTS",
            "HOLEY_FROZEN_ELEMENTS",
            "SHARED_ARRAY_ELEMENTS",
        ];
        let double = kind == "PACKED_DOUBLE_ELEMENTS" || kind == "HOLEY_DOUBLE_ELEMENTS";
        if !double && !fast_tagged.contains(&kind.as_str()) {
            // Typed arrays, arguments and string wrappers keep their indexed contents elsewhere.
            return Ok(out);
        }
        let capacity = self.array_length(store)?;
        let count = array_length.map_or(capacity, |l| l.min(capacity));
        for i in 0..count {
            if out.items.len() as u64 >= limit {
                out.truncated = true;
                break;
            }
            let value = if double {
                let raw = self.array_element(store, i)?;
                if raw == layout.fixed_array.double_hole {
                    ElementValue::Hole
                } else {
                    ElementValue::Double(f64::from_bits(raw))
                }
            } else {
                let w = self.array_element(store, i)?;
                if self.is_hole(w) {
                    ElementValue::Hole
                } else {
                    ElementValue::Tagged(w)
                }
            };
            if value == ElementValue::Hole && !is_array {
                continue;
            }
            out.items.push((i, value));
        }
        // An array longer than its backing store ends in holes.
        if let Some(len) = array_length {
            if len > count && !out.truncated {
                out.truncated = true;
            }
        }
        Ok(out)
    }

    /// The `length` of the JS array at `addr` (a Smi or a HeapNumber).
    pub(crate) fn array_length_value(&self, addr: u64) -> Result<u64, DecodeError> {
        let layout = self.layout();
        let w = self.field(addr, layout.js_array.length)?;
        if let Some(n) = layout.tagging.smi(w) {
            return u64::try_from(n).map_err(|_| DecodeError::Invalid {
                addr,
                what: "array length",
                value: w,
            });
        }
        match self.class_of_word(w) {
            Some((h, Class::HeapNumber)) => {
                let n = self.f64_at(h.addr, layout.heap_number.value)?;
                if n >= 0.0 && n <= u32::MAX as f64 && n.fract() == 0.0 {
                    Ok(n as u64)
                } else {
                    Err(DecodeError::Invalid {
                        addr,
                        what: "array length",
                        value: n.to_bits(),
                    })
                }
            }
            _ => Err(DecodeError::Invalid {
                addr,
                what: "array length",
                value: w,
            }),
        }
    }

    /// The entries of a `NumberDictionary` of elements, by index.
    fn dictionary_elements(
        &self,
        dict: u64,
        limit: u64,
        out: &mut Elements,
    ) -> Result<(), DecodeError> {
        let layout = self.layout();
        let ht = &layout.hash_table;
        let h = self.header(dict)?;
        if h.instance_type != layout.types.number_dictionary {
            return Err(DecodeError::WrongType {
                addr: dict,
                expected: "NumberDictionary",
                found: self.type_name(h.instance_type),
            });
        }
        let entry = ht.number_dictionary_entry_size;
        let (start, capacity) =
            self.hash_table_shape(dict, ht.number_dictionary_prefix_size, entry)?;
        let mut items = Vec::new();
        for i in 0..capacity {
            let at = start + i * entry;
            let key = self.array_element(dict, at + ht.entry_key_index)?;
            let index = if let Some(n) = layout.tagging.smi(key) {
                u64::try_from(n).ok()
            } else {
                match self.class_of_word(key) {
                    Some((kh, Class::HeapNumber)) => {
                        let n = self.f64_at(kh.addr, layout.heap_number.value)?;
                        (n >= 0.0 && n.fract() == 0.0).then_some(n as u64)
                    }
                    _ => None,
                }
            };
            let Some(index) = index else { continue };
            items.push((
                index,
                ElementValue::Tagged(self.array_element(dict, at + ht.dictionary_value_index)?),
            ));
        }
        items.sort_by_key(|(i, _)| *i);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if items.len() > limit {
            items.truncate(limit);
            out.truncated = true;
        }
        out.items = items;
        Ok(())
    }

    /// The value of the BigInt at `addr`, in decimal (`-` for negative numbers). At most
    /// `max_digits` 64-bit digits are converted.
    pub fn bigint_decimal(&self, addr: u64, max_digits: u64) -> Result<String, DecodeError> {
        let layout = self.layout();
        let b = &layout.big_int;
        let bits = u64::from(self.u32_at(addr, b.bitfield)?);
        let n = b.length.get(bits);
        if n > max_digits {
            return Err(DecodeError::Invalid {
                addr,
                what: "BigInt length",
                value: n,
            });
        }
        let mut digits = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for i in 0..n {
            digits.push(self.field(addr, b.digits + i * layout.tagging.tagged_size)?);
        }
        let mut text = to_decimal(digits);
        if bits & b.sign != 0 && text != "0" {
            text.insert(0, '-');
        }
        Ok(text)
    }
}

/// A little-endian sequence of 64-bit digits in decimal.
fn to_decimal(mut digits: Vec<u64>) -> String {
    const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19
    let mut parts: Vec<u64> = Vec::new();
    while digits.iter().any(|&d| d != 0) {
        let mut rem: u128 = 0;
        for d in digits.iter_mut().rev() {
            let cur = (rem << u64::BITS) | u128::from(*d);
            *d = (cur / u128::from(CHUNK)) as u64;
            rem = cur % u128::from(CHUNK);
        }
        parts.push(rem as u64);
        while digits.last() == Some(&0) {
            digits.pop();
        }
    }
    match parts.split_last() {
        None => "0".to_string(),
        Some((first, rest)) => {
            let mut s = first.to_string();
            for p in rest.iter().rev() {
                s.push_str(&format!("{p:019}"));
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_decimal;

    #[test]
    fn bigint_digits_in_decimal() {
        assert_eq!(to_decimal(vec![]), "0");
        assert_eq!(to_decimal(vec![7]), "7");
        assert_eq!(
            to_decimal(vec![12_345_678_901_234_567_890]),
            "12345678901234567890"
        );
        // 2**70 = 1180591620717411303424
        assert_eq!(to_decimal(vec![0, 64]), "1180591620717411303424");
    }
}
