//! Analysis without the executable. `--core-only` opens nothing but the core, exactly as on a
//! laptop that has none of the dumped machine's files (the executable and libraries the core
//! names are not opened): V8's layout then comes from coroner's table of the build, found by the
//! build id the core keeps. Every heap command must answer exactly as it does with the
//! executable, on every pinned version and both kinds of core, and bt must show the same
//! JavaScript frames; what really needs the file says so and names `--exe`.

mod support;

use coroner_fixtures::{Fixture, Kind};
use support::{on_core, Run};

/// `coroner CORE --core-only --json -c ...`.
fn core_only(core: &std::path::Path, commands: &[&str]) -> Run {
    support::core_only(core, commands, true)
}

fn both_kinds(scenario: &str) -> Vec<Fixture> {
    let mut all = coroner_fixtures::find(scenario, Kind::Abort);
    all.extend(coroner_fixtures::find(scenario, Kind::Gcore));
    all
}

/// Whether coroner has a layout table of this very release (`fixtures/versions.txt` marks
/// the releases that have none).
fn tabled(version: &str) -> bool {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../v8/layouts/builds/node-{version}.toml"))
        .is_file()
}

#[test]
fn heap_commands_answer_the_same_without_the_executable() {
    for f in both_kinds("retainers") {
        let label = f.label();
        let with = on_core(&f.core, &f.exe, &["findjsinstances Walrus"], true);
        assert_eq!(with.code, 0, "{label}: {}", with.stderr);
        let walrus = with.json_lines()[0][0]["address"]
            .as_str()
            .expect("a Walrus")
            .to_string();
        let commands = [
            "findjsobjects".to_string(),
            "findjsobjects -d -a".to_string(),
            "findjsinstances Walrus".to_string(),
            format!("inspect {walrus}"),
            format!("findrefs {walrus}"),
            format!("retainers {walrus}"),
            "findrefs -n cage".to_string(),
            "findrefs -s zoo-walrus".to_string(),
        ];
        let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
        let with = on_core(&f.core, &f.exe, &commands, true);
        let without = core_only(&f.core, &commands);
        assert_eq!(with.code, 0, "{label}: {}", with.stderr);
        assert_eq!(without.code, 0, "{label} --core-only: {}", without.stderr);
        let (a, b) = (with.json_lines(), without.json_lines());
        assert_eq!(a.len(), commands.len(), "{label}");
        for ((command, x), y) in commands.iter().zip(&a).zip(&b) {
            assert!(
                x.as_array().is_none_or(|rows| !rows.is_empty()),
                "{label}: `{command}` found nothing"
            );
            assert_eq!(x, y, "{label}: `{command}` differs without the executable");
        }
    }
}

#[test]
fn javascript_frames_are_the_same_without_the_executable() {
    for f in both_kinds("stack") {
        let label = f.label();
        let js_frames = |run: &Run| -> Vec<serde_json::Value> {
            assert_eq!(run.code, 0, "{label}: {}", run.stderr);
            let doc = &run.json_lines()[0];
            let main = doc["threads"]
                .as_array()
                .and_then(|ts| ts.iter().find(|t| t["tid"] == f.expect.raw["pid"]))
                .expect("the main thread");
            main["frames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|fr| fr["kind"] == "js")
                .cloned()
                .collect()
        };
        let with = js_frames(&on_core(&f.core, &f.exe, &["bt all"], true));
        let run = core_only(&f.core, &["bt all"]);
        let without = js_frames(&run);
        assert!(with.len() >= 3, "{label}: {with:?}");
        assert_eq!(with.len(), without.len(), "{label}");
        for (a, b) in with.iter().zip(&without) {
            for key in [
                "function",
                "file",
                "frame_type",
                "source_position",
                "this",
                "arguments",
            ] {
                assert_eq!(a[key], b[key], "{label}: {key} of {a}");
            }
            // A line needs the script's source; node's own modules keep theirs in the
            // executable, which a kernel core leaves out: only those may lack it.
            if b["line"].is_null() && !a["line"].is_null() {
                let file = b["file"].as_str().unwrap_or("");
                assert!(file.starts_with("node:"), "{label}: no line in {b}");
                assert!(b["source_position"].is_u64(), "{label}: {b}");
            } else {
                assert_eq!(
                    (&a["line"], &a["column"]),
                    (&b["line"], &b["column"]),
                    "{label}"
                );
            }
        }
        let note = run.json_lines()[0]["note"].as_str().map(str::to_string);
        assert!(
            note.is_some_and(|n| n.contains("--exe")),
            "{label}: bt says what the executable would add"
        );
    }
}

#[test]
fn the_layout_comes_from_the_table_of_the_build() {
    for f in both_kinds("objects") {
        let label = f.label();
        let run = core_only(&f.core, &["info"]);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let info = &run.json_lines()[0];
        assert_eq!(info["node_version"], format!("v{}", f.version), "{label}");
        assert_eq!(info["layout"]["metadata_from"], "table", "{label}");
        let want = if tabled(&f.version) {
            "build id"
        } else {
            "release range"
        };
        assert_eq!(info["layout"]["table_match"], want, "{label}");
        assert_eq!(info["executable"]["status"], "not opened", "{label}");
    }
}

/// The source of node's own modules is in the executable's read-only data: inspecting one of
/// their functions' source without it says which file holds it and how to supply it.
#[test]
fn the_source_of_nodes_own_modules_needs_the_executable() {
    let mut told = 0;
    for f in coroner_fixtures::find("stack", Kind::Abort) {
        let label = f.label();
        let bt = core_only(&f.core, &["bt"]);
        let doc = &bt.json_lines()[0];
        let internal = doc["threads"][0]["frames"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|fr| fr["file"].as_str().is_some_and(|s| s.starts_with("node:")))
            .and_then(|fr| fr["closure"].as_str())
            .expect("a frame of node's own modules")
            .to_string();
        let run = core_only(&f.core, &[&format!("inspect -s {internal}")]);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let error = run.json_lines()[0]["error"].as_str().map(str::to_string);
        if let Some(error) = error {
            assert!(error.contains("--exe"), "{label}: {error}");
            told += 1;
        }
    }
    assert!(
        told > 0,
        "no fixture lacks the source of node's own modules"
    );
}

#[test]
fn what_needs_the_executable_says_how_to_supply_it() {
    for f in coroner_fixtures::find("stack", Kind::Abort) {
        let label = f.label();
        // Node's native code is not in a kernel core: disassembling it needs the file.
        let run = core_only(&f.core, &["frame 1", "disasm -n 2"]);
        assert_eq!(run.code, 1, "{label}: {}", run.stdout);
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("disasm"))
            .collect();
        assert_eq!(errors.len(), 1, "{label}: {}", run.stderr);
        assert!(errors[0].contains("--exe"), "{label}: {}", errors[0]);
        assert!(!run.stderr.contains("panicked"), "{label}");
    }
}
