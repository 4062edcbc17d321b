//! The command line of the `coroner` binary.

use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};

/// A postmortem debugger for Node.js core dumps.
///
/// Opens CORE (a kernel core, or one written by gdb's gcore) and runs the commands given with -c
/// and --script, in order. Without them it reads commands from standard input: at a terminal,
/// with an interactive prompt (history, tab completion, `help`); otherwise one per line.
#[derive(Debug, Parser)]
#[command(name = "coroner", version, after_help = AFTER_HELP)]
pub struct Args {
    /// The core file to open (zstd, lz4, xz and gzip cores open as they are).
    #[arg(value_name = "CORE", required_unless_present = "latest")]
    pub core: Option<PathBuf>,

    /// Open the newest node core on this machine (where core_pattern sends cores, such as
    /// systemd-coredump's store, or the working directory): `coroner cores` lists them.
    #[arg(long, conflicts_with = "core")]
    pub latest: bool,

    /// The node executable that produced the core (default: the path the core names, if its
    /// build id matches).
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,

    /// A directory holding a copy of the dumped machine's files (`SYSROOT/usr/lib/...`), for
    /// libraries the core names that are not at their paths here.
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,

    /// A directory to search, by file name and build id, for libraries the core names; may be
    /// repeated.
    #[arg(long = "lib-path", value_name = "DIR")]
    pub lib_paths: Vec<PathBuf>,

    /// Use the core alone, as on a machine without the dumped machine's files: open no
    /// executable and no library (V8's layout then comes from coroner's table of the build).
    #[arg(long, conflicts_with_all = ["exe", "sysroot", "lib_paths"])]
    pub core_only: bool,

    /// Read V8's layout as that of this tabled Node release (e.g. 22.23.3), for a core whose
    /// build coroner cannot identify; the layout is checked on the core before it is used.
    #[arg(long, value_name = "VERSION")]
    pub node_version: Option<String>,

    /// Run this command; may be repeated, and the commands run in order.
    #[arg(short = 'c', long = "command", value_name = "CMD")]
    pub commands: Vec<String>,

    /// Run the commands in FILE, one per line (`#` starts a comment), after any -c commands.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,

    /// Print every command's result as one JSON document per line (JSON Lines).
    #[arg(long)]
    pub json: bool,

    /// Stop at the first command that fails, instead of running the rest.
    #[arg(long)]
    pub stop_on_error: bool,

    /// Never pause long output at a terminal (as `set pagination off` at the prompt).
    #[arg(long)]
    pub no_pager: bool,

    /// Withhold what a core holds in confidence from every output and export, so that it can
    /// be shared: string contents and buffer bytes become their length and a digest (equal
    /// values, equal digests, in this run only), and so do environment values and the
    /// arguments after the script; `x` (raw memory) is refused.
    #[arg(long)]
    pub redact: bool,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

impl Args {
    /// The core to open (set by `--latest` when it was not named).
    pub fn core(&self) -> &Path {
        self.core.as_deref().unwrap_or_else(|| Path::new(""))
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What `coroner` alone prints: how to start, in a few lines.
pub const NO_ARGUMENTS: &str = "\
usage: coroner CORE [OPTIONS] [-c COMMAND]...

Opens a Node.js core dump and runs commands on it; without -c, at a prompt (type `help`).
  coroner core                      the prompt: findjsobjects, bt, inspect ADDR, retainers ADDR, ...
  coroner core -c triage            why the process died
  coroner help                      every command;  coroner help COMMAND: one
  coroner cores                     the node cores on this machine; coroner --latest opens the newest
  coroner --help                    every option
";

const AFTER_HELP: &str = "\
Examples:
  coroner core -c info
  coroner --exe ./node core --json -c info | jq .node_version
  coroner --core-only core -c findjsobjects
  coroner core --script queries.txt --stop-on-error
  echo info | coroner core
  coroner help retainers            (the help of a command, as `help retainers` at the prompt)
  coroner cores                     the node cores on this machine, newest first (--all: every core)
  coroner --latest -c triage        the newest of them

Exit status: 0 all commands succeeded, 1 a command failed, 2 the core could not be opened.";
