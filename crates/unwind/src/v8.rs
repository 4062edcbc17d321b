//! V8 frames: telling a frame's type from its marker slot, or a JavaScript frame from the
//! context and function in its slots, and reading a JavaScript frame's raw facts.
//!
//! Every offset comes from the layout (`Layout::frames`, the `BytecodeArray` header, the tag
//! constants); every object this reads is checked by its map's instance type first. It reads
//! no object beyond what classifying a frame needs (the function's and the bytecode array's
//! maps): naming functions and decoding values belong to the heap model above.

use coroner_corefile::AddressSpace;
use coroner_v8::{map::instance_type_of, Isolate, Layout};

use crate::frame::{BytecodePosition, JsFrameFacts, NativeSymbol, V8FrameType, MAX_ARGS};

/// Builtins whose frames are interpreted JavaScript frames: the interpreter's entry and
/// re-entry trampolines (V8's `Code::is_interpreter_trampoline_builtin` and
/// `is_baseline_trampoline_builtin`).
const INTERPRETER_BUILTINS: [&str; 6] = [
    "Builtins_InterpreterEntryTrampoline",
    "Builtins_InterpreterEntryTrampolineForProfiling",
    "Builtins_InterpreterEnterAtBytecode",
    "Builtins_InterpreterEnterAtNextBytecode",
    "Builtins_BaselineOrInterpreterEnterAtBytecode",
    "Builtins_BaselineOrInterpreterEnterAtNextBytecode",
];

/// The builtin that leaves baseline frames (V8's `is_baseline_leave_frame_builtin`).
const BASELINE_LEAVE_BUILTIN: &str = "Builtins_BaselineLeaveFrame";

/// The prefix of the executable's symbols for V8's embedded builtins.
pub(crate) const BUILTINS_PREFIX: &str = "Builtins_";

/// The largest frame type number a marker may hold (V8 has about 32 types).
const MAX_FRAME_TYPE: u64 = 255;

/// V8's layout and isolates, for classifying frames.
pub(crate) struct V8<'a> {
    pub layout: &'a Layout,
    pub isolates: Vec<Isolate>,
}

/// A frame's type and, for JavaScript frames, its facts.
pub(crate) struct Classified {
    pub frame_type: V8FrameType,
    pub js: Option<JsFrameFacts>,
}

impl V8<'_> {
    /// Classifies the V8 frame whose frame pointer is `fp`, running `code` (the builtin the pc
    /// is in, `None` for JIT code, or when `named` is false, for the executable's code that
    /// could not be named for want of its symbols).
    pub fn classify(
        &self,
        memory: &AddressSpace,
        fp: u64,
        code: Option<&NativeSymbol>,
        named: bool,
    ) -> Classified {
        let frames = &self.layout.frames;
        let unknown = Classified {
            frame_type: V8FrameType::Unknown,
            js: None,
        };
        let Ok(marker) = memory.read_u64(fp.wrapping_add_signed(frames.fp_context_or_frame_type))
        else {
            return unknown;
        };
        if let Some(n) = type_marker(marker) {
            let frame_type = match frames.frame_type_name(n as i64) {
                Some(name) => V8FrameType::from_metadata_name(name),
                None => V8FrameType::Other(format!("frame type {n}")),
            };
            return Classified {
                frame_type,
                js: None,
            };
        }
        let Some(js) = self.js_facts(memory, fp, marker) else {
            return unknown;
        };
        let builtin = code
            .and_then(|c| c.mangled.as_deref())
            .filter(|n| n.starts_with(BUILTINS_PREFIX));
        let has_bytecode = js.bytecode.is_some();
        let frame_type = match builtin {
            Some(name) if INTERPRETER_BUILTINS.contains(&name) => V8FrameType::Interpreted,
            Some(BASELINE_LEAVE_BUILTIN) => V8FrameType::Baseline,
            Some(_) => V8FrameType::Builtin,
            // Unnamed code of the executable is a builtin (JIT code never lies there), and of
            // the builtins only the interpreter keeps a Smi bytecode offset in its frame.
            None if !named && has_bytecode => V8FrameType::Interpreted,
            None if !named => V8FrameType::Builtin,
            None if has_bytecode => V8FrameType::Baseline,
            None => V8FrameType::Optimized,
        };
        let js = match frame_type {
            // Only interpreted frames keep the current bytecode offset; baseline frames keep
            // the feedback cell in that slot.
            V8FrameType::Interpreted => js,
            _ => JsFrameFacts {
                bytecode: None,
                ..js
            },
        };
        Classified {
            frame_type,
            js: Some(js),
        }
    }

    /// The facts of a JavaScript frame: `None` unless the function slot holds a `JSFunction`.
    fn js_facts(&self, memory: &AddressSpace, fp: u64, context: u64) -> Option<JsFrameFacts> {
        let layout = self.layout;
        let frames = &layout.frames;
        let tagging = &layout.tagging;
        let at = |off: i64| memory.read_u64(fp.wrapping_add_signed(off)).ok();
        tagging.strong(context)?;
        let function = tagging.strong(at(frames.fp_function)?)?;
        let ty = instance_type_of(layout, memory, function)?;
        if !layout.types.is_js_function(ty) {
            return None;
        }
        let argc = frames.fp_argc.and_then(at);
        let receiver = at(frames.fp_args);
        let word = tagging.tagged_size;
        let args = match argc {
            Some(n) if n >= 1 => (1..n.min(MAX_ARGS + 1))
                .map_while(|i| {
                    let off = i64::try_from(i.checked_mul(word)?).ok()?;
                    at(frames.fp_args.checked_add(off)?)
                })
                .collect(),
            _ => Vec::new(),
        };
        let bytecode_array = self.bytecode_array(memory, fp);
        let bytecode = bytecode_array.and_then(|array| self.bytecode_position(memory, fp, array));
        Some(JsFrameFacts {
            function,
            context,
            argc,
            receiver,
            args,
            bytecode,
            bytecode_array,
        })
    }

    /// The bytecode array of an unoptimized frame, when its slot holds a `BytecodeArray`.
    fn bytecode_array(&self, memory: &AddressSpace, fp: u64) -> Option<u64> {
        let layout = self.layout;
        let slot = fp.wrapping_add_signed(layout.frames.fp_bytecode_array);
        let array = layout.tagging.strong(memory.read_u64(slot).ok()?)?;
        (instance_type_of(layout, memory, array)? == layout.types.bytecode_array).then_some(array)
    }

    /// The bytecode offset of an interpreted frame whose bytecode array is `array`, when its
    /// slot holds a Smi.
    fn bytecode_position(
        &self,
        memory: &AddressSpace,
        fp: u64,
        array: u64,
    ) -> Option<BytecodePosition> {
        let layout = self.layout;
        let frames = &layout.frames;
        let tagging = &layout.tagging;
        let at = |off: i64| memory.read_u64(fp.wrapping_add_signed(off)).ok();
        let raw = tagging.smi(at(frames.fp_bytecode_offset)?)?;
        let header = i64::try_from(layout.bytecode_array.header_size).ok()?;
        let tag = i64::try_from(tagging.heap_object_tag).ok()?;
        Some(BytecodePosition {
            array,
            offset: raw.checked_sub(header)?.checked_add(tag)?,
        })
    }

    /// The pc of the exit frame at `fp` (the return address into its builtin, just below the
    /// stack pointer it saved), and that stack pointer.
    pub fn exit_frame_pc(&self, memory: &AddressSpace, fp: u64) -> Option<(u64, u64)> {
        let off = self.layout.frames.exit_sp?;
        let sp = memory.read_u64(fp.wrapping_add_signed(off)).ok()?;
        let pc = memory
            .read_u64(sp.checked_sub(self.layout.tagging.pointer_size)?)
            .ok()?;
        Some((pc, sp))
    }
}

/// The frame type number of a typed frame's marker (`type << 1`, an even small number), or
/// `None` for anything else (a context pointer marks a JavaScript frame).
fn type_marker(word: u64) -> Option<u64> {
    (word & 1 == 0 && word >> 1 <= MAX_FRAME_TYPE && word != 0).then_some(word >> 1)
}
