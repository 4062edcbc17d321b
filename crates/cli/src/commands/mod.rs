//! The commands a session understands: their syntax (clap) and their dispatch.
//!
//! Every command parses its own options with clap, so `help CMD` and errors come out the same way
//! everywhere, and every command takes `--json`.

mod damage;
pub(crate) mod diff;
mod disasm;
mod dominators;
mod examine;
mod findjsinstances;
mod findjsobjects;
mod findrefs;
mod handles;
mod info;
mod inspect;
mod leaks;
mod nodeinfo;
mod promises;
mod report;
mod retainers;
mod set;
mod snapshot;
mod stack;
mod timers;
pub(crate) mod triage;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::report::ErasedReport;
use crate::session::Session;
use crate::words;
use damage::Warned;

/// One command line, as typed at the prompt or given with `-c`.
#[derive(Debug, Parser)]
#[command(
    name = "",
    no_binary_name = true,
    disable_version_flag = true,
    help_template = "Commands:\n{subcommands}\n\nType `help COMMAND` for its options and an example.\n"
)]
pub struct Line {
    #[command(subcommand)]
    command: Command,
    /// Print the result as one line of JSON (every command takes it).
    #[arg(long, global = true)]
    json: bool,
    /// The command's canonical name (aliases resolved), for messages; set by [`parse`].
    #[arg(skip)]
    name: String,
}

/// Paging options of listings.
#[derive(Debug, Clone, ClapArgs)]
pub struct Page {
    /// Show at most N rows (then Enter at the prompt, or the printed command, shows more).
    #[arg(short = 'n', long = "limit", value_name = "N")]
    pub limit: Option<usize>,
    /// Skip the first K rows.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub offset: usize,
}

impl Page {
    /// `(offset, limit)`.
    pub fn bounds(&self) -> (usize, Option<usize>) {
        (self.offset, self.limit)
    }

    /// The rows of `0..total` to show, and the command for the next page when rows remain.
    pub fn window(&self, total: usize, line: &str) -> (std::ops::Range<usize>, Option<String>) {
        let start = self.offset.min(total);
        let end = match self.limit {
            Some(n) => start.saturating_add(n).min(total),
            None => total,
        };
        (start..end, self.next_command(line, end, total))
    }

    /// `line` with `--offset shown_end`, when a limit cut the listing short.
    pub fn next_command(&self, line: &str, shown_end: usize, total: usize) -> Option<String> {
        if self.limit.is_none() || shown_end >= total {
            return None;
        }
        let words = words::split(line).ok()?;
        let mut kept = Vec::with_capacity(words.len() + 2);
        let mut skip_next = false;
        for w in words {
            if skip_next {
                skip_next = false;
            } else if w == "--offset" {
                skip_next = true;
            } else if !w.starts_with("--offset=") {
                kept.push(w);
            }
        }
        kept.push("--offset".into());
        kept.push(shown_end.to_string());
        Some(words::join(&kept))
    }
}

/// Parses an address as typed: hex with or without `0x`.
pub fn parse_address(text: &str) -> Result<u64, CommandError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u64::from_str_radix(digits, 16)
        .map_err(|_| format!("{text:?} is not an address (hex, like 0x3a8f1c2e4b51)"))
}

/// Checks an `--isolate N` option against the isolates of the core.
pub fn check_isolate(session: &Session, isolate: Option<usize>) -> Result<(), CommandError> {
    let Some(i) = isolate else {
        return Ok(());
    };
    let n = session.analysis()?.model().isolates().len();
    if i >= n {
        return Err(format!(
            "no isolate {i}: this core has {n} (0 to {})",
            n.saturating_sub(1)
        ));
    }
    Ok(())
}

/// Parses the address of a heap object as typed: hex (see [`parse_address`]), or `@ID`, the
/// node id of the object in a heap snapshot coroner wrote of this core (as DevTools shows it).
pub fn object_address(session: &Session, text: &str) -> Result<u64, CommandError> {
    let Some(id) = text.strip_prefix('@') else {
        return parse_address(text);
    };
    let node: u64 = id
        .parse()
        .map_err(|_| format!("{text:?} is not a snapshot node id (@ and a decimal number)"))?;
    let analysis = session.analysis()?;
    coroner_analysis::object_of_node_id(node)
        .and_then(|k| analysis.index().addrs().get(k as usize).copied())
        .ok_or_else(|| {
            format!(
                "{text} is no object of this core's heap snapshot (objects have odd ids below {})",
                coroner_analysis::node_id(analysis.index().len() as u32)
            )
        })
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Why the process died (OOM, uncaught exception, abort, fault, or a live snapshot), on
    /// which thread and JavaScript line, where the memory went, and the crash's signature.
    #[command(
        after_help = "Examples:\n  triage\n  triage --json | jq .reason\n  triage --json | jq -r .signature.hash"
    )]
    Triage(triage::TriageArgs),
    /// The process, its threads, signal, executable and Node/V8 versions.
    #[command(after_help = "Example:\n  info\n  info --json | jq .node_version")]
    Info(info::InfoArgs),
    /// What fills the heap: objects and bytes per constructor, largest first.
    #[command(
        after_help = "Examples:\n  findjsobjects\n  findjsobjects -d -n 20\n  findjsobjects --json | jq '.[0]'"
    )]
    Findjsobjects(findjsobjects::FindJsObjectsArgs),
    /// Every object of one name from findjsobjects, by address.
    #[command(
        after_help = "Examples:\n  findjsinstances Walrus\n  findjsinstances -d -n 5 Walrus\n  findjsinstances '(String)' -n 100"
    )]
    Findjsinstances(findjsinstances::FindJsInstancesArgs),
    /// One value at an address, decoded: properties, elements, strings, functions, ...
    #[command(
        visible_alias = "i",
        visible_alias = "print",
        visible_alias = "p",
        after_help = "Examples:\n  inspect 0x3a8f1c2e4b51\n  inspect -F --depth 2 0x3a8f1c2e4b51\n  inspect -m -s 0x1f2e3d4c5b61"
    )]
    Inspect(inspect::InspectArgs),
    /// Who holds an object: every reference to ADDR with its edge; -n NAME, -s TEXT.
    #[command(
        after_help = "Examples:\n  findrefs 0x3a8f1c2e4b51\n  findrefs -v 0x3a8f1c2e4b51\n  findrefs -n zooKeeper\n  findrefs -s 'zoo-walrus'\n  findrefs 0x3a8f1c2e4b51 --json | jq '.[].text'"
    )]
    Findrefs(findrefs::FindRefsArgs),
    /// The shortest chains of references from a GC root to an object.
    #[command(
        after_help = "Examples:\n  retainers 0x3a8f1c2e4b51\n  retainers -n 10 0x3a8f1c2e4b51\n  retainers --weak 0x3a8f1c2e4b51\n  retainers 0x3a8f1c2e4b51 --json | jq '.paths[].text'"
    )]
    Retainers(retainers::RetainersArgs),
    /// What keeps what alive: the objects retaining most, or what ADDR keeps alive and what
    /// keeps ADDR alive (the dominator tree).
    #[command(
        after_help = "Examples:\n  dominators\n  dominators -n 5\n  dominators 0x3a8f1c2e4b51\n  dominators --json | jq '.dominated[0]'"
    )]
    Dominators(dominators::DominatorsArgs),
    /// Leak suspects: what keeps most of the heap alive, in which pattern (a growing
    /// collection, a closure holding large data, one dominating object, duplicated strings),
    /// and the path that holds it.
    #[command(
        after_help = "Examples:\n  leaks\n  leaks -n 3 --min-percent 5\n  leaks --json | jq '.suspects[0].path'\n  leaks --html report.html\n  leaks --html report.html --since core.earlier"
    )]
    Leaks(leaks::LeaksArgs),
    /// What grew since an earlier core of the same process: per constructor, and the
    /// retainer paths that gained most (objects matched by path, not address).
    #[command(
        after_help = "Examples:\n  diff core.earlier\n  diff core.earlier --paths 3\n  diff core.earlier --json | jq '.paths[0]'\n\nFrom the shell: coroner diff OLD NEW (the same as coroner NEW -c 'diff OLD')."
    )]
    Diff(diff::DiffArgs),
    /// What node knew of itself: versions, command line, working directory, environment,
    /// and its threads (main and workers) with their isolates and event loops.
    #[command(
        after_help = "Examples:\n  nodeinfo\n  nodeinfo --redact\n  nodeinfo --json | jq .versions"
    )]
    Nodeinfo(nodeinfo::NodeInfoArgs),
    /// Pending promises and what waits on them (async functions suspended at an await, .then
    /// handlers), and the microtasks each isolate has queued.
    #[command(
        after_help = "Examples:\n  promises\n  promises --all -n 100\n  promises --json | jq '.pending[].waiters[]'"
    )]
    Promises(promises::PromisesArgs),
    /// Node's diagnostic report (process.report.getReport()) rebuilt from the core: node's
    /// JSON, for the tools that read node's reports.
    #[command(
        after_help = "Examples:\n  report\n  report -o node-report.json\n  report --exclude-env | jq .libuv"
    )]
    Report(report::ReportArgs),
    /// Every libuv handle of every event loop (sockets, servers, timers, child processes,
    /// signals, watchers), with the JS object owning it.
    #[command(
        after_help = "Examples:\n  handles\n  handles --all\n  handles --json | jq '.handles[] | select(.type == \"tcp\")'"
    )]
    Handles(handles::HandlesArgs),
    /// Requests in flight (fs operations in the thread pool, DNS lookups, writes, connects),
    /// with the JS callback waiting on each.
    #[command(after_help = "Examples:\n  requests\n  requests --json | jq '.requests[].path'")]
    Requests(handles::RequestsArgs),
    /// JavaScript timers still scheduled (setTimeout, setInterval) and immediates still queued:
    /// callback, delay, when each is due.
    #[command(
        after_help = "Examples:\n  timers\n  timers --json | jq '.timers[] | select(.repeat)'"
    )]
    Timers(timers::TimersArgs),
    /// Write the heap as a V8 heap snapshot (.heapsnapshot) for Chrome DevTools or memlab.
    #[command(
        after_help = "Examples:\n  snapshot core.heapsnapshot\n  snapshot --isolate 1 worker.heapsnapshot\n\nIn DevTools: Memory, Load profile. An object shown as `Foo @123` is `inspect @123` here."
    )]
    Snapshot(snapshot::SnapshotArgs),
    /// Every thread's stack, or the selected thread's: native and JavaScript frames.
    #[command(
        visible_alias = "backtrace",
        visible_alias = "where",
        after_help = "Examples:\n  bt\n  bt all\n  bt 10\n  bt full\n  bt all --json | jq '.threads[0].frames[]'"
    )]
    Bt(stack::BtArgs),
    /// List the threads, or select one.
    #[command(after_help = "Examples:\n  thread list\n  thread 2")]
    Thread(stack::ThreadArgs),
    /// Select a frame of the selected thread and show it: function, this, arguments, closure.
    #[command(visible_alias = "f", after_help = "Examples:\n  frame 12\n  frame")]
    Frame(stack::FrameArgs),
    /// Select the frame N calls out from the selected one (toward main) and show it.
    #[command(after_help = "Examples:\n  up\n  up 3")]
    Up(stack::MoveArgs),
    /// Select the frame N calls in from the selected one (toward #0) and show it.
    #[command(after_help = "Examples:\n  down\n  down 3")]
    Down(stack::MoveArgs),
    /// The JavaScript source around the selected frame's line (gdb's `list` works too).
    #[command(after_help = "Examples:\n  frame 12\n  source list\n  source list -n 10\n  list")]
    Source(stack::SourceArgs),
    /// Machine code as instructions, with the selected thread's frames marked.
    #[command(
        after_help = "Examples:\n  frame 7\n  disasm\n  disasm Builtins_InterpreterEntryTrampoline -n 20\n  disasm node::Start\n  disasm 0x18cfd1c"
    )]
    Disasm(disasm::DisasmArgs),
    /// Memory as 8-byte words, each with the heap object, function or file it points to
    /// (gdb's `x/Ngx ADDR` works too; `x/Ni ADDR` is `disasm`).
    #[command(
        after_help = "Examples:\n  x 0x3a8f1c2e4b50\n  x -n 16 0x7ffd9c171eb8\n  x/8gx 0x3a8f1c2e4b50\n  x/5i 0x18cfd1c"
    )]
    X(examine::ExamineArgs),
    /// The selected thread's general registers as it stopped, each with the heap object,
    /// function or file it points to (gdb's `info registers` works too).
    #[command(after_help = "Examples:\n  registers\n  thread 3\n  info registers")]
    Registers,
    /// Change a setting: `set pagination off` (long output at a terminal no longer pauses
    /// after each screenful; `--no-pager` does it from the start).
    #[command(after_help = "Examples:\n  set pagination off\n  set pagination on")]
    Set(set::SetArgs),
    /// Leave coroner.
    #[command(visible_alias = "exit", visible_alias = "q")]
    Quit,
}

impl Line {
    /// The command's name, for error messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this command asked for JSON.
    pub fn json(&self) -> bool {
        self.json
    }
}

/// Why a line did not become a command.
pub enum ParseOutcome {
    /// The user asked for help; this is the text to show.
    Help(String),
    /// The line is not a valid command; a one-line reason.
    Error(String),
}

/// Parses one line into a command. A leading `v8` is dropped, so llnode habits
/// (`v8 findjsobjects`) work, and gdb's spellings become coroner's (see [`gdb_spelling`]).
pub fn parse(line: &str) -> Result<Line, ParseOutcome> {
    let mut words = words::split(line).map_err(ParseOutcome::Error)?;
    if words.len() > 1 && words[0] == "v8" {
        words.remove(0);
    }
    gdb_spelling(&mut words).map_err(ParseOutcome::Error)?;
    use clap::{CommandFactory, FromArgMatches};
    let parsed = Line::command().try_get_matches_from(words).and_then(|m| {
        let mut line = Line::from_arg_matches(&m)?;
        line.name = m.subcommand_name().unwrap_or_default().to_string();
        Ok(line)
    });
    parsed.map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                ParseOutcome::Help(e.render().to_string())
            }
            _ => ParseOutcome::Error(first_line(&e.render().to_string())),
        }
    })
}

/// gdb's and lldb's words for coroner's commands, rewritten in place: `list` (`source list`),
/// `info threads` (`thread list`), `info frame` (`frame`), `info registers` (`registers`),
/// `x/Ngx ADDR` (`x -n N ADDR`),
/// `x/Ni ADDR` (`disasm ADDR -n N`). Single-word synonyms (`where`, `p`, `backtrace`) are clap
/// aliases instead, so `help` shows them.
fn gdb_spelling(words: &mut Vec<String>) -> Result<(), String> {
    if let Some(format) = words.first().and_then(|w| w.strip_prefix("x/")) {
        let format = format.to_string();
        words.splice(..1, ["x".to_string(), format!("/{format}")]);
    }
    if words.first().is_some_and(|w| w == "x") {
        if let Some(format) = words.get(1).and_then(|w| w.strip_prefix('/')) {
            let format = format.to_string();
            return examine_format(words, &format);
        }
    }
    let first: Vec<&str> = words.iter().take(2).map(String::as_str).collect();
    let (drop, with): (usize, &[&str]) = match first.as_slice() {
        ["list", ..] => (1, &["source", "list"]),
        ["info", "threads"] => (2, &["thread", "list"]),
        ["info", "frame"] => (2, &["frame"]),
        ["info", "registers"] => (2, &["registers"]),
        _ => return Ok(()),
    };
    words.splice(..drop, with.iter().map(|w| w.to_string()));
    Ok(())
}

/// Rewrites `x /FMT ...` (FMT as gdb's: a count, then letters) to coroner's `x -n N ...`, or to
/// `disasm ... -n N` for instructions. Only 8-byte words (`g`, shown in hex: `x`, or as
/// addresses: `a`) and instructions (`i`) are shown.
fn examine_format(words: &mut Vec<String>, format: &str) -> Result<(), String> {
    let digits = format.len()
        - format
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .len();
    let (count, letters) = format.split_at(digits);
    let count = if count.is_empty() { "1" } else { count };
    let rest: Vec<String> = words.drain(2..).collect();
    words.clear();
    if letters.contains('i') {
        words.push("disasm".into());
        words.extend(rest);
        words.extend(["-n".to_string(), count.to_string()]);
    } else if letters.chars().all(|c| matches!(c, 'g' | 'x' | 'a')) {
        words.extend(["x".to_string(), "-n".to_string(), count.to_string()]);
        words.extend(rest);
    } else {
        return Err(format!(
            "x/{format}: coroner's x shows 8-byte words (x/Ngx, x/Na) or instructions (x/Ni)"
        ));
    }
    Ok(())
}

/// Every command name (with its aliases) and the options it takes, for tab completion.
pub fn vocabulary() -> Vec<(Vec<String>, Vec<String>)> {
    use clap::CommandFactory;
    let mut line = Line::command();
    // Building propagates the global `--json` to every command.
    line.build();
    line.get_subcommands()
        .map(|sub| {
            let names = std::iter::once(sub.get_name().to_string())
                .chain(sub.get_all_aliases().map(str::to_string))
                .collect();
            let options = sub
                .get_arguments()
                .flat_map(|a| {
                    let long = a.get_long().map(|l| format!("--{l}"));
                    let short = a.get_short().map(|c| format!("-{c}"));
                    long.into_iter().chain(short)
                })
                .collect();
            (names, options)
        })
        .collect()
}

/// clap's errors run to several lines (usage, tips); a session prints one, and points to help.
fn first_line(rendered: &str) -> String {
    let line = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command")
        .trim_start_matches("error: ")
        .replace("unrecognized subcommand", "unknown command");
    format!("{line} (try `help`)")
}

/// What a command produced.
pub enum Output {
    /// A result to print, and for a paged listing the command that shows the next page.
    Report {
        /// The result.
        report: Box<dyn ErasedReport>,
        /// The command line that continues this listing, when there is more.
        continuation: Option<String>,
        /// What Enter on an empty line runs next, unannounced, as gdb repeats a command: `up`
        /// again, `x` at the words after these.
        repeat: Option<String>,
    },
    /// The user asked to leave.
    Quit,
}

impl Output {
    /// A complete result.
    fn report(report: impl ErasedReport + 'static) -> Output {
        Output::Report {
            report: Box::new(report),
            continuation: None,
            repeat: None,
        }
    }

    /// A result after which Enter runs `line`.
    fn repeated(report: impl ErasedReport + 'static, line: String) -> Output {
        Output::Report {
            report: Box::new(report),
            continuation: None,
            repeat: Some(line),
        }
    }
}

/// A command's failure, as one line.
pub type CommandError = String;

/// Runs a parsed command; `text` is the line as typed, for the next-page command of listings.
pub fn execute(session: &Session, line: &Line, text: &str) -> Result<Output, CommandError> {
    match &line.command {
        Command::Triage(args) => Ok(Output::report(triage::run(session, args)?)),
        Command::Info(args) => Ok(Output::report(info::run(session, args)?)),
        Command::Findjsobjects(args) => {
            let (report, continuation) = findjsobjects::run(session, args, text)?;
            Ok(Output::Report {
                report: Box::new(report),
                continuation,
                repeat: None,
            })
        }
        Command::Findjsinstances(args) => {
            let (report, continuation) = findjsinstances::run(session, args, text)?;
            let consequence = "instances there are not listed";
            Ok(Output::Report {
                report: Box::new(Warned::new(session, report, consequence)),
                continuation,
                repeat: None,
            })
        }
        Command::Inspect(args) => Ok(Output::report(inspect::run(session, args)?)),
        Command::Findrefs(args) => {
            let (report, continuation) = findrefs::run(session, args, text)?;
            let consequence = "references held there are not listed";
            Ok(Output::Report {
                report: Box::new(Warned::new(session, report, consequence)),
                continuation,
                repeat: None,
            })
        }
        Command::Retainers(args) => Ok(Output::report(Warned::new(
            session,
            retainers::run(session, args)?,
            "a path through them is not seen, so the paths shown may be incomplete",
        ))),
        Command::Dominators(args) => Ok(Output::report(Warned::new(
            session,
            dominators::run(session, args)?,
            "what they held is not counted, and references there are not followed",
        ))),
        Command::Diff(args) => Ok(Output::report(Warned::new(
            session,
            diff::run(session, args)?,
            "what lived there is not counted in this core",
        ))),
        Command::Leaks(args) => Ok(Output::report(Warned::new(
            session,
            leaks::run(session, args)?,
            "what lived there is not counted, and references there are not followed",
        ))),
        Command::Snapshot(args) => Ok(Output::report(Warned::new(
            session,
            snapshot::run(session, args)?,
            "the snapshot lacks what lived there",
        ))),
        Command::Nodeinfo(args) => Ok(Output::report(nodeinfo::run(session, args)?)),
        Command::Promises(args) => Ok(Output::report(promises::run(session, args)?)),
        Command::Report(args) => Ok(Output::report(report::run(session, args)?)),
        Command::Handles(args) => Ok(Output::report(handles::handles(session, args)?)),
        Command::Requests(args) => Ok(Output::report(handles::requests(session, args)?)),
        Command::Timers(args) => Ok(Output::report(timers::run(session, args)?)),
        Command::Bt(args) => Ok(Output::report(stack::bt(session, args)?)),
        Command::Thread(args) => Ok(Output::report(stack::thread(session, args)?)),
        Command::Frame(args) => Ok(Output::report(stack::frame(session, args)?)),
        Command::Up(args) => Ok(Output::repeated(
            stack::up(session, args)?,
            text.to_string(),
        )),
        Command::Down(args) => Ok(Output::repeated(
            stack::down(session, args)?,
            text.to_string(),
        )),
        Command::Source(args) => Ok(Output::report(stack::source(session, args)?)),
        Command::Disasm(args) => Ok(Output::report(disasm::run(session, args)?)),
        Command::X(args) => {
            let (words, next) = examine::run(session, args)?;
            Ok(Output::repeated(words, next))
        }
        Command::Registers => Ok(Output::report(examine::registers(session)?)),
        Command::Set(args) => Ok(Output::report(set::run(session, args)?)),
        Command::Quit => Ok(Output::Quit),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Command};

    fn command(line: &str) -> Command {
        match parse(line) {
            Ok(l) => l.command,
            Err(_) => panic!("{line:?} does not parse"),
        }
    }

    #[test]
    fn gdb_spellings_are_coroner_commands() {
        assert!(matches!(command("where"), Command::Bt(_)));
        assert!(matches!(command("list"), Command::Source(_)));
        assert!(matches!(command("list -n 3"), Command::Source(a) if a.context == 3));
        assert!(matches!(command("info threads"), Command::Thread(a) if a.what == "list"));
        assert!(matches!(command("info frame"), Command::Frame(a) if a.index.is_none()));
        assert!(matches!(command("info --json"), Command::Info(_)));
        assert!(matches!(command("info registers"), Command::Registers));
        assert!(matches!(command("up 2"), Command::Up(a) if a.count == 2));
        assert!(matches!(command("down"), Command::Down(a) if a.count == 1));
        assert!(matches!(command("v8 where"), Command::Bt(_)));
        assert!(
            matches!(command("x/16gx 0x10"), Command::X(a) if a.count == 16 && a.address == "0x10")
        );
        assert!(matches!(command("x /2a 0x10"), Command::X(a) if a.count == 2));
        assert!(matches!(command("x/gx 0x10"), Command::X(a) if a.count == 1));
        assert!(matches!(command("x 0x10"), Command::X(a) if a.count == 8));
        assert!(
            matches!(command("x/5i 0x10"), Command::Disasm(a) if a.count == 5 && a.target.as_deref() == Some("0x10"))
        );
        assert!(matches!(
            parse("x/4s 0x10"),
            Err(super::ParseOutcome::Error(_))
        ));
    }
}
