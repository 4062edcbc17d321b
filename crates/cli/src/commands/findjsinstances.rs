//! `findjsinstances NAME`: every object of one census name, addresses first; `-d` inspects each.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::InstancesQuery;
use coroner_heap::{InspectOptions, Value};
use serde::{Serialize, Serializer};

use super::{CommandError, Page};
use crate::render;
use crate::report::{Report, TextStyle};
use crate::session::Session;
use crate::value_json::Json;

/// Options of `findjsinstances`.
#[derive(Debug, ClapArgs)]
pub struct FindJsInstancesArgs {
    /// A name from findjsobjects: a constructor (`Walrus`), a bracketed kind (`(String)`,
    /// `(Array)`), or a detailed row (`Object {name, arr}`; quote it).
    #[arg(value_name = "NAME", required = true, num_args = 1..)]
    pub name: Vec<String>,
    /// Inspect each instance.
    #[arg(short = 'd', long)]
    pub detailed: bool,
    /// Only the instances in isolate N.
    #[arg(long, value_name = "N")]
    pub isolate: Option<usize>,
    #[command(flatten)]
    pub page: Page,
}

/// One instance. JSON: `{"address", "value"?}`.
#[derive(Debug, Serialize)]
pub struct Instance {
    address: String,
    /// Boxed: a `Value` is large, and a listing can hold hundreds of thousands of instances.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "value_json")]
    value: Option<Box<Value>>,
}

/// An instance's value, as the JSON of docs/values.md.
fn value_json<S: Serializer>(value: &Option<Box<Value>>, s: S) -> Result<S::Ok, S::Error> {
    value.as_deref().map(Json).serialize(s)
}

/// The instances listed. JSON: an array of instances.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct InstanceList {
    instances: Vec<Instance>,
    #[serde(skip)]
    name: String,
    #[serde(skip)]
    total: u64,
    #[serde(skip)]
    offset: usize,
}

/// Lists the instances.
pub fn run(
    session: &Session,
    args: &FindJsInstancesArgs,
    line: &str,
) -> Result<(InstanceList, Option<String>), CommandError> {
    let analysis = session.analysis()?;
    // Names with spaces (`Object {a, b}`) arrive as several words when unquoted.
    let name = args.name.join(" ");
    let (offset, limit) = args.page.bounds();
    let found = analysis.instances(&InstancesQuery {
        name: name.clone(),
        offset,
        limit,
        isolate: args.isolate,
    });
    if found.total == 0 {
        return Err(format!(
            "no objects named {name:?} (findjsobjects lists the names; -d for detailed ones)"
        ));
    }
    let options = InspectOptions::default();
    let instances = found
        .addresses
        .iter()
        .map(|&a| Instance {
            address: format!("{a:#x}"),
            value: args
                .detailed
                .then(|| analysis.model().inspect(a, &options).ok().map(Box::new))
                .flatten(),
        })
        .collect::<Vec<_>>();
    let shown_end = offset + instances.len();
    let next = args
        .page
        .next_command(line, shown_end, found.total as usize);
    Ok((
        InstanceList {
            instances,
            name,
            total: found.total,
            offset,
        },
        next,
    ))
}

impl Report for InstanceList {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        for i in &self.instances {
            match &i.value {
                Some(v) => writeln!(out, "{}", render::value(v, style))?,
                None => writeln!(out, "{}", i.address)?,
            }
        }
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{}-{} of {} {}",
                (self.offset + 1).min(self.total as usize),
                self.offset + self.instances.len(),
                self.total,
                self.name
            ))
        )
    }
}
