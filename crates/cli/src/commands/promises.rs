//! `promises`: the pending promises something waits on (the async functions suspended at an
//! `await`, the handlers of a `.then`), and the microtasks each isolate has queued.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{Promises, Waiter};
use serde::Serialize;

use super::timers::CallbackJson;
use super::CommandError;
use crate::json::hex;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `promises`.
#[derive(Debug, ClapArgs)]
pub struct PromisesArgs {
    /// Also list pending promises nothing waits on yet.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show at most N promises.
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

/// One waiter. JSON: `{"kind": "await", "function", "file", "line", "column", "generator"}` or
/// `{"kind": "then", "on_fulfilled", "on_rejected", "derived"}`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum WaiterJson {
    Await {
        function: String,
        file: Option<String>,
        line: Option<u64>,
        column: Option<u64>,
        /// The suspended async function's object.
        generator: String,
    },
    Then {
        on_fulfilled: Option<CallbackJson>,
        on_rejected: Option<CallbackJson>,
        derived: Option<String>,
    },
}

/// One pending promise: `{"address", "isolate", "waiters"}`.
#[derive(Debug, Serialize)]
struct PromiseJson {
    address: String,
    isolate: Option<usize>,
    waiters: Vec<WaiterJson>,
}

/// One isolate's queue: `{"isolate", "queue", "count", "tasks": [{"address", "name"}]}`.
#[derive(Debug, Serialize)]
struct QueueJson {
    isolate: Option<usize>,
    queue: String,
    count: usize,
    tasks: Vec<TaskJson>,
}

/// A queued microtask.
#[derive(Debug, Serialize)]
struct TaskJson {
    address: String,
    name: String,
}

/// The result of `promises`. JSON: `{"pending": [...], "listed", "total_pending",
/// "microtasks": [...]}`.
#[derive(Debug, Serialize)]
pub struct PromisesReport {
    pending: Vec<PromiseJson>,
    /// Pending promises matching the options (before `--limit`).
    listed: usize,
    /// Pending promises in all.
    total_pending: usize,
    microtasks: Vec<QueueJson>,
    /// Whether the microtask queues could be read (they need the executable's constants).
    microtasks_known: bool,
}

/// Lists the pending promises and the microtask queues.
pub fn run(session: &Session, args: &PromisesArgs) -> Result<PromisesReport, CommandError> {
    let analysis = session.analysis()?;
    let Promises {
        pending,
        total_pending,
        microtasks,
        microtasks_known,
    } = analysis.promises(args.all);
    let listed = pending.len();
    Ok(PromisesReport {
        pending: pending
            .iter()
            .take(args.limit)
            .map(|p| PromiseJson {
                address: hex(p.address),
                isolate: p.isolate,
                waiters: p.waiters.iter().map(waiter_json).collect(),
            })
            .collect(),
        listed,
        total_pending,
        microtasks_known,
        microtasks: microtasks
            .into_iter()
            .map(|q| QueueJson {
                isolate: q.isolate,
                queue: hex(q.queue),
                count: q.tasks.len(),
                tasks: q
                    .tasks
                    .into_iter()
                    .map(|(a, name)| TaskJson {
                        address: hex(a),
                        name,
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn waiter_json(w: &Waiter) -> WaiterJson {
    match w {
        Waiter::Await(f) => WaiterJson::Await {
            function: f.call.clone().unwrap_or_else(|| f.function.clone()),
            file: f.place.file.clone(),
            line: f.place.line,
            column: f.place.column,
            generator: hex(f.generator),
        },
        Waiter::Then {
            on_fulfilled,
            on_rejected,
            derived,
        } => WaiterJson::Then {
            on_fulfilled: on_fulfilled.as_ref().map(CallbackJson::of),
            on_rejected: on_rejected.as_ref().map(CallbackJson::of),
            derived: derived.map(hex),
        },
    }
}

impl Report for PromisesReport {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(
            out,
            "{} pending promises, {} with something waiting on them{}",
            self.total_pending,
            self.listed,
            if self.pending.len() < self.listed {
                format!(" ({} shown: -n)", self.pending.len())
            } else {
                String::new()
            }
        )?;
        for p in &self.pending {
            writeln!(out, "{} {}", style.bold("Promise"), style.dim(&p.address))?;
            if p.waiters.is_empty() {
                writeln!(out, "  (nothing waits on it)")?;
            }
            for w in &p.waiters {
                match w {
                    WaiterJson::Await {
                        function,
                        file,
                        line,
                        column,
                        ..
                    } => {
                        let at = match (file, line, column) {
                            (Some(f), Some(l), Some(c)) => format!(" ({f}:{l}:{c})"),
                            _ => String::new(),
                        };
                        writeln!(out, "  awaited by async {function}{at}")?;
                    }
                    WaiterJson::Then {
                        on_fulfilled,
                        on_rejected,
                        derived,
                    } => {
                        let name = |c: &Option<CallbackJson>| {
                            c.as_ref().map_or("-".to_string(), CallbackJson::text)
                        };
                        writeln!(
                            out,
                            "  then {} / catch {}{}",
                            name(on_fulfilled),
                            name(on_rejected),
                            derived
                                .as_ref()
                                .map_or(String::new(), |d| format!(" -> Promise {d}"))
                        )?;
                    }
                }
            }
        }
        if !self.microtasks_known {
            writeln!(
                out,
                "microtasks: unknown (V8's MicrotaskQueue offsets need the executable)"
            )?;
        }
        for q in &self.microtasks {
            let isolate = q.isolate.map_or("?".to_string(), |i| i.to_string());
            writeln!(out, "isolate {isolate}: {} microtasks queued", q.count)?;
            for t in &q.tasks {
                writeln!(out, "  {} {}", style.dim(&t.address), t.name)?;
            }
        }
        Ok(())
    }
}
