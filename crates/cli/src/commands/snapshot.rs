//! `snapshot FILE`: the heap written as a V8 heap snapshot (`.heapsnapshot`), for Chrome
//! DevTools' Memory panel (Load profile) and memlab. The graph is the one coroner's own
//! dominator tree uses, so DevTools' Retained Size and Distance columns agree with
//! `findjsobjects`; each object's node id is `@ID`, which the commands take as an address.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args as ClapArgs;
use coroner_analysis::{SnapshotOptions, SnapshotSummary};
use serde::Serialize;

use super::{check_isolate, CommandError};
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `snapshot`.
#[derive(Debug, ClapArgs)]
pub struct SnapshotArgs {
    /// The file to write (created, or replaced); `.heapsnapshot` is what DevTools looks for.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Only the objects of isolate N (0 is the main thread's; `info` lists the others), with
    /// the shared read-only heap.
    #[arg(long, value_name = "N")]
    pub isolate: Option<usize>,
}

/// What was written. JSON: `{"file", "nodes", "edges", "strings", "bytes"}`.
#[derive(Debug, Serialize)]
pub struct Written {
    file: String,
    nodes: u64,
    edges: u64,
    strings: u64,
    bytes: u64,
}

impl Report for Written {
    fn write_text(&self, out: &mut dyn Write, _style: &TextStyle) -> io::Result<()> {
        writeln!(
            out,
            "wrote {} ({} bytes): {} nodes, {} edges",
            self.file, self.bytes, self.nodes, self.edges
        )
    }
}

/// Writes the snapshot.
pub fn run(session: &Session, args: &SnapshotArgs) -> Result<Written, CommandError> {
    let analysis = session.analysis()?;
    check_isolate(session, args.isolate)?;
    let shown = args.file.display().to_string();
    let mut file = File::create(&args.file).map_err(|e| format!("cannot create {shown}: {e}"))?;
    let options = SnapshotOptions {
        isolate: args.isolate,
    };
    let SnapshotSummary {
        nodes,
        edges,
        strings,
        bytes,
    } = analysis
        .write_heap_snapshot(&mut file, &options)
        .map_err(|e| format!("cannot write {shown}: {e}"))?;
    Ok(Written {
        file: shown,
        nodes,
        edges,
        strings,
        bytes,
    })
}
