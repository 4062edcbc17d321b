//! `nodeinfo`: what node knew of itself (llnode's `nodeinfo`): versions, command line, working
//! directory, environment, and its threads with their isolates and loops.

use std::collections::BTreeMap;
use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::NodeThread;
use coroner_heap::Redactor;
use serde::Serialize;

use super::CommandError;
use crate::json::hex;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `nodeinfo`.
#[derive(Debug, ClapArgs)]
pub struct NodeInfoArgs {
    /// Replace each environment variable's value by its length and a digest
    /// (`<redacted: 12 chars #3f09c1a27b44>`), for output that leaves the machine (`coroner
    /// --redact` withholds this and every other secret a core holds, from every command).
    #[arg(long)]
    pub redact: bool,
}

/// One node thread: `{"threadId", "isolate", "environment", "loop"}`.
#[derive(Debug, Serialize)]
struct ThreadJson {
    #[serde(rename = "threadId")]
    thread_id: Option<u64>,
    isolate: usize,
    environment: String,
    #[serde(rename = "loop")]
    event_loop: Option<String>,
}

impl ThreadJson {
    fn of(t: &NodeThread) -> ThreadJson {
        ThreadJson {
            thread_id: t.thread_id,
            isolate: t.isolate,
            environment: hex(t.environment),
            event_loop: t.event_loop.map(hex),
        }
    }
}

/// The result of `nodeinfo`. JSON: `{"pid", "process", "versions", "argv", "execArgv",
/// "execPath", "platform", "arch", "release", "cwd", "env", "env_source", "main", "workers"}`.
#[derive(Debug, Serialize)]
pub struct NodeInfoReport {
    pid: Option<u32>,
    /// The `process` object, for `inspect`.
    process: Option<String>,
    versions: BTreeMap<String, String>,
    argv: Vec<String>,
    #[serde(rename = "execArgv")]
    exec_argv: Vec<String>,
    #[serde(rename = "execPath")]
    exec_path: Option<String>,
    platform: Option<String>,
    arch: Option<String>,
    release: BTreeMap<String, String>,
    cwd: Option<String>,
    env: BTreeMap<String, String>,
    /// `environ` (as the process last set it) or `initial stack` (as it started).
    env_source: Option<&'static str>,
    main: Option<ThreadJson>,
    workers: Vec<ThreadJson>,
}

/// Reads what node knew of itself.
pub fn run(session: &Session, args: &NodeInfoArgs) -> Result<NodeInfoReport, CommandError> {
    let analysis = session.analysis()?;
    let info = analysis.node_info();
    // The session's --redact withheld them already; this command's own flag withholds them here.
    let own = (args.redact && session.redactor().is_none()).then(Redactor::new);
    let redact = |v: String| match &own {
        Some(r) => r.text(&v),
        None => v,
    };
    let mut threads = info.threads.iter().map(ThreadJson::of);
    Ok(NodeInfoReport {
        pid: session.image().core().process().map(|p| p.pid),
        process: info.process.map(hex),
        versions: info.versions.into_iter().collect(),
        argv: info.argv,
        exec_argv: info.exec_argv,
        exec_path: info.exec_path,
        platform: info.platform,
        arch: info.arch,
        release: info.release.into_iter().collect(),
        cwd: info.cwd,
        env: info.env.into_iter().map(|(k, v)| (k, redact(v))).collect(),
        env_source: info.env_source,
        main: threads.next(),
        workers: threads.collect(),
    })
}

impl Report for NodeInfoReport {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        let unknown = || "?".to_string();
        let row = |out: &mut dyn Write, label: &str, value: String| {
            let line = format!("{:<13}{value}", style.bold(&format!("{label}:")));
            writeln!(out, "{}", line.trim_end())
        };
        row(out, "pid", self.pid.map_or_else(unknown, |p| p.to_string()))?;
        row(
            out,
            "node",
            format!(
                "v{} ({} {})",
                self.versions.get("node").cloned().unwrap_or_else(unknown),
                self.platform.clone().unwrap_or_else(unknown),
                self.arch.clone().unwrap_or_else(unknown),
            ),
        )?;
        if let Some(p) = &self.process {
            row(out, "process", format!("{p} (inspect it for more)"))?;
        }
        row(
            out,
            "execPath",
            self.exec_path.clone().unwrap_or_else(unknown),
        )?;
        row(out, "argv", self.argv.join(" "))?;
        row(out, "execArgv", self.exec_argv.join(" "))?;
        row(
            out,
            "cwd",
            self.cwd
                .clone()
                .unwrap_or_else(|| "? (process.cwd() was never called)".to_string()),
        )?;
        let versions: Vec<String> = self
            .versions
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        row(out, "versions", versions.join(", "))?;
        row(
            out,
            "environment",
            format!(
                "{} variables ({})",
                self.env.len(),
                self.env_source.unwrap_or("not in the core")
            ),
        )?;
        for (k, v) in &self.env {
            writeln!(out, "  {k}={v}")?;
        }
        if let Some(m) = &self.main {
            row(
                out,
                "main thread",
                format!(
                    "isolate {}, Environment {}, loop {}",
                    m.isolate,
                    m.environment,
                    m.event_loop.clone().unwrap_or_else(unknown)
                ),
            )?;
        }
        row(out, "workers", self.workers.len().to_string())?;
        for w in &self.workers {
            writeln!(
                out,
                "  threadId {}: isolate {}, Environment {}, loop {}",
                w.thread_id.map_or_else(unknown, |t| t.to_string()),
                w.isolate,
                w.environment,
                w.event_loop.clone().unwrap_or_else(unknown)
            )?;
        }
        Ok(())
    }
}
