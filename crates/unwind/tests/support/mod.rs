//! Shared by the fixture tests: every fixture core opened once (image, heap and backtraces),
//! and the comparison of coroner's native frames with gdb's.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::sync::OnceLock;

use coroner_fixtures::{Fixture, GdbPhysicalFrame};
use coroner_image::ProcessImage;
use coroner_unwind::{Backtrace, Frame, FrameKind, Unwinder};
use coroner_v8::Heap;
use rayon::prelude::*;

/// One fixture, opened and unwound.
pub struct Opened {
    /// The fixture.
    pub fixture: Fixture,
    /// Its process image.
    pub image: &'static ProcessImage,
    /// Its heap.
    pub heap: &'static Heap<'static>,
    /// The backtrace of every thread, in the core's order.
    pub traces: Vec<Backtrace>,
}

impl Opened {
    /// An unwinder of this fixture.
    pub fn unwinder(&self) -> Unwinder<'static> {
        Unwinder::from_heap(self.image, self.heap)
    }

    /// `"20.20.2/objects/abort"`.
    pub fn label(&self) -> String {
        self.fixture.label()
    }
}

/// Every fixture of the index, opened once per test binary (in parallel).
pub fn opened() -> &'static [Opened] {
    static OPENED: OnceLock<Vec<Opened>> = OnceLock::new();
    OPENED.get_or_init(|| {
        coroner_fixtures::images(|_| true)
            .into_par_iter()
            .map(|(fixture, image)| {
                let heap = Heap::open(image)
                    .unwrap_or_else(|e| panic!("{}: heap did not open: {e}", fixture.label()));
                // The heaps live as long as the test binary, as the images do.
                let heap: &'static Heap<'static> = Box::leak(Box::new(heap));
                let traces = Unwinder::from_heap(image, heap).backtraces();
                Opened {
                    fixture,
                    image,
                    heap,
                    traces,
                }
            })
            .collect()
    })
}

/// Fails with every problem found, one per line.
pub fn report(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A function name reduced to what a symbol table and debug information agree on: no symbol
/// version (`@@GLIBC_2.34`), no compiler clone suffix (`.constprop.0`, `.isra.0`, `.part.0`,
/// `.cold`), no leading underscores or glibc's internal `GI_` alias prefix, and the Itanium
/// ABI's standard stream abbreviations (`So`, `Si`, `Sd`) spelled out as gdb spells them
/// (`std::basic_ostream<char, std::char_traits<char> >` where coroner's demangler writes
/// `std::ostream`): two spellings of one mangled name.
pub fn normalize(name: &str) -> String {
    let spelled = spell_out_streams(name);
    let name = spelled.as_str();
    let mut n = name.split('@').next().unwrap_or(name);
    for suffix in [".constprop.", ".isra.", ".part.", ".cold"] {
        if let Some(i) = n.find(suffix) {
            n = &n[..i];
        }
    }
    let mut n = n.trim_start_matches('_');
    while let Some(rest) = n.strip_prefix("GI_") {
        n = rest.trim_start_matches('_');
    }
    n.to_string()
}

/// `name` with `std::ostream`, `std::istream` and `std::iostream` written in full.
fn spell_out_streams(name: &str) -> String {
    let mut out = name.to_string();
    for stream in ["ostream", "istream", "iostream"] {
        out = out.replace(
            &format!("std::{stream}"),
            &format!("std::basic_{stream}<char, std::char_traits<char> >"),
        );
    }
    out
}

/// Whether coroner's `frame` is the function gdb names in `gdb`: one of gdb's names (the
/// function and those inlined into it at that pc) is one of the names of coroner's symbol
/// (its aliases), once normalized.
pub fn same_function(unwinder: &Unwinder<'_>, frame: &Frame, gdb: &GdbPhysicalFrame) -> bool {
    let ours: Vec<String> = unwinder
        .names_at(frame.pc, frame.index > 0)
        .iter()
        .chain(frame.code_symbol().and_then(|s| s.symbol.as_ref()))
        .map(|n| normalize(n))
        .collect();
    gdb.functions.iter().any(|g| ours.contains(&normalize(g)))
}

/// Whether gdb's frame at `pc` is a tail call gdb reconstructed from debug information (the
/// instruction before `pc` is a `jmp`, not a `call`): such a function has no frame of its own
/// on the stack.
pub fn is_tail_call_site(image: &ProcessImage, pc: u64) -> bool {
    let mem = image.memory();
    let byte = |back: u64| pc.checked_sub(back).and_then(|a| mem.read_u8(a).ok());
    byte(5) == Some(0xe9) || byte(2) == Some(0xeb)
}

/// Whether gdb's frame is the start of the part of the stack it cannot unwind: a V8 builtin,
/// or `??`.
pub fn gdb_reaches_v8(frame: &GdbPhysicalFrame) -> bool {
    frame.functions.is_empty() || frame.functions.iter().any(|f| f.starts_with("Builtins_"))
}

/// Whether coroner's frame is V8 code (a V8 frame, or code of no module).
pub fn is_v8(frame: &Frame) -> bool {
    matches!(frame.kind, FrameKind::V8 { .. } | FrameKind::Unknown)
}

/// One frame, for messages.
pub fn describe(frame: &Frame) -> String {
    let what = match &frame.kind {
        FrameKind::Native(s) => s.to_string(),
        FrameKind::V8 {
            frame_type, code, ..
        } => format!(
            "<{frame_type}>{}",
            code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
        ),
        FrameKind::Unknown => "??".to_string(),
    };
    format!("#{} {:#x} {what} [{}]", frame.index, frame.pc, frame.trust)
}
