//! The real consumers of heap snapshots, installed for the tests: Chrome DevTools' heap snapshot
//! loader and memlab, driven by `fixtures/consumers/summarize.mjs` (see its README.md).
//!
//! coroner's `snapshot` command writes `.heapsnapshot` files; its tests load them in the tools
//! people open them with and compare what those compute with coroner. The sources are checked
//! in under `fixtures/consumers/` (with a `package-lock.json`, so the install is reproducible);
//! the install goes to `target/consumers/`:
//!
//! ```text
//! target/consumers/summarize.mjs          node summarize.mjs FILE.heapsnapshot -> JSON
//! target/consumers/devtools-loader.mjs    DevTools' TypeScript loader, bundled by esbuild
//! target/consumers/node_modules/          npm ci of package-lock.json
//! ```
//!
//! npm and the bundler run on the machine's `node`; summarize.mjs itself needs Node >= 22,
//! which the tests take from the official builds under `target/fixtures/node/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::error::{Context, Error, Result};
use crate::layout::Layout;
use crate::node::remove_dir_if_exists;
use crate::versions::Versions;

/// Bump to reinstall when this module changes what it makes.
const INSTALL_VERSION: u32 = 1;

/// The key of the whole install (every source file), written last: its absence marks an
/// install that did not finish.
const HASH: &str = ".hash";

/// The key of `node_modules` (package.json and package-lock.json): while it holds, a change to
/// the scripts only needs them copied and the bundle rebuilt, not a new `npm ci`.
const NPM_HASH: &str = ".npm-hash";

/// The bundle of DevTools' loader that summarize.mjs imports.
const BUNDLE: &str = "devtools-loader.mjs";

/// What npm's lock pins; both go into [`NPM_HASH`].
const NPM_FILES: [&str; 2] = ["package.json", "package-lock.json"];

/// The oldest Node that runs summarize.mjs: DevTools' loader uses `Promise.withResolvers`.
pub const MIN_NODE_MAJOR: u64 = 22;

/// `cargo xtask consumers`: installs the consumers and prints their directory.
pub fn command(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        return Err(Error::new(format!(
            "`cargo xtask consumers` takes no argument, not {arg:?}"
        )));
    }
    let layout = Layout::new();
    let dir = ensure(&layout)?;
    match runner(&layout)? {
        Some(node) => eprintln!(
            "consumers: run `{} {} FILE.heapsnapshot`",
            node.display(),
            dir.join("summarize.mjs").display()
        ),
        None => eprintln!(
            "consumers: summarize.mjs needs Node >= {MIN_NODE_MAJOR}: none of the pinned \
             builds is fetched yet (`cargo xtask fixtures` fetches them)"
        ),
    }
    println!("{}", dir.display());
    Ok(())
}

/// `fixtures/consumers/`: the checked-in sources.
fn sources(layout: &Layout) -> PathBuf {
    layout.sources.join("consumers")
}

/// `target/consumers/`: the install. Beside `target/fixtures/`, not in Cargo's target
/// directory, so that a test finds it whatever `CARGO_TARGET_DIR` says.
fn install_dir(layout: &Layout) -> PathBuf {
    layout.root.join("target").join("consumers")
}

/// Makes sure `target/consumers/` holds the consumers of the current sources (installing them
/// when missing or stale) and returns that directory.
pub fn ensure(layout: &Layout) -> Result<PathBuf> {
    let source_dir = sources(layout);
    let dir = install_dir(layout);
    let files = source_files(&source_dir)?;
    let key = hash(&files, None)?;
    if read_key(&dir.join(HASH)).as_deref() == Some(key.as_str()) && dir.join(BUNDLE).is_file() {
        return Ok(dir);
    }
    let started = Instant::now();
    let npm_files: Vec<PathBuf> = NPM_FILES.iter().map(|f| source_dir.join(f)).collect();
    let npm_key = hash(&npm_files, Some("npm"))?;
    let modules_current = read_key(&dir.join(NPM_HASH)).as_deref() == Some(npm_key.as_str())
        && dir.join("node_modules").is_dir();
    if modules_current {
        // Only the scripts changed: the install stays, marked unfinished until rebuilt.
        remove_file_if_exists(&dir.join(HASH))?;
        copy_files(&files, &dir)?;
    } else {
        // A new install is made aside and swapped in whole, so that an interrupted one never
        // passes for complete.
        let staging = layout.root.join("target").join(".consumers.tmp");
        remove_dir_if_exists(&staging)?;
        std::fs::create_dir_all(&staging)
            .context(|| format!("cannot create {}", staging.display()))?;
        copy_files(&files, &staging)?;
        eprintln!("consumers: npm ci in {}", staging.display());
        npm_ci(&staging)?;
        std::fs::write(staging.join(NPM_HASH), format!("{npm_key}\n"))
            .context(|| format!("cannot write {}", staging.join(NPM_HASH).display()))?;
        remove_dir_if_exists(&dir)?;
        std::fs::rename(&staging, &dir)
            .context(|| format!("cannot move {} to {}", staging.display(), dir.display()))?;
    }
    bundle(&dir)?;
    std::fs::write(dir.join(HASH), format!("{key}\n"))
        .context(|| format!("cannot write {}", dir.join(HASH).display()))?;
    eprintln!(
        "consumers: installed in {} ({:.1} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(dir)
}

/// The newest pinned Node build that runs summarize.mjs and is already fetched, if any.
pub fn runner(layout: &Layout) -> Result<Option<PathBuf>> {
    let versions = Versions::load(&layout.versions_file())?;
    let mut best: Option<(Vec<u64>, PathBuf)> = None;
    for version in &versions.all {
        let key: Vec<u64> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
        let exe = layout.node_exe(version);
        let newer = best.as_ref().is_none_or(|(newest, _)| key > *newest);
        if key.first().is_some_and(|&major| major >= MIN_NODE_MAJOR) && exe.is_file() && newer {
            best = Some((key, exe));
        }
    }
    Ok(best.map(|(_, exe)| exe))
}

/// The files of `fixtures/consumers/` (not its subdirectories, as a stray `node_modules`
/// there is not a source), sorted.
fn source_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    for needed in NPM_FILES.iter().chain(&["summarize.mjs", "build.mjs"]) {
        if !files
            .iter()
            .any(|f| f.file_name().is_some_and(|n| n == *needed))
        {
            return Err(Error::new(format!("{} has no {needed}", dir.display())));
        }
    }
    Ok(files)
}

/// The key of `files` (their names and contents, in order) and [`INSTALL_VERSION`].
fn hash(files: &[PathBuf], what: Option<&str>) -> Result<String> {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(format!("coroner consumers {INSTALL_VERSION}").as_bytes());
    field(what.unwrap_or("all").as_bytes());
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
        field(name.unwrap_or_default().as_bytes());
        field(&std::fs::read(file).context(|| format!("cannot read {}", file.display()))?);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A key written by [`ensure`], if there is one.
fn read_key(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn copy_files(files: &[PathBuf], to: &Path) -> Result<()> {
    for file in files {
        let Some(name) = file.file_name() else {
            continue;
        };
        let target = to.join(name);
        std::fs::copy(file, &target)
            .context(|| format!("cannot copy {} to {}", file.display(), target.display()))?;
    }
    Ok(())
}

fn remove_file_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::new(format!("cannot remove {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}

/// `npm ci` of the lock file. No install script runs: memlab depends on puppeteer, whose
/// script downloads a Chrome (CI reaches registries only, and nothing here drives a browser);
/// esbuild's only checks its binary, which npm installs as an optional dependency.
fn npm_ci(dir: &Path) -> Result<()> {
    let output = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .env("PUPPETEER_SKIP_DOWNLOAD", "1")
        .current_dir(dir)
        .output()
        .context(|| "cannot run npm (is it on PATH?)".to_string())?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "`npm ci` in {} failed ({}): {}",
            dir.display(),
            output.status,
            tail(&output.stderr)
        )));
    }
    Ok(())
}

/// Bundles DevTools' loader with esbuild (`node build.mjs`), into a temporary name first.
fn bundle(dir: &Path) -> Result<()> {
    let tmp = format!("{BUNDLE}.tmp");
    let output = Command::new("node")
        .arg("build.mjs")
        .arg(&tmp)
        .current_dir(dir)
        .output()
        .context(|| "cannot run node (is it on PATH?)".to_string())?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "bundling DevTools' heap snapshot loader (`node build.mjs` in {}) failed ({}): {}",
            dir.display(),
            output.status,
            tail(&output.stderr)
        )));
    }
    std::fs::rename(dir.join(&tmp), dir.join(BUNDLE))
        .context(|| format!("cannot write {}", dir.join(BUNDLE).display()))
}

/// The last lines of a tool's stderr, for an error message.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sources_are_complete_and_keyed() {
        let layout = Layout::new();
        let files = source_files(&sources(&layout)).expect("fixtures/consumers lists");
        let all = hash(&files, None).expect("hashes");
        let npm: Vec<PathBuf> = NPM_FILES.iter().map(|f| sources(&layout).join(f)).collect();
        let npm = hash(&npm, Some("npm")).expect("hashes");
        assert_eq!(all.len(), 64);
        assert_ne!(all, npm);
        assert_eq!(all, hash(&files, None).expect("hashes"));
    }

    #[test]
    fn tails_are_short() {
        let long: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let t = tail(long.as_bytes());
        assert!(t.starts_with("line 80\n") && t.ends_with("line 99"), "{t}");
    }
}
