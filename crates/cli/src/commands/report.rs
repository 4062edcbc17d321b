//! `report`: node's diagnostic report (`process.report.getReport()`) rebuilt from a core: the
//! same document shape and key names, so that tools reading node's reports read it. What a core
//! cannot know (the time of the dump, the host, CPU and network state, resource usage and
//! limits) is left out and listed in `header.coroner.omitted`, never invented.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args as ClapArgs;
use coroner_analysis::triage::{self, StackEntry};
use coroner_analysis::{Analysis, HandleState, LoopState, NamedFrame, NamedKind, NodeInfo};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::CommandError;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `report`.
#[derive(Debug, ClapArgs)]
pub struct ReportArgs {
    /// Write the report to FILE (as node's `--report-directory` would), instead of printing it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Leave the environment variables out (`environmentVariables` is omitted), for a report
    /// that leaves the machine.
    #[arg(long)]
    pub exclude_env: bool,
}

/// What the report leaves out, in every report it writes: a core does not hold them.
const ALWAYS_OMITTED: [&str; 14] = [
    "header.dumpEventTime",
    "header.dumpEventTimeStamp",
    "header.glibcVersionRuntime",
    "header.glibcVersionCompiler",
    "header.osRelease",
    "header.osVersion",
    "header.osMachine",
    "header.cpus",
    "header.networkInterfaces",
    "header.host",
    "resourceUsage",
    "uvthreadResourceUsage",
    "userLimits",
    "javascriptHeap: capacity, available, global handles, malloced memory and context counts",
];

/// The rebuilt report: one JSON document (node's shape and key order), with or without
/// `--json`.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct NodeReport {
    document: Document,
    #[serde(skip)]
    written: Option<PathBuf>,
}

/// Node's report, its sections in node's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    header: Header,
    javascript_stack: Value,
    javascript_heap: Value,
    native_stack: Value,
    libuv: Value,
    workers: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment_variables: Option<Value>,
    shared_objects: Vec<String>,
}

/// The report's header, in node's order, with coroner's note last.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    report_version: u32,
    event: String,
    trigger: &'static str,
    filename: Option<String>,
    process_id: Option<u32>,
    thread_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwd: Option<String>,
    command_line: Vec<String>,
    nodejs_version: Option<String>,
    word_size: u32,
    arch: Option<String>,
    platform: Option<String>,
    component_versions: Value,
    release: Value,
    os_name: &'static str,
    coroner: Value,
}

/// Rebuilds the report.
pub fn run(session: &Session, args: &ReportArgs) -> Result<NodeReport, CommandError> {
    let analysis = session.analysis()?;
    let info = analysis.node_info();
    let state = analysis.node_state();
    let image = session.image();
    let triage = triage::triage(image, Some(analysis), None);
    let main_isolate = info.threads.first().map(|t| t.isolate);
    let mut omitted: Vec<String> = ALWAYS_OMITTED.iter().map(|s| s.to_string()).collect();
    if info.cwd.is_none() {
        omitted.push("header.cwd (process.cwd() was never called)".to_string());
    }
    if args.exclude_env {
        omitted.push("environmentVariables (--exclude-env)".to_string());
    }
    let node_version = info
        .versions
        .iter()
        .find(|(k, _)| k == "node")
        .map(|(_, v)| v.clone());
    let header = Header {
        report_version: report_version(node_version.as_deref()),
        event: triage.reason.summary.clone(),
        trigger: "coroner",
        filename: args.output.as_ref().map(|p| p.display().to_string()),
        process_id: image.core().process().map(|p| p.pid),
        thread_id: info.threads.first().and_then(|t| t.thread_id),
        cwd: info.cwd.clone(),
        command_line: info.argv.clone(),
        nodejs_version: node_version.map(|v| format!("v{v}")),
        word_size: 64,
        arch: info.arch.clone(),
        platform: info.platform.clone(),
        component_versions: pairs(&info.versions),
        release: pairs(&info.release),
        os_name: "Linux",
        coroner: json!({
            "note": "rebuilt by coroner from a core dump: the process's state at the dump, not at a call of process.report.getReport(); fields a core does not hold are omitted",
            "core": image.core_path().display().to_string(),
            "omitted": omitted,
            // Under --redact: strings, bytes, environment values and arguments are withheld.
            "redacted": session.redactor().is_some(),
        }),
    };
    let crashed = triage.thread.as_ref().map(|t| t.index);
    let document = Document {
        header,
        javascript_stack: json!({
            "message": triage.reason.summary,
            "stack": js_stack(&triage.js_stack),
        }),
        javascript_heap: heap(&triage.heap, main_isolate),
        native_stack: native_stack(
            crashed
                .and_then(|i| analysis.stacks().get(i))
                .map(|t| t.frames.as_slice()),
        ),
        libuv: libuv(
            state
                .loops
                .iter()
                .find(|l| l.isolate == main_isolate || l.event_loop.default),
        ),
        workers: workers(analysis, &info, &triage.heap),
        environment_variables: (!args.exclude_env).then(|| pairs(&info.env)),
        // The dynamic linker's list, as node lists it; else the files the kernel saw mapped.
        shared_objects: image.loaded_objects().unwrap_or_else(|| {
            image
                .modules()
                .iter()
                .filter(|m| image.executable().is_none_or(|e| !std::ptr::eq(e, *m)))
                .map(|m| m.path.clone())
                .collect()
        }),
    };
    let written = match &args.output {
        Some(path) => {
            let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
            std::fs::write(path, format!("{text}\n"))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Some(path.clone())
        }
        None => None,
    };
    Ok(NodeReport { document, written })
}

/// The `reportVersion` node writes for its release: 3 up to Node 19, 4 from 20 (and 22 before
/// 22.13), 5 from 22.13 and 23.3 on.
fn report_version(node: Option<&str>) -> u32 {
    let mut parts = node
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    match (major, minor) {
        (..=19, _) => 3,
        (20..=21, _) | (22, ..=12) | (23, ..=2) => 4,
        _ => 5,
    }
}

/// Name-value pairs as a JSON object.
fn pairs(pairs: &[(String, String)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// JavaScript frames as V8's stack traces print them.
fn js_stack(frames: &[StackEntry]) -> Vec<String> {
    frames
        .iter()
        .map(|f| {
            let at = match (&f.file, f.line, f.column) {
                (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}"),
                (Some(file), _, _) => file.clone(),
                _ => "<anonymous>".to_string(),
            };
            let prefix = if f.is_async { "at async " } else { "at " };
            format!("{prefix}{} ({at})", f.function)
        })
        .collect()
}

/// A thread's frames as node's report lists them: `pc` and `symbol [module]`.
fn native_stack(frames: Option<&[NamedFrame]>) -> Value {
    Value::Array(
        frames
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let module = match &f.kind {
                    NamedKind::Native {
                        module: Some(m), ..
                    } => format!(" [{m}]"),
                    _ => String::new(),
                };
                json!({"pc": format!("{:#018x}", f.pc), "symbol": format!("{}{module}", f.function)})
            })
            .collect(),
    )
}

/// One isolate's `javascriptHeap`.
fn heap(stats: &[coroner_heap::HeapStatistics], isolate: Option<usize>) -> Value {
    let Some(s) = stats.iter().find(|s| Some(s.isolate) == isolate) else {
        return json!({});
    };
    let spaces: Map<String, Value> = s
        .spaces
        .iter()
        .map(|sp| {
            (
                sp.space.statistics_name().to_string(),
                json!({"memorySize": sp.committed, "committedMemory": sp.committed, "used": sp.used}),
            )
        })
        .collect();
    json!({
        "totalMemory": s.committed(),
        "totalCommittedMemory": s.committed(),
        "usedMemory": s.used(),
        "memoryLimit": s.limit,
        "externalMemory": s.external,
        "heapSpaces": spaces,
    })
}

/// A loop's handles as node's report lists them, the loop last.
fn libuv(state: Option<&LoopState>) -> Value {
    let Some(l) = state else {
        return json!([]);
    };
    let mut out: Vec<Value> = l
        .handles
        .iter()
        .map(|h| handle(h, l.event_loop.time))
        .collect();
    out.push(json!({
        "type": "loop",
        "is_active": l.event_loop.active_handles.is_some_and(|n| n > 0)
            || l.event_loop.active_requests.is_some_and(|n| n > 0),
        "address": format!("{:#018x}", l.event_loop.address),
    }));
    Value::Array(out)
}

fn handle(h: &HandleState, now: Option<u64>) -> Value {
    let u = &h.handle;
    let mut m = Map::new();
    m.insert(
        "type".into(),
        json!(u
            .kind
            .map_or_else(|| format!("unknown({})", u.type_number), str::to_string)),
    );
    m.insert("is_active".into(), json!(u.active));
    m.insert("is_referenced".into(), json!(u.referenced));
    m.insert("address".into(), json!(format!("{:#018x}", u.address)));
    let endpoint = |e: &Option<String>| {
        e.as_ref().and_then(|e| {
            let (host, port) = e.rsplit_once(':')?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let family = if host.contains(':') { "ip6" } else { "ip4" };
            Some(json!({"host": host, family: host, "port": port.parse::<u64>().ok()?}))
        })
    };
    if let Some(o) = &h.owner {
        if let Some(e) = endpoint(&o.local) {
            m.insert("localEndpoint".into(), e);
        }
        if let Some(e) = endpoint(&o.remote) {
            m.insert("remoteEndpoint".into(), e);
        }
    }
    if let Some(fd) = u.fd {
        m.insert("fd".into(), json!(fd));
    }
    if let Some(pid) = u.pid {
        m.insert("pid".into(), json!(pid));
    }
    if let Some(s) = u.signum {
        m.insert("signum".into(), json!(s));
        m.insert("signal".into(), json!(coroner_image::signal_name(s)));
    }
    if let Some(p) = &u.path {
        m.insert("filename".into(), json!(p));
    }
    if let Some((due, repeat)) = u.timer {
        m.insert("repeat".into(), json!(repeat));
        if let Some(now) = now {
            m.insert("firesInMsFromNow".into(), json!(due as i64 - now as i64));
            m.insert("expired".into(), json!(due < now));
        }
    }
    Value::Object(m)
}

/// Each worker's report: its thread id, JavaScript stack, heap and loop.
fn workers(
    analysis: &Analysis<'_>,
    info: &NodeInfo,
    heaps: &[coroner_heap::HeapStatistics],
) -> Value {
    let state = analysis.node_state();
    Value::Array(
        info.threads
            .iter()
            .skip(1)
            .map(|w| {
                let stack = analysis
                    .stacks()
                    .iter()
                    .find(|t| t.isolate == Some(w.isolate));
                let js = js_stack(&triage::js_entries(
                    stack.map(|t| t.frames.as_slice()).unwrap_or_default(),
                ));
                json!({
                    "header": {"threadId": w.thread_id, "processId": analysis.image().core().process().map(|p| p.pid)},
                    "javascriptStack": {"message": "worker", "stack": js},
                    "javascriptHeap": heap(heaps, Some(w.isolate)),
                    "nativeStack": native_stack(stack.map(|t| t.frames.as_slice())),
                    "libuv": libuv(state.loops.iter().find(|l| Some(l.event_loop.address) == w.event_loop)),
                })
            })
            .collect(),
    )
}

impl Report for NodeReport {
    fn write_text(&self, out: &mut dyn Write, _style: &TextStyle) -> io::Result<()> {
        match &self.written {
            Some(path) => writeln!(out, "report written to {}", path.display()),
            None => {
                serde_json::to_writer_pretty(&mut *out, &self.document)
                    .map_err(io::Error::other)?;
                writeln!(out)
            }
        }
    }
}
