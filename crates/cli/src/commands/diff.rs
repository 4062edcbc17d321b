//! `diff OLD`: what grew since an earlier core of the same process (or a V8 heap snapshot of
//! it), per constructor and per retainer path (DevTools' Comparison view and memlab's clusters,
//! on cores). Objects are matched by where they are held, not by address (see
//! [`coroner_analysis::Growth`]).

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args as ClapArgs;
use coroner_analysis::{Growth, GrowthOptions, SnapshotFile};
use serde::Serialize;

use super::CommandError;
use crate::json::hex;
use crate::progress::Progress;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `diff`.
#[derive(Debug, ClapArgs)]
pub struct DiffArgs {
    /// The earlier core of the same process (opened with this session's executable options),
    /// or a V8 heap snapshot (`.heapsnapshot`) of it.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// Show at most N constructors.
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Show at most N retainer paths.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub paths: usize,
    /// Compare V8 internals too (as `findjsobjects --all`).
    #[arg(short = 'a', long)]
    pub all: bool,
}

/// One constructor. JSON: `{"name", "count_delta", "size_delta", "retained_delta",
/// "count_old", "count_new"}`.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    count_delta: i64,
    size_delta: i64,
    retained_delta: i64,
    count_old: u64,
    count_new: u64,
}

/// One retainer path. JSON: `{"path", "name", "retained_delta", "count_delta", "count_old",
/// "count_new", "sample"}`.
#[derive(Debug, Serialize)]
struct PathRow {
    path: Option<String>,
    name: String,
    retained_delta: i64,
    count_delta: i64,
    count_old: u64,
    count_new: u64,
    /// One of its objects in this (the newer) core.
    sample: String,
}

/// The result of `diff`. JSON: `{"old", "rows", "paths", "reachable_old", "reachable_new",
/// "classes"}`.
#[derive(Debug, Serialize)]
pub struct DiffReport {
    old: String,
    rows: Vec<Row>,
    paths: Vec<PathRow>,
    reachable_old: u64,
    reachable_new: u64,
    /// Constructors in either core (rows are the first `limit`).
    classes: usize,
    /// When the two cores are of different processes.
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<String>,
}

/// Opens OLD, builds both cores' dominator trees, and compares them.
pub fn run(session: &Session, args: &DiffArgs) -> Result<DiffReport, CommandError> {
    let analysis = session.analysis()?;
    let options = GrowthOptions {
        paths: args.paths,
        all: args.all,
    };
    if is_heap_snapshot(&args.old) {
        let progress = Progress::spinner(session.shows_progress(), "reading the heap snapshot");
        let file = SnapshotFile::read(&args.old)?;
        progress.finish();
        let growth = analysis.growth_since_snapshot(&file, &options);
        return Ok(report(&growth, args, None));
    }
    let image = session.open_other(&args.old)?;
    let older = session
        .analysis_of(&image, "reading the older core's V8 heap")
        .map_err(|e| format!("{}: {e}", args.old.display()))?;
    let pid = |i: &coroner_image::ProcessImage| i.core().process().map(|p| p.pid);
    let warning = match (pid(&image), pid(session.image())) {
        (Some(a), Some(b)) if a != b => Some(format!(
            "{} is of pid {a}, this core of pid {b}: not the same process, so paths that grew may only differ",
            args.old.display()
        )),
        _ => None,
    };
    if let Some(w) = &warning {
        eprintln!("coroner: warning: {w}");
    }
    let growth = analysis.growth_since(&older, &options);
    Ok(report(&growth, args, warning))
}

/// Whether `path` starts as V8's heap snapshot JSON does (`{"snapshot":`).
fn is_heap_snapshot(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&head[..n]);
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    text.starts_with("{\"snapshot\":")
}

fn report(growth: &Growth, args: &DiffArgs, warning: Option<String>) -> DiffReport {
    let rows = growth
        .classes
        .iter()
        .filter(|c| c.count_delta() != 0 || c.size_delta() != 0 || c.retained_delta() != 0)
        .take(args.limit)
        .map(|c| Row {
            name: c.name.clone(),
            count_delta: c.count_delta(),
            size_delta: c.size_delta(),
            retained_delta: c.retained_delta(),
            count_old: c.count.0,
            count_new: c.count.1,
        })
        .collect();
    let paths = growth
        .paths
        .iter()
        .map(|p| PathRow {
            path: p.path.as_ref().map(|r| r.text()),
            name: p.name.clone(),
            retained_delta: p.retained_delta(),
            count_delta: p.count_delta(),
            count_old: p.count.0,
            count_new: p.count.1,
            sample: hex(p.sample),
        })
        .collect();
    DiffReport {
        old: args.old.display().to_string(),
        rows,
        paths,
        reachable_old: growth.reachable.0,
        reachable_new: growth.reachable.1,
        classes: growth.classes.len(),
        warning,
    }
}

/// A signed number with its sign: `+700`, `-12`, `0`.
fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

impl Report for DiffReport {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(
            out,
            "reachable heap: {} -> {} bytes ({}) since {}",
            self.reachable_old,
            self.reachable_new,
            signed(self.reachable_new as i64 - self.reachable_old as i64),
            self.old
        )?;
        writeln!(out, "{}", style.bold("retainer paths that grew:"))?;
        if self.paths.is_empty() {
            writeln!(out, "  (none)")?;
        }
        for p in &self.paths {
            writeln!(
                out,
                "{:>12} {:>8}  {} {}",
                signed(p.retained_delta),
                signed(p.count_delta),
                p.path.as_deref().unwrap_or(&p.name),
                style.dim(&format!(
                    "({} -> {}, e.g. {})",
                    p.count_old, p.count_new, p.sample
                ))
            )?;
        }
        writeln!(
            out,
            "{}",
            style.bold(&format!(
                "{:>12} {:>8} {:>12} {:>9} {:>9}  {}",
                "Retained", "Count", "Size", "Old", "New", "Constructor"
            ))
        )?;
        for r in &self.rows {
            writeln!(
                out,
                "{:>12} {:>8} {:>12} {:>9} {:>9}  {}",
                signed(r.retained_delta),
                signed(r.count_delta),
                signed(r.size_delta),
                r.count_old,
                r.count_new,
                r.name
            )?;
        }
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} of {} constructors changed shown (-n N for more); paths: --paths N",
                self.rows.len(),
                self.classes
            ))
        )
    }
}
