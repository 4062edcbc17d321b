//! Why the process died, from the signal that wrote the core and the frames of the thread it
//! stopped: V8's fatal out-of-memory path, the `--abort-on-uncaught-exception` trap, an abort,
//! a fault, or no crash at all (a live process dumped by gcore).
//!
//! The frames decide before the signal does: a heap OOM and `process.abort()` both end in
//! SIGABRT, and only the functions on the stack tell them apart. Names are matched on the
//! demangled C++ names V8 and node have kept across 18 to 26 (checked on the crash fixtures).

use coroner_image::{ProcessImage, SignalInfo};

use crate::stacks::{NamedFrame, NamedKind, ThreadStack};

/// SIGABRT's number: what `abort()` raises.
pub(crate) const SIGABRT: i32 = 6;
/// SIGTRAP's number: what V8's immediate crash (`int3`) raises.
const SIGTRAP: i32 = 5;
/// `si_code` of a signal the kernel raised for the faulting instruction itself.
const SI_KERNEL: i32 = 128;
/// Stack bytes above the innermost frame searched for `V8_Fatal`'s message (its frame holds the
/// 512-byte buffer; `OS::Abort` adds little).
const FATAL_STACK_BYTES: u64 = 16 * 1024;
/// `int3`, the trap instruction V8 (and a debugger) plants.
const INT3: u8 = 0xcc;
/// `si_code` of a signal sent with `tkill`/`tgkill` (what `raise` and `abort` use).
const SI_TKILL: i32 = -6;
/// The flag under which V8 aborts on an exception nothing catches.
const ABORT_ON_UNCAUGHT: &str = "--abort-on-uncaught-exception";

/// Frames from the innermost that are searched for the functions that name a crash (the OOM
/// handler sits about ten frames above the signal; a JS program adds none below it).
const SEARCHED_FRAMES: usize = 48;

/// What kind of end the core records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonKind {
    /// V8's fatal out-of-memory: the heap limit reached, an invalid size, a failed reservation.
    OutOfMemory,
    /// A JavaScript exception nothing caught, under `--abort-on-uncaught-exception`.
    UncaughtException,
    /// `abort()`: `process.abort()`, a failed `CHECK` in V8 or an assertion in node.
    Abort,
    /// A signal: a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL) or one sent by a process.
    Signal,
    /// A live process dumped without killing it (gcore): not a crash.
    Snapshot,
    /// None of the above.
    Unknown,
}

impl ReasonKind {
    /// The name `--json` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonKind::OutOfMemory => "out-of-memory",
            ReasonKind::UncaughtException => "uncaught-exception",
            ReasonKind::Abort => "abort",
            ReasonKind::Signal => "signal",
            ReasonKind::Snapshot => "snapshot",
            ReasonKind::Unknown => "unknown",
        }
    }
}

/// Where a faulting pc (or address) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRegion {
    /// Code V8 compiled at run time (a code page of the heap, or memory no file maps).
    JitCode,
    /// The node executable.
    Node,
    /// A native addon (a `.node` file).
    Addon(String),
    /// Another shared library (`libc.so.6`).
    Library(String),
    /// Not in any mapping the core records.
    Unmapped,
}

impl CodeRegion {
    /// `jit`, `node`, `addon`, `library` or `unmapped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CodeRegion::JitCode => "jit",
            CodeRegion::Node => "node",
            CodeRegion::Addon(_) => "addon",
            CodeRegion::Library(_) => "library",
            CodeRegion::Unmapped => "unmapped",
        }
    }

    /// The file, for an addon or a library.
    pub fn module(&self) -> Option<&str> {
        match self {
            CodeRegion::Addon(m) | CodeRegion::Library(m) => Some(m),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            CodeRegion::JitCode => "JIT-compiled JavaScript".to_string(),
            CodeRegion::Node => "node itself".to_string(),
            CodeRegion::Addon(m) => format!("the native addon {m}"),
            CodeRegion::Library(m) => format!("the library {m}"),
            CodeRegion::Unmapped => "unmapped memory".to_string(),
        }
    }
}

/// The signal that wrote the core, as the reason shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalFacts {
    /// Its number.
    pub number: i32,
    /// `SIGSEGV`, ...
    pub name: &'static str,
    /// `si_code`.
    pub code: i32,
    /// What `si_code` means (`SEGV_MAPERR: address not mapped`, `sent by kill()`).
    pub code_meaning: Option<&'static str>,
    /// The faulting address, for a fault the kernel raised.
    pub fault_address: Option<u64>,
    /// The process that sent it, for a signal sent by a process.
    pub sender_pid: Option<u32>,
}

/// Where the crashing thread was when a fault hit: its pc and what code that is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The crashing thread's pc.
    pub pc: u64,
    /// The function there, when named.
    pub function: Option<String>,
    /// Where the pc is.
    pub region: CodeRegion,
}

/// Why the process died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The kind.
    pub kind: ReasonKind,
    /// One line a person reads first.
    pub summary: String,
    /// The signal, when the core records one.
    pub signal: Option<SignalFacts>,
    /// For a fault: where the thread was.
    pub fault: Option<Fault>,
    /// For V8's OOM: what V8 said (`Reached heap limit`) and its last GCs.
    pub oom: Option<super::oom::OutOfMemory>,
    /// For a failed assertion in node (`CHECK`): what it says (needs the executable).
    pub assertion: Option<coroner_node::Assertion>,
    /// For a failed `CHECK` in V8: the message `V8_Fatal` printed (`Check failed: ...`).
    pub v8_message: Option<String>,
}

/// What the frames of the crashing thread show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    OutOfMemory(usize),
    Uncaught,
    V8Check,
    NodeAssert,
    ProcessAbort,
    Abort,
    None,
}

/// The path the crashing thread took to its end, from the functions on its stack.
fn path(frames: &[NamedFrame]) -> Path {
    let top = &frames[..frames.len().min(SEARCHED_FRAMES)];
    let has = |needle: &str| top.iter().any(|f| f.function.contains(needle));
    if let Some(i) = top.iter().position(|f| {
        f.function.contains("FatalProcessOutOfMemory")
            || f.function.contains("OOMErrorHandler")
            || f.function.contains("ReportOOMFailure")
    }) {
        // The outermost of V8's OOM frames: what it called is above it.
        let last = top
            .iter()
            .rposition(|f| f.function.contains("FatalProcessOutOfMemory"))
            .unwrap_or(i);
        return Path::OutOfMemory(last);
    }
    if has("Isolate::CreateMessageOrAbort") || (has("base::OS::Abort") && has("Isolate::Throw")) {
        return Path::Uncaught;
    }
    if has("V8_Fatal") {
        return Path::V8Check;
    }
    if has("node::Assert") {
        return Path::NodeAssert;
    }
    let abort = top
        .iter()
        .any(|f| f.function == "abort" || f.function.starts_with("node::Abort"));
    // process.abort()'s binding takes the JS call's arguments.
    if abort && has("Abort(v8::FunctionCallbackInfo") {
        return Path::ProcessAbort;
    }
    if abort {
        return Path::Abort;
    }
    Path::None
}

/// The meaning of `si_code` for the common signals.
fn code_meaning(signal: &SignalInfo) -> Option<&'static str> {
    match (signal.signo, signal.code) {
        (_, 0) => Some("sent by kill()"),
        (_, SI_TKILL) => Some("sent by tkill() (raise, abort, pthread_kill)"),
        (_, -1) => Some("sent by sigqueue()"),
        (_, 128) => Some("sent by the kernel"),
        (11, 1) => Some("SEGV_MAPERR: address not mapped"),
        (11, 2) => Some("SEGV_ACCERR: no permission for the access"),
        (7, 1) => Some("BUS_ADRALN: misaligned address"),
        (7, 2) => Some("BUS_ADRERR: address beyond the file"),
        (8, 1) => Some("FPE_INTDIV: integer division by zero"),
        (4, 1) => Some("ILL_ILLOPC: illegal opcode"),
        (5, 1) => Some("TRAP_BRKPT: breakpoint"),
        _ => None,
    }
}

fn signal_facts(signal: &SignalInfo) -> SignalFacts {
    SignalFacts {
        number: signal.signo,
        name: signal.name(),
        code: signal.code,
        code_meaning: code_meaning(signal),
        fault_address: signal.fault_addr,
        sender_pid: signal.sender_pid,
    }
}

/// Where `pc` is: a module's code (node, an addon, a library), V8's code pages, or nothing.
pub fn region_of(image: &ProcessImage, pc: u64, in_code_page: bool) -> CodeRegion {
    if in_code_page {
        return CodeRegion::JitCode;
    }
    match image.module_at(pc) {
        Some(m) if image.executable().is_some_and(|e| e.path == m.path) => CodeRegion::Node,
        Some(m) if m.path.ends_with(".node") => CodeRegion::Addon(m.path.clone()),
        Some(m) => CodeRegion::Library(m.path.clone()),
        None if image.is_mapped(pc) => CodeRegion::JitCode,
        None => CodeRegion::Unmapped,
    }
}

/// The innermost JavaScript frame, as `name (file:line:column)`.
fn innermost_js(frames: &[NamedFrame]) -> Option<String> {
    frames.iter().find_map(|f| {
        let js = f.js()?;
        let mut at = f.function.clone();
        if let (Some(file), Some(line)) = (&js.place.file, js.place.line) {
            at.push_str(&format!(
                " ({file}:{line}:{})",
                js.place.column.unwrap_or(0)
            ));
        }
        Some(at)
    })
}

/// The innermost native frame outside libc's abort machinery (`raise`, `abort`, ...).
fn first_own_frame(frames: &[NamedFrame]) -> Option<&NamedFrame> {
    frames.iter().find(|f| match &f.kind {
        NamedKind::Native { module, .. } => !module
            .as_deref()
            .is_some_and(|m| m.starts_with("libc.so") || m.starts_with("libpthread")),
        _ => true,
    })
}

/// The message `V8_Fatal` left on the stack above the innermost frame, if it did.
fn v8_fatal(image: &ProcessImage, frames: &[NamedFrame]) -> Option<String> {
    let sp = frames.first()?.sp;
    coroner_heap::fatal_message(image, sp, sp.saturating_add(FATAL_STACK_BYTES))
}

/// Whether node was started with `--abort-on-uncaught-exception`, on its command line or in
/// `NODE_OPTIONS`. The initial stack holds both whole; the core's own record of the command
/// line is cut at 80 bytes, often before the options, so it is only the fallback.
fn aborts_on_uncaught(image: &ProcessImage) -> bool {
    match image.startup() {
        Some(startup) => {
            startup.argv.iter().any(|a| a == ABORT_ON_UNCAUGHT)
                || startup
                    .var("NODE_OPTIONS")
                    .is_some_and(|o| o.split_whitespace().any(|a| a == ABORT_ON_UNCAUGHT))
        }
        None => image
            .core()
            .process()
            .is_some_and(|p| p.psargs.contains(ABORT_ON_UNCAUGHT)),
    }
}

/// Inputs of [`classify`] besides the frames.
pub(crate) struct Evidence<'a> {
    pub image: &'a ProcessImage,
    /// Whether the crashing thread's pc is in a V8 code page.
    pub pc_in_code_page: bool,
    /// What V8's OOM path left on the stack (only read when the frames show that path).
    pub oom: Option<super::oom::OutOfMemory>,
}

/// Classifies the end of the process from its signal and the crashing thread.
pub(crate) fn classify(thread: Option<&ThreadStack>, evidence: Evidence<'_>) -> Reason {
    let image = evidence.image;
    let signal = image.core().signal();
    let facts = signal.map(signal_facts);
    let frames = thread.map(|t| t.frames.as_slice()).unwrap_or_default();
    let pid = image.core().process().map(|p| p.pid);
    let reason = |kind, summary: String| Reason {
        kind,
        summary,
        signal: facts.clone(),
        fault: None,
        oom: None,
        assertion: None,
        v8_message: None,
    };
    let Some(signal) = signal.filter(|s| s.signo != 0 && s.signo != 19) else {
        let how = match signal {
            Some(_) => "signal SIGSTOP: a debugger attached",
            None => "no signal recorded",
        };
        return reason(
            ReasonKind::Snapshot,
            format!("not a crash: a live process dumped by gcore or similar ({how})"),
        );
    };
    // A trap the kernel raised where the instruction before the pc is no `int3`: a debugger's
    // breakpoint stopped the process (gdb puts the pc back on the instruction it patched), not
    // V8's own trap.
    let pc = frames.first().map(|f| f.pc);
    if signal.signo == SIGTRAP && signal.code == SI_KERNEL {
        let before = pc
            .and_then(|pc| pc.checked_sub(1))
            .and_then(|at| image.read_code(at, 1).ok());
        if before.is_some_and(|b| b.first() != Some(&INT3)) {
            let at = frames
                .first()
                .filter(|f| f.function != "??")
                .map(|f| format!(" in {}", f.function))
                .unwrap_or_default();
            return reason(
                ReasonKind::Snapshot,
                format!("not a crash: stopped at a debugger's breakpoint{at}"),
            );
        }
    }
    let js = innermost_js(frames);
    let in_js = |s: String| match &js {
        Some(js) => format!("{s}, in {js}"),
        None => s,
    };
    // Without the executable's symbols no native frame is named: the GC trace on the stack says
    // OOM, and a trap under --abort-on-uncaught-exception (its command line says so) is V8's
    // abort on an uncaught exception.
    let aborts_on_uncaught = aborts_on_uncaught(image);
    let path = match path(frames) {
        Path::None if signal.signo == SIGABRT && evidence.oom.is_some() => Path::OutOfMemory(0),
        Path::None if signal.signo == SIGTRAP && signal.code == SI_KERNEL && aborts_on_uncaught => {
            Path::Uncaught
        }
        // V8's CHECK traps after leaving its message on the stack: found by its markers even
        // when no frame is named.
        Path::None if signal.signo == SIGTRAP && v8_fatal(image, frames).is_some() => Path::V8Check,
        // abort() raises SIGABRT with tkill() on its own thread: without libc's symbols no
        // frame says `abort`, but the signal does.
        Path::None
            if signal.signo == SIGABRT
                && signal.code == SI_TKILL
                && signal.sender_pid.is_some()
                && signal.sender_pid == pid =>
        {
            Path::Abort
        }
        p => p,
    };
    match path {
        Path::OutOfMemory(_) => {
            let oom = evidence.oom.unwrap_or_default();
            let what = match (&oom.location, &oom.message) {
                (Some(l), Some(m)) => format!("{l}: {m}"),
                (Some(l), None) => l.clone(),
                (None, Some(m)) => m.clone(),
                (None, None) => {
                    "V8's fatal out-of-memory handler (the executable would say where V8 gave up)"
                        .to_string()
                }
            };
            let mut r = reason(
                ReasonKind::OutOfMemory,
                in_js(format!("out of memory: {what}")),
            );
            r.oom = Some(oom);
            r
        }
        Path::Uncaught => reason(
            ReasonKind::UncaughtException,
            in_js("uncaught exception (--abort-on-uncaught-exception)".to_string()),
        ),
        Path::V8Check => {
            // V8_Fatal keeps the message on the stack, above the innermost frame.
            let message = v8_fatal(image, frames);
            let mut r = reason(
                ReasonKind::Abort,
                in_js(match &message {
                    Some(m) => format!("abort: V8 fatal error: {m}"),
                    None => "abort: V8 fatal error (a failed CHECK or DCHECK in V8)".to_string(),
                }),
            );
            r.v8_message = message;
            r
        }
        Path::NodeAssert => {
            // The frame above node::Assert made the call: its pc is the return address.
            let assertion = frames
                .iter()
                .position(|f| f.function.starts_with("node::Assert("))
                .and_then(|i| frames.get(i + 1))
                .and_then(|caller| coroner_node::assertion(image, caller.pc));
            let summary = match &assertion {
                Some(a) => in_js(format!(
                    "abort: node assertion failed: {} in {} ({})",
                    a.expression, a.function, a.location
                )),
                None => "abort: an assertion in node failed (node::Assert)".to_string(),
            };
            let mut r = reason(ReasonKind::Abort, summary);
            r.assertion = assertion;
            r
        }
        Path::ProcessAbort => reason(
            ReasonKind::Abort,
            in_js("abort: process.abort() called".to_string()),
        ),
        Path::Abort => {
            // Named native code says who called abort(); else the JavaScript running says where.
            match first_own_frame(frames)
                .filter(|f| matches!(f.kind, NamedKind::Native { .. }) && f.function != "??")
            {
                Some(f) => reason(
                    ReasonKind::Abort,
                    format!("abort() called from {}", f.function),
                ),
                None => reason(ReasonKind::Abort, in_js("abort() called".to_string())),
            }
        }
        Path::None => {
            let facts = signal_facts(signal);
            // A fault a signal handler re-raised (node's, for a fault outside WebAssembly)
            // arrives as sent by the process itself, but the thread is at the faulting
            // instruction, not in a call that sends a signal.
            let sent = signal.code <= 0 && (!is_fault(signal.signo) || in_kill(frames));
            let fault = thread.and_then(|t| t.frames.first()).map(|f| Fault {
                pc: f.pc,
                function: (f.function != "??").then(|| f.function.clone()),
                region: region_of(image, f.pc, evidence.pc_in_code_page),
            });
            let summary = if sent {
                let by = match signal.sender_pid {
                    Some(p) if Some(p) == pid => " by the process itself".to_string(),
                    Some(p) => format!(" by pid {p}"),
                    None => String::new(),
                };
                in_js(format!("{} sent{by}", facts.name))
            } else if let Some(fault) = &fault {
                let at = signal
                    .fault_addr
                    .map(|a| format!(" at {a:#x}"))
                    .unwrap_or_default();
                let func = fault
                    .function
                    .as_deref()
                    .map(|f| format!(" in {f}"))
                    .unwrap_or_default();
                let how = if signal.code <= 0 {
                    " (re-raised by a signal handler: the faulting address is not recorded)"
                        .to_string()
                } else {
                    facts
                        .code_meaning
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                };
                format!("{}{at}{how}{func}, {}", facts.name, fault.region.describe())
            } else {
                facts.name.to_string()
            };
            let kind = if is_fault(signal.signo) || sent {
                ReasonKind::Signal
            } else {
                ReasonKind::Unknown
            };
            let mut r = reason(kind, summary);
            r.fault = fault.filter(|_| !sent);
            r
        }
    }
}

/// Signals the kernel raises for a faulting instruction.
fn is_fault(signo: i32) -> bool {
    matches!(signo, 4 | 7 | 8 | 11)
}

/// Whether the thread stopped in a call that sends a signal (`kill`, `raise`, `pthread_kill`,
/// `tgkill`), as a process sending one to itself does.
fn in_kill(frames: &[NamedFrame]) -> bool {
    frames.iter().take(4).any(|f| {
        let name = f.function.trim_start_matches('_');
        ["kill", "raise", "pthread_kill", "tgkill", "tkill"]
            .iter()
            .any(|k| {
                name == *k || name.starts_with(&format!("{k}@")) || name.ends_with(&format!("_{k}"))
            })
            || name.starts_with("pthread_kill")
    })
}

/// Whether the frames show V8's OOM path, and the index of its outermost frame.
pub(crate) fn oom_frame(frames: &[NamedFrame]) -> Option<usize> {
    match path(frames) {
        Path::OutOfMemory(i) => Some(i),
        _ => None,
    }
}
