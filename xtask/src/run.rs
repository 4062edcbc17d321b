//! Building one fixture: one node run of one scenario on one version, dumped one way, checked,
//! and moved into place.
//!
//! Everything is made in a sibling temporary directory (`.KIND.tmp`) that is renamed to `KIND`
//! only once complete and checked, with the cache key written to `hash`: an interrupted or
//! failed run never leaves a directory that looks like a fixture. A failed run's temporary
//! directory stays for inspection (its `stderr.txt`), and is removed by the next run.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use coroner_fixtures::{try_snapshot_constructor_counts, Dumper, Expect, Kind};

use crate::dumper;
use crate::elf;
use crate::layout::Layout;
use crate::node::remove_dir_if_exists;
use crate::scenario::Scenario;

/// The core file of a fixture.
pub const CORE: &str = "core";
/// The expectations of a fixture.
pub const EXPECT: &str = "expect.json";
/// The earlier core of a scenario that dumps twice (`harness.earlierCore()`), in its directory.
pub const EARLIER_CORE: &str = "earlier/core";
/// The heap snapshot of a fixture.
pub const SNAPSHOT: &str = "snapshot.heapsnapshot";
/// The cache key of a fixture.
pub const HASH: &str = "hash";
const STDOUT: &str = "stdout.txt";
const STDERR: &str = "stderr.txt";
/// gdb's backtraces of every thread of the core (an oracle for native frames).
pub const GDB_BT: &str = coroner_fixtures::GDB_BT;
/// How long gdb may take to print the backtraces of one core (it takes about half a second).
const GDB_BT_TIMEOUT: Duration = Duration::from_secs(120);
/// The native addon a crash scenario loads, compiled next to its fixture directories (where
/// the core's mappings name it: not in the temporary directory renamed at the end).
const ADDON: &str = "addon.node";
/// The gdb script of a scenario a debugger stops, written in its fixture directory.
const GDB_BREAKS: &str = "gdb-breaks.gdb";
/// Files in a fixture directory that are not the kernel's core.
const OUTPUTS: [&str; 9] = [
    EXPECT,
    "expect.json.tmp",
    STDOUT,
    STDERR,
    "gcore.log",
    HASH,
    CORE,
    GDB_BT,
    "gdb-bt.txt.tmp",
];

/// One fixture to build.
#[derive(Debug, Clone)]
pub struct Job {
    /// Node version.
    pub version: String,
    /// The scenario.
    pub scenario: Scenario,
    /// How to dump it.
    pub kind: Kind,
}

impl Job {
    /// `"20.20.2/objects/abort"`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.version, self.scenario.name, self.kind)
    }
}

/// What the jobs share.
#[derive(Debug)]
pub struct Env<'a> {
    /// Paths.
    pub layout: &'a Layout,
    /// The harness's bytes (part of every cache key).
    pub harness: Vec<u8>,
    /// The compiled trim addon, given to the harness as `CORONER_TRIM`.
    pub trim: PathBuf,
    /// Version → node executable.
    pub exes: BTreeMap<String, PathBuf>,
    /// Who writes abort cores.
    pub abort_dumper: Dumper,
    /// Rebuild even when cached.
    pub force: bool,
}

/// A fixture that is there.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Whether it was built now (else it was cached).
    pub built: bool,
    /// How long building took (zero when cached).
    pub took: Duration,
    /// Apparent size of the core.
    pub core_bytes: u64,
    /// Disk space the core uses (cores are sparse).
    pub core_disk: u64,
}

/// Why a fixture could not be built.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// The log to read (the run's stderr.txt), if the run got that far.
    pub log: Option<PathBuf>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            log: None,
        }
    }
    fn with_log(message: impl Into<String>, log: &Path) -> Failure {
        Failure {
            message: message.into(),
            log: Some(log.to_path_buf()),
        }
    }
}

/// Whether `dir` holds a complete fixture (possibly stale): the core and its oracles,
/// gdb's backtraces included.
pub fn is_complete(dir: &Path) -> bool {
    has_core(dir) && dir.join(GDB_BT).is_file()
}

/// Whether `dir` holds a fixture's core and the files made with it (gdb's backtraces are made
/// from the core afterwards, and cached separately; the heap snapshot, of the kinds that take
/// one, was checked when the fixture was made).
fn has_core(dir: &Path) -> bool {
    [HASH, CORE, EXPECT].iter().all(|f| dir.join(f).is_file())
}

fn sizes(core: &Path) -> (u64, u64) {
    std::fs::metadata(core)
        .map(|m| (m.len(), m.blocks() * 512))
        .unwrap_or((0, 0))
}

/// Builds the fixture of `job` unless it is cached.
pub fn build(env: &Env, job: &Job) -> Result<Outcome, Failure> {
    let started = Instant::now();
    let layout = env.layout;
    let dir = layout.fixture_dir(&job.version, &job.scenario.name, job.kind);
    let key = job
        .scenario
        .cache_key(&env.harness, &job.version, job.kind)
        .map_err(|e| Failure::new(e.to_string()))?;
    if !env.force
        && has_core(&dir)
        && std::fs::read_to_string(dir.join(HASH)).is_ok_and(|h| h.trim() == key)
    {
        if !dir.join(GDB_BT).is_file() {
            let exe = env
                .exes
                .get(&job.version)
                .ok_or_else(|| Failure::new(format!("no node {} was fetched", job.version)))?;
            write_gdb_bt(exe, &dir).map_err(Failure::new)?;
        }
        let (core_bytes, core_disk) = sizes(&dir.join(CORE));
        return Ok(Outcome {
            built: false,
            took: Duration::ZERO,
            core_bytes,
            core_disk,
        });
    }
    let exe = env
        .exes
        .get(&job.version)
        .ok_or_else(|| Failure::new(format!("no node {} was fetched", job.version)))?;
    let tmp = dir.with_file_name(format!(".{}.tmp", job.kind));
    remove_dir_if_exists(&tmp).map_err(|e| Failure::new(e.to_string()))?;
    std::fs::create_dir_all(&tmp)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", tmp.display())))?;
    let log = tmp.join(STDERR);

    let dumper = match job.kind {
        // A process a debugger stops is dumped by that debugger.
        Kind::Crash if job.scenario.breakpoints.is_some() => Dumper::Gdb,
        Kind::Abort | Kind::Live | Kind::Crash => env.abort_dumper,
        Kind::Gcore => Dumper::Gdb,
    };
    // The addon outside the fixture's temporary directory, at the path the core will name.
    let addon = dir.with_file_name(ADDON);
    if let Some(source) = &job.scenario.addon {
        compile_addon(source, &addon).map_err(|message| Failure::with_log(message, &log))?;
    }
    let status = run_node(job, exe, &tmp, dumper, &addon, &env.trim)
        .map_err(|message| Failure::with_log(message, &log))?;
    let core =
        take_core(job, &tmp, dumper, status).map_err(|message| Failure::with_log(message, &log))?;
    check(job, exe, &tmp, dumper).map_err(|message| Failure::with_log(message, &log))?;
    // gdb writes every page, including reserved-but-untouched ones, as zeros: punch them out
    // so the core is sparse like the kernel's (same bytes, a fraction of the disk). An earlier
    // core (`harness.earlierCore()`) is always gdb's.
    let earlier = tmp.join(EARLIER_CORE);
    let gdb_cores = [
        (dumper == Dumper::Gdb).then_some(&core),
        earlier.is_file().then_some(&earlier),
    ];
    for gdb_core in gdb_cores.into_iter().flatten() {
        let _ = Command::new("fallocate")
            .arg("--dig-holes")
            .arg(gdb_core)
            .stderr(Stdio::null())
            .status();
    }
    write_gdb_bt(exe, &tmp).map_err(|message| Failure::with_log(message, &log))?;
    std::fs::write(tmp.join(HASH), format!("{key}\n"))
        .map_err(|e| Failure::new(format!("cannot write {}: {e}", tmp.join(HASH).display())))?;
    put_in_place(&tmp, &dir).map_err(Failure::new)?;
    let (core_bytes, core_disk) = sizes(&dir.join(CORE));
    Ok(Outcome {
        built: true,
        took: started.elapsed(),
        core_bytes,
        core_disk,
    })
}

/// Runs the scenario in `out` so that it dumps as `job.kind`; returns node's exit status.
fn run_node(
    job: &Job,
    exe: &Path,
    out: &Path,
    dumper: Dumper,
    addon: &Path,
    trim: &Path,
) -> Result<Option<ExitStatus>, String> {
    let scenario = &job.scenario;
    let mut command = match (job.kind, dumper) {
        (Kind::Abort | Kind::Live | Kind::Crash, Dumper::Kernel) => {
            // The shell raises the core size limit, then becomes node (same pid).
            let mut c = Command::new("sh");
            c.arg("-c").arg(r#"ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"; exec "$0" "$@""#).arg(exe);
            c
        }
        (Kind::Crash, Dumper::Gdb) if scenario.breakpoints.is_some() => {
            let script = out.join(GDB_BREAKS);
            std::fs::write(&script, gdb_breaks_script(scenario))
                .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
            let mut c = Command::new("gdb");
            c.args(["--readnever", "-batch", "-x"])
                .arg(&script)
                .arg("--args")
                .arg(exe);
            c
        }
        (Kind::Abort | Kind::Live | Kind::Crash, Dumper::Gdb) => {
            let mut c = Command::new("gdb");
            c.args([
                "--readnever",
                "-batch",
                "-ex",
                "run",
                "-ex",
                &format!("gcore {CORE}"),
                "-ex",
                "kill",
                "--args",
            ])
            .arg(exe);
            c
        }
        (Kind::Gcore, _) => Command::new(exe),
    };
    command
        .args(&scenario.node_args)
        .arg(&scenario.script)
        .args(&scenario.script_args);
    let stdout =
        File::create(out.join(STDOUT)).map_err(|e| format!("cannot create {STDOUT}: {e}"))?;
    let stderr =
        File::create(out.join(STDERR)).map_err(|e| format!("cannot create {STDERR}: {e}"))?;
    command
        .current_dir(out)
        .env("CORONER_DUMP", job.kind.as_str())
        .env("CORONER_OUT", out)
        .env(
            "CORONER_DUMPER",
            if dumper == Dumper::Gdb {
                "gdb"
            } else {
                "kernel"
            },
        )
        .env("CORONER_SCENARIO", &scenario.name)
        .env("CORONER_ADDON", addon)
        .env("CORONER_TRIM", trim)
        .env("LC_ALL", "C")
        .env_remove("NODE_OPTIONS")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    wait(&mut child, scenario.timeout).map_err(|e| format!("waiting for node: {e}"))
}

/// The gdb script of a scenario a debugger stops: TARGET's breakpoint is set when TRIGGER is
/// first reached (so that what runs before the scenario, node's bootstrap, cannot reach it),
/// and the core is written where TARGET stops the process.
fn gdb_breaks_script(scenario: &crate::scenario::Scenario) -> String {
    let (trigger, target) = scenario.breakpoints.clone().unwrap_or_default();
    format!(
        "set pagination off\nbreak {trigger}\ncommands 1\n  silent\n  break {target}\n  continue\nend\nrun\ngcore {CORE}\nkill\n"
    )
}

/// Waits for `child`; kills its process group after `timeout` (then returns `None`).
fn wait(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if started.elapsed() > timeout {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// Checks how node ended, and finds the core (renaming the kernel's to `core`).
fn take_core(
    job: &Job,
    out: &Path,
    dumper: Dumper,
    status: Option<ExitStatus>,
) -> Result<PathBuf, String> {
    let Some(status) = status else {
        return Err(format!(
            "node did not finish within {} s",
            job.scenario.timeout.as_secs()
        ));
    };
    match (job.kind, dumper) {
        (Kind::Abort | Kind::Live, Dumper::Kernel) if status.signal() != Some(6) => {
            return Err(format!("node {} instead of aborting", describe(status)))
        }
        (Kind::Crash, Dumper::Kernel) if status.signal() != job.scenario.signal => {
            return Err(format!(
                "node {} instead of dying of signal {}",
                describe(status),
                job.scenario.signal.unwrap_or(0)
            ))
        }
        (Kind::Gcore, _) if !status.success() => return Err(format!("node {}", describe(status))),
        _ => {}
    }
    let core = out.join(CORE);
    if dumper == Dumper::Kernel {
        // `core`, `core.PID`, or whatever plain name core_pattern makes.
        let candidates: Vec<PathBuf> = std::fs::read_dir(out)
            .map_err(|e| format!("cannot list {}: {e}", out.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                p.is_file() && !OUTPUTS.contains(&name) && !name.ends_with(".heapsnapshot")
            })
            .collect();
        match candidates.as_slice() {
            [one] => std::fs::rename(one, &core).map_err(|e| format!("cannot rename {}: {e}", one.display()))?,
            [] if core.is_file() => {}
            [] => {
                return Err(format!(
                    "node aborted but no core appeared in {} (core_pattern {:?}; try --abort-dumper gdb)",
                    out.display(),
                    dumper::core_pattern().unwrap_or_default()
                ))
            }
            many => return Err(format!("several possible cores in {}: {many:?}", out.display())),
        }
    }
    if !core.is_file() {
        return Err(match job.kind {
            Kind::Gcore => {
                "node exited normally but no core appeared (did the scenario call harness.dump?)"
                    .to_string()
            }
            Kind::Abort | Kind::Live | Kind::Crash => format!(
                "gdb {} but no core appeared (did node die of a signal?)",
                describe(status)
            ),
        });
    }
    Ok(core)
}

/// Compiles a native addon (a crash scenario's, or the harness's trim addon) to `out` (`cc`, or
/// `$CC`: the compiler cargo uses anyway), through a temporary file renamed into place, so that
/// a core never names a half-written file; an identical `out` is left as it is, so that the
/// cached cores that name it still name the same file.
pub fn compile_addon(source: &Path, out: &Path) -> Result<(), String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = out.with_extension("node.tmp");
    let output = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O1", "-g", "-o"])
        .arg(&tmp)
        .arg(source)
        .output()
        .map_err(|e| format!("cannot run {cc} to build the addon: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{cc} could not build {}: {}",
            source.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if std::fs::read(out).ok() == std::fs::read(&tmp).ok() {
        return std::fs::remove_file(&tmp)
            .map_err(|e| format!("cannot remove {}: {e}", tmp.display()));
    }
    std::fs::rename(&tmp, out).map_err(|e| format!("cannot rename {}: {e}", tmp.display()))
}

/// Checks a fresh fixture: expect.json is this run's, the snapshot has the expected class
/// counts, and the core has one thread per recorded thread.
fn check(job: &Job, exe: &Path, out: &Path, dumper: Dumper) -> Result<(), String> {
    let expect = Expect::load(&out.join(EXPECT)).map_err(|e| e.to_string())?;
    let same_file = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if expect.scenario != job.scenario.name
        || expect.kind != job.kind
        || expect.dumper != dumper
        || expect.node_version != format!("v{}", job.version)
        || !same_file(&expect.exec_path, exe)
    {
        return Err(format!(
            "expect.json is for {} {} {:?} on {} ({}), not this run",
            expect.scenario,
            expect.kind,
            expect.dumper,
            expect.node_version,
            expect.exec_path.display()
        ));
    }
    if job.kind.has_snapshot() {
        let counts =
            try_snapshot_constructor_counts(out.join(SNAPSHOT)).map_err(|e| e.to_string())?;
        for (class, &expected) in &expect.classes {
            let found = counts.get(class).copied().unwrap_or(0);
            if found != expected {
                return Err(format!(
                    "the heap snapshot has {found} {class}, expect.json says {expected}"
                ));
            }
        }
    } else if out.join(SNAPSHOT).exists() {
        return Err(format!(
            "a {} core must be dumped without a heap snapshot",
            job.kind
        ));
    }
    let core = elf::summarize(&out.join(CORE)).map_err(|e| e.to_string())?;
    if core.threads.len() != expect.threads as usize {
        return Err(format!(
            "the core has {} threads (NT_PRSTATUS), expect.json says {}",
            core.threads.len(),
            expect.threads
        ));
    }
    if !core.threads.iter().any(|t| t.tid == expect.pid) {
        return Err(format!(
            "no thread of the core is the main thread {}",
            expect.pid
        ));
    }
    if job.kind.aborts() && !core.threads.iter().any(|t| t.signal == 6) {
        return Err("no thread of the abort core stopped on SIGABRT".to_string());
    }
    if let Some(signal) = job.scenario.signal.filter(|_| job.kind == Kind::Crash) {
        if !core.threads.iter().any(|t| i32::from(t.signal) == signal) {
            return Err(format!(
                "no thread of the crash core stopped on signal {signal}"
            ));
        }
    }
    Ok(())
}

/// Writes `gdb-bt.txt` in `dir`: what gdb prints for `thread apply all bt` on the fixture's
/// core (debuginfod off, no init files), checked to hold one thread per thread of the core.
fn write_gdb_bt(exe: &Path, dir: &Path) -> Result<(), String> {
    let tmp = dir.join("gdb-bt.txt.tmp");
    let out = File::create(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let mut command = Command::new("gdb");
    command
        .args([
            "-nx",
            "-batch",
            "-ex",
            "set debuginfod enabled off",
            "-ex",
            "thread apply all bt",
        ])
        .arg(exe)
        .arg(dir.join(CORE))
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run gdb for the backtraces: {e}"))?;
    match wait(&mut child, GDB_BT_TIMEOUT) {
        Ok(Some(status)) if status.success() => {}
        Ok(Some(status)) => {
            return Err(format!("gdb {} printing the backtraces", describe(status)))
        }
        Ok(None) => {
            return Err(format!(
                "gdb did not print the backtraces within {} s",
                GDB_BT_TIMEOUT.as_secs()
            ))
        }
        Err(e) => return Err(format!("waiting for gdb: {e}")),
    }
    let text =
        std::fs::read_to_string(&tmp).map_err(|e| format!("cannot read {}: {e}", tmp.display()))?;
    let threads = coroner_fixtures::parse_gdb_backtraces(&text).len();
    let expect = Expect::load(&dir.join(EXPECT)).map_err(|e| e.to_string())?;
    if threads != expect.threads as usize {
        return Err(format!(
            "gdb printed the backtraces of {threads} threads, expect.json says {} (see {})",
            expect.threads,
            tmp.display()
        ));
    }
    std::fs::rename(&tmp, dir.join(GDB_BT))
        .map_err(|e| format!("cannot write {}: {e}", dir.join(GDB_BT).display()))
}

/// Renames `tmp` to `dir`, replacing any previous fixture.
fn put_in_place(tmp: &Path, dir: &Path) -> Result<(), String> {
    let old = dir.with_file_name(format!(
        ".{}.old",
        dir.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("fixture")
    ));
    remove_dir_if_exists(&old).map_err(|e| e.to_string())?;
    if dir.exists() {
        std::fs::rename(dir, &old)
            .map_err(|e| format!("cannot move {} aside: {e}", dir.display()))?;
    }
    std::fs::rename(tmp, dir)
        .map_err(|e| format!("cannot move {} to {}: {e}", tmp.display(), dir.display()))?;
    remove_dir_if_exists(&old).map_err(|e| e.to_string())
}
