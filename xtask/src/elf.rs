//! Just enough of ELF core files to check a fresh fixture: its threads (`NT_PRSTATUS` notes:
//! thread id and current signal) and its memory segments. Reads only the headers and notes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Context, Error, Result};

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const NT_PRSTATUS: u32 = 1;
const PN_XNUM: u16 = 0xffff;

/// A thread of the core (one `NT_PRSTATUS` note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreThread {
    /// `pr_pid`: the thread id (the process id for the main thread).
    pub tid: u32,
    /// `pr_cursig`: the signal the thread was stopped by (6 for the aborting thread).
    pub signal: u16,
}

/// What a core file holds, in outline.
#[derive(Debug, Clone, Default)]
pub struct CoreSummary {
    /// One per thread, in note order.
    pub threads: Vec<CoreThread>,
    /// Number of `PT_LOAD` segments.
    pub segments: usize,
    /// Sum of the segments' memory sizes.
    pub memory: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(bytes)
}

fn read_at(file: &mut File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; len];
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// Reads the outline of an x86-64 little-endian ELF core file.
pub fn summarize(path: &Path) -> Result<CoreSummary> {
    let what = || format!("cannot read core {}", path.display());
    let mut file = File::open(path).context(what)?;
    let header = read_at(&mut file, 0, 64).context(what)?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 || u16_at(&header, 16) != 4 {
        return Err(Error::new(format!(
            "{} is not a 64-bit little-endian ELF core file",
            path.display()
        )));
    }
    let phoff = u64_at(&header, 0x20);
    let shoff = u64_at(&header, 0x28);
    let phentsize = usize::from(u16_at(&header, 0x36));
    let mut phnum = usize::from(u16_at(&header, 0x38));
    if phnum == usize::from(PN_XNUM) {
        // Too many segments for e_phnum: the count is in section header 0's sh_info.
        let section0 = read_at(&mut file, shoff, 64).context(what)?;
        phnum = u32_at(&section0, 0x2c) as usize;
    }
    if phentsize < 56 {
        return Err(Error::new(format!(
            "{}: bad program header size {phentsize}",
            path.display()
        )));
    }
    let headers = read_at(&mut file, phoff, phentsize * phnum).context(what)?;
    let mut summary = CoreSummary::default();
    for ph in headers.chunks_exact(phentsize) {
        match u32_at(ph, 0) {
            PT_LOAD => {
                summary.segments += 1;
                summary.memory += u64_at(ph, 0x28);
            }
            PT_NOTE => {
                let size = usize::try_from(u64_at(ph, 0x20))
                    .map_err(|_| Error::new("huge note segment"))?;
                let notes = read_at(&mut file, u64_at(ph, 0x08), size).context(what)?;
                read_threads(&notes, &mut summary.threads);
            }
            _ => {}
        }
    }
    Ok(summary)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Collects the `NT_PRSTATUS` notes of a note segment.
fn read_threads(notes: &[u8], threads: &mut Vec<CoreThread>) {
    let mut at = 0;
    while at + 12 <= notes.len() {
        let namesz = u32_at(notes, at) as usize;
        let descsz = u32_at(notes, at + 4) as usize;
        let kind = u32_at(notes, at + 8);
        let desc = at + 12 + align4(namesz);
        if desc + descsz > notes.len() {
            break;
        }
        // struct elf_prstatus (x86-64): si_signo, si_code, si_errno (3 x i32), pr_cursig (u16)
        // at 12, then pr_sigpend and pr_sighold (2 x u64), pr_pid (i32) at 32.
        if kind == NT_PRSTATUS && descsz >= 36 {
            threads.push(CoreThread {
                tid: u32_at(notes, desc + 32),
                signal: u16_at(notes, desc + 12),
            });
        }
        at = desc + align4(descsz);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(kind: u32, name: &[u8], desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend((name.len() as u32).to_le_bytes());
        out.extend((desc.len() as u32).to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(name);
        out.resize(align4(out.len()), 0);
        out.extend(desc);
        out.resize(align4(out.len()), 0);
        out
    }

    #[test]
    fn reads_prstatus_notes() {
        let mut prstatus = vec![0u8; 336];
        prstatus[12] = 6;
        prstatus[32..36].copy_from_slice(&4242u32.to_le_bytes());
        let mut notes = note(NT_PRSTATUS, b"CORE\0", &prstatus);
        notes.extend(note(3, b"CORE\0", &[0; 136])); // NT_PRPSINFO: ignored
        prstatus[12] = 0;
        prstatus[32..36].copy_from_slice(&4243u32.to_le_bytes());
        notes.extend(note(NT_PRSTATUS, b"CORE\0", &prstatus));
        let mut threads = Vec::new();
        read_threads(&notes, &mut threads);
        assert_eq!(
            threads,
            [
                CoreThread {
                    tid: 4242,
                    signal: 6
                },
                CoreThread {
                    tid: 4243,
                    signal: 0
                }
            ]
        );
    }
}
