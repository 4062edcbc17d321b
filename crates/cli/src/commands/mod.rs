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

/// Parses one line into a command.
pub fn parse(line: &str) -> Result<Line, ParseOutcome> {
    let words = words::split(line).map_err(ParseOutcome::Error)?;
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

/// clap's errors run to several lines (usage, tips); a session prints one, and points to help.
fn first_line(rendered: &str) -> String {
    let line = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid command")
        .trim_start_matches("error: ");
    format!("{line} (try `help`)")
}

/// What a command produced.
pub enum Output {
    /// A result to print.
    Report(Box<dyn ErasedReport>),
    /// The user asked to leave.
    Quit,
}

/// What running a line amounted to, for the session loop.
pub enum Outcome {
    /// The command ran.
    Done,
    /// The command failed; its message is already on stderr.
    Failed,
    /// The user asked to leave.
    Quit,
}

/// A command's failure, as one line.
pub type CommandError = String;

/// Runs a parsed command.
pub fn execute(session: &Session, line: &Line) -> Result<Output, CommandError> {
    match &line.command {
        Command::Info(args) => Ok(Output::Report(Box::new(info::run(session, args)?))),
        Command::Quit => Ok(Output::Quit),
    }
}
