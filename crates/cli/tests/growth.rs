//! `leaks` and `diff` on the `growth` fixtures of every pinned version: a Map cache fed by a
//! timer, dumped twice (`earlier/core`, then `core`), around a listener's closure holding a
//! 1 MiB Buffer, an array of one text in thousands of strings, cleared timers kept in a Map, and
//! objects nothing touches.
//! The scenario records what it added between the cores; `leaks` must rank the cache first and
//! name the other two patterns, `diff` must name exactly what was added and the path holding
//! it first, and no growth of what the scenario left alone.

mod support;

use coroner_fixtures::Fixture;
use serde_json::Value;
use support::{coroner, on_core};

fn fixtures() -> Vec<Fixture> {
    let all: Vec<Fixture> = coroner_fixtures::all()
        .into_iter()
        .filter(|f| f.scenario == "growth")
        .collect();
    assert!(!all.is_empty(), "no growth fixtures (cargo xtask fixtures)");
    all
}

fn extra_u64(f: &Fixture, key: &str) -> u64 {
    f.expect.raw["extra"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: extra.{key}", f.label()))
}

fn extra_str<'f>(f: &'f Fixture, key: &str) -> &'f str {
    f.expect.raw["extra"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: extra.{key}", f.label()))
}

/// `global.entryCache` for the scenario's `globalThis.entryCache`.
fn cache_path(f: &Fixture) -> String {
    extra_str(f, "cache").replacen("globalThis.", "global.", 1)
}

fn suspect<'d>(doc: &'d Value, why: &str) -> Option<&'d Value> {
    doc["suspects"].as_array()?.iter().find(|s| s["why"] == why)
}

#[test]
fn leaks_ranks_the_growing_cache_first_and_names_the_closure_and_the_copies() {
    for f in fixtures() {
        let label = f.label();
        let entries = f.expect.raw["classes"]["CacheEntry"]
            .as_u64()
            .expect("CacheEntry count");
        let run = on_core(&f.core, &f.exe, &["leaks"], true);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let doc = &run.json_lines()[0];
        let first = &doc["suspects"][0];
        assert_eq!(first["why"], "collection", "{label}: {first}");
        assert_eq!(first["name"], "Map", "{label}: {first}");
        assert_eq!(first["entry_name"], "CacheEntry", "{label}: {first}");
        assert_eq!(first["count"].as_u64(), Some(entries), "{label}: {first}");
        let path = first["path"].as_str().unwrap_or_default();
        assert_eq!(path, format!("{} -> Map", cache_path(&f)), "{label}");
        // Each entry keeps its own array of 128 numbers: over 1 KiB each.
        assert!(
            first["retained"].as_u64().unwrap_or(0) > entries * 1024,
            "{label}: {first}"
        );
        // The ranking is by retained size, and every suspect keeps at least the threshold.
        let suspects = doc["suspects"].as_array().expect("suspects");
        let retained: Vec<u64> = suspects
            .iter()
            .map(|s| s["retained"].as_u64().unwrap_or(0))
            .collect();
        assert!(
            retained.windows(2).all(|w| w[0] >= w[1]),
            "{label}: {retained:?}"
        );
        let threshold = doc["threshold"].as_u64().unwrap_or(u64::MAX);
        assert!(retained.iter().all(|&r| r >= threshold), "{label}");

        assert_eq!(first["stale"], 0, "{label}: {first}");
        // The cleared timers kept in a Map: a collection of entries held for nothing.
        let timers = extra_u64(&f, "timers");
        let stale = suspects
            .iter()
            .find(|s| s["entry_name"] == "Timeout")
            .unwrap_or_else(|| panic!("{label}: no collection of Timeouts: {suspects:?}"));
        assert_eq!(stale["count"].as_u64(), Some(timers), "{label}: {stale}");
        assert_eq!(stale["stale"].as_u64(), Some(timers), "{label}: {stale}");
        assert_eq!(
            stale["path"], "global.pendingTimers -> Map",
            "{label}: {stale}"
        );

        let closure = suspect(doc, "closure").unwrap_or_else(|| panic!("{label}: no closure"));
        assert_eq!(
            closure["name"],
            format!("Context {}", extra_str(&f, "listener")),
            "{label}: {closure}"
        );
        assert!(
            closure["retained"].as_u64().unwrap_or(0) >= extra_u64(&f, "buffer_bytes"),
            "{label}: {closure}"
        );
        assert!(
            closure["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("global.bus -> ")),
            "{label}: {closure}"
        );

        let copies = suspect(doc, "duplicate-strings")
            .unwrap_or_else(|| panic!("{label}: no duplicate strings"));
        let text = extra_str(&f, "duplicate_text");
        assert_eq!(copies["text"], text, "{label}");
        assert_eq!(
            copies["copies"].as_u64(),
            Some(extra_u64(&f, "duplicates")),
            "{label}: {copies}"
        );
        assert!(
            copies["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("global.labels -> [")),
            "{label}: {copies}"
        );
        // All copies but one are waste: each is at least its characters long.
        let wasted = copies["wasted"].as_u64().unwrap_or(0);
        let least = (extra_u64(&f, "duplicates") - 1) * text.len() as u64;
        assert!(wasted >= least, "{label}: {wasted} < {least}");
    }
}

/// Checks a `diff --json` document of a growth fixture against what the scenario added: the
/// path that grew most holds exactly the entries added, under the cache; the `CacheEntry` row
/// gained exactly those; `Steady` did not change. Returns the rows.
fn check_growth(f: &Fixture, doc: &Value) -> Vec<Value> {
    let label = f.label();
    let (before, added) = (extra_u64(f, "earlier"), extra_u64(f, "added"));
    let top = &doc["paths"][0];
    assert_eq!(top["count_delta"].as_u64(), Some(added), "{label}: {top}");
    assert_eq!(top["count_old"].as_u64(), Some(before), "{label}: {top}");
    let path = top["path"].as_str().unwrap_or_default();
    assert!(
        path.starts_with(&format!("{} -> Map value of key \"entry-", cache_path(f)))
            && path.ends_with("-> CacheEntry"),
        "{label}: {path}"
    );
    // Each entry keeps its own array of 128 numbers: over 1 KiB each.
    assert!(
        top["retained_delta"].as_i64().unwrap_or(0) > (added * 1024) as i64,
        "{label}: {top}"
    );
    let rows = doc["rows"].as_array().expect("rows").clone();
    let row = |name: &str| rows.iter().find(|r| r["name"] == name);
    let entry = row("CacheEntry").unwrap_or_else(|| panic!("{label}: no CacheEntry row"));
    assert_eq!(
        entry["count_delta"].as_u64(),
        Some(added),
        "{label}: {entry}"
    );
    assert_eq!(
        entry["count_old"].as_u64(),
        Some(before),
        "{label}: {entry}"
    );
    // What the scenario made once and never touched did not grow.
    assert!(row("Steady").is_none(), "{label}: {:?}", row("Steady"));
    rows
}

#[test]
fn diff_names_exactly_what_was_added_and_the_path_that_holds_it() {
    for f in fixtures() {
        let label = f.label();
        let earlier = f
            .earlier_core()
            .unwrap_or_else(|| panic!("{label}: no earlier core"));
        let line = format!("diff {}", earlier.display());
        let run = on_core(&f.core, &f.exe, &[&line], true);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let rows = check_growth(&f, &run.json_lines()[0]);
        // The rows are sorted by bytes gained.
        let gains: Vec<i64> = rows
            .iter()
            .map(|r| r["size_delta"].as_i64().unwrap_or(0))
            .collect();
        assert!(gains.windows(2).all(|w| w[0] >= w[1]), "{label}: {gains:?}");
    }
}

#[test]
fn diff_against_an_earlier_heap_snapshot_finds_the_same_growth() {
    for f in fixtures() {
        let label = f.label();
        let earlier = f
            .earlier_snapshot()
            .unwrap_or_else(|| panic!("{label}: no earlier heap snapshot"));
        let line = format!("diff {}", earlier.display());
        let run = on_core(&f.core, &f.exe, &[&line], true);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        check_growth(&f, &run.json_lines()[0]);
    }
}

#[test]
fn a_core_and_the_heap_snapshot_of_the_same_moment_show_no_growth_of_the_scenario() {
    for f in fixtures().into_iter().filter(|f| f.snapshot.is_some()) {
        let label = f.label();
        let snapshot = f.snapshot.clone().expect("snapshot");
        let run = on_core(
            &f.core,
            &f.exe,
            &[&format!("diff {} -n 1000", snapshot.display())],
            true,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let doc = &run.json_lines()[0];
        let paths = doc["paths"].as_array().expect("paths");
        assert!(
            !paths.iter().any(|p| p["name"] == "CacheEntry"),
            "{label}: {paths:?}"
        );
        let rows = doc["rows"].as_array().expect("rows");
        for class in ["CacheEntry", "Steady"] {
            assert!(
                !rows.iter().any(|r| r["name"] == class),
                "{label}: {class} changed: {rows:?}"
            );
        }
    }
}

#[test]
fn coroner_diff_old_new_is_the_diff_command_on_the_newer_core() {
    let f = fixtures().remove(0);
    let earlier = f.earlier_core().expect("earlier core");
    let shell = coroner([
        "diff".as_ref(),
        earlier.as_os_str(),
        f.core.as_os_str(),
        "--exe".as_ref(),
        f.exe.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(shell.code, 0, "{}", shell.stderr);
    let session = on_core(
        &f.core,
        &f.exe,
        &[&format!("diff {}", earlier.display())],
        true,
    );
    assert_eq!(shell.json_lines(), session.json_lines());
}

#[test]
fn diff_of_what_is_not_a_core_fails_in_one_line() {
    let f = coroner_fixtures::find("growth", coroner_fixtures::Kind::Gcore)
        .into_iter()
        .next()
        .expect("a growth gcore fixture");
    for (old, says) in [
        (
            "/nonexistent/core".to_string(),
            "cannot open /nonexistent/core".to_string(),
        ),
        (
            f.dir.join("expect.json").display().to_string(),
            "is not an ELF file".to_string(),
        ),
    ] {
        let run = on_core(&f.core, &f.exe, &[&format!("diff {old}")], false);
        assert_eq!(run.code, 1, "{old}: {}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{old}: {}", run.stderr);
        assert!(
            lines[0].starts_with("coroner: diff: ") && lines[0].contains(&says),
            "{old}: {}",
            run.stderr
        );
    }
}
