//! `x`: memory as words, against gdb's `x/Ngx` on the same core (the values), with what each
//! word points to checked against what coroner knows independently (the object's map, a
//! return address's function).

mod support;

use std::process::Command;

use coroner_fixtures::{Fixture, Kind};
use support::on_core;

/// gdb's `x/{count}gx {addr}` on the fixture's core: the words' values.
fn gdb_words(f: &Fixture, addr: &str, count: usize) -> Vec<u64> {
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "--readnever", "-ex"])
        .arg(format!("x/{count}gx {addr}"))
        .arg(&f.exe)
        .arg(&f.core)
        .output()
        .expect("run gdb");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(":\t"))
        .flat_map(|(_, words)| {
            words
                .split_whitespace()
                .filter_map(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn values(doc: &serde_json::Value) -> Vec<u64> {
    doc["words"]
        .as_array()
        .expect("words")
        .iter()
        .filter_map(|w| u64::from_str_radix(w["value"].as_str()?.trim_start_matches("0x"), 16).ok())
        .collect()
}

#[test]
fn words_equal_gdbs_and_name_what_they_point_to() {
    for f in coroner_fixtures::find("retainers", Kind::Abort) {
        let label = f.label();
        let run = on_core(
            &f.core,
            &f.exe,
            &["findjsinstances Walrus", "frame 0"],
            true,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let docs = run.json_lines();
        let walrus = docs[0][0]["address"]
            .as_str()
            .expect("a Walrus")
            .to_string();
        let sp = docs[1]["sp"].as_str().expect("frame 0's sp").to_string();
        let run = on_core(
            &f.core,
            &f.exe,
            &[
                &format!("x/6gx {walrus}"),
                &format!("inspect -m {walrus}"),
                &format!("x -n 64 {sp}"),
            ],
            true,
        );
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let docs = run.json_lines();
        // The object's words, as gdb reads them; its first is its map.
        assert_eq!(values(&docs[0]), gdb_words(&f, &walrus, 6), "{label}");
        let map = &docs[0]["words"][0]["points_to"];
        assert_eq!(map["kind"], "object", "{label}: {map}");
        assert_eq!(map["tagged"], true, "{label}");
        assert_eq!(map["offset"], 0, "{label}");
        assert_eq!(
            map["address"], docs[1]["map"]["address"],
            "{label}: {}",
            docs[1]
        );
        // The innermost frame's stack: gdb's words, among them return addresses into code.
        assert_eq!(values(&docs[2]), gdb_words(&f, &sp, 64), "{label}");
        let in_code = docs[2]["words"]
            .as_array()
            .expect("words")
            .iter()
            .filter(|w| w["points_to"]["kind"] == "file" && w["points_to"]["symbol"].is_string())
            .count();
        assert!(in_code > 0, "{label}: no word points to a function");
    }
}

#[test]
fn instructions_and_unreadable_memory() {
    let f = coroner_fixtures::find("retainers", Kind::Abort)
        .into_iter()
        .next()
        .expect("a retainers fixture");
    let run = on_core(&f.core, &f.exe, &["frame 0"], true);
    let pc = run.json_lines()[0]["frame"]["pc"]
        .as_str()
        .expect("pc")
        .to_string();
    let run = on_core(
        &f.core,
        &f.exe,
        &[&format!("x/3i {pc}"), &format!("disasm {pc} -n 3")],
        true,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = run.json_lines();
    assert_eq!(docs[0], docs[1], "x/3i is disasm -n 3");
    let run = on_core(&f.core, &f.exe, &["x 0x10", "x/2s 0x10"], false);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].contains("does not hold the memory at 0x10"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("8-byte words"), "{}", lines[1]);
}

#[test]
fn registers_equal_gdbs_info_registers() {
    for f in coroner_fixtures::find("stack", Kind::Abort) {
        let label = f.label();
        let run = on_core(&f.core, &f.exe, &["registers", "info registers"], true);
        assert_eq!(run.code, 0, "{label}: {}", run.stderr);
        let docs = run.json_lines();
        assert_eq!(docs[0], docs[1], "{label}: `info registers` is `registers`");
        let ours: Vec<(String, u64)> = docs[0]["registers"]
            .as_array()
            .expect("registers")
            .iter()
            .filter_map(|r| {
                let value = r["value"].as_str()?.trim_start_matches("0x");
                Some((
                    r["name"].as_str()?.to_string(),
                    u64::from_str_radix(value, 16).ok()?,
                ))
            })
            .collect();
        assert_eq!(ours.len(), 17, "{label}: {ours:?}");
        let out = Command::new("gdb")
            .args(["-batch", "-nx", "--readnever", "-ex", "info registers"])
            .arg(&f.exe)
            .arg(&f.core)
            .output()
            .expect("run gdb");
        let gdb = String::from_utf8_lossy(&out.stdout);
        for (name, value) in &ours {
            let line = gdb
                .lines()
                .find(|l| l.split_whitespace().next() == Some(name.as_str()))
                .unwrap_or_else(|| panic!("{label}: gdb shows no {name}: {gdb}"));
            let theirs = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
            assert_eq!(theirs, Some(*value), "{label}: {name}: {line}");
        }
        // The pc is in a function of a library: named.
        let rip = &docs[0]["registers"][16];
        assert_eq!(rip["name"], "rip");
        assert!(rip["points_to"]["symbol"].is_string(), "{label}: {rip}");
    }
}
