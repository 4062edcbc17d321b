//! `triage`: why the process died, where, what the heap and the process's memory looked like,
//! and a signature to group the core with others of the same bug. The first command to run on
//! a core (WinDbg's `!analyze`, .NET's crash report); it reads no more than it needs (no walk of
//! the whole heap), and answers without the heap when the heap cannot be read.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::triage::{self, Thrown, Triage};
use coroner_analysis::NamedKind;
use coroner_heap::{ErrorStack, HeapStatistics};
use serde::Serialize;

use super::CommandError;
use crate::json::hex;
use crate::render::size;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `triage`.
#[derive(Debug, ClapArgs)]
pub struct TriageArgs {}

/// The result of `triage`. JSON: `{"reason", "thread", "js_stack", "memory", "signature",
/// "warnings"}`; field names are part of the JSON interface.
#[derive(Debug, Serialize)]
pub struct TriageReport {
    reason: ReasonJson,
    thread: Option<ThreadJson>,
    js_stack: Vec<StackJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception: Option<ExceptionJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heap: Option<HeapJson>,
    memory: Vec<MemoryJson>,
    signature: SignatureJson,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ReasonJson {
    /// `out-of-memory`, `uncaught-exception`, `abort`, `signal`, `snapshot`, `unknown`.
    kind: &'static str,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<SignalJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<FaultJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oom: Option<OomJson>,
    /// A failed assertion in node: `{"expression", "function", "location", "address"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    assertion: Option<AssertionJson>,
    /// A failed CHECK in V8: what `V8_Fatal` printed (`Check failed: ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    v8_message: Option<String>,
}

#[derive(Debug, Serialize)]
struct AssertionJson {
    expression: String,
    function: String,
    location: String,
    address: String,
}

#[derive(Debug, Serialize)]
struct SignalJson {
    number: i32,
    name: &'static str,
    code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_meaning: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sender_pid: Option<u32>,
}

#[derive(Debug, Serialize)]
struct FaultJson {
    pc: String,
    function: Option<String>,
    /// `jit`, `node`, `addon`, `library` or `unmapped`.
    #[serde(rename = "in")]
    region: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    module: Option<String>,
    /// The faulting instruction and the address its memory operand names, computed from the
    /// thread's registers (what a kernel core loses when a signal handler re-raises the fault).
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<AccessJson>,
}

#[derive(Debug, Serialize)]
struct AccessJson {
    instruction: String,
    address: String,
}

#[derive(Debug, Serialize)]
struct OomJson {
    location: Option<String>,
    message: Option<String>,
    last_gcs: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ThreadJson {
    index: usize,
    tid: u32,
    isolate: Option<usize>,
    /// The innermost frames: `{"function", "kind": "native"|"js"|"v8", "module"?}`.
    frames: Vec<FrameJson>,
    total_frames: usize,
}

#[derive(Debug, Serialize)]
struct FrameJson {
    function: String,
    kind: &'static str,
    pc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    module: Option<String>,
}

/// `{"function", "file", "line", "column", "async"?}` (`async` only on async functions awaiting).
#[derive(Debug, Serialize)]
struct StackJson {
    function: String,
    file: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
    #[serde(rename = "async", skip_serializing_if = "std::ops::Not::not")]
    is_async: bool,
}

/// The thrown value: `{"address", "value", "constructor", "message", "stack", "formatted_stack"?}`.
/// `stack` holds the frames V8 captured (`[{"function", "file", "line", "column"}]`), decoded
/// from the call sites, or parsed from the formatted string when `.stack` was read (which is
/// then in `formatted_stack` too).
#[derive(Debug, Serialize)]
struct ExceptionJson {
    address: Option<String>,
    value: String,
    constructor: Option<String>,
    message: Option<String>,
    stack: Vec<StackJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    formatted_stack: Option<String>,
}

/// The heaps: `{"isolates": [{"index", "spaces": [{"name", "committed", "used"}],
/// "committed", "used", "limit", "external"}], "committed", "used", "limit", "external"}` (the
/// totals over the isolates), as `v8.getHeapStatistics()` (`total_heap_size`,
/// `used_heap_size`, `heap_size_limit`, `external_memory`) and `v8.getHeapSpaceStatistics()`
/// (`space_name`, `space_size`, `space_used_size`) name them.
#[derive(Debug, Serialize)]
struct HeapJson {
    isolates: Vec<IsolateHeapJson>,
    committed: u64,
    used: Option<u64>,
    limit: Option<u64>,
    external: Option<u64>,
}

#[derive(Debug, Serialize)]
struct IsolateHeapJson {
    index: usize,
    spaces: Vec<SpaceJson>,
    committed: u64,
    used: Option<u64>,
    limit: Option<u64>,
    external: Option<u64>,
}

#[derive(Debug, Serialize)]
struct SpaceJson {
    name: &'static str,
    committed: u64,
    used: Option<u64>,
}

fn heap(isolates: &[HeapStatistics]) -> Option<HeapJson> {
    if isolates.is_empty() {
        return None;
    }
    let total = |f: fn(&HeapStatistics) -> Option<u64>| {
        isolates
            .iter()
            .map(f)
            .try_fold(0u64, |sum, v| v.map(|v| sum.saturating_add(v)))
    };
    Some(HeapJson {
        isolates: isolates
            .iter()
            .map(|h| IsolateHeapJson {
                index: h.isolate,
                spaces: h
                    .spaces
                    .iter()
                    .map(|s| SpaceJson {
                        name: s.space.statistics_name(),
                        committed: s.committed,
                        used: s.used,
                    })
                    .collect(),
                committed: h.committed(),
                used: h.used(),
                limit: h.limit,
                external: h.external,
            })
            .collect(),
        committed: isolates.iter().map(HeapStatistics::committed).sum(),
        used: total(HeapStatistics::used),
        limit: total(|h| h.limit),
        external: total(|h| h.external),
    })
}

#[derive(Debug, Serialize)]
struct MemoryJson {
    category: &'static str,
    /// Bytes the core holds for it.
    bytes: u64,
    /// Bytes of address space mapped.
    mapped: u64,
}

#[derive(Debug, Serialize)]
struct SignatureJson {
    hash: String,
    parts: Vec<String>,
}

/// Runs triage on the session's core, with its heap when the heap can be read.
pub fn run(session: &Session, _args: &TriageArgs) -> Result<TriageReport, CommandError> {
    let (analysis, heap_error) = match session.analysis() {
        Ok(a) => (Some(a), None),
        Err(e) => (None, Some(e)),
    };
    let mut report = report(triage::triage(
        session.image(),
        analysis,
        heap_error.as_deref(),
    ));
    let thread = report.thread.as_ref().map(|t| t.index);
    if let (Some(fault), Some(thread)) = (report.reason.fault.as_mut(), thread) {
        fault.access = parse_hex(&fault.pc).and_then(|pc| access(session, thread, pc));
    }
    Ok(report)
}

fn parse_hex(text: &str) -> Option<u64> {
    u64::from_str_radix(text.trim_start_matches("0x"), 16).ok()
}

/// The memory access of the instruction at `pc`, where thread `thread` stopped: the
/// instruction as disassembled, and the address of its memory operand from the thread's
/// registers (`None` without a memory operand, or one relative to a segment base).
fn access(session: &Session, thread: usize, pc: u64) -> Option<AccessJson> {
    use capstone::arch::x86::{ArchMode, X86OperandType};
    use capstone::arch::{ArchDetail, BuildsCapstone, DetailsArchInsn};
    use capstone::{Capstone, RegId};

    /// Longest x86-64 instruction.
    const MAX_INSTRUCTION: usize = 15;
    let image = session.image();
    let regs = &image.core().threads().get(thread)?.regs;
    if regs.rip != pc {
        return None;
    }
    let code = image.read_code(pc, MAX_INSTRUCTION).ok()?;
    let cs = Capstone::new()
        .x86()
        .mode(ArchMode::Mode64)
        .detail(true)
        .build()
        .ok()?;
    let insns = cs.disasm_count(&code, pc, 1).ok()?;
    let insn = insns.iter().next()?;
    let detail = cs.insn_detail(insn).ok()?;
    let ArchDetail::X86Detail(x86) = detail.arch_detail() else {
        return None;
    };
    let mem = x86.operands().find_map(|op| match op.op_type {
        X86OperandType::Mem(m) => Some(m),
        _ => None,
    })?;
    if mem.segment() != RegId(0) {
        return None;
    }
    let next = pc.wrapping_add(insn.len() as u64);
    let reg = |id: RegId| -> Option<u64> {
        if id == RegId(0) {
            return Some(0);
        }
        match cs.reg_name(id)?.as_str() {
            "rip" => Some(next),
            name => regs.named(name),
        }
    };
    let address = reg(mem.base())?
        .wrapping_add(reg(mem.index())?.wrapping_mul(u64::try_from(mem.scale()).ok()?))
        .wrapping_add_signed(mem.disp());
    Some(AccessJson {
        instruction: format!("{} {}", insn.mnemonic()?, insn.op_str()?),
        address: hex(address),
    })
}

fn report(t: Triage) -> TriageReport {
    let r = &t.reason;
    TriageReport {
        reason: ReasonJson {
            kind: r.kind.as_str(),
            summary: r.summary.clone(),
            signal: r.signal.as_ref().map(|s| SignalJson {
                number: s.number,
                name: s.name,
                code: s.code,
                code_meaning: s.code_meaning,
                fault_address: s.fault_address.map(hex),
                sender_pid: s.sender_pid,
            }),
            fault: r.fault.as_ref().map(|f| FaultJson {
                pc: hex(f.pc),
                function: f.function.clone(),
                region: f.region.as_str(),
                module: f.region.module().map(str::to_string),
                access: None,
            }),
            oom: r.oom.as_ref().map(|o| OomJson {
                location: o.location.clone(),
                message: o.message.clone(),
                last_gcs: o.last_gcs.clone(),
            }),
            assertion: r.assertion.as_ref().map(|a| AssertionJson {
                expression: a.expression.clone(),
                function: a.function.clone(),
                location: a.location.clone(),
                address: hex(a.address),
            }),
            v8_message: r.v8_message.clone(),
        },
        thread: t.thread.as_ref().map(|th| ThreadJson {
            index: th.index,
            tid: th.tid,
            isolate: th.isolate,
            frames: th
                .frames
                .iter()
                .map(|f| {
                    let (kind, module) = match &f.kind {
                        NamedKind::Native { module, .. } => ("native", module.clone()),
                        NamedKind::V8 { .. } => ("v8", None),
                        NamedKind::Js(_) => ("js", None),
                    };
                    FrameJson {
                        function: f.function.clone(),
                        kind,
                        pc: hex(f.pc),
                        module,
                    }
                })
                .collect(),
            total_frames: th.total_frames,
        }),
        js_stack: t
            .js_stack
            .iter()
            .map(|e| StackJson {
                function: e.function.clone(),
                file: e.file.clone(),
                line: e.line,
                column: e.column,
                is_async: e.is_async,
            })
            .collect(),
        exception: t.exception.as_ref().map(exception),
        heap: heap(&t.heap),
        memory: t
            .memory
            .iter()
            .map(|s| MemoryJson {
                category: s.category.as_str(),
                bytes: s.in_core,
                mapped: s.mapped,
            })
            .collect(),
        signature: SignatureJson {
            hash: t.signature.hash.clone(),
            parts: t.signature.parts.clone(),
        },
        warnings: t.warnings,
    }
}

fn exception(e: &Thrown) -> ExceptionJson {
    let (stack, formatted_stack) = match &e.stack {
        Some(ErrorStack::Captured(sites)) => (
            sites
                .iter()
                .map(|s| StackJson {
                    function: s
                        .function
                        .clone()
                        .unwrap_or_else(|| "<anonymous>".to_string()),
                    file: s.file.clone(),
                    line: s.position.map(|p| p.line),
                    column: s.position.map(|p| p.column),
                    is_async: s.is_async,
                })
                .collect(),
            None,
        ),
        Some(ErrorStack::Formatted(text)) => (parse_formatted(text), Some(text.clone())),
        None => (Vec::new(), None),
    };
    ExceptionJson {
        address: e.address.map(hex),
        value: e.short.clone(),
        constructor: e.constructor.clone(),
        message: e.message.clone(),
        stack,
        formatted_stack,
    }
}

/// The frames of a stack V8 formatted: its `    at f (file:line:column)` and `    at
/// file:line:column` lines.
fn parse_formatted(text: &str) -> Vec<StackJson> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("at "))
        .map(|l| {
            let (is_async, l) = match l.strip_prefix("async ") {
                Some(rest) => (true, rest),
                None => (false, l),
            };
            let (function, place) = match l.strip_suffix(')').and_then(|l| l.rsplit_once(" (")) {
                Some((f, p)) => (f.to_string(), p),
                None => ("<anonymous>".to_string(), l),
            };
            // file:line:column, the file itself possibly holding colons (`node:internal/x`).
            let mut parts = place.rsplitn(3, ':');
            let column = parts.next().and_then(|c| c.parse().ok());
            let line = parts.next().and_then(|c| c.parse().ok());
            match (parts.next(), line, column) {
                (Some(file), Some(line), Some(column)) => StackJson {
                    function,
                    file: Some(file.to_string()),
                    line: Some(line),
                    column: Some(column),
                    is_async,
                },
                _ => StackJson {
                    function,
                    file: Some(place.to_string()),
                    line: None,
                    column: None,
                    is_async,
                },
            }
        })
        .collect()
}

/// Width of the labels of the text form.
const LABEL: usize = 11;

impl Report for TriageReport {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        let label = |out: &mut dyn Write, l: &str, value: &str| {
            let pad = " ".repeat(LABEL.saturating_sub(l.len()));
            writeln!(out, "{}{pad}{value}", style.bold(l))
        };
        label(
            out,
            "reason:",
            &format!("{} ({})", self.reason.summary, self.reason.kind),
        )?;
        if let Some(s) = &self.reason.signal {
            let mut text = format!("{} ({})", s.name, s.number);
            if let Some(m) = s.code_meaning {
                text.push_str(&format!(", {m}"));
            }
            if let Some(a) = &s.fault_address {
                text.push_str(&format!(", address {a}"));
            }
            if let Some(p) = s.sender_pid {
                text.push_str(&format!(", from pid {p}"));
            }
            label(out, "signal:", &text)?;
        }
        if let Some(f) = &self.reason.fault {
            let module = f
                .module
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            let func = f.function.as_deref().unwrap_or("??");
            label(
                out,
                "fault:",
                &format!("pc {} in {func}: {}{module}", f.pc, f.region),
            )?;
            if let Some(a) = &f.access {
                writeln!(out, "    accessing {} (`{}`)", a.address, a.instruction)?;
            }
        }
        if let Some(t) = &self.thread {
            let isolate = t
                .isolate
                .map(|i| format!(", isolate {i}"))
                .unwrap_or_default();
            label(
                out,
                "thread:",
                &format!(
                    "#{} tid {}{isolate} (`thread {}` then `bt` for all {} frames)",
                    t.index, t.tid, t.index, t.total_frames
                ),
            )?;
            for (i, f) in t.frames.iter().enumerate() {
                let module = f
                    .module
                    .as_deref()
                    .map(|m| format!(" [{m}]"))
                    .unwrap_or_default();
                writeln!(out, "    #{i:<3} {}{module}", f.function)?;
            }
        }
        if !self.js_stack.is_empty() {
            writeln!(out, "{}", style.bold("JavaScript stack:"))?;
            for e in &self.js_stack {
                let at = match (&e.file, e.line) {
                    (Some(f), Some(l)) => format!(" ({f}:{l}:{})", e.column.unwrap_or(0)),
                    (Some(f), None) => format!(" ({f})"),
                    _ => String::new(),
                };
                let awaiting = if e.is_async { "async " } else { "" };
                writeln!(out, "    at {awaiting}{}{at}", e.function)?;
            }
        }
        if let Some(e) = &self.exception {
            let what = match (&e.constructor, &e.message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                _ => e.value.clone(),
            };
            let at = e
                .address
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            label(out, "thrown:", &format!("{what}{at}"))?;
            for s in &e.stack {
                let at = match (&s.file, s.line) {
                    (Some(f), Some(l)) => format!(" ({f}:{l}:{})", s.column.unwrap_or(0)),
                    (Some(f), None) => format!(" ({f})"),
                    _ => String::new(),
                };
                writeln!(out, "    at {}{at}", s.function)?;
            }
        }
        if let Some(oom) = &self.reason.oom {
            if !oom.last_gcs.is_empty() {
                writeln!(out, "{}", style.bold("last GCs:"))?;
                for l in &oom.last_gcs {
                    writeln!(out, "    {l}")?;
                }
            }
        }
        if let Some(h) = &self.heap {
            let or_unknown = |v: Option<u64>| v.map_or_else(|| "?".to_string(), size);
            label(
                out,
                "heap:",
                &format!(
                    "{} used of {} committed, limit {}, external {}",
                    or_unknown(h.used),
                    size(h.committed),
                    or_unknown(h.limit),
                    or_unknown(h.external)
                ),
            )?;
            for i in &h.isolates {
                let spaces: Vec<String> = i
                    .spaces
                    .iter()
                    .map(|s| match s.used {
                        Some(u) => format!("{} {}/{}", s.name, size(u), size(s.committed)),
                        None => format!("{} {}", s.name, size(s.committed)),
                    })
                    .collect();
                writeln!(out, "    isolate {}: {}", i.index, spaces.join(", "))?;
            }
        }
        writeln!(out, "{}", style.bold("memory:"))?;
        for m in &self.memory {
            writeln!(
                out,
                "    {:<22}{:>12} mapped{:>12} in the core",
                m.category,
                size(m.mapped),
                size(m.bytes)
            )?;
        }
        label(out, "signature:", &self.signature.hash)?;
        for w in &self.warnings {
            writeln!(out, "warning: {w}")?;
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}
