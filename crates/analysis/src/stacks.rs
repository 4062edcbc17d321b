//! Stacks: every thread's frames from the unwinder, with JavaScript frames named from the heap
//! model: function, script, and the line and column that was executing.
//!
//! For an interpreted frame the executing position comes from the bytecode offset the frame
//! saved, looked up in the function's source position table
//! ([`HeapModel::executing_position`]). Optimized frames keep no bytecode offset; they get the
//! function's start position, and say so ([`PositionSource::FunctionStart`]).
//!
//! Frames stay typed here (their kind, V8 frame type, how they were found, why a walk ended are
//! the unwinder's enums); the CLI renders them.

use coroner_heap::{CodeTier, HeapModel, LineColumn};
use coroner_unwind::{
    Backtrace, BytecodePosition, EndReason, Frame, FrameKind, JsFrameFacts, Trust, Unwinder,
    V8FrameType,
};

/// Most arguments of a frame rendered in short form.
const MAX_SHOWN_ARGS: usize = 16;

/// Where a JS frame's line and column come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionSource {
    /// The position of the bytecode that was executing (or, in a caller, the call).
    Executing,
    /// The function's start: no bytecode offset to look up (optimized code), or no table.
    FunctionStart,
}

/// One frame of a named stack.
#[derive(Debug, Clone)]
pub struct NamedFrame {
    /// The program counter.
    pub pc: u64,
    /// The stack pointer in this frame.
    pub sp: u64,
    /// The frame pointer, when the frame has one.
    pub fp: Option<u64>,
    /// Function name: `node::Start(int, char**)`, `inner`, `(anonymous)`; `??` for native code
    /// without a symbol; for V8's own frames the builtin they run, or the frame type.
    pub function: String,
    /// What runs in the frame, with what each kind of frame knows.
    pub kind: NamedKind,
    /// How the unwinder found the frame.
    pub found_by: Trust,
}

/// What runs in a frame.
#[derive(Debug, Clone)]
pub enum NamedKind {
    /// Native code (C, C++), or code coroner cannot attribute (`module` and `offset` unknown).
    Native {
        /// Offset of the pc in the function, when a symbol names it.
        offset: Option<u64>,
        /// The module (`node`, `libc.so.6`).
        module: Option<String>,
    },
    /// One of V8's own frames (entry, exit, stub, ...).
    V8 {
        /// Its type.
        frame_type: V8FrameType,
    },
    /// A JavaScript frame.
    Js(Box<JsFrame>),
}

/// What a JavaScript frame shows.
#[derive(Debug, Clone)]
pub struct JsFrame {
    /// Its type; for JIT code, the tier that compiled it (`Baseline`, `Maglev`, `Turbofan`)
    /// from the code object's kind.
    pub frame_type: V8FrameType,
    /// The `JSFunction`.
    pub closure: u64,
    /// The function's script, when it has one.
    pub script: Option<u64>,
    /// The script's name.
    pub file: Option<String>,
    /// Line (1-based) of the position shown.
    pub line: Option<u64>,
    /// Column (1-based).
    pub column: Option<u64>,
    /// Where line and column come from (`None` when there are none).
    pub position: Option<PositionSource>,
    /// The character offset in the script that line and column are computed from (what is
    /// left when the script's source is not readable: node's own modules keep theirs in the
    /// executable's read-only data, which kernel cores leave out).
    pub source_position: Option<u64>,
    /// The address whose bytes were missing when the source was read for the line.
    pub source_unreadable: Option<u64>,
    /// How V8's stack trace names the call when it is a method call (`Thing.method`,
    /// `Timeout.timerCb [as _onTimeout]`): see [`HeapModel::method_call_name`].
    pub call: Option<String>,
    /// `this`, in short form.
    pub this: Option<String>,
    /// The arguments, in short form (at most [`MAX_SHOWN_ARGS`]).
    pub arguments: Vec<String>,
    /// The frame's context word (tagged), for its closure variables.
    pub context: u64,
    /// For interpreted frames, where in its bytecode the frame is.
    pub bytecode: Option<BytecodePosition>,
}

impl NamedFrame {
    /// The JavaScript frame, when it is one.
    pub fn js(&self) -> Option<&JsFrame> {
        match &self.kind {
            NamedKind::Js(js) => Some(js),
            _ => None,
        }
    }
}

/// A thread's named stack.
#[derive(Debug, Clone)]
pub struct ThreadStack {
    /// Thread id.
    pub tid: u32,
    /// The crashing (or, in a gcore core, first) thread.
    pub current: bool,
    /// Frames, innermost first.
    pub frames: Vec<NamedFrame>,
    /// Why the walk ended.
    pub end: EndReason,
    /// The isolate whose JavaScript runs on this thread (an index into the heap's isolates),
    /// when the thread is in JavaScript or in C++ called from it.
    pub isolate: Option<usize>,
}

/// Unwinds every thread and names its frames.
pub(crate) fn stacks(model: &HeapModel<'_>, unwinder: &Unwinder<'_>) -> Vec<ThreadStack> {
    unwinder
        .backtraces()
        .into_iter()
        .map(|bt: Backtrace| ThreadStack {
            tid: bt.tid,
            current: bt.current,
            frames: bt.frames.iter().map(|f| name_frame(model, f)).collect(),
            end: bt.end,
            isolate: bt
                .isolate
                .and_then(|a| model.isolates().iter().position(|i| i.addr == a)),
        })
        .collect()
}

/// Names one frame.
fn name_frame(model: &HeapModel<'_>, f: &Frame) -> NamedFrame {
    let (function, kind) = match &f.kind {
        FrameKind::Native(sym) => (
            sym.symbol.clone().unwrap_or_else(|| "??".to_string()),
            NamedKind::Native {
                offset: sym.symbol.as_ref().map(|_| sym.offset),
                module: sym.module.clone(),
            },
        ),
        FrameKind::V8 {
            frame_type,
            js: Some(js),
            code,
        } => {
            // JIT code (no builtin symbol): its Code object says which tier compiled it.
            let tier = code.is_none().then(|| model.code_tier(f.pc)).flatten();
            let frame_type = match tier {
                Some(CodeTier::Baseline) => V8FrameType::Baseline,
                Some(CodeTier::Maglev) => V8FrameType::Maglev,
                Some(CodeTier::Turbofan) => V8FrameType::Turbofan,
                None => frame_type.clone(),
            };
            let name = model.frame_function_name(js.function);
            let mut frame = js_frame(model, js, frame_type);
            frame.call = js.receiver.and_then(|r| {
                model.method_call_name(js.function, name.as_deref().unwrap_or(""), r)
            });
            (
                name.unwrap_or_else(|| "(anonymous)".to_string()),
                NamedKind::Js(Box::new(frame)),
            )
        }
        FrameKind::V8 {
            frame_type, code, ..
        } => (
            code.as_ref()
                .and_then(|c| c.symbol.clone())
                .unwrap_or_else(|| format!("<{frame_type} frame>")),
            NamedKind::V8 {
                frame_type: frame_type.clone(),
            },
        ),
        FrameKind::Unknown => (
            "??".to_string(),
            NamedKind::Native {
                offset: None,
                module: None,
            },
        ),
    };
    NamedFrame {
        pc: f.pc,
        sp: f.sp,
        fp: f.fp,
        function,
        kind,
        found_by: f.trust,
    }
}

fn js_frame(model: &HeapModel<'_>, js: &JsFrameFacts, frame_type: V8FrameType) -> JsFrame {
    let mut n = JsFrame {
        frame_type,
        closure: js.function,
        script: None,
        file: None,
        line: None,
        column: None,
        position: None,
        source_position: None,
        source_unreadable: None,
        call: None,
        this: js.receiver.map(|r| model.short(r)),
        arguments: js
            .args
            .iter()
            .take(MAX_SHOWN_ARGS)
            .map(|&a| model.short(a))
            .collect(),
        context: js.context,
        bytecode: js.bytecode,
    };
    let info = model
        .function_shared(js.function)
        .and_then(|sfi| model.shared_info(sfi));
    let Some(script) = info.as_ref().ok().and_then(|i| i.script) else {
        return n;
    };
    n.script = Some(script);
    n.file = model.script_name(script);
    let executing = js
        .bytecode
        .and_then(|b| model.executing_position(b.array, b.offset));
    let (pos, source) = match executing {
        Some(p) => (Some(p), PositionSource::Executing),
        None => (
            info.ok().and_then(|i| i.positions).map(|(start, _)| start),
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
    n
}
