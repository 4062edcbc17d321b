//! `--redact` on real cores. The `nodestate` scenario keeps secrets the way a server does (an
//! API key given as its argument; made at run time from random bytes: an environment variable,
//! a token string, a Map keyed by a session id with a nested user id, a Buffer of key bytes, an
//! Error whose formatted stack names the token and one whose stack was never read) and records
//! them. Every command and export that shows heap values, node's state or the process's
//! command line runs with `--redact`, as text and as JSON, and none of the secrets may appear
//! in what it prints or writes. On the live cores the same commands without `--redact` must
//! show every secret somewhere, so that the check cannot pass by showing nothing. The uncaught-exception crash
//! cores check triage's thrown message the same way.

mod support;

use std::path::Path;

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;
use support::{coroner, Run};

/// What must not survive: the random parts of the scenario's secrets (the first and the last
/// 10 characters of each, so that a cut string is caught too) and the key's bytes as JSON
/// writes them (hex) and as text does (spaced hex).
fn secrets(f: &Fixture) -> Vec<String> {
    let s = &f.expect.raw["extra"]["facts"]["secrets"];
    let mut whole: Vec<String> = s["texts"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: extra.facts.secrets.texts", f.label()))
        .iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    let argument = s["argument"].as_str().expect("secrets.argument");
    whole.push(argument.rsplit('_').next().unwrap_or(argument).to_string());
    let key = s["key"].as_str().expect("secrets.key");
    whole.push(key.to_string());
    let mut out: Vec<String> = whole
        .iter()
        .flat_map(|w| [w[..10].to_string(), w[w.len() - 10..].to_string()])
        .collect();
    let spaced: Vec<&str> = (0..6).map(|i| &key[2 * i..2 * i + 2]).collect();
    out.push(spaced.join(" "));
    out
}

fn run(f: &Fixture, redact: bool, json: bool, commands: &[String]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec![f.core.clone().into(), "--exe".into()];
    args.push(f.exe.clone().into());
    if redact {
        args.push("--redact".into());
    }
    if json {
        args.push("--json".into());
    }
    for c in commands {
        args.push("-c".into());
        args.push(c.into());
    }
    coroner(args)
}

/// The address of the scenario's `Secrets` object.
fn secrets_object(f: &Fixture) -> String {
    let r = run(f, true, true, &["findjsinstances Secrets".to_string()]);
    assert_eq!(r.code, 0, "{}: {}", f.label(), r.stderr);
    r.json_lines()[0][0]["address"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no Secrets instance", f.label()))
        .to_string()
}

/// Every command that shows values, node's state or the command line, and the two exports.
fn commands(addr: &str, dir: &Path, json: bool) -> Vec<String> {
    let suffix = if json { "json" } else { "text" };
    let html = dir.join(format!("leaks-{suffix}.html"));
    let snapshot = dir.join(format!("core-{suffix}.heapsnapshot"));
    [
        "info",
        "triage",
        "nodeinfo",
        "report",
        "handles --all",
        "requests",
        "timers",
        "promises",
        "bt all",
        "findjsobjects",
        "findjsinstances -d Secrets",
        &format!("inspect --depth 4 {addr}"),
        &format!("inspect --depth 4 -F -l 64 {addr}"),
        &format!("findrefs {addr}"),
        &format!("retainers {addr}"),
        &format!("dominators {addr}"),
        "dominators",
        "leaks",
        &format!("leaks --html {}", html.display()),
        &format!("snapshot {}", snapshot.display()),
    ]
    .iter()
    .map(|c| c.to_string())
    .collect()
}

fn nodestate() -> Vec<Fixture> {
    coroner_fixtures::of_scenario("nodestate")
}

#[test]
fn no_secret_of_the_scenario_survives_any_output() {
    for f in nodestate() {
        let label = f.label();
        let secrets = secrets(&f);
        let addr = secrets_object(&f);
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut shown = String::new();
        for json in [false, true] {
            let cmds = commands(&addr, dir.path(), json);
            let r = run(&f, true, json, &cmds);
            assert_eq!(r.code, 0, "{label} --redact: {}", r.stderr);
            assert!(!r.stderr.contains("panicked"), "{label}: {}", r.stderr);
            shown.push_str(&r.stdout);
            shown.push_str(&r.stderr);
        }
        for file in std::fs::read_dir(dir.path()).expect("exports") {
            let path = file.expect("an export").path();
            shown.push_str(&std::fs::read_to_string(&path).expect("an export's text"));
        }
        assert!(shown.contains("<redacted: "), "{label}: nothing redacted");
        assert!(
            shown.contains(r#""redacted":true"#),
            "{label}: report not marked"
        );
        for s in &secrets {
            assert!(
                !shown.contains(s.as_str()),
                "{label}: {s:?} survived --redact"
            );
        }

        // Without --redact the same secrets are all there to be found (checked on the live
        // cores, where nothing collected garbage before the dump).
        if f.kind != Kind::Live {
            continue;
        }
        let plain: String = [false, true]
            .into_iter()
            .map(|json| run(&f, false, json, &commands(&addr, dir.path(), json)).stdout)
            .collect();
        for s in &secrets {
            assert!(
                plain.contains(s.as_str()),
                "{label}: {s:?} not shown without --redact"
            );
        }
    }
}

#[test]
fn redacted_values_keep_their_length_and_equal_values_their_digest() {
    let f = nodestate().remove(0);
    let label = f.label();
    let addr = secrets_object(&f);
    let r = run(&f, true, true, &[format!("inspect --depth 3 {addr}")]);
    assert_eq!(r.code, 0, "{label}: {}", r.stderr);
    let v = &r.json_lines()[0];
    let property = |name: &str| -> &Value {
        v["properties"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| &p["value"])
            .unwrap_or_else(|| panic!("{label}: no property {name} in {v}"))
    };
    let token = property("token");
    assert_eq!(token["type"], "string", "{label}: {token}");
    assert_eq!(token["length"], 36, "{label}: tok_ and 32 hex digits");
    let digest = token["redacted"].as_str().expect("a digest");
    assert_eq!(
        token["value"],
        format!("<redacted: 36 chars #{digest}>"),
        "{label}"
    );
    let key = property("key");
    assert!(key["bytes"].is_null(), "{label}: bytes shown: {key}");
    assert!(key["redacted"].is_string(), "{label}: {key}");

    // The same token, looked up again in another command of the run, has the same digest;
    // another run's key gives another.
    let twice = run(
        &f,
        true,
        true,
        &[format!("inspect {addr}"), format!("inspect {addr}")],
    );
    let lines = twice.json_lines();
    let digest_of = |doc: &Value| {
        doc["properties"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "token"))
            .and_then(|p| p["value"]["redacted"].as_str())
            .map(str::to_string)
    };
    assert_eq!(digest_of(&lines[0]), digest_of(&lines[1]), "{label}");
    assert_ne!(digest_of(&lines[0]).as_deref(), Some(digest), "{label}");
}

#[test]
fn raw_memory_is_refused_under_redact() {
    let f = nodestate().remove(0);
    let addr = secrets_object(&f);
    for (command, needle) in [
        (format!("x {addr}"), "--redact"),
        (format!("disasm {addr}"), "not in executable memory"),
    ] {
        let r = run(&f, true, false, std::slice::from_ref(&command));
        assert_ne!(r.code, 0, "{command}: {}", r.stdout);
        assert!(r.stderr.contains(needle), "{command}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{command}: {}", r.stdout);
    }
    // Code is still disassembled.
    let r = run(&f, true, false, &["disasm uv_run -n 4".to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn triage_withholds_the_thrown_message() {
    let crashes: Vec<Fixture> = coroner_fixtures::crashes()
        .into_iter()
        .filter(|f| f.scenario.starts_with("uncaught") && f.kind == Kind::Crash)
        .collect();
    assert!(!crashes.is_empty(), "no uncaught-exception crash fixtures");
    for f in crashes {
        let label = f.label();
        let message = f.expect.raw["extra"]["exception"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{label}: extra.exception.message"))
            .to_string();
        let commands = ["triage".to_string(), "report".to_string()];
        let plain = run(&f, false, true, &commands);
        assert!(
            plain.stdout.contains(&message),
            "{label}: {message:?} not shown"
        );
        for json in [false, true] {
            let r = run(&f, true, json, &commands);
            assert_eq!(r.code, 0, "{label}: {}", r.stderr);
            assert!(
                !r.stdout.contains(&message),
                "{label}: {message:?} survived --redact"
            );
            if json {
                let triage = &r.json_lines()[0];
                let shown = triage["exception"]["message"].as_str().unwrap_or_default();
                assert!(shown.starts_with("<redacted: "), "{label}: {shown}");
            }
        }
    }
}
