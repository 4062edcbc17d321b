//! `findrefs`: who holds an object. `findrefs ADDR` (also `findrefs -v ADDR`, llnode's
//! spelling) lists every heap object that holds a reference to ADDR with the edge that holds
//! it; `findrefs -n NAME` the objects that have a property called NAME; `findrefs -s TEXT` the
//! objects whose property or element is a string equal to TEXT. The first use builds the
//! reverse-reference index; later queries answer from it.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{PropertyMatch, Reach, Reference};
use serde::Serialize;

use super::{object_address, CommandError, Page};
use crate::json::{edge_parts, hex};
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `findrefs`.
#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["address", "value", "name", "string"])))]
pub struct FindRefsArgs {
    /// The object whose holders to list (hex, with or without 0x; tagged or not; or @ID from
    /// a heap snapshot coroner wrote).
    #[arg(value_name = "ADDR")]
    pub address: Option<String>,
    /// The same, as llnode spells it: `findrefs -v ADDR`.
    #[arg(short = 'v', long = "value", value_name = "ADDR")]
    pub value: Option<String>,
    /// List the objects that have a property called NAME.
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// List the objects whose property or element is a string equal to TEXT.
    #[arg(short = 's', long = "string", value_name = "TEXT")]
    pub string: Option<String>,
    /// Show at most N references (then Enter at the prompt, or the printed command, shows
    /// more).
    #[arg(long = "limit", value_name = "N")]
    pub limit: Option<usize>,
    /// Skip the first K references.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub offset: usize,
}

/// One reference, as printed. JSON: `{"address", "holder", "edge", "text", "kind", "name"?,
/// "index"?, "via"?, "slot"?, "target"?, "value"?, "weak", "reachable"?, "native_only"?}`.
#[derive(Debug, Serialize)]
pub struct RefRow {
    /// The holder's address.
    address: String,
    /// The holder's name.
    holder: String,
    /// The edge after the holder's name: `.label`, `[5]`, `value of key "k"`, `member`,
    /// `(context)`.
    edge: String,
    /// Holder and edge: `Walrus.label`, `Map value of key "k"`.
    text: String,
    /// `property`, `element`, `context variable`, `map value`, ...
    kind: &'static str,
    /// The property, variable or Map key.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The element index.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    /// The backing stores the reference goes through (outermost first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    via: Vec<String>,
    /// The address of the word holding the reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    slot: Option<String>,
    /// The object referenced (`-s`: the matching string).
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    /// The property's value, in short form (`-n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// A weak reference.
    weak: bool,
    /// Whether a GC root reaches the holder (absent for read-only holders, always alive):
    /// false marks garbage, which keeps nothing alive.
    #[serde(skip_serializing_if = "Option::is_none")]
    reachable: Option<bool>,
    /// An unreachable holder that words of native memory (maybe stale) still point at.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    native_only: bool,
}

/// `reachable` and `native_only` of a holder.
fn reach_fields(reach: Option<Reach>) -> (Option<bool>, bool) {
    match reach {
        None => (None, false),
        Some(Reach::Roots) => (Some(true), false),
        Some(Reach::NativeMemoryOnly) => (Some(false), true),
        Some(Reach::Nothing) => (Some(false), false),
    }
}

/// The references listed. JSON: an array of rows.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct RefList {
    rows: Vec<RefRow>,
    #[serde(skip)]
    summary: String,
    #[serde(skip)]
    offset: usize,
    #[serde(skip)]
    total: usize,
}

fn row(r: &Reference, target: bool, reach: Option<Reach>) -> RefRow {
    let (reachable, native_only) = reach_fields(reach);
    let (name, index) = edge_parts(&r.edge);
    RefRow {
        address: hex(r.holder),
        holder: r.holder_name.clone(),
        edge: r.edge.suffix().trim_start().to_string(),
        text: r.text(),
        kind: r.edge.kind(),
        name,
        index,
        via: r.via.iter().map(|&v| hex(v)).collect(),
        slot: Some(hex(r.slot)),
        target: target.then(|| hex(r.target)),
        value: None,
        weak: r.weak,
        reachable,
        native_only,
    }
}

fn property_row(m: &PropertyMatch, short: String, reach: Option<Reach>) -> RefRow {
    let (reachable, native_only) = reach_fields(reach);
    let (name, index) = edge_parts(&m.edge);
    RefRow {
        address: hex(m.holder),
        holder: m.holder_name.clone(),
        edge: m.edge.suffix().trim_start().to_string(),
        text: format!("{}{}", m.holder_name, m.edge.suffix()),
        kind: m.edge.kind(),
        name,
        index,
        via: Vec::new(),
        slot: None,
        target: None,
        value: Some(if m.accessor {
            format!("<accessor {short}>")
        } else {
            short
        }),
        weak: false,
        reachable,
        native_only,
    }
}

/// Finds the references.
pub fn run(
    session: &Session,
    args: &FindRefsArgs,
    line: &str,
) -> Result<(RefList, Option<String>), CommandError> {
    let analysis = session.analysis()?;
    let (rows, summary) = if let Some(name) = &args.name {
        let found = analysis.with_property(name);
        let rows: Vec<RefRow> = found
            .iter()
            .map(|m| {
                let short = analysis.model().short(m.value);
                property_row(m, short, analysis.reach(m.holder))
            })
            .collect();
        let summary = format!(
            "{} object{} with a property {name:?}",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
        (rows, summary)
    } else if let Some(text) = &args.string {
        let found = analysis.holding_string(text).map_err(|e| e.to_string())?;
        let rows: Vec<RefRow> = found
            .iter()
            .map(|r| row(r, true, analysis.reach(r.holder)))
            .collect();
        let summary = format!(
            "{} {} holding the string {text:?}",
            rows.len(),
            if rows.len() == 1 {
                "property or element"
            } else {
                "properties or elements"
            }
        );
        (rows, summary)
    } else {
        let text = args
            .value
            .as_deref()
            .or(args.address.as_deref())
            .ok_or("give an address, -n NAME or -s TEXT")?;
        let addr = object_address(session, text)?;
        let found = analysis.references(addr).map_err(|e| e.to_string())?;
        let rows: Vec<RefRow> = found
            .references
            .iter()
            .map(|r| row(r, false, analysis.reach(r.holder)))
            .collect();
        let mut summary = format!(
            "{} reference{} to {:#x} ({})",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            found.target,
            found.target_name
        );
        if found.scanned {
            summary
                .push_str(", found by scanning the whole heap (read-only objects are not indexed)");
        }
        (rows, summary)
    };
    let garbage = rows.iter().filter(|r| r.reachable == Some(false)).count();
    let summary = if garbage > 0 {
        format!(
            "{summary}; {garbage} of them from unreachable holders (garbage a GC would free, \
             keeping nothing alive)"
        )
    } else {
        summary
    };
    let page = Page {
        limit: args.limit,
        offset: args.offset,
    };
    let total = rows.len();
    let (shown, next) = page.window(total, line);
    let offset = shown.start;
    let rows = rows
        .into_iter()
        .skip(shown.start)
        .take(shown.len())
        .collect();
    Ok((
        RefList {
            rows,
            summary,
            offset,
            total,
        },
        next,
    ))
}

impl Report for RefList {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        let width = self.rows.iter().map(|r| r.address.len()).max().unwrap_or(0);
        for r in &self.rows {
            write!(out, "{:>width$}: {}", r.address, r.text)?;
            if let Some(v) = &r.value {
                write!(out, " = {v}")?;
            }
            let mut notes = Vec::new();
            if r.native_only {
                notes.push("unreachable but for a word of native memory, maybe stale".to_string());
            } else if r.reachable == Some(false) {
                notes.push("unreachable".to_string());
            }
            if r.weak {
                notes.push("weak".to_string());
            }
            if let Some(t) = &r.target {
                notes.push(format!("string {t}"));
            }
            if !r.via.is_empty() {
                notes.push(format!("via {}", r.via.join(", ")));
            }
            if !notes.is_empty() {
                write!(out, "  {}", style.dim(&format!("({})", notes.join("; "))))?;
            }
            writeln!(out)?;
        }
        let range = if self.rows.len() < self.total {
            format!(
                "{}-{} of ",
                (self.offset + 1).min(self.total),
                self.offset + self.rows.len()
            )
        } else {
            String::new()
        };
        writeln!(out, "{}", style.dim(&format!("{range}{}", self.summary)))
    }
}
