//! What a backtrace is made of: frames (native, V8, or unknown), how each was found, and why
//! the walk ended.

use std::fmt;

/// One thread's stack, innermost frame first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backtrace {
    /// The thread id (`NT_PRSTATUS` `pr_pid`).
    pub tid: u32,
    /// Index of the thread in the core (the order of its `NT_PRSTATUS` notes).
    pub thread_index: usize,
    /// The crashing or current thread: the first `NT_PRSTATUS` of the core, which is the
    /// thread that received the signal in kernel cores and the main thread in gdb's.
    pub current: bool,
    /// The frames, innermost (the thread's registers) first.
    pub frames: Vec<Frame>,
    /// Why the walk stopped after the last frame.
    pub end: EndReason,
    /// When the walk from the registers stopped before reaching JavaScript and resumed from
    /// the isolate's `c_entry_fp`: why it stopped, and the index of the first resumed frame.
    pub resumed: Option<Resumption>,
    /// The isolate (its address) whose JavaScript runs on this thread, when known.
    pub isolate: Option<u64>,
}

impl Backtrace {
    /// The JavaScript frames, innermost first.
    pub fn js_frames(&self) -> impl Iterator<Item = (&Frame, &JsFrameFacts)> + '_ {
        self.frames.iter().filter_map(|f| match &f.kind {
            FrameKind::V8 { js: Some(js), .. } => Some((f, js)),
            _ => None,
        })
    }
}

/// A walk that stopped before reaching JavaScript and went on from the isolate's
/// `ThreadLocalTop::c_entry_fp`, skipping the frames in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resumption {
    /// Why the walk from the registers stopped.
    pub stopped: EndReason,
    /// Index of the first frame found from `c_entry_fp`.
    pub at_frame: usize,
}

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Position in the backtrace, 0 = innermost.
    pub index: usize,
    /// The program counter: where the thread stopped (frame 0, or a frame below a signal) or
    /// the return address into this frame's code.
    pub pc: u64,
    /// The stack pointer in this frame (for a frame found through a callee, the callee's
    /// canonical frame address).
    pub sp: u64,
    /// The frame pointer (rbp) in this frame, when known.
    pub fp: Option<u64>,
    /// What runs in this frame.
    pub kind: FrameKind,
    /// How this frame was found.
    pub trust: Trust,
}

impl Frame {
    /// The native function's display name, for native frames that have one.
    pub fn native_symbol(&self) -> Option<&str> {
        match &self.kind {
            FrameKind::Native(n) => n.symbol.as_deref(),
            _ => None,
        }
    }

    /// The code the pc is in: the native symbol, or the `Builtins_*` symbol of a V8 frame.
    pub fn code_symbol(&self) -> Option<&NativeSymbol> {
        match &self.kind {
            FrameKind::Native(n) => Some(n),
            FrameKind::V8 { code, .. } => code.as_ref(),
            FrameKind::Unknown => None,
        }
    }
}

/// What runs in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameKind {
    /// Native code of a module (C, C++).
    Native(NativeSymbol),
    /// A V8 frame: JavaScript, or one of V8's own (entry, exit, internal, ...).
    V8 {
        /// The frame's type.
        frame_type: V8FrameType,
        /// For a JavaScript frame, its raw facts (the function, receiver, arguments, ...).
        js: Option<JsFrameFacts>,
        /// The builtin the pc is in (`Builtins_InterpreterEntryTrampoline`), when it is one;
        /// `None` for JIT code.
        code: Option<NativeSymbol>,
    },
    /// Code coroner cannot attribute (no module, and not recognized as a V8 frame).
    Unknown,
}

/// Where a pc is in native code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeSymbol {
    /// The module's file name (`node`, `libc.so.6`), when the pc is in a mapped file.
    pub module: Option<String>,
    /// The function, demangled (`node::Start(int, char**)`), when a symbol table names it.
    pub symbol: Option<String>,
    /// The symbol as the table spells it (mangled), when there is one.
    pub mangled: Option<String>,
    /// Offset of the pc from the symbol's start (from the module's base without a symbol).
    pub offset: u64,
    /// The pc's link-time address in the module's file (for a second mapping of the file at a
    /// far address, the address of the same bytes in the file's own layout).
    pub link_address: Option<u64>,
}

impl fmt::Display for NativeSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.symbol, &self.module) {
            (Some(s), Some(m)) => write!(f, "{s}+{:#x} in {m}", self.offset),
            (Some(s), None) => write!(f, "{s}+{:#x}", self.offset),
            (None, Some(m)) => write!(f, "{m}+{:#x}", self.offset),
            (None, None) => f.write_str("??"),
        }
    }
}

/// The raw facts of a JavaScript frame, for the heap model to name and decode. Words are
/// tagged values as V8 stores them; addresses are untagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsFrameFacts {
    /// The `JSFunction` running (untagged address).
    pub function: u64,
    /// The context word of the frame (a tagged `Context`).
    pub context: u64,
    /// The argument count as the frame records it, receiver included.
    pub argc: Option<u64>,
    /// The receiver (`this`), tagged.
    pub receiver: Option<u64>,
    /// The arguments after the receiver, tagged (at most [`MAX_ARGS`] are read).
    pub args: Vec<u64>,
    /// For interpreted frames: the `BytecodeArray` and the offset of the current bytecode.
    pub bytecode: Option<BytecodePosition>,
    /// The `BytecodeArray` the frame's slot holds (untagged), in interpreted and baseline
    /// frames: a baseline frame keeps no bytecode offset, but its pc leads to one.
    pub bytecode_array: Option<u64>,
}

/// How many arguments of a frame are read at most.
pub const MAX_ARGS: u64 = 256;

/// Where an interpreted frame is in its bytecode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BytecodePosition {
    /// The `BytecodeArray` (untagged address).
    pub array: u64,
    /// The offset of the current bytecode from the first one: the frame's bytecode offset
    /// slot minus the array's header size, plus the heap object tag (V8 keeps the offset from
    /// the tagged pointer).
    pub offset: i64,
}

/// The type of a V8 frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum V8FrameType {
    /// JavaScript run by the interpreter (Ignition).
    Interpreted,
    /// JavaScript compiled by the baseline compiler (Sparkplug).
    Baseline,
    /// JavaScript optimized by Maglev.
    Maglev,
    /// JavaScript optimized by Turbofan.
    Turbofan,
    /// Optimized JavaScript (Maglev or Turbofan: coroner does not read the code object).
    Optimized,
    /// A builtin with JavaScript linkage (`Array.prototype.forEach`), which V8 itself treats as
    /// optimized code.
    Builtin,
    /// The frame of a C++ builtin called from JavaScript (`BuiltinExitFrame`).
    BuiltinExit,
    /// A call from JavaScript into C++ (`ExitFrame`).
    Exit,
    /// A call from JavaScript into an API function (`ApiCallbackExitFrame`, V8 12+).
    ApiCallbackExit,
    /// A call from JavaScript into an API accessor (`ApiAccessorExitFrame`, V8 13+).
    ApiAccessorExit,
    /// The entry from C++ into JavaScript (`EntryFrame`).
    Entry,
    /// The entry from C++ into a JavaScript constructor (`ConstructEntryFrame`).
    ConstructEntry,
    /// A `new` call's frame (`ConstructFrame`, `FastConstructFrame`).
    Construct,
    /// A code stub's frame (`StubFrame`, `TurbofanStubWithContextFrame`).
    Stub,
    /// An internal frame of a builtin calling the runtime (`InternalFrame`).
    Internal,
    /// Any other V8 frame type, by its metadata name (`JavaScriptBuiltinContinuationFrame`).
    Other(String),
    /// V8 code whose frame coroner could not classify.
    Unknown,
}

impl V8FrameType {
    /// From a `StackFrame::Type` name as the metadata spells it (`InterpretedFrame`).
    pub fn from_metadata_name(name: &str) -> V8FrameType {
        match name {
            "InterpretedFrame" => V8FrameType::Interpreted,
            "BaselineFrame" => V8FrameType::Baseline,
            "MaglevFrame" => V8FrameType::Maglev,
            "TurbofanFrame" | "TurbofanJSFrame" | "OptimizedFrame" => V8FrameType::Turbofan,
            "BuiltinFrame" => V8FrameType::Builtin,
            "BuiltinExitFrame" => V8FrameType::BuiltinExit,
            "ExitFrame" => V8FrameType::Exit,
            "ApiCallbackExitFrame" => V8FrameType::ApiCallbackExit,
            "ApiAccessorExitFrame" => V8FrameType::ApiAccessorExit,
            "EntryFrame" => V8FrameType::Entry,
            "ConstructEntryFrame" => V8FrameType::ConstructEntry,
            "ConstructFrame" | "FastConstructFrame" => V8FrameType::Construct,
            "StubFrame" | "TurbofanStubWithContextFrame" => V8FrameType::Stub,
            "InternalFrame" => V8FrameType::Internal,
            other => V8FrameType::Other(other.to_string()),
        }
    }

    /// Whether frames of this type run JavaScript (have a function, receiver and arguments).
    pub fn is_js(&self) -> bool {
        matches!(
            self,
            V8FrameType::Interpreted
                | V8FrameType::Baseline
                | V8FrameType::Maglev
                | V8FrameType::Turbofan
                | V8FrameType::Optimized
                | V8FrameType::Builtin
        )
    }

    /// Whether this is a frame by which JavaScript calls out into C++.
    pub fn is_exit(&self) -> bool {
        matches!(
            self,
            V8FrameType::Exit
                | V8FrameType::BuiltinExit
                | V8FrameType::ApiCallbackExit
                | V8FrameType::ApiAccessorExit
        )
    }

    /// Whether this is a frame by which C++ calls into JavaScript.
    pub fn is_entry(&self) -> bool {
        matches!(self, V8FrameType::Entry | V8FrameType::ConstructEntry)
    }
}

impl fmt::Display for V8FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            V8FrameType::Interpreted => "interpreted",
            V8FrameType::Baseline => "baseline",
            V8FrameType::Maglev => "maglev",
            V8FrameType::Turbofan => "turbofan",
            V8FrameType::Optimized => "optimized",
            V8FrameType::Builtin => "builtin",
            V8FrameType::BuiltinExit => "builtin exit",
            V8FrameType::Exit => "exit",
            V8FrameType::ApiCallbackExit => "api callback exit",
            V8FrameType::ApiAccessorExit => "api accessor exit",
            V8FrameType::Entry => "entry",
            V8FrameType::ConstructEntry => "construct entry",
            V8FrameType::Construct => "construct",
            V8FrameType::Stub => "stub",
            V8FrameType::Internal => "internal",
            V8FrameType::Other(name) => name,
            V8FrameType::Unknown => "unknown",
        };
        f.write_str(s)
    }
}

/// How a frame was found (as rust-minidump's `FrameTrust`, best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trust {
    /// The thread's own registers (frame 0).
    Context,
    /// The callee's DWARF call frame information.
    Cfi,
    /// The callee's V8 frame: its saved frame pointer and return address.
    V8Frame,
    /// The callee's frame-pointer chain (`[rbp]`, `[rbp + 8]`), without call frame information.
    FramePointer,
    /// The isolate's `ThreadLocalTop::c_entry_fp`, not the walk from the registers.
    ThreadLocalTop,
}

impl fmt::Display for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trust::Context => "context",
            Trust::Cfi => "cfi",
            Trust::V8Frame => "v8 frame",
            Trust::FramePointer => "frame pointer",
            Trust::ThreadLocalTop => "c_entry_fp",
        })
    }
}

/// Why a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The last frame is the thread's outermost: its call frame information says there is no
    /// return address (`_start`, `clone`, `clone3`).
    Outermost,
    /// The frame-pointer chain ended (a zero frame pointer or return address).
    ChainEnd,
    /// A word needed to find the caller is not in the core.
    Unreadable {
        /// The address that could not be read.
        addr: u64,
    },
    /// The pc is in code without call frame information, and no frame pointer to follow.
    NoUnwindInfo {
        /// The pc.
        pc: u64,
    },
    /// The call frame information could not be applied (a malformed entry, an unsupported
    /// expression, a register it needs is unknown).
    BadUnwindInfo {
        /// The pc.
        pc: u64,
        /// What went wrong.
        reason: String,
    },
    /// The caller's stack pointer is not above the callee's: the walk would loop.
    StackDidNotGrow {
        /// The callee's stack pointer.
        sp: u64,
        /// The caller's.
        caller_sp: u64,
    },
    /// The return address is below the first page: not code.
    BadPc {
        /// The return address.
        pc: u64,
    },
    /// The walk reached the frame limit.
    FrameLimit,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::Outermost => f.write_str("reached the outermost frame"),
            EndReason::ChainEnd => f.write_str("the frame-pointer chain ends"),
            EndReason::Unreadable { addr } => write!(f, "unreadable memory at {addr:#x}"),
            EndReason::NoUnwindInfo { pc } => write!(f, "no unwind information for pc {pc:#x}"),
            EndReason::BadUnwindInfo { pc, reason } => {
                write!(f, "unwind information for pc {pc:#x} unusable: {reason}")
            }
            EndReason::StackDidNotGrow { sp, caller_sp } => write!(
                f,
                "the stack pointer did not grow ({sp:#x} -> {caller_sp:#x})"
            ),
            EndReason::BadPc { pc } => write!(f, "return address {pc:#x} is not code"),
            EndReason::FrameLimit => write!(f, "frame limit ({}) reached", crate::MAX_FRAMES),
        }
    }
}

impl EndReason {
    /// Whether the walk reached the thread's outermost frame (rather than stopping short).
    pub fn is_complete(&self) -> bool {
        matches!(self, EndReason::Outermost)
    }
}
