//! The files the process had mapped (from the core's NT_FILE note), and which of them are ELF
//! modules we can find on this machine.
//!
//! A module is trusted only when its build id on disk equals the one in the core. Kernel cores keep
//! the first page of every ELF mapping (coredump_filter bit 4, on by default) precisely so that the
//! build id can be read back; we parse that page from core memory rather than trusting paths.

use std::path::Path;

use coroner_corefile::{AddressSpace, MappedFile};

use crate::elf_file::{hex, ElfFile};
use crate::symbols::Symbol;

/// How far a module's file on disk can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleStatus {
    /// The file's build id equals the core's.
    Matched,
    /// The file was used, but the core or the file has no build id to compare.
    Unverified,
    /// The file exists but is a different build; it is not used.
    Mismatch {
        /// Build id of the file on disk.
        file_id: String,
        /// Build id recorded in the core.
        core_id: String,
    },
    /// No file at that path on this machine.
    Missing,
    /// The file exists but could not be read as ELF.
    Unreadable(String),
    /// No file was looked for: the core was opened alone ([`OpenOptions::core_only`]).
    ///
    /// [`OpenOptions::core_only`]: crate::OpenOptions::core_only
    NotOpened,
}

impl ModuleStatus {
    /// True when the module's file is used to fill memory and resolve symbols.
    pub fn is_usable(&self) -> bool {
        matches!(self, ModuleStatus::Matched | ModuleStatus::Unverified)
    }

    /// A short word for tables and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ModuleStatus::Matched => "matched",
            ModuleStatus::Unverified => "unverified",
            ModuleStatus::Mismatch { .. } => "mismatch",
            ModuleStatus::Missing => "missing",
            ModuleStatus::Unreadable(_) => "unreadable",
            ModuleStatus::NotOpened => "not opened",
        }
    }
}

/// One mapped ELF file: the executable or a shared library.
#[derive(Debug)]
pub struct Module {
    /// The path as the core names it.
    pub path: String,
    /// The file's mappings, in address order.
    pub mappings: Vec<MappedFile>,
    /// Where file offset 0 is mapped (the module's base address).
    pub base: u64,
    /// The build id read from the core's copy of the ELF header page, if it kept one.
    pub core_build_id: Option<Vec<u8>>,
    /// The file on disk, when it is usable.
    pub file: Option<ElfFile>,
    /// A separate debug file with the same build id (`/usr/lib/debug/.build-id/xx/yyyy.debug`),
    /// when one is installed: its full symbol table names the static functions a stripped
    /// library's `.dynsym` lacks. Never used to fill memory (its loadable sections are empty).
    pub debug_file: Option<ElfFile>,
    /// How far the file can be trusted.
    pub status: ModuleStatus,
}

impl Module {
    /// Runtime address minus link-time address.
    pub fn bias(&self) -> u64 {
        match &self.file {
            Some(f) if !f.is_fixed_address() => {
                self.base.wrapping_sub(f.first_vaddr().unwrap_or(0))
            }
            _ => 0,
        }
    }

    /// True when `addr` falls in one of the module's mappings.
    pub fn contains(&self, addr: u64) -> bool {
        self.mappings
            .iter()
            .any(|m| addr >= m.start && addr < m.end)
    }

    /// The file name without directories, for compact display.
    pub fn short_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The mapping holding `addr`.
    pub fn mapping_at(&self, addr: u64) -> Option<&MappedFile> {
        self.mappings
            .iter()
            .find(|m| addr >= m.start && addr < m.end)
    }

    /// The offset in the module's file of the byte mapped at `addr`.
    pub fn file_offset_of(&self, addr: u64) -> Option<u64> {
        let m = self.mapping_at(addr)?;
        m.file_offset.checked_add(addr - m.start)
    }

    /// The link-time address of the byte mapped at runtime address `addr`: through the mapping
    /// that holds it, its file offset, and the file's loadable segment holding that offset.
    ///
    /// This works for every mapping of the file, including a second mapping of the same bytes
    /// at a far address (Node 22+ maps the embedded builtins of the executable again into V8's
    /// code range). `None` when `addr` is not mapped from this module or its file is unusable.
    pub fn link_address(&self, addr: u64) -> Option<u64> {
        let offset = self.file_offset_of(addr)?;
        let file = self.file.as_ref()?;
        let seg = file.segments().iter().find(|s| {
            s.filesz > 0 && offset >= s.offset && offset < s.offset.saturating_add(s.filesz)
        })?;
        seg.vaddr.checked_add(offset - seg.offset)
    }

    /// The function symbol holding link-time address `vaddr`, with `vaddr`'s offset in it: from
    /// the separate debug file when there is one (its full `.symtab`), else from the file's own
    /// tables.
    pub fn function_at(&self, vaddr: u64) -> Option<(&Symbol, u64)> {
        let in_debug = self
            .debug_file
            .as_ref()
            .and_then(|f| f.symbols().function_at(vaddr));
        in_debug.or_else(|| self.file.as_ref()?.symbols().function_at(vaddr))
    }

    /// Every name given to the function starting at link-time address `vaddr` (aliases such as
    /// `raise` and `__GI_raise`), from the debug file and the file.
    pub fn names_at(&self, vaddr: u64) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for file in [self.debug_file.as_ref(), self.file.as_ref()]
            .into_iter()
            .flatten()
        {
            for s in file.symbols().at(vaddr) {
                if !names.contains(&s.name.as_str()) {
                    names.push(&s.name);
                }
            }
        }
        names
    }
}

/// Groups the NT_FILE entries by path and keeps those that are ELF files (by the magic in core
/// memory, or on disk when the core did not keep the header page).
pub fn discover(files: &[MappedFile], memory: &AddressSpace) -> Vec<Module> {
    let mut modules: Vec<Module> = Vec::new();
    for m in files {
        if let Some(module) = modules.iter_mut().find(|x| x.path == m.path) {
            module.mappings.push(m.clone());
            continue;
        }
        modules.push(Module {
            path: m.path.clone(),
            mappings: vec![m.clone()],
            base: 0,
            core_build_id: None,
            file: None,
            debug_file: None,
            status: ModuleStatus::Missing,
        });
    }
    modules.retain_mut(|module| {
        module.mappings.sort_by_key(|m| m.start);
        let header = module.mappings.iter().find(|m| m.file_offset == 0);
        let Some(header) = header else {
            return false;
        };
        module.base = header.start;
        match memory.bytes(module.base, 4) {
            Ok(magic) => {
                if magic != b"\x7fELF" {
                    return false;
                }
                module.core_build_id = build_id_in_memory(memory, module.base);
                true
            }
            Err(_) => file_has_elf_magic(Path::new(&module.path)),
        }
    });
    modules
}

/// Opens the module's file from `path` (the core's path, or one the user gave) and decides
/// whether it can be trusted.
pub fn attach(module: &mut Module, path: &Path) {
    match ElfFile::open(path) {
        Ok(file) => {
            module.status = match (module.core_build_id.as_deref(), file.build_id()) {
                (Some(core), Some(disk)) if core == disk => ModuleStatus::Matched,
                (Some(core), Some(disk)) => ModuleStatus::Mismatch {
                    file_id: hex(disk),
                    core_id: hex(core),
                },
                _ => ModuleStatus::Unverified,
            };
            if module.status.is_usable() {
                module.file = Some(file);
            }
        }
        Err(crate::ImageError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            module.status = ModuleStatus::Missing;
        }
        Err(e) => module.status = ModuleStatus::Unreadable(e.cause()),
    }
}

fn file_has_elf_magic(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    // Only a regular file is opened (a FIFO would block).
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .is_ok()
        && &magic == b"\x7fELF"
}

const PT_NOTE: u32 = 4;
const NT_GNU_BUILD_ID: u32 = 3;
/// ELF files have a handful of program headers; more than this is garbage in the core.
const MAX_PHDRS: u64 = 256;
/// Notes segments are small; this bounds the walk over a corrupt one.
const MAX_NOTE_BYTES: u64 = 64 * 1024;

/// Reads the GNU build id of the ELF image whose header is at `base` in process memory.
/// Every field comes from the core, so every step is checked; any inconsistency gives `None`.
pub fn build_id_in_memory(memory: &AddressSpace, base: u64) -> Option<Vec<u8>> {
    let phoff = memory.read_u64(base.checked_add(0x20)?).ok()?;
    let phentsize = u64::from(memory.read_u16(base.checked_add(0x36)?).ok()?);
    let phnum = u64::from(memory.read_u16(base.checked_add(0x38)?).ok()?);
    if phentsize < 56 || phnum > MAX_PHDRS {
        return None;
    }
    for i in 0..phnum {
        let ph = base.checked_add(phoff)?.checked_add(i * phentsize)?;
        if memory.read_u32(ph).ok()? != PT_NOTE {
            continue;
        }
        let offset = memory.read_u64(ph + 8).ok()?;
        let filesz = memory.read_u64(ph + 32).ok()?.min(MAX_NOTE_BYTES);
        let notes = memory
            .bytes(base.checked_add(offset)?, filesz as usize)
            .ok()?;
        if let Some(id) = find_build_id(notes) {
            return Some(id.to_vec());
        }
    }
    None
}

/// Finds the GNU build id note in a run of 4-byte aligned ELF notes.
fn find_build_id(mut notes: &[u8]) -> Option<&[u8]> {
    let align4 = |n: usize| n.checked_add(3).map(|v| v & !3);
    while notes.len() >= 12 {
        let word =
            |i: usize| u32::from_le_bytes([notes[i], notes[i + 1], notes[i + 2], notes[i + 3]]);
        let (namesz, descsz, kind) = (word(0) as usize, word(4) as usize, word(8));
        let name_end = 12usize.checked_add(align4(namesz)?)?;
        let desc_end = name_end.checked_add(align4(descsz)?)?;
        if desc_end > notes.len() {
            return None;
        }
        if kind == NT_GNU_BUILD_ID && notes.get(12..12 + namesz) == Some(b"GNU\0") {
            return notes.get(name_end..name_end + descsz);
        }
        notes = &notes[desc_end..];
    }
    None
}
