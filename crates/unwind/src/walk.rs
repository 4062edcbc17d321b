//! The walk over one thread's stack: from its registers, frame by frame, by call frame
//! information in native code and by the frame-pointer chain in V8 code (classifying each V8
//! frame), until the outermost frame or a reason to stop.
//!
//! Each step must move the stack pointer up; the walk is capped at [`MAX_FRAMES`] frames.
//! When it stops short before reaching JavaScript (or meets native code without call frame
//! information, typically a library missing from this machine) and the thread's isolate has a
//! `c_entry_fp` further up its stack, it goes on from there: the exit frame, the JavaScript
//! frames, the entry frame, and the native frames below.

use crate::cfi::{self, Step, StepError};
use crate::frame::{EndReason, Frame, FrameKind, NativeSymbol, Resumption, Trust, V8FrameType};
use crate::regs::Regs;
use crate::symbolize::{locate, symbolize};
use crate::v8::BUILTINS_PREFIX;
use crate::{Unwinder, MAX_FRAMES};

/// The lowest address that can be code: the first page is never mapped.
const MIN_PC: u64 = 4096;

/// The state of one walk.
pub(crate) struct Walk<'u, 'a> {
    unwinder: &'u Unwinder<'a>,
    ctx: Box<cfi::Context>,
    pub frames: Vec<Frame>,
    pub resumed: Option<Resumption>,
    /// The thread's isolate's `c_entry_fp`, while it has not been used.
    c_entry_fp: Option<u64>,
    seen_v8: bool,
}

/// Where the walk goes next.
enum Next {
    /// On, with the caller's registers, found this way; `exact` when the pc is not a return
    /// address (the caller of a signal trampoline is at the interrupted instruction).
    Caller {
        regs: Regs,
        trust: Trust,
        exact: bool,
    },
    /// The walk stops.
    End(EndReason),
}

impl<'u, 'a> Walk<'u, 'a> {
    pub fn new(unwinder: &'u Unwinder<'a>, c_entry_fp: Option<u64>) -> Walk<'u, 'a> {
        Walk {
            unwinder,
            ctx: Box::new(cfi::Context::new()),
            frames: Vec::new(),
            resumed: None,
            c_entry_fp,
            seen_v8: false,
        }
    }

    /// Walks from `regs`, the first frame found as `trust`.
    pub fn run(&mut self, mut regs: Regs, mut trust: Trust) -> EndReason {
        let mut exact = true;
        loop {
            if self.frames.len() >= MAX_FRAMES {
                return EndReason::FrameLimit;
            }
            let next = self.step(&regs, trust, exact);
            match next {
                Next::Caller {
                    regs: caller,
                    trust: t,
                    exact: e,
                } => {
                    regs = caller;
                    trust = t;
                    exact = e;
                }
                Next::End(reason) => match self.resume(reason) {
                    Ok(r) => {
                        regs = r;
                        trust = Trust::ThreadLocalTop;
                        exact = false;
                    }
                    Err(reason) => return reason,
                },
            }
        }
    }

    /// Goes on from the isolate's `c_entry_fp` when the walk stopped before any V8 frame and
    /// the exit frame lies above the last frame; otherwise gives `reason` back.
    fn resume(&mut self, reason: EndReason) -> Result<Regs, EndReason> {
        if self.seen_v8 || matches!(reason, EndReason::FrameLimit) {
            return Err(reason);
        }
        let Some(v8) = &self.unwinder.v8 else {
            return Err(reason);
        };
        let Some(fp) = self.c_entry_fp.take() else {
            return Err(reason);
        };
        let last_sp = self.frames.last().map_or(0, |f| f.sp);
        let Some((pc, sp)) = v8.exit_frame_pc(self.unwinder.image.memory(), fp) else {
            return Err(reason);
        };
        // The exit frame must lie above what was walked already: the stack grows.
        if fp <= last_sp || sp <= last_sp {
            return Err(reason);
        }
        self.resumed = Some(Resumption {
            stopped: reason,
            at_frame: self.frames.len(),
        });
        Ok(Regs::frame(pc, sp, fp))
    }

    /// Records the frame of `regs` and finds its caller.
    fn step(&mut self, regs: &Regs, trust: Trust, exact: bool) -> Next {
        let image = self.unwinder.image;
        let memory = image.memory();
        let (Some(pc), Some(sp)) = (regs.pc(), regs.sp()) else {
            return Next::End(EndReason::NoUnwindInfo {
                pc: regs.pc().unwrap_or(0),
            });
        };
        if pc < MIN_PC && !self.frames.is_empty() {
            return Next::End(if pc == 0 {
                EndReason::ChainEnd
            } else {
                EndReason::BadPc { pc }
            });
        }
        let lookup = if exact { pc } else { pc.wrapping_sub(1) };
        let located = locate(image, lookup);
        let symbol = symbolize(image, pc, lookup);
        let is_builtin = symbol
            .mangled
            .as_deref()
            .is_some_and(|n| n.starts_with(BUILTINS_PREFIX));
        // Without the executable's file (a core analysed alone) its code has no symbols and no
        // call frame information: its frames, builtins included, are tried as V8 frames first.
        let unnamed_exe = located.is_some_and(|l| {
            l.link.is_none()
                && image
                    .executable()
                    .is_some_and(|e| std::ptr::eq(e, l.module))
        });
        let in_v8_code = is_builtin || located.is_none() || unnamed_exe;
        let index = self.frames.len();
        let frame = |kind: FrameKind| Frame {
            index,
            pc,
            sp,
            fp: regs.fp(),
            kind,
            trust,
        };

        if in_v8_code {
            let kind = self.v8_kind(regs, symbol, is_builtin, !unnamed_exe);
            let classified = matches!(&kind, FrameKind::V8 { frame_type, .. } if *frame_type != V8FrameType::Unknown);
            self.seen_v8 |= classified;
            self.frames.push(frame(kind));
            let how = if classified {
                Trust::V8Frame
            } else {
                Trust::FramePointer
            };
            return self.fp_step(regs, pc, sp, how);
        }

        // Native code: call frame information when the module has an entry for the pc.
        let cfi = located.and_then(|l| Some((self.unwinder.cfi(l.index)?, l.link?)));
        if let Some((cfi, link)) = cfi {
            match cfi.step(&mut self.ctx, link, regs, memory) {
                Step::NoEntry => {}
                Step::Caller {
                    regs: caller,
                    exact_pc,
                } => {
                    self.frames.push(frame(FrameKind::Native(symbol)));
                    let caller_sp = caller.sp().unwrap_or(0);
                    if caller_sp <= sp {
                        return Next::End(EndReason::StackDidNotGrow { sp, caller_sp });
                    }
                    return Next::Caller {
                        regs: caller,
                        trust: Trust::Cfi,
                        exact: exact_pc,
                    };
                }
                Step::Outermost => {
                    self.frames.push(frame(FrameKind::Native(symbol)));
                    return Next::End(EndReason::Outermost);
                }
                Step::Failed(e) => {
                    self.frames.push(frame(FrameKind::Native(symbol)));
                    return Next::End(match e {
                        StepError::Unreadable(addr) => EndReason::Unreadable { addr },
                        StepError::Bad(reason) => EndReason::BadUnwindInfo { pc, reason },
                    });
                }
            }
        }
        // Native code without call frame information (a library missing from this machine, or
        // hand-written code): the JavaScript part of the stack is better found from the
        // isolate than through a frame-pointer chain native code may not keep.
        self.frames.push(frame(FrameKind::Native(symbol)));
        if !self.seen_v8 && self.c_entry_fp.is_some_and(|fp| fp > sp) {
            return Next::End(EndReason::NoUnwindInfo { pc });
        }
        self.fp_step(regs, pc, sp, Trust::FramePointer)
    }

    /// The kind of a frame in V8 code: classified when V8's layout is known. `named` says
    /// whether the pc could have been named (a builtin's symbol), or the executable's symbols
    /// are not at hand.
    fn v8_kind(
        &self,
        regs: &Regs,
        symbol: NativeSymbol,
        is_builtin: bool,
        named: bool,
    ) -> FrameKind {
        // Not a V8 frame: native code of a known module (named or not), else unknown code.
        let not_v8 = |symbol: NativeSymbol| match symbol.module {
            Some(_) => FrameKind::Native(symbol),
            None => FrameKind::Unknown,
        };
        let (Some(v8), Some(fp)) = (&self.unwinder.v8, regs.fp()) else {
            return not_v8(symbol);
        };
        let code = is_builtin.then_some(symbol.clone());
        let c = v8.classify(self.unwinder.image.memory(), fp, code.as_ref(), named);
        if c.frame_type == V8FrameType::Unknown && code.is_none() {
            return not_v8(symbol);
        }
        FrameKind::V8 {
            frame_type: c.frame_type,
            js: c.js,
            code,
        }
    }

    /// The caller through the frame pointer: `[fp]` is the caller's frame pointer and
    /// `[fp + 8]` the return address; the caller's stack pointer is `fp + 16`.
    fn fp_step(&self, regs: &Regs, pc: u64, sp: u64, trust: Trust) -> Next {
        let memory = self.unwinder.image.memory();
        let Some(fp) = regs.fp() else {
            return Next::End(EndReason::NoUnwindInfo { pc });
        };
        if fp == 0 {
            return Next::End(EndReason::ChainEnd);
        }
        // x86-64: the saved frame pointer, then the return address, 8 bytes each.
        let word = 8u64;
        let read = |addr: u64| {
            memory
                .read_u64(addr)
                .map_err(|e| EndReason::Unreadable { addr: e.addr() })
        };
        let caller_fp = match read(fp) {
            Ok(v) => v,
            Err(e) => return Next::End(e),
        };
        let caller_pc = match read(fp.wrapping_add(word)) {
            Ok(v) => v,
            Err(e) => return Next::End(e),
        };
        let caller_sp = fp.wrapping_add(2 * word);
        if caller_sp <= sp {
            return Next::End(EndReason::StackDidNotGrow { sp, caller_sp });
        }
        if caller_pc == 0 {
            return Next::End(EndReason::ChainEnd);
        }
        Next::Caller {
            regs: Regs::frame(caller_pc, caller_sp, caller_fp),
            trust,
            exact: false,
        }
    }
}
