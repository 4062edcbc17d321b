//! `x [-n N] ADDR`: memory as 8-byte words, each with what it points to (a heap object, a
//! function, a file's data). gdb's `x/Ngx ADDR` and `x/Ni ADDR` are rewritten to `x -n N ADDR`
//! and `disasm ADDR -n N` when the line is parsed. `registers` (gdb's `info registers`): the
//! selected thread's registers, annotated the same way.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{MemoryWord, Pointee};
use serde::Serialize;

use super::{object_address, CommandError};
use crate::json::hex;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// The most words one `x` shows.
const MAX_WORDS: usize = 4096;

/// Options of `x`.
#[derive(Debug, ClapArgs)]
pub struct ExamineArgs {
    /// Where to start (hex, with or without 0x, or @ID from a heap snapshot coroner wrote).
    #[arg(value_name = "ADDR")]
    pub address: String,
    /// Words to show (at most 4096).
    #[arg(short = 'n', long, value_name = "N", default_value_t = 8)]
    pub count: usize,
}

/// One word. JSON: `{"address", "value", "points_to"?: {"kind": "object", "address",
/// "offset", "name", "tagged"} | {"kind": "file", "module", "symbol"?, "offset"}}`.
#[derive(Debug, Serialize)]
struct WordRow {
    address: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    points_to: Option<PointeeRow>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum PointeeRow {
    Object {
        address: String,
        offset: u64,
        name: String,
        tagged: bool,
    },
    File {
        module: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        symbol: Option<String>,
        offset: u64,
    },
}

/// The words shown. JSON: `{"words": [...], "end"?}`.
#[derive(Debug, Serialize)]
pub struct Words {
    words: Vec<WordRow>,
    /// Why fewer words than asked for were shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
}

fn pointee_row(p: &Pointee) -> PointeeRow {
    match p {
        Pointee::Object {
            start,
            offset,
            name,
            tagged,
        } => PointeeRow::Object {
            address: hex(*start),
            offset: *offset,
            name: name.clone(),
            tagged: *tagged,
        },
        Pointee::File {
            module,
            symbol,
            offset,
        } => PointeeRow::File {
            module: module.clone(),
            symbol: symbol.clone(),
            offset: *offset,
        },
    }
}

fn row(w: &MemoryWord) -> WordRow {
    WordRow {
        address: hex(w.addr),
        value: format!("{:#018x}", w.value),
        points_to: w.points_to.as_ref().map(pointee_row),
    }
}

/// `  Walrus 0x…+0x18`, `  raise+0x12 [libc.so.6]`: what a value points to, after it.
fn write_pointee(
    out: &mut dyn Write,
    points_to: Option<&PointeeRow>,
    style: &TextStyle,
) -> io::Result<()> {
    match points_to {
        Some(PointeeRow::Object {
            address,
            offset,
            name,
            tagged,
        }) => {
            let inside = if *offset == 0 {
                String::new()
            } else {
                format!("+{offset:#x}")
            };
            let raw = if *tagged { "" } else { ", untagged" };
            write!(out, "  {name} {address}{inside}{}", style.dim(raw))
        }
        Some(PointeeRow::File {
            module,
            symbol,
            offset,
        }) => match symbol {
            Some(s) => write!(out, "  {s}+{offset:#x} [{module}]"),
            None => write!(out, "  [{module}]+{offset:#x}"),
        },
        None => Ok(()),
    }
}

/// Reads the words; also returns the command that shows the words after them (what Enter
/// runs next at the prompt, as in gdb).
pub fn run(session: &Session, args: &ExamineArgs) -> Result<(Words, String), CommandError> {
    if session.redactor().is_some() {
        return Err(
            "raw memory is not shown under --redact (nothing could vet it); run without --redact"
                .into(),
        );
    }
    let addr = object_address(session, &args.address)?;
    if args.count > MAX_WORDS {
        return Err(format!("at most {MAX_WORDS} words at a time"));
    }
    let analysis = session.analysis()?;
    let words = analysis.memory_words(addr, args.count);
    let shown = words.len();
    let end = (shown < args.count).then(|| {
        let at = addr.wrapping_add(8u64.wrapping_mul(shown as u64));
        let mut why = format!("the core does not hold the memory at {at:#x}");
        if let Some(hint) = session.image().file_hint(at) {
            why = format!("{why}: {hint}");
        }
        why
    });
    if words.is_empty() {
        return Err(end.unwrap_or_default());
    }
    let next = format!(
        "x -n {} {:#x}",
        args.count,
        addr.wrapping_add(8u64.wrapping_mul(args.count as u64))
    );
    Ok((
        Words {
            words: words.iter().map(row).collect(),
            end,
        },
        next,
    ))
}

impl Report for Words {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for w in &self.words {
            write!(out, "{}:  {}", w.address, w.value)?;
            write_pointee(out, w.points_to.as_ref(), style)?;
            writeln!(out)?;
        }
        if let Some(end) = &self.end {
            writeln!(out, "{}", style.dim(&format!("({end})")))?;
        }
        Ok(())
    }
}

/// One register. JSON: `{"name", "value", "points_to"?}` (`points_to` as in `x`).
#[derive(Debug, Serialize)]
struct RegisterRow {
    name: &'static str,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    points_to: Option<PointeeRow>,
}

/// The registers of the selected thread. JSON: `{"thread", "tid", "registers": [...],
/// "frame"?}`: `frame`, when a frame other than #0 is selected, its `{"index", "pc", "sp",
/// "fp"?}` (outer frames' other registers are not recovered).
#[derive(Debug, Serialize)]
pub struct Registers {
    thread: usize,
    tid: u32,
    registers: Vec<RegisterRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<FrameRegisters>,
}

#[derive(Debug, Serialize)]
struct FrameRegisters {
    index: usize,
    pc: String,
    sp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fp: Option<String>,
}

/// `registers` (gdb's `info registers`): the selected thread's registers as it stopped.
pub fn registers(session: &Session) -> Result<Registers, CommandError> {
    let analysis = session.analysis()?;
    let ti = session.selected_thread();
    let thread = analysis.stacks().get(ti).ok_or("the core has no threads")?;
    let registers = analysis
        .thread_registers(thread.tid)
        .iter()
        .map(|r| RegisterRow {
            name: r.name,
            value: format!("{:#018x}", r.value),
            points_to: r.points_to.as_ref().map(pointee_row),
        })
        .collect();
    let fi = session.selected_frame();
    let frame = (fi > 0)
        .then(|| thread.frames.get(fi))
        .flatten()
        .map(|f| FrameRegisters {
            index: fi,
            pc: hex(f.pc),
            sp: hex(f.sp),
            fp: f.fp.map(hex),
        });
    Ok(Registers {
        thread: ti + 1,
        tid: thread.tid,
        registers,
        frame,
    })
}

impl Report for Registers {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "thread #{} (tid {}) as it stopped, in frame #0:",
                self.thread, self.tid
            ))
        )?;
        for r in &self.registers {
            write!(out, "{:<4} {}", r.name, r.value)?;
            write_pointee(out, r.points_to.as_ref(), style)?;
            writeln!(out)?;
        }
        if let Some(f) = &self.frame {
            let fp = f.fp.as_deref().unwrap_or("-");
            writeln!(
                out,
                "{}",
                style.dim(&format!(
                    "frame #{} (selected): pc {}, sp {}, fp {fp}; its other registers are not recovered",
                    f.index, f.pc, f.sp
                ))
            )?;
        }
        Ok(())
    }
}
