//! Triage: why the process died, on which thread and JavaScript line, what its heaps held and
//! where its memory went, and a signature to group it with other cores of the same bug. The first thing to run on a
//! core, so it reads only what answers those questions: the signal, the crashing thread's
//! stack, page headers and the core's mappings; never a walk of the whole heap.
//!
//! It works without the heap too (a core whose V8 layout cannot be read): the reason then comes
//! from the signal and the native frames, and the memory has no V8 categories.

mod exception;
mod oom;
mod reason;
mod signature;

use coroner_heap::HeapStatistics;
use coroner_image::{HeapRanges, ProcessImage};
use coroner_unwind::Unwinder;

use crate::stacks::{native_stacks, NamedFrame, ThreadStack};
use crate::Analysis;

pub use coroner_image::{MemoryCategory, MemoryShare};
pub use exception::Thrown;
pub use oom::OutOfMemory;
pub use reason::{CodeRegion, Fault, Reason, ReasonKind, SignalFacts};
pub use signature::Signature;

/// The crashing thread's frames kept in [`CrashedThread`] (the JavaScript stack is whole).
const THREAD_FRAMES: usize = 16;

/// The thread the signal stopped (or, in a gcore core, the first thread: the main thread).
#[derive(Debug, Clone)]
pub struct CrashedThread {
    /// Its index among the core's threads (as `thread list` numbers them, from 0).
    pub index: usize,
    /// Its id.
    pub tid: u32,
    /// The isolate whose JavaScript it runs, when it runs one.
    pub isolate: Option<usize>,
    /// Its innermost frames (at most 16: `THREAD_FRAMES`).
    pub frames: Vec<NamedFrame>,
    /// How many frames it has in all.
    pub total_frames: usize,
}

/// One JavaScript frame of the crashing thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEntry {
    /// The function (`validate`, `Timeout.tick [as _onTimeout]`), as V8's stack traces name it.
    pub function: String,
    /// The script.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u64>,
    /// 1-based column.
    pub column: Option<u64>,
    /// An async function awaiting the one above it (`at async f` in V8's stack traces).
    pub is_async: bool,
}

/// Everything triage says.
#[derive(Debug, Clone)]
pub struct Triage {
    /// Why the process died.
    pub reason: Reason,
    /// The crashing thread.
    pub thread: Option<CrashedThread>,
    /// Its JavaScript frames, innermost first (for an OOM, the allocating frame first).
    pub js_stack: Vec<StackEntry>,
    /// For an uncaught exception, the value thrown.
    pub exception: Option<Thrown>,
    /// Every isolate's heap figures (none without a readable heap).
    pub heap: Vec<HeapStatistics>,
    /// Where the process's memory went, largest first.
    pub memory: Vec<MemoryShare>,
    /// The crash's signature.
    pub signature: Signature,
    /// What the user must know to trust the rest.
    pub warnings: Vec<String>,
}

/// Triage of `image`, with its heap when `analysis` could be opened (`heap_error` says why
/// not, otherwise).
pub fn triage(
    image: &ProcessImage,
    analysis: Option<&Analysis<'_>>,
    heap_error: Option<&str>,
) -> Triage {
    let unheaped;
    let stacks: &[ThreadStack] = match analysis {
        Some(a) => a.stacks(),
        None => {
            unheaped = native_stacks(&Unwinder::new(image));
            &unheaped
        }
    };
    let index = stacks
        .iter()
        .position(|t| t.current)
        .or((!stacks.is_empty()).then_some(0));
    let stack = index.and_then(|i| stacks.get(i));
    let frames = stack.map(|t| t.frames.as_slice()).unwrap_or_default();
    let model = analysis.map(|a| a.model());
    let pc_in_code_page = frames
        .first()
        .and_then(|f| model?.page_of(f.pc))
        .is_some_and(|p| p.executable);
    let oom = match reason::oom_frame(frames) {
        Some(i) => frames.first().map(|f| {
            let high = frames.get(i + 1).map_or(f.sp, |g| g.sp);
            oom::read(image, f.sp, high)
        }),
        // Without the executable's symbols no frame is named, but an abort whose native frames
        // hold V8's GC trace buffer is V8's OOM handler's.
        None if image
            .core()
            .signal()
            .is_some_and(|s| s.signo == reason::SIGABRT) =>
        {
            frames.first().and_then(|f| {
                let high = frames
                    .iter()
                    .find(|g| g.js().is_some())
                    .map_or(f.sp.saturating_add(oom::MAX_STACK_BYTES), |g| g.sp);
                Some(oom::read(image, f.sp, high)).filter(|o| !o.last_gcs.is_empty())
            })
        }
        None => None,
    };
    let reason = reason::classify(
        stack,
        reason::Evidence {
            image,
            pc_in_code_page,
            oom,
        },
    );
    let awaiting = stack.map(|t| t.async_frames.as_slice()).unwrap_or_default();
    let js_stack = js_entries(frames)
        .into_iter()
        .chain(awaiting.iter().map(|a| StackEntry {
            function: a.call.clone().unwrap_or_else(|| a.function.clone()),
            file: a.place.file.clone(),
            line: a.place.line,
            column: a.place.column,
            is_async: true,
        }))
        .collect();
    let heap_ranges = HeapRanges {
        pages: model
            .map(|m| {
                m.pages()
                    .iter()
                    .map(|p| (p.addr, p.addr.saturating_add(p.size), p.executable))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut warnings: Vec<String> = image.warnings().to_vec();
    if let Some(e) = heap_error {
        warnings.push(format!("the V8 heap cannot be read: {e}"));
        warnings.extend(missing_anonymous_memory(image));
    }
    let heap = model.map(|m| m.statistics()).unwrap_or_default();
    for h in &heap {
        if let Some(gc) = h.gc_in_progress {
            warnings.push(format!(
                "isolate {} was in the middle of a garbage collection ({gc}) when the core was written: objects may be half-moved, so counts, sizes and references read from its heap can be off",
                h.isolate
            ));
        }
    }
    let exception = model
        .filter(|_| reason.kind == ReasonKind::UncaughtException)
        .and_then(|m| exception::thrown(m, frames));
    Triage {
        signature: signature::signature(reason.kind, frames),
        reason,
        thread: stack.zip(index).map(|(t, i)| CrashedThread {
            index: i,
            tid: t.tid,
            isolate: t.isolate,
            frames: t.frames.iter().take(THREAD_FRAMES).cloned().collect(),
            total_frames: t.frames.len(),
        }),
        js_stack,
        exception,
        heap,
        memory: image.memory_breakdown(&heap_ranges),
        warnings,
    }
}

/// The JavaScript frames among `frames`, as V8's stack traces show them (frames V8 hides left
/// out), innermost first.
pub fn js_entries(frames: &[NamedFrame]) -> Vec<StackEntry> {
    frames
        .iter()
        .filter_map(|f| {
            let js = f.js().filter(|j| !j.hidden)?;
            Some(StackEntry {
                function: js.call.clone().unwrap_or_else(|| f.function.clone()),
                file: js.place.file.clone(),
                line: js.place.line,
                column: js.place.column,
                is_async: false,
            })
        })
        .collect()
}

/// When the core holds none of the process's writable anonymous memory (where V8's heap and
/// malloc live), what dropped it and what to change.
fn missing_anonymous_memory(image: &ProcessImage) -> Option<String> {
    image.anonymous_memory_dropped().then(|| {
        concat!(
            "the core holds no anonymous memory (no heap, no malloc): the process's ",
            "coredump_filter left out anonymous mappings (set bits 0 and 1: ",
            "`echo 0x33 > /proc/PID/coredump_filter`), or the dumper's own size limit cut it"
        )
        .to_string()
    })
}
