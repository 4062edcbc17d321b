//! `info` on every fixture core: the process facts coroner reads must equal what the scenario
//! recorded about itself just before it dumped.

mod support;

use coroner_fixtures::Fixture;
use support::on_core;

fn info_json(f: &Fixture) -> serde_json::Value {
    let run = on_core(&f.core, &f.exe, &["info"], true);
    assert_eq!(run.code, 0, "{}: {}", f.core.display(), run.stderr);
    let mut lines = run.json_lines();
    assert_eq!(lines.len(), 1, "one JSON document per command");
    lines.remove(0)
}

#[test]
fn info_matches_what_each_scenario_recorded() {
    let fixtures = coroner_fixtures::all();
    for f in &fixtures {
        let info = info_json(f);
        let what = format!("{} {} {:?}", f.version, f.scenario, f.kind);
        let expect = &f.expect.raw;
        assert_eq!(info["pid"], expect["pid"], "{what}: pid");
        assert_eq!(
            info["command_line"].as_str(),
            Some(recorded_command_line(f).as_str()),
            "{what}: command line"
        );
        assert_eq!(info["threads"], expect["threads"], "{what}: thread count");
        assert_eq!(
            info["node_version"], expect["node_version"],
            "{what}: node version"
        );
        let v8 = info["v8_version"].as_str().unwrap_or_default();
        assert_eq!(
            Some(v8),
            expect["v8_version"].as_str(),
            "{what}: v8 version"
        );
        assert_eq!(
            info["executable"]["status"], "matched",
            "{what}: executable"
        );
        if f.kind.aborts() {
            assert_eq!(info["signal"]["name"], "SIGABRT", "{what}: signal");
        }
        // Every isolate, the main one run by the main thread; every page walked to its end.
        let isolates = info["isolates"].as_array().expect("isolates");
        let recorded = expect["extra"]["isolates"].as_u64().unwrap_or(1);
        assert_eq!(isolates.len() as u64, recorded, "{what}: isolates");
        let main: Vec<_> = isolates
            .iter()
            .filter(|i| i["thread_kind"] == "main")
            .collect();
        assert_eq!(main.len(), 1, "{what}: {isolates:?}");
        assert!(
            main[0]["threads"]
                .as_array()
                .is_some_and(|t| t.contains(&expect["pid"])),
            "{what}: {isolates:?}"
        );
        if f.scenario == "workers" {
            let workers = isolates
                .iter()
                .filter(|i| i["thread_kind"] == "worker")
                .count();
            assert_eq!(workers, 2, "{what}: {isolates:?}");
        }
        assert!(info["pages"].as_u64().unwrap_or(0) > 0, "{what}: pages");
        assert_eq!(info["damaged"], serde_json::json!([]), "{what}");
        assert!(
            info["bytes_in_core"].as_u64().unwrap_or(0) > 1 << 20,
            "{what}: bytes"
        );
    }
}

/// The command line as node saw it: argv[0], then execArgv, then the script and its arguments.
fn recorded_command_line(f: &Fixture) -> String {
    let expect = &f.expect.raw;
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let argv = strings(&expect["argv"]);
    let mut line = argv[..1.min(argv.len())].to_vec();
    line.extend(strings(&expect["exec_argv"]));
    line.extend(argv.iter().skip(1).cloned());
    line.join(" ")
}

#[test]
fn the_whole_command_line_is_read_from_the_stack() {
    // The core's own record of the command line stops at 80 bytes, before the options when
    // node's path is long; the initial stack holds all of it. (The dump fixtures are checked
    // by the test above.)
    let mut long = 0;
    for f in coroner_fixtures::crashes() {
        let line = recorded_command_line(&f);
        long += usize::from(line.len() > 80);
        let info = info_json(&f);
        assert_eq!(
            info["command_line"].as_str(),
            Some(line.as_str()),
            "{} {}",
            f.version,
            f.scenario
        );
        // And says where it was read.
        assert_eq!(info["command_line_source"], "initial stack");
    }
    assert!(
        long > 0,
        "no command line longer than the core's 80-byte record"
    );
}

#[test]
fn text_info_names_the_process() {
    for f in coroner_fixtures::all().iter().take(4) {
        let run = on_core(&f.core, &f.exe, &["info"], false);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let pid = f.expect.raw["pid"].to_string();
        assert!(run.stdout.contains(&format!("pid {pid}")), "{}", run.stdout);
        assert!(
            run.stdout.contains("build id matches the core"),
            "{}",
            run.stdout
        );
        let node = f.expect.raw["node_version"].as_str().unwrap_or("?");
        assert!(run.stdout.contains(node), "{}", run.stdout);
    }
}

#[test]
fn the_executable_is_found_from_the_core_alone() {
    // The fixtures' node binaries sit at the path the process ran from, so without --exe coroner
    // must find the same file through NT_FILE and check its build id.
    for f in coroner_fixtures::all().iter().take(4) {
        let run = support::coroner([
            f.core.as_os_str(),
            "--json".as_ref(),
            "-c".as_ref(),
            "info".as_ref(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let info = &run.json_lines()[0];
        assert_eq!(info["executable"]["status"], "matched");
        assert_eq!(info["executable"]["file"].as_str(), f.exe.to_str());
    }
}
