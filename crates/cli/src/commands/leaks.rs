//! `leaks`: the leak suspects of the heap, ranked by the bytes they keep alive, each with why it
//! is suspect and the path from a root that holds it (Eclipse MAT's Leak Suspects report, on a
//! core). The patterns are those of [`coroner_analysis::Pattern`].

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args as ClapArgs;
use coroner_analysis::{CensusOptions, LeakOptions, Leaks, Pattern};
use serde::Serialize;

use super::{diff, triage, CommandError};
use crate::json::hex;
use crate::page::{self, CensusCell, PageData, TreeCell};
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
    /// Also write the report as one self-contained HTML page (treemap of retained memory,
    /// suspects, census, triage) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// With --html: add what grew since OLD, an earlier core of the same process (as `diff
    /// OLD`).
    #[arg(long, value_name = "OLD", requires = "html")]
    pub since: Option<PathBuf>,
}

/// One suspect. JSON: `{"address", "name", "retained", "count", "why", "detail", "path", ...}`
/// with the pattern's own fields (`entries`, `entry_name`, `objects`, `stale`, `largest`, `share`, `text`,
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
        stale: u64,
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

/// The result of `leaks`. JSON: `{"suspects": [...], "reachable", "threshold", "html"?}`.
#[derive(Debug, Serialize)]
pub struct LeakReport {
    suspects: Vec<SuspectJson>,
    /// Bytes the roots keep alive.
    reachable: u64,
    /// The least a suspect keeps alive.
    threshold: u64,
    /// The page written (`--html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<PageJson>,
}

/// The page `--html` wrote. JSON: `{"file", "bytes"}`.
#[derive(Debug, Serialize)]
struct PageJson {
    file: String,
    bytes: u64,
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
    let mut leaks = report(&analysis.leaks(&options));
    if let Some(path) = &args.html {
        let bytes = write_page(session, args, path, &leaks)?;
        leaks.html = Some(PageJson {
            file: path.display().to_string(),
            bytes,
        });
    }
    Ok(leaks)
}

/// Writes the page of `--html` (see [`crate::page`]).
fn write_page(
    session: &Session,
    args: &LeaksArgs,
    path: &std::path::Path,
    leaks: &LeakReport,
) -> Result<u64, CommandError> {
    let analysis = session.analysis()?;
    let mut triage_text = Vec::new();
    triage::run(session, &triage::TriageArgs {})?
        .write_text(&mut triage_text, &TextStyle { color: false })
        .map_err(|e| e.to_string())?;
    let growth = match &args.since {
        None => None,
        Some(old) => {
            let diff_args = diff::DiffArgs {
                old: old.clone(),
                limit: 30,
                paths: 10,
                all: false,
            };
            let report = diff::run(session, &diff_args)?;
            Some(serde_json::to_value(&report).map_err(|e| e.to_string())?)
        }
    };
    let census = analysis.census(&CensusOptions {
        retained: true,
        ..CensusOptions::default()
    });
    let reachable = analysis.dominators().reachable_bytes();
    let tree = analysis
        .retained_tree(page::TREE_NODES, reachable / 2000)
        .into_iter()
        .map(|n| TreeCell {
            a: hex(n.address),
            n: n.name,
            r: n.retained,
            s: n.shallow,
            p: n.parent,
        })
        .collect();
    let data = PageData {
        core: session.image().core_path().display().to_string(),
        generator: format!("coroner {}", env!("CARGO_PKG_VERSION")),
        triage: String::from_utf8_lossy(&triage_text).into_owned(),
        reachable,
        threshold: leaks.threshold,
        tree,
        suspects: serde_json::to_value(&leaks.suspects).map_err(|e| e.to_string())?,
        census: census
            .rows
            .iter()
            .take(200)
            .map(|r| CensusCell {
                name: r.name.clone(),
                count: r.count,
                size: r.size,
                retained: r.retained,
                distance: r.distance,
            })
            .collect(),
        growth,
    };
    page::write(path, &data).map_err(|e| format!("cannot write {}: {e}", path.display()))
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
                    stale,
                } => {
                    let mut detail = format!(
                        "{} keeps {entries} {entry_name} (of {objects} objects it alone holds)",
                        s.name
                    );
                    if *stale > 0 {
                        detail.push_str(&format!(
                            "; {stale} of them are finished (destroyed) but still held"
                        ));
                    }
                    (
                        detail,
                        PatternJson::Collection {
                            entries: *entries,
                            entry_name: entry_name.clone(),
                            objects: *objects,
                            stale: *stale,
                        },
                    )
                }
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
        html: None,
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
        if let Some(page) = &self.html {
            writeln!(
                out,
                "wrote {} ({} bytes): open it in a browser",
                page.file, page.bytes
            )?;
        }
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
