//! `bt`, `thread`, `frame` and `source list`: where every thread stopped, native and
//! JavaScript frames interleaved, and the details of one frame.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{NamedFrame, ThreadStack};
use serde::Serialize;

use super::CommandError;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `bt`.
#[derive(Debug, ClapArgs)]
pub struct BtArgs {
    /// `all` for every thread, or the most frames to show of the selected thread.
    #[arg(value_name = "all|N")]
    pub what: Option<String>,
}

/// Options of `thread`.
#[derive(Debug, ClapArgs)]
pub struct ThreadArgs {
    /// `list`, or the number of the thread to select (as `thread list` numbers them).
    #[arg(value_name = "list|N")]
    pub what: String,
}

/// Options of `frame`.
#[derive(Debug, ClapArgs)]
pub struct FrameArgs {
    /// The frame to select, by its number in `bt` (default: the selected one).
    #[arg(value_name = "N")]
    pub index: Option<usize>,
}

/// Options of `source`.
#[derive(Debug, ClapArgs)]
pub struct SourceArgs {
    /// `list`: the JavaScript source around the selected frame's line.
    #[arg(value_name = "list")]
    pub what: String,
    /// Lines shown before and after the frame's line.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 5)]
    pub context: u64,
}

/// One thread as `bt` prints it.
#[derive(Debug, Serialize)]
struct ThreadOut {
    number: usize,
    tid: u32,
    current: bool,
    frames: Vec<NamedFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    more_frames: Option<usize>,
    end: String,
}

/// The result of `bt`. JSON: `{"threads": [{"tid", "current", "frames": [...]}]}`.
#[derive(Debug, Serialize)]
pub struct Backtraces {
    threads: Vec<ThreadOut>,
    /// What the frames lack and how to supply it (the executable not at hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn thread_out(number: usize, t: &ThreadStack, limit: Option<usize>) -> ThreadOut {
    let shown = limit.unwrap_or(usize::MAX).min(t.frames.len());
    ThreadOut {
        number,
        tid: t.tid,
        current: t.current,
        frames: t.frames[..shown].to_vec(),
        more_frames: (shown < t.frames.len()).then(|| t.frames.len() - shown),
        end: t.end.clone(),
    }
}

/// `bt [all|N]`.
pub fn bt(session: &Session, args: &BtArgs) -> Result<Backtraces, CommandError> {
    let stacks = session.stacks()?;
    let threads = match args.what.as_deref() {
        Some("all") => stacks
            .iter()
            .enumerate()
            .map(|(i, t)| thread_out(i + 1, t, None))
            .collect(),
        other => {
            let limit = match other {
                None => None,
                Some(n) => Some(
                    n.parse::<usize>()
                        .map_err(|_| format!("{n:?}: expected `all` or a number of frames"))?,
                ),
            };
            let i = session.selected_thread();
            let t = stacks.get(i).ok_or("the core has no threads")?;
            vec![thread_out(i + 1, t, limit)]
        }
    };
    let image = session.image();
    let note = image.exe_file().is_none().then(|| {
        let mut note = "node's native frames are unnamed: its executable is not at hand (pass it with --exe); JavaScript frames are read from the heap".to_string();
        let unreadable = threads
            .iter()
            .flat_map(|t| &t.frames)
            .filter_map(|f| f.source_unreadable)
            .find_map(|addr| image.file_hint(addr));
        if unreadable.is_some() {
            note.push_str(
                ", but the lines in node's own modules need their source, which is in the executable (`@N` is the character offset)",
            );
        }
        note
    });
    Ok(Backtraces { threads, note })
}

impl Report for Backtraces {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for (n, t) in self.threads.iter().enumerate() {
            if n > 0 {
                writeln!(out)?;
            }
            let marker = if t.current { "*" } else { " " };
            writeln!(
                out,
                "{}",
                style.bold(&format!(
                    "{marker} thread #{}: tid {}{}",
                    t.number,
                    t.tid,
                    if t.current { " (current)" } else { "" }
                ))
            )?;
            for (i, f) in t.frames.iter().enumerate() {
                writeln!(out, "    {}", frame_line(i, f, style))?;
            }
            match t.more_frames {
                Some(more) => {
                    writeln!(out, "    {}", style.dim(&format!("... {more} more frames")))?
                }
                None => writeln!(out, "    {}", style.dim(&format!("({})", t.end)))?,
            }
        }
        if let Some(note) = &self.note {
            writeln!(out, "{}", style.dim(&format!("note: {note}")))?;
        }
        Ok(())
    }
}

/// `#3  0x00000000018cfd1c  inner (/app/x.js:25:13) this=<global>, args=(1, "a")`.
fn frame_line(i: usize, f: &NamedFrame, style: &TextStyle) -> String {
    let pc = style.dim(&format!("{:#018x}", f.pc));
    let what = match f.kind {
        "js" => {
            let mut s = style.bold(&f.function);
            if let Some(file) = &f.file {
                s.push_str(&format!(" ({file}"));
                match (f.line, f.column, f.source_position) {
                    (Some(l), Some(c), _) => s.push_str(&format!(":{l}:{c}")),
                    // The source is not readable: the character offset is all there is.
                    (_, _, Some(p)) => s.push_str(&format!(" @{p}")),
                    _ => {}
                }
                s.push(')');
            }
            let mut notes = Vec::new();
            if let Some(t) = f.frame_type.as_deref().filter(|t| *t != "interpreted") {
                notes.push(t);
            }
            if f.position == Some(coroner_analysis::PositionSource::FunctionStart) {
                notes.push("function start");
            }
            if !notes.is_empty() {
                s.push_str(&style.dim(&format!(" [{}]", notes.join(", "))));
            }
            if let Some(this) = &f.this {
                s.push_str(&format!(" this={this}"));
            }
            if let Some(args) = &f.arguments {
                s.push_str(&format!(" args=({})", args.join(", ")));
            }
            s
        }
        "v8" => format!(
            "{} {}",
            f.function,
            style.dim(&format!("<{}>", f.frame_type.as_deref().unwrap_or("v8")))
        ),
        _ => {
            let mut s = f.function.clone();
            if let Some(off) = f.offset {
                s.push_str(&format!("+{off:#x}"));
            }
            if let Some(m) = &f.module {
                s.push_str(&style.dim(&format!(" [{m}]")));
            }
            s
        }
    };
    format!("#{i:<3} {pc}  {what}")
}

/// One row of `thread list`.
#[derive(Debug, Serialize)]
struct ThreadRow {
    number: usize,
    tid: u32,
    current: bool,
    selected: bool,
    frames: usize,
    js_frames: usize,
    top: String,
}

/// The result of `thread list` / `thread N`.
#[derive(Debug, Serialize)]
pub struct ThreadList {
    threads: Vec<ThreadRow>,
}

/// `thread list` or `thread N`.
pub fn thread(session: &Session, args: &ThreadArgs) -> Result<ThreadList, CommandError> {
    let stacks = session.stacks()?;
    if args.what != "list" {
        let n: usize = args
            .what
            .parse()
            .map_err(|_| format!("{:?}: expected `list` or a thread number", args.what))?;
        if n == 0 || n > stacks.len() {
            return Err(format!(
                "no thread #{n}: there are {} (1 to {0})",
                stacks.len()
            ));
        }
        session.select_thread(n - 1);
    }
    let selected = session.selected_thread();
    let rows = stacks
        .iter()
        .enumerate()
        .filter(|(i, _)| args.what == "list" || *i == selected)
        .map(|(i, t)| ThreadRow {
            number: i + 1,
            tid: t.tid,
            current: t.current,
            selected: i == selected,
            frames: t.frames.len(),
            js_frames: t.frames.iter().filter(|f| f.kind == "js").count(),
            top: t
                .frames
                .iter()
                .find(|f| f.kind == "js")
                .or_else(|| t.frames.first())
                .map(|f| f.function.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(ThreadList { threads: rows })
}

impl Report for ThreadList {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for t in &self.threads {
            let mark = if t.selected { "*" } else { " " };
            writeln!(
                out,
                "{mark} #{:<3} tid {:<8} {:>4} frames, {:>3} JS  {}{}",
                t.number,
                t.tid,
                t.frames,
                t.js_frames,
                t.top,
                if t.current {
                    style.dim("  (current)")
                } else {
                    String::new()
                }
            )?;
        }
        Ok(())
    }
}

/// The result of `frame N`.
#[derive(Debug, Serialize)]
pub struct FrameDetail {
    thread: usize,
    index: usize,
    frame: NamedFrame,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variables: Vec<Variable>,
    /// The interpreter's registers (interpreted frames), in short form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_hex")]
    sp: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Variable {
    name: String,
    value: String,
}

fn opt_hex<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&format!("{v:#x}")),
        None => s.serialize_none(),
    }
}

/// `frame [N]`.
pub fn frame(session: &Session, args: &FrameArgs) -> Result<FrameDetail, CommandError> {
    let stacks = session.stacks()?;
    let ti = session.selected_thread();
    let t = stacks.get(ti).ok_or("the core has no threads")?;
    let index = args.index.unwrap_or_else(|| session.selected_frame());
    let f = t.frames.get(index).ok_or_else(|| {
        format!(
            "no frame #{index} in thread #{}: it has {} (0 to {})",
            ti + 1,
            t.frames.len(),
            t.frames.len().saturating_sub(1)
        )
    })?;
    session.select_frame(index);
    let raw = t.raw.frames.get(index);
    let mut variables = Vec::new();
    let mut registers = Vec::new();
    if let Some(coroner_unwind::FrameKind::V8 { js: Some(js), .. }) = raw.map(|r| &r.kind) {
        let heap = session.heap()?;
        let model = heap.model();
        if let Some(words) = raw.and_then(|r| coroner_analysis::interpreter_registers(model, r)) {
            registers = words.into_iter().map(|w| model.short(w)).collect();
        }
        let layout = model.layout();
        if let Some(ctx) = layout.tagging.strong(js.context) {
            if let Ok(vars) = model.context_variables(ctx) {
                variables = vars
                    .into_iter()
                    .map(|(name, word)| Variable {
                        name,
                        value: model.short(word),
                    })
                    .collect();
            }
        }
    }
    Ok(FrameDetail {
        thread: ti + 1,
        index,
        frame: f.clone(),
        variables,
        registers,
        sp: raw.map(|r| r.sp),
    })
}

impl Report for FrameDetail {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(out, "{}", frame_line(self.index, &self.frame, style))?;
        let f = &self.frame;
        let fp = f.fp.map_or("-".to_string(), |v| format!("{v:#x}"));
        let sp = self.sp.map_or("-".to_string(), |v| format!("{v:#x}"));
        writeln!(
            out,
            "  thread #{}, pc {:#x}, sp {sp}, fp {fp}, found by {}",
            self.thread, f.pc, f.found_by
        )?;
        if let Some(t) = &f.frame_type {
            writeln!(out, "  frame type: {t}")?;
        }
        if let Some(c) = f.closure {
            writeln!(
                out,
                "  function: {c:#x} (inspect it for its context and source)"
            )?;
        }
        if let Some(this) = &f.this {
            writeln!(out, "  this: {this}")?;
        }
        if let Some(args) = &f.arguments {
            for (i, a) in args.iter().enumerate() {
                writeln!(out, "  arg {i}: {a}")?;
            }
        }
        if !self.registers.is_empty() {
            writeln!(out, "  {}", style.bold("registers:"))?;
            for (i, r) in self.registers.iter().enumerate() {
                writeln!(out, "    r{i}: {r}")?;
            }
        }
        if !self.variables.is_empty() {
            writeln!(out, "  {}", style.bold("closure context:"))?;
            for v in &self.variables {
                writeln!(out, "    {}: {}", v.name, v.value)?;
            }
        }
        Ok(())
    }
}

/// The result of `source list`.
#[derive(Debug, Serialize)]
pub struct SourceListing {
    file: String,
    line: u64,
    lines: Vec<SourceLine>,
}

#[derive(Debug, Serialize)]
struct SourceLine {
    number: u64,
    text: String,
    current: bool,
}

/// `source list`.
pub fn source(session: &Session, args: &SourceArgs) -> Result<SourceListing, CommandError> {
    if args.what != "list" {
        return Err(format!(
            "{:?}: the only source command is `source list`",
            args.what
        ));
    }
    let stacks = session.stacks()?;
    let t = stacks
        .get(session.selected_thread())
        .ok_or("the core has no threads")?;
    // The selected frame, or the nearest JS frame below it.
    let f = t.frames[session
        .selected_frame()
        .min(t.frames.len().saturating_sub(1))..]
        .iter()
        .find(|f| f.kind == "js" && f.script.is_some() && f.line.is_some())
        .ok_or("no JavaScript frame with a script at or below the selected frame")?;
    let (script, line) = (f.script.unwrap_or(0), f.line.unwrap_or(0));
    let heap = session.heap()?;
    let (text, _) = heap
        .model()
        .script_text(script, 0, u64::MAX, None)
        .map_err(|e| match session.image().file_hint(e.addr()) {
            // node's own modules keep their source in the executable's read-only data.
            Some(hint) => format!("the script's source is not readable: {e}; {hint}"),
            None => e.to_string(),
        })?;
    let first = line.saturating_sub(args.context).max(1);
    let last = line.saturating_add(args.context);
    let lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l))
        .filter(|(n, _)| *n >= first && *n <= last)
        .map(|(number, l)| SourceLine {
            number,
            text: l.to_string(),
            current: number == line,
        })
        .collect();
    Ok(SourceListing {
        file: f.file.clone().unwrap_or_default(),
        line,
        lines,
    })
}

impl Report for SourceListing {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(
            out,
            "{}",
            style.dim(&format!("{}:{}", self.file, self.line))
        )?;
        for l in &self.lines {
            let mark = if l.current { "->" } else { "  " };
            let line = format!("{mark} {:>5}  {}", l.number, l.text);
            if l.current {
                writeln!(out, "{}", style.bold(&line))?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }
}
