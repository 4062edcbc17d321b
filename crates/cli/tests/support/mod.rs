//! Running the real `coroner` binary from tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// What one run of the binary printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Parses stdout as JSON Lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }
}

/// Runs `coroner ARGS...` with no standard input.
pub fn coroner<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run coroner");
    Run::from(out)
}

/// Runs coroner on `core` with `--exe exe` and the given `-c` commands.
pub fn on_core(core: &Path, exe: &Path, commands: &[&str], json: bool) -> Run {
    with_commands(
        vec![core.into(), "--exe".into(), exe.into()],
        commands,
        json,
    )
}

/// Runs coroner on `core` alone (`--core-only`: no executable, no library) with the given `-c`
/// commands.
pub fn core_only(core: &Path, commands: &[&str], json: bool) -> Run {
    with_commands(vec![core.into(), "--core-only".into()], commands, json)
}

/// Runs coroner with `args`, then `--json` if asked, then `-c COMMAND` for each command.
fn with_commands(mut args: Vec<std::ffi::OsString>, commands: &[&str], json: bool) -> Run {
    if json {
        args.push("--json".into());
    }
    for c in commands {
        args.push("-c".into());
        args.push((*c).into());
    }
    coroner(args)
}

/// Asserts the run failed to open its input: exit 2, exactly one line on stderr that contains
/// `needle`, nothing on stdout, and no panic.
pub fn assert_unusable(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "panic: {}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "want one line on stderr, got: {:?}",
        run.stderr
    );
    assert!(
        lines[0].contains(needle),
        "stderr {:?} should mention {needle:?}",
        lines[0]
    );
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
}
