//! V8's variable-length integers, as its source position tables keep them: seven bits of the
//! value a byte, least significant first, the high bit set on every byte but the last; signed
//! values zig-zag encoded (0, -1, 1, -2, ... as 0, 1, 2, 3, ...). A byte format, the same in every
//! V8 version: not a layout fact.

/// The bits of a byte that carry the value.
const PAYLOAD: u8 = 0x7f;
/// The bit of a byte that says another byte follows.
const MORE: u8 = 0x80;
/// Bits of the value one byte carries.
const PAYLOAD_BITS: u32 = 7;

/// Reads variable-length integers from a byte slice, one after the other.
pub(crate) struct Vlq<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Vlq<'b> {
    /// A reader from the first byte of `bytes`.
    pub(crate) fn new(bytes: &'b [u8]) -> Vlq<'b> {
        Vlq { bytes, at: 0 }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// A zig-zag signed integer.
    pub(crate) fn signed(&mut self) -> Option<i64> {
        let value = self.unsigned()?;
        Some(((value >> 1) as i64) ^ -((value & 1) as i64))
    }

    /// An unsigned integer; `None` when the bytes end inside it or it does not fit 64 bits.
    pub(crate) fn unsigned(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(b & PAYLOAD).checked_shl(shift)?;
            if b & MORE == 0 {
                break;
            }
            shift += PAYLOAD_BITS;
            if shift >= u64::BITS {
                return None;
            }
        }
        Some(value)
    }
}
