//! `cargo xtask demo [COMMAND...]`: the README's "run coroner on a real core" command.
//!
//! Makes sure the `objects` fixtures of the default Node version exist (a real core of an
//! official Node build, made on this machine), builds coroner, and runs it on the abort core:
//! `coroner CORE -c triage -c info` by default, or with each further argument as one `-c` command
//! (`cargo xtask demo info 'help info'`).

use std::process::Command;

use coroner_fixtures::Kind;

use crate::error::{Error, Result};
use crate::fixtures::{self, Options};
use crate::layout::Layout;
use crate::run;
use crate::versions::Versions;

/// The scenario the demo uses.
const SCENARIO: &str = "objects";

/// `cargo xtask demo`.
pub fn command(args: &[String]) -> Result<()> {
    let layout = Layout::new();
    let versions = Versions::load(&layout.versions_file())?;
    let options = Options {
        versions: Some(vec![versions.default.clone()]),
        scenarios: Some(vec![SCENARIO.to_string()]),
        ..Options::default()
    };
    fixtures::ensure(&layout, &options)?;
    let core = layout
        .fixture_dir(&versions.default, SCENARIO, Kind::Abort)
        .join(run::CORE);

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "--release", "--package", "coroner"])
        .status()
        .map_err(|e| Error::new(format!("could not run {cargo}: {e}")))?;
    if !status.success() {
        return Err(Error::new("building coroner failed"));
    }
    let coroner = layout.target_dir().join("release").join("coroner");
    let commands: Vec<String> = if args.is_empty() {
        vec!["triage".into(), "info".into()]
    } else {
        args.to_vec()
    };
    let mut cmd = Command::new(&coroner);
    cmd.arg(&core);
    for c in &commands {
        cmd.args(["-c", c]);
    }
    let shown: Vec<String> = commands.iter().map(|c| format!("-c '{c}'")).collect();
    eprintln!("$ coroner {} {}", core.display(), shown.join(" "));
    let status = cmd
        .status()
        .map_err(|e| Error::new(format!("could not run {}: {e}", coroner.display())))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("coroner exited with {status}")))
    }
}
