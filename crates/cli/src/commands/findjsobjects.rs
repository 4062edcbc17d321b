//! `findjsobjects`: what fills the heap. One row per constructor name (or bracketed kind such
//! as `(String)`), with the number of objects and their total shallow size, largest first, and
//! as DevTools' Summary shows them, what they keep alive (retained size) and how far from the
//! roots the nearest of them is (distance).

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{Census, CensusOptions, CensusRow, Generation};
use serde::Serialize;

use super::damage::damage_warning;
use super::{check_isolate, CommandError, Page};
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `findjsobjects`.
#[derive(Debug, ClapArgs)]
pub struct FindJsObjectsArgs {
    /// Group plain objects by constructor and property names too (`Object {name, arr}`), with
    /// a sample address per group.
    #[arg(short = 'd', long)]
    pub detailed: bool,
    /// List V8's internal objects too (FixedArray, Code, ...).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only the objects of isolate N (0 is the main thread's; `info` and the table's isolate
    /// column show the others).
    #[arg(long, value_name = "N")]
    pub isolate: Option<usize>,
    /// Only young (new-space) objects, or only old ones.
    #[arg(long, value_name = "GEN", value_parser = ["young", "old"])]
    pub generation: Option<String>,
    /// Leave out the retained sizes and distances (no reference index, roots or dominator
    /// tree is built: faster on a large core).
    #[arg(long)]
    pub no_retained: bool,
    /// Count only the objects a root reaches: leave out the garbage a live core holds (as a
    /// heap snapshot, taken after a GC, would), and what only words of native memory point at.
    #[arg(long, conflicts_with_all = ["no_retained", "detailed"])]
    pub reachable: bool,
    #[command(flatten)]
    pub page: Page,
}

/// One row of the census. JSON: `{"name", "count", "size", "retained"?, "distance"?,
/// "constructor"?, "properties"?, "sample"?, "internal"?, "isolates": [{"isolate", "count",
/// "size"}]}`.
#[derive(Debug, Serialize)]
struct RowJson<'r> {
    name: &'r str,
    count: u64,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    retained: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constructor: Option<&'r str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<&'r [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample: Option<&'r str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    internal: bool,
    isolates: Vec<ShareJson>,
}

/// A row's part in one isolate (`isolate` is `null` for the shared read-only heap).
#[derive(Debug, Serialize)]
struct ShareJson {
    isolate: Option<usize>,
    count: u64,
    size: u64,
}

impl<'r> From<&'r CensusRow> for RowJson<'r> {
    fn from(r: &'r CensusRow) -> RowJson<'r> {
        RowJson {
            name: &r.name,
            count: r.count,
            size: r.size,
            retained: r.retained,
            distance: r.distance,
            constructor: r.constructor.as_deref(),
            properties: r.properties.as_deref(),
            sample: r.sample.as_deref(),
            internal: r.internal,
            isolates: r
                .isolates
                .iter()
                .map(|s| ShareJson {
                    isolate: s.isolate,
                    count: s.count,
                    size: s.size,
                })
                .collect(),
        }
    }
}

/// The census, as printed. JSON: an array of rows.
#[derive(Debug)]
pub struct ObjectTable {
    rows: Vec<CensusRow>,
    census: Census,
    shown_from: usize,
    detailed: bool,
    retained: bool,
}

impl Serialize for ObjectTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.rows.iter().map(RowJson::from))
    }
}

/// Takes the census. Returns the table and, when a page was asked for and more rows follow,
/// the command that shows the next page.
pub fn run(
    session: &Session,
    args: &FindJsObjectsArgs,
    line: &str,
) -> Result<(ObjectTable, Option<String>), CommandError> {
    let analysis = session.analysis()?;
    check_isolate(session, args.isolate)?;
    let options = CensusOptions {
        all: args.all,
        detailed: args.detailed,
        isolate: args.isolate,
        generation: args.generation.as_deref().map(|g| match g {
            "young" => Generation::Young,
            _ => Generation::Old,
        }),
        retained: !args.no_retained,
        reachable_only: args.reachable,
    };
    let census = analysis.census(&options);
    let (range, next) = args.page.window(census.rows.len(), line);
    let rows = census.rows[range.clone()].to_vec();
    Ok((
        ObjectTable {
            rows,
            census,
            shown_from: range.start,
            detailed: args.detailed,
            retained: options.retained,
        },
        next,
    ))
}

impl Report for ObjectTable {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        let many_isolates = self.census.isolates > 1;
        let (retained_head, distance_head) = if self.retained {
            (
                format!(" {:>13} {:>8}", "Retained Size", "Distance"),
                format!(" {:>13} {:>8}", "-------------", "--------"),
            )
        } else {
            (String::new(), String::new())
        };
        writeln!(
            out,
            "{}",
            style.bold(&format!(
                " {:>10} {:>12}{retained_head}  {}",
                "Instances", "Total Size", "Name"
            ))
        )?;
        writeln!(
            out,
            " {:>10} {:>12}{distance_head}  ----",
            "---------", "----------"
        )?;
        for row in &self.rows {
            write!(out, " {:>10} {:>12}", row.count, row.size)?;
            if self.retained {
                let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
                write!(
                    out,
                    " {:>13} {:>8}",
                    or_dash(row.retained.map(|r| r.to_string())),
                    or_dash(row.distance.map(|d| d.to_string()))
                )?;
            }
            write!(out, "  {}", row.name)?;
            if self.detailed {
                if let Some(sample) = &row.sample {
                    write!(out, "  {}", style.dim(&format!("e.g. {sample}")))?;
                }
            }
            if many_isolates {
                let shares: Vec<String> = row
                    .isolates
                    .iter()
                    .map(|s| match s.isolate {
                        Some(i) => format!("#{i}: {}", s.count),
                        None => format!("shared: {}", s.count),
                    })
                    .collect();
                write!(out, "  {}", style.dim(&format!("[{}]", shares.join(", "))))?;
            }
            writeln!(out)?;
        }
        let c = &self.census;
        write!(
            out,
            "{}",
            style.dim(&format!(
                "rows {}-{} of {}; {} objects, {} bytes in all",
                (self.shown_from + 1).min(c.rows.len()),
                self.shown_from + self.rows.len(),
                c.rows.len(),
                c.total.count,
                c.total.size
            ))
        )?;
        if c.hidden.count > 0 {
            write!(
                out,
                "{}",
                style.dim(&format!(
                    "; V8 internals not listed: {} objects, {} bytes (--all lists them)",
                    c.hidden.count, c.hidden.size
                ))
            )?;
        }
        writeln!(out)?;
        for w in self.warnings() {
            writeln!(out, "{}", style.bold(&format!("warning: {w}")))?;
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        damage_warning(&self.census.damaged, "the counts may be low")
            .into_iter()
            .collect()
    }
}
