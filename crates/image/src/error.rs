//! Why a process image could not be opened. Each message is one line that says what is wrong
//! and, where there is one, what to do about it.

use std::path::PathBuf;

/// Opening the process image failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The core file itself could not be read or parsed (the core reader's message names the file).
    #[error("{source}")]
    Core {
        /// The core's path.
        path: PathBuf,
        /// What the core reader found.
        source: coroner_corefile::OpenError,
    },
    /// An executable or library file could not be read.
    #[error("{path}: {}", io_reason(.source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory was given where a file was expected.
    #[error("{path}: is a directory, not a file")]
    IsDirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A FIFO, device or socket was given where a file was expected (not opened: opening a
    /// FIFO waits for a writer).
    #[error("{path}: not a regular file but {kind}")]
    NotRegular {
        /// The path given.
        path: PathBuf,
        /// What it is: `a FIFO`, `a character device`, ...
        kind: &'static str,
    },
    /// The file given as the executable is not an ELF file.
    #[error("{path}: not an ELF executable ({reason}); --exe takes the node binary that produced the core")]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the ELF parser said.
        reason: String,
    },
    /// `--exe` names a binary other than the one that produced the core.
    #[error("{path}: does not match the core (its build id is {file_id}, the core's executable has {core_id}); pass the node binary that produced the core with --exe")]
    ExeMismatch {
        /// The file given.
        path: PathBuf,
        /// Its build id.
        file_id: String,
        /// The build id the core records for its executable.
        core_id: String,
    },
}

impl ImageError {
    /// What is wrong with the file, without its path or advice: for a message that says those
    /// itself (a module the core names that could not be used).
    pub fn cause(&self) -> String {
        match self {
            ImageError::Io { source, .. } => io_reason(source),
            ImageError::IsDirectory { .. } => "a directory".to_string(),
            ImageError::NotRegular { kind, .. } => format!("not a regular file but {kind}"),
            ImageError::NotElf { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
