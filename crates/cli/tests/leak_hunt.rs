//! The leak hunt `cargo xtask demo` shows and docs/leak-hunt.md walks through, on the demo
//! fixture (a leaking HTTP server: every request's Session kept in `globalThis.appCache`):
//! each step finds what the scenario recorded.

mod support;

use coroner_fixtures::{Fixture, Kind};
use support::on_core;

fn demo() -> Fixture {
    coroner_fixtures::find("leak", Kind::Abort)
        .into_iter()
        .next()
        .expect("the demo fixture (cargo xtask fixtures)")
}

#[test]
fn the_leak_hunt_finds_the_cache_that_holds_the_sessions() {
    let f = demo();
    let sessions = f.expect.raw["classes"]["Session"]
        .as_u64()
        .expect("Session count");
    let run = on_core(
        &f.core,
        &f.exe,
        &[
            "triage",
            "findjsobjects -n 8",
            "findjsinstances Session -n 3",
        ],
        true,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = run.json_lines();
    assert_eq!(docs[0]["reason"]["kind"], "abort", "{}", docs[0]["reason"]);
    // The census: the Sessions, all of them, among the eight largest by retained size.
    let rows = docs[1].as_array().expect("rows");
    let row = rows
        .iter()
        .find(|r| r["name"] == "Session")
        .unwrap_or_else(|| panic!("Session in the first rows: {rows:?}"));
    assert_eq!(row["count"].as_u64(), Some(sessions));
    // Each Session keeps its 4 KiB event log alive.
    assert!(
        row["retained"].as_u64().unwrap_or(0) > sessions * 4096,
        "{row}"
    );
    let first = docs[2][0]["address"].as_str().expect("a Session");
    // Who keeps it: the global cache, not the frame that happened to be using it.
    let run = on_core(
        &f.core,
        &f.exe,
        &[&format!("retainers -n 1 {first}")],
        false,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = run.stdout.lines().next().unwrap_or_default();
    assert!(
        path.starts_with("global.appCache -> Map value of key \"req-")
            && path.ends_with("-> Session"),
        "{path}"
    );
    // And where the process was: the function that reported the growth.
    let run = on_core(&f.core, &f.exe, &["bt 12"], false);
    assert!(
        run.stdout
            .contains("Timeout.reportGrowth [as _onTimeout] ("),
        "{}",
        run.stdout
    );
}

#[test]
fn leaks_and_diff_point_at_the_cache_and_what_it_gained_since_the_earlier_core() {
    let f = demo();
    let sessions = f.expect.raw["classes"]["Session"]
        .as_u64()
        .expect("Session count");
    let earlier_sessions = f.expect.raw["extra"]["earlier"]
        .as_u64()
        .expect("extra.earlier");
    let earlier = f.earlier_core().expect("the demo's earlier core");
    let run = on_core(
        &f.core,
        &f.exe,
        &[
            "leaks -n 3",
            &format!("diff {} --paths 3", earlier.display()),
        ],
        true,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = run.json_lines();
    let first = &docs[0]["suspects"][0];
    assert_eq!(first["why"], "collection", "{first}");
    assert_eq!(first["entry_name"], "Session", "{first}");
    assert_eq!(first["count"].as_u64(), Some(sessions), "{first}");
    assert_eq!(first["path"], "global.appCache -> Map", "{first}");
    let grown = &docs[1]["paths"][0];
    assert_eq!(
        grown["count_delta"].as_u64(),
        Some(sessions - earlier_sessions),
        "{grown}"
    );
    let path = grown["path"].as_str().unwrap_or_default();
    assert!(
        path.starts_with("global.appCache -> Map value of key \"req-")
            && path.ends_with("-> Session"),
        "{path}"
    );
}
