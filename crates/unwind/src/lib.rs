//! Stack unwinding of a Node.js core: every thread's frames, native and V8 interleaved, from
//! its registers to its outermost frame.
//!
//! Native frames are unwound with the DWARF call frame information (`.eh_frame` through
//! `.eh_frame_hdr`, and `.debug_frame`) of the module holding the pc — the executable and every
//! shared library the process image found — applied to the core's memory; where there is none
//! (V8's builtins and JIT code) the walk follows the frame-pointer chain, which V8 frames always
//! keep. V8 frames are classified by the marker in their frame (entry, exit, internal, ...) or as
//! JavaScript frames (a context and a `JSFunction` in their slots), whose raw facts — function,
//! receiver, arguments, bytecode array and offset — are handed to the layer above to name.
//! When the walk from the registers cannot reach the JavaScript part of a stack, it goes on from
//! the isolate's `ThreadLocalTop::c_entry_fp`.
//!
//! Layer: an analysis over the process image (`coroner-image`) and V8's layout (`coroner-v8`).
//! It decodes no heap object beyond what walking frames needs (the maps of a frame's function
//! and bytecode array); names, scripts and source positions belong to the heap model.
//!
//! ```no_run
//! use coroner_image::{OpenOptions, ProcessImage};
//! use coroner_unwind::{FrameKind, Unwinder};
//! let image = ProcessImage::open("core".as_ref(), &OpenOptions::default())?;
//! let heap = coroner_v8::Heap::open(&image)?;
//! let unwinder = Unwinder::from_heap(&image, &heap);
//! for bt in unwinder.backtraces() {
//!     println!("thread {}{}", bt.tid, if bt.current { " (current)" } else { "" });
//!     for f in &bt.frames {
//!         match &f.kind {
//!             FrameKind::Native(s) => println!("  #{} {:#x} {s}", f.index, f.pc),
//!             FrameKind::V8 { frame_type, js, .. } => {
//!                 println!("  #{} {:#x} <{frame_type}> {:?}", f.index, f.pc, js.as_ref().map(|j| j.function))
//!             }
//!             FrameKind::Unknown => println!("  #{} {:#x} ??", f.index, f.pc),
//!         }
//!     }
//!     println!("  ({})", bt.end);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cfi;
mod frame;
mod regs;
mod symbolize;
mod v8;
mod walk;

use std::sync::OnceLock;

use coroner_corefile::Registers;
use coroner_image::ProcessImage;
use coroner_v8::{Heap, Isolate, Layout};

pub use frame::{
    Backtrace, BytecodePosition, EndReason, Frame, FrameKind, JsFrameFacts, NativeSymbol,
    Resumption, Trust, V8FrameType, MAX_ARGS,
};
pub use symbolize::display_name;

use crate::cfi::ModuleCfi;
use crate::regs::Regs;

/// The most frames a walk records.
pub const MAX_FRAMES: usize = 1024;

/// Unwinds the threads of one process image. Call frame information is parsed once per module,
/// on first use, and shared by every walk.
pub struct Unwinder<'a> {
    image: &'a ProcessImage,
    v8: Option<v8::V8<'a>>,
    cfi: Vec<OnceLock<Option<ModuleCfi<'a>>>>,
    ignored: Vec<bool>,
}

impl<'a> Unwinder<'a> {
    /// An unwinder of native frames only: V8's frames are followed through their frame
    /// pointers but not classified.
    pub fn new(image: &'a ProcessImage) -> Unwinder<'a> {
        let n = image.modules().len();
        Unwinder {
            image,
            v8: None,
            cfi: (0..n).map(|_| OnceLock::new()).collect(),
            ignored: vec![false; n],
        }
    }

    /// An unwinder that classifies V8 frames with `layout`, and resumes from the `c_entry_fp`
    /// of `isolates` where native unwinding cannot reach JavaScript.
    pub fn with_v8(image: &'a ProcessImage, layout: &'a Layout, isolates: &[Isolate]) -> Self {
        let mut u = Unwinder::new(image);
        u.v8 = Some(v8::V8 {
            layout,
            isolates: isolates.to_vec(),
        });
        u
    }

    /// [`Unwinder::with_v8`] with the layout and isolates of `heap`.
    pub fn from_heap(image: &'a ProcessImage, heap: &'a Heap<'_>) -> Self {
        Unwinder::with_v8(image, heap.layout(), heap.isolates())
    }

    /// Ignores the call frame information of the modules whose file name is `name`
    /// (`libc.so.6`), as if their files were missing: to see how stacks through a library
    /// that is not on this machine come out.
    pub fn ignore_unwind_info(mut self, name: &str) -> Self {
        for (i, m) in self.image.modules().iter().enumerate() {
            if m.short_name() == name {
                self.ignored[i] = true;
            }
        }
        self
    }

    /// The process image.
    pub fn image(&self) -> &'a ProcessImage {
        self.image
    }

    /// The backtrace of every thread, in the core's order.
    pub fn backtraces(&self) -> Vec<Backtrace> {
        (0..self.image.core().threads().len())
            .filter_map(|i| self.backtrace(i))
            .collect()
    }

    /// The backtrace of the thread at `index` in the core's order (`None` past the last).
    pub fn backtrace(&self, index: usize) -> Option<Backtrace> {
        let thread = self.image.core().threads().get(index)?;
        Some(self.backtrace_from_registers(index, &thread.regs))
    }

    /// The backtrace from arbitrary registers (a signal handler's saved context, or registers
    /// of the caller's own making), as if they were thread `index`'s: its isolate's
    /// `c_entry_fp` is used when the walk cannot reach JavaScript.
    pub fn backtrace_from_registers(&self, index: usize, regs: &Registers) -> Backtrace {
        let thread = self.image.core().threads().get(index);
        let isolate = self.isolate_of(index);
        let mut walk = walk::Walk::new(self, isolate.map(|i| i.c_entry_fp).filter(|&fp| fp != 0));
        let end = walk.run(Regs::from_thread(regs), Trust::Context);
        Backtrace {
            tid: thread.map_or(0, |t| t.tid),
            thread_index: index,
            current: index == 0,
            frames: walk.frames,
            end,
            resumed: walk.resumed,
            isolate: isolate.map(|i| i.addr),
        }
    }

    /// The V8 part of the thread's stack and what lies below it, found from its isolate's
    /// `c_entry_fp` alone, without unwinding from the registers (`None` when the thread has
    /// no isolate, or its isolate is not in C++ called from JavaScript). Every frame comes from
    /// the frame-pointer chain and the call frame information below the entry frame.
    pub fn backtrace_from_c_entry_fp(&self, index: usize) -> Option<Backtrace> {
        let thread = self.image.core().threads().get(index)?;
        let v8 = self.v8.as_ref()?;
        let isolate = self.isolate_of(index)?;
        let fp = isolate.c_entry_fp;
        let (pc, sp) = v8.exit_frame_pc(self.image.memory(), fp)?;
        let mut walk = walk::Walk::new(self, None);
        let end = walk.run(Regs::frame(pc, sp, fp), Trust::ThreadLocalTop);
        Some(Backtrace {
            tid: thread.tid,
            thread_index: index,
            current: index == 0,
            frames: walk.frames,
            end,
            resumed: None,
            isolate: Some(isolate.addr),
        })
    }

    /// The isolate whose JavaScript runs on thread `index`: the one whose `c_entry_fp` or
    /// `js_entry_sp` lies on that thread's stack (the mapping holding its stack pointer, above
    /// the stack pointer).
    pub fn isolate_of(&self, index: usize) -> Option<&Isolate> {
        let v8 = self.v8.as_ref()?;
        let thread = self.image.core().threads().get(index)?;
        let sp = thread.regs.rsp;
        let region = self.image.memory().region(sp)?;
        v8.isolates.iter().find(|iso| {
            [iso.c_entry_fp, iso.js_entry_sp]
                .iter()
                .any(|&a| a != 0 && a >= sp && a < region.end)
        })
    }

    /// The name of a pc: its module, function and offset. `return_address` looks the function
    /// up at `pc - 1` (a call may be a function's last instruction).
    pub fn symbolize(&self, pc: u64, return_address: bool) -> NativeSymbol {
        let lookup = if return_address {
            pc.wrapping_sub(1)
        } else {
            pc
        };
        symbolize::symbolize(self.image, pc, lookup)
    }

    /// Every name of the function holding `pc` (aliases such as `raise`, `__GI_raise`,
    /// `gsignal`), for display as [`display_name`] gives them; empty when none is known.
    pub fn names_at(&self, pc: u64, return_address: bool) -> Vec<String> {
        let lookup = if return_address {
            pc.wrapping_sub(1)
        } else {
            pc
        };
        let Some(at) = symbolize::locate(self.image, lookup) else {
            return Vec::new();
        };
        let Some(link) = at.link else {
            return Vec::new();
        };
        let Some((sym, _)) = at.module.function_at(link) else {
            return Vec::new();
        };
        at.module
            .names_at(sym.address)
            .into_iter()
            .map(display_name)
            .collect()
    }

    /// The call frame information of module `index`, parsed on first use.
    fn cfi(&self, index: usize) -> Option<&ModuleCfi<'a>> {
        if self.ignored.get(index).copied().unwrap_or(true) {
            return None;
        }
        self.cfi
            .get(index)?
            .get_or_init(|| ModuleCfi::load(&self.image.modules()[index]))
            .as_ref()
    }
}
