//! `bt`, `thread`, `frame` and `source list`: where every thread stopped, native and
//! JavaScript frames interleaved, and the details of one frame.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{AsyncFrame, NamedFrame, NamedKind, Place, PositionSource, ThreadStack};
use coroner_unwind::V8FrameType;
use serde::Serialize;

use super::CommandError;
use crate::json;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `bt`.
#[derive(Debug, ClapArgs)]
pub struct BtArgs {
    /// `all` for every thread, `full` for the selected thread's frames with their locals
    /// (interpreter registers and closure variables, as `frame` shows them), or the most frames
    /// to show of the selected thread.
    #[arg(value_name = "all|full|N")]
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

/// Options of `up` and `down`.
#[derive(Debug, ClapArgs)]
pub struct MoveArgs {
    /// How many frames to move.
    #[arg(value_name = "N", default_value_t = 1)]
    pub count: usize,
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

/// One frame as JSON shows it: `{"kind": "js"|"native"|"v8", "pc", "fp"?, "function",
/// "call"?, "offset"?, "module"?, "frame_type"?, "file"?, "line"?, "column"?, "position"?,
/// "source_position"?, "this"?, "arguments"?, "closure"?, "found_by"}`.
#[derive(Debug, Serialize)]
struct FrameJson<'f> {
    kind: &'static str,
    #[serde(serialize_with = "json::address")]
    pc: u64,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::opt_address"
    )]
    fp: Option<u64>,
    function: &'f str,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<&'f str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module: Option<&'f str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame_type: Option<String>,
    #[serde(flatten)]
    place: PlaceJson<'f>,
    #[serde(skip_serializing_if = "Option::is_none")]
    this: Option<&'f str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'f [String]>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "json::opt_address"
    )]
    closure: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    inlined: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    hidden: bool,
    found_by: String,
}

impl<'f> From<&'f NamedFrame> for FrameJson<'f> {
    fn from(f: &'f NamedFrame) -> FrameJson<'f> {
        let mut j = FrameJson {
            kind: "native",
            pc: f.pc,
            fp: f.fp,
            function: &f.function,
            call: None,
            offset: None,
            module: None,
            frame_type: None,
            place: PlaceJson::default(),
            this: None,
            arguments: None,
            closure: None,
            inlined: false,
            hidden: false,
            found_by: f.found_by.to_string(),
        };
        match &f.kind {
            NamedKind::Native { offset, module } => {
                j.offset = *offset;
                j.module = module.as_deref();
            }
            NamedKind::V8 { frame_type } => {
                j.kind = "v8";
                j.frame_type = Some(frame_type.to_string());
            }
            NamedKind::Js(js) => {
                j.kind = "js";
                j.frame_type = Some(js.frame_type.to_string());
                j.call = js.call.as_deref();
                j.place = PlaceJson::from(&js.place);
                j.this = js.this.as_deref();
                // An inlined function's receiver and arguments are not on the stack.
                j.arguments = (!js.inlined).then_some(&js.arguments[..]);
                j.closure = js.closure;
                j.inlined = js.inlined;
                j.hidden = js.hidden;
            }
        }
        j
    }
}

/// An async frame in JSON: `{"kind": "js", "frame_type": "async", "function", "call"?,
/// "file"?, "line"?, "column"?, "position"?, "source_position"?, "closure", "generator"}`.
#[derive(Debug, Serialize)]
struct AsyncFrameJson<'f> {
    kind: &'static str,
    frame_type: &'static str,
    function: &'f str,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<&'f str>,
    #[serde(flatten)]
    place: PlaceJson<'f>,
    #[serde(serialize_with = "json::address")]
    closure: u64,
    #[serde(serialize_with = "json::address")]
    generator: u64,
}

/// Where a frame is in its script, in JSON (flattened into the frame's object): `"file"?,
/// "line"?, "column"?, "position"?, "source_position"?`.
#[derive(Debug, Default, Serialize)]
struct PlaceJson<'f> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'f str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_position: Option<u64>,
}

impl<'f> From<&'f Place> for PlaceJson<'f> {
    fn from(p: &'f Place) -> PlaceJson<'f> {
        PlaceJson {
            file: p.file.as_deref(),
            line: p.line,
            column: p.column,
            position: p.position.map(|p| match p {
                PositionSource::Executing => "executing",
                PositionSource::FunctionStart => "function_start",
            }),
            source_position: p.source_position,
        }
    }
}

/// Serializes async frames in their JSON form.
fn async_frames_json<S: serde::Serializer>(frames: &[AsyncFrame], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(frames.iter().map(|a| AsyncFrameJson {
        kind: "js",
        frame_type: "async",
        function: &a.function,
        call: a.call.as_deref(),
        place: PlaceJson::from(&a.place),
        closure: a.closure,
        generator: a.generator,
    }))
}

/// Serializes frames in their JSON form.
fn frames_json<S: serde::Serializer>(frames: &[NamedFrame], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(frames.iter().map(FrameJson::from))
}

/// One thread as `bt` prints it.
#[derive(Debug, Serialize)]
struct ThreadOut {
    number: usize,
    tid: u32,
    current: bool,
    #[serde(serialize_with = "frames_json")]
    frames: Vec<NamedFrame>,
    #[serde(skip_serializing_if = "Option::is_none")]
    more_frames: Option<usize>,
    end: String,
    /// The async functions awaiting the one the thread resumed (`Error.stack`'s `at async`).
    #[serde(
        serialize_with = "async_frames_json",
        skip_serializing_if = "Vec::is_empty"
    )]
    async_frames: Vec<AsyncFrame>,
    /// `bt full`: each JavaScript frame's registers and closure variables, as `frame` shows
    /// them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locals: Vec<LocalsOut>,
}

/// One frame's locals in `bt full`. JSON: `{"index", "registers"?, "variables"?}`.
#[derive(Debug, Serialize)]
struct LocalsOut {
    index: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variables: Vec<Variable>,
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
        end: t.end.to_string(),
        async_frames: if shown < t.frames.len() {
            Vec::new()
        } else {
            t.async_frames.clone()
        },
        locals: Vec::new(),
    }
}

/// `bt [all|full|N]`.
pub fn bt(session: &Session, args: &BtArgs) -> Result<Backtraces, CommandError> {
    let analysis = session.analysis()?;
    let stacks = analysis.stacks();
    let threads = match args.what.as_deref() {
        Some("all") => stacks
            .iter()
            .enumerate()
            .map(|(i, t)| thread_out(i + 1, t, None))
            .collect(),
        Some("full") => {
            let i = session.selected_thread();
            let t = stacks.get(i).ok_or("the core has no threads")?;
            let mut out = thread_out(i + 1, t, None);
            out.locals = t
                .frames
                .iter()
                .enumerate()
                .filter(|(_, f)| f.js().is_some())
                .map(|(index, f)| {
                    let l = analysis.frame_locals(f);
                    LocalsOut {
                        index,
                        registers: l.registers,
                        variables: l
                            .variables
                            .into_iter()
                            .map(|(name, value)| Variable { name, value })
                            .collect(),
                    }
                })
                .collect();
            vec![out]
        }
        other => {
            let limit =
                match other {
                    None => None,
                    Some(n) => Some(n.parse::<usize>().map_err(|_| {
                        format!("{n:?}: expected `all`, `full` or a number of frames")
                    })?),
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
            .filter_map(|f| f.js()?.place.source_unreadable)
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
                if let Some(l) = t.locals.iter().find(|l| l.index == i) {
                    for (r, value) in l.registers.iter().enumerate() {
                        writeln!(out, "        r{r} = {value}")?;
                    }
                    for v in &l.variables {
                        writeln!(out, "        {} = {}", v.name, v.value)?;
                    }
                }
            }
            match t.more_frames {
                Some(more) => {
                    writeln!(out, "    {}", style.dim(&format!("... {more} more frames")))?
                }
                None => writeln!(out, "    {}", style.dim(&format!("({})", t.end)))?,
            }
            if !t.async_frames.is_empty() {
                writeln!(
                    out,
                    "    {}",
                    style.dim("awaiting (the async functions waiting on the one resumed above):")
                )?;
                for (i, a) in t.async_frames.iter().enumerate() {
                    writeln!(out, "    {}", async_frame_line(i, a, style))?;
                }
            }
        }
        if let Some(note) = &self.note {
            writeln!(out, "{}", style.dim(&format!("note: {note}")))?;
        }
        Ok(())
    }
}

/// `#A0 async middle (/app/x.js:12:3)`.
fn async_frame_line(i: usize, a: &AsyncFrame, style: &TextStyle) -> String {
    let mut s = format!(
        "#A{i:<2} async {}",
        style.bold(a.call.as_deref().unwrap_or(&a.function))
    );
    if let Some(file) = &a.place.file {
        match (a.place.line, a.place.column) {
            (Some(l), Some(c)) => s.push_str(&format!(" ({file}:{l}:{c})")),
            _ => s.push_str(&format!(" ({file})")),
        }
    }
    s.push_str(&style.dim(&format!(" generator={:#x}", a.generator)));
    s
}

/// `#3  0x00000000018cfd1c  inner (/app/x.js:25:13) this=<global>, args=(1, "a")`.
fn frame_line(i: usize, f: &NamedFrame, style: &TextStyle) -> String {
    let pc = style.dim(&format!("{:#018x}", f.pc));
    let what = match &f.kind {
        NamedKind::Js(js) => {
            // A method call reads as V8's stack trace prints it.
            let mut s = style.bold(js.call.as_deref().unwrap_or(&f.function));
            if let Some(file) = &js.place.file {
                s.push_str(&format!(" ({file}"));
                match (js.place.line, js.place.column, js.place.source_position) {
                    (Some(l), Some(c), _) => s.push_str(&format!(":{l}:{c}")),
                    // The source is not readable: the character offset is all there is.
                    (_, _, Some(p)) => s.push_str(&format!(" @{p}")),
                    _ => {}
                }
                s.push(')');
            }
            let mut notes = Vec::new();
            if js.frame_type != V8FrameType::Interpreted {
                notes.push(js.frame_type.to_string());
            }
            if js.inlined {
                notes.push("inlined".to_string());
            }
            if js.hidden {
                notes.push("not in Error.stack".to_string());
            }
            if js.place.position == Some(PositionSource::FunctionStart) {
                notes.push("function start".to_string());
            }
            if !notes.is_empty() {
                s.push_str(&style.dim(&format!(" [{}]", notes.join(", "))));
            }
            if let Some(this) = &js.this {
                s.push_str(&format!(" this={this}"));
            }
            if !js.inlined {
                s.push_str(&format!(" args=({})", js.arguments.join(", ")));
            }
            s
        }
        NamedKind::V8 { frame_type } => {
            format!("{} {}", f.function, style.dim(&format!("<{frame_type}>")))
        }
        NamedKind::Native { offset, module } => {
            let mut s = f.function.clone();
            if let Some(off) = offset {
                s.push_str(&format!("+{off:#x}"));
            }
            if let Some(m) = module {
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
    /// The isolate whose JavaScript the thread runs (`info` lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    isolate: Option<usize>,
}

/// The result of `thread list` / `thread N`.
#[derive(Debug, Serialize)]
pub struct ThreadList {
    threads: Vec<ThreadRow>,
}

/// `thread list` or `thread N`.
pub fn thread(session: &Session, args: &ThreadArgs) -> Result<ThreadList, CommandError> {
    let stacks = session.analysis()?.stacks();
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
            js_frames: t.frames.iter().filter(|f| f.js().is_some()).count(),
            top: t
                .frames
                .iter()
                .find(|f| f.js().is_some())
                .or_else(|| t.frames.first())
                .map(|f| f.function.clone())
                .unwrap_or_default(),
            isolate: t.isolate,
        })
        .collect();
    Ok(ThreadList { threads: rows })
}

impl Report for ThreadList {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for t in &self.threads {
            let mark = if t.selected { "*" } else { " " };
            let isolate = t
                .isolate
                .map_or_else(|| "          ".to_string(), |i| format!("isolate #{i:<2}"));
            writeln!(
                out,
                "{mark} #{:<3} tid {:<8} {isolate} {:>4} frames, {:>3} JS  {}{}",
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
    #[serde(serialize_with = "frame_json")]
    frame: NamedFrame,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    variables: Vec<Variable>,
    /// The interpreter's registers (interpreted frames), in short form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registers: Vec<String>,
    #[serde(serialize_with = "json::address")]
    sp: u64,
}

/// Serializes a frame in its JSON form.
fn frame_json<S: serde::Serializer>(frame: &NamedFrame, s: S) -> Result<S::Ok, S::Error> {
    FrameJson::from(frame).serialize(s)
}

#[derive(Debug, Serialize)]
struct Variable {
    name: String,
    value: String,
}

/// `frame [N]`.
pub fn frame(session: &Session, args: &FrameArgs) -> Result<FrameDetail, CommandError> {
    let analysis = session.analysis()?;
    let stacks = analysis.stacks();
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
    let locals = analysis.frame_locals(f);
    Ok(FrameDetail {
        thread: ti + 1,
        index,
        frame: f.clone(),
        variables: locals
            .variables
            .into_iter()
            .map(|(name, value)| Variable { name, value })
            .collect(),
        registers: locals.registers,
        sp: f.sp,
    })
}

/// `up [N]`: selects the frame N calls out (toward `main`), as gdb's `up`, and shows it.
pub fn up(session: &Session, args: &MoveArgs) -> Result<FrameDetail, CommandError> {
    let analysis = session.analysis()?;
    let ti = session.selected_thread();
    let outermost = analysis
        .stacks()
        .get(ti)
        .map_or(0, |t| t.frames.len().saturating_sub(1));
    let selected = session.selected_frame();
    if selected >= outermost {
        return Err(format!(
            "frame #{selected} is the outermost of thread #{}: there is no caller to go up to",
            ti + 1
        ));
    }
    let index = selected.saturating_add(args.count).min(outermost);
    frame(session, &FrameArgs { index: Some(index) })
}

/// `down [N]`: selects the frame N calls in (toward the innermost, #0), as gdb's `down`.
pub fn down(session: &Session, args: &MoveArgs) -> Result<FrameDetail, CommandError> {
    let selected = session.selected_frame();
    if selected == 0 {
        return Err("frame #0 is the innermost: there is nothing to go down to".into());
    }
    let index = selected.saturating_sub(args.count);
    frame(session, &FrameArgs { index: Some(index) })
}

impl Report for FrameDetail {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(out, "{}", frame_line(self.index, &self.frame, style))?;
        let f = &self.frame;
        let fp = f.fp.map_or("-".to_string(), |v| format!("{v:#x}"));
        writeln!(
            out,
            "  thread #{}, pc {:#x}, sp {:#x}, fp {fp}, found by {}",
            self.thread, f.pc, self.sp, f.found_by
        )?;
        match &f.kind {
            NamedKind::V8 { frame_type } => writeln!(out, "  frame type: {frame_type}")?,
            NamedKind::Js(js) => {
                writeln!(out, "  frame type: {}", js.frame_type)?;
                match js.closure {
                    Some(closure) => writeln!(
                        out,
                        "  function: {closure:#x} (inspect it for its context and source)"
                    )?,
                    None => writeln!(
                        out,
                        "  inlined into the optimized code of the next frame (no closure, \
                         receiver or arguments of its own)"
                    )?,
                }
                if let Some(this) = &js.this {
                    writeln!(out, "  this: {this}")?;
                }
                for (i, a) in js.arguments.iter().enumerate() {
                    writeln!(out, "  arg {i}: {a}")?;
                }
            }
            NamedKind::Native { .. } => {}
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
    let analysis = session.analysis()?;
    let t = analysis
        .stacks()
        .get(session.selected_thread())
        .ok_or("the core has no threads")?;
    // The selected frame, or the nearest JS frame below it.
    let (file, script, line) = t.frames[session
        .selected_frame()
        .min(t.frames.len().saturating_sub(1))..]
        .iter()
        .filter_map(NamedFrame::js)
        .find_map(|js| Some((js.place.file.clone(), js.place.script?, js.place.line?)))
        .ok_or("no JavaScript frame with a script at or below the selected frame")?;
    let (text, _) = analysis
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
        file: file.unwrap_or_default(),
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
