//! The registers an unwinder tracks from frame to frame: the x86-64 general-purpose registers
//! and the return address, by DWARF number, each known or not.

use coroner_corefile::Registers;

/// DWARF register numbers of x86-64 (System V psABI).
pub(crate) mod reg {
    pub const RBX: u16 = 3;
    pub const RBP: u16 = 6;
    pub const RSP: u16 = 7;
    pub const R12: u16 = 12;
    pub const R13: u16 = 13;
    pub const R14: u16 = 14;
    pub const R15: u16 = 15;
    /// The return address column, which holds the pc.
    pub const RIP: u16 = 16;
}

/// Registers 0-16 (rax .. r15, rip).
const COUNT: usize = 17;

/// A partially known register file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Regs {
    values: [u64; COUNT],
    known: u32,
}

impl Regs {
    /// Nothing known.
    pub fn empty() -> Regs {
        Regs {
            values: [0; COUNT],
            known: 0,
        }
    }

    /// Every register of a thread's `NT_PRSTATUS`.
    pub fn from_thread(r: &Registers) -> Regs {
        let mut regs = Regs::empty();
        for n in 0..COUNT as u16 {
            if let Some(v) = r.get(n) {
                regs.set(n, v);
            }
        }
        regs
    }

    /// Only the pc, stack pointer and frame pointer.
    pub fn frame(pc: u64, sp: u64, fp: u64) -> Regs {
        let mut regs = Regs::empty();
        regs.set(reg::RIP, pc);
        regs.set(reg::RSP, sp);
        regs.set(reg::RBP, fp);
        regs
    }

    pub fn get(&self, n: u16) -> Option<u64> {
        let i = usize::from(n);
        (i < COUNT && self.known & (1 << i) != 0).then(|| self.values[i])
    }

    pub fn set(&mut self, n: u16, value: u64) {
        let i = usize::from(n);
        if i < COUNT {
            self.values[i] = value;
            self.known |= 1 << i;
        }
    }

    pub fn pc(&self) -> Option<u64> {
        self.get(reg::RIP)
    }

    pub fn sp(&self) -> Option<u64> {
        self.get(reg::RSP)
    }

    pub fn fp(&self) -> Option<u64> {
        self.get(reg::RBP)
    }

    /// Whether register `n` keeps its value across calls (x86-64 System V): a register the
    /// call frame information says nothing about then has the callee's value.
    pub fn is_callee_saved(n: u16) -> bool {
        matches!(
            n,
            reg::RBX | reg::RBP | reg::R12 | reg::R13 | reg::R14 | reg::R15
        )
    }

    /// The register numbers tracked.
    pub fn numbers() -> impl Iterator<Item = u16> {
        0..COUNT as u16
    }
}
