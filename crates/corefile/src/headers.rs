//! The ELF header and program headers of a core: validation (magic, class, endianness,
//! machine, type, truncation, overlaps) and the list of `PT_LOAD` segments and `PT_NOTE` ranges.
//!
//! Uses the `object` crate's ELF64 header types for field access, with our own checks first so
//! every failure becomes a precise [`OpenError`] (in particular [`OpenError::Truncated`] wherever a
//! file was cut).

use object::elf::{
    FileHeader64, ProgramHeader64, SectionHeader64, ELFCLASS32, ELFCLASS64, ELFDATA2LSB,
    ELFDATA2MSB, ELFMAG, ET_CORE, ET_DYN, ET_EXEC, ET_NONE, ET_REL, EV_CURRENT, PF_R, PF_W, PF_X,
    PN_XNUM, PT_LOAD, PT_NOTE,
};
use object::read::elf::{FileHeader, ProgramHeader};
use object::{LittleEndian as LE, ReadRef};

use crate::error::OpenError;
use crate::space::Perms;

/// Size of `Elf64_Ehdr`.
pub(crate) const EHDR_SIZE: u64 = 64;
/// Size of `Elf64_Phdr`.
pub(crate) const PHDR_SIZE: u64 = 56;
/// Size of `Elf64_Shdr`.
pub(crate) const SHDR_SIZE: u64 = 64;

/// A `PT_LOAD` program header: one mapping of the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First address of the mapping.
    pub vaddr: u64,
    /// Size of the mapping in the process.
    pub memsz: u64,
    /// Where the saved bytes start in the core.
    pub file_offset: u64,
    /// How many bytes of the mapping the core holds (from `vaddr`); `<= memsz`.
    pub filesz: u64,
    /// Protection in the process.
    pub perms: Perms,
}

/// Where a `PT_NOTE` segment is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NoteRange {
    pub offset: u64,
    pub size: u64,
    pub align: u64,
}

/// What the headers say.
#[derive(Debug)]
pub(crate) struct Layout {
    /// `PT_LOAD`s with `p_memsz > 0`, sorted by `vaddr`, not overlapping.
    pub segments: Vec<Segment>,
    /// `PT_NOTE`s in program header order.
    pub notes: Vec<NoteRange>,
    /// `(expected, actual)` file sizes when the file is shorter than its headers say but
    /// still holds them and every note: the segments were cut to what the file holds.
    pub truncated: Option<(u64, u64)>,
}

fn malformed(what: &'static str, offset: u64) -> OpenError {
    OpenError::MalformedHeaders { what, offset }
}

fn machine_name(m: u16) -> &'static str {
    match m {
        3 => "i386",
        8 => "MIPS",
        20 => "PowerPC",
        21 => "PowerPC64",
        22 => "s390",
        40 => "ARM",
        183 => "AArch64",
        243 => "RISC-V",
        258 => "LoongArch",
        _ => "unknown",
    }
}

/// The compression format (and a command to undo it) whose magic `data` starts with.
fn compression(data: &[u8]) -> Option<(&'static str, &'static str)> {
    const MAGICS: [(&[u8], &str, &str); 5] = [
        (b"\x28\xb5\x2f\xfd", "zstd", "zstd -d FILE"),
        (b"\xfd7zXZ\x00", "xz", "xz -dk FILE"),
        (b"\x1f\x8b", "gzip", "gunzip -k FILE"),
        (b"\x04\x22\x4d\x18", "lz4", "lz4 -d FILE"),
        (b"BZh", "bzip2", "bunzip2 -k FILE"),
    ];
    MAGICS
        .iter()
        .find(|(magic, _, _)| data.starts_with(magic))
        .map(|&(_, format, tool)| (format, tool))
}

/// Parse and validate the headers of `data`; `file` names it in messages.
pub(crate) fn parse(data: &[u8], file: &str) -> Result<Layout, OpenError> {
    let len = data.len() as u64;
    let file_s = || file.to_owned();
    if data.is_empty() {
        return Err(OpenError::Empty { file: file_s() });
    }
    if data.get(..4) != Some(&ELFMAG[..]) {
        if let Some((format, tool)) = compression(data) {
            return Err(OpenError::Compressed {
                file: file_s(),
                format,
                tool,
            });
        }
        return Err(OpenError::NotElf { file: file_s() });
    }
    let unsupported = |what: String| OpenError::Unsupported {
        file: file_s(),
        what,
    };
    match data.get(4).copied() {
        None => {}
        Some(c) if c == ELFCLASS64.0 => {}
        Some(c) if c == ELFCLASS32.0 => return Err(unsupported("32-bit ELF (ELFCLASS32)".into())),
        Some(c) => return Err(unsupported(format!("unknown ELF class {c}"))),
    }
    match data.get(5).copied() {
        None => {}
        Some(d) if d == ELFDATA2LSB.0 => {}
        Some(d) if d == ELFDATA2MSB.0 => return Err(unsupported("big-endian ELF".into())),
        Some(d) => return Err(unsupported(format!("unknown ELF data encoding {d}"))),
    }
    if let Some(v) = data.get(6) {
        if *v != EV_CURRENT.0 {
            return Err(malformed("ELF ident version is not 1 (EV_CURRENT)", 6));
        }
    }
    if len < EHDR_SIZE {
        return Err(OpenError::Truncated {
            expected: EHDR_SIZE,
            actual: len,
        });
    }
    let header =
        FileHeader64::<LE>::parse(data).map_err(|_| malformed("unreadable ELF header", 0))?;
    let e = LE;

    let e_type = header.e_type(e);
    if e_type != ET_CORE {
        let kind = match e_type {
            ET_EXEC => "EXEC".to_owned(),
            ET_DYN => "DYN".to_owned(),
            ET_REL => "REL".to_owned(),
            ET_NONE => "NONE".to_owned(),
            other => format!("{:#x}", other.0),
        };
        return Err(OpenError::NotCore {
            file: file_s(),
            kind,
        });
    }
    let machine = header.e_machine(e).0;
    if machine != object::elf::EM_X86_64.0 {
        return Err(unsupported(format!(
            "machine {} ({machine})",
            machine_name(machine)
        )));
    }

    // Section header table: only its extent matters (gdb writes one; the kernel does not),
    // plus section 0 when e_phnum overflows.
    let shoff = header.e_shoff(e);
    let e_shnum = u64::from(header.e_shnum(e));
    let shentsize = u64::from(header.e_shentsize(e));
    let sh_end = if shoff == 0 {
        0
    } else {
        // e_shnum == 0 means the count is in section 0: at least that one exists.
        e_shnum
            .max(1)
            .checked_mul(if shentsize == 0 { SHDR_SIZE } else { shentsize })
            .and_then(|n| n.checked_add(shoff))
            .ok_or_else(|| malformed("section header table extent overflows", 0x28))?
    };

    let phoff = header.e_phoff(e);
    let phnum = if header.e_phnum(e) == PN_XNUM {
        if shoff == 0 {
            return Err(malformed(
                "e_phnum is PN_XNUM but there is no section header 0",
                0x38,
            ));
        }
        let sh0_end = shoff
            .checked_add(SHDR_SIZE)
            .ok_or_else(|| malformed("e_shoff overflows", 0x28))?;
        if sh0_end > len {
            return Err(OpenError::Truncated {
                expected: sh0_end,
                actual: len,
            });
        }
        let sh0: &SectionHeader64<LE> = data
            .read_at(shoff)
            .map_err(|_| malformed("unreadable section header 0", shoff))?;
        u64::from(sh0.sh_info.get(e))
    } else {
        u64::from(header.e_phnum(e))
    };
    if phoff == 0 || phnum == 0 {
        return Err(malformed("the core has no program headers", 0x20));
    }
    if u64::from(header.e_phentsize(e)) != PHDR_SIZE {
        return Err(malformed("e_phentsize is not 56 (sizeof Elf64_Phdr)", 0x36));
    }
    let ph_end = phnum
        .checked_mul(PHDR_SIZE)
        .and_then(|n| n.checked_add(phoff))
        .ok_or_else(|| malformed("program header table extent overflows", 0x20))?;
    if ph_end > len {
        return Err(OpenError::Truncated {
            expected: ph_end,
            actual: len,
        });
    }
    let count = usize::try_from(phnum).map_err(|_| malformed("too many program headers", 0x38))?;
    let phdrs: &[ProgramHeader64<LE>] = data
        .read_slice_at(phoff, count)
        .map_err(|_| malformed("unreadable program header table", phoff))?;

    let mut expected = EHDR_SIZE.max(ph_end).max(sh_end);
    // (segment, offset of its program header), for overlap messages.
    let mut loads: Vec<(Segment, u64)> = Vec::new();
    let mut notes = Vec::new();
    for (i, ph) in phdrs.iter().enumerate() {
        // i < count and phoff + count * 56 did not overflow.
        let at = phoff + i as u64 * PHDR_SIZE;
        let p_type = ph.p_type(e);
        let (offset, filesz, memsz, vaddr) =
            (ph.p_offset(e), ph.p_filesz(e), ph.p_memsz(e), ph.p_vaddr(e));
        if filesz > 0 {
            let end = offset
                .checked_add(filesz)
                .ok_or_else(|| malformed("p_offset + p_filesz overflows", at))?;
            expected = expected.max(end);
        }
        if p_type == PT_LOAD {
            if filesz > memsz {
                return Err(malformed("PT_LOAD has p_filesz > p_memsz", at));
            }
            if memsz == 0 {
                continue; // Maps nothing.
            }
            if vaddr.checked_add(memsz).is_none() {
                return Err(malformed("PT_LOAD's p_vaddr + p_memsz overflows", at));
            }
            let flags = ph.p_flags(e).0;
            let perms = Perms {
                read: flags & PF_R.0 != 0,
                write: flags & PF_W.0 != 0,
                exec: flags & PF_X.0 != 0,
            };
            loads.push((
                Segment {
                    vaddr,
                    memsz,
                    file_offset: offset,
                    filesz,
                    perms,
                },
                at,
            ));
        } else if p_type == PT_NOTE && filesz > 0 {
            notes.push(NoteRange {
                offset,
                size: filesz,
                align: ph.p_align(e),
            });
        }
    }
    // A core cut short (the dump or the copy was interrupted) still opens when its headers
    // and notes are whole: the memory past the cut is missing, like memory the kernel did not
    // dump. A cut before them leaves nothing to go on.
    let mut truncated = None;
    if expected > len {
        let notes_whole = notes
            .iter()
            .all(|n| n.offset.checked_add(n.size).is_some_and(|end| end <= len));
        if !notes_whole || notes.is_empty() {
            return Err(OpenError::Truncated {
                expected,
                actual: len,
            });
        }
        for (segment, _) in &mut loads {
            segment.filesz = segment.filesz.min(len.saturating_sub(segment.file_offset));
        }
        truncated = Some((expected, len));
    }

    loads.sort_by_key(|(s, _)| s.vaddr);
    for w in loads.windows(2) {
        let (a, b) = (&w[0].0, &w[1]);
        // vaddr + memsz was checked above.
        if a.vaddr + a.memsz > b.0.vaddr {
            return Err(malformed("PT_LOAD segments overlap", b.1));
        }
    }
    Ok(Layout {
        segments: loads.into_iter().map(|(s, _)| s).collect(),
        notes,
        truncated,
    })
}
