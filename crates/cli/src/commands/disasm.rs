//! `disasm [ADDR|FUNCTION]`: machine code as x86-64 instructions (capstone), for builtins, JIT
//! code and native functions, with the pcs of the selected thread's frames marked.

use std::io::{self, Write};

use capstone::arch::x86::ArchMode;
use capstone::arch::BuildsCapstone;
use capstone::Capstone;
use clap::Args as ClapArgs;
use coroner_unwind::Unwinder;
use serde::Serialize;

use super::{parse_address, CommandError};
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// The longest x86-64 instruction.
const MAX_INSTRUCTION: usize = 15;
/// The most instructions one `disasm` shows: a function is rarely a tenth of it, and the
/// bytes read for them are allocated up front.
const MAX_COUNT: usize = 100_000;
/// How far back from a pc a function's start may be and still be where disassembly begins.
const MAX_FUNCTION_PREFIX: u64 = 64 * 1024;

/// Options of `disasm`.
#[derive(Debug, ClapArgs)]
pub struct DisasmArgs {
    /// An address (hex), or a function: a symbol as mangled or demangled
    /// (`Builtins_InterpreterEntryTrampoline`, `node::Start`). Default: the selected frame's pc.
    #[arg(value_name = "ADDR|FUNCTION")]
    pub target: Option<String>,
    /// Instructions to show (at most 100000).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 32)]
    pub count: usize,
}

/// One instruction.
#[derive(Debug, Serialize)]
struct Instruction {
    address: String,
    bytes: String,
    mnemonic: String,
    operands: String,
    /// The symbol a direct call or jump goes to.
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    /// `selected` for the selected frame's pc, `frame` for another frame of the thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    mark: Option<&'static str>,
}

/// The result of `disasm`. JSON: `{"start", "symbol"?, "instructions": [...]}`.
#[derive(Debug, Serialize)]
pub struct Disassembly {
    start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    symbol: Option<String>,
    instructions: Vec<Instruction>,
}

/// Disassembles from the address or function asked for.
pub fn run(session: &Session, args: &DisasmArgs) -> Result<Disassembly, CommandError> {
    let image = session.image();
    let unwinder = Unwinder::new(image);
    let frame_pcs: Vec<(u64, bool)> = session
        .analysis()
        .ok()
        .and_then(|a| a.stacks().get(session.selected_thread()))
        .map(|t| {
            t.frames
                .iter()
                .enumerate()
                .map(|(i, f)| (f.pc, i == session.selected_frame()))
                .collect()
        })
        .unwrap_or_default();
    let start = match args.target.as_deref() {
        None => {
            let (pc, _) = frame_pcs
                .iter()
                .find(|(_, selected)| *selected)
                .copied()
                .ok_or("no frame selected (and no address given)")?;
            // Outer frames' pcs are return addresses: the call is the instruction before.
            let return_address = session.selected_frame() > 0;
            function_start(&unwinder, pc, return_address).unwrap_or(pc)
        }
        Some(t) => match parse_address(t) {
            Ok(addr) => addr,
            Err(_) => symbol_address(session, t)?,
        },
    };
    if args.count > MAX_COUNT {
        return Err(format!(
            "at most {MAX_COUNT} instructions are shown at once, not -n {}",
            args.count
        ));
    }
    let symbol = describe(&unwinder, start);
    let mut len = args
        .count
        .saturating_mul(MAX_INSTRUCTION)
        .max(MAX_INSTRUCTION);
    if session.redactor().is_some() {
        // Data read as instructions shows its bytes: only executable memory is disassembled.
        let end = image.code_end(start).ok_or_else(|| {
            format!("{start:#x} is not in executable memory, and --redact disassembles only code")
        })?;
        len = len.min(usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX));
    }
    let code = read_code(session, start, len)?;
    let cs = Capstone::new()
        .x86()
        .mode(ArchMode::Mode64)
        .build()
        .map_err(|e| format!("disassembler: {e}"))?;
    let insns = cs
        .disasm_count(&code, start, args.count)
        .map_err(|e| format!("disassembling {start:#x}: {e}"))?;
    let instructions = insns
        .iter()
        .map(|i| {
            let operands = i.op_str().unwrap_or("").to_string();
            let mnemonic = i.mnemonic().unwrap_or("").to_string();
            let target = (mnemonic.starts_with('j') || mnemonic == "call")
                .then(|| parse_address(&operands).ok())
                .flatten()
                .and_then(|t| describe(&unwinder, t));
            let mark = frame_pcs
                .iter()
                .find(|(pc, _)| *pc == i.address())
                .map(|(_, selected)| if *selected { "selected" } else { "frame" });
            Instruction {
                address: format!("{:#x}", i.address()),
                bytes: i.bytes().iter().map(|b| format!("{b:02x}")).collect(),
                mnemonic,
                operands,
                target,
                mark,
            }
        })
        .collect();
    Ok(Disassembly {
        start: format!("{start:#x}"),
        symbol,
        instructions,
    })
}

/// The start of the native function or builtin containing `pc`, when a symbol says so.
fn function_start(unwinder: &Unwinder<'_>, pc: u64, return_address: bool) -> Option<u64> {
    let sym = unwinder.symbolize(pc, return_address);
    sym.symbol.as_ref()?;
    (sym.offset <= MAX_FUNCTION_PREFIX).then(|| pc - sym.offset)
}

/// `node::Start(int, char**)+0x10 [node]`, when the address is in a named function.
fn describe(unwinder: &Unwinder<'_>, addr: u64) -> Option<String> {
    let sym = unwinder.symbolize(addr, false);
    let name = sym.symbol.as_ref()?;
    let mut s = name.clone();
    if sym.offset != 0 {
        s.push_str(&format!("+{:#x}", sym.offset));
    }
    Some(s)
}

/// The runtime address of an executable symbol, given mangled or as the start of its demangled
/// name (`node::Start` finds `node::Start(int, char**)`).
fn symbol_address(session: &Session, name: &str) -> Result<u64, CommandError> {
    let image = session.image();
    if let Some(addr) = image.exe_runtime_address(name) {
        return Ok(addr);
    }
    let module = image
        .executable()
        .ok_or("no executable to look symbols up in (pass it with --exe)")?;
    let file = module
        .file
        .as_ref()
        .ok_or("the executable is not available to look symbols up in (pass it with --exe)")?;
    // Demangling every symbol is slow, so only candidates whose mangled name contains each
    // `::`-separated part of the name are demangled.
    let parts: Vec<&str> = name.split("::").collect();
    let with_args = format!("{name}(");
    let matches: Vec<(&coroner_image::Symbol, String)> = file
        .symbols()
        .with_prefix("_Z")
        .filter(|s| s.is_function && parts.iter().all(|p| s.name.contains(p)))
        .map(|s| (s, coroner_image::demangle(&s.name)))
        .filter(|(_, d)| d == name || d.starts_with(&with_args))
        .collect();
    // The function itself before compiler-split parts of it (`[clone .cold]`).
    let found = matches
        .iter()
        .find(|(_, d)| !d.contains("[clone"))
        .or_else(|| matches.first())
        .map(|(s, _)| *s)
        .ok_or_else(|| {
            format!("no function or address {name:?} (try a hex address or a mangled name)")
        })?;
    Ok(found.address.wrapping_add(module.bias()))
}

/// Up to `len` bytes of code at `start`, fewer where the mapping ends.
fn read_code(session: &Session, start: u64, len: usize) -> Result<Vec<u8>, CommandError> {
    let image = session.image();
    image
        .read_code(start, len)
        .map_err(|e| match image.file_hint(start) {
            Some(hint) => format!("no code at {start:#x}: {e}; {hint}"),
            None => format!("no code at {start:#x}: {e}"),
        })
}

impl Report for Disassembly {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        if let Some(s) = &self.symbol {
            writeln!(out, "{}", style.bold(&format!("{s}:")))?;
        }
        for i in &self.instructions {
            let mark = match i.mark {
                Some("selected") => "=>",
                Some(_) => "->",
                None => "  ",
            };
            let mut line = format!(
                "{mark} {}  {:<8} {}",
                style.dim(&i.address),
                i.mnemonic,
                i.operands
            );
            if let Some(t) = &i.target {
                line.push_str(&style.dim(&format!("  ; {t}")));
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}
