//! `inspect ADDR` (also `i`, `print`, `p`): one value, decoded.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_heap::{InspectOptions, Value};
use serde::{Serialize, Serializer};

use super::{parse_address, CommandError};
use crate::render;
use crate::report::{Report, TextStyle};
use crate::session::Session;
use crate::value_json::Json;

/// Options of `inspect`.
#[derive(Debug, ClapArgs)]
pub struct InspectArgs {
    /// The address of a heap object (hex, with or without 0x; tagged or not).
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
    /// Levels of nested objects expanded.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub depth: u32,
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
        }
    }
}

/// The result of `inspect`: the value itself (its JSON is the value schema of docs/values.md).
#[derive(Debug)]
pub struct Inspected(Value);

impl Serialize for Inspected {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Json(&self.0).serialize(s)
    }
}

/// Decodes the value at the address.
pub fn run(session: &Session, args: &InspectArgs) -> Result<Inspected, CommandError> {
    let addr = parse_address(&args.address)?;
    let analysis = session.analysis()?;
    let value = analysis
        .model()
        .inspect(addr, &args.options())
        .map_err(|e| e.to_string())?;
    Ok(Inspected(value))
}

impl Report for Inspected {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        writeln!(out, "{}", render::value(&self.0, style))
    }
}
