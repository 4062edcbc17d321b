//! coroner's native frames against gdb's (`gdb-bt.txt` of every fixture): the same frames,
//! at the same pcs, naming the same functions, from the top of every thread's stack down to
//! V8's code (where gdb stops making sense), and for threads without JavaScript down to their
//! outermost frame. Where gdb shows more it is a tail call it rebuilt from debug information
//! (no frame of its own on the stack), which is allowed; where coroner shows more it must be
//! V8 frames gdb could not name.

mod support;

use coroner_unwind::{EndReason, FrameKind, V8FrameType};
use support::{
    describe, gdb_reaches_v8, is_tail_call_site, is_v8, normalize, opened, report, same_function,
};

#[test]
fn native_frames_match_gdb_above_and_without_javascript() {
    let mut problems = Vec::new();
    let (mut compared, mut tail_calls, mut threads) = (0usize, 0usize, 0usize);
    // Per Node version and kind: threads, frames compared, tail calls only gdb shows.
    let mut per: std::collections::BTreeMap<String, [usize; 3]> = Default::default();
    for o in opened() {
        let key = format!("{} {}", o.fixture.version, o.fixture.kind);
        let before = (threads, compared, tail_calls);
        let unwinder = o.unwinder();
        let gdb = o.fixture.gdb_threads();
        for bt in &o.traces {
            let what = format!("{} thread {}", o.label(), bt.tid);
            let Some(g) = gdb.iter().find(|t| t.lwp == bt.tid) else {
                problems.push(format!("{what}: gdb has no such thread"));
                continue;
            };
            threads += 1;
            let ours: Vec<_> = bt.frames.iter().take_while(|f| !is_v8(f)).collect();
            let theirs: Vec<_> = g
                .physical_frames()
                .into_iter()
                .take_while(|f| !gdb_reaches_v8(f))
                .collect();
            let mut i = 0;
            for (n, gf) in theirs.iter().enumerate() {
                let Some(frame) = ours.get(i) else {
                    problems.push(format!(
                        "{what}: gdb's frame {n} ({:?} at {:x?}) is past coroner's native frames",
                        gf.functions, gf.pc
                    ));
                    break;
                };
                let pc_matches = match gf.pc {
                    Some(pc) => pc == frame.pc,
                    None => n == 0 && frame.index == 0,
                };
                if !pc_matches {
                    if gf.pc.is_some_and(|pc| is_tail_call_site(o.image, pc)) {
                        tail_calls += 1;
                        continue;
                    }
                    problems.push(format!(
                        "{what}: gdb's frame {n} is {:?} at {:x?}, coroner's is {}",
                        gf.functions,
                        gf.pc,
                        describe(frame)
                    ));
                    break;
                }
                if !same_function(&unwinder, frame, gf) {
                    problems.push(format!(
                        "{what}: gdb names frame {n} {:?}, coroner {} (aliases {:?})",
                        gf.functions,
                        describe(frame),
                        unwinder.names_at(frame.pc, frame.index > 0)
                    ));
                }
                compared += 1;
                i += 1;
            }
            if i < ours.len() {
                problems.push(format!(
                    "{what}: coroner has native frames gdb does not: {}",
                    ours[i..]
                        .iter()
                        .map(|f| describe(f))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            if bt.frames.iter().all(|f| !is_v8(f)) && ours.len() != bt.frames.len() {
                problems.push(format!("{what}: frames after the native ones"));
            }
        }
        let e = per.entry(key).or_default();
        e[0] += threads - before.0;
        e[1] += compared - before.1;
        e[2] += tail_calls - before.2;
    }
    for (key, [t, c, tc]) in &per {
        println!("{key}: {t} threads, {c} native frames equal gdb's, {tc} gdb-only tail calls");
    }
    println!(
        "{threads} threads: {compared} native frames equal gdb's (pc and function); {tail_calls} \
         tail calls only gdb shows (rebuilt from libc's debug information)"
    );
    report(problems);
}

/// The V8 frames gdb names (it can name the builtins of the executable's own text, Node 18 and
/// 20, down to the first JavaScript frame) are the same frames and builtins in coroner; below
/// them (and in Node 22+, where the builtins run from a copy in V8's code range that gdb prints
/// as `??`) coroner names the builtins too.
#[test]
fn builtins_gdb_names_are_coroners_and_coroner_names_the_remapped_ones() {
    let mut problems = Vec::new();
    let (mut same, mut better) = (0usize, 0usize);
    for o in opened() {
        let gdb = o.fixture.gdb_threads();
        let (mut remapped_named, mut text_named) = (0, 0);
        for bt in &o.traces {
            let what = format!("{} thread {}", o.label(), bt.tid);
            let Some(g) = gdb.iter().find(|t| t.lwp == bt.tid) else {
                continue;
            };
            // gdb's V8 frames: after its native ones, up to its first `??` (below it gdb
            // prints stack words, not frames).
            let theirs: Vec<_> = g
                .physical_frames()
                .into_iter()
                .skip_while(|p| !gdb_reaches_v8(p))
                .take_while(|p| !p.functions.is_empty())
                .collect();
            let ours: Vec<_> = bt.frames.iter().skip_while(|f| !is_v8(f)).collect();
            for (n, f) in ours.iter().enumerate() {
                let FrameKind::V8 { code, .. } = &f.kind else {
                    continue;
                };
                let Some(code) = code else { continue };
                let Some(name) = code.mangled.as_deref() else {
                    problems.push(format!("{what}: {} has no symbol", describe(f)));
                    continue;
                };
                if !name.starts_with("Builtins_") {
                    problems.push(format!("{what}: {} is not a builtin", describe(f)));
                }
                if code.link_address.is_some_and(|l| l != f.pc) {
                    remapped_named += 1;
                } else {
                    text_named += 1;
                }
                match theirs.get(n) {
                    Some(p) if p.pc == Some(f.pc) && p.functions.iter().any(|g| g == name) => {
                        same += 1
                    }
                    Some(p) => problems.push(format!(
                        "{what}: gdb's V8 frame {n} is {:?} at {:x?}, coroner's {}",
                        p.functions,
                        p.pc,
                        describe(f)
                    )),
                    None => better += 1,
                }
            }
        }
        // Node 22+ usually runs its builtins from a copy in V8's code range; when V8 did not
        // make one (it may not, by its own choice), every builtin frame runs from the
        // executable's text and is named there.
        let major = o.fixture.expect.node_major();
        if major >= 22 && remapped_named == 0 && text_named == 0 {
            problems.push(format!(
                "{}: no builtin frame in the remapped code range was named",
                o.label()
            ));
        }
    }
    println!(
        "builtin frames: {same} named as gdb does, {better} more that gdb does not reach or \
         prints as ??"
    );
    report(problems);
}

/// Every thread unwinds to its outermost frame: the main thread to `_start` through
/// `node::Start` and libc's start code, the others to `clone3` (or `clone`) through
/// `start_thread`.
#[test]
fn every_thread_reaches_its_outermost_frame() {
    let mut problems = Vec::new();
    let mut ends: std::collections::BTreeMap<String, usize> = Default::default();
    for o in opened() {
        let pid = o.fixture.expect.pid;
        for bt in &o.traces {
            *ends.entry(bt.end.to_string()).or_default() += 1;
            let what = format!("{} thread {}", o.label(), bt.tid);
            if bt.end != EndReason::Outermost {
                problems.push(format!(
                    "{what}: ended: {} after {}",
                    bt.end,
                    bt.frames.last().map(describe).unwrap_or_default()
                ));
                continue;
            }
            let names: Vec<String> = bt
                .frames
                .iter()
                .filter_map(|f| f.native_symbol())
                .map(normalize)
                .collect();
            let last = names.last().map(String::as_str);
            if bt.tid == pid {
                for want in ["node::Start(int, char**)", "libc_start_call_main"] {
                    if !names.iter().any(|n| n == want) {
                        problems.push(format!("{what}: no {want} frame"));
                    }
                }
                if last != Some("start") {
                    problems.push(format!("{what}: outermost is {last:?}, not _start"));
                }
            } else {
                if !matches!(last, Some("clone3" | "clone")) {
                    problems.push(format!("{what}: outermost is {last:?}, not clone3"));
                }
                if names.iter().rev().nth(1).map(String::as_str) != Some("start_thread") {
                    problems.push(format!("{what}: no start_thread above clone"));
                }
            }
        }
    }
    println!("end reasons: {ends:?}");
    report(problems);
}

/// The main thread's V8 section as a whole: entered from C++ through an entry frame, left into
/// C++ through an exit frame whose frame pointer is the isolate's `c_entry_fp`; every V8 frame
/// classified.
#[test]
fn main_thread_v8_section_is_bracketed_by_exit_and_entry_frames() {
    let mut problems = Vec::new();
    for o in opened() {
        let bt = &o.traces[0];
        let what = format!("{} thread {}", o.label(), bt.tid);
        let v8: Vec<_> = bt
            .frames
            .iter()
            .filter_map(|f| match &f.kind {
                FrameKind::V8 { frame_type, .. } => Some((f, frame_type)),
                _ => None,
            })
            .collect();
        let Some((first, first_type)) = v8.first() else {
            problems.push(format!("{what}: no V8 frame"));
            continue;
        };
        if !first_type.is_exit() {
            problems.push(format!(
                "{what}: first V8 frame is {}, not an exit frame",
                describe(first)
            ));
        }
        let isolate = o
            .heap
            .isolates()
            .iter()
            .find(|i| Some(i.addr) == bt.isolate);
        match isolate {
            Some(iso) if first.fp == Some(iso.c_entry_fp) => {}
            Some(iso) => problems.push(format!(
                "{what}: exit frame fp {:x?}, isolate's c_entry_fp {:#x}",
                first.fp, iso.c_entry_fp
            )),
            None => problems.push(format!("{what}: no isolate for the main thread")),
        }
        if !v8.iter().any(|(_, t)| t.is_entry()) {
            problems.push(format!("{what}: no entry frame"));
        }
        for (f, t) in &v8 {
            if **t == V8FrameType::Unknown {
                problems.push(format!("{what}: unclassified {}", describe(f)));
            }
        }
    }
    report(problems);
}
