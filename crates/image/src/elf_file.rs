//! An ELF file on disk (the executable or a shared library) that the process had mapped.
//!
//! The file is memory-mapped once and shared with the address space, which uses it to fill the
//! pages a kernel core leaves out (read-only text and `.rodata`). Symbols are parsed lazily:
//! node's `.symtab` has over 100 000 entries, and `info` does not need them all.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use object::{Object, ObjectSegment};

use coroner_corefile::Perms;

use crate::error::ImageError;
use crate::symbols::SymbolTable;

const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;

/// A loadable segment of the file: `[vaddr, vaddr + filesz)` comes from `[offset, offset + filesz)`.
#[derive(Clone, Copy, Debug)]
pub struct FileSegment {
    /// Link-time virtual address.
    pub vaddr: u64,
    /// Size in memory.
    pub memsz: u64,
    /// Offset of the segment's bytes in the file.
    pub offset: u64,
    /// Bytes present in the file.
    pub filesz: u64,
    /// ELF `p_flags`: PF_X 1, PF_W 2, PF_R 4.
    pub flags: u32,
}

/// One section of an ELF file: its link-time address and its bytes in the file.
#[derive(Clone, Copy, Debug)]
pub struct ElfSection<'a> {
    /// Link-time address (0 for sections that are not loaded).
    pub address: u64,
    /// The section's bytes.
    pub data: &'a [u8],
}

/// A mapped ELF file, parsed just enough to identify it and read from it.
pub struct ElfFile {
    path: PathBuf,
    data: memmap2::Mmap,
    build_id: Option<Vec<u8>>,
    is_exec: bool,
    segments: Vec<FileSegment>,
    symbols: OnceLock<SymbolTable>,
}

impl std::fmt::Debug for ElfFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElfFile")
            .field("path", &self.path)
            .field("build_id", &self.build_id.as_deref().map(hex))
            .finish_non_exhaustive()
    }
}

impl ElfFile {
    /// Maps and parses `path`. Fails with a one-line reason when the file is missing or not ELF.
    pub fn open(path: &Path) -> Result<ElfFile, ImageError> {
        let io = |source: std::io::Error| ImageError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            return Err(ImageError::IsDirectory {
                path: path.to_owned(),
            });
        }
        if let Some(kind) = coroner_corefile::special_file_kind(&meta.file_type()) {
            return Err(ImageError::NotRegular {
                path: path.to_owned(),
                kind,
            });
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let data = map(&file).map_err(io)?;
        let parsed = object::File::parse(&data[..]).map_err(|e| ImageError::NotElf {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if parsed.format() != object::BinaryFormat::Elf {
            return Err(ImageError::NotElf {
                path: path.to_owned(),
                reason: "not an ELF file".into(),
            });
        }
        if parsed.kind() == object::ObjectKind::Core {
            return Err(ImageError::NotElf {
                path: path.to_owned(),
                reason: "a core dump, not an executable: the core is the first argument".into(),
            });
        }
        let build_id = parsed.build_id().ok().flatten().map(<[u8]>::to_vec);
        let is_exec = parsed.kind() == object::ObjectKind::Executable;
        let segments = parsed
            .segments()
            .map(|s| {
                let (offset, filesz) = s.file_range();
                let flags = match s.flags() {
                    object::SegmentFlags::Elf { p_flags, .. } => p_flags.0,
                    _ => 0,
                };
                FileSegment {
                    vaddr: s.address(),
                    memsz: s.size(),
                    offset,
                    filesz,
                    flags,
                }
            })
            .collect();
        Ok(ElfFile {
            path: path.to_owned(),
            data,
            build_id,
            is_exec,
            segments,
            symbols: OnceLock::new(),
        })
    }

    /// Where the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file's bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The GNU build id, if the file has one.
    pub fn build_id(&self) -> Option<&[u8]> {
        self.build_id.as_deref()
    }

    /// True for a fixed-address (ET_EXEC) executable, whose addresses need no load bias.
    pub fn is_fixed_address(&self) -> bool {
        self.is_exec
    }

    /// The loadable segments, in file order.
    pub fn segments(&self) -> &[FileSegment] {
        &self.segments
    }

    /// The permissions the loader gave the segment holding file offset `offset`; read-only when
    /// no segment holds it.
    pub fn perms_at_offset(&self, offset: u64) -> Perms {
        self.segments
            .iter()
            .find(|s| offset >= s.offset && offset < s.offset.saturating_add(s.filesz))
            .map_or(Perms::R, |s| Perms {
                read: s.flags & PF_R != 0,
                write: s.flags & PF_W != 0,
                exec: s.flags & PF_X != 0,
            })
    }

    /// The link-time address of the first byte of the file (the segment at file offset 0).
    /// Used to compute the load bias from where the process mapped offset 0.
    pub fn first_vaddr(&self) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| s.offset == 0)
            .map(|s| s.vaddr)
    }

    /// The symbol tables (`.symtab` and `.dynsym` merged), parsed on first use.
    pub fn symbols(&self) -> &SymbolTable {
        self.symbols.get_or_init(|| SymbolTable::parse(&self.data))
    }

    /// The bytes and link-time address of the section called `name` (`.eh_frame`), when the
    /// file has it with contents stored uncompressed (not `SHT_NOBITS`, as a separate debug
    /// file's copies of loadable sections are).
    pub fn section(&self, name: &str) -> Option<ElfSection<'_>> {
        use object::ObjectSection;
        let parsed = object::File::parse(&self.data[..]).ok()?;
        let section = parsed.section_by_name(name)?;
        let range = section.compressed_file_range().ok()?;
        if range.format != object::CompressionFormat::None {
            return None;
        }
        let start = usize::try_from(range.offset).ok()?;
        let len = usize::try_from(range.compressed_size).ok()?;
        let data = self.data.get(start..start.checked_add(len)?)?;
        if data.is_empty() {
            return None;
        }
        Some(ElfSection {
            address: section.address(),
            data,
        })
    }

    /// Reads `len` bytes at link-time address `vaddr` from the file's loadable segments.
    /// Bytes of `.bss` (beyond a segment's file size) read as zero. `None` if not in any segment.
    pub fn read_static(&self, vaddr: u64, len: usize) -> Option<Vec<u8>> {
        let seg = self.segments.iter().find(|s| {
            vaddr >= s.vaddr
                && vaddr
                    .checked_add(len as u64)
                    .is_some_and(|end| end <= s.vaddr.saturating_add(s.memsz))
        })?;
        let mut out = vec![0u8; len];
        let rel = vaddr - seg.vaddr;
        if rel < seg.filesz {
            let n = (seg.filesz - rel).min(len as u64) as usize;
            let start = usize::try_from(seg.offset.checked_add(rel)?).ok()?;
            let bytes = self.data.get(start..start.checked_add(n)?)?;
            out[..n].copy_from_slice(bytes);
        }
        Some(out)
    }

    /// Reads a little-endian `i32` at a link-time address (for `v8dbg_*` and similar constants).
    pub fn read_static_i32(&self, vaddr: u64) -> Option<i32> {
        let b = self.read_static(vaddr, 4)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a NUL-terminated string at a link-time address, up to `max` bytes.
    pub fn read_static_cstr(&self, vaddr: u64, max: usize) -> Option<String> {
        let seg = self
            .segments
            .iter()
            .find(|s| vaddr >= s.vaddr && vaddr < s.vaddr.saturating_add(s.filesz))?;
        let start = usize::try_from(seg.offset + (vaddr - seg.vaddr)).ok()?;
        let end = usize::try_from(seg.offset + seg.filesz)
            .ok()?
            .min(start.saturating_add(max));
        let bytes = self.data.get(start..end)?;
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Some(String::from_utf8_lossy(&bytes[..len]).into_owned())
    }
}

/// Lower-case hex of a byte string (build ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Maps a file read-only.
#[allow(unsafe_code)]
fn map(file: &std::fs::File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and every access is bounds-checked against its length.
    // If another process truncates the file while we run we may get SIGBUS; that is the accepted
    // cost of not copying gigabytes, as for every debugger that maps its inputs.
    unsafe { memmap2::Mmap::map(file) }
}
