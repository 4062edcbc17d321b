//! `handles`, `requests` and `timers` on the `nodestate` fixtures of every pinned version: a
//! process holding a TCP server and a connection to it, a UDP socket, a child process, a signal
//! handler, an fs watcher, an fs.open of a FIFO stuck in the thread pool, a worker, an interval,
//! a timeout and an immediate. The scenario records node's own diagnostic report just before
//! the dump (`extra.report`): every libuv handle it lists must be found at the same address,
//! with the same type, state and details; and its own facts (`extra.facts`): the timers'
//! delays and schedule, the FIFO's path, the child's pid.

mod support;

use coroner_fixtures::Fixture;
use serde_json::Value;
use support::{core_only, on_core};

fn fixtures() -> Vec<Fixture> {
    coroner_fixtures::of_scenario("nodestate")
}

fn facts(f: &Fixture) -> &Value {
    &f.expect.raw["extra"]["facts"]
}

/// The handles of node's report (its `libuv` section, the loop itself left out).
fn report_handles(f: &Fixture) -> Vec<&Value> {
    f.expect.raw["extra"]["report"]["libuv"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: extra.report.libuv", f.label()))
        .iter()
        .filter(|h| h["type"] != "loop")
        .collect()
}

/// An address as the report writes it (`0x000000000ec4fca0`) or coroner does (`0xec4fca0`).
fn address(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_default();
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or(0)
}

fn run_json(f: &Fixture, command: &str) -> Value {
    let run = on_core(&f.core, &f.exe, &[command], true);
    assert_eq!(run.code, 0, "{}: {command}: {}", f.label(), run.stderr);
    run.json_lines().remove(0)
}

/// Whether coroner's `address:port` is the report's endpoint: the same port, and the same
/// address where the report gives it (`ip4`, from Node 20 on; Node 18 gives a host name).
fn same_endpoint(ours: &str, theirs: &Value) -> bool {
    let Some((address, port)) = ours.rsplit_once(':') else {
        return false;
    };
    Some(port) == theirs["port"].as_u64().map(|p| p.to_string()).as_deref()
        && theirs["ip4"].as_str().is_none_or(|ip| ip == address)
}

#[test]
fn every_handle_of_nodes_report_is_found_with_its_type_state_and_details() {
    for f in fixtures() {
        let label = f.label();
        let doc = run_json(&f, "handles --all");
        let handles = doc["handles"].as_array().expect("handles");
        let report = report_handles(&f);
        let report_loop = f.expect.raw["extra"]["report"]["libuv"]
            .as_array()
            .and_then(|l| l.iter().find(|h| h["type"] == "loop"))
            .map(|l| address(&l["address"]));
        let default = doc["loops"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["default"] == true))
            .map(|l| address(&l["address"]));
        assert_eq!(default, report_loop, "{label}: the default loop");
        let on_default: Vec<&Value> = handles
            .iter()
            .filter(|h| Some(address(&h["loop"])) == default)
            .collect();
        assert_eq!(
            on_default.len(),
            report.len(),
            "{label}: handles of the main loop"
        );
        let mut endpoints = 0;
        for r in &report {
            let at = address(&r["address"]);
            let h = on_default
                .iter()
                .find(|h| address(&h["address"]) == at)
                .unwrap_or_else(|| panic!("{label}: no handle at {at:#x} ({r})"));
            assert_eq!(h["type"], r["type"], "{label}: {h} vs {r}");
            assert_eq!(h["active"], r["is_active"], "{label}: {h} vs {r}");
            assert_eq!(h["referenced"], r["is_referenced"], "{label}: {h} vs {r}");
            for (ours, theirs) in [("fd", "fd"), ("pid", "pid"), ("signum", "signum")] {
                if !r[theirs].is_null() {
                    assert_eq!(h[ours], r[theirs], "{label}: {ours} of {h} vs {r}");
                }
            }
            if !r["signal"].is_null() {
                assert_eq!(h["signal"], r["signal"], "{label}: {h}");
            }
            if !r["filename"].is_null() {
                assert_eq!(h["path"], r["filename"], "{label}: {h}");
            }
            // Addresses node cached on the JS side agree with the kernel's.
            for (ours, theirs) in [("local", "localEndpoint"), ("remote", "remoteEndpoint")] {
                if let Some(e) = h[ours].as_str() {
                    assert!(same_endpoint(e, &r[theirs]), "{label}: {h} vs {r}");
                    endpoints += 1;
                }
            }
        }
        // The client socket and the server's accepted one asked for both their addresses; the
        // server listens where it said.
        assert_eq!(endpoints, 5, "{label}: endpoints found");
    }
}

#[test]
fn handles_name_the_js_objects_that_own_them() {
    for f in fixtures() {
        let label = f.label();
        let doc = run_json(&f, "handles");
        let handles = doc["handles"].as_array().expect("handles");
        let owner = |kind: &str| -> Vec<String> {
            handles
                .iter()
                .filter(|h| h["type"] == kind)
                .map(|h| h["owner"]["name"].as_str().unwrap_or("-").to_string())
                .collect()
        };
        let mut tcp = owner("tcp");
        tcp.sort();
        assert_eq!(tcp, ["Server", "Socket", "Socket"], "{label}");
        assert_eq!(owner("udp"), ["Socket"], "{label}");
        assert_eq!(owner("process"), ["ChildProcess"], "{label}");
        assert_eq!(owner("fs_event"), ["FSWatcher"], "{label}");
        // The owner is an object `inspect` reads: the ChildProcess has the child's pid.
        let process = handles
            .iter()
            .find(|h| h["type"] == "process")
            .expect("process handle");
        assert_eq!(process["pid"], facts(&f)["child_pid"], "{label}");
        let child = process["owner"]["address"].as_str().expect("owner address");
        let inspected = run_json(&f, &format!("inspect {child}"));
        let pid = &inspected["properties"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "pid"))
            .expect("pid property")["value"]["value"];
        assert_eq!(pid, &facts(&f)["child_pid"], "{label}: {inspected}");
        // The worker has an Environment and a loop of its own.
        let envs = doc["environments"].as_array().expect("environments");
        // Node's own timer handle is a member of the main Environment.
        let main_env = envs
            .iter()
            .find(|e| e["isolate"] == 0)
            .expect("main Environment");
        let timer = handles
            .iter()
            .find(|h| h["type"] == "timer" && h["loop"] == main_env["loop"])
            .unwrap_or_else(|| panic!("{label}: no timer handle on the main loop"));
        assert_eq!(
            timer["environment"], main_env["address"],
            "{label}: {timer}"
        );
        assert_eq!(envs.len(), 2, "{label}: {envs:?}");
        let loops = doc["loops"].as_array().expect("loops");
        assert_eq!(loops.len(), 2, "{label}: {loops:?}");
        assert_eq!(
            loops.iter().filter(|l| l["default"] == true).count(),
            1,
            "{label}"
        );
        assert!(
            doc["notes"].as_array().is_some_and(|n| n.is_empty()),
            "{label}: {doc}"
        );
    }
}

#[test]
fn timers_list_the_scheduled_callbacks_with_their_delays_and_due_times() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/nodestate.js"),
    )
    .expect("the scenario's source");
    let line_of = |name: &str| {
        source
            .lines()
            .position(|l| l.starts_with(&format!("function {name}(")))
            .map(|i| i as u64 + 1)
            .expect("the function in the scenario")
    };
    for f in fixtures() {
        let label = f.label();
        let doc = run_json(&f, "timers");
        let timers = doc["timers"].as_array().expect("timers");
        let clock = facts(&f)["timer_clock"].as_f64().expect("timer_clock");
        for expected in facts(&f)["timers"].as_array().expect("facts.timers") {
            let name = expected["callback"].as_str().expect("callback");
            let t = timers
                .iter()
                .find(|t| t["callback"]["name"] == name)
                .unwrap_or_else(|| panic!("{label}: no timer {name}: {doc}"));
            assert_eq!(t["timeout"], expected["timeout"], "{label}: {t}");
            assert_eq!(t["repeat"], expected["repeat"], "{label}: {t}");
            let kind = if expected["repeat"] == true {
                "interval"
            } else {
                "timeout"
            };
            assert_eq!(t["kind"], kind, "{label}: {t}");
            assert_eq!(t["callback"]["line"], line_of(name), "{label}: {t}");
            assert!(
                t["callback"]["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("nodestate.js")),
                "{label}: {t}"
            );
            // Due when the recorded schedule says, by a clock read at the record or up to a
            // minute later (the dump follows the record within seconds).
            let at_record = expected["idle_start"].as_f64().expect("idle_start")
                + expected["timeout"].as_f64().expect("timeout")
                - clock;
            let due = t["due_in"].as_f64().unwrap_or(f64::NAN);
            assert!(
                due <= at_record && due > at_record - 60_000.0,
                "{label}: due in {due}, {at_record} at the record: {t}"
            );
            assert_eq!(t["referenced"], true, "{label}: {t}");
        }
        let immediates: Vec<&Value> = timers.iter().filter(|t| t["kind"] == "immediate").collect();
        assert_eq!(immediates.len(), 1, "{label}: {doc}");
        assert_eq!(immediates[0]["callback"]["name"], "flushLater", "{label}");
        assert_eq!(
            timers.len(),
            3,
            "{label}: only the scenario's timers: {doc}"
        );
    }
}

#[test]
fn requests_find_the_pools_work_and_the_waiting_write() {
    for f in fixtures() {
        let label = f.label();
        let doc = run_json(&f, "requests");
        let requests = doc["requests"].as_array().expect("requests");
        let wanted = &facts(&f)["requests"];
        let of = |kind: &str, operation: Option<&str>| -> Vec<&Value> {
            requests
                .iter()
                .filter(|r| r["type"] == kind && operation.is_none_or(|o| r["operation"] == o))
                .collect()
        };
        // One open per thread of the pool, each of its FIFO, with node's wrapper and callback.
        let mut opened: Vec<&str> = of("fs", Some("open"))
            .iter()
            .map(|r| r["path"].as_str().unwrap_or("?"))
            .collect();
        opened.sort_unstable();
        let mut fifos: Vec<&str> = wanted["fifos"]
            .as_array()
            .expect("fifos")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        fifos.sort_unstable();
        assert_eq!(opened, fifos, "{label}: {doc}");
        for r in of("fs", Some("open")) {
            assert_eq!(r["object"]["name"], "FSReqCallback", "{label}: {r}");
            assert!(r["callback"]["name"].is_string(), "{label}: {r}");
        }
        // Queued behind them: the lookup and the stat.
        let lookups = of("getaddrinfo", None);
        assert_eq!(lookups.len(), 1, "{label}: {doc}");
        assert_eq!(lookups[0]["path"], wanted["lookup"], "{label}");
        let stats = of("fs", Some("stat"));
        assert_eq!(stats.len(), 1, "{label}: {doc}");
        assert_eq!(stats[0]["path"], wanted["stat"], "{label}");
        // The write the peer does not read.
        let writes = of("write", None);
        assert_eq!(writes.len(), 1, "{label}: {doc}");
        assert_eq!(writes[0]["object"]["name"], "WriteWrap", "{label}");
    }
}

#[test]
fn without_the_executable_the_same_state_is_found() {
    for f in fixtures()
        .into_iter()
        .filter(|f| f.kind.to_string() == "abort")
    {
        let label = f.label();
        let keys = |doc: &Value, list: &str| -> Vec<(u64, String)> {
            let mut v: Vec<(u64, String)> = doc[list]
                .as_array()
                .into_iter()
                .flatten()
                .map(|h| (address(&h["address"]), h["type"].to_string()))
                .collect();
            v.sort();
            v
        };
        // A release without a build table of its own borrows another release's constants,
        // which fit V8's objects but not node's: coroner says so rather than misread.
        let tabled = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../v8/layouts/builds/node-{}.toml", f.version))
            .exists();
        for command in ["handles --all", "requests"] {
            let with = run_json(&f, command);
            let run = core_only(&f.core, &[command], true);
            assert_eq!(run.code, 0, "{label}: {}", run.stderr);
            let without = run.json_lines().remove(0);
            if !tabled {
                assert!(
                    without["notes"][0]
                        .as_str()
                        .is_some_and(|n| n.contains("another release's build table")),
                    "{label}: {without}"
                );
                continue;
            }
            let list = command.split(' ').next().unwrap_or_default();
            assert_eq!(
                keys(&with, list),
                keys(&without, list),
                "{label}: {command}"
            );
        }
        // The timers' clock and the microtask queues come from the build's table.
        for (command, field) in [("timers", "/timers"), ("promises", "/microtasks")] {
            let with = run_json(&f, command);
            let run = core_only(&f.core, &[command], true);
            assert_eq!(run.code, 0, "{label}: {}", run.stderr);
            let without = run.json_lines().remove(0);
            if tabled {
                assert_eq!(
                    with.pointer(field),
                    without.pointer(field),
                    "{label}: {command}"
                );
            } else if command == "promises" {
                assert_eq!(without["microtasks_known"], false, "{label}");
            }
        }
    }
}

#[test]
fn nodeinfo_gives_what_node_knew_of_itself() {
    for f in fixtures() {
        let label = f.label();
        let facts = facts(&f);
        let doc = run_json(&f, "nodeinfo");
        assert_eq!(doc["pid"], facts["pid"], "{label}");
        assert_eq!(doc["versions"], facts["versions"], "{label}");
        assert_eq!(doc["argv"], facts["argv"], "{label}");
        assert_eq!(doc["execArgv"], facts["exec_argv"], "{label}");
        assert_eq!(doc["cwd"], facts["cwd"], "{label}");
        assert_eq!(doc["platform"], "linux", "{label}");
        // The environment as the process last set it: the variable set at run time is there.
        let name = facts["env"]["name"].as_str().expect("env name");
        assert_eq!(doc["env"][name], facts["env"]["value"], "{label}");
        assert_eq!(doc["env_source"], "environ", "{label}");
        let workers = doc["workers"].as_array().expect("workers");
        assert_eq!(workers.len(), 1, "{label}: {doc}");
        assert_eq!(workers[0]["threadId"], facts["worker_thread_id"], "{label}");
        assert_eq!(doc["main"]["threadId"], 0, "{label}");
        assert_ne!(workers[0]["isolate"], doc["main"]["isolate"], "{label}");

        let redacted = run_json(&f, "nodeinfo --redact");
        let value = facts["env"]["value"].as_str().expect("env value");
        let shown = redacted["env"][name].as_str().unwrap_or_default();
        assert!(
            shown.starts_with(&format!("<redacted: {} chars #", value.len())),
            "{label}: {shown}"
        );
        assert!(
            !redacted.to_string().contains(value),
            "{label}: a value survived --redact"
        );
    }
}

/// The keys of a JSON object.
fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// A report's handles, by address: type, state and details (not the loop's own entry).
fn report_libuv(v: &Value) -> Vec<(u64, Value)> {
    let mut out: Vec<(u64, Value)> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter(|h| h["type"] != "loop")
        .map(|h| {
            let detail = serde_json::json!([
                h["type"],
                h["is_active"],
                h["is_referenced"],
                h["fd"],
                h["pid"],
                h["signum"],
                h["filename"]
            ]);
            (address(&h["address"]), detail)
        })
        .collect();
    out.sort_by_key(|(a, _)| *a);
    out
}

#[test]
fn report_rebuilds_nodes_own_report() {
    for f in fixtures() {
        let label = f.label();
        let ours = run_json(&f, "report");
        let theirs = &f.expect.raw["extra"]["report"];
        // Node's shape and key names: nothing node's report does not have, but coroner's note.
        for k in keys(&ours) {
            assert!(keys(theirs).contains(&k), "{label}: section {k}");
        }
        for k in keys(&ours["header"]).into_iter().filter(|k| k != "coroner") {
            assert!(keys(&theirs["header"]).contains(&k), "{label}: header.{k}");
        }
        for k in keys(&ours["javascriptHeap"]) {
            assert!(
                keys(&theirs["javascriptHeap"]).contains(&k),
                "{label}: javascriptHeap.{k}"
            );
        }
        for k in keys(&ours["javascriptHeap"]["heapSpaces"]) {
            let known = keys(&theirs["javascriptHeap"]["heapSpaces"]);
            assert!(known.contains(&k), "{label}: heap space {k}");
        }
        // Every field it has that the dump does not change is node's.
        for k in [
            "reportVersion",
            "processId",
            "threadId",
            "cwd",
            "commandLine",
            "nodejsVersion",
            "wordSize",
            "arch",
            "platform",
            "componentVersions",
            "release",
            "osName",
        ] {
            assert_eq!(
                ours["header"][k], theirs["header"][k],
                "{label}: header.{k}"
            );
        }
        assert_eq!(
            ours["javascriptHeap"]["memoryLimit"], theirs["javascriptHeap"]["memoryLimit"],
            "{label}"
        );
        assert_eq!(
            ours["environmentVariables"], theirs["environmentVariables"],
            "{label}"
        );
        assert_eq!(
            report_libuv(&ours["libuv"]),
            report_libuv(&theirs["libuv"]),
            "{label}"
        );
        let ours_loop = ours["libuv"]
            .as_array()
            .and_then(|l| l.last())
            .expect("loop");
        assert_eq!(ours_loop["type"], "loop", "{label}");
        assert_eq!(
            address(&ours_loop["address"]),
            report_libuv_loop(theirs),
            "{label}"
        );
        // The dynamic linker's list, names as loaded, in its order; after the report the
        // harness loaded its trim addon (the kinds that take a heap snapshot).
        let ours_shared = ours["sharedObjects"].as_array().expect("shared");
        let theirs_shared = theirs["sharedObjects"].as_array().expect("shared");
        assert!(
            ours_shared.starts_with(theirs_shared),
            "{label}: {ours_shared:?}"
        );
        assert!(
            ours_shared[theirs_shared.len()..]
                .iter()
                .all(|l| l.as_str().is_some_and(|l| l.ends_with("/trim.node"))),
            "{label}: {ours_shared:?}"
        );
        // The worker: its thread id and its loop's handles.
        assert_eq!(
            ours["workers"][0]["header"]["threadId"], theirs["workers"][0]["header"]["threadId"],
            "{label}"
        );
        assert_eq!(
            report_libuv(&ours["workers"][0]["libuv"]),
            report_libuv(&theirs["workers"][0]["libuv"]),
            "{label}: the worker's handles"
        );
        assert!(
            ours["header"]["coroner"]["omitted"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x == "header.dumpEventTime")),
            "{label}"
        );
    }
}

/// The address of the loop in node's report.
fn report_libuv_loop(report: &Value) -> u64 {
    report["libuv"]
        .as_array()
        .and_then(|l| l.iter().find(|h| h["type"] == "loop"))
        .map(|l| address(&l["address"]))
        .unwrap_or(0)
}

#[test]
fn promises_show_the_suspended_async_function_and_the_queued_microtasks() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/nodestate.js"),
    )
    .expect("the scenario's source");
    let await_line = source
        .lines()
        .position(|l| l.trim() == "await neverSettles;")
        .map(|i| i as u64 + 1)
        .expect("the await in the scenario");
    for f in fixtures() {
        let label = f.label();
        let doc = run_json(&f, "promises");
        let name = facts(&f)["awaiting"].as_str().expect("awaiting");
        let awaits: Vec<&Value> = doc["pending"]
            .as_array()
            .expect("pending")
            .iter()
            .flat_map(|p| p["waiters"].as_array().into_iter().flatten())
            .filter(|w| w["kind"] == "await" && w["function"] == name)
            .collect();
        assert_eq!(awaits.len(), 1, "{label}: {doc}");
        assert_eq!(awaits[0]["line"], await_line, "{label}: {}", awaits[0]);
        // The scenario's async function's own promise is pending too, with nothing waiting.
        assert!(
            doc["total_pending"].as_u64().unwrap_or(0) > doc["listed"].as_u64().unwrap_or(0),
            "{label}: {doc}"
        );
        let queues = doc["microtasks"].as_array().expect("microtasks");
        let main = queues
            .iter()
            .find(|q| q["isolate"] == 0)
            .unwrap_or_else(|| panic!("{label}: no queue of isolate 0: {doc}"));
        assert_eq!(
            main["count"],
            facts(&f)["queued_microtasks"],
            "{label}: {main}"
        );
        let all = run_json(&f, "promises --all");
        assert_eq!(all["listed"], all["total_pending"], "{label}");
    }
}
