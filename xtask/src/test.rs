//! `cargo xtask test [ARGS...]`: the one command that runs every test, for people and for CI.
//!
//! The tests of the V8 layers read real cores, so the fixtures are built first (a no-op when
//! cached), and the snapshot tests load coroner's heap snapshots in the real consumers, so
//! those are installed next (also cached; their directory goes to the tests as
//! `CORONER_CONSUMERS`). Then `cargo test --workspace --no-fail-fast` runs with any further
//! arguments passed through: every failing test binary is reported, not only the first.

use std::process::Command;

use crate::consumers;
use crate::error::{Error, Result};
use crate::fixtures::{self, Options};
use crate::layout::Layout;

/// `cargo xtask test`.
pub fn command(args: &[String]) -> Result<()> {
    let layout = Layout::new();
    fixtures::ensure(&layout, &Options::default())?;
    let consumers = consumers::ensure(&layout)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(&layout.root)
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .env("CORONER_CONSUMERS", &consumers)
        .status()
        .map_err(|e| Error::new(format!("could not run {cargo}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("cargo test failed ({status})")))
    }
}
