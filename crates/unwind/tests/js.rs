//! The JavaScript frames coroner finds, against what each scenario recorded about its own
//! stack (`expect.json`: `frames`, its JS stack with `Error.stackTraceLimit = Infinity`, and the
//! stack scenario's arguments), and against the heap: every function is a `JSFunction`, every
//! interpreted frame's bytecode offset lies in its `BytecodeArray`.

mod support;

use coroner_fixtures::Kind;
use coroner_unwind::{Backtrace, FrameKind, JsFrameFacts, V8FrameType};
use coroner_v8::map::instance_type_of;
use support::{describe, opened, report, Opened};

/// The JS frames of the main thread's innermost JS segment: from the exit frame into C++ at the
/// top of the stack down to the entry frame from C++.
fn innermost_segment(bt: &Backtrace) -> Vec<(&coroner_unwind::Frame, &V8FrameType, &JsFrameFacts)> {
    let mut out = Vec::new();
    let mut inside = false;
    for f in &bt.frames {
        let FrameKind::V8 { frame_type, js, .. } = &f.kind else {
            continue;
        };
        if frame_type.is_exit() && !inside {
            inside = true;
            continue;
        }
        if frame_type.is_entry() && inside {
            break;
        }
        if let (true, Some(js)) = (inside, js) {
            out.push((f, frame_type, js));
        }
    }
    out
}

/// The JS frames above the scenario's own (`expect.frames` starts at the caller of the harness's
/// `dump`): `dump` itself, and for gcore the `execFileSync` it calls, `spawnSync` of
/// `node:child_process` and of `node:internal/child_process` (fixtures/README.md).
fn frames_above_the_scenario(o: &Opened) -> usize {
    match o.fixture.kind {
        Kind::Abort | Kind::Live => 1,
        Kind::Gcore => 4,
        Kind::Crash => unreachable!("the fixtures' list has no crash fixture"),
    }
}

#[test]
fn js_frames_between_exit_and_entry_are_the_scenarios_stack() {
    let mut problems = Vec::new();
    let mut counted = 0;
    // The frames scenario's stack has frames no machine frame stands for (a function inlined
    // into optimized code, async functions awaiting) and a builtin frame V8's stack trace
    // hides: its stack is compared once named (coroner's tests/bt.rs).
    for o in opened().iter().filter(|o| o.fixture.scenario != "frames") {
        let bt = &o.traces[0];
        let segment = innermost_segment(bt);
        let expect = &o.fixture.expect.frames;
        let above = frames_above_the_scenario(o);
        if segment.len() != expect.len() + above {
            problems.push(format!(
                "{}: {} JS frames between the exit and the entry frame, expected {} + {above}:\n  {}",
                o.label(),
                segment.len(),
                expect.len(),
                segment
                    .iter()
                    .map(|(f, _, _)| describe(f))
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
            continue;
        }
        // Builtins (no script: `Array.forEach (<anonymous>)`) where the scenario's stack has
        // them, JavaScript with a script everywhere else.
        for ((f, ty, _), e) in segment[above..].iter().zip(expect) {
            let builtin = **ty == V8FrameType::Builtin;
            if builtin != e.file.is_none() {
                problems.push(format!(
                    "{}: {} is {ty} for {}",
                    o.label(),
                    describe(f),
                    e.text
                ));
            }
        }
        counted += segment.len();
    }
    println!(
        "{counted} JS frames in the main threads' innermost segments, as the scenarios recorded"
    );
    report(problems);
}

#[test]
fn functions_are_js_functions_and_bytecode_offsets_lie_in_their_arrays() {
    let mut problems = Vec::new();
    let (mut functions, mut offsets) = (0, 0);
    let mut types: std::collections::BTreeMap<String, usize> = Default::default();
    for o in opened() {
        let layout = o.heap.layout();
        let memory = o.image.memory();
        for bt in &o.traces {
            for f in &bt.frames {
                if let FrameKind::V8 { frame_type, .. } = &f.kind {
                    *types.entry(frame_type.to_string()).or_default() += 1;
                }
            }
            for (f, js) in bt.js_frames() {
                let what = format!("{} thread {} {}", o.label(), bt.tid, describe(f));
                match instance_type_of(layout, memory, js.function) {
                    Some(t) if layout.types.is_js_function(t) => functions += 1,
                    other => problems.push(format!("{what}: function has type {other:?}")),
                }
                if !matches!(
                    &f.kind,
                    FrameKind::V8 {
                        frame_type: V8FrameType::Interpreted,
                        ..
                    }
                ) {
                    continue;
                }
                let Some(pos) = js.bytecode else {
                    problems.push(format!("{what}: interpreted frame without bytecode"));
                    continue;
                };
                let length = memory
                    .read_u64(pos.array + layout.bytecode_array.length)
                    .ok()
                    .and_then(|w| layout.tagging.smi(w));
                match length {
                    Some(len) if (0..len).contains(&pos.offset) => offsets += 1,
                    _ => problems.push(format!(
                        "{what}: bytecode offset {} outside its array of {length:?} bytes",
                        pos.offset
                    )),
                }
            }
        }
    }
    println!(
        "{functions} JS frames with a JSFunction, {offsets} bytecode offsets inside their arrays"
    );
    println!("V8 frames by type: {types:?}");
    report(problems);
}

/// The stack scenario records the arguments each of its functions got: the frames' argument
/// counts (receiver included) and Smi arguments agree.
#[test]
fn stack_scenario_arguments() {
    let mut problems = Vec::new();
    for o in opened().iter().filter(|o| o.fixture.scenario == "stack") {
        let layout = o.heap.layout();
        let calls = o.fixture.expect.extra["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let segment = innermost_segment(&o.traces[0]);
        let scenario: Vec<_> = segment[frames_above_the_scenario(o)..]
            .iter()
            .filter(|(_, t, _)| **t != V8FrameType::Builtin)
            .collect();
        if scenario.len() < calls.len() {
            problems.push(format!("{}: fewer frames than calls", o.label()));
            continue;
        }
        for ((f, _, js), call) in scenario.iter().zip(&calls) {
            let what = format!("{} {} ({})", o.label(), describe(f), call["function"]);
            let args = call["args"].as_array().cloned().unwrap_or_default();
            if js.argc != Some(args.len() as u64 + 1) {
                problems.push(format!(
                    "{what}: argc {:?}, {} arguments",
                    js.argc,
                    args.len()
                ));
                continue;
            }
            for (i, a) in args.iter().enumerate() {
                if let Some(n) = a.as_i64() {
                    let got = js.args.get(i).and_then(|&w| layout.tagging.smi(w));
                    if got != Some(n) {
                        problems.push(format!("{what}: argument {i} is {got:?}, expected {n}"));
                    }
                }
            }
        }
    }
    report(problems);
}

/// The outermost entry frame records no outer `c_entry_fp` (there is no JS further out), and
/// the isolate's `js_entry_sp` is in that entry frame.
#[test]
fn the_outermost_entry_frame() {
    let mut problems = Vec::new();
    for o in opened() {
        let layout = o.heap.layout();
        let Some(off) = layout.frames.entry_next_exit_fp else {
            problems.push(format!("{}: no entry_next_exit_fp", o.label()));
            continue;
        };
        for bt in &o.traces {
            let entries: Vec<_> = bt
                .frames
                .iter()
                .filter(|f| matches!(&f.kind, FrameKind::V8 { frame_type, .. } if frame_type.is_entry()))
                .collect();
            let Some(outermost) = entries.last() else {
                continue;
            };
            let what = format!("{} thread {} {}", o.label(), bt.tid, describe(outermost));
            let fp = outermost.fp.unwrap_or(0);
            match o.image.memory().read_u64(fp.wrapping_add_signed(off)) {
                Ok(0) => {}
                other => problems.push(format!("{what}: outer c_entry_fp slot holds {other:x?}")),
            }
            let iso = o
                .heap
                .isolates()
                .iter()
                .find(|i| Some(i.addr) == bt.isolate);
            match iso {
                Some(i) if i.js_entry_sp > outermost.sp && i.js_entry_sp <= fp + 16 => {}
                Some(i) => problems.push(format!(
                    "{what}: js_entry_sp {:#x} is not in the entry frame (sp {:#x}, fp {fp:#x})",
                    i.js_entry_sp, outermost.sp
                )),
                None => problems.push(format!("{what}: no isolate")),
            }
        }
    }
    report(problems);
}

/// Walking from the isolate's `c_entry_fp` alone finds the same JavaScript frames as the walk
/// from the registers; and without libc's call frame information (as if libc were missing),
/// the walk stops in libc, resumes from `c_entry_fp`, and still finds them all.
#[test]
fn c_entry_fp_gives_the_same_javascript_frames() {
    let mut problems = Vec::new();
    let key = |bt: &Backtrace| -> Vec<(u64, Option<u64>)> {
        bt.js_frames().map(|(f, js)| (js.function, f.fp)).collect()
    };
    for o in opened() {
        let unwinder = o.unwinder();
        let blind = o.unwinder().ignore_unwind_info("libc.so.6");
        for bt in &o.traces {
            let what = format!("{} thread {}", o.label(), bt.tid);
            let want = key(bt);
            match unwinder.backtrace_from_c_entry_fp(bt.thread_index) {
                Some(from_top) if key(&from_top) == want => {}
                Some(from_top) => problems.push(format!(
                    "{what}: from c_entry_fp {} JS frames, from the registers {}",
                    key(&from_top).len(),
                    want.len()
                )),
                None if want.is_empty() => {}
                None => problems.push(format!("{what}: no walk from c_entry_fp")),
            }
            let Some(resumed) = blind.backtrace(bt.thread_index) else {
                continue;
            };
            if want.is_empty() {
                continue;
            }
            if resumed.resumed.is_none() {
                problems.push(format!(
                    "{what}: without libc's CFI the walk did not resume"
                ));
            }
            if key(&resumed) != want {
                problems.push(format!(
                    "{what}: without libc's CFI {} JS frames, with it {}",
                    key(&resumed).len(),
                    want.len()
                ));
            }
        }
    }
    report(problems);
}
