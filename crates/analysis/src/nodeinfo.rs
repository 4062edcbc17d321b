//! `nodeinfo`: what node knew of itself, read from the `process` object of the main isolate
//! (its `versions`, `argv`, `execArgv`, `execPath`, `platform`, `arch`, `release`, `title`), the
//! working directory node cached (`process.cwd()` keeps its first answer), the environment as
//! libc holds it (`process.env` reads and writes libc's), and every worker: its thread id (the
//! `threadId` node gives each isolate's `worker` binding), its isolate, Environment and loop.
//! Under `--redact` environment values and the arguments after the script are withheld.

use coroner_heap::{HeapModel, InspectOptions, Redactor, Value, ValueKind};

use crate::nodestate::NodeState;

/// The longest string read (an environment or argv entry).
const MAX_STRING: u64 = 128 << 10;
/// The most entries read from one array or object.
const MAX_ENTRIES: u64 = 1 << 16;

/// What node knew of itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInfo {
    /// The main isolate's `process` object.
    pub process: Option<u64>,
    /// `process.versions`, in property order.
    pub versions: Vec<(String, String)>,
    /// `process.argv`.
    pub argv: Vec<String>,
    /// `process.execArgv`.
    pub exec_argv: Vec<String>,
    /// `process.execPath`.
    pub exec_path: Option<String>,
    /// `process.platform`.
    pub platform: Option<String>,
    /// `process.arch`.
    pub arch: Option<String>,
    /// `process.release`'s string fields (`name`, `lts`, `sourceUrl`, ...).
    pub release: Vec<(String, String)>,
    /// The working directory node cached, when `process.cwd()` was called.
    pub cwd: Option<String>,
    /// The environment, name and value, in libc's order.
    pub env: Vec<(String, String)>,
    /// Where the environment comes from: `environ` (libc's, as the process last set it) or
    /// `initial stack` (as it started).
    pub env_source: Option<&'static str>,
    /// Node's Environments, the main one first: thread id, isolate, loop.
    pub threads: Vec<NodeThread>,
}

/// One isolate running node: the main thread or a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeThread {
    /// Node's thread id (`worker_threads.threadId`; 0 for the main thread).
    pub thread_id: Option<u64>,
    /// Its isolate.
    pub isolate: usize,
    /// Its `Environment`.
    pub environment: u64,
    /// Its libuv loop.
    pub event_loop: Option<u64>,
}

/// Reads node's view of itself. `processes` are the `process` objects found (the main
/// isolate's is used), `bindings` the objects holding `isMainThread` (node's `worker` binding,
/// one per isolate).
pub(crate) fn read(
    image: &coroner_image::ProcessImage,
    model: &HeapModel<'_>,
    state: &NodeState,
    main_isolate: Option<usize>,
    processes: &[u64],
    bindings: &[u64],
) -> NodeInfo {
    let mut info = NodeInfo::default();
    let process = processes
        .iter()
        .copied()
        .filter(|&p| main_isolate.is_none() || model.isolate_of(p) == main_isolate)
        // `process`'s prototype is named `process` too: the object is the one with versions.
        .find(|&p| model.own_data_property(p, |k| k.is("versions")).is_some());
    if let Some(p) = process {
        info.process = Some(p);
        let prop = |name: &str| model.own_data_property(p, |k| k.is(name));
        let text = |name: &str| prop(name).and_then(|w| string(model, w));
        info.versions = prop("versions")
            .map(|w| string_fields(model, w))
            .unwrap_or_default();
        info.release = prop("release")
            .map(|w| string_fields(model, w))
            .unwrap_or_default();
        info.argv = prop("argv").map(|w| strings(model, w)).unwrap_or_default();
        info.exec_argv = prop("execArgv")
            .map(|w| strings(model, w))
            .unwrap_or_default();
        info.exec_path = text("execPath");
        info.platform = text("platform");
        info.arch = text("arch");
        info.cwd = prop("cwd").and_then(|w| cached_cwd(model, w));
    }
    let (env, source) = match image.live_environment() {
        Some(env) => (env, Some("environ")),
        None => match image.startup() {
            Some(s) => (s.env, Some("initial stack")),
            None => (Vec::new(), None),
        },
    };
    info.env = env
        .into_iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e, String::new()),
        })
        .collect();
    info.env_source = source;
    if let Some(r) = model.redactor() {
        redact(&mut info, r);
    }
    info.threads = state
        .environments
        .iter()
        .map(|e| NodeThread {
            thread_id: bindings
                .iter()
                .filter(|&&b| model.isolate_of(b) == Some(e.isolate))
                .find_map(|&b| model.own_data_property(b, |k| k.is("threadId")))
                .and_then(|w| value(model, w).as_f64())
                .filter(|n| *n >= 0.0 && n.fract() == 0.0)
                .map(|n| n as u64),
            isolate: e.isolate,
            environment: e.address,
            event_loop: e.event_loop,
        })
        .collect();
    info.threads
        .sort_by_key(|t| (Some(t.isolate) != main_isolate, t.thread_id));
    info
}

/// Withholds what may be secret under `--redact`: environment values, and the arguments
/// after the script (all after the executable when node ran code given on its command line).
fn redact(info: &mut NodeInfo, r: &Redactor) {
    for (_, value) in &mut info.env {
        *value = r.text(value);
    }
    let evaluated = info.exec_argv.iter().any(|a| {
        ["-e", "-p", "--eval", "--print", "-pe"].contains(&a.split('=').next().unwrap_or(a))
    });
    let script_at = (!evaluated).then_some(1);
    info.argv = r.arguments(&info.argv, script_at);
}

/// A value read as data, whatever `--redact` withholds from output.
fn value(model: &HeapModel<'_>, word: u64) -> Value {
    model.inspect_tagged(
        word,
        &InspectOptions {
            depth: 1,
            limit: MAX_ENTRIES,
            full_strings: true,
            reveal: true,
            ..InspectOptions::default()
        },
    )
}

fn string(model: &HeapModel<'_>, word: u64) -> Option<String> {
    let s = model.pointer_target(word)?;
    let text = model.string(s, Some(MAX_STRING)).ok()?;
    Some(text.to_string_lossy())
}

/// The string values of an array's elements.
fn strings(model: &HeapModel<'_>, word: u64) -> Vec<String> {
    let v = value(model, word);
    v.object()
        .and_then(|o| o.elements.as_ref())
        .map(|els| {
            els.iter()
                .filter_map(|e| e.value.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The string-valued data properties of an object, in property order.
fn string_fields(model: &HeapModel<'_>, word: u64) -> Vec<(String, String)> {
    let v = value(model, word);
    v.object()
        .and_then(|o| o.properties.as_ref())
        .map(|ps| {
            ps.iter()
                .filter(|p| !p.symbol && !p.accessor)
                .filter_map(|p| match &p.value.kind {
                    ValueKind::String { text, .. } => Some((p.name.clone(), text.clone())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The directory node's `process.cwd` (the function in `word`) cached in its closure
/// (`cachedCwd`), when it was called once.
fn cached_cwd(model: &HeapModel<'_>, word: u64) -> Option<String> {
    let f = model.pointer_target(word)?;
    let ctx = model.function_context(f).ok()?;
    let vars = model.context_variables(ctx).ok()?;
    let (_, w) = vars.into_iter().find(|(n, _)| n == "cachedCwd")?;
    string(model, w).filter(|s| !s.is_empty())
}
