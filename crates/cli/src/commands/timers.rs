//! `timers`: node's JavaScript timers still scheduled and immediates still queued, with their
//! callbacks, delays and when each is next due.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{Callback, Timer};
use serde::Serialize;

use super::CommandError;
use crate::json::{self, hex};
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `timers`.
#[derive(Debug, ClapArgs)]
pub struct TimersArgs {}

/// A JS function: `{"address", "name", "file", "line", "column"}`.
#[derive(Debug, Serialize)]
pub struct CallbackJson {
    address: String,
    name: String,
    file: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
}

impl CallbackJson {
    pub(crate) fn of(c: &Callback) -> CallbackJson {
        CallbackJson {
            address: hex(c.address),
            name: c.name.clone(),
            file: c.file.clone(),
            line: c.line,
            column: c.column,
        }
    }

    /// `name (file:line:column)`.
    pub(crate) fn text(&self) -> String {
        match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => format!("{} ({f}:{l}:{c})", self.name),
            (Some(f), _, _) => format!("{} ({f})", self.name),
            _ => self.name.clone(),
        }
    }
}

/// One timer. JSON: `{"address", "kind", "isolate", "callback", "timeout", "repeat", "due_in",
/// "referenced"}`.
#[derive(Debug, Serialize)]
struct TimerJson {
    address: String,
    /// `timeout`, `interval` or `immediate`.
    kind: &'static str,
    isolate: Option<usize>,
    callback: Option<CallbackJson>,
    /// The delay as given, in ms.
    #[serde(serialize_with = "json::opt_number")]
    timeout: Option<f64>,
    /// An interval.
    repeat: bool,
    /// Ms from the loop's time until it is due (negative: overdue).
    #[serde(serialize_with = "json::opt_number")]
    due_in: Option<f64>,
    /// Keeps the process alive (not `unref()`ed).
    referenced: Option<bool>,
}

/// The result of `timers`. JSON: `{"timers": [...]}`.
#[derive(Debug, Serialize)]
pub struct Timers {
    timers: Vec<TimerJson>,
}

/// Lists the timers.
pub fn run(session: &Session, _args: &TimersArgs) -> Result<Timers, CommandError> {
    let mut timers: Vec<Timer> = session.analysis()?.timers();
    timers.sort_by(|a, b| {
        (a.isolate, a.due_in.is_none(), a.due_in.unwrap_or(0.0))
            .partial_cmp(&(b.isolate, b.due_in.is_none(), b.due_in.unwrap_or(0.0)))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(Timers {
        timers: timers
            .iter()
            .map(|t| TimerJson {
                address: hex(t.address),
                kind: t.kind.name(),
                isolate: t.isolate,
                callback: t.callback.as_ref().map(CallbackJson::of),
                timeout: t.timeout,
                repeat: t.kind == coroner_analysis::TimerKind::Interval,
                due_in: t.due_in,
                referenced: t.referenced,
            })
            .collect(),
    })
}

impl Report for Timers {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        if self.timers.is_empty() {
            return writeln!(out, "no timers scheduled");
        }
        for t in &self.timers {
            let when = match (t.kind, t.due_in) {
                ("immediate", _) => "next turn".to_string(),
                (_, Some(d)) if d < 0.0 => format!("overdue {:.0} ms", -d),
                (_, Some(d)) => format!("due in {d:.0} ms"),
                (_, None) => "due ?".to_string(),
            };
            let every = match t.timeout {
                Some(ms) if t.repeat => format!("every {ms} ms"),
                Some(ms) => format!("after {ms} ms"),
                None => String::new(),
            };
            writeln!(
                out,
                "{:<9} {}  {:<20} {:<20} {}{}",
                t.kind,
                style.dim(&t.address),
                when,
                every,
                t.callback
                    .as_ref()
                    .map_or("?".to_string(), CallbackJson::text),
                if t.referenced == Some(false) {
                    "  (unref)"
                } else {
                    ""
                },
            )?;
        }
        Ok(())
    }
}
