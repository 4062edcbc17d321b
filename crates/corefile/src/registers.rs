//! A thread's general-purpose registers as saved in `NT_PRSTATUS` (the kernel's x86-64
//! `user_regs_struct`), and their mapping to DWARF register numbers for the unwinder.

/// Number of `u64` slots in x86-64 `user_regs_struct`.
pub(crate) const REG_COUNT: usize = 27;

/// x86-64 `user_regs_struct`, fields in the kernel's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)] // The fields are the registers they are named after.
pub struct Registers {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

impl Registers {
    /// From the 27 slots of `user_regs_struct`, in kernel order.
    pub fn from_array(a: [u64; REG_COUNT]) -> Registers {
        let [r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs] =
            a;
        Registers {
            r15,
            r14,
            r13,
            r12,
            rbp,
            rbx,
            r11,
            r10,
            r9,
            r8,
            rax,
            rcx,
            rdx,
            rsi,
            rdi,
            orig_rax,
            rip,
            cs,
            eflags,
            rsp,
            ss,
            fs_base,
            gs_base,
            ds,
            es,
            fs,
            gs,
        }
    }

    /// The 27 slots of `user_regs_struct`, in kernel order.
    pub fn to_array(&self) -> [u64; REG_COUNT] {
        let r = self;
        [
            r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx,
            r.rdx, r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base,
            r.gs_base, r.ds, r.es, r.fs, r.gs,
        ]
    }

    /// The 64-bit general-purpose register (or `rip`) a disassembler names `name` (`"rdi"`,
    /// `"r12"`); `None` for any other name.
    pub fn named(&self, name: &str) -> Option<u64> {
        Some(match name {
            "rax" => self.rax,
            "rbx" => self.rbx,
            "rcx" => self.rcx,
            "rdx" => self.rdx,
            "rsi" => self.rsi,
            "rdi" => self.rdi,
            "rbp" => self.rbp,
            "rsp" => self.rsp,
            "r8" => self.r8,
            "r9" => self.r9,
            "r10" => self.r10,
            "r11" => self.r11,
            "r12" => self.r12,
            "r13" => self.r13,
            "r14" => self.r14,
            "r15" => self.r15,
            "rip" => self.rip,
            _ => return None,
        })
    }

    /// The register with x86-64 DWARF number `dwarf_reg` (System V psABI numbering):
    /// 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8–15 r8–r15, 16 rip (the return
    /// address column), 49 rflags, 50 es, 51 cs, 52 ss, 53 ds, 54 fs, 55 gs, 58 fs.base,
    /// 59 gs.base. `None` for any other number (vector registers are not in `NT_PRSTATUS`).
    pub fn get(&self, dwarf_reg: u16) -> Option<u64> {
        let r = self;
        Some(match dwarf_reg {
            0 => r.rax,
            1 => r.rdx,
            2 => r.rcx,
            3 => r.rbx,
            4 => r.rsi,
            5 => r.rdi,
            6 => r.rbp,
            7 => r.rsp,
            8 => r.r8,
            9 => r.r9,
            10 => r.r10,
            11 => r.r11,
            12 => r.r12,
            13 => r.r13,
            14 => r.r14,
            15 => r.r15,
            16 => r.rip,
            49 => r.eflags,
            50 => r.es,
            51 => r.cs,
            52 => r.ss,
            53 => r.ds,
            54 => r.fs,
            55 => r.gs,
            58 => r.fs_base,
            59 => r.gs_base,
            _ => return None,
        })
    }
}
