//! findjsobjects, findjsinstances and inspect through the binary: the JSON scripts rely on, and
//! agreement with what each scenario recorded. (The analyses' own exactness is tested in
//! coroner-heap and coroner-analysis.)

mod support;

use coroner_fixtures::Kind;
use support::on_core;

#[test]
fn census_instances_and_inspect_agree_with_the_scenario() {
    for f in coroner_fixtures::find("objects", Kind::Abort) {
        let what = format!("{} objects", f.version);
        let run = on_core(
            &f.core,
            &f.exe,
            &["findjsobjects", "findjsinstances Walrus -n 2"],
            true,
        );
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let docs = run.json_lines();
        let rows = docs[0].as_array().expect("findjsobjects prints an array");
        for (class, count) in &f.expect.classes {
            let row = rows
                .iter()
                .find(|r| r["name"] == class.as_str())
                .unwrap_or_else(|| panic!("{what}: no row {class}"));
            assert_eq!(row["count"].as_u64(), Some(*count), "{what}: {class}");
            assert!(
                row["size"].as_u64().unwrap_or(0) >= *count * 24,
                "{what}: {class} size"
            );
        }
        let listed = docs[1].as_array().expect("findjsinstances prints an array");
        assert_eq!(listed.len(), 2, "-n 2");
        let addr = listed[0]["address"].as_str().expect("address");
        assert!(addr.starts_with("0x"));

        let run = on_core(&f.core, &f.exe, &[&format!("inspect {addr}")], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let v = &run.json_lines()[0];
        assert_eq!(v["type"], "object");
        assert_eq!(v["constructor"], "Walrus");
        assert_eq!(v["address"].as_str(), Some(addr));
        let props = v["properties"].as_array().expect("properties");
        assert!(props
            .iter()
            .all(|p| p["name"].is_string() && p["value"]["type"].is_string()));
    }
}

#[test]
fn paging_continues_where_it_stopped() {
    let f = coroner_fixtures::find("objects", Kind::Abort)
        .into_iter()
        .next()
        .expect("objects fixture");
    let run = on_core(
        &f.core,
        &f.exe,
        &[
            "findjsinstances Walrus -n 600",
            "findjsinstances Walrus -n 600 --offset 600",
        ],
        true,
    );
    let docs = run.json_lines();
    let a: Vec<&str> = docs[0]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|x| x["address"].as_str())
        .collect();
    let b: Vec<&str> = docs[1]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|x| x["address"].as_str())
        .collect();
    assert_eq!(a.len() + b.len(), 1000);
    assert!(a.iter().all(|x| !b.contains(x)), "pages do not overlap");
    let run = on_core(&f.core, &f.exe, &["findjsinstances Walrus -n 600"], false);
    assert!(
        run.stdout
            .contains("(more: `findjsinstances Walrus -n 600 --offset 600`)"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_addresses_and_names_fail_cleanly() {
    let f = coroner_fixtures::find("objects", Kind::Abort)
        .into_iter()
        .next()
        .expect("objects fixture");
    for cmd in [
        "inspect 0x10",
        "inspect nothex",
        "findjsinstances NoSuchClass",
        "inspect 0x7fffffffffff",
    ] {
        let run = on_core(&f.core, &f.exe, &[cmd], false);
        assert_eq!(run.code, 1, "{cmd}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{cmd}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"));
    }
}

#[test]
fn an_error_lists_its_message_once_and_accessors_read_as_devtools_shows_them() {
    for f in coroner_fixtures::find("objects", Kind::Live) {
        let what = format!("{} objects live", f.version);
        let run = on_core(
            &f.core,
            &f.exe,
            &[
                "findjsinstances SpecialProbe -n 1",
                "findjsinstances (Array) -n 1",
            ],
            true,
        );
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let docs = run.json_lines();
        let first = |i: usize| {
            docs[i][0]["address"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no instance in {}", docs[i]))
                .to_string()
        };
        let (probe, array) = (first(0), first(1));
        let run = on_core(
            &f.core,
            &f.exe,
            &[
                &format!("inspect --depth 2 {probe}"),
                &format!("inspect {array}"),
            ],
            false,
        );
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let message = f.expect.extra["special"]["error"]["message"]
            .as_str()
            .expect("the scenario records its error's message");
        // Nested strings are cut: compare the start of the message.
        let start: String = message.chars().take(8).collect();
        let error: Vec<&str> = run
            .stdout
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("error: "))
            .take_while(|l| l.trim() != "}")
            .collect();
        assert!(!error.is_empty(), "{what}: no error in {}", run.stdout);
        let messages = error
            .iter()
            .filter(|l| l.trim_start().starts_with(&format!("message: \"{start}")))
            .count();
        assert_eq!(messages, 1, "{what}: {error:#?}");
        assert!(
            !run.stdout.contains("(accessor)") && !run.stdout.contains("ACCESSOR_"),
            "{what}: {}",
            run.stdout
        );
        assert!(
            run.stdout.lines().any(|l| l.trim() == "length: [accessor]"),
            "{what}: {}",
            run.stdout
        );
    }
}

#[test]
fn census_rows_and_inspect_weigh_objects_alike() {
    // Each leaked object of the retainers scenario is its class's only instance: the class's
    // retained size and distance are the object's, as `inspect -r` gives them; `inspect`
    // without -r gives the shallow size only (nothing built yet), `--no-retained` rows neither.
    for kind in [Kind::Abort, Kind::Live] {
        for f in coroner_fixtures::find("retainers", kind) {
            let what = format!("{} retainers {kind:?}", f.version);
            let run = on_core(
                &f.core,
                &f.exe,
                &["findjsobjects", "findjsinstances HeldByArray"],
                true,
            );
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            let docs = run.json_lines();
            let row = docs[0]
                .as_array()
                .expect("rows")
                .iter()
                .find(|r| r["name"] == "HeldByArray")
                .cloned()
                .expect("a HeldByArray row");
            let retained = row["retained"].as_u64().expect("retained");
            assert!(
                retained >= row["size"].as_u64().unwrap_or(u64::MAX),
                "{what}"
            );
            assert!(row["distance"].as_u64().is_some_and(|d| d >= 2), "{what}");
            let addr = docs[1][0]["address"].as_str().expect("address").to_string();

            let run = on_core(&f.core, &f.exe, &[&format!("inspect -r {addr}")], true);
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            let doc = &run.json_lines()[0];
            assert_eq!(doc["shallow"], row["size"], "{what}");
            assert_eq!(doc["retained"], row["retained"], "{what}");
            assert_eq!(doc["distance"], row["distance"], "{what}");

            let run = on_core(
                &f.core,
                &f.exe,
                &[
                    &format!("inspect {addr}"),
                    "findjsobjects --no-retained -n 3",
                    "findjsobjects -d -n 20",
                ],
                true,
            );
            let docs = run.json_lines();
            // Detailed groups weigh what they keep alive too (less than their own size when
            // some of their objects are garbage or in the read-only heap, which no root holds).
            assert!(
                docs[2]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .all(|r| r["retained"].is_u64()),
                "{what}: {}",
                docs[2]
            );
            assert_eq!(docs[0]["shallow"], row["size"], "{what}");
            assert!(docs[0].get("retained").is_none(), "{what}");
            assert!(
                docs[1]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .all(|r| r.get("retained").is_none()),
                "{what}"
            );
        }
    }
}

#[test]
fn a_generator_reads_as_node_shows_one() {
    // The objects scenario's generator `gen()`, suspended at its first yield: the census files
    // it under its function's name (as V8's heap snapshot does), inspect heads it as Node's
    // util.inspect does, `Object [Generator]`.
    for kind in [Kind::Abort, Kind::Live] {
        for f in coroner_fixtures::find("objects", kind) {
            let what = format!("{} {kind:?}", f.version);
            let run = on_core(&f.core, &f.exe, &["findjsinstances gen"], true);
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            let listed = run.json_lines()[0].clone();
            assert_eq!(listed.as_array().map(Vec::len), Some(1), "{what}");
            let addr = listed[0]["address"].as_str().expect("address").to_string();
            let run = on_core(&f.core, &f.exe, &[&format!("inspect {addr}")], false);
            assert!(
                run.stdout
                    .starts_with(&format!("{addr} Object [Generator] {{")),
                "{what}: {}",
                run.stdout
            );
            assert!(run.stdout.contains("state: suspended"), "{what}");
        }
    }
}

#[test]
fn a_deep_expansion_stops_at_its_budget_and_says_so() {
    // `--depth 8` of node's `process` object reaches most of the heap: the expansion stops at
    // its budget of objects, and the output says how many it left in short form.
    let f = coroner_fixtures::find("objects", Kind::Abort)
        .into_iter()
        .next()
        .expect("objects fixture");
    let run = on_core(&f.core, &f.exe, &["findjsinstances process -n 8"], true);
    let docs = run.json_lines();
    // The one with properties: node's `process` (another object may be named so too).
    let deepest = docs[0]
        .as_array()
        .expect("process objects")
        .iter()
        .filter_map(|row| row["address"].as_str())
        .map(|a| {
            let deep = format!("inspect --depth 8 {a}");
            let json = on_core(&f.core, &f.exe, &[&deep], true);
            assert_eq!(json.code, 0, "{}", json.stderr);
            let unexpanded = json.json_lines()[0]["unexpanded"].as_u64().unwrap_or(0);
            (unexpanded, deep, json.stdout.len(), a.to_string())
        })
        .max();
    let (unexpanded, deep, bytes, process) = deepest.expect("a process object");
    assert!(unexpanded > 0, "{deep}: nothing left unexpanded");
    // Bounded output: some megabytes, not the heap.
    assert!(bytes < 64 << 20, "{bytes} bytes");
    let text = on_core(&f.core, &f.exe, &[&deep], false);
    assert!(
        text.stdout
            .contains(&format!("... {unexpanded} more objects not expanded")),
        "{}",
        &text.stdout[text.stdout.len().saturating_sub(300)..]
    );
    // A shallow one is whole.
    let shallow = on_core(&f.core, &f.exe, &[&format!("inspect {process}")], true);
    assert!(shallow.json_lines()[0]["unexpanded"].is_null());
}
