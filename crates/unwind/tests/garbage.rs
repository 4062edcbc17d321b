//! Walks over stacks of garbage end with a reason, never a panic or an endless loop: synthetic
//! cores whose frame-pointer chains loop, run on for thousands of frames, or point nowhere; and
//! real fixture cores unwound from registers pointing at arbitrary places of a real stack.

mod support;

use coroner_corefile::testing::CoreBuilder;
use coroner_corefile::{Perms, Registers};
use coroner_image::{OpenOptions, ProcessImage};
use coroner_unwind::{EndReason, FrameKind, Trust, Unwinder, MAX_FRAMES};

const STACK: u64 = 0x7000_0000;
const STACK_WORDS: usize = 8192;
/// Code addresses of no module.
const CODE: u64 = 0x5555_0000;

/// A core of one thread with `regs` and a stack of `words` at `STACK`.
fn image_with_stack(words: &[u64], regs: Registers) -> (tempfile::TempDir, ProcessImage) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let core = CoreBuilder::new()
        .segment(STACK, Perms::RW, &bytes, bytes.len() as u64)
        .thread(42, regs)
        .build();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("core");
    std::fs::write(&path, core).expect("write core");
    let image = ProcessImage::open(&path, &OpenOptions::default()).expect("opens");
    (dir, image)
}

fn regs(rip: u64, rsp: u64, rbp: u64) -> Registers {
    Registers {
        rip,
        rsp,
        rbp,
        ..Registers::default()
    }
}

#[test]
fn a_frame_pointer_loop_ends_when_the_stack_stops_growing() {
    let mut words = vec![0u64; STACK_WORDS];
    // [fp] = fp: the caller's frame is the callee's.
    words[32] = STACK + 32 * 8;
    words[33] = CODE + 0x10;
    let (_dir, image) = image_with_stack(&words, regs(CODE, STACK, STACK + 32 * 8));
    let bt = Unwinder::new(&image).backtrace(0).expect("thread 0");
    assert_eq!(bt.frames.len(), 2, "{bt:#?}");
    assert_eq!(bt.frames[0].trust, Trust::Context);
    assert_eq!(bt.frames[1].trust, Trust::FramePointer);
    assert_eq!(bt.frames[1].pc, CODE + 0x10);
    assert!(bt.frames.iter().all(|f| f.kind == FrameKind::Unknown));
    assert!(
        matches!(bt.end, EndReason::StackDidNotGrow { .. }),
        "{}",
        bt.end
    );
}

#[test]
fn an_endless_chain_stops_at_the_frame_limit() {
    let mut words = vec![0u64; STACK_WORDS];
    for i in 0..STACK_WORDS / 2 - 1 {
        let fp = 2 * i;
        words[fp] = STACK + (fp as u64 + 2) * 8;
        words[fp + 1] = CODE + i as u64;
    }
    let (_dir, image) = image_with_stack(&words, regs(CODE, STACK, STACK));
    let bt = Unwinder::new(&image).backtrace(0).expect("thread 0");
    assert_eq!(bt.end, EndReason::FrameLimit);
    assert_eq!(bt.frames.len(), MAX_FRAMES);
}

#[test]
fn an_unreadable_frame_pointer_is_reported_with_its_address() {
    let words = vec![0u64; 16];
    let (_dir, image) = image_with_stack(&words, regs(CODE, STACK, 0xdead_0000));
    let bt = Unwinder::new(&image).backtrace(0).expect("thread 0");
    assert_eq!(bt.frames.len(), 1);
    assert_eq!(bt.end, EndReason::Unreadable { addr: 0xdead_0000 });
    assert_eq!(bt.end.to_string(), "unreadable memory at 0xdead0000");
}

#[test]
fn zero_registers_end_the_chain() {
    let (_dir, image) = image_with_stack(&[0; 4], regs(0, 0, 0));
    let bt = Unwinder::new(&image).backtrace(0).expect("thread 0");
    assert_eq!(bt.frames.len(), 1);
    assert_eq!(bt.end, EndReason::ChainEnd);
    assert!(Unwinder::new(&image).backtrace(1).is_none());
}

#[test]
fn random_stacks_end_with_a_reason() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // xorshift64*
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        seed.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for _ in 0..64 {
        // Words that are often pointers into the stack itself, sometimes code, sometimes junk.
        let words: Vec<u64> = (0..1024)
            .map(|_| match next() % 4 {
                0 | 1 => STACK + (next() % 1024) * 8,
                2 => CODE + next() % 0x1000,
                _ => next(),
            })
            .collect();
        let r = regs(CODE, STACK + (next() % 64) * 8, STACK + (next() % 1024) * 8);
        let (_dir, image) = image_with_stack(&words, r);
        let bt = Unwinder::new(&image).backtrace(0).expect("thread 0");
        assert!(bt.frames.len() <= MAX_FRAMES);
        assert!(!bt.end.is_complete(), "{}", bt.end);
        for w in bt.frames.windows(2) {
            assert!(w[1].sp > w[0].sp, "the stack grows: {bt:#?}");
        }
    }
}

/// Real stacks, unwound from registers that point at arbitrary words of them: every walk ends,
/// within the frame limit, with the stack growing at every step.
#[test]
fn real_stacks_from_arbitrary_registers() {
    let mut walks = 0;
    for o in support::opened()
        .iter()
        .filter(|o| o.fixture.scenario == "stack")
    {
        let unwinder = o.unwinder();
        let thread = &o.image.core().threads()[0];
        let sp = thread.regs.rsp;
        for i in 0..256u64 {
            let mut r = thread.regs;
            r.rsp = sp + i * 8;
            r.rbp = sp + (i * 7 % 256) * 8;
            r.rip = o.image.memory().read_u64(sp + i * 24).unwrap_or(i);
            let bt = unwinder.backtrace_from_registers(0, &r);
            assert!(bt.frames.len() <= MAX_FRAMES, "{}", o.label());
            for w in bt.frames.windows(2) {
                assert!(w[1].sp > w[0].sp, "{}: {:#?}", o.label(), bt.frames);
            }
            walks += 1;
        }
    }
    assert!(walks > 0);
}
