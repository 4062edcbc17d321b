//! `cargo xtask`: the developer tasks of coroner.
//!
//! * `cargo xtask fixtures [--versions V,..] [--scenarios S,..] [--large] [--force] [--jobs N]
//!   [--abort-dumper auto|kernel|gdb]` makes the test fixtures: real cores of official Node
//!   builds running the scenarios of `fixtures/` (see `fixtures/README.md`).
//! * `cargo xtask demo [COMMAND...]` makes the `objects` fixtures of the default Node version and
//!   runs coroner on its abort core (`-c info` unless commands are given).
//! * `cargo xtask test` builds every default fixture (cached) and installs the heap snapshot
//!   consumers, then runs `cargo test --workspace`: the README's and CI's test command.
//! * `cargo xtask consumers` installs the heap snapshot consumers the snapshot tests compare
//!   with (Chrome DevTools' loader, memlab; see `fixtures/consumers/README.md`) into
//!   `target/consumers/` (cached) and prints that directory.
//! * `cargo xtask bench` runs the benchmark of docs/performance.md on the large fixture.
//! * `cargo xtask layouts [--versions V,..]` writes the per-build layout tables of
//!   `crates/v8/layouts/builds/` from the official builds themselves (needs gdb).

mod bench;
mod consumers;
mod demo;
mod dumper;
mod elf;
mod error;
mod fixtures;
mod layout;
mod layouts;
mod node;
mod pool;
mod run;
mod scenario;
mod test;
#[cfg(test)]
mod tidy;
mod versions;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  fixtures [options]   build the core-dump fixtures into target/fixtures (cached)
      --versions V,..      only these pinned Node versions (default: all of fixtures/versions.txt)
      --scenarios S,..     only these scenarios (default: every fixtures/*.js)
      --large              also build the large benchmark fixture (fixtures/large/large.js)
      --force              rebuild even when cached
      --jobs N             fixtures built in parallel (default 2)
      --abort-dumper D     who writes abort cores: auto (default), kernel or gdb
  demo [COMMAND...]    build the `objects` fixtures of the default version and run
                       `coroner CORE -c COMMAND...` on its abort core (default: info)
  test [ARGS...]       build every default fixture and install the consumers (cached), then
                       `cargo test --workspace ARGS` (with CORONER_CONSUMERS set)
  consumers            install the heap snapshot consumers (DevTools' loader, memlab) into
                       target/consumers (cached; npm ci) and print that directory
  bench                build the large fixture (cached) and run the benchmark of
                       docs/performance.md on it
  layouts [--versions V,..]
                       write crates/v8/layouts/builds/node-VERSION.toml for each pinned
                       version from its official build (every v8dbg_*/nodedbg_* constant
                       and V8's own instance type names; needs gdb)
  help                 this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("fixtures") => fixtures::command(&args[1..]),
        Some("demo") => demo::command(&args[1..]),
        Some("test") => test::command(&args[1..]),
        Some("consumers") => consumers::command(&args[1..]),
        Some("bench") => bench::command(&args[1..]),
        Some("layouts") => layouts::command(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(error::Error::new(format!(
            "unknown command {other:?} (try `cargo xtask help`)"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
