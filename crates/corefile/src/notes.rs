//! The notes of a core's `PT_NOTE` segments, decoded into owned values: threads and their
//! registers (`NT_PRSTATUS`), the process (`NT_PRPSINFO`), the signal (`NT_SIGINFO`), the mapped
//! files (`NT_FILE`) and the auxiliary vector (`NT_AUXV`).
//!
//! Notes are walked with the `object` crate's note iterator; every descriptor is bounds-checked
//! here and anything inconsistent is an [`OpenError::MalformedNote`]. Notes of other types or
//! owners (`NT_FPREGSET`, `LINUX`/`NT_X86_XSTATE`, ...) are skipped. Descriptors longer than the
//! layout we read are accepted (newer kernels may append fields); shorter ones are errors.

use object::elf::{FileHeader64, NoteType, NT_AUXV, NT_FILE, NT_PRPSINFO, NT_PRSTATUS, NT_SIGINFO};
use object::read::elf::NoteIterator;
use object::LittleEndian;

use crate::error::OpenError;
use crate::registers::{Registers, REG_COUNT};

/// Size of x86-64 `struct elf_prstatus`.
pub(crate) const PRSTATUS_SIZE: usize = 336;
/// Offset of `pr_reg` in `struct elf_prstatus`.
pub(crate) const PRSTATUS_REGS: usize = 112;
/// Size of x86-64 `struct elf_prpsinfo`.
pub(crate) const PRPSINFO_SIZE: usize = 136;
/// Size of `siginfo_t`.
pub(crate) const SIGINFO_SIZE: usize = 128;

/// One thread of the process, from its `NT_PRSTATUS` note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    /// Thread id (`pr_pid`). The first thread's tid is the process id.
    pub tid: u32,
    /// Parent process id (`pr_ppid`; 0 in gdb's cores).
    pub ppid: u32,
    /// Process group (`pr_pgrp`; 0 in gdb's cores).
    pub pgrp: u32,
    /// Signal being delivered to this thread when the core was written (`pr_cursig`; 0 if none).
    pub cursig: u16,
    /// General-purpose registers (`pr_reg`).
    pub regs: Registers,
}

/// The process, from `NT_PRPSINFO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// `pr_state`: the kernel's numeric task state.
    pub state: u8,
    /// Executable name (`comm`, at most 15 bytes), cut at the first NUL, lossy UTF-8.
    pub fname: String,
    /// Start of the command line, arguments separated by spaces (at most 80 bytes), cut at the
    /// first NUL and trailing spaces removed, lossy UTF-8.
    pub psargs: String,
}

/// The signal that caused the dump, from `NT_SIGINFO`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalInfo {
    /// Signal number (`si_signo`).
    pub signo: i32,
    /// Signal code (`si_code`): > 0 if the kernel raised it (e.g. `SEGV_MAPERR` = 1), <= 0 if a
    /// process sent it (`SI_USER` = 0, `SI_TKILL` = -6, ...).
    pub code: i32,
    /// `si_errno`.
    pub errno: i32,
    /// Faulting address (`si_addr`), for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP raised by the
    /// kernel (`code > 0`).
    pub fault_addr: Option<u64>,
    /// Sending process (`si_pid`), for signals sent by a process (`code <= 0`).
    pub sender_pid: Option<u32>,
}

/// Linux x86-64 signal names, indexed by number.
const SIGNAL_NAMES: [&str; 32] = [
    "unknown",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// Signals whose kernel-raised siginfo carries a fault address.
const FAULT_SIGNALS: [i32; 5] = [
    4,  /* ILL */
    5,  /* TRAP */
    7,  /* BUS */
    8,  /* FPE */
    11, /* SEGV */
];

impl SignalInfo {
    /// The signal's name (`"SIGSEGV"`, `"SIGABRT"`, ...), or `"unknown"` for numbers outside
    /// 1..=31 (real-time signals included).
    pub fn name(&self) -> &'static str {
        signal_name(self.signo).unwrap_or("unknown")
    }
}

/// The name of Linux x86-64 signal `signo` (`"SIGSEGV"`), `None` outside 1..=31.
pub fn signal_name(signo: i32) -> Option<&'static str> {
    usize::try_from(signo)
        .ok()
        .filter(|&n| n > 0)
        .and_then(|n| SIGNAL_NAMES.get(n))
        .copied()
}

/// A file mapping of the process, from `NT_FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedFile {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Offset in the file of the byte mapped at `start` (the note's page offset × page size).
    pub file_offset: u64,
    /// Path of the file when the core was written (lossy UTF-8; may end in ` (deleted)`).
    pub path: String,
}

/// Everything decoded from the notes.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    pub threads: Vec<Thread>,
    pub process: Option<ProcessInfo>,
    pub signal: Option<SignalInfo>,
    pub files: Vec<MappedFile>,
    pub auxv: Vec<(u64, u64)>,
    /// `pr_info` of the first `NT_PRSTATUS` (signo, code, errno), for cores without `NT_SIGINFO`.
    first_prstatus_signal: Option<(i32, i32, i32)>,
    seen_prpsinfo: bool,
    seen_file: bool,
    seen_auxv: bool,
}

/// Little-endian reads from a descriptor whose length has already been checked. A short read
/// (impossible after the check) gives 0 rather than a panic.
fn u16_at(d: &[u8], off: usize) -> u16 {
    d.get(off..off + 2)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .unwrap_or(0)
}

fn u32_at(d: &[u8], off: usize) -> u32 {
    d.get(off..off + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

fn i32_at(d: &[u8], off: usize) -> i32 {
    u32_at(d, off) as i32
}

fn u64_at(d: &[u8], off: usize) -> u64 {
    d.get(off..off + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

/// `bytes` up to the first NUL, as lossy UTF-8.
fn c_string(bytes: &[u8]) -> String {
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..n]).into_owned()
}

/// Round `x` up to a multiple of `align` (a power of two).
fn align_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

impl Notes {
    /// Decode the notes of one `PT_NOTE` segment: `data` is its bytes, found at file offset
    /// `seg_offset`, with `p_align` `align`.
    pub(crate) fn parse_segment(
        &mut self,
        data: &[u8],
        seg_offset: u64,
        align: u64,
    ) -> Result<(), OpenError> {
        let mut iter = NoteIterator::<FileHeader64<LittleEndian>>::new(LittleEndian, align, data)
            .map_err(|_| OpenError::MalformedNote {
            offset: seg_offset,
            what: "PT_NOTE alignment (p_align) is not 0, 1, 2, 4 or 8",
        })?;
        // The iterator aligns like this (values below 4 mean 4).
        let step: u64 = if align == 8 { 8 } else { 4 };
        // Offset of the current note inside `data`, tracked for error messages.
        let mut pos: u64 = 0;
        // Each note takes at least 12 bytes, so this bounds the loop even if the iterator did not.
        for _ in 0..=data.len() / 12 {
            let offset = seg_offset.saturating_add(pos);
            let note = match iter.next() {
                Ok(Some(note)) => note,
                Ok(None) => return Ok(()),
                Err(_) => return Err(OpenError::MalformedNote {
                    offset,
                    what:
                        "note header, name or descriptor runs past the end of its PT_NOTE segment",
                }),
            };
            let namesz = u64::from(note.n_namesz(LittleEndian));
            let descsz = u64::from(note.n_descsz(LittleEndian));
            pos = align_up(12 + namesz, step)
                .and_then(|p| p.checked_add(descsz))
                .and_then(|p| align_up(p, step))
                .and_then(|p| p.checked_add(pos))
                .unwrap_or(u64::MAX);
            if note.name() == b"CORE" {
                self.core_note(note.n_type(LittleEndian), note.desc(), offset)?;
            }
        }
        Ok(())
    }

    /// Decode one note owned by `CORE`.
    fn core_note(&mut self, n_type: NoteType, desc: &[u8], offset: u64) -> Result<(), OpenError> {
        let short = |what| OpenError::MalformedNote { offset, what };
        match n_type {
            NT_PRSTATUS => {
                if desc.len() < PRSTATUS_SIZE {
                    return Err(short(
                        "NT_PRSTATUS is shorter than x86-64 elf_prstatus (336 bytes)",
                    ));
                }
                let mut regs = [0u64; REG_COUNT];
                for (k, slot) in regs.iter_mut().enumerate() {
                    *slot = u64_at(desc, PRSTATUS_REGS + 8 * k);
                }
                if self.threads.is_empty() {
                    self.first_prstatus_signal =
                        Some((i32_at(desc, 0), i32_at(desc, 4), i32_at(desc, 8)));
                }
                self.threads.push(Thread {
                    tid: u32_at(desc, 32),
                    ppid: u32_at(desc, 36),
                    pgrp: u32_at(desc, 40),
                    cursig: u16_at(desc, 12),
                    regs: Registers::from_array(regs),
                });
            }
            NT_PRPSINFO => {
                if desc.len() < PRPSINFO_SIZE {
                    return Err(short(
                        "NT_PRPSINFO is shorter than x86-64 elf_prpsinfo (136 bytes)",
                    ));
                }
                if !self.seen_prpsinfo {
                    self.seen_prpsinfo = true;
                    let psargs = c_string(&desc[56..136]);
                    self.process = Some(ProcessInfo {
                        pid: u32_at(desc, 24),
                        ppid: u32_at(desc, 28),
                        uid: u32_at(desc, 16),
                        gid: u32_at(desc, 20),
                        state: desc[0],
                        fname: c_string(&desc[40..56]),
                        psargs: psargs.trim_end_matches(' ').to_owned(),
                    });
                }
            }
            NT_SIGINFO => {
                if desc.len() < SIGINFO_SIZE {
                    return Err(short("NT_SIGINFO is shorter than siginfo_t (128 bytes)"));
                }
                if self.signal.is_none() {
                    self.signal = Some(signal_info(
                        i32_at(desc, 0),
                        i32_at(desc, 8),
                        i32_at(desc, 4),
                        u64_at(desc, 16),
                    ));
                }
            }
            NT_AUXV => {
                if desc.len() % 16 != 0 {
                    return Err(short(
                        "NT_AUXV is not a whole number of 16-byte (type, value) pairs",
                    ));
                }
                if !self.seen_auxv {
                    self.seen_auxv = true;
                    for pair in desc.chunks_exact(16) {
                        let key = u64_at(pair, 0);
                        if key == 0 {
                            break; // AT_NULL
                        }
                        self.auxv.push((key, u64_at(pair, 8)));
                    }
                }
            }
            NT_FILE if !self.seen_file => {
                self.seen_file = true;
                self.files = parse_nt_file(desc, offset)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Finish: fall back to the first `NT_PRSTATUS`'s `pr_info` when there was no `NT_SIGINFO`
    /// (kernels before 3.7 did not write it).
    pub(crate) fn finish(&mut self) {
        if self.signal.is_none() {
            if let Some((signo, code, errno)) = self.first_prstatus_signal {
                if signo != 0 {
                    self.signal = Some(SignalInfo {
                        signo,
                        code,
                        errno,
                        fault_addr: None,
                        sender_pid: None,
                    });
                }
            }
        }
    }
}

/// Build a [`SignalInfo`] from `si_signo`, `si_code`, `si_errno` and the first 8 bytes of the
/// siginfo union (offset 16).
fn signal_info(signo: i32, code: i32, errno: i32, union0: u64) -> SignalInfo {
    let sender_pid = (code <= 0).then_some(union0 as u32);
    let fault_addr = (code > 0 && FAULT_SIGNALS.contains(&signo)).then_some(union0);
    SignalInfo {
        signo,
        code,
        errno,
        fault_addr,
        sender_pid,
    }
}

/// Decode an `NT_FILE` descriptor: `count`, `page_size`, `count` × (start, end, pgoff), then
/// `count` NUL-terminated paths.
fn parse_nt_file(desc: &[u8], offset: u64) -> Result<Vec<MappedFile>, OpenError> {
    let bad = |what| OpenError::MalformedNote { offset, what };
    if desc.len() < 16 {
        return Err(bad("NT_FILE is shorter than its 16-byte header"));
    }
    let count = u64_at(desc, 0);
    let page_size = u64_at(desc, 8);
    if page_size == 0 {
        return Err(bad("NT_FILE page size is 0"));
    }
    let table_len = count
        .checked_mul(24)
        .and_then(|n| n.checked_add(16))
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= desc.len())
        .ok_or_else(|| bad("NT_FILE entry count does not fit in the note"))?;
    // table_len <= desc.len() bounds `count`, so this allocation is bounded by the file.
    let count = (table_len - 16) / 24;
    let mut files = Vec::with_capacity(count);
    let mut names = desc.get(table_len..).unwrap_or(&[]);
    for k in 0..count {
        let e = 16 + 24 * k;
        let (start, end, pgoff) = (u64_at(desc, e), u64_at(desc, e + 8), u64_at(desc, e + 16));
        if end < start {
            return Err(bad("NT_FILE entry ends before it starts"));
        }
        let file_offset = pgoff
            .checked_mul(page_size)
            .ok_or_else(|| bad("NT_FILE page offset × page size overflows"))?;
        let n = names
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| bad("NT_FILE has fewer NUL-terminated paths than entries"))?;
        let path = String::from_utf8_lossy(&names[..n]).into_owned();
        names = &names[n + 1..];
        files.push(MappedFile {
            start,
            end,
            file_offset,
            path,
        });
    }
    Ok(files)
}
