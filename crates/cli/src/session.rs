//! A debugging session: one opened core, the settings commands run with, and the loop that feeds
//! them commands from `-c`, `--script`, standard input or the interactive prompt.

use std::cell::{Cell, OnceCell, RefCell};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use coroner_analysis::Analysis;
use coroner_heap::{HeapModel, Interrupted, Redactor};
use coroner_image::{ImageError, OpenOptions, ProcessImage};
use coroner_v8::{Layout, LayoutError};

use crate::args::{Args, ColorChoice};

/// The longest command line read from standard input or a script: far beyond any command, and
/// a bound on what a stream that never ends a line (`< /dev/zero`) can make coroner hold.
const MAX_COMMAND_LINE: usize = 64 << 10;
/// The largest script read.
const MAX_SCRIPT: u64 = 16 << 20;
use crate::commands::{self, Output};
use crate::progress::{Progress, Spinners};
use crate::report::{self, TextStyle};

/// Opens the core named on the command line and reports, once, what was not found.
pub fn open_image(args: &Args) -> Result<ProcessImage, ImageError> {
    // A compressed core is decompressed first, which takes a while on a big one. (A FIFO is
    // not opened to look: the core's opening refuses it.)
    let regular = std::fs::metadata(args.core()).is_ok_and(|m| m.is_file());
    let compressed = regular
        .then(|| coroner_image::compression_of(args.core()).ok().flatten())
        .flatten();
    let progress = Progress::spinner(
        compressed.is_some() && !args.json && io::stderr().is_terminal(),
        "decompressing the core",
    );
    let image = ProcessImage::open(args.core(), &open_options(args));
    progress.finish();
    let image = image?;
    for w in image.warnings() {
        eprintln!("coroner: warning: {w}");
    }
    Ok(image)
}

/// How the command line says to open cores (its own, and the older core of `diff`).
fn open_options(args: &Args) -> OpenOptions {
    OpenOptions {
        exe: args.exe.clone(),
        sysroot: args.sysroot.clone(),
        lib_paths: args.lib_paths.clone(),
        core_only: args.core_only,
        cache_dir: cache_dir(),
    }
}

/// Where decompressed copies of compressed cores are kept: `CORONER_CACHE_DIR` (empty: none
/// kept), else `$XDG_CACHE_HOME/coroner/cores`, else `~/.cache/coroner/cores`.
fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = std::env::var_os("CORONER_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let base = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("coroner").join("cores"))
}

/// An open core and the settings commands run with.
pub struct Session<'a> {
    image: &'a ProcessImage,
    /// The analyses of the core, opened by the first command that needs the heap (the error
    /// says why it cannot be read).
    analysis: OnceCell<Result<Analysis<'a>, String>>,
    /// The thread and frame `thread N` and `frame N` selected.
    selected_thread: Cell<usize>,
    selected_frame: Cell<usize>,
    json: bool,
    stop_on_error: bool,
    style: TextStyle,
    /// Whether progress may be drawn on stderr (a terminal, and no JSON).
    progress: bool,
    /// The command that continues the last paged listing (run by an empty line at the prompt).
    continuation: RefCell<Option<String>>,
    /// Set by Ctrl-C while a command runs at the prompt; long commands poll it and stop early.
    interrupted: Arc<AtomicBool>,
    /// `--node-version`: the tabled release whose layout to read the core with.
    node_version: Option<String>,
    /// Whether text output at the prompt pauses after a screenful (`set pagination`,
    /// `--no-pager`).
    pagination: Cell<bool>,
    /// The terminal's height, when the prompt runs in one (set before each command).
    screen_rows: Cell<Option<usize>>,
    /// How the core was opened: another core of the same process (`diff OLD`) is opened so.
    open_options: OpenOptions,
    /// `--redact`: string contents, bytes, environment values and arguments withheld from
    /// every output (one key for the run: equal values have equal digests in every command).
    redactor: Option<Redactor>,
}

/// What running one line amounted to.
pub enum Outcome {
    /// The command ran.
    Done,
    /// The command failed; its message is already on stderr.
    Failed,
    /// The user asked to leave.
    Quit,
}

impl<'a> Session<'a> {
    /// A session on `image` with the command line's settings.
    pub fn new(image: &'a ProcessImage, args: &Args) -> Session<'a> {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => TextStyle::for_stdout().color,
        };
        Session {
            image,
            analysis: OnceCell::new(),
            selected_thread: Cell::new(0),
            selected_frame: Cell::new(0),
            json: args.json,
            stop_on_error: args.stop_on_error,
            style: TextStyle { color },
            progress: !args.json && io::stderr().is_terminal(),
            continuation: RefCell::new(None),
            interrupted: Arc::new(AtomicBool::new(false)),
            node_version: args.node_version.clone(),
            pagination: Cell::new(!args.no_pager),
            screen_rows: Cell::new(None),
            open_options: open_options(args),
            redactor: args.redact.then(Redactor::new),
        }
    }

    /// The redactor, under `--redact`.
    pub fn redactor(&self) -> Option<&Redactor> {
        self.redactor.as_ref()
    }

    /// Whether progress may be drawn on stderr (a terminal, and no JSON).
    pub fn shows_progress(&self) -> bool {
        self.progress
    }

    /// Turns pausing after a screenful on or off (`set pagination on|off`).
    pub fn set_pagination(&self, on: bool) {
        self.pagination.set(on);
    }

    /// The terminal's height in rows, for pausing long output; `None` outside a terminal.
    pub fn set_screen_rows(&self, rows: Option<usize>) {
        self.screen_rows.set(rows);
    }

    /// V8's layout for this core: its own build's (or the table covering its release), or the
    /// release `--node-version` names.
    pub fn chosen_layout(&self) -> Result<Layout, LayoutError> {
        self.layout_of(self.image)
    }

    /// V8's layout for `image`, as [`Session::chosen_layout`] chooses it.
    fn layout_of(&self, image: &ProcessImage) -> Result<Layout, LayoutError> {
        match &self.node_version {
            Some(release) => Layout::load_with_table(image, release),
            None => Layout::load(image),
        }
    }

    /// The process image the commands look at.
    pub fn image(&self) -> &'a ProcessImage {
        self.image
    }

    /// The analyses of the core, opened on first use (finding the heap's isolates and pages,
    /// then indexing every object); the error says why the heap cannot be read. Later stages
    /// (references, stacks, roots) are built by the analyses as commands ask for them, with a
    /// spinner while they run.
    pub fn analysis(&self) -> Result<&Analysis<'a>, String> {
        let opened = self
            .analysis
            .get_or_init(|| self.analysis_of(self.image, "reading the V8 heap"));
        opened.as_ref().map_err(Clone::clone)
    }

    /// Another core, opened as this one was (the same executable options): the older core of
    /// `diff OLD`. Its warnings are printed, marked with its path.
    pub fn open_other(&self, core: &std::path::Path) -> Result<ProcessImage, String> {
        let image = ProcessImage::open(core, &self.open_options).map_err(|e| e.to_string())?;
        for w in image.warnings() {
            eprintln!("coroner: warning: {}: {w}", core.display());
        }
        Ok(image)
    }

    /// The analyses of `image` (this session's core, or another), with this session's layout
    /// choice, progress and Ctrl-C.
    pub fn analysis_of<'i>(
        &self,
        image: &'i ProcessImage,
        what: &'static str,
    ) -> Result<Analysis<'i>, String> {
        let progress = Progress::spinner(self.progress, what);
        let layout = self.layout_of(image).map_err(|e| e.to_string())?;
        if let Some(w) = Layout::warning(&layout) {
            progress.finish();
            eprintln!("coroner: warning: {w}");
        }
        let mut model = HeapModel::open_with_layout(image, layout)
            .map_err(|e| e.to_string())?
            .with_interrupt(Arc::clone(&self.interrupted));
        if let Some(r) = &self.redactor {
            model = model.with_redaction(r.clone());
        }
        progress.finish();
        Ok(Analysis::new(image, model).with_progress(Arc::new(Spinners::new(self.progress))))
    }

    /// The selected thread (an index into [`Analysis::stacks`]).
    pub fn selected_thread(&self) -> usize {
        self.selected_thread.get()
    }

    /// Selects a thread, and its innermost frame.
    pub fn select_thread(&self, index: usize) {
        self.selected_thread.set(index);
        self.selected_frame.set(0);
    }

    /// The selected frame of the selected thread.
    pub fn selected_frame(&self) -> usize {
        self.selected_frame.get()
    }

    /// Selects a frame of the selected thread.
    pub fn select_frame(&self, index: usize) {
        self.selected_frame.set(index);
    }

    /// The analyses, if the heap has been read already (for completion, which must not start
    /// a scan).
    pub fn analysis_if_open(&self) -> Option<&Analysis<'a>> {
        self.analysis.get().and_then(|r| r.as_ref().ok())
    }

    /// True once the user pressed Ctrl-C during the running command.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// The flag Ctrl-C sets, for the prompt's signal handler.
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.interrupted)
    }

    /// Runs the commands of `-c` and `--script`; without them, those of standard input, or the
    /// interactive prompt when standard input is a terminal. Returns whether every command
    /// succeeded; `Err` only when the script cannot be read or output fails.
    pub fn run(&self, args: &Args) -> Result<bool, String> {
        let mut batch = Batch { all_ok: true };
        let mut out = io::stdout().lock();
        if args.commands.is_empty() && args.script.is_none() {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                drop(out);
                return crate::repl::run(self).map_err(|e| e.to_string());
            }
            let mut input = stdin.lock();
            while let Some(line) = read_command_line(&mut input, "standard input")? {
                if !batch.feed(self, &line, &mut out)? {
                    break;
                }
            }
            return Ok(batch.all_ok);
        }
        // The script is read before any command runs, so a wrong path fails fast.
        let script = match &args.script {
            Some(path) => read_script(path)?,
            None => String::new(),
        };
        let lines = args
            .commands
            .iter()
            .map(String::as_str)
            .chain(script.lines());
        for line in lines {
            if !batch.feed(self, line, &mut out)? {
                break;
            }
        }
        Ok(batch.all_ok)
    }

    /// Parses and runs one command line. Command failures are reported on stderr here and become
    /// `Outcome::Failed`; only output errors are returned.
    pub fn run_line(&self, line: &str, out: &mut dyn Write) -> io::Result<Outcome> {
        self.interrupted.store(false, Ordering::Relaxed);
        let parsed = match commands::parse(line) {
            Ok(p) => p,
            Err(commands::ParseOutcome::Help(text)) => {
                write!(out, "{text}")?;
                return Ok(Outcome::Done);
            }
            Err(commands::ParseOutcome::Error(msg)) => {
                eprintln!("coroner: {}", crate::message::clipped(&msg));
                return Ok(Outcome::Failed);
            }
        };
        let json = self.json || parsed.json();
        // At a terminal, text is paged: through $PAGER when it is set, else gdb's way.
        let rows = self
            .screen_rows
            .get()
            .filter(|rows| !json && self.pagination.get() && PAGED_ROWS.contains(rows));
        let external = rows.and_then(|_| std::env::var("PAGER").ok());
        let external = external.filter(|p| !p.trim().is_empty());
        // Ctrl-C during an analysis unwinds out of it (HeapModel::check_interrupt): nothing it
        // was building is kept, and the next command builds it afresh.
        let executed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commands::execute(self, &parsed, line)
        }));
        let executed = match executed {
            Ok(result) => result,
            Err(payload) if payload.is::<Interrupted>() => {
                eprintln!("coroner: {}: interrupted", parsed.name());
                return Ok(Outcome::Failed);
            }
            Err(payload) => std::panic::resume_unwind(payload),
        };
        match executed {
            Ok(Output::Report {
                report,
                continuation,
                repeat,
            }) => {
                let mut child = match &external {
                    Some(command) => Some(spawn_pager(command)?),
                    None => None,
                };
                let mut piped = child.as_mut().and_then(|c| c.stdin.take());
                let pager = match (&piped, rows) {
                    (None, Some(rows)) => Some(Pager { rows, lines: 0 }),
                    _ => None,
                };
                let mut out = Interruptible {
                    inner: match &mut piped {
                        Some(stdin) => stdin,
                        None => out,
                    },
                    flag: &self.interrupted,
                    pager,
                };
                let mut written = report::emit(report.as_ref(), json, &self.style, &mut out);
                if written.is_ok() && !json {
                    if let Some(next) = &continuation {
                        let more = self.style.dim(&format!("(more: `{next}`)"));
                        written = writeln!(out, "{more}");
                    }
                }
                // The pager reads to its end once its input closes.
                drop(piped);
                if let Some(mut child) = child {
                    child.wait()?;
                }
                *self.continuation.borrow_mut() = continuation.or(repeat);
                match written {
                    Ok(()) => Ok(Outcome::Done),
                    Err(e) => match Stop::of(&e) {
                        Some(Stop::Interrupted) => {
                            eprintln!("coroner: {}: interrupted", parsed.name());
                            Ok(Outcome::Failed)
                        }
                        Some(Stop::PagerQuit) => Ok(Outcome::Done),
                        // The pager quit before reading everything (`q` in less).
                        None if e.kind() == io::ErrorKind::BrokenPipe && external.is_some() => {
                            Ok(Outcome::Done)
                        }
                        None => Err(e),
                    },
                }
            }
            Ok(Output::Quit) => Ok(Outcome::Quit),
            Err(e) => {
                let line = format!("{}: {e}", parsed.name());
                eprintln!("coroner: {}", crate::message::clipped(&line));
                Ok(Outcome::Failed)
            }
        }
    }

    /// The command that continues the last paged listing, if any.
    pub fn continuation(&self) -> Option<String> {
        self.continuation.borrow().clone()
    }
}

/// Why a listing's output stopped before its end: the error its writes fail with. (Not
/// `ErrorKind::Interrupted`: `write_all` retries that one.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// `q` at the pager's prompt: the rest is not wanted, nothing went wrong.
    PagerQuit,
}

impl Stop {
    fn error(self) -> io::Error {
        io::Error::other(self)
    }

    /// The stop an output error stands for, if it is one.
    fn of(e: &io::Error) -> Option<Stop> {
        e.get_ref()?.downcast_ref::<Stop>().copied()
    }
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Interrupted => "interrupted",
            Stop::PagerQuit => "quit",
        })
    }
}

impl std::error::Error for Stop {}

/// `$PAGER` (run by `sh -c`, as git and man do), reading a command's text on its standard
/// input; with `LESS=FRX` unless `LESS` is set, so that less leaves a screenful or less on the
/// terminal at once and keeps colours.
fn spawn_pager(command: &str) -> io::Result<std::process::Child> {
    let mut pager = std::process::Command::new("sh");
    pager
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::piped());
    if std::env::var_os("LESS").is_none() {
        pager.env("LESS", "FRX");
    }
    pager.spawn().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run the pager {command:?} (PAGER): {e}"),
        )
    })
}

/// Terminal heights the pager works with: a pty whose size nobody set reads as 0 rows (or, from
/// rustyline, as very many), and then nothing is paused.
const PAGED_ROWS: std::ops::RangeInclusive<usize> = 2..=1000;

/// gdb's pagination: after a screenful, a prompt; Enter shows the next screenful, `c` the rest
/// without pausing, `q` stops.
struct Pager {
    rows: usize,
    /// Lines written since the last pause.
    lines: usize,
}

/// What the user answered at the pager's prompt.
enum Answer {
    More,
    All,
    Quit,
}

impl Pager {
    /// Lines that fit before the next pause (one row is the prompt's).
    fn room(&self) -> usize {
        self.rows
            .saturating_sub(1)
            .saturating_sub(self.lines)
            .max(1)
    }

    /// Asks on the terminal, in cooked mode (a line, as gdb reads it).
    fn ask(out: &mut dyn Write) -> io::Result<Answer> {
        write!(
            out,
            "--Type <RET> for more, q to quit, c to continue without paging--"
        )?;
        out.flush()?;
        let mut answer = String::new();
        io::stdin().read_line(&mut answer)?;
        Ok(match answer.trim() {
            "q" | "Q" => Answer::Quit,
            "c" | "C" => Answer::All,
            _ => Answer::More,
        })
    }
}

/// Output that stops once Ctrl-C was pressed, so a long listing returns to the prompt, and at
/// a terminal pauses after each screenful.
struct Interruptible<'o, 'f> {
    inner: &'o mut dyn Write,
    flag: &'f AtomicBool,
    pager: Option<Pager>,
}

/// The most bytes handed to the terminal at once. A report may arrive as one buffer of
/// megabytes, and a terminal's write(2) blocks until all of it is taken: SIGINT cuts that
/// write short, but the flag is set by the Ctrl-C handler's thread a moment later, so the check
/// right after may still miss it. In pieces, the next piece's check sees it.
const WRITE_PIECE: usize = 16 * 1024;

impl Write for Interruptible<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.flag.load(Ordering::Relaxed) {
            return Err(Stop::Interrupted.error());
        }
        let mut piece = &buf[..buf.len().min(WRITE_PIECE)];
        let Some(pager) = &mut self.pager else {
            return self.inner.write(piece);
        };
        // Up to the newline that fills the screen.
        if let Some((end, _)) = piece
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .nth(pager.room() - 1)
        {
            piece = &piece[..=end];
        }
        let n = self.inner.write(piece)?;
        pager.lines += piece[..n].iter().filter(|&&b| b == b'\n').count();
        if pager.lines + 1 >= pager.rows {
            pager.lines = 0;
            self.inner.flush()?;
            match Pager::ask(self.inner)? {
                _ if self.flag.load(Ordering::Relaxed) => return Err(Stop::Interrupted.error()),
                Answer::More => {}
                Answer::All => self.pager = None,
                Answer::Quit => return Err(Stop::PagerQuit.error()),
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Running a sequence of non-interactive commands: blank lines and `#` comments are skipped,
/// failures are counted, and `--stop-on-error` ends the run.
struct Batch {
    all_ok: bool,
}

impl Batch {
    /// Runs `line`; returns whether to go on.
    fn feed(&mut self, session: &Session, line: &str, out: &mut dyn Write) -> Result<bool, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(true);
        }
        match session.run_line(line, out) {
            Ok(Outcome::Done) => Ok(true),
            Ok(Outcome::Failed) => {
                self.all_ok = false;
                Ok(!session.stop_on_error)
            }
            Ok(Outcome::Quit) => Ok(false),
            // A closed pipe (`| head`) is the reader saying it has seen enough.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(format!("writing output: {e}")),
        }
    }
}

/// The next line of `input` (its end of line removed), `None` at the end; an error naming
/// `what` for a line longer than [`MAX_COMMAND_LINE`] or one that is not UTF-8.
fn read_command_line(input: &mut impl BufRead, what: &str) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_COMMAND_LINE).unwrap_or(u64::MAX) + 1;
    let read = (&mut *input)
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("reading {what}: {e}"))?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    } else if line.len() > MAX_COMMAND_LINE {
        return Err(format!(
            "{what}: a line longer than {} KiB: not a command (is it a command script?)",
            MAX_COMMAND_LINE >> 10
        ));
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| format!("{what}: a line that is not UTF-8 text: not a command"))
}

/// The commands of `--script`: a text file of at most [`MAX_SCRIPT`] bytes, or a pipe (`--script
/// <(...)`); a FIFO nobody writes to is an empty script, not a wait for ever.
fn read_script(path: &std::path::Path) -> Result<String, String> {
    let fail = |e: io::Error| format!("{}: {e}", path.display());
    let meta = std::fs::metadata(path).map_err(fail)?;
    let kind = meta.file_type();
    let special = coroner_image::special_file_kind(&kind);
    let pipe = special == Some("a FIFO");
    if !kind.is_file() && !pipe {
        return Err(format!(
            "{}: not a regular file but {}: --script takes a file of commands",
            path.display(),
            special.unwrap_or("a directory")
        ));
    }
    let file = if pipe {
        open_pipe(path)?
    } else {
        std::fs::File::open(path).map_err(fail)?
    };
    let mut text = String::new();
    let mut input = io::BufReader::new(file.take(MAX_SCRIPT + 1));
    let what = path.display().to_string();
    while let Some(line) = read_command_line(&mut input, &what)? {
        if text.len() as u64 + line.len() as u64 >= MAX_SCRIPT {
            return Err(format!(
                "{what}: longer than {} MiB: not a command script",
                MAX_SCRIPT >> 20
            ));
        }
        text.push_str(&line);
        text.push('\n');
    }
    Ok(text)
}

/// How long opening a FIFO may wait for a writer: a pipe from the shell (`--script <(...)`) has
/// one already; a named FIFO nobody writes to would wait for ever.
const PIPE_WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the FIFO at `path` on a thread of its own (opening blocks until a writer comes),
/// giving up after [`PIPE_WRITER_WAIT`].
fn open_pipe(path: &std::path::Path) -> Result<std::fs::File, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::File::open(owned));
    });
    match rx.recv_timeout(PIPE_WRITER_WAIT) {
        Ok(opened) => opened.map_err(|e| format!("{}: {e}", path.display())),
        Err(_) => Err(format!(
            "{}: a FIFO nobody writes to (waited {} s)",
            path.display(),
            PIPE_WRITER_WAIT.as_secs()
        )),
    }
}
