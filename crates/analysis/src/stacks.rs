//! Stacks: every thread's frames from the unwinder, with JavaScript frames named from the heap
//! model: function, script, and the line and column that was executing.
//!
//! For an interpreted frame the executing position comes from the bytecode offset the frame
//! saved, looked up in the function's source position table (V8's own `SourcePositionTable`
//! encoding: pairs of zig-zag VLQ deltas, code offset then source position). Optimized frames
//! keep no bytecode offset; they get the function's start position, and say so.

use coroner_heap::{HeapModel, LineColumn};
use coroner_unwind::{Backtrace, Frame, FrameKind, JsFrameFacts, Unwinder};
use serde::Serialize;

/// Most bytes of a source position table decoded (real tables are a few KiB).
const MAX_TABLE_BYTES: u64 = 1 << 22;
/// Most arguments of a frame rendered in short form.
const MAX_SHOWN_ARGS: usize = 16;

/// Where a JS frame's line and column come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    /// The position of the bytecode that was executing (or, in a caller, the call).
    Executing,
    /// The function's start: no bytecode offset to look up (optimized code), or no table.
    FunctionStart,
}

/// One frame of a named stack.
#[derive(Debug, Clone, Serialize)]
pub struct NamedFrame {
    /// `js`, `native` or `v8`.
    pub kind: &'static str,
    /// The program counter.
    #[serde(serialize_with = "hex")]
    pub pc: u64,
    /// The frame pointer, when the frame has one.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_hex")]
    pub fp: Option<u64>,
    /// Function name: `node::Start(int, char**)`, `inner`, `(anonymous)`; for V8's own frames
    /// the builtin they run, or the frame type.
    pub function: String,
    /// Offset of the pc in a native function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The module of a native frame (`node`, `libc.so.6`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// V8's frame type (`interpreted`, `builtin exit`, `entry`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_type: Option<String>,
    /// The script of a JS frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Column (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Where line and column come from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<PositionSource>,
    /// The character offset in the script that line and column are computed from (what is
    /// left when the script's source is not readable: node's own modules keep theirs in the
    /// executable's read-only data, which kernel cores leave out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_position: Option<u64>,
    /// The address whose bytes were missing when the source was read for the line.
    #[serde(skip)]
    pub source_unreadable: Option<u64>,
    /// `this`, in short form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub this: Option<String>,
    /// The arguments, in short form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Vec<String>>,
    /// The JSFunction (JS frames).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_hex")]
    pub closure: Option<u64>,
    /// The script of a JS frame (for `source list`).
    #[serde(skip)]
    pub script: Option<u64>,
    /// How the unwinder found the frame (`context`, `cfi`, `v8 frame`, `frame pointer`, ...).
    pub found_by: String,
}

/// A thread's named stack.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadStack {
    /// Thread id.
    pub tid: u32,
    /// The crashing (or, in a gcore core, first) thread.
    pub current: bool,
    /// Frames, innermost first.
    pub frames: Vec<NamedFrame>,
    /// Why the walk ended.
    pub end: String,
    /// The unwinder's raw frames, for frame-level detail.
    #[serde(skip)]
    pub raw: Backtrace,
}

fn hex<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

fn opt_hex<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => hex(v, s),
        None => s.serialize_none(),
    }
}

/// Unwinds every thread and names its frames.
pub fn stacks(model: &HeapModel<'_>, unwinder: &Unwinder<'_>) -> Vec<ThreadStack> {
    unwinder
        .backtraces()
        .into_iter()
        .map(|bt| ThreadStack {
            tid: bt.tid,
            current: bt.current,
            frames: bt.frames.iter().map(|f| name_frame(model, f)).collect(),
            end: bt.end.to_string(),
            raw: bt,
        })
        .collect()
}

fn base(kind: &'static str, f: &Frame, function: String) -> NamedFrame {
    NamedFrame {
        kind,
        pc: f.pc,
        fp: f.fp,
        function,
        offset: None,
        module: None,
        frame_type: None,
        file: None,
        line: None,
        column: None,
        position: None,
        source_position: None,
        source_unreadable: None,
        this: None,
        arguments: None,
        closure: None,
        script: None,
        found_by: f.trust.to_string(),
    }
}

/// Names one frame.
pub fn name_frame(model: &HeapModel<'_>, f: &Frame) -> NamedFrame {
    match &f.kind {
        FrameKind::Native(sym) => {
            let mut n = base(
                "native",
                f,
                sym.symbol.clone().unwrap_or_else(|| "??".to_string()),
            );
            n.offset = sym.symbol.as_ref().map(|_| sym.offset);
            n.module = sym.module.clone();
            n
        }
        FrameKind::V8 {
            frame_type,
            js: Some(js),
            code,
        } => {
            let mut n = name_js(model, f, js);
            // JIT code (no builtin symbol): its Code object says which tier compiled it.
            let tier = code.is_none().then(|| jit_tier(model, f.pc)).flatten();
            n.frame_type = Some(tier.map_or_else(|| frame_type.to_string(), str::to_string));
            n
        }
        FrameKind::V8 {
            frame_type, code, ..
        } => {
            let function = code
                .as_ref()
                .and_then(|c| c.symbol.clone())
                .unwrap_or_else(|| format!("<{frame_type} frame>"));
            let mut n = base("v8", f, function);
            n.frame_type = Some(frame_type.to_string());
            n
        }
        FrameKind::Unknown => base("native", f, "??".to_string()),
    }
}

fn name_js(model: &HeapModel<'_>, f: &Frame, js: &JsFrameFacts) -> NamedFrame {
    let name = model
        .function_name(js.function)
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| own_name_property(model, js.function))
        .unwrap_or_else(|| "(anonymous)".to_string());
    let mut n = base("js", f, name);
    n.closure = Some(js.function);
    if let Some(info) = shared_of(model, js.function).and_then(|sfi| model.shared_info(sfi).ok()) {
        if let Some(script) = info.script {
            n.script = Some(script);
            n.file = model.script_name(script);
            let executing = js
                .bytecode
                .and_then(|b| executing_position(model, b.array, b.offset));
            let (pos, source) = match executing {
                Some(p) => (Some(p), PositionSource::Executing),
                None => (
                    info.positions.map(|(start, _)| start),
                    PositionSource::FunctionStart,
                ),
            };
            n.source_position = pos;
            match pos.map(|p| model.script_position(script, p)) {
                Some(Ok(LineColumn { line, column })) => {
                    n.line = Some(line);
                    n.column = Some(column);
                    n.position = Some(source);
                }
                Some(Err(e)) => n.source_unreadable = Some(e.addr()),
                None => {}
            }
        }
    }
    n.this = js.receiver.map(|r| model.short(r));
    n.arguments = Some(
        js.args
            .iter()
            .take(MAX_SHOWN_ARGS)
            .map(|&a| model.short(a))
            .collect(),
    );
    n
}

/// A function's own `name` data property when it is a string: where V8 keeps the names it sets
/// at run time (methods with computed or symbol keys), which it prefers for stack traces.
fn own_name_property(model: &HeapModel<'_>, function: u64) -> Option<String> {
    let options = coroner_heap::InspectOptions {
        depth: 1,
        full_strings: true,
        ..Default::default()
    };
    let value = model.inspect(function, &options).ok()?;
    // An accessor's value is no string.
    value
        .property("name")
        .and_then(coroner_heap::Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// Which tier compiled the JIT code at `pc`: `baseline`, `maglev` or `turbofan`, from the kind
/// in the flags of the `Code` object that holds (or, from V8 11, owns the `InstructionStream`
/// that holds) the pc.
pub fn jit_tier(model: &HeapModel<'_>, pc: u64) -> Option<&'static str> {
    let layout = model.layout();
    let frames = &layout.frames;
    let mem = model.heap().memory();
    let page = model.heap().page_of(pc)?;
    let holder = model
        .heap()
        .walk(page)
        .find(|o| o.addr <= pc && pc < o.addr.saturating_add(u64::from(o.size)))?;
    let type_name = layout.types.name(holder.instance_type)?;
    let code = match type_name {
        "CODE_TYPE" => holder.addr,
        "INSTRUCTION_STREAM_TYPE" => {
            let at = holder.addr.checked_add(frames.instruction_stream_code?)?;
            layout.tagging.strong(mem.read_u64(at).ok()?)?
        }
        _ => return None,
    };
    let flags = i64::from(mem.read_u32(code.checked_add(frames.code_flags?)?).ok()?);
    let kind = (flags >> frames.code_kind_shift?) & frames.code_kind_mask?;
    if Some(kind) == frames.code_kind_baseline {
        Some("baseline")
    } else if Some(kind) == frames.code_kind_maglev {
        Some("maglev")
    } else if Some(kind) == frames.code_kind_turbofan {
        Some("turbofan")
    } else {
        None
    }
}

/// Most interpreter registers read from one frame (real functions use tens, rarely hundreds).
const MAX_REGISTERS: u64 = 4096;

/// The interpreter's register file of an interpreted frame (r0, r1, ...): tagged words, read from
/// below the frame's fixed part; its size is the function's `BytecodeArray` frame size.
/// `None` for frames that are not interpreted or when the layout lacks the offsets.
pub fn interpreter_registers(model: &HeapModel<'_>, frame: &Frame) -> Option<Vec<u64>> {
    let FrameKind::V8 { js: Some(js), .. } = &frame.kind else {
        return None;
    };
    let bytecode = js.bytecode?;
    let layout = model.layout();
    let mem = model.heap().memory();
    let size_at = bytecode
        .array
        .checked_add(layout.bytecode_array.frame_size?)?;
    let frame_size = u64::try_from(mem.read_i32(size_at).ok()?).ok()?;
    let count = frame_size / layout.tagging.pointer_size;
    if count > MAX_REGISTERS {
        return None;
    }
    let r0 = frame.fp?.checked_add_signed(layout.frames.register_file?)?;
    (0..count)
        .map(|i| {
            mem.read_u64(r0.checked_sub(i * layout.tagging.pointer_size)?)
                .ok()
        })
        .collect()
}

/// The SharedFunctionInfo of a JSFunction.
fn shared_of(model: &HeapModel<'_>, function: u64) -> Option<u64> {
    let layout = model.layout();
    let word = model
        .heap()
        .memory()
        .read_u64(function.checked_add(layout.js_function.shared)?)
        .ok()?;
    layout.tagging.strong(word)
}

/// The script offset of the bytecode at `offset` of the BytecodeArray at `array`, from its
/// source position table: the last entry whose code offset is at most `offset`.
pub fn executing_position(model: &HeapModel<'_>, array: u64, offset: i64) -> Option<u64> {
    let layout = model.layout();
    let mem = model.heap().memory();
    let word = mem
        .read_u64(array.checked_add(layout.bytecode_array.source_position_table)?)
        .ok()?;
    let table = layout.tagging.strong(word)?;
    // The table is a (trusted) byte array; anything else (undefined, an exception marker
    // while positions are being collected) means there is none to read.
    let header = model.header(table).ok()?;
    let type_name = layout.types.name(header.instance_type)?;
    if !type_name.ends_with("BYTE_ARRAY_TYPE") {
        return None;
    }
    let len_word = mem
        .read_u64(table.checked_add(layout.fixed_array.length)?)
        .ok()?;
    let len = u64::try_from(layout.tagging.smi(len_word)?).ok()?;
    if len > MAX_TABLE_BYTES {
        return None;
    }
    let bytes = mem
        .bytes(
            table.checked_add(layout.fixed_array.header_size)?,
            len as usize,
        )
        .ok()?;
    lookup(bytes, offset, layout.bytecode_array.position_flag_bits)
}

/// Decodes a source position table and finds the script offset for `code_offset`.
/// `flag_bits`: how many low bits of each code delta are flags (V8 14), or `None` for the older
/// signed deltas.
fn lookup(bytes: &[u8], code_offset: i64, flag_bits: Option<u32>) -> Option<u64> {
    let mut reader = Vlq { bytes, at: 0 };
    // V8 starts before the first bytecode (kFunctionEntryBytecodeOffset = -1), at position 0.
    let mut code: i64 = -1;
    let mut raw: i64 = 0;
    let mut found: Option<i64> = None;
    while reader.at < bytes.len() {
        let delta = match flag_bits {
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
    // SourcePosition: bit 0 external flag, bits 1-30 the script offset plus one.
    let script_offset = ((found? >> 1) & ((1 << 30) - 1)) - 1;
    u64::try_from(script_offset).ok()
}

/// V8's variable-length zig-zag integers: 7 bits a byte, low first, 0x80 = more.
struct Vlq<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Vlq<'_> {
    /// A zig-zag signed integer.
    fn signed(&mut self) -> Option<i64> {
        let value = self.unsigned()?;
        Some(((value >> 1) as i64) ^ -((value & 1) as i64))
    }

    /// An unsigned integer.
    fn unsigned(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            value |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift >= 64 {
                return None;
            }
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::lookup;

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
        assert_eq!(lookup(&table, 0, None), Some(10));
        assert_eq!(lookup(&table, 4, None), Some(10));
        assert_eq!(lookup(&table, 5, None), Some(25));
        assert_eq!(lookup(&table, 100, None), Some(40));
        assert_eq!(lookup(&table, -5, None), None);
        assert_eq!(
            lookup(&[0x80], 0, None),
            None,
            "a truncated table is no answer"
        );
    }
}
