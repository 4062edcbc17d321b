//! Where things are: the fixture sources under `fixtures/`, the outputs under
//! `target/fixtures/` (ignored by git).
//!
//! ```text
//! fixtures/versions.txt, fixtures/*.js, fixtures/support/harness.js, fixtures/large/large.js
//! target/fixtures/support/trim.node                     the harness's trim addon, compiled
//! target/fixtures/node/VERSION/bin/node                 official builds
//! target/fixtures/cores/VERSION/SCENARIO/KIND/          one fixture: core, expect.json, ...
//! target/fixtures/index.json                            the list of fixtures
//! ```

use std::path::{Path, PathBuf};

use coroner_fixtures::Kind;

/// The paths of the fixture pipeline, all absolute.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The workspace root.
    pub root: PathBuf,
    /// `fixtures/`: scenarios, harness, versions.
    pub sources: PathBuf,
    /// `target/fixtures/`: everything the pipeline makes.
    pub out: PathBuf,
}

impl Layout {
    /// The layout of this workspace (found from the xtask's own manifest directory).
    pub fn new() -> Layout {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest.parent().unwrap_or(manifest).to_path_buf();
        let root = root.canonicalize().unwrap_or(root);
        Layout {
            root: root.clone(),
            sources: root.join("fixtures"),
            out: root.join("target").join("fixtures"),
        }
    }

    /// Cargo's target directory (`CARGO_TARGET_DIR` when set), where `cargo build` puts coroner.
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => self.root.join(dir),
            None => self.root.join("target"),
        }
    }

    /// `fixtures/versions.txt`.
    pub fn versions_file(&self) -> PathBuf {
        self.sources.join("versions.txt")
    }

    /// `fixtures/support/harness.js`.
    pub fn harness(&self) -> PathBuf {
        self.sources.join("support").join("harness.js")
    }

    /// `fixtures/support/trim_addon.c`: the addon the harness calls after a heap snapshot.
    pub fn trim_addon_source(&self) -> PathBuf {
        self.sources.join("support").join("trim_addon.c")
    }

    /// `target/fixtures/support/trim.node`: the trim addon, compiled; its path is in every
    /// snapshot fixture's core, as the file of a loaded module.
    pub fn trim_addon(&self) -> PathBuf {
        self.out.join("support").join("trim.node")
    }

    /// `target/fixtures/node/`.
    pub fn node_root(&self) -> PathBuf {
        self.out.join("node")
    }

    /// `target/fixtures/node/VERSION/`.
    pub fn node_dir(&self, version: &str) -> PathBuf {
        self.node_root().join(version)
    }

    /// `target/fixtures/node/VERSION/bin/node`.
    pub fn node_exe(&self, version: &str) -> PathBuf {
        self.node_dir(version).join("bin").join("node")
    }

    /// `target/fixtures/cores/`.
    pub fn cores(&self) -> PathBuf {
        self.out.join("cores")
    }

    /// `target/fixtures/cores/VERSION/SCENARIO/KIND/`.
    pub fn fixture_dir(&self, version: &str, scenario: &str, kind: Kind) -> PathBuf {
        self.cores()
            .join(version)
            .join(scenario)
            .join(kind.as_str())
    }

    /// `target/fixtures/index.json`.
    pub fn index(&self) -> PathBuf {
        self.out.join("index.json")
    }
}
