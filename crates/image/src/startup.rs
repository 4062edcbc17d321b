//! The command line and environment the process started with, as the kernel laid them out on
//! the main thread's stack at `execve`: `argc`, the `argv` pointers, NULL, the `envp` pointers,
//! NULL, then the auxiliary vector. The core's own record of the command line
//! (`NT_PRPSINFO`'s `pr_psargs`) keeps only its first 80 bytes, which a long path to node
//! fills before the first option; the stack keeps all of it.
//!
//! The auxiliary vector is the anchor: the kernel saves a copy of it in the core (`NT_AUXV`),
//! and its `AT_EXECFN` and `AT_RANDOM` entries point just above it on the same stack, so the
//! copy is searched for below them and the pointer arrays read backwards from there.

use crate::ProcessImage;

/// `AT_RANDOM`: 16 random bytes the kernel put on the initial stack.
const AT_RANDOM: u64 = 25;
/// `AT_EXECFN`: the file name `execve` was given, at the top of the initial stack.
const AT_EXECFN: u64 = 31;
/// How far below its anchors the auxiliary vector is searched for: the strings of `argv` and
/// `envp` lie between them, and the kernel caps those at a quarter of the stack limit (2 MiB
/// under the default 8 MiB).
const MAX_SEARCH: u64 = 4 << 20;
/// Most pointers read from either array (the kernel's own limit on the strings' total size
/// keeps real counts far below this).
const MAX_POINTERS: usize = 1 << 18;
/// Longest single argument or environment string read (the kernel's `MAX_ARG_STRLEN`).
const MAX_STRING: usize = 128 << 10;
/// The word size of the x86-64 process this reads.
const WORD: u64 = 8;

/// What the process was started with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Startup {
    /// `argv`, the executable's name first.
    pub argv: Vec<String>,
    /// The environment, as `NAME=value` strings in the kernel's order.
    pub env: Vec<String>,
}

impl Startup {
    /// The value of an environment variable as the process started.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    }
}

impl ProcessImage {
    /// The command line and environment from the initial stack, or `None` when the core does
    /// not hold that stack (a core whose stack pages were left out, or a process that wrote over
    /// its pointer arrays).
    pub fn startup(&self) -> Option<Startup> {
        let auxv = self.core().auxv();
        let (first, second) = (auxv.first()?, auxv.get(1)?);
        let anchor = [AT_EXECFN, AT_RANDOM]
            .iter()
            .find_map(|&k| self.core().auxv_value(k))?;
        let auxv_at = self.find_auxv(anchor, [first.0, first.1, second.0, second.1])?;
        let memory = self.memory();
        let word = |addr: u64| memory.read_u64(addr).ok();
        // Below the vector: the NULL ending envp, then envp's pointers back to argv's NULL.
        let mut at = auxv_at.checked_sub(WORD)?;
        if word(at)? != 0 {
            return None;
        }
        let mut env_pointers = Vec::new();
        loop {
            at = at.checked_sub(WORD)?;
            match word(at)? {
                0 => break,
                p if env_pointers.len() < MAX_POINTERS => env_pointers.push(p),
                _ => return None,
            }
        }
        // Then argv's pointers, back to argc: the first word equal to their count.
        let mut arg_pointers = Vec::new();
        loop {
            at = at.checked_sub(WORD)?;
            let w = word(at)?;
            if w == arg_pointers.len() as u64 {
                break;
            }
            if w == 0 || arg_pointers.len() >= MAX_POINTERS {
                return None;
            }
            arg_pointers.push(w);
        }
        let read_all = |pointers: Vec<u64>| -> Option<Vec<String>> {
            pointers
                .into_iter()
                .rev()
                .map(|p| self.read_string(p, MAX_STRING))
                .collect()
        };
        Some(Startup {
            argv: read_all(arg_pointers)?,
            env: read_all(env_pointers)?,
        })
    }

    /// The environment as the process last set it: the array libc's `environ` points to, which
    /// `setenv` (node's `process.env.X = ...`) rewrites, unlike the initial stack's copy.
    /// `None` without the C library's symbols, or when the core lacks the array.
    pub fn live_environment(&self) -> Option<Vec<String>> {
        let at = self.modules().iter().find_map(|m| {
            let sym = m.file.as_ref()?.symbols().by_name("__environ")?;
            Some(sym.address.wrapping_add(m.bias()))
        })?;
        let memory = self.memory();
        let mut array = memory.read_u64(at).ok()?;
        let mut env = Vec::new();
        for _ in 0..MAX_POINTERS {
            let p = memory.read_u64(array).ok()?;
            if p == 0 {
                return Some(env);
            }
            env.push(self.read_string(p, MAX_STRING)?);
            array = array.checked_add(WORD)?;
        }
        None
    }

    /// The command line as one string, its arguments quoted where a shell would need it: from
    /// the initial stack when the core holds it, else the core's own 80-byte record.
    pub fn command_line(&self) -> Option<String> {
        match self.startup() {
            Some(s) if !s.argv.is_empty() => Some(
                s.argv
                    .iter()
                    .map(|a| quoted(a))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => self.core().process().map(|p| p.psargs.clone()),
        }
    }

    /// Where [`ProcessImage::command_line`] comes from: `"initial stack"` (argv, whole) or
    /// `"core record"` (the kernel's `pr_psargs`, cut at 80 bytes); `None` when neither is
    /// there.
    pub fn command_line_source(&self) -> Option<&'static str> {
        match self.startup() {
            Some(s) if !s.argv.is_empty() => Some("initial stack"),
            _ => self.core().process().map(|_| "core record"),
        }
    }

    /// The address of the auxiliary vector on the stack: the highest word-aligned place below
    /// `anchor` where its first two entries (`words`) are.
    fn find_auxv(&self, anchor: u64, words: [u64; 4]) -> Option<u64> {
        let region = self.memory().region(anchor)?;
        let low = region.start.max(anchor.saturating_sub(MAX_SEARCH));
        let len = usize::try_from(anchor.checked_sub(low)?).ok()?;
        let bytes = self.memory().bytes(low, len).ok()?;
        let needle: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        // The stack's base is word-aligned, and so is everything the kernel put on it.
        let skew = usize::try_from((WORD - low % WORD) % WORD).ok()?;
        let found = (skew..bytes.len().checked_sub(needle.len())?)
            .step_by(WORD as usize)
            .rev()
            .find(|&i| bytes.get(i..i + needle.len()) == Some(needle.as_slice()))?;
        low.checked_add(found as u64)
    }
}

/// `arg` as a POSIX shell reads it back: as is when it is plain, else in single quotes.
fn quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
