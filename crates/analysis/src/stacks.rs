//! Stacks: every thread's frames from the unwinder, with JavaScript frames named from the heap
//! model: function, script, and the line and column that was executing.
//!
//! For an interpreted frame the executing position comes from the bytecode offset the frame
//! saved, looked up in the function's source position table
//! ([`HeapModel::executing_position`]); a baseline frame's bytecode offset comes from its pc
//! ([`HeapModel::baseline_bytecode_offset`]); an optimized frame's position from its pc and
//! its code's own table, which also gives the functions inlined at that point
//! ([`HeapModel::jit_positions`]): each becomes a frame of its own, as in V8's stack traces.
//! Where none of that reads, a frame gets its function's start and says so
//! ([`PositionSource::FunctionStart`]).
//!
//! After a thread's frames come its async frames: when the thread runs an async function
//! resumed after an `await`, the async functions awaiting it ([`HeapModel::await_chain`]),
//! as `Error.stack` lists them (`at async outer (...)`).
//!
//! Frames stay typed here (their kind, V8 frame type, how they were found, why a walk ended are
//! the unwinder's enums); the CLI renders them.

use coroner_heap::{Awaiting, CodeTier, HeapModel, JitCode, JitPosition, LineColumn};
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
    /// The `JSFunction`; `None` for a function inlined into optimized code (the code's own
    /// frame has the closure).
    pub closure: Option<u64>,
    /// A function inlined into the optimized code of the frame after it: no frame of its own
    /// on the machine stack, but one in V8's stack traces.
    pub inlined: bool,
    /// A builtin closure V8's stack traces leave out (the continuation of an `await`).
    pub hidden: bool,
    /// Where in its script the frame is (line and column of the position shown).
    pub place: Place,
    /// How V8's stack trace names the call when it is a method call (`Thing.method`,
    /// `Timeout.timerCb [as _onTimeout]`): see [`HeapModel::method_call_name`].
    pub call: Option<String>,
    /// `this`, in short form.
    pub this: Option<String>,
    /// The arguments, in short form (at most 16: `MAX_SHOWN_ARGS`).
    pub arguments: Vec<String>,
    /// The frame's context word (tagged), for its closure variables.
    pub context: u64,
    /// For interpreted frames, where in its bytecode the frame is.
    pub bytecode: Option<BytecodePosition>,
}

impl NamedFrame {
    /// The unwinder's frame `f`, named `function`, running `kind`.
    fn of(f: &Frame, function: String, kind: NamedKind) -> NamedFrame {
        NamedFrame {
            pc: f.pc,
            sp: f.sp,
            fp: f.fp,
            function,
            kind,
            found_by: f.trust,
        }
    }

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
    /// The async functions awaiting the one this thread resumed, nearest first (empty when
    /// the thread runs no async function resumed after an `await`).
    pub async_frames: Vec<AsyncFrame>,
    /// The isolate whose JavaScript runs on this thread (an index into the heap's isolates),
    /// when the thread is in JavaScript or in C++ called from it.
    pub isolate: Option<usize>,
}

/// A suspended async function awaiting another, as V8's async stack traces show it.
#[derive(Debug, Clone)]
pub struct AsyncFrame {
    /// The function's name (`(anonymous)` without one).
    pub function: String,
    /// How `Error.stack` names the call when it is a method call (`Thing.method`).
    pub call: Option<String>,
    /// The async function's object (`JSAsyncFunctionObject`).
    pub generator: u64,
    /// The async function.
    pub closure: u64,
    /// Where it waits: the `await` it is suspended at.
    pub place: Place,
}

/// Where in a script a frame is.
#[derive(Debug, Clone, Default)]
pub struct Place {
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
}

/// Unwinds every thread and names its frames.
pub(crate) fn stacks(model: &HeapModel<'_>, unwinder: &Unwinder<'_>) -> Vec<ThreadStack> {
    unwinder
        .backtraces()
        .into_iter()
        .map(|bt: Backtrace| {
            let frames: Vec<NamedFrame> = bt
                .frames
                .iter()
                .enumerate()
                .flat_map(|(i, f)| name_frame(model, f, i > 0))
                .collect();
            ThreadStack {
                tid: bt.tid,
                current: bt.current,
                async_frames: async_frames(model, &frames),
                frames,
                end: bt.end,
                isolate: bt
                    .isolate
                    .and_then(|a| model.isolates().iter().position(|i| i.addr == a)),
            }
        })
        .collect()
}

/// Unwinds every thread without the heap (a core whose V8 heap cannot be read): native frames
/// named from the modules' symbols, V8's frames by their builtin or type, JavaScript frames as
/// `(JavaScript)`.
pub(crate) fn native_stacks(unwinder: &Unwinder<'_>) -> Vec<ThreadStack> {
    unwinder
        .backtraces()
        .into_iter()
        .map(|bt| ThreadStack {
            tid: bt.tid,
            current: bt.current,
            frames: bt
                .frames
                .iter()
                .map(|f| {
                    let (function, kind) = match &f.kind {
                        FrameKind::V8 {
                            js: Some(_),
                            frame_type,
                            ..
                        } => (
                            "(JavaScript)".to_string(),
                            NamedKind::V8 {
                                frame_type: frame_type.clone(),
                            },
                        ),
                        _ => name_unheaped(f),
                    };
                    NamedFrame::of(f, function, kind)
                })
                .collect(),
            end: bt.end,
            async_frames: Vec::new(),
            isolate: None,
        })
        .collect()
}

/// The name and kind of a frame that needs no heap: native code, V8's own frames, unknown code.
fn name_unheaped(f: &Frame) -> (String, NamedKind) {
    match &f.kind {
        FrameKind::Native(sym) => (
            sym.symbol.clone().unwrap_or_else(|| "??".to_string()),
            NamedKind::Native {
                offset: sym.symbol.as_ref().map(|_| sym.offset),
                module: sym.module.clone(),
            },
        ),
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
    }
}

/// The async frames of a thread: from the innermost frame of a builtin that resumed an async
/// function (V8 starts from the microtask running, whose handler that builtin is).
fn async_frames(model: &HeapModel<'_>, frames: &[NamedFrame]) -> Vec<AsyncFrame> {
    let resumed = frames.iter().find_map(|f| {
        let js = f.js().filter(|js| js.frame_type == V8FrameType::Builtin)?;
        model
            .resumed_by(js.closure?)
            .filter(|&g| model.is_executing(g))
    });
    resumed
        .map(|g| {
            model
                .await_chain(g)
                .iter()
                .map(|a| async_frame(model, a))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn async_frame(model: &HeapModel<'_>, a: &Awaiting) -> AsyncFrame {
    let name = model.frame_function_name(a.function);
    let info = model
        .function_shared(a.function)
        .and_then(|sfi| model.shared_info(sfi))
        .ok();
    // The resume offset is that of the bytecode after the `await`; V8 looks it up as is.
    let array = model.function_bytecode_array(a.function);
    let executing = array
        .zip(a.bytecode_offset)
        .and_then(|(array, offset)| model.executing_position(array, offset));
    AsyncFrame {
        call: model.method_call_name(a.function, name.as_deref().unwrap_or(""), a.receiver),
        function: name.unwrap_or_else(|| "(anonymous)".to_string()),
        generator: a.generator,
        closure: a.function,
        place: place(
            model,
            info.as_ref().and_then(|i| i.script),
            executing,
            info.as_ref(),
        ),
    }
}

/// Names one frame; an optimized frame with functions inlined at its pc becomes one frame per
/// function, innermost first. `return_address`: the pc is a caller's return address.
fn name_frame(model: &HeapModel<'_>, f: &Frame, return_address: bool) -> Vec<NamedFrame> {
    let named = |function: String, kind: NamedKind| NamedFrame::of(f, function, kind);
    match &f.kind {
        FrameKind::V8 {
            frame_type,
            js: Some(js),
            code,
        } => {
            // JIT code (no builtin symbol): its Code object says which tier compiled it.
            let jit = code.is_none().then(|| model.jit_code(f.pc)).flatten();
            let frame_type = match jit.map(|j| j.tier) {
                Some(CodeTier::Baseline) => V8FrameType::Baseline,
                Some(CodeTier::Maglev) => V8FrameType::Maglev,
                Some(CodeTier::Turbofan) => V8FrameType::Turbofan,
                None => frame_type.clone(),
            };
            let name = model.frame_function_name(js.function);
            let mut frame = js_frame(model, jit.as_ref(), js, frame_type.clone());
            frame.call = js.receiver.and_then(|r| {
                model.method_call_name(js.function, name.as_deref().unwrap_or(""), r)
            });
            let own = named(
                name.unwrap_or_else(|| "(anonymous)".to_string()),
                NamedKind::Js(Box::new(frame)),
            );
            let Some(jit) = jit.filter(|j| matches!(j.tier, CodeTier::Maglev | CodeTier::Turbofan))
            else {
                return vec![own];
            };
            optimized_frames(model, &jit, return_address, own, &frame_type)
                .into_iter()
                .map(|(function, kind)| named(function, kind))
                .collect()
        }
        _ => {
            let (function, kind) = name_unheaped(f);
            vec![named(function, kind)]
        }
    }
}

/// The frames of optimized code at a pc (`jit`): those of the functions inlined there, then the
/// code's own (`own`, with the executing position put in). `own` alone, at its function's
/// start, when the code's tables do not read.
fn optimized_frames(
    model: &HeapModel<'_>,
    jit: &JitCode,
    return_address: bool,
    own: NamedFrame,
    frame_type: &V8FrameType,
) -> Vec<(String, NamedKind)> {
    let NamedFrame { function, kind, .. } = own;
    let NamedKind::Js(mut frame) = kind else {
        return vec![(function, kind)];
    };
    let Some(positions) = model.jit_positions(jit, return_address) else {
        return vec![(function, NamedKind::Js(frame))];
    };
    let mut out = Vec::with_capacity(positions.len());
    for JitPosition {
        shared,
        script_offset,
    } in positions
    {
        match shared {
            Some(sfi) => {
                let info = model.shared_info(sfi).ok();
                let name = info
                    .as_ref()
                    .map(|i| i.debug_name().to_string())
                    .filter(|n| !n.is_empty());
                let at = place(
                    model,
                    info.as_ref().and_then(|i| i.script),
                    Some(script_offset),
                    info.as_ref(),
                );
                let mut inlined = JsFrame {
                    frame_type: frame_type.clone(),
                    closure: None,
                    inlined: true,
                    hidden: false,
                    place: Place::default(),
                    call: None,
                    this: None,
                    arguments: Vec::new(),
                    context: frame.context,
                    bytecode: None,
                };
                inlined.place = at;
                out.push((
                    name.unwrap_or_else(|| "(anonymous)".to_string()),
                    NamedKind::Js(Box::new(inlined)),
                ));
            }
            None => {
                frame.place = place(model, frame.place.script, Some(script_offset), None);
            }
        }
    }
    out.push((function, NamedKind::Js(frame)));
    out
}

/// Where a function is: at `executing` (a script offset) when known, else at the start of the
/// function described by `info`.
fn place(
    model: &HeapModel<'_>,
    script: Option<u64>,
    executing: Option<u64>,
    info: Option<&coroner_heap::SharedInfo>,
) -> Place {
    let mut p = Place::default();
    let Some(script) = script else {
        return p;
    };
    p.script = Some(script);
    p.file = model.script_name(script);
    let (pos, source) = match executing {
        Some(e) => (Some(e), PositionSource::Executing),
        None => (
            info.and_then(|i| i.positions).map(|(start, _)| start),
            PositionSource::FunctionStart,
        ),
    };
    p.source_position = pos;
    match pos.map(|at| model.script_position(script, at)) {
        Some(Ok(LineColumn { line, column })) => {
            p.line = Some(line);
            p.column = Some(column);
            p.position = Some(source);
        }
        Some(Err(e)) => p.source_unreadable = Some(e.addr()),
        None => {}
    }
    p
}

fn js_frame(
    model: &HeapModel<'_>,
    jit: Option<&JitCode>,
    js: &JsFrameFacts,
    frame_type: V8FrameType,
) -> JsFrame {
    let mut n = JsFrame {
        frame_type: frame_type.clone(),
        closure: Some(js.function),
        inlined: false,
        hidden: frame_type == V8FrameType::Builtin && model.hidden_from_stack_traces(js.function),
        place: Place::default(),
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
        .and_then(|sfi| model.shared_info(sfi))
        .ok();
    let script = info.as_ref().and_then(|i| i.script);
    let offset = match (&frame_type, js.bytecode, js.bytecode_array) {
        (_, Some(b), _) => Some((b.array, b.offset)),
        (V8FrameType::Baseline, None, Some(array)) => jit
            .and_then(|j| model.baseline_bytecode_offset(j, array))
            .map(|o| (array, o)),
        _ => None,
    };
    let executing = offset.and_then(|(array, o)| model.executing_position(array, o));
    n.place = place(model, script, executing, info.as_ref());
    n
}
