//! Who writes the abort cores: the kernel, or gdb when the kernel's cores would not land in the
//! fixture directory.
//!
//! The kernel writes a core into the dying process's working directory when
//! `/proc/sys/kernel/core_pattern` is a plain file name (`core`, `core.%p`, ...; `core_uses_pid`
//! may append `.PID`). When it is a pipe (`|/usr/lib/systemd/systemd-coredump ...`, apport) or
//! a path elsewhere, node is run under gdb instead, which writes the core at the SIGABRT,
//! with the same stack.

use coroner_fixtures::Dumper;

use crate::error::{Error, Result};

const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// The `--abort-dumper` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// From `core_pattern`.
    Auto,
    /// This one.
    Forced(Dumper),
}

impl Choice {
    /// Parses `auto`, `kernel` or `gdb`.
    pub fn parse(s: &str) -> Result<Choice> {
        match s {
            "auto" => Ok(Choice::Auto),
            "kernel" => Ok(Choice::Forced(Dumper::Kernel)),
            "gdb" => Ok(Choice::Forced(Dumper::Gdb)),
            _ => Err(Error::new(format!(
                "--abort-dumper must be auto, kernel or gdb, not {s:?}"
            ))),
        }
    }

    /// Resolves the choice: the dumper of abort cores, and why.
    pub fn resolve(self) -> (Dumper, String) {
        let pattern = core_pattern();
        match self {
            Choice::Forced(dumper) => (dumper, "forced by --abort-dumper".to_string()),
            Choice::Auto => match &pattern {
                Some(p) if kernel_writes_locally(p) => {
                    (Dumper::Kernel, format!("core_pattern {p:?}"))
                }
                Some(p) => (
                    Dumper::Gdb,
                    format!("core_pattern {p:?} does not write into the working directory"),
                ),
                None => (Dumper::Gdb, format!("cannot read {CORE_PATTERN}")),
            },
        }
    }
}

/// The kernel's core pattern, if readable.
pub fn core_pattern() -> Option<String> {
    std::fs::read_to_string(CORE_PATTERN)
        .ok()
        .map(|p| p.trim().to_string())
}

/// Whether the kernel writes cores into the crashing process's working directory.
fn kernel_writes_locally(pattern: &str) -> bool {
    !pattern.is_empty() && !pattern.starts_with('|') && !pattern.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_patterns_are_local() {
        assert!(kernel_writes_locally("core"));
        assert!(kernel_writes_locally("core.%p"));
        assert!(!kernel_writes_locally(
            "|/usr/lib/systemd/systemd-coredump %P"
        ));
        assert!(!kernel_writes_locally("/var/crash/core.%p"));
        assert!(!kernel_writes_locally(""));
    }
}
