//! The command line of the `coroner` binary.

use std::path::PathBuf;

use clap::Parser;

/// A postmortem debugger for Node.js core dumps.
///
/// Opens CORE (a kernel core or one written by gdb's gcore) and runs the commands given with -c,
/// in order; without -c it reads commands from standard input, one per line.
#[derive(Debug, Parser)]
#[command(name = "coroner", version, after_help = AFTER_HELP)]
pub struct Args {
    /// The core file to open.
    #[arg(value_name = "CORE")]
    pub core: PathBuf,

    /// The node executable that produced the core (default: the path the core names, if its
    /// build id matches).
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,

    /// Run this command; may be repeated, and the commands run in order.
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    pub commands: Vec<String>,

    /// Print every command's result as one JSON document per line.
    #[arg(long)]
    pub json: bool,
}

const AFTER_HELP: &str = "\
Examples:
  coroner core -c info
  coroner --exe ./node core -c info --json

Exit status: 0 all commands succeeded, 1 a command failed, 2 the core could not be opened.";
