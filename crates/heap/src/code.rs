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
/// Bytes of a raw `SourcePosition` (a `uint64_t` bit field, in every V8 version).
const RAW_POSITION_BYTES: usize = 8;
/// Bytes of an `InliningPosition`'s function index (an `int`).
const FUNCTION_INDEX_BYTES: usize = 4;
/// Most functions inlined into one another at one point of optimized code (V8 stops inlining
/// far sooner).
const MAX_INLINING_DEPTH: usize = 64;

/// The JIT code a pc is in, found once per frame ([`HeapModel::jit_code`]) and handed to the
/// lookups that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitCode {
    /// The tier that compiled it.
    pub tier: CodeTier,
    /// The `Code` object.
    code: u64,
    /// The pc's offset from the first instruction.
    pc_offset: i64,
}

/// One function's position at a pc of optimized code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitPosition {
    /// The `SharedFunctionInfo` of a function inlined there; `None` for the code's own.
    pub shared: Option<u64>,
    /// The script offset executing in that function (in a caller, the call's).
    pub script_offset: u64,
}

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
    /// The JIT code at `pc` and the tier that compiled it: the `Code` object that holds the pc
    /// (V8 10) or owns the `InstructionStream` that does (from V8 11, which points back), and
    /// the kind in its flags. `None` when the pc is in no code object of the heap, or its kind
    /// is not a JIT tier.
    pub fn jit_code(&self, pc: u64) -> Option<JitCode> {
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
        let tier = if Some(kind) == frames.code_kind_baseline {
            CodeTier::Baseline
        } else if Some(kind) == frames.code_kind_maglev {
            CodeTier::Maglev
        } else if Some(kind) == frames.code_kind_turbofan {
            CodeTier::Turbofan
        } else {
            return None;
        };
        let start = holder.addr.checked_add(layout.code.instructions)?;
        Some(JitCode {
            tier,
            code,
            pc_offset: i64::try_from(pc.checked_sub(start)?).ok()?,
        })
    }

    /// Where a pc in optimized (Maglev or Turbofan) code is in the source: the position of the
    /// code's own function, preceded by one position per function inlined at that point,
    /// innermost first, as V8's stack traces list them. `return_address` says that `pc` is a
    /// caller's return address (the call is the instruction before it). From the code's
    /// source position table, whose positions carry an inlining id; the deoptimization data's
    /// inlining positions give each inlined function and the position it was inlined at.
    /// `None` when the pc is not in such code or its tables do not read.
    pub fn jit_positions(&self, at: &JitCode, return_address: bool) -> Option<Vec<JitPosition>> {
        let layout = self.layout();
        let sp = &layout.source_position;
        let offset = at.pc_offset - i64::from(return_address);
        let table = self
            .pointer(
                at.code,
                layout.code.source_position_table,
                "source position table",
            )
            .ok()?;
        let mut raw = lookup(self.byte_array(table)?, offset, sp)?;
        let mut positions = Vec::new();
        for _ in 0..MAX_INLINING_DEPTH {
            let script_offset = script_offset(raw, sp)?;
            let id = sp.inlining_id.get(raw);
            if id == 0 {
                positions.push(JitPosition {
                    shared: None,
                    script_offset,
                });
                return Some(positions);
            }
            let (shared, parent) =
                self.inlined_at(at.code, id.checked_sub(sp.inlining_id_bias)?)?;
            positions.push(JitPosition {
                shared: Some(shared),
                script_offset,
            });
            raw = parent;
        }
        None
    }

    /// Inlining `index` of the code at `code`: the inlined function's `SharedFunctionInfo`
    /// and the (raw) source position it was inlined at.
    fn inlined_at(&self, code: u64, index: u64) -> Option<(u64, u64)> {
        let layout = self.layout();
        let c = &layout.code;
        let deopt = self
            .pointer(code, c.deoptimization_data, "deoptimization data")
            .ok()?;
        let element = |i: u64| {
            let word = self.array_element(deopt, i).ok()?;
            layout.tagging.strong(word)
        };
        let positions = self.byte_array(element(c.inlining_positions_index)?)?;
        let entry = usize::try_from(index.checked_mul(c.inlining_position_size)?).ok()?;
        let bytes = |off: u64, len: usize| -> Option<&[u8]> {
            let at = entry.checked_add(usize::try_from(off).ok()?)?;
            positions.get(at..at.checked_add(len)?)
        };
        // The entry starts with the raw source position the function was inlined at.
        let parent = u64::from_le_bytes(bytes(0, RAW_POSITION_BYTES)?.try_into().ok()?);
        let function = bytes(c.inlining_position_function, FUNCTION_INDEX_BYTES)?;
        let function = i32::from_le_bytes(function.try_into().ok()?);
        let literals = element(c.literal_array_index)?;
        // The literal array is weak from V8 11: the shared info may be held weakly.
        let slot = self
            .array_element(literals, u64::try_from(function).ok()?)
            .ok()?;
        let shared = layout.tagging.untag(slot);
        let header = self.header(shared).ok()?;
        (header.instance_type == layout.types.shared_function_info).then_some((shared, parent))
    }

    /// The bytecode a pc in baseline (Sparkplug) code is compiling, as an offset into the
    /// function's `BytecodeArray` at `array`: baseline code records, bytecode after bytecode,
    /// how far each one's machine code reaches (its bytecode offset table), so the bytecodes
    /// are walked alongside, with the executable's table of their lengths. `None` without that
    /// table or when the pc is in no baseline code.
    pub fn baseline_bytecode_offset(&self, at: &JitCode, array: u64) -> Option<i64> {
        let layout = self.layout();
        let sizes = layout.bytecode_sizes.as_ref()?;
        let table = self
            .pointer(
                at.code,
                layout.code.source_position_table,
                "bytecode offset table",
            )
            .ok()?;
        let mut reader = Vlq::new(self.byte_array(table)?);
        let length = self
            .smi(array, layout.bytecode_array.length, "bytecode length")
            .ok()?;
        let bytecodes = self
            .heap()
            .memory()
            .bytes(
                array.checked_add(layout.bytecode_array.header_size)?,
                usize::try_from(length).ok()?,
            )
            .ok()?;
        // The table's first entry ends the prologue, which counts as the function's entry.
        let mut pc_end = i64::try_from(reader.unsigned()?).ok()?;
        let mut offset = layout.source_position.function_entry_offset;
        let mut next: u64 = 0;
        while pc_end < at.pc_offset {
            pc_end = pc_end.checked_add(i64::try_from(reader.unsigned()?).ok()?)?;
            offset = i64::try_from(next).ok()?;
            let rest = bytecodes.get(usize::try_from(next).ok()?..)?;
            next = next.checked_add(sizes.length_at(rest)?)?;
        }
        Some(offset)
    }

    /// The `BytecodeArray` of the JS function at `function`: its shared info's function data,
    /// or, once baseline code replaced it there, the bytecode that code was compiled from.
    pub fn function_bytecode_array(&self, function: u64) -> Option<u64> {
        let layout = self.layout();
        let sfi = self.function_shared(function).ok()?;
        let data = self
            .pointer(
                sfi,
                layout.shared_function_info.function_data,
                "function data",
            )
            .ok()?;
        let ty = self.header(data).ok()?.instance_type;
        if ty == layout.types.bytecode_array {
            return Some(data);
        }
        if layout.types.name(ty)? != "CODE_TYPE" {
            return None;
        }
        // Baseline code keeps its bytecode where optimized code keeps deoptimization data.
        let array = self
            .pointer(data, layout.code.deoptimization_data, "baseline bytecode")
            .ok()?;
        (self.header(array).ok()?.instance_type == layout.types.bytecode_array).then_some(array)
    }

    /// The bytes of a (trusted) byte array; `None` for anything else (undefined, an
    /// exception marker while positions are being collected) or an implausible length.
    fn byte_array(&self, array: u64) -> Option<&[u8]> {
        let layout = self.layout();
        let header = self.header(array).ok()?;
        if !layout
            .types
            .name(header.instance_type)?
            .ends_with("BYTE_ARRAY_TYPE")
        {
            return None;
        }
        let len = self.array_length(array).ok()?;
        if len > MAX_TABLE_BYTES {
            return None;
        }
        self.heap()
            .memory()
            .bytes(
                array.checked_add(layout.fixed_array.header_size)?,
                usize::try_from(len).ok()?,
            )
            .ok()
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
        let raw = lookup(self.byte_array(table)?, offset, &layout.source_position)?;
        script_offset(raw, &layout.source_position)
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
/// the function's entry and position 0) and finds the raw position for `code_offset`: that of
/// the last entry at or before it, skipping external positions (lines of files outside any
/// script, which V8's stack traces skip too).
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
        if u64::try_from(raw).is_ok_and(|r| r & sp.is_external == 0) {
            found = Some(raw);
        }
    }
    u64::try_from(found?).ok()
}

/// The script offset of a raw source position.
fn script_offset(raw: u64, sp: &SourcePositionLayout) -> Option<u64> {
    let stored = i64::try_from(sp.script_offset.get(raw)).ok()?;
    u64::try_from(stored.checked_sub(sp.script_offset_bias)?).ok()
}

#[cfg(test)]
mod tests {
    use coroner_v8::layout::{BitRange, SourcePositionLayout};

    use super::{lookup, script_offset};

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
        inlining_id: BitRange {
            mask: 0x7fff_8000_0000,
            shift: 31,
        },
        inlining_id_bias: 1,
    };

    /// The script offset found for `code_offset`.
    fn offset_at(table: &[u8], code_offset: i64) -> Option<u64> {
        script_offset(lookup(table, code_offset, &SIGNED)?, &SIGNED)
    }

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
        assert_eq!(offset_at(&table, 0), Some(10));
        assert_eq!(offset_at(&table, 4), Some(10));
        assert_eq!(offset_at(&table, 5), Some(25));
        assert_eq!(offset_at(&table, 100), Some(40));
        assert_eq!(offset_at(&table, -5), None);
        assert_eq!(
            offset_at(&[0x80], 0),
            None,
            "a truncated table is no answer"
        );
        let external = encode(&[(1, pos(10)), (1, 1)]);
        assert_eq!(
            offset_at(&external, 1),
            Some(10),
            "external positions are skipped"
        );
    }
}
