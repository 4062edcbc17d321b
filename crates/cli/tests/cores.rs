//! `coroner cores` and `coroner --latest`: the cores where this machine's core_pattern sends
//! them (here a systemd-coredump store and a plain directory, made of real fixture cores) and
//! the working directory, newest first; `--latest` opens the newest.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;

const SYSTEMD: &str = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h";

fn run(cwd: &Path, pattern: &str, store: &Path, args: &[&str]) -> support::Run {
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(args)
        .current_dir(cwd)
        .env("CORONER_CACHE_DIR", "")
        .env("CORONER_CORE_PATTERN", pattern)
        .env("CORONER_COREDUMP_DIR", store)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run coroner");
    support::Run::from(out)
}

/// A copy of `fixture`'s core at `path`, written `age` ago.
fn place(fixture: &Fixture, path: &Path, age: Duration) {
    std::fs::copy(&fixture.core, path).expect("copy the core");
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open the copy");
    file.set_modified(SystemTime::now() - age)
        .expect("set its time");
}

fn two_fixtures() -> (Fixture, Fixture) {
    let mut all = coroner_fixtures::find("objects", Kind::Abort);
    assert!(all.len() >= 2, "two versions' abort fixtures");
    let newer = all.remove(0);
    let older = all.remove(0);
    (newer, older)
}

#[test]
fn cores_lists_a_systemd_store_and_the_working_directory_newest_first() {
    let (newer, older) = two_fixtures();
    let store = tempfile::tempdir().expect("tempdir");
    let cwd = tempfile::tempdir().expect("tempdir");
    // The store's core: zstd-compressed, under systemd's name, an hour old.
    let raw = store.path().join("raw");
    place(&newer, &raw, Duration::from_secs(3600));
    let name = format!(
        "core.node.1000.8d1c2f0e5b7a4c9e9f3a6b2d1e0c4f5a.{}.1764990000000000.zst",
        newer.expect.pid
    );
    let zst = store.path().join(&name);
    let status = Command::new("zstd")
        .args(["-q", "-1", "--rm", "-o"])
        .arg(&zst)
        .arg(&raw)
        .status()
        .expect("zstd runs (install it: .ci/run does)");
    assert!(status.success());
    std::fs::File::options()
        .write(true)
        .open(&zst)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(3600)))
        .expect("age the store's core");
    // The working directory's: a kernel core, a minute old.
    place(&older, &cwd.path().join("core"), Duration::from_secs(60));

    let listed = run(cwd.path(), SYSTEMD, store.path(), &["cores", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let list = listed.json_lines().remove(0);
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["store"], "kernel");
    assert_eq!(list[0]["pid"], older.expect.pid);
    assert_eq!(list[0]["process"], "node");
    assert_eq!(list[0]["signal"], "SIGABRT");
    assert_eq!(list[1]["store"], "systemd-coredump");
    assert_eq!(list[1]["pid"], newer.expect.pid);
    assert_eq!(list[1]["compression"], "zstd");
    assert!(list[0]["time"].as_u64() > list[1]["time"].as_u64());

    // --latest opens the newest: the working directory's core; once it is gone, the store's.
    let latest = || {
        let run = run(
            cwd.path(),
            SYSTEMD,
            store.path(),
            &["--latest", "--json", "-c", "info"],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("opening the newest node core"));
        run.json_lines().remove(0)
    };
    assert_eq!(latest()["pid"], older.expect.pid);
    std::fs::remove_file(cwd.path().join("core")).expect("remove");
    let info: Value = latest();
    assert_eq!(info["pid"], newer.expect.pid);
    assert_eq!(info["compression"], "zstd");
}

#[test]
fn a_directory_pattern_is_searched_and_no_core_is_one_line() {
    let (newer, _) = two_fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = tempfile::tempdir().expect("tempdir");
    let pattern = format!("{}/core.%e.%p", dir.path().display());
    place(
        &newer,
        &dir.path().join(format!("core.node.{}", newer.expect.pid)),
        Duration::from_secs(5),
    );
    // Not a core: skipped.
    std::fs::write(dir.path().join("core.notes.txt"), "not a core").expect("write");
    let listed = run(cwd.path(), &pattern, dir.path(), &["cores", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let list = listed.json_lines().remove(0);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["pid"], newer.expect.pid);

    let empty = tempfile::tempdir().expect("tempdir");
    let none = run(
        cwd.path(),
        &format!("{}/core", empty.path().display()),
        empty.path(),
        &["--latest", "-c", "info"],
    );
    support::assert_unusable(&none, "--latest: no node core found");
    let text = run(cwd.path(), "core", empty.path(), &["cores"]);
    assert_eq!(text.code, 0);
    assert!(
        text.stdout.starts_with("no node core found"),
        "{}",
        text.stdout
    );
    let bad = run(cwd.path(), "core", empty.path(), &["cores", "--bogus"]);
    support::assert_unusable(&bad, "cores takes --all and --json");
}
