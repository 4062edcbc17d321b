//! `cargo xtask fixtures`: plans the (version, scenario, kind) fixtures, fetches the Node
//! builds, builds the fixtures that are not cached (2 at a time), and writes
//! `target/fixtures/index.json`. Progress goes to stderr, one line per fixture.

use std::path::Path;
use std::time::Instant;

use coroner_fixtures::IndexEntry;

use crate::dumper::Choice;
use crate::error::{Context, Error, Result};
use crate::layout::Layout;
use crate::node;
use crate::pool;
use crate::run::{self, Env, Job};
use crate::scenario::{self, Scenario, LARGE};
use crate::versions::Versions;

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these versions (all pinned ones when `None`).
    pub versions: Option<Vec<String>>,
    /// Only these scenarios (the default set when `None`).
    pub scenarios: Option<Vec<String>>,
    /// Also the `large` scenario.
    pub large: bool,
    /// Rebuild cached fixtures.
    pub force: bool,
    /// Fixtures built at a time.
    pub jobs: usize,
    /// Who writes abort cores.
    pub abort_dumper: Choice,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            versions: None,
            scenarios: None,
            large: false,
            force: false,
            jobs: 2,
            abort_dumper: Choice::Auto,
        }
    }
}

impl Options {
    /// Parses the command line of `cargo xtask fixtures`.
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options::default();
        let mut args = args.iter();
        let list = |value: Option<&String>, flag: &str| -> Result<Vec<String>> {
            let value = value.ok_or_else(|| Error::new(format!("{flag} needs a value")))?;
            let items: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            if items.is_empty() {
                return Err(Error::new(format!("{flag} needs at least one value")));
            }
            Ok(items)
        };
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = || inline.clone().or_else(|| args.next().cloned());
            match flag {
                "--versions" => options.versions = Some(list(value().as_ref(), flag)?),
                "--scenarios" => options.scenarios = Some(list(value().as_ref(), flag)?),
                "--large" => options.large = true,
                "--force" => options.force = true,
                "--jobs" => {
                    let v = value().ok_or_else(|| Error::new("--jobs needs a value"))?;
                    options.jobs = v.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        Error::new(format!("--jobs must be a positive number, not {v:?}"))
                    })?;
                }
                "--abort-dumper" => {
                    options.abort_dumper = Choice::parse(
                        &value().ok_or_else(|| Error::new("--abort-dumper needs a value"))?,
                    )?
                }
                _ => {
                    return Err(Error::new(format!(
                    "unknown option {arg:?} for `cargo xtask fixtures` (try `cargo xtask help`)"
                )))
                }
            }
        }
        Ok(options)
    }
}

/// `cargo xtask fixtures ARGS`.
pub fn command(args: &[String]) -> Result<()> {
    let options = Options::parse(args)?;
    let layout = Layout::new();
    ensure(&layout, &options)
}

/// The jobs for `options`, longest first.
pub fn plan(layout: &Layout, versions: &Versions, options: &Options) -> Result<Vec<Job>> {
    let selected_versions = match &options.versions {
        Some(list) => {
            for v in list {
                if !versions.contains(v) {
                    return Err(Error::new(format!(
                        "Node {v} is not pinned in {} (pinned: {})",
                        layout.versions_file().display(),
                        versions.all.join(", ")
                    )));
                }
            }
            list.clone()
        }
        None => versions.all.clone(),
    };
    let known = scenario::known(layout)?;
    let mut scenarios: Vec<Scenario> = match &options.scenarios {
        Some(names) => names
            .iter()
            .map(|name| {
                known
                    .iter()
                    .find(|s| &s.name == name)
                    .cloned()
                    .ok_or_else(|| {
                        let names: Vec<&str> = known.iter().map(|s| s.name.as_str()).collect();
                        Error::new(format!(
                            "no scenario {name:?} (known: {})",
                            names.join(", ")
                        ))
                    })
            })
            .collect::<Result<_>>()?,
        None => scenario::default_set(layout)?,
    };
    if options.large && !scenarios.iter().any(|s| s.name == LARGE) {
        scenarios.push(scenario::large(layout));
    }
    let mut jobs = Vec::new();
    for scenario in &scenarios {
        let on: Vec<String> = if scenario.default_version_only {
            vec![versions.default.clone()]
        } else {
            selected_versions.clone()
        };
        for version in on {
            for &kind in &scenario.kinds {
                jobs.push(Job {
                    version: version.clone(),
                    scenario: scenario.clone(),
                    kind,
                });
            }
        }
    }
    // The large fixture first, so the other jobs run alongside it.
    jobs.sort_by_key(|j| {
        (
            j.scenario.name != LARGE,
            version_key(&j.version),
            j.scenario.name.clone(),
            j.kind,
        )
    });
    Ok(jobs)
}

fn version_key(version: &str) -> Vec<u64> {
    version.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Makes sure the fixtures of `options` exist (building what is missing or stale), then
/// rewrites the index.
pub fn ensure(layout: &Layout, options: &Options) -> Result<()> {
    let started = Instant::now();
    let versions = Versions::load(&layout.versions_file())?;
    let jobs = plan(layout, &versions, options)?;
    let (abort_dumper, why) = options.abort_dumper.resolve();
    eprintln!(
        "fixtures: {} to make or check, {} at a time; abort cores written by {} ({why})",
        jobs.len(),
        options.jobs,
        if abort_dumper == coroner_fixtures::Dumper::Gdb {
            "gdb"
        } else {
            "the kernel"
        },
    );

    let mut needed: Vec<String> = jobs.iter().map(|j| j.version.clone()).collect();
    needed.sort_by_key(|v| version_key(v));
    needed.dedup();
    let mut exes = std::collections::BTreeMap::new();
    let mut fetch_errors = Vec::new();
    pool::run(
        &needed,
        options.jobs,
        |version| node::ensure(layout, version),
        |i, result| match result {
            Ok(build) => {
                match build.fetched {
                    Some(took) => eprintln!(
                        "  node {:<8} fetched in {:.1} s",
                        needed[i],
                        took.as_secs_f64()
                    ),
                    None => eprintln!("  node {:<8} present", needed[i]),
                }
                exes.insert(needed[i].clone(), build.exe);
            }
            Err(e) => fetch_errors.push(format!("node {}: {e}", needed[i])),
        },
    );
    if let Some(first) = fetch_errors.first() {
        return Err(Error::new(first.clone()));
    }

    let harness = support_bytes(layout)?;
    let trim = layout.trim_addon();
    run::compile_addon(&layout.trim_addon_source(), &trim).map_err(Error::new)?;
    let env = Env {
        layout,
        harness,
        trim,
        exes,
        abort_dumper,
        force: options.force,
    };
    let total = jobs.len();
    let (mut built, mut cached, mut apparent, mut disk, mut done) = (0, 0, 0u64, 0u64, 0);
    let mut failures = Vec::new();
    pool::run(
        &jobs,
        options.jobs,
        |job| run::build(&env, job),
        |i, result| {
            done += 1;
            let label = jobs[i].label();
            match result {
                Ok(outcome) => {
                    apparent += outcome.core_bytes;
                    disk += outcome.core_disk;
                    let sizes = format!(
                        "core {} ({} on disk)",
                        human(outcome.core_bytes),
                        human(outcome.core_disk)
                    );
                    if outcome.built {
                        built += 1;
                        eprintln!(
                            "  [{done:>2}/{total}] built  {label:<28} {:>6.1} s  {sizes}",
                            outcome.took.as_secs_f64()
                        );
                    } else {
                        cached += 1;
                        eprintln!("  [{done:>2}/{total}] cached {label:<28}           {sizes}");
                    }
                }
                Err(failure) => {
                    let line = match &failure.log {
                        Some(log) => format!(
                            "fixture {label} failed: {} (see {})",
                            failure.message,
                            log.display()
                        ),
                        None => format!("fixture {label} failed: {}", failure.message),
                    };
                    eprintln!("  [{done:>2}/{total}] FAILED {line}");
                    failures.push(line);
                }
            }
        },
    );

    let (indexed, stale) = write_index(layout, &versions, &env.harness)?;
    eprintln!(
        "fixtures: {} ready ({built} built, {cached} cached), {} failed, in {:.1} s; cores {} ({} on disk)",
        built + cached,
        failures.len(),
        started.elapsed().as_secs_f64(),
        human(apparent),
        human(disk)
    );
    let stale_note = if stale > 0 {
        format!(", {stale} stale: rebuild them with `cargo xtask fixtures`")
    } else {
        String::new()
    };
    eprintln!(
        "index: {} ({indexed} fixtures{stale_note})",
        layout.index().display()
    );
    match failures.as_slice() {
        [] => Ok(()),
        [one] => Err(Error::new(one.clone())),
        [first, rest @ ..] => Err(Error::new(format!(
            "{first} (and {} more failures above)",
            rest.len()
        ))),
    }
}

/// Writes `index.json`: every complete fixture of a pinned version and a known scenario.
/// Returns the number of fixtures and how many of them are stale (their sources changed).
/// The bytes of the harness's support files (harness.js, the trim addon's source, and the N-API
/// declarations both addons include): part of every fixture's cache key, since they shape every
/// core.
fn support_bytes(layout: &Layout) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let napi = layout.trim_addon_source().with_file_name("napi.h");
    for path in [layout.harness(), layout.trim_addon_source(), napi] {
        bytes.extend(std::fs::read(&path).context(|| format!("cannot read {}", path.display()))?);
    }
    Ok(bytes)
}

pub fn write_index(layout: &Layout, versions: &Versions, harness: &[u8]) -> Result<(usize, usize)> {
    let mut entries = Vec::new();
    let mut stale = 0;
    let known = scenario::known(layout)?;
    for version in &versions.all {
        for scenario in &known {
            for &kind in &scenario.kinds {
                let dir = layout.fixture_dir(version, &scenario.name, kind);
                if !run::is_complete(&dir) {
                    continue;
                }
                let key = scenario
                    .cache_key(harness, version, kind)
                    .unwrap_or_default();
                if std::fs::read_to_string(dir.join(run::HASH))
                    .map(|h| h.trim() != key)
                    .unwrap_or(true)
                {
                    stale += 1;
                }
                entries.push(IndexEntry {
                    version: version.clone(),
                    scenario: scenario.name.clone(),
                    kind,
                    core: dir.join(run::CORE),
                    exe: layout.node_exe(version),
                    expect: dir.join(run::EXPECT),
                    snapshot: kind.has_snapshot().then(|| dir.join(run::SNAPSHOT)),
                    dir,
                });
            }
        }
    }
    let text = serde_json::to_string_pretty(&entries)
        .context(|| "cannot serialize the index".to_string())?;
    write_atomically(&layout.index(), format!("{text}\n").as_bytes())?;
    Ok((entries.len(), stale))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&tmp, bytes).context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).context(|| format!("cannot write {}", path.display()))
}

/// `48.1 MiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coroner_fixtures::Kind;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_options() {
        let o = Options::parse(&args("--versions 20.20.2,22.23.3 --scenarios=objects --large --force --jobs 3 --abort-dumper gdb")).expect("parses");
        assert_eq!(
            o.versions.as_deref(),
            Some(&["20.20.2".to_string(), "22.23.3".to_string()][..])
        );
        assert_eq!(o.scenarios.as_deref(), Some(&["objects".to_string()][..]));
        assert!(o.large && o.force);
        assert_eq!(o.jobs, 3);
        assert_eq!(
            o.abort_dumper,
            Choice::Forced(coroner_fixtures::Dumper::Gdb)
        );
        assert!(Options::parse(&args("--jobs 0")).is_err());
        assert!(Options::parse(&args("--versions")).is_err());
        assert!(Options::parse(&args("--bogus")).is_err());
    }

    #[test]
    fn plans_jobs() {
        let layout = Layout::new();
        let versions = Versions::parse("18.20.8\n20.20.2 default\n").expect("versions");
        let all = plan(&layout, &versions, &Options::default()).expect("plan");
        let set = scenario::default_set(&layout).expect("scenarios");
        // Every version dumps each scenario; the demo's one core is the default version's.
        let per_version = |s: &scenario::Scenario| if s.default_version_only { 0 } else { 1 };
        let dumps: usize = set.iter().map(|s| s.kinds.len() * per_version(s)).sum();
        let once: usize = set
            .iter()
            .filter(|s| s.default_version_only)
            .map(|s| s.kinds.len())
            .sum();
        assert_eq!(all.len(), 2 * dumps + once);
        assert_eq!(
            all.iter()
                .filter(|j| j.scenario.name == scenario::DEMO)
                .map(|j| j.version.as_str())
                .collect::<Vec<_>>(),
            ["20.20.2"]
        );
        assert!(all.iter().any(|j| j.kind == Kind::Crash));
        assert!(all.iter().all(|j| j.scenario.name != LARGE));

        let large = Options {
            large: true,
            versions: Some(vec!["18.20.8".into()]),
            scenarios: Some(vec!["objects".into()]),
            ..Options::default()
        };
        let jobs = plan(&layout, &versions, &large).expect("plan");
        let labels: Vec<String> = jobs.iter().map(Job::label).collect();
        assert_eq!(
            labels,
            [
                "20.20.2/large/gcore",
                "18.20.8/objects/abort",
                "18.20.8/objects/gcore",
                "18.20.8/objects/live"
            ]
        );

        let unpinned = Options {
            versions: Some(vec!["16.0.0".into()]),
            ..Options::default()
        };
        assert!(plan(&layout, &versions, &unpinned).is_err());
        let unknown = Options {
            scenarios: Some(vec!["nope".into()]),
            ..Options::default()
        };
        assert!(plan(&layout, &versions, &unknown).is_err());
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(50 * 1024 * 1024 + 100 * 1024), "50.1 MiB");
    }
}
