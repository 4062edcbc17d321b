//! The commands a session understands: their syntax (clap) and their dispatch.
//!
//! Every command parses its own options with clap, so `help CMD` and errors come out the same way
//! everywhere, and every command takes `--json`.

mod info;

use clap::{Args as ClapArgs, Parser, Subcommand};

use crate::report::ErasedReport;
use crate::session::Session;
use crate::words;

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
}

/// Options every command takes.
#[derive(Debug, Clone, ClapArgs)]
pub struct Common {
    /// Print the result as one line of JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The process, its threads, signal, executable and Node/V8 versions.
    #[command(after_help = "Example:\n  info\n  info --json | jq .node_version")]
    Info(info::InfoArgs),
    /// Leave coroner.
    #[command(visible_alias = "exit", visible_alias = "q")]
    Quit,
}

impl Line {
    /// The command's name, for error messages.
    pub fn name(&self) -> &'static str {
        match self.command {
            Command::Info(_) => "info",
            Command::Quit => "quit",
        }
    }

    /// Whether this command asked for JSON.
    pub fn json(&self) -> bool {
        match &self.command {
            Command::Info(a) => a.common.json,
            Command::Quit => false,
        }
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
/// (`v8 findjsobjects`) work.
pub fn parse(line: &str) -> Result<Line, ParseOutcome> {
    let mut words = words::split(line).map_err(ParseOutcome::Error)?;
    if words.len() > 1 && words[0] == "v8" {
        words.remove(0);
    }
    Line::try_parse_from(words).map_err(|e| {
        use clap::error::ErrorKind;
        match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                ParseOutcome::Help(e.render().to_string())
            }
            _ => ParseOutcome::Error(first_line(&e.render().to_string())),
        }
    })
}

/// Every command name (with its aliases) and the options it takes, for tab completion.
pub fn vocabulary() -> Vec<(Vec<String>, Vec<String>)> {
    use clap::CommandFactory;
    let line = Line::command();
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
        }
    }
}

/// A command's failure, as one line.
pub type CommandError = String;

/// Runs a parsed command.
pub fn execute(session: &Session, line: &Line) -> Result<Output, CommandError> {
    match &line.command {
        Command::Info(args) => Ok(Output::report(info::run(session, args)?)),
        Command::Quit => Ok(Output::Quit),
    }
}
