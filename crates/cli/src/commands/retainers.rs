//! `retainers ADDR`: the shortest chains of references from a GC root to an object, one line
//! each (`global.zooKeeper -> .zoo -> [17] -> Walrus`), like the Retainers pane of Chrome
//! DevTools. Roots are the global objects and native contexts, the words of the threads'
//! stacks and of the isolates' data, and (last, as they may be stale) words of native memory
//! that point at objects.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{Hop, RetainerOptions, RetainerPath, RootKind};
use serde::Serialize;

use super::{object_address, CommandError};
use crate::json::{edge_parts, hex};
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `retainers`.
#[derive(Debug, ClapArgs)]
pub struct RetainersArgs {
    /// The object (hex, with or without 0x; tagged or not; or @ID from a heap snapshot
    /// coroner wrote).
    #[arg(value_name = "ADDR")]
    pub address: String,
    /// Show at most PATHS paths, each from a different root.
    #[arg(short = 'n', long = "paths", value_name = "PATHS", default_value_t = 5)]
    pub paths: usize,
    /// Search paths of at most N references.
    #[arg(long = "depth", value_name = "N", default_value_t = 64)]
    pub depth: usize,
    /// Visit at most N objects.
    #[arg(long = "max-visited", value_name = "N", default_value_t = 10_000_000)]
    pub max_visited: usize,
    /// Follow weak references too (WeakMap entries, WeakRefs, weak fields of V8 internals).
    #[arg(long)]
    pub weak: bool,
}

/// A root, as printed. JSON: `{"kind", "address", "at"?, "thread"?, "frame"?, "function"?,
/// "conservative"?, "isolate"?, "offset"?}`.
#[derive(Debug, Serialize)]
struct RootRow {
    kind: &'static str,
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    /// A native frame's stack word, found by a conservative scan (may be stale).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    conservative: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    isolate: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
}

/// One reference of a path. JSON: `{"holder", "holder_name", "edge", "kind", "name"?,
/// "index"?, "via"?, "target", "weak"}`.
#[derive(Debug, Serialize)]
struct HopRow {
    holder: String,
    holder_name: String,
    edge: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    via: Vec<String>,
    target: String,
    weak: bool,
}

/// One path. JSON: `{"text", "root", "hops"}`.
#[derive(Debug, Serialize)]
struct PathRow {
    text: String,
    root: RootRow,
    hops: Vec<HopRow>,
}

/// The paths found. JSON: `{"address", "name", "paths", "visited", "depth", "limited"?}`.
#[derive(Debug, Serialize)]
pub struct RetainerList {
    address: String,
    name: String,
    paths: Vec<PathRow>,
    visited: usize,
    depth: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    limited: Option<String>,
}

fn root_row(root: &RootKind, object: u64) -> RootRow {
    let mut r = RootRow {
        kind: root.kind(),
        address: hex(object),
        at: root.at().map(hex),
        thread: None,
        frame: None,
        function: None,
        conservative: root.is_conservative(),
        isolate: None,
        offset: None,
    };
    match root {
        RootKind::Stack { tid, frame, .. } => {
            r.thread = Some(*tid);
            if let Some((i, f)) = frame {
                r.frame = Some(*i);
                r.function = Some(f.clone());
            }
        }
        RootKind::Isolate { isolate, offset } => {
            r.isolate = Some(*isolate);
            r.offset = Some(hex(*offset));
        }
        _ => {}
    }
    r
}

fn hop_row(h: &Hop) -> HopRow {
    let (name, index) = edge_parts(&h.edge);
    HopRow {
        holder: hex(h.holder),
        holder_name: h.holder_name.clone(),
        edge: h.edge.suffix().trim_start().to_string(),
        kind: h.edge.kind(),
        name,
        index,
        via: h.via.iter().map(|&v| hex(v)).collect(),
        target: hex(h.target),
        weak: h.weak,
    }
}

fn path_row(p: &RetainerPath) -> PathRow {
    PathRow {
        text: p.text(),
        root: root_row(&p.root, p.root_object),
        hops: p.hops.iter().map(hop_row).collect(),
    }
}

/// Finds the paths.
pub fn run(session: &Session, args: &RetainersArgs) -> Result<RetainerList, CommandError> {
    let addr = object_address(session, &args.address)?;
    let analysis = session.analysis()?;
    // Check the address before unwinding stacks and scanning for roots.
    analysis.object_id(addr).map_err(|e| e.to_string())?;
    let options = RetainerOptions {
        paths: args.paths.max(1),
        max_depth: args.depth,
        max_visited: args.max_visited.max(1),
        weak: args.weak,
    };
    let r = analysis
        .retainers(addr, &options)
        .map_err(|e| e.to_string())?;
    Ok(RetainerList {
        address: hex(r.target),
        name: r.target_name.clone(),
        paths: r.paths.iter().map(path_row).collect(),
        visited: r.visited,
        depth: r.depth,
        limited: r.limited.clone(),
    })
}

impl Report for RetainerList {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for p in &self.paths {
            writeln!(out, "{}", p.text)?;
        }
        let mut summary = if self.paths.is_empty() && self.limited.is_none() {
            format!(
                "no path from a GC root to {} ({}): nothing coroner knows as a root holds it (garbage the next GC would collect)",
                self.address, self.name
            )
        } else if self.paths.is_empty() {
            format!("no path found to {} ({})", self.address, self.name)
        } else {
            format!(
                "{} path{} to {} ({})",
                self.paths.len(),
                if self.paths.len() == 1 { "" } else { "s" },
                self.address,
                self.name
            )
        };
        let kinds = |k: &str| self.paths.iter().all(|p| p.root.kind == k);
        if !self.paths.is_empty() && self.paths.iter().all(|p| p.root.conservative) {
            summary.push_str(
                "; only through native frames' stack words, found by a conservative scan \
                 (each may be a stale word that merely looks like an address)",
            );
        } else if !self.paths.is_empty() && kinds("native handle") {
            summary.push_str(
                "; only through words of native memory (each may be stale: freed memory keeps \
                 its contents)",
            );
        }
        summary.push_str(&format!("; {} objects visited", self.visited));
        if let Some(l) = &self.limited {
            summary.push_str(&format!("; {l}"));
        }
        writeln!(out, "{}", style.dim(&summary))
    }
}
