//! `leaks`: the leak suspects of the heap, ranked by the bytes they keep alive, each with why it
//! is suspect and the path from a root that holds it (Eclipse MAT's Leak Suspects report, on a
//! core). The patterns are those of [`coroner_analysis::Pattern`].

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::{LeakOptions, Leaks, Pattern};
use serde::Serialize;

use super::CommandError;
use crate::json::hex;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `leaks`.
#[derive(Debug, ClapArgs)]
pub struct LeaksArgs {
    /// Show at most N suspects.
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 10)]
    pub limit: usize,
    /// A suspect keeps at least this percentage of the reachable heap alive.
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0)]
    pub min_percent: f64,
}

/// One suspect. JSON: `{"address", "name", "retained", "count", "why", "detail", "path", ...}`
/// with the pattern's own fields (`entries`, `entry_name`, `objects`, `largest`, `share`, `text`,
/// `copies`, `wasted`).
#[derive(Debug, Serialize)]
struct SuspectJson {
    address: String,
    name: String,
    retained: u64,
    count: u64,
    /// The pattern: `collection`, `closure`, `dominator` or `duplicate-strings`.
    why: &'static str,
    /// The pattern in words.
    detail: String,
    /// The shortest path from a root, as `retainers` prints it.
    path: Option<String>,
    #[serde(flatten)]
    pattern: PatternJson,
}

/// The fields of a pattern.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum PatternJson {
    Collection {
        entries: u64,
        entry_name: String,
        objects: u64,
    },
    Closure {
        largest: String,
    },
    Dominator {
        share: f64,
    },
    Strings {
        text: String,
        length: u64,
        copies: u64,
        wasted: u64,
    },
}

/// The result of `leaks`. JSON: `{"suspects": [...], "reachable", "threshold"}`.
#[derive(Debug, Serialize)]
pub struct LeakReport {
    suspects: Vec<SuspectJson>,
    /// Bytes the roots keep alive.
    reachable: u64,
    /// The least a suspect keeps alive.
    threshold: u64,
}

/// Finds the suspects (computing the dominator tree, once per session).
pub fn run(session: &Session, args: &LeaksArgs) -> Result<LeakReport, CommandError> {
    if !(0.0..=100.0).contains(&args.min_percent) {
        return Err(format!(
            "--min-percent {} is not a percentage (0 to 100)",
            args.min_percent
        ));
    }
    let analysis = session.analysis()?;
    let options = LeakOptions {
        limit: args.limit,
        min_share: args.min_percent / 100.0,
        ..LeakOptions::default()
    };
    Ok(report(&analysis.leaks(&options)))
}

fn report(leaks: &Leaks) -> LeakReport {
    let suspects = leaks
        .suspects
        .iter()
        .map(|s| {
            let (detail, pattern) = match &s.pattern {
                Pattern::Collection {
                    entries,
                    entry_name,
                    objects,
                } => (
                    format!(
                        "{} keeps {entries} {entry_name} (of {objects} objects it alone holds)",
                        s.name
                    ),
                    PatternJson::Collection {
                        entries: *entries,
                        entry_name: entry_name.clone(),
                        objects: *objects,
                    },
                ),
                Pattern::Closure { largest } => (
                    format!("{} keeps {largest} alive", s.name),
                    PatternJson::Closure {
                        largest: largest.clone(),
                    },
                ),
                Pattern::Dominator { share } => (
                    format!("{} alone keeps {:.0}% of the heap alive", s.name, share * 100.0),
                    PatternJson::Dominator { share: *share },
                ),
                Pattern::DuplicateStrings {
                    text,
                    length,
                    copies,
                    wasted,
                } => (
                    format!(
                        "{copies} copies of one {length}-character string, {wasted} bytes wasted: {:?}",
                        clip(text, 60)
                    ),
                    PatternJson::Strings {
                        text: text.clone(),
                        length: *length,
                        copies: *copies,
                        wasted: *wasted,
                    },
                ),
            };
            SuspectJson {
                address: hex(s.address),
                name: s.name.clone(),
                retained: s.retained,
                count: s.count,
                why: s.pattern.kind(),
                detail,
                path: s.path.as_ref().map(|p| p.text()),
                pattern,
            }
        })
        .collect();
    LeakReport {
        suspects,
        reachable: leaks.reachable,
        threshold: leaks.threshold,
    }
}

/// `text`'s first `n` characters, with `…` when cut.
fn clip(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl Report for LeakReport {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        if self.suspects.is_empty() {
            return writeln!(
                out,
                "no leak suspect: nothing keeps {} bytes or more alive in a suspect pattern ({} bytes reachable)",
                self.threshold, self.reachable
            );
        }
        for (i, s) in self.suspects.iter().enumerate() {
            let share = s.retained as f64 * 100.0 / self.reachable.max(1) as f64;
            writeln!(
                out,
                "{} {} {} {}",
                style.bold(&format!("#{}", i + 1)),
                style.bold(&format!("{:>12}", s.retained)),
                style.dim(&format!("({share:.1}%)")),
                s.why
            )?;
            writeln!(out, "    {} {}", s.detail, style.dim(&s.address))?;
            if let Some(path) = &s.path {
                writeln!(out, "    {}", style.dim(&format!("held by: {path}")))?;
            }
        }
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} suspects; {} bytes reachable; a suspect keeps {} bytes or more (--min-percent); `dominators ADDR` and `retainers ADDR` go on from here",
                self.suspects.len(),
                self.reachable,
                self.threshold
            ))
        )
    }
}
