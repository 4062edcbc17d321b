//! A debugging session: one opened core, and the loop that runs commands on it.

use std::io::{self, BufRead, IsTerminal, Write};

use coroner_image::{ImageError, OpenOptions, ProcessImage};

use crate::args::Args;
use crate::commands::{self, Outcome};
use crate::report;

/// An open core and the settings commands run with.
pub struct Session {
    image: ProcessImage,
}

impl Session {
    /// Opens the core named on the command line and reports, once, what was not found.
    pub fn open(args: &Args) -> Result<Session, ImageError> {
        let options = OpenOptions {
            exe: args.exe.clone(),
        };
        let image = ProcessImage::open(&args.core, &options)?;
        for w in image.warnings() {
            eprintln!("coroner: warning: {w}");
        }
        Ok(Session { image })
    }

    /// The process image the commands look at.
    pub fn image(&self) -> &ProcessImage {
        &self.image
    }

    /// Runs the `-c` commands, or the lines of standard input when there are none.
    /// Returns whether every command succeeded; `Err` only when output itself failed.
    pub fn run(&self, args: &Args) -> io::Result<bool> {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        let mut all_ok = true;
        if !args.commands.is_empty() {
            for line in &args.commands {
                match self.run_line(line, args.json, &mut out) {
                    Ok(Outcome::Done) => {}
                    Ok(Outcome::Failed) => all_ok = false,
                    Ok(Outcome::Quit) => break,
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(all_ok),
                    Err(e) => return Err(e),
                }
            }
            return Ok(all_ok);
        }
        let stdin = io::stdin();
        let interactive = stdin.is_terminal();
        let mut lines = stdin.lock().lines();
        loop {
            if interactive {
                write!(out, "(coroner) ")?;
                out.flush()?;
            }
            let Some(line) = lines.next() else { break };
            let line = line?;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            match self.run_line(trimmed, args.json, &mut out) {
                Ok(Outcome::Done) => {}
                Ok(Outcome::Failed) => all_ok = false,
                Ok(Outcome::Quit) => break,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(all_ok),
                Err(e) => return Err(e),
            }
        }
        Ok(all_ok)
    }

    /// Parses and runs one command line. Command failures are reported on stderr here and turn
    /// into `Outcome::Failed`; only output errors are returned.
    fn run_line(&self, line: &str, json: bool, out: &mut dyn Write) -> io::Result<Outcome> {
        let parsed = match commands::parse(line) {
            Ok(p) => p,
            Err(commands::ParseOutcome::Help(text)) => {
                write!(out, "{text}")?;
                return Ok(Outcome::Done);
            }
            Err(commands::ParseOutcome::Error(msg)) => {
                eprintln!("coroner: {msg}");
                return Ok(Outcome::Failed);
            }
        };
        let json = json || parsed.json();
        match commands::execute(self, &parsed) {
            Ok(commands::Output::Report(r)) => {
                report::emit(r.as_ref(), json, out)?;
                Ok(Outcome::Done)
            }
            Ok(commands::Output::Quit) => Ok(Outcome::Quit),
            Err(e) => {
                eprintln!("coroner: {}: {e}", parsed.name());
                Ok(Outcome::Failed)
            }
        }
    }
}
