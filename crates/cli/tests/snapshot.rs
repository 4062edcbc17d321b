//! `snapshot FILE` read by the real consumers of the format: Chrome DevTools' own heap snapshot
//! loader and memlab's parser, from npm (installed by `cargo xtask consumers`, run by the
//! newest pinned official Node build; see fixtures/consumers/README.md). Both load every file;
//! DevTools computes, from the file, the census's count, retained size and distance for every
//! class the scenario records; memlab counts its objects and their bytes as the census does.
//! memlab's dominators follow rules of their own, so its retained sizes are compared with
//! memlab's own reading of V8's heap snapshot of the same process, taken just before the dump
//! (less the handles V8 holds only while it works, as the fixtures' own oracle leaves them out):
//! the same, within 2%, for every class the scenario records of which memlab counts as many
//! objects in both files (V8 names a class's prototype after the class, so memlab counts one
//! more `Penguin` there). (memlab's distances are not compared: on V8 14.6 it finds its
//! shortest paths through node's embedder graph, `Node / Environment`, which coroner does not
//! draw.)
//! An object's node id, as DevTools shows it (`@ID`), is an address coroner's commands take.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;
use support::{core_only, on_core};

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

/// What the consumers computed from `file`: `{"devtools": R, "memlab": R}`, or only the
/// consumer named by `only`.
fn summarize(file: &Path, only: Option<&str>) -> Value {
    let mut command = Command::new(node());
    command.arg(consumers().join("summarize.mjs"));
    if let Some(consumer) = only {
        command.args(["--only", consumer]);
    }
    let out = command.arg(file).output().expect("run node");
    assert!(
        out.status.success(),
        "summarize.mjs {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("summarize.mjs prints JSON")
}

/// Checks one fixture; returns its disagreements, and counts in `compared` the classes whose
/// memlab retained sizes were compared with memlab's reading of V8's snapshot.
fn check(f: &Fixture, dir: &Path, compared: &mut usize) -> Vec<String> {
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
    let got = summarize(&file, None);
    std::fs::remove_file(&file).ok();
    // memlab's reading of V8's own snapshot of the process, for memlab's retained sizes: the
    // steady heap, without the handles of the moment (a compile job in flight holding the
    // probes' maps now and then; coroner_fixtures' retention module says which).
    let v8 = f.snapshot.as_deref().map(|s| {
        let steady = dir.join(format!("{}.v8.heapsnapshot", label.replace('/', "-")));
        coroner_fixtures::write_without_transient_roots(s, &steady)
            .unwrap_or_else(|e| panic!("{e}"));
        let r = summarize(&steady, Some("memlab"));
        std::fs::remove_file(&steady).ok();
        r
    });
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
        let from_v8 = v8
            .as_ref()
            .map(|v8| &v8["memlab"]["classes"][name.as_str()])
            .filter(|c| c["count"] == memlab["count"]);
        if let Some(from_v8) = from_v8 {
            let (ours, theirs) = (&memlab["retained_size"], &from_v8["retained_size"]);
            let close = match (ours.as_f64(), theirs.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() <= 0.02 * b,
                _ => false,
            };
            if !close {
                bad.push(format!(
                    "{label}: {name}: memlab reads retained {ours} from coroner's file, {theirs} from V8's"
                ));
            }
            *compared += 1;
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
    let (bad, compared): (Vec<String>, usize) = std::thread::scope(|s| {
        let run = |part: &'static [Fixture]| {
            let dir = dir.path();
            s.spawn(move || {
                let mut compared = 0;
                let bad: Vec<String> = part
                    .iter()
                    .flat_map(|f| check(f, dir, &mut compared))
                    .collect();
                (bad, compared)
            })
        };
        let (a, b) = (halves.0.to_vec().leak(), halves.1.to_vec().leak());
        let (a, b) = (run(a), run(b));
        let (mut all, n) = a.join().expect("worker");
        let (more, m) = b.join().expect("worker");
        all.extend(more);
        (all, n + m)
    });
    // Most classes of the abort fixtures (seven versions, two scenarios) are compared.
    assert!(compared >= 100, "memlab compared only {compared} classes");
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
    let got = summarize(&file, None);
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

/// The nodes of a snapshot file as (type, name, id, self size, edge count), names resolved,
/// and its edges as (type, name or index, target), names resolved.
type Graph = (Vec<(u64, String, u64, u64, u64)>, Vec<(u64, String, u64)>);

fn graph(file: &Path) -> Graph {
    let text = std::fs::read(file).expect("read the snapshot");
    let doc: Value = serde_json::from_slice(&text).expect("a heap snapshot");
    let strings: Vec<&str> = doc["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .map(|s| s.as_str().unwrap_or_default())
        .collect();
    let numbers = |key: &str| -> Vec<u64> {
        doc[key]
            .as_array()
            .expect("numbers")
            .iter()
            .map(|v| v.as_u64().expect("a number"))
            .collect()
    };
    let name = |i: u64| strings.get(i as usize).copied().unwrap_or("?").to_string();
    let nodes = numbers("nodes")
        .chunks(7)
        .map(|n| (n[0], name(n[1]), n[2], n[3], n[4]))
        .collect();
    // Element (1) and hidden (4) edges are indexed, the others named.
    let edges = numbers("edges")
        .chunks(3)
        .map(|e| {
            let label = if matches!(e[0], 1 | 4) {
                e[1].to_string()
            } else {
                name(e[1])
            };
            (e[0], label, e[2])
        })
        .collect();
    (nodes, edges)
}

#[test]
fn without_the_executable_the_snapshot_is_the_same_graph() {
    const STRING: u64 = 2;
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut checked = 0;
    for f in coroner_fixtures::find("retainers", Kind::Gcore) {
        let label = f.label();
        let with = dir.path().join("with.heapsnapshot");
        let without = dir.path().join("without.heapsnapshot");
        let run = on_core(
            &f.core,
            &f.exe,
            &[&format!("snapshot {}", with.display())],
            false,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let run = core_only(
            &f.core,
            &[&format!("snapshot {}", without.display())],
            false,
        );
        assert_eq!(run.code, 0, "{label} --core-only: {}", run.stderr);
        let ((nodes_a, edges_a), (nodes_b, edges_b)) = (graph(&with), graph(&without));
        assert_eq!(edges_a, edges_b, "{label}: edges");
        assert_eq!(nodes_a.len(), nodes_b.len(), "{label}: node count");
        // Every node alike; only a string whose characters live in the executable (node's own
        // module sources, kept in its read-only data) may go without its text.
        let mut unnamed = 0;
        for (a, b) in nodes_a.iter().zip(&nodes_b) {
            if a.0 == STRING && b.1.is_empty() && !a.1.is_empty() {
                assert_eq!((a.0, a.2, a.3, a.4), (b.0, b.2, b.3, b.4), "{label}");
                unnamed += 1;
                continue;
            }
            assert_eq!(a, b, "{label}");
        }
        assert!(
            unnamed < nodes_a.len() / 100,
            "{label}: {unnamed} strings unnamed"
        );
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} fixtures");
}
