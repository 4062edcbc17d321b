//! Scenarios: the programs whose cores the fixtures are.
//!
//! Every `fixtures/*.js` is a scenario of the default set, dumped as abort, gcore and live
//! cores on every pinned version (or the kinds its header names: `// kinds: gcore live`). Every `fixtures/crashes/*.js` is a crash scenario, also of the
//! default set: the process dies by itself (one `crash` core per version), as its header says:
//! `// node-options: ...` (node's flags), `// signal: SIGABRT` (what it dies of), and
//! `// addon: support/x.c` (a native addon the xtask compiles for it), and for a process a
//! debugger stops, `// gdb-breaks: TRIGGER then TARGET` (see [`Scenario::breakpoints`]).
//! `fixtures/large/large.js`
//! is the benchmark scenario `large`, built only on request (`--large`), only as a gcore, only
//! on the default version. `fixtures/demo/leak.js` is the demo scenario `leak` (a leaking HTTP
//! server), in the default set as one abort core of the default version.

use std::path::PathBuf;
use std::time::Duration;

use coroner_fixtures::Kind;
use sha2::{Digest, Sha256};

use crate::error::{Context, Error, Result};
use crate::layout::Layout;

/// Bump to rebuild every fixture when the pipeline itself changes what it makes (e.g. how
/// node is run, or what is checked).
pub const PIPELINE_VERSION: u32 = 1;

/// Name of the demo scenario.
pub const DEMO: &str = "leak";
/// Name of the benchmark scenario.
pub const LARGE: &str = "large";
/// The scenario ten times the size of `large` (about 6 million objects), built only when named
/// (`--scenarios huge`): the figures of docs/performance.md on a heap an order of magnitude
/// bigger.
pub const HUGE: &str = "huge";

/// A scenario and how to run it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name: the file name without `.js`.
    pub name: String,
    /// The script, absolute.
    pub script: PathBuf,
    /// Node options placed before the script.
    pub node_args: Vec<String>,
    /// The script's own arguments (`// script-args:`), after it.
    pub script_args: Vec<String>,
    /// The kinds of dump made of it.
    pub kinds: Vec<Kind>,
    /// Only on the default version (and only when asked for).
    pub default_version_only: bool,
    /// How long one run may take.
    pub timeout: Duration,
    /// For a crash scenario, the signal the process dies of.
    pub signal: Option<i32>,
    /// For a crash scenario, the C source of the native addon it loads (compiled by the xtask,
    /// its path given to the scenario as `CORONER_ADDON`).
    pub addon: Option<PathBuf>,
    /// For a crash scenario stopped by a debugger (`// gdb-breaks: TRIGGER then TARGET`): node
    /// runs under gdb, which sets a breakpoint on TARGET when TRIGGER is first called, and
    /// writes the core when TARGET is reached (symbols by their mangled names).
    pub breakpoints: Option<(String, String)>,
}

impl Scenario {
    /// The cache key of its fixture for (`version`, `kind`): the sha256 of everything that
    /// determines the fixture: the scenario and harness sources, the version, the kind, node's
    /// options and [`PIPELINE_VERSION`].
    pub fn cache_key(&self, harness: &[u8], version: &str, kind: Kind) -> Result<String> {
        let script = std::fs::read(&self.script)
            .context(|| format!("cannot read {}", self.script.display()))?;
        let mut hash = Sha256::new();
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        field(format!("coroner fixture pipeline {PIPELINE_VERSION}").as_bytes());
        field(self.name.as_bytes());
        field(&script);
        field(harness);
        field(version.as_bytes());
        field(kind.as_str().as_bytes());
        field(self.node_args.join("\0").as_bytes());
        // Only when there are some: the keys of scenarios without them stay as they were.
        if !self.script_args.is_empty() {
            field(self.script_args.join("\0").as_bytes());
        }
        if let Some(addon) = &self.addon {
            field(&std::fs::read(addon).context(|| format!("cannot read {}", addon.display()))?);
        }
        Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// The default set: every `fixtures/*.js`, sorted by name.
pub fn default_set(layout: &Layout) -> Result<Vec<Scenario>> {
    let mut scenarios = Vec::new();
    for (name, script) in scripts_in(&layout.sources)? {
        let text = std::fs::read_to_string(&script)
            .context(|| format!("cannot read {}", script.display()))?;
        let kinds = match header(&text, "kinds") {
            None => Kind::ALL.to_vec(),
            Some(list) => list
                .split_whitespace()
                .map(|k| {
                    Kind::ALL
                        .into_iter()
                        .find(|kind| kind.as_str() == k)
                        .ok_or_else(|| {
                            Error::new(format!(
                                "{}: unknown kind {k:?} in `// kinds:`",
                                script.display()
                            ))
                        })
                })
                .collect::<Result<_>>()?,
        };
        let script_args = header(&text, "script-args")
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default();
        scenarios.push(Scenario {
            name,
            script,
            node_args: Vec::new(),
            script_args,
            kinds,
            default_version_only: false,
            timeout: Duration::from_secs(180),
            signal: None,
            addon: None,
            breakpoints: None,
        });
    }
    if scenarios.is_empty() {
        return Err(Error::new(format!(
            "no scenarios (*.js) in {}",
            layout.sources.display()
        )));
    }
    scenarios.sort_by(|a, b| a.name.cmp(&b.name));
    scenarios.extend(crashes(layout)?);
    scenarios.push(demo(layout));
    Ok(scenarios)
}

/// The crash scenarios: every `fixtures/crashes/*.js`, sorted by name, read from their headers.
pub fn crashes(layout: &Layout) -> Result<Vec<Scenario>> {
    let dir = layout.sources.join("crashes");
    let mut scenarios = Vec::new();
    for (name, path) in scripts_in(&dir)? {
        let text =
            std::fs::read_to_string(&path).context(|| format!("cannot read {}", path.display()))?;
        let header = |key: &str| header(&text, key);
        let signal = header("signal").and_then(signal_number).ok_or_else(|| {
            Error::new(format!("{}: no `// signal: SIGxxx` header", path.display()))
        })?;
        scenarios.push(Scenario {
            name,
            script: path.clone(),
            node_args: header("node-options")
                .map(|o| o.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
            script_args: Vec::new(),
            kinds: vec![Kind::Crash],
            default_version_only: false,
            timeout: Duration::from_secs(180),
            signal: Some(signal),
            addon: header("addon").map(|a| dir.join(a)),
            breakpoints: header("gdb-breaks")
                .map(|b| {
                    b.split_once(" then ")
                        .map(|(t, g)| (t.trim().to_string(), g.trim().to_string()))
                        .ok_or_else(|| {
                            Error::new(format!(
                                "{}: `// gdb-breaks: TRIGGER then TARGET` expected",
                                path.display()
                            ))
                        })
                })
                .transpose()?,
        });
    }
    scenarios.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(scenarios)
}

/// The value of a scenario's header line `// KEY: value` (the comment lines at its top).
fn header<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let prefix = format!("// {key}: ");
    text.lines()
        .take_while(|l| l.starts_with("//") || l.starts_with("'use strict'"))
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::trim)
}

/// The scripts directly in `dir` (`NAME.js`, files only), as `(NAME, path)`.
fn scripts_in(dir: &std::path::Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir).context(|| format!("cannot list {}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .context(|| format!("cannot list {}", dir.display()))?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".js"))
            .map(str::to_string);
        if let Some(name) = name.filter(|_| path.is_file()) {
            out.push((name, path));
        }
    }
    Ok(out)
}

/// The number of a signal named in a header.
fn signal_number(name: &str) -> Option<i32> {
    match name {
        "SIGILL" => Some(4),
        "SIGTRAP" => Some(5),
        "SIGABRT" => Some(6),
        "SIGBUS" => Some(7),
        "SIGFPE" => Some(8),
        "SIGSEGV" => Some(11),
        _ => None,
    }
}

/// The demo scenario `fixtures/demo/leak.js`: a leaking HTTP server, one abort core of the
/// default version. In the default set: the leak hunt `cargo xtask demo` shows (and
/// docs/leak-hunt.md walks through) is tested on it.
pub fn demo(layout: &Layout) -> Scenario {
    Scenario {
        name: DEMO.to_string(),
        script: layout.sources.join("demo").join("leak.js"),
        node_args: Vec::new(),
        script_args: Vec::new(),
        kinds: vec![Kind::Abort],
        default_version_only: true,
        timeout: Duration::from_secs(180),
        signal: None,
        addon: None,
        breakpoints: None,
    }
}

/// The benchmark scenario `fixtures/large/large.js`.
pub fn large(layout: &Layout) -> Scenario {
    Scenario {
        name: LARGE.to_string(),
        script: layout.sources.join("large").join("large.js"),
        node_args: vec!["--max-old-space-size=4096".to_string()],
        script_args: Vec::new(),
        kinds: vec![Kind::Gcore],
        default_version_only: true,
        timeout: Duration::from_secs(900),
        signal: None,
        addon: None,
        breakpoints: None,
    }
}

/// The `huge` benchmark scenario: a live core (no heap snapshot, whose V8 graph of 6 million
/// objects would take longer than the rest), default version only.
pub fn huge(layout: &Layout) -> Scenario {
    Scenario {
        name: HUGE.to_string(),
        script: layout.sources.join("huge").join("huge.js"),
        node_args: vec!["--max-old-space-size=8192".to_string()],
        script_args: Vec::new(),
        kinds: vec![Kind::Live],
        default_version_only: true,
        timeout: Duration::from_secs(1800),
        signal: None,
        addon: None,
        breakpoints: None,
    }
}

/// Every scenario that may have fixtures: the default set, `large` and `huge`.
pub fn known(layout: &Layout) -> Result<Vec<Scenario>> {
    let mut all = default_set(layout)?;
    all.push(large(layout));
    all.push(huge(layout));
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_covers_every_input() {
        let layout = Layout::new();
        let scenario = default_set(&layout).expect("scenarios").remove(0);
        let key = |s: &Scenario, harness: &[u8], version: &str, kind: Kind| {
            s.cache_key(harness, version, kind).expect("key")
        };
        let base = key(&scenario, b"h", "20.20.2", Kind::Abort);
        assert_eq!(base.len(), 64);
        assert_eq!(base, key(&scenario, b"h", "20.20.2", Kind::Abort));
        assert_ne!(base, key(&scenario, b"h2", "20.20.2", Kind::Abort));
        assert_ne!(base, key(&scenario, b"h", "22.23.3", Kind::Abort));
        assert_ne!(base, key(&scenario, b"h", "20.20.2", Kind::Gcore));
        let mut flagged = scenario.clone();
        flagged.node_args.push("--x".into());
        assert_ne!(base, key(&flagged, b"h", "20.20.2", Kind::Abort));
        let mut given = scenario.clone();
        given.script_args.push("--x".into());
        assert_ne!(base, key(&given, b"h", "20.20.2", Kind::Abort));
    }

    #[test]
    fn the_default_set_is_the_top_level_scripts() {
        let names: Vec<String> = default_set(&Layout::new())
            .expect("scenarios")
            .into_iter()
            .map(|s| s.name)
            .collect();
        for expected in [
            "objects",
            "retainers",
            "stack",
            "strings",
            "workers",
            "growth",
            "oom",
            "uncaught-timer",
            "uncaught-fs",
            "segv",
            DEMO,
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names
            .iter()
            .any(|n| n == LARGE || n == HUGE || n == "harness"));
    }
}
