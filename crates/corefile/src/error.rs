//! The crate's error types: why a core could not be opened ([`OpenError`]), why bytes could not
//! be read from the process's address space ([`ReadError`]), and why a backing could not be
//! spliced into the address space ([`FillError`]).
//!
//! Every `Display` is one line meant for the person running the debugger: what is wrong and,
//! where there is something to do about it, what.

use std::io::ErrorKind;
use std::path::PathBuf;

/// Why [`CoreFile::open`](crate::CoreFile::open) or
/// [`CoreFile::from_bytes`](crate::CoreFile::from_bytes) failed.
///
/// `file` fields hold the path as given (or `<memory>` for `from_bytes`), for messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file could not be opened, inspected or mapped.
    #[error("{}", io_line(path, *kind, message))]
    Io {
        /// The path that was given.
        path: PathBuf,
        /// The I/O error's kind (`NotFound`, `PermissionDenied`, `IsADirectory`, ...).
        kind: ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// The path names a FIFO, device or socket: reading it would block or never end.
    #[error("{file} is not a regular file but {kind}: pass a core dump file")]
    NotRegular {
        /// The file's name.
        file: String,
        /// What it is: `a FIFO`, `a character device`, `a block device`, `a socket`.
        kind: &'static str,
    },
    /// The file is compressed, and nothing could be decompressed from it (or the temporary
    /// file could not be written).
    #[error("{file} is {format}, and decompressing it failed: {reason}")]
    Decompress {
        /// The file's name.
        file: String,
        /// What the file is (`zstd-compressed`, `an apport crash report`).
        format: &'static str,
        /// The decoder's (or the file system's) message.
        reason: String,
    },
    /// The file is zero bytes long.
    #[error("{file} is empty (0 bytes): the core dump was never written; check `ulimit -c` and /proc/sys/kernel/core_pattern")]
    Empty {
        /// The file's name.
        file: String,
    },
    /// The file does not start with the ELF magic.
    #[error("{file} is not an ELF file (no \\x7fELF magic): pass a core dump")]
    NotElf {
        /// The file's name.
        file: String,
    },
    /// The file is a compressed archive (systemd-coredump stores cores compressed).
    #[error("{file} is {format}-compressed: decompress it first (e.g. `coredumpctl dump PID --output=core`, or `{tool}`)")]
    Compressed {
        /// The file's name.
        file: String,
        /// The compression format: `zstd`, `xz`, `gzip`, `lz4` or `bzip2`.
        format: &'static str,
        /// A command that decompresses it.
        tool: &'static str,
    },
    /// The file is an ELF file, but an executable, shared library or object file.
    #[error("{file} is an ELF file but not a core dump (type {kind}): pass the core, and give the executable with --exe")]
    NotCore {
        /// The file's name.
        file: String,
        /// The ELF type, e.g. `EXEC`, `DYN`, `REL` or `0x1234`.
        kind: String,
    },
    /// An ELF core, but not an ELF64 little-endian x86-64 one.
    #[error("{file} is an unsupported core: {what} (only ELF64 little-endian x86-64 Linux cores are supported)")]
    Unsupported {
        /// The file's name.
        file: String,
        /// What is unsupported, e.g. `machine AArch64 (183)`.
        what: String,
    },
    /// The headers describe more bytes than the file has.
    #[error("core file is truncated: its headers describe {expected} bytes but the file has {actual}; the dump or the copy was interrupted")]
    Truncated {
        /// The size the headers (ELF header, program headers, segment data, section headers) need.
        expected: u64,
        /// The file's size.
        actual: u64,
    },
    /// The ELF header or the program headers are inconsistent.
    #[error("core file has malformed ELF headers at file offset {offset:#x}: {what}")]
    MalformedHeaders {
        /// What is wrong.
        what: &'static str,
        /// File offset of the offending header.
        offset: u64,
    },
    /// A note in a PT_NOTE segment is inconsistent.
    #[error("core file has a malformed note at file offset {offset:#x}: {what}")]
    MalformedNote {
        /// File offset of the note's header (or of the note segment when the note could not be delimited).
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
}

fn io_line(path: &std::path::Path, kind: ErrorKind, message: &str) -> String {
    let p = path.display();
    match kind {
        ErrorKind::NotFound => format!("cannot open {p}: no such file"),
        ErrorKind::IsADirectory => {
            format!("cannot open {p}: it is a directory; pass the core file inside it")
        }
        ErrorKind::PermissionDenied => {
            format!("cannot open {p}: permission denied; cores are often mode 0600, owned by the crashed process's user (try sudo, or chmod)")
        }
        _ => format!("cannot read {p}: {message}"),
    }
}

impl OpenError {
    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> OpenError {
        OpenError::Io {
            path: path.to_path_buf(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

/// Why bytes could not be read from an [`AddressSpace`](crate::AddressSpace).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No mapping of the process covered this address.
    #[error("address {addr:#x} is not mapped in the process")]
    Unmapped {
        /// The first address that could not be read.
        addr: u64,
    },
    /// The process had this address mapped, but the core does not hold its bytes (the kernel
    /// leaves out file-backed text, and everything past `p_filesz`), or the bytes are in a
    /// different backing than the bytes before them and a zero-copy read was asked for.
    #[error("address {addr:#x} was mapped in the process but its bytes are not in the core")]
    NotInCore {
        /// The first address that could not be read.
        addr: u64,
    },
}

impl ReadError {
    /// The first address that could not be read.
    pub fn addr(&self) -> u64 {
        match *self {
            ReadError::Unmapped { addr } | ReadError::NotInCore { addr } => addr,
        }
    }
}

/// Why [`AddressSpace::fill_absent`](crate::AddressSpace::fill_absent) or
/// [`AddressSpace::fill_unmapped`](crate::AddressSpace::fill_unmapped) refused; the address space
/// is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    /// No backing has this index.
    #[error("no backing with index {index}")]
    NoSuchBacking {
        /// The index that was given.
        index: usize,
    },
    /// `start > end`.
    #[error("invalid address range {start:#x}..{end:#x}")]
    BadRange {
        /// Start of the range.
        start: u64,
        /// End of the range.
        end: u64,
    },
    /// The backing is too short to supply the whole range.
    #[error("backing {index} has {len} bytes but the range needs bytes up to offset {needed}")]
    BackingTooShort {
        /// The backing's index.
        index: usize,
        /// The backing offset one past the last byte the range needs.
        needed: u64,
        /// The backing's length.
        len: u64,
    },
}
