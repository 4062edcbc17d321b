//! Prints every thread's backtrace of a core: `cargo run --release -p coroner-unwind --example
//! backtrace -- CORE [EXE] [--ignore-unwind-info=MODULE]`. JavaScript frames show the raw facts
//! (function, receiver, arguments, bytecode offset); naming them is the heap model's job.
//! `--ignore-unwind-info=libc.so.6` unwinds as if that library were missing.

use std::time::Instant;

use coroner_image::{OpenOptions, ProcessImage};
use coroner_unwind::{FrameKind, Unwinder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (flags, mut rest): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a.starts_with("--"));
    rest.reverse();
    let mut args = std::iter::from_fn(move || rest.pop());
    let core = args
        .next()
        .ok_or("usage: backtrace CORE [EXE] [--ignore-unwind-info=MODULE]")?;
    let options = OpenOptions {
        exe: args.next().map(Into::into),
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(core.as_ref(), &options)?;
    for w in image.warnings() {
        eprintln!("warning: {w}");
    }
    let t = Instant::now();
    let heap = coroner_v8::Heap::open(&image);
    let opened = t.elapsed();
    let mut unwinder = match &heap {
        Ok(heap) => Unwinder::from_heap(&image, heap),
        Err(e) => {
            eprintln!("warning: no V8 heap ({e}); native frames only");
            Unwinder::new(&image)
        }
    };
    for flag in &flags {
        if let Some(module) = flag.strip_prefix("--ignore-unwind-info=") {
            unwinder = unwinder.ignore_unwind_info(module);
        }
    }
    let t = Instant::now();
    let traces = unwinder.backtraces();
    let took = t.elapsed();
    for bt in &traces {
        println!(
            "thread {}{} ({} frames)",
            bt.tid,
            if bt.current { " (current)" } else { "" },
            bt.frames.len()
        );
        for f in &bt.frames {
            let what = match &f.kind {
                FrameKind::Native(s) => s.to_string(),
                FrameKind::V8 {
                    frame_type,
                    js,
                    code,
                } => {
                    let code = code.as_ref().map(|c| format!(" {c}")).unwrap_or_default();
                    match js {
                        Some(js) => format!(
                            "<{frame_type}> fn {:#x} argc {:?} this {:#x?} args {:x?} bytecode {:?}{code}",
                            js.function, js.argc, js.receiver, js.args, js.bytecode
                        ),
                        None => format!("<{frame_type}>{code}"),
                    }
                }
                FrameKind::Unknown => "??".to_string(),
            };
            println!(
                "  #{:<3} {:#018x} sp {:#x} [{}] {what}",
                f.index, f.pc, f.sp, f.trust
            );
        }
        if let Some(r) = &bt.resumed {
            println!(
                "  (resumed from c_entry_fp at #{}: {})",
                r.at_frame, r.stopped
            );
        }
        println!("  end: {}", bt.end);
    }
    eprintln!(
        "heap opened in {:.1} ms; {} threads unwound in {:.2} ms",
        opened.as_secs_f64() * 1e3,
        traces.len(),
        took.as_secs_f64() * 1e3
    );
    Ok(())
}
