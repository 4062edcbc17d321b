//! `dominators [ADDR]`: what keeps what alive, from the dominator tree (Eclipse MAT's Dominator
//! Tree and Top Consumers). Without ADDR, the objects at the top of the tree (held by no one
//! object alone: by the roots, or by several), largest retained size first, each with a path
//! from a root; with ADDR, the objects ADDR alone keeps alive, largest first, and the chain of
//! objects that keep ADDR alive, up to the roots.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{Analysis, Dominator, RetainerOptions};
use serde::Serialize;

use super::{object_address, CommandError};
use crate::json::hex;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `dominators`.
#[derive(Debug, ClapArgs)]
pub struct DominatorsArgs {
    /// The object whose dominated objects and dominator chain to show (hex, tagged or not);
    /// without it, the top of the tree.
    #[arg(value_name = "ADDR")]
    pub address: Option<String>,
    /// Show at most N objects.
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 20)]
    pub limit: usize,
}

/// One object of the tree. JSON: `{"address", "name", "shallow", "retained", "distance",
/// "path"?}`.
#[derive(Debug, Serialize)]
struct Row {
    address: String,
    name: String,
    shallow: u64,
    retained: u64,
    distance: Option<u32>,
    /// A path from a root to it (rows of the top of the tree).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

/// The result of `dominators`. JSON: `{"object"?, "chain"?, "dominated": [rows], "total"}`.
#[derive(Debug, Serialize)]
pub struct DominatorTree {
    /// The object asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<Row>,
    /// Its dominators, nearest first (with ADDR).
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<Vec<Row>>,
    /// The objects it (or the roots) dominates immediately, largest first, at most `limit`.
    dominated: Vec<Row>,
    /// How many there are in all.
    total: usize,
}

fn row(analysis: &Analysis<'_>, id: u32, with_path: bool) -> Row {
    let tree = analysis.dominators();
    let index = analysis.index();
    let addr = index.addrs()[id as usize];
    let name = analysis.census_name(id);
    let path = with_path
        .then(|| {
            let options = RetainerOptions {
                paths: 1,
                ..RetainerOptions::default()
            };
            analysis
                .retainers(addr, &options)
                .ok()
                .and_then(|r| r.paths.first().map(|p| p.text()))
        })
        .flatten();
    Row {
        address: hex(addr),
        name,
        shallow: u64::from(index.sizes()[id as usize]),
        retained: tree.retained(id).unwrap_or(0),
        distance: tree.distance(id),
        path,
    }
}

/// Builds the tree (once per session) and answers.
pub fn run(session: &Session, args: &DominatorsArgs) -> Result<DominatorTree, CommandError> {
    let analysis = session.analysis()?;
    let tree = analysis.dominators();
    let (object, chain, of) = match &args.address {
        None => (None, None, Dominator::Roots),
        Some(a) => {
            let addr = object_address(session, a)?;
            let id = analysis.object_id(addr).map_err(|e| e.to_string())?;
            if !tree.reached(id) {
                return Err(format!(
                    "{addr:#x} is reached from no root: garbage the next GC would collect, it keeps nothing alive"
                ));
            }
            let chain = tree
                .chain(id)
                .into_iter()
                .map(|d| row(analysis, d, false))
                .collect();
            (
                Some(row(analysis, id, false)),
                Some(chain),
                Dominator::Object(id),
            )
        }
    };
    let all = tree.dominated_by(of);
    let top = args.address.is_none();
    let dominated = all
        .iter()
        .take(args.limit)
        .map(|&id| row(analysis, id, top))
        .collect();
    Ok(DominatorTree {
        object,
        chain,
        dominated,
        total: all.len(),
    })
}

impl Report for DominatorTree {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        let line = |r: &Row| {
            format!(
                "{:>13} {:>10} {:>8}  {} {}",
                r.retained,
                r.shallow,
                r.distance.map_or("-".to_string(), |d| d.to_string()),
                r.name,
                style.dim(&r.address)
            )
        };
        let head = format!(
            "{:>13} {:>10} {:>8}  {}",
            "Retained Size", "Shallow", "Distance", "Object"
        );
        if let Some(o) = &self.object {
            writeln!(out, "{}", style.bold(&head))?;
            writeln!(out, "{}", line(o))?;
            if let Some(chain) = &self.chain {
                writeln!(out, "{}", style.bold("kept alive by (nearest first):"))?;
                for r in chain {
                    writeln!(out, "{}", line(r))?;
                }
                writeln!(out, "{}", style.dim("  (the roots)"))?;
            }
            writeln!(out, "{}", style.bold("keeps alive:"))?;
        } else {
            writeln!(out, "{}", style.bold(&head))?;
        }
        for r in &self.dominated {
            writeln!(out, "{}", line(r))?;
            if let Some(p) = &r.path {
                writeln!(out, "{}", style.dim(&format!("    {p}")))?;
            }
        }
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} of {} objects shown (-n N for more)",
                self.dominated.len(),
                self.total
            ))
        )
    }
}
