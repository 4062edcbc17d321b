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

/// Runs `coroner ARGS...` with no standard input (and no cache of decompressed cores: the
/// tests leave nothing behind).
pub fn coroner<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(args)
        .env("CORONER_CACHE_DIR", "")
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

/// A small seeded generator (xorshift64*): the same damage to the same core, run after run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next().checked_rem(n).unwrap_or(0)
    }

    /// `n` distinct items of `from` (all of them when it has fewer), in order.
    pub fn sample(&mut self, from: &[u64], n: usize) -> Vec<u64> {
        let mut picked = std::collections::BTreeSet::new();
        while picked.len() < n.min(from.len()) {
            picked.insert(from[self.below(from.len() as u64) as usize]);
        }
        picked.into_iter().collect()
    }
}

/// The offset in the core file `core` of the process's address `addr`, if the core holds the
/// 8 bytes there.
pub fn core_offset(core: &[u8], addr: u64) -> Option<usize> {
    let word = |at: usize| u64::from_le_bytes(core[at..at + 8].try_into().expect("8 bytes"));
    let phoff = word(0x20) as usize;
    let phnum = u16::from_le_bytes([core[0x38], core[0x39]]) as usize;
    (0..phnum).map(|i| phoff + i * 56).find_map(|ph| {
        let is_load = u32::from_le_bytes(core[ph..ph + 4].try_into().expect("4")) == 1;
        let (offset, vaddr, filesz) = (word(ph + 8), word(ph + 16), word(ph + 32));
        (is_load && vaddr <= addr && addr + 8 <= vaddr + filesz)
            .then(|| (addr - vaddr + offset) as usize)
    })
}
