//! `inspect ADDR` (also `i`, `print`, `p`): one value, decoded.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_heap::{InspectOptions, Value, MAX_EXPANDED};
use serde::{Serialize, Serializer};

use super::{object_address, CommandError};
use crate::render;
use crate::report::{Report, TextStyle};
use crate::session::Session;
use crate::value_json::Json;

/// Options of `inspect`.
#[derive(Debug, ClapArgs)]
pub struct InspectArgs {
    /// The address of a heap object (hex, with or without 0x; tagged or not; or @ID from a
    /// heap snapshot coroner wrote).
    #[arg(value_name = "ADDR")]
    pub address: String,
    /// Show strings in full, whatever -l says.
    #[arg(short = 'F', long = "full-string")]
    pub full: bool,
    /// Most string characters, elements, entries and bytes shown.
    #[arg(short = 'l', long = "length", value_name = "N", default_value_t = 16)]
    pub limit: u64,
    /// Show the object's map.
    #[arg(short = 'm', long = "print-map")]
    pub map: bool,
    /// Show a function's source.
    #[arg(short = 's', long = "print-source")]
    pub source: bool,
    /// Levels of nested objects expanded (10000 objects at most; past that, nested objects are
    /// shown in short form and counted).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub depth: u32,
    /// Also what the object keeps alive (retained size) and its distance from the roots:
    /// builds the dominator tree of the whole heap on first use (given anyway once a command
    /// such as `findjsobjects` has built it).
    #[arg(short = 'r', long)]
    pub retained: bool,
}

impl InspectArgs {
    /// The decoding options these flags ask for.
    pub fn options(&self) -> InspectOptions {
        InspectOptions {
            full_strings: self.full,
            limit: self.limit,
            show_map: self.map,
            depth: self.depth,
            function_source: self.source,
            reveal: false,
        }
    }
}

/// The result of `inspect`: the value itself (its JSON is the value schema of docs/values.md,
/// with `"shallow"` and, when known, `"retained"` and `"distance"` at the top, and
/// `"unexpanded"` when the expansion stopped at its budget).
#[derive(Debug)]
pub struct Inspected {
    value: Value,
    weight: Option<Weight>,
    /// Nested objects `--depth` asked for but left in short form (see [`MAX_EXPANDED`]).
    unexpanded: u64,
}

/// What a heap object weighs.
#[derive(Debug, Clone, Copy)]
struct Weight {
    /// Its own size in bytes.
    shallow: u64,
    /// What it keeps alive: `Some(None)` when no root reaches it, `None` when not computed.
    retained: Option<Option<u64>>,
    /// Hops from the roots (with `retained`).
    distance: Option<u32>,
}

impl Serialize for Inspected {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.weight.is_none() && self.unexpanded == 0 {
            return Json(&self.value).serialize(s);
        }
        let mut doc = serde_json::to_value(Json(&self.value)).map_err(serde::ser::Error::custom)?;
        if let Some(map) = doc.as_object_mut() {
            if self.unexpanded > 0 {
                map.insert("unexpanded".into(), self.unexpanded.into());
            }
        }
        let Some(w) = self.weight else {
            return doc.serialize(s);
        };
        if let Some(map) = doc.as_object_mut() {
            map.insert("shallow".into(), w.shallow.into());
            if let Some(retained) = w.retained {
                map.insert("retained".into(), retained.into());
                map.insert("distance".into(), w.distance.into());
            }
        }
        doc.serialize(s)
    }
}

/// Decodes the value at the address.
pub fn run(session: &Session, args: &InspectArgs) -> Result<Inspected, CommandError> {
    let addr = object_address(session, &args.address)?;
    let analysis = session.analysis()?;
    let model = analysis.model();
    let inspection = model
        .inspection(addr, &args.options())
        .map_err(|e| e.to_string())?;
    let value = inspection.value;
    // Heap objects weigh something; Smis and addresses outside the heap do not.
    let object = value.address.filter(|&a| model.header(a).is_ok());
    let weight = object.and_then(|a| {
        let shallow = model.shallow_size(a).ok()?;
        let tree = if args.retained {
            Some(analysis.dominators())
        } else {
            analysis.dominators_if_built()
        };
        let id = tree.and_then(|_| analysis.index().id_of(a));
        let retained = tree.map(|t| id.and_then(|i| t.retained(i)));
        let distance = tree.zip(id).and_then(|(t, i)| t.distance(i));
        Some(Weight {
            shallow,
            retained,
            distance,
        })
    });
    Ok(Inspected {
        value,
        weight,
        unexpanded: inspection.unexpanded,
    })
}

impl Report for Inspected {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(out, "{}", render::value(&self.value, style))?;
        if self.unexpanded > 0 {
            let note = format!(
                "... {} more objects not expanded (inspect expands at most {MAX_EXPANDED}; ask for less --depth, or inspect them one by one)",
                self.unexpanded
            );
            writeln!(out, "{}", style.dim(&note))?;
        }
        if let Some(w) = self.weight {
            let mut line = format!("shallow size {}", w.shallow);
            match w.retained {
                Some(Some(r)) => {
                    line.push_str(&format!(", retained size {r}"));
                    if let Some(d) = w.distance {
                        line.push_str(&format!(", distance {d}"));
                    }
                }
                Some(None) => line.push_str(", unreachable from the roots (garbage)"),
                None => line.push_str(" (retained size: inspect -r)"),
            }
            writeln!(out, "{}", style.dim(&line))?;
        }
        Ok(())
    }
}
