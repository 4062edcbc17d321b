//! Code: what a frame's code says about the frame. Which tier compiled the JIT code a pc is in
//! (from the kind in its `Code` object's flags), which source position the bytecode at an
//! offset of a `BytecodeArray` comes from (its source position table), and an interpreted
//! frame's register file (sized by its `BytecodeArray`).
//!
//! The unwinder finds frames and hands up raw facts (a pc, a bytecode array and offset, a frame
//! pointer); this module decodes the heap objects behind them, so that the analyses above never
//! read a V8 field themselves.

use coroner_v8::layout::SourcePositionLayout;

use crate::model::HeapModel;
use crate::vlq::Vlq;

/// Most bytes of a source position table decoded (real tables are a few KiB).
const MAX_TABLE_BYTES: u64 = 1 << 22;
/// Most interpreter registers read from one frame (real functions use tens, rarely hundreds).
const MAX_REGISTERS: u64 = 4096;

/// The compiler tier of JIT code, from its `Code` object's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeTier {
    /// Sparkplug, the baseline compiler.
    Baseline,
    /// Maglev, the mid-tier optimizing compiler.
    Maglev,
    /// Turbofan, the top-tier optimizing compiler.
    Turbofan,
}

impl HeapModel<'_> {
    /// Which tier compiled the JIT code at `pc`: from the kind in the flags of the `Code`
    /// object that holds (or, from V8 11, owns the `InstructionStream` that holds) the pc.
    /// `None` when the pc is in no code object of the heap, or its kind is not a JIT tier.
    pub fn code_tier(&self, pc: u64) -> Option<CodeTier> {
        let layout = self.layout();
        let frames = &layout.frames;
        let heap = self.heap();
        let page = heap.page_of(pc)?;
        let holder = heap
            .walk(page)
            .find(|o| o.addr <= pc && pc < o.addr.saturating_add(u64::from(o.size)))?;
        let code = match layout.types.name(holder.instance_type)? {
            "CODE_TYPE" => holder.addr,
            "INSTRUCTION_STREAM_TYPE" => self
                .pointer(holder.addr, frames.instruction_stream_code?, "code")
                .ok()?,
            _ => return None,
        };
        let flags = i64::from(self.u32_at(code, frames.code_flags?).ok()?);
        let kind = (flags >> frames.code_kind_shift?) & frames.code_kind_mask?;
        if Some(kind) == frames.code_kind_baseline {
            Some(CodeTier::Baseline)
        } else if Some(kind) == frames.code_kind_maglev {
            Some(CodeTier::Maglev)
        } else if Some(kind) == frames.code_kind_turbofan {
            Some(CodeTier::Turbofan)
        } else {
            None
        }
    }

    /// The script offset of the bytecode at `offset` of the `BytecodeArray` at `array`, from
    /// its source position table: the last entry whose code offset is at most `offset`.
    pub fn executing_position(&self, array: u64, offset: i64) -> Option<u64> {
        let layout = self.layout();
        let table = self
            .pointer(
                array,
                layout.bytecode_array.source_position_table,
                "source position table",
            )
            .ok()?;
        // The table is a (trusted) byte array; anything else (undefined, an exception marker
        // while positions are being collected) means there is none to read.
        let header = self.header(table).ok()?;
        if !layout
            .types
            .name(header.instance_type)?
            .ends_with("BYTE_ARRAY_TYPE")
        {
            return None;
        }
        let len = self.array_length(table).ok()?;
        if len > MAX_TABLE_BYTES {
            return None;
        }
        let bytes = self
            .heap()
            .memory()
            .bytes(
                table.checked_add(layout.fixed_array.header_size)?,
                usize::try_from(len).ok()?,
            )
            .ok()?;
        lookup(bytes, offset, &layout.source_position)
    }

    /// The interpreter's register file of an interpreted frame (r0, r1, ...: tagged words),
    /// read from below the frame's fixed part (at `fp`); its size is the frame size of the
    /// function's `BytecodeArray` at `array`. `None` when the layout lacks the offsets.
    pub fn interpreter_registers(&self, array: u64, fp: u64) -> Option<Vec<u64>> {
        let layout = self.layout();
        let frame_size = self
            .heap()
            .memory()
            .read_i32(array.checked_add(layout.bytecode_array.frame_size?)?)
            .ok()?;
        let count = u64::try_from(frame_size).ok()? / layout.tagging.pointer_size;
        if count > MAX_REGISTERS {
            return None;
        }
        let r0 = fp.checked_add_signed(layout.frames.register_file?)?;
        (0..count)
            .map(|i| {
                self.word(r0.checked_sub(i * layout.tagging.pointer_size)?)
                    .ok()
            })
            .collect()
    }
}

/// Decodes a source position table (entries of a code offset delta and a position delta, from
/// the function's entry and position 0) and finds the script offset for `code_offset`: that of
/// the last entry at or before it. `None` for an external position (no script offset).
fn lookup(bytes: &[u8], code_offset: i64, sp: &SourcePositionLayout) -> Option<u64> {
    let mut reader = Vlq::new(bytes);
    let mut code = sp.function_entry_offset;
    let mut raw: i64 = 0;
    let mut found: Option<i64> = None;
    while !reader.is_done() {
        let delta = match sp.code_delta_flag_bits {
            // (delta << bits) | flags, unsigned.
            Some(bits) => i64::try_from(reader.unsigned()?.checked_shr(bits)?).ok()?,
            None => {
                // A negative code delta marks an expression (not a statement) position:
                // -(d + 1).
                let delta = reader.signed()?;
                if delta < 0 {
                    -(delta + 1)
                } else {
                    delta
                }
            }
        };
        code = code.checked_add(delta)?;
        raw = raw.checked_add(reader.signed()?)?;
        if code > code_offset {
            break;
        }
        found = Some(raw);
    }
    let position = u64::try_from(found?).ok()?;
    if position & sp.is_external != 0 {
        return None;
    }
    let stored = i64::try_from(sp.script_offset.get(position)).ok()?;
    u64::try_from(stored.checked_sub(sp.script_offset_bias)?).ok()
}

#[cfg(test)]
mod tests {
    use coroner_v8::layout::{BitRange, SourcePositionLayout};

    use super::lookup;

    /// V8's encoding before V8 14 (signed code deltas), as the layouts of Node 18-24 give it.
    const SIGNED: SourcePositionLayout = SourcePositionLayout {
        is_external: 1,
        script_offset: BitRange {
            mask: 0x7fff_fffe,
            shift: 1,
        },
        script_offset_bias: 1,
        function_entry_offset: -1,
        code_delta_flag_bits: None,
    };

    /// Encodes (code delta, position delta) pairs as V8 does, for the decoder's own check.
    fn encode(pairs: &[(i64, i64)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(a, b) in pairs {
            for v in [a, b] {
                let mut z = ((v << 1) ^ (v >> 63)) as u64;
                loop {
                    let byte = (z & 0x7f) as u8;
                    z >>= 7;
                    if z == 0 {
                        out.push(byte);
                        break;
                    }
                    out.push(byte | 0x80);
                }
            }
        }
        out
    }

    #[test]
    fn finds_the_last_entry_at_or_before_the_offset() {
        // Positions 10, 25 (expression), 40 at code offsets 0, 5, 12 (stored +1, shifted by 1).
        let pos = |p: i64| (p + 1) << 1;
        let table = encode(&[
            (1, pos(10)),
            (-6, pos(25) - pos(10)),
            (7, pos(40) - pos(25)),
        ]);
        assert_eq!(lookup(&table, 0, &SIGNED), Some(10));
        assert_eq!(lookup(&table, 4, &SIGNED), Some(10));
        assert_eq!(lookup(&table, 5, &SIGNED), Some(25));
        assert_eq!(lookup(&table, 100, &SIGNED), Some(40));
        assert_eq!(lookup(&table, -5, &SIGNED), None);
        assert_eq!(
            lookup(&[0x80], 0, &SIGNED),
            None,
            "a truncated table is no answer"
        );
        let external = encode(&[(1, pos(10) | 1)]);
        assert_eq!(lookup(&external, 0, &SIGNED), None, "no script offset");
    }
}
