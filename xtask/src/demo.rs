//! `cargo xtask demo [COMMAND...]`: the README's "run coroner on a real core" command.
//!
//! Makes the demo fixture (the `leak` scenario: a leaking HTTP server's abort core, made here
//! with the default version's official Node build), builds coroner, and runs a short leak hunt
//! on the core, each step printed as the command line that repeats it: `triage`, `leaks`,
//! `findjsobjects`, `findjsinstances Session`, `retainers` of the first Session, `diff` with the
//! core the server was dumped as halfway, the page of `leaks --html`, and `bt`. With arguments,
//! runs those commands instead (`cargo xtask demo info 'help info'`).

use std::path::Path;
use std::process::Command;

use coroner_fixtures::Kind;

use crate::error::{Error, Result};
use crate::fixtures::{self, Options};
use crate::layout::Layout;
use crate::run;
use crate::scenario::DEMO;
use crate::versions::Versions;

/// `cargo xtask demo`.
pub fn command(args: &[String]) -> Result<()> {
    let layout = Layout::new();
    let versions = Versions::load(&layout.versions_file())?;
    let options = Options {
        versions: Some(vec![versions.default.clone()]),
        scenarios: Some(vec![DEMO.to_string()]),
        ..Options::default()
    };
    eprintln!("demo: making the demo core (a leaking HTTP server on Node {}, dumped with process.abort())", versions.default);
    fixtures::ensure(&layout, &options)?;
    let core = layout
        .fixture_dir(&versions.default, DEMO, Kind::Abort)
        .join(run::CORE);

    eprintln!("demo: building coroner (release; the first build takes a few minutes)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--package", "coroner"])
        .status()
        .map_err(|e| Error::new(format!("could not run {cargo}: {e}")))?;
    if !status.success() {
        return Err(Error::new("building coroner failed"));
    }
    let coroner = layout.target_dir().join("release").join("coroner");
    if !args.is_empty() {
        return show(&coroner, &core, args);
    }
    eprintln!("demo: a leak hunt (each command can be run again as printed)\n");
    for step in [
        "triage",
        "leaks -n 3",
        "findjsobjects -n 8",
        "findjsinstances Session -n 3",
    ] {
        show(&coroner, &core, &[step.to_string()])?;
    }
    let first = first_instance(&coroner, &core, "Session")?;
    show(&coroner, &core, &[format!("retainers -n 1 {first}")])?;
    let earlier = core.with_file_name(run::EARLIER_CORE);
    show(
        &coroner,
        &core,
        &[format!("diff {} -n 6 --paths 3", earlier.display())],
    )?;
    let page = layout.target_dir().join("demo-report.html");
    show(
        &coroner,
        &core,
        &[format!(
            "leaks -n 3 --html {} --since {}",
            page.display(),
            earlier.display()
        )],
    )?;
    show(&coroner, &core, &["bt 12".to_string()])
}

/// Prints `$ coroner CORE -c '...'`, then runs it.
fn show(coroner: &Path, core: &Path, commands: &[String]) -> Result<()> {
    let shown: Vec<String> = commands.iter().map(|c| format!("-c '{c}'")).collect();
    println!("$ coroner {} {}", core.display(), shown.join(" "));
    let mut cmd = Command::new(coroner);
    cmd.arg(core);
    for c in commands {
        cmd.args(["-c", c]);
    }
    let status = cmd
        .status()
        .map_err(|e| Error::new(format!("could not run {}: {e}", coroner.display())))?;
    println!();
    if status.success() {
        Ok(())
    } else {
        Err(Error::new(format!("coroner exited with {status}")))
    }
}

/// The address of the first instance of `class`, from `findjsinstances --json`.
fn first_instance(coroner: &Path, core: &Path, class: &str) -> Result<String> {
    let out = Command::new(coroner)
        .arg(core)
        .args(["--json", "-c", &format!("findjsinstances {class} -n 1")])
        .output()
        .map_err(|e| Error::new(format!("could not run {}: {e}", coroner.display())))?;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::new(format!("findjsinstances printed no JSON: {e}")))?;
    doc.get(0)
        .and_then(|i| i["address"].as_str())
        .map(str::to_string)
        .ok_or_else(|| Error::new(format!("no {class} in the demo core")))
}
