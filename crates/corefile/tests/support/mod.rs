//! Shared helpers for the integration tests: a representative synthetic core, a deterministic
//! PRNG, and the error type tests return.

#![allow(dead_code)] // Each test binary uses a different subset.

use coroner_corefile::testing::CoreBuilder;
use coroner_corefile::{MappedFile, Perms, ProcessInfo, Registers, SignalInfo, Thread};

/// What tests return; `?` on anything.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Fail the test with a message (instead of panicking inside helpers).
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Box<dyn std::error::Error>> {
    Err(msg.into().into())
}

/// xorshift64*: deterministic, good enough to pick bytes and bits.
pub struct Prng(pub u64);

impl Prng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Registers with every field distinct: field k (kernel order) = 0x1000 * (k + 1) + tid.
pub fn regs_for(tid: u32) -> Registers {
    let mut a = [0u64; 27];
    for (k, v) in a.iter_mut().enumerate() {
        *v = 0x1000 * (k as u64 + 1) + u64::from(tid);
    }
    Registers::from_array(a)
}

/// The bytes 0, 1, 2, ... (wrapping), `n` of them, offset by `seed`.
pub fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_add(seed)).collect()
}

/// A core with three segments (one with an absent tail, one entirely absent), two threads and
/// every note type.
pub fn sample() -> CoreBuilder {
    CoreBuilder::new()
        .segment(0x40_0000, Perms::R, &pattern(0x100, 0), 0x1000)
        .segment(0x7f00_0000_0000, Perms::RW, &pattern(0x200, 7), 0x200)
        .segment(0x40_1000, Perms::RX, &[], 0x2000)
        .thread_info(Thread {
            tid: 100,
            ppid: 1,
            pgrp: 100,
            cursig: 11,
            regs: regs_for(100),
        })
        .thread_info(Thread {
            tid: 101,
            ppid: 1,
            pgrp: 100,
            cursig: 0,
            regs: regs_for(101),
        })
        .prpsinfo(ProcessInfo {
            pid: 100,
            ppid: 1,
            uid: 1000,
            gid: 1001,
            state: 0,
            fname: "node".into(),
            psargs: "node --abort-on-uncaught-exception app.js".into(),
        })
        .siginfo(SignalInfo {
            signo: 11,
            code: 1,
            errno: 0,
            fault_addr: Some(0xdead_beef),
            sender_pid: None,
        })
        .file(MappedFile {
            start: 0x40_0000,
            end: 0x40_1000,
            file_offset: 0,
            path: "/usr/bin/node".into(),
        })
        .file(MappedFile {
            start: 0x40_1000,
            end: 0x40_3000,
            file_offset: 0x1000,
            path: "/usr/bin/node".into(),
        })
        .auxv(3, 0x40_0040)
        .auxv(6, 4096)
        .auxv(9, 0x40_1234)
}
