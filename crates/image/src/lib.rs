//! The process image of a Node.js core: the core's memory completed with the files it mapped.
//!
//! A kernel core omits read-only file-backed pages (node's `.text` and `.rodata`, where V8 keeps
//! builtins and Node keeps its internal module sources). This crate finds the executable and
//! shared libraries the core names (NT_FILE) — at their paths, else under a sysroot or in
//! library directories — checks each against the build id the core kept, and fills those pages
//! from the files on disk. It also exposes the modules' symbols (with their separate debug files'
//! full symbol tables) and the Node and V8 versions, which the V8 layer needs to choose its
//! layout.
//!
//! Architecture invariant: this crate knows the ELF and process world, not V8's heap. It never
//! interprets a heap object.
//!
//! ```no_run
//! use coroner_image::{OpenOptions, ProcessImage};
//! let image = ProcessImage::open("core".as_ref(), &OpenOptions::default())?;
//! println!("pid {:?}, node {:?}", image.core().process().map(|p| p.pid), image.versions().node);
//! # Ok::<(), coroner_image::ImageError>(())
//! ```

mod elf_file;
mod error;
mod link_map;
mod memory_map;
mod modules;
mod search;
mod startup;
mod symbols;
mod text;
mod version;

use std::path::{Path, PathBuf};

use coroner_corefile::{AddressSpace, Backing, ReadError};

/// The most bytes [`ProcessImage::read_code`] reads at once: the buffer is allocated before the
/// read, and a length from a user (an instruction count) must not ask for more than memory.
pub const MAX_CODE_READ: usize = 16 << 20;

pub use coroner_corefile::{
    compression_of, signal_name, special_file_kind, Compression, CoreFile, SignalInfo,
    MAX_CACHED_CORES,
};
pub use elf_file::{hex, ElfFile, ElfSection, FileSegment};
pub use error::ImageError;
pub use memory_map::{Category as MemoryCategory, HeapRanges, Share as MemoryShare};
pub use modules::{build_id_in_memory, Module, ModuleStatus};
pub use startup::Startup;
pub use symbols::{demangle, Symbol, SymbolTable};
pub use version::{VersionSource, Versions};

/// `AT_ENTRY`: the executable's entry point, which tells which mapped file is the executable.
const AT_ENTRY: u64 = 9;
/// `AT_PHDR`: the executable's program headers in memory, the second way to find it.
const AT_PHDR: u64 = 3;

/// How to open a core.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// The node executable, when it is not at the path the core names (or to override it).
    pub exe: Option<PathBuf>,
    /// A directory holding a copy of the dumped machine's files: a file the core names at
    /// `/usr/lib/x.so` is looked for at `SYSROOT/usr/lib/x.so` when it is not at its own path
    /// (or is a different build there), and separate debug files under
    /// `SYSROOT/usr/lib/debug/.build-id/`.
    pub sysroot: Option<PathBuf>,
    /// Directories searched, by file name, for a library (or the executable) the core names
    /// but that is not at its path nor under the sysroot.
    pub lib_paths: Vec<PathBuf>,
    /// Use the core alone: open no executable, library or debug file, as on a machine that has
    /// none of the dumped machine's files. (Ignores `exe`, `sysroot` and `lib_paths`.)
    pub core_only: bool,
    /// Where the decompressed copy of a compressed core is kept for the next open (see
    /// [`CoreFile::open_with_cache`]); `None`: it is not kept.
    pub cache_dir: Option<PathBuf>,
}

impl OpenOptions {
    /// Options naming the executable, everything else default.
    pub fn with_exe(exe: impl Into<PathBuf>) -> OpenOptions {
        OpenOptions {
            exe: Some(exe.into()),
            ..OpenOptions::default()
        }
    }
}

/// A core file plus the executable and libraries it mapped.
pub struct ProcessImage {
    core_path: PathBuf,
    core: CoreFile,
    modules: Vec<Module>,
    exe: Option<usize>,
    versions: Versions,
    warnings: Vec<String>,
}

impl ProcessImage {
    /// Opens `core_path`, finds the executable (`options.exe`, else the path the core names) and the
    /// shared libraries, and fills the pages the core left out from those that match.
    ///
    /// Fails when the core is unreadable or malformed, or when `options.exe` is not the executable
    /// that produced the core. A missing or mismatched file found through the core's own paths is
    /// only a warning: everything in the core can still be analysed.
    pub fn open(core_path: &Path, options: &OpenOptions) -> Result<ProcessImage, ImageError> {
        let cache = options.cache_dir.as_deref();
        let mut core =
            CoreFile::open_with_cache(core_path, cache).map_err(|source| ImageError::Core {
                path: core_path.to_owned(),
                source,
            })?;
        let mut modules = modules::discover(core.mapped_files(), core.memory());
        let exe = find_executable(&core, &modules);
        let mut warnings = Vec::new();
        if let Some(cut) = core.compressed_cut() {
            warnings.push(format!(
                "the compressed core ends early or is corrupt ({cut}): what came before is read as a core cut short there"
            ));
        }
        if let Some((expected, actual)) = core.truncated() {
            warnings.push(format!(
                "core file is truncated: its headers describe {expected} bytes but the file has {actual} (the dump or the copy was interrupted); the memory past the cut is missing, so answers may be incomplete"
            ));
        }

        if options.core_only {
            for module in &mut modules {
                module.status = ModuleStatus::NotOpened;
            }
            warnings.push(
                "--core-only: no executable or library file is used (native frames are named only where the core itself says)".into(),
            );
        } else {
            for (i, module) in modules.iter_mut().enumerate() {
                let is_exe = Some(i) == exe;
                match (&options.exe, is_exe) {
                    (Some(given), true) => {
                        modules::attach(module, given);
                        check_given_exe(module, given)?;
                    }
                    _ => {
                        let path = PathBuf::from(&module.path);
                        modules::attach(module, &path);
                        if !module.status.is_usable() {
                            search::elsewhere(module, options);
                        }
                        if is_exe {
                            if let Some(w) = exe_warning(module) {
                                warnings.push(w);
                            }
                        } else if let Some(w) = search::library_warning(module, options) {
                            warnings.push(w);
                        }
                    }
                }
                search::attach_debug_file(module, options);
            }
        }
        if exe.is_none() && !options.core_only {
            if let Some(given) = &options.exe {
                // The core names no executable mapping (no NT_FILE); take the user's word for it.
                let file = ElfFile::open(given)?;
                warnings.push(format!(
                    "the core does not say which executable it ran; using {} unverified",
                    given.display()
                ));
                modules.push(Module {
                    path: given.display().to_string(),
                    mappings: Vec::new(),
                    base: file.first_vaddr().unwrap_or(0),
                    core_build_id: None,
                    file: Some(file),
                    debug_file: None,
                    status: ModuleStatus::Unverified,
                });
            } else {
                warnings.push(
                    "the core does not say which executable it ran; pass it with --exe".into(),
                );
            }
        }
        let exe = exe
            .or_else(|| (options.exe.is_some() && !options.core_only).then(|| modules.len() - 1));

        fill_from_files(core.memory_mut(), &modules, &mut warnings);

        let mut image = ProcessImage {
            core_path: core_path.to_owned(),
            core,
            modules,
            exe,
            versions: Versions::default(),
            warnings,
        };
        image.versions = version::detect(&image);
        Ok(image)
    }

    /// When `addr` lies in a mapped file whose bytes neither the core nor a file at hand
    /// supplies: which file it is and how to supply it, for error messages ("node's code and
    /// read-only data are not in kernel cores").
    pub fn file_hint(&self, addr: u64) -> Option<String> {
        let module = self.module_at(addr)?;
        if module.file.is_some() || self.memory().bytes(addr, 1).is_ok() {
            return None;
        }
        let is_exe = self.executable().is_some_and(|e| std::ptr::eq(e, module));
        Some(if is_exe {
            format!(
                "it is in the executable {}, which the core does not hold: pass the executable with --exe",
                module.path
            )
        } else {
            format!(
                "it is in {}, which the core does not hold: point to a copy with --sysroot DIR or --lib-path DIR",
                module.path
            )
        })
    }

    /// The path the core was opened from.
    pub fn core_path(&self) -> &Path {
        &self.core_path
    }

    /// The parsed core file: threads, process and signal notes.
    pub fn core(&self) -> &CoreFile {
        &self.core
    }

    /// The process's memory: the core's bytes, completed from matching files.
    pub fn memory(&self) -> &AddressSpace {
        self.core.memory()
    }

    /// Bytes of the process's memory that are readable: held by the core, or by a file found.
    pub fn bytes_present(&self) -> u64 {
        self.memory().bytes_present()
    }

    /// Up to `len` bytes (and no more than [`MAX_CODE_READ`]) of memory at `start`, for a
    /// disassembler: fewer where the readable memory ends (halving until a read succeeds); the
    /// error says why not even the first byte can be read.
    pub fn read_code(&self, start: u64, len: usize) -> Result<Vec<u8>, ReadError> {
        let memory = self.memory();
        let mut n = len.min(MAX_CODE_READ);
        while n > 0 {
            let mut buf = vec![0u8; n];
            if memory.read(start, &mut buf).is_ok() {
                return Ok(buf);
            }
            n /= 2;
        }
        memory.read_u8(start).map(|b| vec![b])
    }

    /// Where the executable mapping holding `addr` ends; `None` when `addr` is in no mapping
    /// the process could execute (data read as instructions would show its bytes).
    pub fn code_end(&self, addr: u64) -> Option<u64> {
        let region = self.memory().region(addr)?;
        region.perms.exec.then_some(region.end)
    }

    /// Up to `count` 8-byte little-endian words of memory from `addr` on, stopping before the
    /// first that neither the core nor a file at hand holds (for `x`).
    pub fn read_words(&self, addr: u64, count: usize) -> Vec<u64> {
        let memory = self.memory();
        let mut words = Vec::new();
        for i in 0..count as u64 {
            let Some(at) = i.checked_mul(8).and_then(|o| addr.checked_add(o)) else {
                break;
            };
            match memory.read_u64(at) {
                Ok(w) => words.push(w),
                Err(_) => break,
            }
        }
        words
    }

    /// Every ELF module the process had mapped, the executable among them.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The executable's module, when the core names one (or `--exe` supplied it).
    pub fn executable(&self) -> Option<&Module> {
        self.exe.map(|i| &self.modules[i])
    }

    /// The executable's file, when it is available and matches.
    pub fn exe_file(&self) -> Option<&ElfFile> {
        self.executable().and_then(|m| m.file.as_ref())
    }

    /// Node and V8 versions.
    pub fn versions(&self) -> &Versions {
        &self.versions
    }

    /// Things worth telling the user that did not stop the image from opening.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The runtime address of an executable symbol, by mangled name.
    pub fn exe_runtime_address(&self, name: &str) -> Option<u64> {
        let module = self.executable()?;
        let sym = module.file.as_ref()?.symbols().by_name(name)?;
        Some(sym.address.wrapping_add(module.bias()))
    }

    /// `len` bytes of an executable data symbol: from the core when it has them (runtime value),
    /// else from the file (initial value).
    pub fn exe_data(&self, name: &str, len: usize) -> Option<Vec<u8>> {
        let module = self.executable()?;
        let file = module.file.as_ref()?;
        let sym = file.symbols().by_name(name)?;
        let mut buf = vec![0u8; len];
        match self
            .memory()
            .read(sym.address.wrapping_add(module.bias()), &mut buf)
        {
            Ok(()) => Some(buf),
            Err(_) => file.read_static(sym.address, len),
        }
    }

    /// An executable `int` symbol (as `v8dbg_*` constants are).
    pub fn exe_data_i32(&self, name: &str) -> Option<i32> {
        let b = self.exe_data(name, 4)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The bytes of an executable's data symbol, as long as its symbol table says (at most
    /// `max`); `None` without the file, the symbol or its size.
    pub fn exe_symbol_bytes(&self, name: &str, max: usize) -> Option<Vec<u8>> {
        let file = self.exe_file()?;
        let size = usize::try_from(file.symbols().by_name(name)?.size).ok()?;
        if size == 0 || size > max {
            return None;
        }
        self.exe_data(name, size)
    }

    /// An executable pointer-sized symbol.
    pub fn exe_data_u64(&self, name: &str) -> Option<u64> {
        let b = self.exe_data(name, 8)?;
        Some(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// A NUL-terminated string in process memory, lossily decoded.
    pub fn read_string(&self, addr: u64, max: usize) -> Option<String> {
        let bytes = self.memory().read_cstr(addr, max).ok()?;
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// The module whose mappings contain `addr`.
    pub fn module_at(&self, addr: u64) -> Option<&Module> {
        self.modules.iter().find(|m| m.contains(addr))
    }
}

/// The executable is the mapped file that holds the entry point (`AT_ENTRY`), or failing that
/// the program headers (`AT_PHDR`); both come from the auxiliary vector the kernel saved.
fn find_executable(core: &CoreFile, modules: &[Module]) -> Option<usize> {
    [AT_ENTRY, AT_PHDR]
        .iter()
        .filter_map(|&key| core.auxv_value(key))
        .find_map(|addr| modules.iter().position(|m| m.contains(addr)))
}

fn check_given_exe(module: &Module, given: &Path) -> Result<(), ImageError> {
    match &module.status {
        ModuleStatus::Mismatch { file_id, core_id } => Err(ImageError::ExeMismatch {
            path: given.to_owned(),
            file_id: file_id.clone(),
            core_id: core_id.clone(),
        }),
        ModuleStatus::Missing => Err(ImageError::Io {
            path: given.to_owned(),
            source: std::io::ErrorKind::NotFound.into(),
        }),
        ModuleStatus::Unreadable(reason) => Err(ImageError::NotElf {
            path: given.to_owned(),
            reason: reason.clone(),
        }),
        ModuleStatus::Matched | ModuleStatus::Unverified | ModuleStatus::NotOpened => Ok(()),
    }
}

fn exe_warning(module: &Module) -> Option<String> {
    match &module.status {
        ModuleStatus::Matched => None,
        ModuleStatus::Unverified => Some(format!(
            "executable {}: no build id to compare with the core; using it unverified",
            module.path
        )),
        ModuleStatus::Mismatch { file_id, core_id } => Some(format!(
            "executable {} is a different build from the one in the core ({file_id} on disk, {core_id} in the core); not using it: pass the right one with --exe",
            module.path
        )),
        ModuleStatus::Missing => Some(format!(
            "executable {} is not on this machine: V8's layout comes from coroner's table of the build, but native symbols and node's own code need the file (pass it with --exe)",
            module.path
        )),
        ModuleStatus::Unreadable(reason) => Some(format!(
            "executable {}: {reason}; pass the right one with --exe",
            module.path
        )),
        ModuleStatus::NotOpened => None,
    }
}

/// Fills the pages of every usable module's mappings that the core did not keep, from its file.
/// Kernel cores list such pages as segments without data (absent); gdb's gcore leaves them out
/// altogether (unmapped), so both are filled, the latter with the file segment's permissions.
fn fill_from_files(space: &mut AddressSpace, modules: &[Module], warnings: &mut Vec<String>) {
    for module in modules {
        let Some(file) = module.file.as_ref() else {
            continue;
        };
        let backing = match std::fs::File::open(file.path()).and_then(|f| Backing::map(&f)) {
            Ok(b) => b,
            Err(e) => {
                warnings.push(format!("{}: {e}", file.path().display()));
                continue;
            }
        };
        let file_len = file.data().len() as u64;
        let index = space.add_backing(backing);
        for m in &module.mappings {
            let Some(avail) = file_len.checked_sub(m.file_offset) else {
                continue;
            };
            let end = m.end.min(m.start.saturating_add(avail));
            if end > m.start {
                let perms = file.perms_at_offset(m.file_offset);
                let filled = space
                    .fill_absent(m.start, end, index, m.file_offset)
                    .and_then(|_| space.fill_unmapped(m.start, end, index, m.file_offset, perms));
                if let Err(e) = filled {
                    warnings.push(format!("{}: {e}", module.path));
                }
            }
        }
    }
}
