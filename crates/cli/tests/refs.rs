//! findrefs and retainers through the binary, on the `retainers` scenario's cores of every
//! pinned Node version (abort and gcore): the text lines and the JSON scripts rely on, paging,
//! and one-line errors (exit status 1, no panic) for addresses that are not objects. (The
//! analyses' own exactness is tested in coroner-analysis.)

mod support;

use coroner_fixtures::{Fixture, Kind};
use support::on_core;

/// The retainers fixtures, both kinds.
fn fixtures() -> Vec<Fixture> {
    let mut all = coroner_fixtures::find("retainers", Kind::Abort);
    all.extend(coroner_fixtures::find("retainers", Kind::Gcore));
    all
}

/// The address of the only instance of `class`.
fn instance(f: &Fixture, class: &str) -> String {
    let run = on_core(
        &f.core,
        &f.exe,
        &[&format!("findjsinstances {class}")],
        true,
    );
    assert_eq!(run.code, 0, "{}: {}", f.label(), run.stderr);
    let docs = run.json_lines();
    let list = docs[0].as_array().expect("array");
    assert_eq!(list.len(), 1, "{}: {class}", f.label());
    list[0]["address"].as_str().expect("address").to_string()
}

#[test]
fn findrefs_and_retainers_name_the_holders() {
    for f in fixtures() {
        let label = f.label();
        let walrus = instance(&f, "Walrus");
        let zoo = f.expect.extra["holders"]["Walrus"]["index"]
            .as_u64()
            .expect("index");
        let run = on_core(
            &f.core,
            &f.exe,
            &[
                &format!("findrefs {walrus}"),
                &format!("findrefs -v {walrus}"),
                &format!("retainers {walrus}"),
                "findrefs -n cage",
                "findrefs -s zoo-walrus",
            ],
            true,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let docs = run.json_lines();
        assert_eq!(docs.len(), 5, "{label}");
        // findrefs: an array of references.
        let refs = docs[0].as_array().expect("findrefs prints an array");
        assert_eq!(refs.len(), 1, "{label}: {refs:?}");
        let r = &refs[0];
        assert_eq!(r["holder"], "(Array)", "{label}");
        assert_eq!(r["edge"], format!("[{zoo}]"));
        assert_eq!(r["text"], format!("(Array)[{zoo}]"));
        assert_eq!(r["kind"], "element");
        assert_eq!(r["index"].as_u64(), Some(zoo));
        assert_eq!(r["weak"], false);
        assert!(r["address"].as_str().is_some_and(|a| a.starts_with("0x")));
        assert_eq!(r["via"].as_array().map(Vec::len), Some(1), "{label}");
        assert!(r["slot"].as_str().is_some_and(|a| a.starts_with("0x")));
        // -v is the same query.
        assert_eq!(docs[1], docs[0], "{label}");
        // retainers: the path from the global object.
        let paths = docs[2]["paths"].as_array().expect("paths");
        let first = &paths[0];
        assert_eq!(
            first["text"],
            format!("global.zooKeeper -> .zoo -> [{zoo}] -> Walrus"),
            "{label}"
        );
        assert_eq!(first["root"]["kind"], "global");
        let hops = first["hops"].as_array().expect("hops");
        assert_eq!(hops.len(), 3, "{label}");
        assert_eq!(hops[0]["holder_name"], "global");
        assert_eq!(hops[0]["name"], "zooKeeper");
        assert_eq!(hops[1]["kind"], "property");
        assert_eq!(hops[2]["index"].as_u64(), Some(zoo));
        assert_eq!(hops[2]["target"].as_str(), Some(walrus.as_str()));
        assert_eq!(docs[2]["address"].as_str(), Some(walrus.as_str()));
        assert_eq!(docs[2]["name"], "Walrus");
        assert!(docs[2]["visited"].as_u64().unwrap_or(0) > 1);
        // findrefs -n: the 29 cages of the zoo, each with its value.
        let cages = docs[3].as_array().expect("array");
        let zoo_length = f.expect.extra["zoo_length"].as_u64().expect("zoo_length");
        assert_eq!(cages.len() as u64, zoo_length - 1, "{label}");
        assert!(cages
            .iter()
            .all(|c| c["text"] == "Object.cage" && c["value"].is_string()));
        // findrefs -s: the Walrus' name, with the string's address.
        let named = docs[4].as_array().expect("array");
        assert_eq!(named.len(), 1, "{label}");
        assert_eq!(named[0]["text"], "Walrus.name");
        assert_eq!(named[0]["address"].as_str(), Some(walrus.as_str()));
        assert!(named[0]["target"].is_string());

        // The same as text.
        let run = on_core(
            &f.core,
            &f.exe,
            &[
                &format!("findrefs {walrus}"),
                &format!("retainers {walrus}"),
            ],
            false,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(
            lines[0].ends_with(&format!(
                ": (Array)[{zoo}]  (via {})",
                r["via"][0].as_str().unwrap_or("")
            )),
            "{label}: {lines:?}"
        );
        assert_eq!(lines[1], format!("1 reference to {walrus} (Walrus)"));
        assert_eq!(
            lines[2],
            format!("global.zooKeeper -> .zoo -> [{zoo}] -> Walrus")
        );
        assert!(
            lines[3].starts_with(&format!("1 path to {walrus} (Walrus)")),
            "{lines:?}"
        );
    }
}

#[test]
fn a_closure_variable_and_its_timer() {
    for f in fixtures() {
        let label = f.label();
        let held = instance(&f, "HeldByClosure");
        let run = on_core(
            &f.core,
            &f.exe,
            &[
                &format!("findrefs {held}"),
                &format!("retainers -n 3 {held}"),
            ],
            false,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert!(
            lines[0].ends_with(": Context tick.held"),
            "{label}: {lines:?}"
        );
        assert!(
            lines.contains(&"global.retainers -> .ticker -> ._onTimeout -> Function tick (context) -> Context tick.held -> HeldByClosure"),
            "{label}: {lines:?}"
        );
        // With the stacks among the roots, paths from a thread's stack say which frame.
        assert!(
            lines
                .iter()
                .filter(|l| l.starts_with("(stack of thread"))
                .all(|l| l.contains(", frame #")
                    && l.ends_with("Context tick.held -> HeldByClosure")),
            "{label}: {lines:?}"
        );
    }
}

#[test]
fn paging_through_references() {
    let f = fixtures().into_iter().next().expect("a retainers fixture");
    let run = on_core(
        &f.core,
        &f.exe,
        &[
            "findrefs -n cage --limit 10",
            "findrefs -n cage --limit 10 --offset 25",
        ],
        false,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 10 + 2 + 4 + 1, "{lines:?}");
    assert_eq!(lines[10], "1-10 of 29 objects with a property \"cage\"");
    assert_eq!(
        lines[11],
        "(more: `findrefs -n cage --limit 10 --offset 10`)"
    );
    assert_eq!(lines[16], "26-29 of 29 objects with a property \"cage\"");
}

#[test]
fn garbage_addresses_are_one_line_errors() {
    for f in fixtures().into_iter().filter(|f| f.kind == Kind::Abort) {
        let walrus = instance(&f, "Walrus");
        let inside = u64::from_str_radix(walrus.trim_start_matches("0x"), 16).expect("hex") + 8;
        for (command, message) in [
            ("findrefs 0x1".to_string(), "no heap object starts at 0x1"),
            (
                "findrefs -v 0xdeadbeef".to_string(),
                "no heap object starts at 0xdeadbeef",
            ),
            ("findrefs zzz".to_string(), "is not an address"),
            (format!("findrefs {inside:#x}"), "inside the Walrus"),
            (
                "retainers 0xffffffffffffffff".to_string(),
                "no heap object starts at",
            ),
            (format!("retainers {inside:#x}"), "inside the Walrus"),
            ("retainers".to_string(), "required"),
            ("findrefs -s ''".to_string(), "empty"),
            ("findrefs -n x -s y".to_string(), "cannot be used with"),
        ] {
            for json in [false, true] {
                let run = on_core(&f.core, &f.exe, &[&command], json);
                let what = format!("{}: {command}: {}", f.label(), run.stderr);
                assert_eq!(run.code, 1, "{what}");
                assert!(!run.stderr.contains("panicked"), "{what}");
                assert_eq!(run.stderr.lines().count(), 1, "{what}");
                assert!(run.stderr.contains(message), "{what}");
                assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
            }
        }
        // An unknown property name or text is an empty answer, not an error.
        let run = on_core(
            &f.core,
            &f.exe,
            &["findrefs -n no-such-name", "findrefs -s no-such-text"],
            true,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run
            .json_lines()
            .iter()
            .all(|d| d.as_array().is_some_and(Vec::is_empty)));
    }
}

#[test]
fn dominators_name_each_leaks_only_holder_and_what_it_keeps_alive() {
    // Each leaked object of the retainers scenario is held by exactly one reference: its
    // immediate dominator is that holder (for a property or an element: the holding object
    // itself, as V8's heap snapshot draws backing stores), and the holder keeps it alive.
    for kind in [Kind::Abort, Kind::Gcore, Kind::Live] {
        for f in coroner_fixtures::find("retainers", kind) {
            let what = format!("{} {kind:?}", f.version);
            let holders: Vec<(&String, &serde_json::Value)> = f.expect.raw["extra"]["holders"]
                .as_object()
                .expect("extra.holders")
                .iter()
                .filter(|(_, h)| matches!(h["edge"].as_str(), Some("property" | "element")))
                .collect();
            let one_session = |commands: Vec<String>| {
                let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
                let run = on_core(&f.core, &f.exe, &commands, true);
                assert_eq!(run.code, 0, "{what}: {}", run.stderr);
                run.json_lines()
            };
            let leaked: Vec<String> = one_session(
                holders
                    .iter()
                    .map(|(class, _)| format!("findjsinstances {class}"))
                    .collect(),
            )
            .iter()
            .map(|d| d[0]["address"].as_str().expect("address").to_string())
            .collect();
            let trees = one_session(leaked.iter().map(|a| format!("dominators {a}")).collect());
            let mut held = Vec::new();
            for (((class, h), addr), doc) in holders.iter().zip(&leaked).zip(&trees) {
                // The census calls JS arrays `(Array)`, as V8's heap snapshot does.
                let holder_name = match h["holder"].as_str() {
                    Some("Array") => "(Array)",
                    other => other.unwrap_or_default(),
                };
                assert_eq!(
                    doc["chain"][0]["name"], holder_name,
                    "{what} {class}: {doc}"
                );
                let holder = doc["chain"][0]["address"].as_str().expect("holder");
                held.push((addr, format!("dominators -n 1000 {holder}")));
            }
            let kept = one_session(held.iter().map(|(_, c)| c.clone()).collect());
            for ((addr, command), doc) in held.iter().zip(&kept) {
                assert!(
                    doc["dominated"]
                        .as_array()
                        .expect("dominated")
                        .iter()
                        .any(|r| r["address"] == addr.as_str()),
                    "{what}: {command} keeps {addr} alive"
                );
            }
        }
    }
}

#[test]
fn a_holder_that_is_garbage_is_marked_unreachable() {
    let mut all = fixtures();
    all.extend(coroner_fixtures::find("retainers", Kind::Live));
    assert!(!all.is_empty());
    for f in all {
        let label = f.label();
        let orphan = &f.expect.extra["orphan"];
        let class = orphan["class"].as_str().expect("extra.orphan.class");
        let addr = instance(&f, class);
        let run = on_core(&f.core, &f.exe, &[&format!("findrefs {addr}")], true);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let refs = run.json_lines()[0].as_array().expect("array").clone();
        let holder = |name: &serde_json::Value| {
            refs.iter()
                .find(|r| &r["holder"] == name)
                .unwrap_or_else(|| panic!("{label}: no {name} in {refs:?}"))
                .clone()
        };
        let keeper = holder(&orphan["keeper"]);
        assert_eq!(keeper["name"], orphan["name"], "{label}");
        assert_eq!(keeper["reachable"], true, "{label}");
        let dead = refs.iter().find(|r| r["holder"] == orphan["dead"]);
        // The heap snapshot's GC freed the DeadHolder; a live core keeps it, unreachable.
        match f.kind {
            Kind::Live => {
                let dead = dead.unwrap_or_else(|| panic!("{label}: the dead holder: {refs:?}"));
                assert_eq!(dead["reachable"], false, "{label}");
                assert_eq!(dead["name"], orphan["name"], "{label}");
                let text = on_core(&f.core, &f.exe, &[&format!("findrefs {addr}")], false);
                let line = text
                    .stdout
                    .lines()
                    .find(|l| l.contains(&format!("{}.", orphan["dead"].as_str().unwrap_or("?"))))
                    .unwrap_or_else(|| panic!("{label}: {}", text.stdout));
                assert!(line.contains("unreachable"), "{label}: {line}");
                assert!(
                    text.stdout.contains("1 of them from unreachable holders"),
                    "{label}: {}",
                    text.stdout
                );
            }
            _ => assert!(dead.is_none(), "{label}: {dead:?}"),
        }
        assert_eq!(
            refs.len(),
            if f.kind == Kind::Live { 2 } else { 1 },
            "{label}: {refs:?}"
        );
        // Retainers: the path a user can act on first; paths through native frames' stack
        // words (conservative) only after every other.
        let run = on_core(&f.core, &f.exe, &[&format!("retainers -n 5 {addr}")], true);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let doc = &run.json_lines()[0];
        let paths = doc["paths"].as_array().expect("paths");
        let path = orphan["path"].as_str().expect("extra.orphan.path");
        // `globalThis.a.b` is the path `global.a -> .b -> Class`.
        let mut parts = path.trim_start_matches("globalThis.").split('.');
        let mut want = format!("global.{}", parts.next().unwrap_or_default());
        for p in parts {
            want.push_str(&format!(" -> .{p}"));
        }
        want.push_str(&format!(" -> {class}"));
        assert_eq!(paths[0]["text"], want.as_str(), "{label}: {paths:?}");
        let conservative: Vec<bool> = paths
            .iter()
            .map(|p| p["root"]["conservative"] == true)
            .collect();
        assert!(
            conservative.windows(2).all(|w| w[0] <= w[1]),
            "{label}: a conservative path before another: {paths:?}"
        );
        for p in paths.iter().filter(|p| p["root"]["conservative"] == true) {
            let text = p["text"].as_str().unwrap_or_default();
            assert!(text.contains(", conservative)"), "{label}: {text}");
        }
    }
}

#[test]
fn findjsobjects_reachable_leaves_out_the_garbage_of_a_live_core() {
    let all = coroner_fixtures::find("retainers", Kind::Live);
    assert!(!all.is_empty());
    for f in all {
        let label = f.label();
        let orphan = &f.expect.extra["orphan"];
        let count = |options: &str, name: &serde_json::Value| {
            let run = on_core(
                &f.core,
                &f.exe,
                &[&format!("findjsobjects {options}")],
                true,
            );
            assert_eq!(run.code, 0, "{label}: {}", run.stderr);
            run.json_lines()[0]
                .as_array()
                .expect("rows")
                .iter()
                .find(|r| &r["name"] == name)
                .and_then(|r| r["count"].as_u64())
                .unwrap_or(0)
        };
        // The DeadHolder was dropped before the dump: in the heap, but no root reaches it.
        assert_eq!(count("", &orphan["dead"]), 1, "{label}");
        assert_eq!(count("--reachable", &orphan["dead"]), 0, "{label}");
        // What the globals hold is counted either way.
        for held in [&orphan["keeper"], &orphan["class"]] {
            assert_eq!(count("--reachable", held), 1, "{label}: {held}");
        }
    }
}
