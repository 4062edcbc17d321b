//! `cargo xtask bench`: the benchmark of docs/performance.md, on the large fixture (200 000
//! `Holder`s each holding `new Array(100)`, a 1.4 GiB gcore core of Node 20).
//!
//! Builds that fixture when it is missing, then runs the release builds of coroner-analysis's
//! examples on it: `census`, which times opening the image and the heap, the census with and
//! without the object index, listing every `Holder`, and reports resident memory; then `refs`,
//! which times the reverse-reference index, `findrefs` of every-day objects and `retainers`.

use std::process::Command;

use coroner_fixtures::Kind;

use crate::error::{Error, Result};
use crate::fixtures::{self, Options};
use crate::layout::Layout;
use crate::run;
use crate::versions::Versions;

/// `cargo xtask bench`.
pub fn command(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        return Err(Error::new(format!(
            "`cargo xtask bench` takes no arguments, got {arg:?}"
        )));
    }
    let layout = Layout::new();
    let versions = Versions::load(&layout.versions_file())?;
    let options = Options {
        versions: Some(vec![versions.default.clone()]),
        scenarios: Some(Vec::new()),
        large: true,
        ..Options::default()
    };
    fixtures::ensure(&layout, &options)?;
    let dir = layout.fixture_dir(&versions.default, "large", Kind::Gcore);
    let core = dir.join(run::CORE);
    let exe = layout.node_exe(&versions.default);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for example in ["census", "refs"] {
        let status = Command::new(&cargo)
            .current_dir(&layout.root)
            .args([
                "run",
                "--quiet",
                "--release",
                "--package",
                "coroner-analysis",
                "--example",
                example,
                "--",
            ])
            .arg(&core)
            .arg(&exe)
            .status()
            .map_err(|e| Error::new(format!("could not run {cargo}: {e}")))?;
        if !status.success() {
            return Err(Error::new(format!(
                "the benchmark {example} failed ({status})"
            )));
        }
        println!();
    }
    Ok(())
}
