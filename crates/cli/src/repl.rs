//! The interactive prompt: line editing and history (rustyline), tab completion of commands,
//! their options and the names this core knows (a second Tab lists the candidates), Enter on an
//! empty line to continue the last paged listing or repeat `up`, `down` and `x` (at the next
//! words), Ctrl-C to stop the running command, Ctrl-L to clear, Ctrl-D to leave.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{FileHistory, History};
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use crate::commands;
use crate::session::{Outcome, Session};

const PROMPT: &str = "(coroner) ";
/// Lines kept in the history file.
const HISTORY_LINES: usize = 10_000;

/// Runs the prompt until Ctrl-D or `quit`. Returns whether every command succeeded.
pub fn run(session: &Session) -> rustyline::Result<bool> {
    // Tab completes as far as the candidates agree; a second Tab lists them all (as bash and
    // gdb do). Ctrl-L clears the screen (rustyline's default binding).
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<Completion, FileHistory> = Editor::with_config(config)?;
    let flag = session.interrupt_flag();
    // While a command runs the terminal is in cooked mode, so Ctrl-C arrives as SIGINT: turn it
    // into a flag the command polls. At the prompt rustyline reads Ctrl-C as a key instead.
    // Installed after the editor exists: making one installs rustyline's own SIGINT handler
    // (for its resize pipe), which would otherwise replace this one and let Ctrl-C go unheard.
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        eprintln!("coroner: warning: Ctrl-C will end coroner, not just the command: {e}");
    }
    editor.set_helper(Some(Completion::new()));
    editor.history_mut().set_max_len(HISTORY_LINES)?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the normal first run.
        let _ = editor.load_history(path);
    }
    let mut all_ok = true;
    let mut out = io::stdout();
    loop {
        let line = match editor.readline(PROMPT) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e),
        };
        let trimmed = line.trim();
        let command = if trimmed.is_empty() {
            match session.continuation() {
                Some(next) => next,
                None => continue,
            }
        } else {
            let _ = editor.add_history_entry(trimmed);
            trimmed.to_string()
        };
        if command.starts_with('#') {
            continue;
        }
        session.set_screen_rows(editor.dimensions().map(|(_, rows)| usize::from(rows)));
        match session.run_line(&command, &mut out) {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Failed) => all_ok = false,
            Ok(Outcome::Quit) => break,
            Err(e) => {
                eprintln!("coroner: writing output: {e}");
                all_ok = false;
            }
        }
        let _ = out.flush();
        if let Some(helper) = editor.helper_mut() {
            // (Not after Ctrl-C: the names need the object index, which would then be built
            // with the flag still set.)
            if helper.names.is_empty() && !session.interrupted() {
                if let Some(analysis) = session.analysis_if_open() {
                    helper.names = analysis
                        .known_names()
                        .iter()
                        .map(|n| n.to_string())
                        .collect();
                }
            }
        }
        if session.interrupted() {
            eprintln!("coroner: interrupted");
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = editor.save_history(path) {
            eprintln!(
                "coroner: warning: history not saved to {}: {e}",
                path.display()
            );
        }
    }
    Ok(all_ok)
}

/// `$XDG_DATA_HOME/coroner/history` (or the platform's data directory).
fn history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("coroner").join("history"))
}

/// Commands whose argument is a name from findjsobjects.
const NAME_COMMANDS: [&str; 1] = ["findjsinstances"];

/// Tab completion: command names first, then the options of the command being typed, and the
/// names this core's heap knows (once a command has read the heap).
struct Completion {
    commands: Vec<(Vec<String>, Vec<String>)>,
    names: Vec<String>,
}

impl Completion {
    fn new() -> Completion {
        let mut commands = commands::vocabulary();
        commands.push((vec!["help".into()], Vec::new()));
        Completion {
            commands,
            names: Vec::new(),
        }
    }

    fn candidates(&self, words: &[&str], current: &str) -> Vec<String> {
        let words: Vec<&str> = match words.first() {
            Some(&"v8") => words[1..].to_vec(),
            _ => words.to_vec(),
        };
        let mut out: Vec<String> = match words.first() {
            // The first word: a command name.
            None => self
                .commands
                .iter()
                .flat_map(|(names, _)| names.iter().cloned())
                .collect(),
            // `help CMD`: a command name.
            Some(&"help") => self
                .commands
                .iter()
                .map(|(names, _)| names[0].clone())
                .collect(),
            // Later words: the command's options, or a name from the census.
            Some(cmd) if NAME_COMMANDS.contains(cmd) && !current.starts_with('-') => {
                self.names.clone()
            }
            Some(cmd) => self
                .commands
                .iter()
                .find(|(names, _)| names.iter().any(|n| n == cmd))
                .map(|(_, options)| options.clone())
                .unwrap_or_default(),
        };
        out.retain(|c| c.starts_with(current));
        out.sort();
        out.dedup();
        out
    }
}

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let current = &before[start..];
        let words: Vec<&str> = before[..start].split_whitespace().collect();
        let pairs = self
            .candidates(&words, current)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: format!("{c} "),
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion {
    type Hint = String;
}

impl Highlighter for Completion {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for Completion {}

impl Helper for Completion {}

#[cfg(test)]
mod tests {
    use super::Completion;

    #[test]
    fn completes_commands_then_options() {
        let c = Completion::new();
        assert!(c.candidates(&[], "in").contains(&"info".to_string()));
        assert_eq!(c.candidates(&["info"], "--j"), ["--json"]);
        assert_eq!(c.candidates(&["v8", "info"], "--j"), ["--json"]);
        assert!(c.candidates(&["help"], "").contains(&"info".to_string()));
        assert!(c.candidates(&["nosuch"], "-").is_empty());
        let mut c = Completion::new();
        c.names = vec!["Walrus".into(), "Penguin".into()];
        assert_eq!(c.candidates(&["findjsinstances"], "Wa"), ["Walrus"]);
        assert_eq!(c.candidates(&["findjsinstances"], "-d"), ["-d"]);
    }
}
