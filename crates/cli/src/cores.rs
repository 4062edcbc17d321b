//! Where the cores are. A process that crashed left its core wherever the kernel's
//! `core_pattern` sends cores: to systemd-coredump's store (compressed, under systemd's name),
//! to apport's crash reports, to a directory, or to the crashed process's working directory.
//! `coroner cores` lists the node cores found there, newest first; `coroner --latest` opens the
//! newest.
//!
//! The places come from `core_pattern` (`CORONER_CORE_PATTERN` replaces it, and
//! `CORONER_COREDUMP_DIR` and `CORONER_CRASH_DIR` replace systemd's and apport's directories:
//! for looking at a copy of another machine's stores, and for the tests).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use coroner_image::{compression_of, Compression};
use serde::Serialize;

use crate::report::{Report, TextStyle};

/// Where the kernel says cores go (a file: on a system without it, cores are looked for in the
/// working directory only).
const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";
/// systemd-coredump's store.
const COREDUMP_DIR: &str = "/var/lib/systemd/coredump";
/// apport's crash reports.
const CRASH_DIR: &str = "/var/crash";
/// Files looked at per directory, newest first after sorting (a store can hold thousands).
const MAX_FILES: usize = 10_000;

/// How a core was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Store {
    /// systemd-coredump's store.
    SystemdCoredump,
    /// An apport crash report (its `CoreDump` field holds the core).
    Apport,
    /// A file the kernel wrote where the pattern names.
    Kernel,
}

/// One core found.
#[derive(Debug, Clone, Serialize)]
pub struct FoundCore {
    /// Its path.
    pub path: PathBuf,
    /// How it was stored.
    pub store: Store,
    /// The crashed process's id, from the file's name or its notes.
    pub pid: Option<u32>,
    /// The process's name (its `comm`).
    pub process: Option<String>,
    /// The signal that ended it, when the core's notes are read (uncompressed cores).
    pub signal: Option<String>,
    /// When the file was written, in seconds since the Unix epoch.
    pub time: u64,
    /// The file's size in bytes.
    pub bytes: u64,
    /// Its compression, if any.
    pub compression: Option<&'static str>,
}

impl FoundCore {
    /// Whether the process was node (by its name); `None` when nothing says.
    fn is_node(&self) -> Option<bool> {
        self.process.as_deref().map(|p| p.starts_with("node"))
    }
}

/// The places cores go on this machine: (directory, file-name prefix, store).
fn places(cwd: &Path) -> Vec<(PathBuf, String, Store)> {
    let pattern = std::env::var("CORONER_CORE_PATTERN")
        .ok()
        .or_else(|| std::fs::read_to_string(CORE_PATTERN).ok())
        .unwrap_or_default();
    let pattern = pattern.trim();
    let dir_of = |var: &str, default: &str| {
        std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
    };
    let mut places = vec![(cwd.to_path_buf(), "core".to_string(), Store::Kernel)];
    if pattern.contains("systemd-coredump") {
        places.push((
            dir_of("CORONER_COREDUMP_DIR", COREDUMP_DIR),
            "core.".to_string(),
            Store::SystemdCoredump,
        ));
    } else if pattern.contains("apport") {
        places.push((
            dir_of("CORONER_CRASH_DIR", CRASH_DIR),
            String::new(),
            Store::Apport,
        ));
    } else if !pattern.starts_with('|') && !pattern.is_empty() {
        // A path: its directory (when the directory has no % specifier), and the part of
        // its file name before the first specifier.
        let path = Path::new(pattern);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let prefix = name
            .as_deref()
            .map(|n| n.split('%').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        match path.parent() {
            Some(dir) if dir.is_absolute() && !dir.to_string_lossy().contains('%') => {
                places.push((dir.to_path_buf(), prefix, Store::Kernel));
            }
            // A relative pattern: the crashed process's working directory, here the cwd.
            _ if !path.is_absolute() => places[0].1 = prefix,
            _ => {}
        }
    }
    places
}

/// The cores in `dir` whose names start with `prefix`, as stored by `store`.
fn cores_in(dir: &Path, prefix: &str, store: Store) -> Vec<FoundCore> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten().take(MAX_FILES) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || !name.starts_with(prefix) || meta.len() == 0 {
            continue;
        }
        let time = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let mut core = FoundCore {
            path: path.clone(),
            store,
            pid: None,
            process: None,
            signal: None,
            time,
            bytes: meta.len(),
            compression: None,
        };
        match store {
            Store::Apport => {
                if !name.ends_with(".crash") {
                    continue;
                }
                // `_usr_bin_node.1000.crash`: the executable's path, its slashes made `_`.
                core.process = name
                    .trim_end_matches(".crash")
                    .split('.')
                    .next()
                    .and_then(|p| p.rsplit('_').next())
                    .map(str::to_string);
            }
            Store::SystemdCoredump => {
                // core.COMM.UID.BOOT_ID.PID.USEC[.zst|.lz4|.xz]: COMM escapes dots as \x2e.
                let parts: Vec<&str> = name.split('.').collect();
                core.process = parts.get(1).map(|c| c.replace("\\x2e", "."));
                core.pid = parts.get(4).and_then(|p| p.parse().ok());
                core.compression = compression_of(&path).ok().flatten().map(Compression::name);
            }
            Store::Kernel => {
                match compression_of(&path) {
                    Ok(Some(c)) => core.compression = Some(c.name()),
                    Ok(None) => {
                        // An ELF core: its notes say who and why (opening maps, reads no more).
                        let Ok(file) = coroner_image::CoreFile::open(&path) else {
                            continue;
                        };
                        core.pid = file.process().map(|p| p.pid);
                        core.process = file.process().map(|p| p.fname.clone());
                        core.signal = file.signal().map(|s| s.name().to_string());
                    }
                    Err(_) => continue,
                }
            }
        }
        found.push(core);
    }
    found
}

/// The cores on this machine, newest first; only node's unless `all`.
pub fn find(all: bool) -> Vec<FoundCore> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut found: Vec<FoundCore> = places(&cwd)
        .iter()
        .flat_map(|(dir, prefix, store)| cores_in(dir, prefix, *store))
        .filter(|c| all || c.is_node() != Some(false))
        .collect();
    found.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.path.cmp(&b.path)));
    found.dedup_by(|a, b| a.path == b.path);
    found
}

/// `coroner cores`: the list.
#[derive(Serialize)]
#[serde(transparent)]
pub struct CoreList(pub Vec<FoundCore>);

impl Report for CoreList {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        if self.0.is_empty() {
            return writeln!(
                out,
                "no node core found (looked where core_pattern sends cores, and in the working directory)"
            );
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for c in &self.0 {
            let who = match (&c.process, c.pid) {
                (Some(p), Some(pid)) => format!("{p} {pid}"),
                (Some(p), None) => p.clone(),
                (None, Some(pid)) => format!("pid {pid}"),
                (None, None) => "?".to_string(),
            };
            let mut what = vec![who];
            what.extend(c.signal.clone());
            what.extend(c.compression.map(str::to_string));
            if c.store == Store::Apport {
                what.push("apport report".to_string());
            }
            writeln!(
                out,
                "{:>12}  {}  {}",
                ago(now.saturating_sub(c.time)),
                style.bold(&c.path.display().to_string()),
                style.dim(&format!("({})", what.join(", ")))
            )?;
        }
        Ok(())
    }
}

/// `seconds` as a person says it.
fn ago(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s ago"),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(ago(5), "5 s ago");
        assert_eq!(ago(125), "2 min ago");
        assert_eq!(ago(7300), "2 h ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
    }
}
