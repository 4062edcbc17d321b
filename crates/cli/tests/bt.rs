//! `bt` on every fixture core: the JavaScript frames of the main thread must equal the stack the
//! scenario recorded itself (`new Error().stack` with `Error.stackTraceLimit = Infinity`) just
//! before it dumped: same functions, same order, same line and column, whatever tier compiled
//! them (the frames scenario has baseline, Maglev and Turbofan frames, a function inlined into
//! optimized code, and async functions awaiting one another).

mod support;

use support::on_core;

#[test]
fn js_frames_equal_the_scenarios_own_stack() {
    for f in coroner_fixtures::all() {
        let what = format!("{} {} {:?}", f.version, f.scenario, f.kind);
        let run = on_core(&f.core, &f.exe, &["bt all"], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let doc = &run.json_lines()[0];
        let threads = doc["threads"].as_array().expect("threads");
        assert_eq!(
            threads.len() as u64,
            f.expect.raw["threads"].as_u64().unwrap_or(0),
            "{what}: one stack per thread"
        );
        let main = threads
            .iter()
            .find(|t| t["tid"] == f.expect.raw["pid"])
            .expect("the main thread");
        let js = v8_listed_frames(main);
        let want = f.expect.raw["frames"].as_array().expect("expect.frames");
        if let Err(e) = tail_matches(&js, want) {
            panic!("{what}: {e}");
        }
        // JIT frames are named by the tier that compiled them, never left as plain "optimized".
        for t in threads {
            for fr in t["frames"].as_array().into_iter().flatten() {
                if fr["kind"] == "js" {
                    let ty = fr["frame_type"].as_str().unwrap_or("");
                    assert!(
                        ["interpreted", "baseline", "maglev", "turbofan", "builtin"].contains(&ty),
                        "{what}: JS frame {} of type {ty:?}",
                        fr["function"]
                    );
                }
            }
        }
        // (Whether a worker's loop was compiled by Sparkplug before the dump depends on timing,
        // so no tier is required to appear; the Node 20 and 24 workers abort cores have baseline
        // frames today.)
        // Every thread unwinds to its outermost frame.
        for t in threads {
            assert_eq!(
                t["end"], "reached the outermost frame",
                "{what}: tid {}",
                t["tid"]
            );
        }
    }
}

#[test]
fn worker_threads_js_frames_equal_each_workers_own_stack() {
    // Each worker of the workers scenario records the stack it then blocks in (its callers of
    // `waitForRelease`); exactly one thread per worker must show it.
    for f in coroner_fixtures::all()
        .into_iter()
        .filter(|f| f.scenario == "workers")
    {
        let what = format!("{} {:?}", f.version, f.kind);
        let run = on_core(&f.core, &f.exe, &["bt all"], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let doc = &run.json_lines()[0];
        let threads = doc["threads"].as_array().expect("threads");
        let workers = f.expect.raw["extra"]["workers"]
            .as_array()
            .expect("extra.workers");
        assert!(!workers.is_empty(), "{what}");
        // Every worker waits in the same code, so their stacks read alike.
        let mut errors = Vec::new();
        let matching = threads
            .iter()
            .filter(|t| {
                let want = workers[0]["frames"].as_array().expect("worker frames");
                tail_matches(&v8_listed_frames(t), want)
                    .map_err(|e| errors.push(format!("tid {}: {e}", t["tid"])))
                    .is_ok()
            })
            .count();
        assert_eq!(matching, workers.len(), "{what}: {errors:#?}");
    }
}

/// The frames of a thread that V8's stack trace lists: JS frames but the builtin closures it
/// hides, then the async frames.
fn v8_listed_frames(thread: &serde_json::Value) -> Vec<&serde_json::Value> {
    thread["frames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|fr| fr["kind"] == "js" && fr["hidden"] != true)
        .chain(thread["async_frames"].as_array().into_iter().flatten())
        .collect()
}

/// Whether the outermost frames of `js` are the recorded stack `want`: function, V8's call
/// name, file, line and column. Above the recorded frames may sit more (the dump machinery's:
/// harness `dump`, and for gcore `execFileSync` and `spawnSync`).
fn tail_matches(js: &[&serde_json::Value], want: &[serde_json::Value]) -> Result<(), String> {
    if js.len() < want.len() {
        return Err(format!(
            "{} JS frames, the scenario recorded {}",
            js.len(),
            want.len()
        ));
    }
    let ours = &js[js.len() - want.len()..];
    for (i, (got, want)) in ours.iter().zip(want).enumerate() {
        let same = |key: &str| {
            if got[key] == want[key] {
                Ok(())
            } else {
                Err(format!("frame {i} {key}: {} != {}", got[key], want[key]))
            }
        };
        if want["function"].is_string() {
            same("function")?;
        }
        // V8's own text names a method call `Type.name [as method]`; bt's `call` must read
        // the same (frames that are not method calls have none).
        if let Some(text) = want["text"]
            .as_str()
            .filter(|_| want["function"].is_string())
        {
            let v8_name = text.split(" (").next().unwrap_or(text);
            let v8_name = if got["frame_type"] == "async" {
                v8_name.strip_prefix("async ").unwrap_or(v8_name)
            } else {
                v8_name
            };
            let plain = want["function"].as_str() == Some(v8_name);
            let call = got["call"].as_str();
            let ok = if plain {
                call.is_none_or(|c| c == v8_name)
            } else {
                call == Some(v8_name)
            };
            if !ok {
                return Err(format!("frame {i} call {call:?}, V8 says {v8_name:?}"));
            }
        }
        if want["file"].is_string() {
            same("file")?;
            same("line")?;
            same("column")?;
        }
    }
    Ok(())
}

#[test]
fn every_tier_inlining_and_awaits_read_as_v8_runs_them() {
    // The frames scenario compiles `leaf` with Sparkplug, `hot` with Turbofan (with `inlinee`
    // inlined into it) and, where V8 runs Maglev by default (Node 24 on), `tiered` with Maglev;
    // then it dumps from async functions awaiting one another.
    let all = coroner_fixtures::all();
    let fixtures: Vec<_> = all.iter().filter(|f| f.scenario == "frames").collect();
    assert!(!fixtures.is_empty(), "no frames fixtures");
    for f in fixtures {
        let what = format!("{} {:?}", f.version, f.kind);
        let run = on_core(&f.core, &f.exe, &["bt"], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let thread = &run.json_lines()[0]["threads"][0];
        let frames = thread["frames"].as_array().expect("frames");
        let frame = |name: &str| {
            frames
                .iter()
                .find(|fr| fr["function"] == name)
                .unwrap_or_else(|| panic!("{what}: no frame of {name}"))
        };
        assert_eq!(frame("leaf")["frame_type"], "baseline", "{what}");
        assert_eq!(frame("hot")["frame_type"], "turbofan", "{what}");
        assert_eq!(frame("inlinee")["frame_type"], "turbofan", "{what}");
        assert_eq!(frame("inlinee")["inlined"], true, "{what}");
        assert_eq!(
            frame("inlinee")["pc"],
            frame("hot")["pc"],
            "{what}: one machine frame"
        );
        let major: u32 = f
            .version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major >= 24 {
            assert_eq!(frame("tiered")["frame_type"], "maglev", "{what}");
        }
        for name in ["leaf", "inlinee", "hot", "tiered"] {
            assert_eq!(frame(name)["position"], "executing", "{what}: {name}");
        }
        let awaiting: Vec<&str> = thread["async_frames"]
            .as_array()
            .expect("async frames")
            .iter()
            .filter_map(|a| a["function"].as_str())
            .collect();
        assert_eq!(awaiting, ["middleAsync", "outerAsync"], "{what}");
        let run = on_core(&f.core, &f.exe, &["bt"], false);
        assert!(
            run.stdout.contains("[turbofan, inlined]"),
            "{what}: {}",
            run.stdout
        );
        // Without the executable, the build's table has what the binary would give (the
        // bytecode lengths behind the baseline frame's line): the same frames.
        let alone = support::core_only(&f.core, &["bt"], false);
        // (Frame numbers differ: without the executable, fewer native frames are told apart.)
        let js_lines = |out: &str| -> Vec<String> {
            out.lines()
                .filter(|l| l.contains("frames.js") && !l.contains("#A"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
                .collect()
        };
        assert_eq!(
            js_lines(&alone.stdout),
            js_lines(&run.stdout),
            "{what}: without the executable"
        );
        assert!(
            run.stdout.contains("#A0  async middleAsync ("),
            "{what}: {}",
            run.stdout
        );
    }
}

#[test]
fn frame_and_source_show_the_selected_js_frame() {
    let f = coroner_fixtures::find("stack", coroner_fixtures::Kind::Abort)
        .into_iter()
        .next()
        .expect("a stack fixture");
    let run = on_core(&f.core, &f.exe, &["bt"], true);
    let frames = run.json_lines()[0]["threads"][0]["frames"]
        .as_array()
        .expect("frames")
        .clone();
    let inner = frames
        .iter()
        .position(|fr| fr["function"] == "inner")
        .expect("inner is on the stack");
    let line = frames[inner]["line"].as_u64().expect("line");
    let select = format!("frame {inner}");
    let run = on_core(&f.core, &f.exe, &[&select, "source list -n 2"], false);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("inner ("), "{}", run.stdout);
    assert!(run.stdout.contains("arg 1: \"crash\""), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("-> {line:>5}")),
        "source list marks line {line}: {}",
        run.stdout
    );
}

#[test]
fn up_down_and_gdbs_spellings_move_through_the_same_frames() {
    let f = coroner_fixtures::find("stack", coroner_fixtures::Kind::Abort)
        .into_iter()
        .next()
        .expect("a stack fixture");
    let index = |run: &support::Run, i: usize| run.json_lines()[i]["index"].as_u64();
    let run = on_core(
        &f.core,
        &f.exe,
        &["frame 3", "up", "up 2", "down", "info frame", "down 10"],
        true,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Vec<_> = (0..6).map(|i| index(&run, i)).collect();
    assert_eq!(
        got,
        [Some(3), Some(4), Some(6), Some(5), Some(5), Some(0)],
        "{}",
        run.stdout
    );
    let run = on_core(&f.core, &f.exe, &["down"], false);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("innermost"), "{}", run.stderr);
    let run = on_core(
        &f.core,
        &f.exe,
        &["where", "bt", "info threads", "thread list"],
        true,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let docs = run.json_lines();
    assert_eq!(docs[0], docs[1], "`where` is `bt`");
    assert_eq!(docs[2], docs[3], "`info threads` is `thread list`");
    let list = on_core(&f.core, &f.exe, &["frame 2", "list"], false);
    let source = on_core(&f.core, &f.exe, &["frame 2", "source list"], false);
    assert_eq!(list.code, 0, "{}", list.stderr);
    assert!(list.stdout.contains("-> "), "{}", list.stdout);
    assert_eq!(list.stdout, source.stdout, "`list` is `source list`");
}

#[test]
fn disasm_marks_the_selected_frame_and_names_builtins() {
    for f in coroner_fixtures::find("stack", coroner_fixtures::Kind::Abort) {
        let what = &f.version;
        // Frame 1 is a return address inside a native function: disassembly starts at that
        // function and marks the pc.
        let run = on_core(&f.core, &f.exe, &["frame 1", "disasm -n 200"], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let d = &run.json_lines()[1];
        let insns = d["instructions"].as_array().expect("instructions");
        assert!(
            insns.iter().any(|i| i["mark"] == "selected"),
            "{what}: the selected frame's pc is marked: {d}"
        );
        let run = on_core(&f.core, &f.exe, &["disasm Builtins_JSEntry -n 3"], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let d = &run.json_lines()[0];
        assert_eq!(d["symbol"], "Builtins_JSEntry", "{what}");
        assert_eq!(d["instructions"].as_array().map(Vec::len), Some(3));
        assert_eq!(d["instructions"][0]["mnemonic"], "push", "{what}: {d}");
        let run = on_core(&f.core, &f.exe, &["disasm 0x10"], false);
        assert_eq!(run.code, 1, "{what}: unmapped address");
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

#[test]
fn frame_shows_the_interpreter_registers() {
    // The harness's `dump` keeps `kind`, `dumper` and `threadsBefore` in interpreter registers
    // (its locals are not captured by a closure, so they live in the frame, not a context).
    for f in coroner_fixtures::find("stack", coroner_fixtures::Kind::Abort) {
        let what = &f.version;
        let run = on_core(&f.core, &f.exe, &["bt"], true);
        let frames = run.json_lines()[0]["threads"][0]["frames"]
            .as_array()
            .expect("frames")
            .clone();
        let dump = frames
            .iter()
            .position(|fr| fr["function"] == "dump" && fr["frame_type"] == "interpreted")
            .expect("dump is interpreted");
        let run = on_core(&f.core, &f.exe, &[&format!("frame {dump}")], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let regs: Vec<String> = run.json_lines()[0]["registers"]
            .as_array()
            .expect("registers")
            .iter()
            .map(|r| r.as_str().unwrap_or_default().to_string())
            .collect();
        let threads = f.expect.raw["threads"].to_string();
        for want in ["\"abort\"", "\"kernel\"", threads.as_str()] {
            assert!(regs.iter().any(|r| r == want), "{what}: {want} in {regs:?}");
        }
    }
}

#[test]
fn bt_full_shows_each_js_frames_locals_as_frame_does() {
    for f in coroner_fixtures::find("stack", coroner_fixtures::Kind::Abort) {
        let what = &f.version;
        let run = on_core(&f.core, &f.exe, &["bt full"], true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let thread = run.json_lines()[0]["threads"][0].clone();
        let locals = thread["locals"].as_array().expect("locals").clone();
        let js = thread["frames"]
            .as_array()
            .expect("frames")
            .iter()
            .filter(|fr| fr["kind"] == "js")
            .count();
        assert_eq!(locals.len(), js, "{what}: one entry per JS frame");
        let commands: Vec<String> = locals
            .iter()
            .map(|l| format!("frame {}", l["index"]))
            .collect();
        let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
        let frames = on_core(&f.core, &f.exe, &commands, true).json_lines();
        for (l, fr) in locals.iter().zip(&frames) {
            for key in ["registers", "variables"] {
                assert_eq!(l[key], fr[key], "{what}: frame {} {key}", l["index"]);
            }
        }
        // The harness's `dump` keeps `kind` in a register: the text shows it under its frame.
        let text = on_core(&f.core, &f.exe, &["bt full"], false);
        let after_dump = text
            .stdout
            .split_once("dump (")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("{what}: {}", text.stdout));
        let next_frame = after_dump.find("\n    #").unwrap_or(after_dump.len());
        assert!(
            after_dump[..next_frame].contains("= \"abort\""),
            "{what}: {}",
            &after_dump[..next_frame]
        );
    }
}
