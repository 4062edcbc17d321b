//! Decompressed cores kept for next time. A compressed core is usually opened many times (a
//! script of queries, then the prompt, then another query), and decompressing a big one takes
//! seconds each time; the decompressed copy is kept in a cache directory (the CLI's default is
//! `~/.cache/coroner/cores`) and reused while the compressed file is unchanged.
//!
//! An entry is named by a hash of what identifies the compressed file's contents: its path, size,
//! modification time, device and inode; a file rewritten in place gets a new name, and the old
//! entry ages out. Entries are written sparse into a temporary file of the directory and renamed
//! when whole, so a reader never sees half of one (a stream cut short is not kept). The most
//! recently used [`MAX_ENTRIES`] are kept. The directory is made private to its user (cores hold
//! secrets), as the files already are.

use std::fs::{self, File, Metadata};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Decompressed cores kept: at most this many, the least recently used removed first.
pub const MAX_ENTRIES: usize = 4;
/// Most directory entries looked at when removing old ones.
const MAX_LISTED: usize = 10_000;
/// The file names of entries: `core-HASH.elf`.
const PREFIX: &str = "core-";
const SUFFIX: &str = ".elf";

/// A cache directory, created if needed.
pub(crate) struct CoreCache {
    dir: PathBuf,
}

impl CoreCache {
    /// The cache in `dir`; `None` when it cannot be made (read-only home, no permission): the
    /// core is then decompressed into an unlinked temporary file, as without a cache.
    pub(crate) fn open(dir: &Path) -> Option<CoreCache> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .ok()?;
        Some(CoreCache {
            dir: dir.to_path_buf(),
        })
    }

    /// Where the decompressed copy of the compressed file at `path` (with metadata `meta`) is
    /// kept.
    pub(crate) fn entry(&self, path: &Path, meta: &Metadata) -> PathBuf {
        let mut h = DefaultHasher::new();
        fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .hash(&mut h);
        (
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.dev(),
            meta.ino(),
        )
            .hash(&mut h);
        self.dir
            .join(format!("{PREFIX}{:016x}{SUFFIX}", h.finish()))
    }

    /// The entry at `entry`, if it was kept: marked as just used.
    pub(crate) fn lookup(&self, entry: &Path) -> Option<File> {
        let file = File::options().read(true).write(true).open(entry).ok()?;
        // Its time is when it was last used: the oldest goes first.
        let _ = file.set_modified(SystemTime::now());
        Some(file)
    }

    /// A new file to decompress into, in the directory (renamed into place by [`keep`]).
    ///
    /// [`keep`]: Self::keep
    pub(crate) fn slot(&self) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(&self.dir)
    }

    /// Keeps a whole decompressed core as `entry`, then removes the least recently used entries
    /// beyond [`MAX_ENTRIES`]. The file stays open (and mapped) whatever happens to its name.
    pub(crate) fn keep(&self, slot: tempfile::NamedTempFile, entry: &Path) -> io::Result<File> {
        let file = slot.persist(entry).map_err(|e| e.error)?;
        self.trim();
        Ok(file)
    }

    /// Removes the least recently used entries beyond [`MAX_ENTRIES`] (best effort: another
    /// coroner may be trimming too).
    fn trim(&self) {
        let Ok(list) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, PathBuf)> = list
            .take(MAX_LISTED)
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with(PREFIX) && name.ends_with(SUFFIX)
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        entries.sort_by_key(|e| std::cmp::Reverse(e.0));
        for (_, old) in entries.iter().skip(MAX_ENTRIES) {
            let _ = fs::remove_file(old);
        }
    }
}
