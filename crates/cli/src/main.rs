//! `coroner`: open a Node.js core and run commands on it, from `-c` or from standard input.
//!
//! Exit status: 0 when every command succeeded, 1 when a command failed (later ones still run),
//! 2 when the core could not be opened or the command line is wrong.

mod args;
mod commands;
mod cores;
mod json;
mod message;
mod page;
mod progress;
mod render;
mod repl;
mod report;
mod session;
mod sigbus;
mod value_json;
mod words;

use std::process::ExitCode;

use clap::Parser;

use crate::args::Args;
use crate::session::{open_image, Session};

/// The core could not be opened, or the command line was wrong.
const EXIT_UNUSABLE: u8 = 2;
/// At least one command failed.
const EXIT_COMMAND_FAILED: u8 = 1;

fn main() -> ExitCode {
    sigbus::install();
    let raw: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if raw.is_empty() {
        eprint!("{}", args::NO_ARGUMENTS);
        return ExitCode::from(EXIT_UNUSABLE);
    }
    // `coroner help [COMMAND]`: the prompt's help, unless a core is really called `help`.
    if raw[0] == "help" && !std::path::Path::new("help").exists() {
        return help(&raw);
    }
    // `coroner cores`: the node cores on this machine, unless a core is really called so.
    if raw[0] == "cores" && !std::path::Path::new("cores").exists() {
        return list_cores(&raw[1..]);
    }
    let parsed = match diff_words(&raw) {
        Some(words) => Args::try_parse_from(words),
        None => Args::try_parse(),
    };
    let args = match parsed {
        Ok(a) => a,
        Err(e) if !e.use_stderr() => {
            // Help and version go to stdout, as clap formats them.
            let _ = e.print();
            return ExitCode::from(0);
        }
        Err(e) => {
            // A usage error is one line, as every other error is.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let line = format!(
                "{} (try `coroner --help`)",
                first.trim_start_matches("error: ")
            );
            eprintln!("coroner: {}", message::clipped(&line));
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let mut args = args;
    if args.latest {
        match cores::find(false).into_iter().next() {
            Some(newest) => {
                eprintln!(
                    "coroner: opening the newest node core: {}",
                    newest.path.display()
                );
                args.core = Some(newest.path);
            }
            None => {
                eprintln!(
                    "coroner: --latest: no node core found (`coroner cores` says where it looked)"
                );
                return ExitCode::from(EXIT_UNUSABLE);
            }
        }
    }
    let image = match open_image(&args) {
        Ok(image) => image,
        Err(e) => {
            eprintln!("coroner: {}", message::clipped(&e.to_string()));
            return ExitCode::from(EXIT_UNUSABLE);
        }
    };
    let session = Session::new(&image, &args);
    match session.run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_COMMAND_FAILED),
        Err(e) => {
            eprintln!("coroner: {}", message::clipped(&e.to_string()));
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

/// `coroner diff OLD NEW [OPTIONS]` as `coroner NEW -c 'diff OLD' [OPTIONS]` (unless a core
/// is really called `diff`): the command line of comparing two cores from the shell.
fn diff_words(raw: &[std::ffi::OsString]) -> Option<Vec<std::ffi::OsString>> {
    if raw.len() < 3 || raw[0] != "diff" || std::path::Path::new("diff").exists() {
        return None;
    }
    let old = raw[1].to_string_lossy().into_owned();
    let mut words = vec!["coroner".into(), raw[2].clone(), "-c".into()];
    words.push(format!("diff {}", words::join(&[old])).into());
    words.extend(raw[3..].iter().cloned());
    Some(words)
}

/// `coroner cores [--all] [--json]`: the node cores on this machine (every core with `--all`),
/// newest first.
fn list_cores(words: &[std::ffi::OsString]) -> ExitCode {
    let (mut all, mut json) = (false, false);
    for w in words {
        match w.to_str() {
            Some("--all") => all = true,
            Some("--json") => json = true,
            _ => {
                let line = format!(
                    "cores takes --all and --json, not {:?} (try `coroner --help`)",
                    w.to_string_lossy()
                );
                eprintln!("coroner: {}", message::clipped(&line));
                return ExitCode::from(EXIT_UNUSABLE);
            }
        }
    }
    let style = report::TextStyle {
        color: !json && report::TextStyle::for_stdout().color,
    };
    let list = cores::CoreList(cores::find(all));
    match report::emit(&list, json, &style, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coroner: writing output: {e}");
            ExitCode::from(EXIT_COMMAND_FAILED)
        }
    }
}

/// `coroner help [COMMAND]`: the same text as `help [COMMAND]` at the prompt.
fn help(words: &[std::ffi::OsString]) -> ExitCode {
    let line: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    match commands::parse(&line.join(" ")) {
        Err(commands::ParseOutcome::Help(text)) => {
            print!("{text}");
            if line.len() == 1 {
                println!("\nTo open a core: coroner CORE (coroner --help for every option).");
            }
            ExitCode::SUCCESS
        }
        Err(commands::ParseOutcome::Error(message)) => {
            eprintln!("coroner: {}", message::clipped(&message));
            ExitCode::from(EXIT_UNUSABLE)
        }
        Ok(_) => {
            eprintln!("coroner: `help` takes a command's name (coroner help)");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}
