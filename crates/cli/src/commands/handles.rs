//! `handles` and `requests`: node's own state in libuv (llnode's `getactivehandles` and
//! `getactiverequests`, and the `libuv` section of node's diagnostic report, from a core): every
//! handle of every event loop and every request in flight, each with the JS object that owns it
//! so that `inspect` and `retainers` take over.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{HandleState, NodeState, Owner, RequestState};
use serde::Serialize;

use super::CommandError;
use crate::json::hex;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `handles`.
#[derive(Debug, ClapArgs)]
pub struct HandlesArgs {
    /// Also list handles that are neither active nor referenced.
    #[arg(short = 'a', long)]
    pub all: bool,
}

/// Options of `requests`.
#[derive(Debug, ClapArgs)]
pub struct RequestsArgs {}

/// One loop. JSON: `{"address", "default", "isolate", "time", "active_handles",
/// "active_requests", "internal_handles"}`.
#[derive(Debug, Serialize)]
struct LoopJson {
    address: String,
    default: bool,
    isolate: Option<usize>,
    /// The loop's time (ms of the monotonic clock) when it last updated it.
    time: Option<u64>,
    active_handles: Option<u32>,
    active_requests: Option<u32>,
    /// libuv's own handles, left out of `handles` as `uv_walk` leaves them out.
    internal_handles: usize,
}

/// A JS object: `{"address", "name"}`.
#[derive(Debug, Serialize)]
struct ObjectJson {
    address: String,
    name: String,
}

/// One handle. JSON: `{"loop", "type", "address", "active", "referenced", "fd"?, "pid"?,
/// "signum"?, "signal"?, "path"?, "timer"?, "environment"?, "local"?, "remote"?, "wrap"?,
/// "object"?, "owner"?}`.
#[derive(Debug, Serialize)]
struct HandleJson {
    #[serde(rename = "loop")]
    event_loop: String,
    #[serde(rename = "type")]
    kind: String,
    address: String,
    active: bool,
    referenced: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    closing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fd: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signum: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// A timer handle's `{"due_in", "repeat"}` (ms from the loop's time; interval or 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    timer: Option<TimerJson>,
    /// For node's own handles: the Environment they are part of.
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    #[serde(flatten)]
    owner: Option<OwnerJson>,
}

/// A libuv timer's schedule.
#[derive(Debug, Serialize)]
struct TimerJson {
    due_in: Option<i64>,
    repeat: u64,
}

/// Who owns a handle or request: `{"wrap", "object", "owner", "local", "remote"}`.
#[derive(Debug, Serialize)]
struct OwnerJson {
    /// node's C++ wrapper.
    wrap: String,
    /// The wrapper's JS object (`TCP`, `Process`, `FSReqCallback`).
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<ObjectJson>,
    /// The JS object that object belongs to (`Socket`, `Server`, `ChildProcess`).
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<ObjectJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote: Option<String>,
}

impl OwnerJson {
    fn of(owner: &Owner) -> OwnerJson {
        let object = |o: &Option<(u64, String)>| {
            o.as_ref().map(|(a, n)| ObjectJson {
                address: hex(*a),
                name: n.clone(),
            })
        };
        OwnerJson {
            wrap: hex(owner.wrap),
            object: object(&owner.object),
            owner: object(&owner.js_owner),
            local: owner.local.clone(),
            remote: owner.remote.clone(),
        }
    }

    /// `Socket 0x… (TCP 0x…) 127.0.0.1:80 -> 127.0.0.1:5000`.
    fn text(&self) -> String {
        let mut parts = Vec::new();
        match (&self.owner, &self.object) {
            (Some(o), Some(w)) => parts.push(format!(
                "{} {} ({} {})",
                o.name, o.address, w.name, w.address
            )),
            (None, Some(w)) => parts.push(format!("{} {}", w.name, w.address)),
            _ => parts.push(format!("wrap {}", self.wrap)),
        }
        match (&self.local, &self.remote) {
            (Some(l), Some(r)) => parts.push(format!("{l} -> {r}")),
            (Some(l), None) => parts.push(l.clone()),
            (None, Some(r)) => parts.push(format!("-> {r}")),
            (None, None) => {}
        }
        parts.join(" ")
    }
}

/// One node Environment: `{"address", "isolate", "loop"}`.
#[derive(Debug, Serialize)]
struct EnvironmentJson {
    address: String,
    isolate: usize,
    #[serde(rename = "loop")]
    event_loop: Option<String>,
}

/// The result of `handles`. JSON: `{"environments": [...], "loops": [...], "handles": [...],
/// "hidden", "notes": [...]}`.
#[derive(Debug, Serialize)]
pub struct Handles {
    environments: Vec<EnvironmentJson>,
    loops: Vec<LoopJson>,
    handles: Vec<HandleJson>,
    /// Handles left out (neither active nor referenced), without `--all`.
    hidden: usize,
    notes: Vec<String>,
}

/// Lists the handles of every loop.
pub fn handles(session: &Session, args: &HandlesArgs) -> Result<Handles, CommandError> {
    let state = session.analysis()?.node_state();
    let mut handles = Vec::new();
    let mut hidden = 0;
    for l in &state.loops {
        for h in &l.handles {
            if !args.all && !h.handle.active && !h.handle.referenced {
                hidden += 1;
                continue;
            }
            handles.push(handle_json(l.event_loop.address, l.event_loop.time, h));
        }
    }
    Ok(Handles {
        environments: state
            .environments
            .iter()
            .map(|e| EnvironmentJson {
                address: hex(e.address),
                isolate: e.isolate,
                event_loop: e.event_loop.map(hex),
            })
            .collect(),
        loops: loops_json(state),
        handles,
        hidden,
        notes: state.notes.clone(),
    })
}

fn loops_json(state: &NodeState) -> Vec<LoopJson> {
    state
        .loops
        .iter()
        .map(|l| LoopJson {
            address: hex(l.event_loop.address),
            default: l.event_loop.default,
            isolate: l.isolate,
            time: l.event_loop.time,
            active_handles: l.event_loop.active_handles,
            active_requests: l.event_loop.active_requests,
            internal_handles: l.event_loop.internal_handles,
        })
        .collect()
}

fn handle_json(event_loop: u64, now: Option<u64>, h: &HandleState) -> HandleJson {
    let u = &h.handle;
    HandleJson {
        event_loop: hex(event_loop),
        kind: u
            .kind
            .map_or_else(|| format!("unknown({})", u.type_number), str::to_string),
        address: hex(u.address),
        active: u.active,
        referenced: u.referenced,
        closing: u.closing,
        fd: u.fd,
        pid: u.pid,
        signum: u.signum,
        signal: u.signum.and_then(coroner_image::signal_name),
        path: u.path.clone(),
        timer: u.timer.map(|(due, repeat)| TimerJson {
            due_in: now.map(|n| {
                i64::try_from(due)
                    .unwrap_or(i64::MAX)
                    .saturating_sub(i64::try_from(n).unwrap_or(0))
            }),
            repeat,
        }),
        environment: h.environment.map(hex),
        owner: h.owner.as_ref().map(OwnerJson::of),
    }
}

impl Report for Handles {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for l in &self.loops {
            let of_loop: Vec<&HandleJson> = self
                .handles
                .iter()
                .filter(|h| h.event_loop == l.address)
                .collect();
            let whose = match (l.default, l.isolate) {
                (true, _) => "default loop".to_string(),
                (false, Some(i)) => format!("isolate {i}'s loop"),
                (false, None) => "loop".to_string(),
            };
            writeln!(
                out,
                "{} {} ({} handles shown, {} active; {} requests active)",
                style.bold(&whose),
                style.dim(&l.address),
                of_loop.len(),
                l.active_handles.map_or("?".to_string(), |n| n.to_string()),
                l.active_requests.map_or("?".to_string(), |n| n.to_string()),
            )?;
            for h in of_loop {
                let flags = format!(
                    "{}{}{}",
                    if h.active { 'A' } else { '-' },
                    if h.referenced { 'R' } else { '-' },
                    if h.closing { 'C' } else { '-' },
                );
                let mut detail = Vec::new();
                if let Some(fd) = h.fd {
                    detail.push(format!("fd {fd}"));
                }
                if let Some(pid) = h.pid {
                    detail.push(format!("pid {pid}"));
                }
                if let Some(s) = h.signum {
                    detail.push(
                        h.signal
                            .map_or_else(|| format!("signal {s}"), str::to_string),
                    );
                }
                if let Some(p) = &h.path {
                    detail.push(p.clone());
                }
                if let Some(t) = &h.timer {
                    detail.push(match t.due_in {
                        Some(d) => format!("due in {d} ms"),
                        None => "due ?".to_string(),
                    });
                    if t.repeat != 0 {
                        detail.push(format!("repeat {} ms", t.repeat));
                    }
                }
                if let Some(o) = &h.owner {
                    detail.push(o.text());
                }
                if let Some(e) = &h.environment {
                    detail.push(format!("node's own (Environment {e})"));
                }
                let line = format!(
                    "  {:<9} {} {flags}  {}",
                    h.kind,
                    style.dim(&h.address),
                    detail.join("  ")
                );
                writeln!(out, "{}", line.trim_end())?;
            }
        }
        if self.hidden > 0 {
            writeln!(
                out,
                "({} handles neither active nor referenced not shown: handles --all)",
                self.hidden
            )?;
        }
        if self.loops.is_empty() {
            writeln!(out, "no libuv loop found")?;
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// One request. JSON: `{"type", "address", "operation"?, "path"?, "isolate", "callback"?,
/// "wrap", "object"?, "owner"?}`.
#[derive(Debug, Serialize)]
struct RequestJson {
    #[serde(rename = "type")]
    kind: &'static str,
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    isolate: usize,
    /// The JS function called on completion: `{"address", "name", "file", "line", "column"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<super::timers::CallbackJson>,
    #[serde(flatten)]
    owner: OwnerJson,
}

/// The result of `requests`. JSON: `{"requests": [...], "notes": [...]}`.
#[derive(Debug, Serialize)]
pub struct Requests {
    requests: Vec<RequestJson>,
    notes: Vec<String>,
}

/// Lists the requests in flight.
pub fn requests(session: &Session, _args: &RequestsArgs) -> Result<Requests, CommandError> {
    let state = session.analysis()?.node_state();
    Ok(Requests {
        requests: state.requests.iter().map(request_json).collect(),
        notes: state.notes.clone(),
    })
}

fn request_json(r: &RequestState) -> RequestJson {
    RequestJson {
        kind: r.request.kind,
        address: hex(r.request.address),
        operation: r.request.operation,
        path: r.request.path.clone(),
        isolate: r.isolate,
        callback: r.callback.as_ref().map(super::timers::CallbackJson::of),
        owner: OwnerJson::of(&r.owner),
    }
}

impl Report for Requests {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        if self.requests.is_empty() {
            writeln!(out, "no requests in flight")?;
        }
        for r in &self.requests {
            let mut detail = Vec::new();
            if let Some(op) = r.operation {
                detail.push(op.to_string());
            }
            if let Some(p) = &r.path {
                detail.push(p.clone());
            }
            detail.push(r.owner.text());
            if let Some(c) = &r.callback {
                detail.push(format!("then {}", c.text()));
            }
            writeln!(
                out,
                "{:<11} {}  {}",
                r.kind,
                style.dim(&r.address),
                detail.join("  ")
            )?;
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.notes.clone()
    }
}
