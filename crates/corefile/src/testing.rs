//! A minimal ELF64 x86-64 core *writer*, for tests: build tiny synthetic cores (a few KB) with
//! chosen segments and notes, laid out like the kernel's cores or like gdb's `gcore` cores.
//!
//! Available to this crate's tests, and to other crates' tests through the `test-support`
//! feature. It writes what it is told, including nonsense (overlapping segments,
//! `filesz > memsz`, wrong machine), so tests can build bad input too.
//!
//! ```
//! use coroner_corefile::{testing::CoreBuilder, CoreFile, Perms, Registers};
//! let bytes = CoreBuilder::new()
//!     .segment(0x1000, Perms::RW, &[1, 2, 3, 4], 0x2000)
//!     .thread(42, Registers { rip: 0x1234, ..Registers::default() })
//!     .build();
//! let core = CoreFile::from_bytes(bytes)?;
//! assert_eq!(core.memory().read_u32(0x1000)?, 0x0403_0201);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::notes::{
    MappedFile, ProcessInfo, SignalInfo, Thread, PRPSINFO_SIZE, PRSTATUS_REGS, PRSTATUS_SIZE,
    SIGINFO_SIZE,
};
use crate::registers::Registers;
use crate::space::Perms;

/// `NT_PRSTATUS`.
pub const NT_PRSTATUS: u32 = 1;
/// `NT_FPREGSET`.
pub const NT_FPREGSET: u32 = 2;
/// `NT_PRPSINFO`.
pub const NT_PRPSINFO: u32 = 3;
/// `NT_AUXV`.
pub const NT_AUXV: u32 = 6;
/// `NT_X86_XSTATE` (owner `LINUX`).
pub const NT_X86_XSTATE: u32 = 0x202;
/// `NT_SIGINFO`.
pub const NT_SIGINFO: u32 = 0x5349_4749;
/// `NT_FILE`.
pub const NT_FILE: u32 = 0x4649_4c45;
/// Page size written in `NT_FILE`.
pub const PAGE_SIZE: u64 = 4096;

/// Which writer's layout to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Style {
    /// Linux kernel: notes right after the program headers, thread 0's `NT_PRSTATUS` first, then
    /// the process-wide notes, then the other threads; no section headers; `PT_NOTE` align 4.
    #[default]
    Kernel,
    /// gdb `gcore`: segment data first, notes at the end (`NT_PRPSINFO` first, then per thread
    /// `NT_PRSTATUS`, `NT_FPREGSET`, `NT_SIGINFO`), `PT_NOTE` align 1, then a section header table.
    Gdb,
}

#[derive(Clone, Debug)]
struct SegmentSpec {
    vaddr: u64,
    perms: Perms,
    bytes: Vec<u8>,
    memsz: u64,
}

/// Where things ended up in a built core.
#[derive(Clone, Debug, Default)]
pub struct BuiltLayout {
    /// File offset of the notes.
    pub notes_offset: u64,
    /// Size of the notes.
    pub notes_size: u64,
    /// File offset of each segment's bytes, in the order the segments were added.
    pub segment_offsets: Vec<u64>,
    /// File offset of the program header table.
    pub phdrs_offset: u64,
}

/// Builds a synthetic core. Methods take and return the builder, for chaining.
#[derive(Clone, Debug)]
pub struct CoreBuilder {
    style: Style,
    e_type: u16,
    machine: u16,
    extended_phnum: bool,
    segments: Vec<SegmentSpec>,
    threads: Vec<Thread>,
    process: Option<ProcessInfo>,
    signal: Option<SignalInfo>,
    files: Vec<MappedFile>,
    auxv: Vec<(u64, u64)>,
    extra_notes: Vec<(String, u32, Vec<u8>)>,
}

impl Default for CoreBuilder {
    fn default() -> Self {
        CoreBuilder::new()
    }
}

fn put_u16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}
/// Write `s` as a NUL-terminated string in a field of `cap` bytes (truncating to `cap - 1`).
fn put_str(buf: &mut [u8], off: usize, cap: usize, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(cap - 1);
    buf[off..off + n].copy_from_slice(&b[..n]);
}

/// Append one note (4-byte padded name and descriptor).
pub fn encode_note(out: &mut Vec<u8>, name: &str, n_type: u32, desc: &[u8]) {
    let namesz = if name.is_empty() { 0 } else { name.len() + 1 };
    out.extend_from_slice(&(namesz as u32).to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&n_type.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    if namesz > 0 {
        out.push(0);
    }
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out.extend_from_slice(desc);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// The `NT_PRSTATUS` descriptor for `t`.
pub fn prstatus_desc(t: &Thread) -> Vec<u8> {
    let mut d = vec![0u8; PRSTATUS_SIZE];
    put_u32(&mut d, 0, u32::from(t.cursig)); // pr_info.si_signo
    put_u16(&mut d, 12, t.cursig);
    put_u32(&mut d, 32, t.tid);
    put_u32(&mut d, 36, t.ppid);
    put_u32(&mut d, 40, t.pgrp);
    put_u32(&mut d, 44, t.pgrp); // pr_sid
    for (k, v) in t.regs.to_array().iter().enumerate() {
        put_u64(&mut d, PRSTATUS_REGS + 8 * k, *v);
    }
    put_u32(&mut d, 328, 1); // pr_fpvalid
    d
}

/// The `NT_PRPSINFO` descriptor for `p`.
pub fn prpsinfo_desc(p: &ProcessInfo) -> Vec<u8> {
    let mut d = vec![0u8; PRPSINFO_SIZE];
    d[0] = p.state;
    d[1] = b'R';
    put_u64(&mut d, 8, 0x0040_0100); // pr_flag
    put_u32(&mut d, 16, p.uid);
    put_u32(&mut d, 20, p.gid);
    put_u32(&mut d, 24, p.pid);
    put_u32(&mut d, 28, p.ppid);
    put_u32(&mut d, 32, p.pid); // pgrp
    put_u32(&mut d, 36, p.ppid); // sid
    put_str(&mut d, 40, 16, &p.fname);
    put_str(&mut d, 56, 80, &p.psargs);
    d
}

/// The `NT_SIGINFO` descriptor for `s` (union word: the fault address, else the sender pid).
pub fn siginfo_desc(s: &SignalInfo) -> Vec<u8> {
    let mut d = vec![0u8; SIGINFO_SIZE];
    put_u32(&mut d, 0, s.signo as u32);
    put_u32(&mut d, 4, s.errno as u32);
    put_u32(&mut d, 8, s.code as u32);
    if let Some(a) = s.fault_addr {
        put_u64(&mut d, 16, a);
    } else if let Some(pid) = s.sender_pid {
        put_u32(&mut d, 16, pid);
    }
    d
}

/// The `NT_FILE` descriptor for `files` (page size [`PAGE_SIZE`]).
pub fn nt_file_desc(files: &[MappedFile]) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&(files.len() as u64).to_le_bytes());
    d.extend_from_slice(&PAGE_SIZE.to_le_bytes());
    for f in files {
        d.extend_from_slice(&f.start.to_le_bytes());
        d.extend_from_slice(&f.end.to_le_bytes());
        d.extend_from_slice(&(f.file_offset / PAGE_SIZE).to_le_bytes());
    }
    for f in files {
        d.extend_from_slice(f.path.as_bytes());
        d.push(0);
    }
    d
}

/// The `NT_AUXV` descriptor for `pairs`, with the terminating `AT_NULL`.
pub fn auxv_desc(pairs: &[(u64, u64)]) -> Vec<u8> {
    let mut d = Vec::new();
    for (k, v) in pairs.iter().chain(std::iter::once(&(0, 0))) {
        d.extend_from_slice(&k.to_le_bytes());
        d.extend_from_slice(&v.to_le_bytes());
    }
    d
}

impl CoreBuilder {
    /// An empty kernel-style x86-64 core.
    pub fn new() -> CoreBuilder {
        CoreBuilder {
            style: Style::Kernel,
            e_type: 4,
            machine: 62,
            extended_phnum: false,
            segments: Vec::new(),
            threads: Vec::new(),
            process: None,
            signal: None,
            files: Vec::new(),
            auxv: Vec::new(),
            extra_notes: Vec::new(),
        }
    }

    /// Imitate this writer's layout.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Override `e_type` (4 = `ET_CORE`; 2 = `ET_EXEC`, 3 = `ET_DYN`, ...).
    pub fn e_type(mut self, e_type: u16) -> Self {
        self.e_type = e_type;
        self
    }

    /// Override `e_machine` (62 = x86-64).
    pub fn machine(mut self, machine: u16) -> Self {
        self.machine = machine;
        self
    }

    /// Write `e_phnum = PN_XNUM` and the real count in section 0's `sh_info`.
    pub fn extended_phnum(mut self, on: bool) -> Self {
        self.extended_phnum = on;
        self
    }

    /// A `PT_LOAD` at `vaddr` of `memsz` bytes whose first `bytes.len()` bytes are saved.
    pub fn segment(mut self, vaddr: u64, perms: Perms, bytes: &[u8], memsz: u64) -> Self {
        self.segments.push(SegmentSpec {
            vaddr,
            perms,
            bytes: bytes.to_vec(),
            memsz,
        });
        self
    }

    /// A thread with `tid` and `regs` (ppid, pgrp, cursig 0).
    pub fn thread(self, tid: u32, regs: Registers) -> Self {
        self.thread_info(Thread {
            tid,
            ppid: 0,
            pgrp: 0,
            cursig: 0,
            regs,
        })
    }

    /// A thread, all fields given.
    pub fn thread_info(mut self, t: Thread) -> Self {
        self.threads.push(t);
        self
    }

    /// The `NT_PRPSINFO` note.
    pub fn prpsinfo(mut self, p: ProcessInfo) -> Self {
        self.process = Some(p);
        self
    }

    /// The `NT_SIGINFO` note (once for a kernel core; per thread for a gdb core).
    pub fn siginfo(mut self, s: SignalInfo) -> Self {
        self.signal = Some(s);
        self
    }

    /// An `NT_FILE` entry (`file_offset` should be a multiple of [`PAGE_SIZE`]).
    pub fn file(mut self, f: MappedFile) -> Self {
        self.files.push(f);
        self
    }

    /// An `NT_AUXV` entry (the terminating `AT_NULL` is added by `build`).
    pub fn auxv(mut self, key: u64, value: u64) -> Self {
        self.auxv.push((key, value));
        self
    }

    /// Any note, written after the others, verbatim.
    pub fn note(mut self, name: &str, n_type: u32, desc: Vec<u8>) -> Self {
        self.extra_notes.push((name.to_owned(), n_type, desc));
        self
    }

    /// The notes, in this style's order.
    fn notes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let fpregs = vec![0u8; 512];
        let xstate = vec![0u8; 64];
        let process_notes = |out: &mut Vec<u8>, with_signal: bool| {
            if with_signal {
                if let Some(s) = &self.signal {
                    encode_note(out, "CORE", NT_SIGINFO, &siginfo_desc(s));
                }
            }
            if !self.auxv.is_empty() {
                encode_note(out, "CORE", NT_AUXV, &auxv_desc(&self.auxv));
            }
            if !self.files.is_empty() {
                encode_note(out, "CORE", NT_FILE, &nt_file_desc(&self.files));
            }
        };
        match self.style {
            Style::Kernel => {
                let mut threads = self.threads.iter();
                let first = threads.next();
                if let Some(t) = first {
                    encode_note(&mut out, "CORE", NT_PRSTATUS, &prstatus_desc(t));
                }
                if let Some(p) = &self.process {
                    encode_note(&mut out, "CORE", NT_PRPSINFO, &prpsinfo_desc(p));
                }
                process_notes(&mut out, true);
                if first.is_some() {
                    encode_note(&mut out, "CORE", NT_FPREGSET, &fpregs);
                    encode_note(&mut out, "LINUX", NT_X86_XSTATE, &xstate);
                }
                for t in threads {
                    encode_note(&mut out, "CORE", NT_PRSTATUS, &prstatus_desc(t));
                    encode_note(&mut out, "CORE", NT_FPREGSET, &fpregs);
                    encode_note(&mut out, "LINUX", NT_X86_XSTATE, &xstate);
                }
            }
            Style::Gdb => {
                if let Some(p) = &self.process {
                    encode_note(&mut out, "CORE", NT_PRPSINFO, &prpsinfo_desc(p));
                }
                for t in &self.threads {
                    encode_note(&mut out, "CORE", NT_PRSTATUS, &prstatus_desc(t));
                    encode_note(&mut out, "CORE", NT_FPREGSET, &fpregs);
                    if let Some(s) = &self.signal {
                        encode_note(&mut out, "CORE", NT_SIGINFO, &siginfo_desc(s));
                    }
                }
                process_notes(&mut out, false);
            }
        }
        for (name, n_type, desc) in &self.extra_notes {
            encode_note(&mut out, name, *n_type, desc);
        }
        out
    }

    /// The core's bytes.
    pub fn build(&self) -> Vec<u8> {
        self.build_with_layout().0
    }

    /// The core's bytes, and where the parts are.
    pub fn build_with_layout(&self) -> (Vec<u8>, BuiltLayout) {
        let notes = self.notes();
        let phnum = 1 + self.segments.len();
        let phoff = 64usize;
        let ph_end = phoff + 56 * phnum;
        let gdb = self.style == Style::Gdb;
        let with_sections = gdb || self.extended_phnum;

        // Lay out: [ehdr][phdrs] then notes and segment data in the style's order.
        let mut layout = BuiltLayout {
            phdrs_offset: phoff as u64,
            ..BuiltLayout::default()
        };
        let mut body: Vec<u8> = Vec::new(); // Everything after the program headers.
        let at = |body: &Vec<u8>| (ph_end + body.len()) as u64;
        let put_segments = |body: &mut Vec<u8>, offsets: &mut Vec<u64>| {
            for s in &self.segments {
                while body.len() % 8 != 0 {
                    body.push(0);
                }
                offsets.push(at(body));
                body.extend_from_slice(&s.bytes);
            }
        };
        if gdb {
            put_segments(&mut body, &mut layout.segment_offsets);
            layout.notes_offset = at(&body);
            body.extend_from_slice(&notes);
        } else {
            layout.notes_offset = at(&body);
            body.extend_from_slice(&notes);
            put_segments(&mut body, &mut layout.segment_offsets);
        }
        layout.notes_size = notes.len() as u64;
        while body.len() % 8 != 0 {
            body.push(0);
        }
        let shoff = if with_sections { at(&body) } else { 0 };

        let mut out = vec![0u8; ph_end];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = 2; // ELFCLASS64
        out[5] = 1; // ELFDATA2LSB
        out[6] = 1; // EV_CURRENT
        put_u16(&mut out, 16, self.e_type);
        put_u16(&mut out, 18, self.machine);
        put_u32(&mut out, 20, 1);
        put_u64(&mut out, 32, phoff as u64);
        put_u64(&mut out, 40, shoff);
        put_u16(&mut out, 52, 64);
        put_u16(&mut out, 54, 56);
        let phnum_field = if self.extended_phnum {
            0xffff
        } else {
            phnum as u16
        };
        put_u16(&mut out, 56, phnum_field);
        put_u16(&mut out, 58, if with_sections { 64 } else { 0 });
        put_u16(&mut out, 60, if with_sections { 1 } else { 0 });

        // PT_NOTE first, like both writers.
        let ph = |out: &mut Vec<u8>,
                  i: usize,
                  p_type: u32,
                  flags: u32,
                  off: u64,
                  vaddr: u64,
                  filesz: u64,
                  memsz: u64,
                  align: u64| {
            let b = phoff + 56 * i;
            put_u32(out, b, p_type);
            put_u32(out, b + 4, flags);
            put_u64(out, b + 8, off);
            put_u64(out, b + 16, vaddr);
            put_u64(out, b + 32, filesz);
            put_u64(out, b + 40, memsz);
            put_u64(out, b + 48, align);
        };
        let note_align = if gdb { 1 } else { 4 };
        ph(
            &mut out,
            0,
            4,
            0,
            layout.notes_offset,
            0,
            notes.len() as u64,
            0,
            note_align,
        );
        for (i, s) in self.segments.iter().enumerate() {
            let flags = u32::from(s.perms.exec)
                | u32::from(s.perms.write) << 1
                | u32::from(s.perms.read) << 2;
            let align = if gdb { 1 } else { 0x1000 };
            let off = layout.segment_offsets[i];
            ph(
                &mut out,
                i + 1,
                1,
                flags,
                off,
                s.vaddr,
                s.bytes.len() as u64,
                s.memsz,
                align,
            );
        }
        out.extend_from_slice(&body);
        if with_sections {
            let mut sh = [0u8; 64];
            if self.extended_phnum {
                put_u32(&mut sh, 44, phnum as u32); // sh_info
            }
            out.extend_from_slice(&sh);
        }
        (out, layout)
    }
}
