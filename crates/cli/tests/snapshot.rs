//! `snapshot FILE` read by the real consumers of the format: Chrome DevTools' own heap snapshot
//! loader and memlab's parser, from npm (installed by `cargo xtask consumers`, run by the
//! newest pinned official Node build; see fixtures/consumers/README.md). Both load every file;
//! DevTools computes, from the file, the census's count, retained size and distance for every
//! class the scenario records; memlab counts its objects and their bytes as the census does.
//! (memlab's dominators follow rules of their own, so its retained sizes are not compared.)
//! An object's node id, as DevTools shows it (`@ID`), is an address coroner's commands take.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;
use support::on_core;

/// The directory `cargo xtask consumers` installs the consumers into.
fn consumers() -> PathBuf {
    let dir = std::env::var_os("CORONER_CONSUMERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/consumers"));
    assert!(
        dir.join("summarize.mjs").is_file() && dir.join("devtools-loader.mjs").is_file(),
        "no heap snapshot consumers in {}: run `cargo xtask consumers` (or `cargo xtask test`)",
        dir.display()
    );
    dir
}

/// The newest pinned official Node build of the fixtures (DevTools' loader needs Node 22+).
fn node() -> PathBuf {
    let version = |f: &Fixture| -> Vec<u32> {
        f.version
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let newest = coroner_fixtures::all()
        .into_iter()
        .max_by_key(version)
        .expect("fixtures");
    assert!(version(&newest)[0] >= 22, "no Node 22+ among the fixtures");
    newest.exe
}

/// What the consumers computed from `file`: `{"devtools": R, "memlab": R}`.
fn summarize(file: &Path) -> Value {
    let out = Command::new(node())
        .arg(consumers().join("summarize.mjs"))
        .arg(file)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "summarize.mjs {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("summarize.mjs prints JSON")
}

/// Checks one fixture; returns its disagreements.
fn check(f: &Fixture, dir: &Path) -> Vec<String> {
    let label = f.label();
    let file = dir.join(format!("{}.heapsnapshot", label.replace('/', "-")));
    let shown = file.display().to_string();
    let run = on_core(
        &f.core,
        &f.exe,
        &[&format!("snapshot {shown}"), "findjsobjects"],
        true,
    );
    assert_eq!(run.code, 0, "{label}: {}", run.stderr);
    let lines = run.json_lines();
    let (written, census) = (&lines[0], lines[1].as_array().expect("census rows"));
    let got = summarize(&file);
    std::fs::remove_file(&file).ok();
    let mut bad = Vec::new();
    for consumer in ["devtools", "memlab"] {
        let r = &got[consumer];
        for (key, field) in [("node_count", "nodes"), ("edge_count", "edges")] {
            if r[key] != written[field] {
                bad.push(format!(
                    "{label}: {consumer} {key} {}, coroner wrote {}",
                    r[key], written[field]
                ));
            }
        }
    }
    let classes = |consumer: &str, name: &str| got[consumer]["classes"][name].clone();
    for name in f.expect.classes.keys() {
        let Some(row) = census.iter().find(|r| r["name"] == name.as_str()) else {
            bad.push(format!("{label}: {name}: no census row"));
            continue;
        };
        let devtools = classes("devtools", name);
        let memlab = classes("memlab", name);
        let pairs = [
            ("DevTools count", &devtools["count"], &row["count"]),
            (
                "DevTools retained",
                &devtools["retained_size"],
                &row["retained"],
            ),
            ("DevTools distance", &devtools["distance"], &row["distance"]),
            ("memlab count", &memlab["count"], &row["count"]),
            ("memlab self size", &memlab["self_size"], &row["size"]),
        ];
        for (what, theirs, ours) in pairs {
            if theirs != ours {
                bad.push(format!("{label}: {name}: {what} {theirs}, census {ours}"));
            }
        }
    }
    bad
}

#[test]
fn devtools_and_memlab_load_the_snapshot_and_agree_with_the_census() {
    let fixtures: Vec<Fixture> = coroner_fixtures::all()
        .into_iter()
        .filter(|f| {
            matches!(f.scenario.as_str(), "objects" | "retainers")
                && matches!(f.kind, Kind::Abort | Kind::Live)
        })
        .collect();
    let dir = tempfile::tempdir().expect("temporary directory");
    // Two at a time: each runs coroner, then node with both consumers.
    let halves = fixtures.split_at(fixtures.len() / 2);
    let bad: Vec<String> = std::thread::scope(|s| {
        let run = |part: &'static [Fixture]| {
            let dir = dir.path();
            s.spawn(move || part.iter().flat_map(|f| check(f, dir)).collect::<Vec<_>>())
        };
        let (a, b) = (halves.0.to_vec().leak(), halves.1.to_vec().leak());
        let (a, b) = (run(a), run(b));
        let mut all = a.join().expect("worker");
        all.extend(b.join().expect("worker"));
        all
    });
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(fixtures.len() >= 14, "only {} fixtures", fixtures.len());
}

#[test]
fn a_devtools_node_id_is_an_address() {
    let f = coroner_fixtures::find("retainers", Kind::Abort)
        .into_iter()
        .next()
        .expect("a retainers fixture");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("r.heapsnapshot");
    let run = on_core(
        &f.core,
        &f.exe,
        &[&format!("snapshot {}", file.display())],
        false,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got = summarize(&file);
    let nodes = got["devtools"]["nodes"].as_array().expect("nodes");
    let walrus = nodes
        .iter()
        .find(|n| n[1] == "object" && n[2] == "Walrus")
        .expect("a Walrus node");
    let id = walrus[0].as_u64().expect("an id");
    let run = on_core(&f.core, &f.exe, &[&format!("inspect -r @{id}")], true);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let value = &run.json_lines()[0];
    assert_eq!(value["constructor"], "Walrus", "{value}");
    assert_eq!(value["retained"], walrus[4], "{value}");
    // Even ids are synthetic nodes, not objects.
    let run = on_core(&f.core, &f.exe, &["inspect @2"], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("@2 is no object"), "{}", run.stderr);
}
