//! [`CoreFile`]: an opened core, owning its bytes (an mmap or a buffer), with its segments,
//! its decoded notes, and the address space built from them.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::cache::CoreCache;
use crate::compressed::{compression_of, decompress, Compression};
use crate::error::OpenError;
use crate::headers::{self, Segment};
use crate::notes::{MappedFile, Notes, ProcessInfo, SignalInfo, Thread};
use crate::space::{AddressSpace, Backing, Region, Source};

/// An x86-64 Linux ELF core dump (from the kernel or from gdb's `gcore`), parsed.
///
/// Everything is decoded and validated at open time; afterwards only the address space's reads
/// touch the file's bytes. `CoreFile` is `Send + Sync`.
pub struct CoreFile {
    segments: Vec<Segment>,
    threads: Vec<Thread>,
    process: Option<ProcessInfo>,
    signal: Option<SignalInfo>,
    mapped_files: Vec<MappedFile>,
    auxv: Vec<(u64, u64)>,
    /// `(expected, actual)` sizes of a core cut short (see [`CoreFile::truncated`]).
    truncated: Option<(u64, u64)>,
    /// Owns the core's bytes as backing 0.
    space: AddressSpace,
    /// How the file was compressed, if it was.
    compression: Option<Compression>,
    /// The decoder's message, for a compressed core whose stream ended early.
    compressed_cut: Option<String>,
    /// Where the decompressed copy of a compressed core is kept (a cache's entry).
    decompressed_copy: Option<PathBuf>,
}

impl fmt::Debug for CoreFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoreFile")
            .field("len", &self.len())
            .field("segments", &self.segments.len())
            .field("threads", &self.threads.len())
            .field("process", &self.process)
            .field("signal", &self.signal)
            .field("mapped_files", &self.mapped_files.len())
            .finish()
    }
}

impl CoreFile {
    /// Memory-map the file at `path` and parse it. A compressed core (zstd, lz4, xz, gzip, an
    /// apport report: see [`Compression`]) is decompressed first into an unlinked temporary
    /// file, which is mapped.
    pub fn open(path: &Path) -> Result<CoreFile, OpenError> {
        CoreFile::open_with_cache(path, None)
    }

    /// [`open`](Self::open), keeping the decompressed copy of a compressed core in the directory
    /// `cache` (made if needed) and reusing it while the compressed file is unchanged; the
    /// [`MAX_ENTRIES`](crate::MAX_CACHED_CORES) most recently used are kept. A directory that
    /// cannot be written is no error: the core is decompressed as without one.
    pub fn open_with_cache(path: &Path, cache: Option<&Path>) -> Result<CoreFile, OpenError> {
        // Looked at before it is opened: opening a FIFO blocks until something writes to it.
        let meta = std::fs::metadata(path).map_err(|e| OpenError::io(path, &e))?;
        if meta.is_dir() {
            let e = std::io::Error::from(std::io::ErrorKind::IsADirectory);
            return Err(OpenError::io(path, &e));
        }
        if let Some(kind) = special_file_kind(&meta.file_type()) {
            return Err(OpenError::NotRegular {
                file: path.display().to_string(),
                kind,
            });
        }
        let compression = compression_of(path).map_err(|e| OpenError::io(path, &e))?;
        let mut file = std::fs::File::open(path).map_err(|e| OpenError::io(path, &e))?;
        let mut cut = None;
        let mut kept = None;
        if let Some(format) = compression {
            let name = path.display().to_string();
            let failed = |e: std::io::Error| OpenError::Decompress {
                file: name.clone(),
                format: format.described(),
                reason: e.to_string(),
            };
            let cache = cache.and_then(CoreCache::open);
            let entry = cache.as_ref().map(|c| c.entry(path, &meta));
            let hit = cache
                .as_ref()
                .zip(entry.as_ref())
                .and_then(|(c, e)| c.lookup(e));
            if let Some(hit) = hit {
                file = hit;
                kept = entry;
            } else {
                let slot = cache.as_ref().and_then(|c| c.slot().ok());
                let out = match &slot {
                    Some(s) => s.as_file().try_clone(),
                    None => tempfile::tempfile(),
                };
                let done = decompress(file, format, out.map_err(failed)?).map_err(failed)?;
                if let Some(reason) = done.cut {
                    let written = done.file.metadata().map_or(0, |m| m.len());
                    if written == 0 {
                        return Err(failed(std::io::Error::other(reason)));
                    }
                    cut = Some((format, reason));
                }
                file = done.file;
                // Only a whole core is kept (a slot not kept is removed; the file stays open).
                if let (Some(c), Some(s), Some(e), None) = (&cache, slot, &entry, &cut) {
                    kept = c.keep(s, e).ok().map(|_| e.clone());
                }
            }
        }
        let backing = Backing::map(&file).map_err(|e| OpenError::io(path, &e))?;
        let mut core = CoreFile::parse(backing, &path.display().to_string())?;
        core.compression = compression;
        core.compressed_cut = cut.map(|(format, reason)| format!("{}: {reason}", format.name()));
        core.decompressed_copy = kept;
        Ok(core)
    }

    /// The compression the core file was stored with (it was decompressed to open it).
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// Where the decompressed copy of a compressed core is kept for next time, when a cache
    /// was given ([`open_with_cache`](Self::open_with_cache)) and kept it.
    pub fn decompressed_copy(&self) -> Option<&Path> {
        self.decompressed_copy.as_deref()
    }

    /// When the compressed core's stream ended early or is corrupt: the decoder's message.
    /// What came before is read as a core cut short there.
    pub fn compressed_cut(&self) -> Option<&str> {
        self.compressed_cut.as_deref()
    }

    /// Parse a core held in memory.
    pub fn from_bytes(data: Vec<u8>) -> Result<CoreFile, OpenError> {
        CoreFile::parse(Backing::Owned(data), "<memory>")
    }

    /// Parse `backing`; `name` names it in error messages.
    fn parse(backing: Backing, name: &str) -> Result<CoreFile, OpenError> {
        let data = backing.as_slice();
        let layout = headers::parse(data, name)?;

        let mut notes = Notes::default();
        for n in &layout.notes {
            // headers::parse proved offset + size <= data.len().
            let bytes = usize::try_from(n.offset)
                .ok()
                .zip(usize::try_from(n.size).ok())
                .and_then(|(o, s)| data.get(o..o.checked_add(s)?))
                .ok_or(OpenError::MalformedHeaders {
                    what: "PT_NOTE outside the file",
                    offset: n.offset,
                })?;
            notes.parse_segment(bytes, n.offset, n.align)?;
        }
        notes.finish();

        let mut regions = Vec::with_capacity(layout.segments.len() * 2);
        for s in &layout.segments {
            // headers::parse proved vaddr + memsz does not overflow and filesz <= memsz.
            let data_end = s.vaddr + s.filesz;
            if s.filesz > 0 {
                regions.push(Region {
                    start: s.vaddr,
                    end: data_end,
                    perms: s.perms,
                    source: Source::Backing {
                        index: 0,
                        offset: s.file_offset,
                    },
                });
            }
            if s.memsz > s.filesz {
                regions.push(Region {
                    start: data_end,
                    end: s.vaddr + s.memsz,
                    perms: s.perms,
                    source: Source::Absent,
                });
            }
        }
        let space = AddressSpace::from_parts(regions, vec![backing]);
        Ok(CoreFile {
            segments: layout.segments,
            threads: notes.threads,
            process: notes.process,
            signal: notes.signal,
            mapped_files: notes.files,
            auxv: notes.auxv,
            truncated: layout.truncated,
            space,
            compression: None,
            compressed_cut: None,
            decompressed_copy: None,
        })
    }

    /// For a core shorter than its headers say (the dump or the copy was interrupted) whose
    /// headers and notes are whole: `(expected, actual)` file sizes. The memory past the cut
    /// reads as not in the core.
    pub fn truncated(&self) -> Option<(u64, u64)> {
        self.truncated
    }

    /// Size of the core file in bytes.
    pub fn len(&self) -> u64 {
        self.data().len() as u64
    }

    /// Always false: an empty file is not a core. Here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }

    /// The `PT_LOAD` segments with `p_memsz > 0`, sorted by address (they do not overlap).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The threads, in `NT_PRSTATUS` order. In a kernel core the first is the thread that
    /// received the fatal signal; in a gdb core, the first is the main thread.
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }

    /// The process, from `NT_PRPSINFO`.
    pub fn process(&self) -> Option<&ProcessInfo> {
        self.process.as_ref()
    }

    /// The signal, from the first `NT_SIGINFO` (for cores without one, from the first thread's
    /// `NT_PRSTATUS`, without address or sender). gdb's cores of live processes say `SIGSTOP`.
    pub fn signal(&self) -> Option<&SignalInfo> {
        self.signal.as_ref()
    }

    /// The file mappings, from `NT_FILE`, in note order (ascending address).
    pub fn mapped_files(&self) -> &[MappedFile] {
        &self.mapped_files
    }

    /// The auxiliary vector, from `NT_AUXV`: (type, value) pairs without the trailing `AT_NULL`.
    pub fn auxv(&self) -> &[(u64, u64)] {
        &self.auxv
    }

    /// The value of the first auxiliary vector entry of type `key` (e.g. `AT_PHDR` = 3,
    /// `AT_ENTRY` = 9, `AT_SYSINFO_EHDR` = 33).
    pub fn auxv_value(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    /// The process's memory, built from the segments (backing 0 is this file).
    pub fn memory(&self) -> &AddressSpace {
        &self.space
    }

    /// The process's memory, mutably: for adding backings (the executable, libraries) and
    /// filling in what the core left out.
    pub fn memory_mut(&mut self) -> &mut AddressSpace {
        &mut self.space
    }

    /// All the file's bytes.
    pub fn data(&self) -> &[u8] {
        self.space.backing(0).map(Backing::as_slice).unwrap_or(&[])
    }
}

/// What a file that is neither regular nor a directory is (`a FIFO`, `a character device`, ...),
/// for messages: such a file is not opened, since opening a FIFO blocks until a writer comes.
pub fn special_file_kind(t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        None
    }
}
