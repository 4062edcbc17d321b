//! `info`: what process this core is of, and what coroner found to read it with.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use coroner_analysis::Analysis;
use coroner_heap::Redactor;
use coroner_image::{hex, ProcessImage};
use coroner_v8::layout::{MetadataOrigin, TableMatch};
use coroner_v8::{Layout, LayoutError};
use serde::Serialize;

use super::CommandError;
use crate::render::size;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `info`.
#[derive(Debug, ClapArgs)]
pub struct InfoArgs {}

/// The result of `info`. Field names are part of the JSON interface.
#[derive(Debug, Serialize)]
pub struct Info {
    core: String,
    core_bytes: u64,
    /// The compression the core file was stored with (`zstd`, `lz4`, `xz`, `gzip`), if any:
    /// `core_bytes` is then the decompressed size.
    compression: Option<&'static str>,
    /// Where the decompressed copy of a compressed core is kept for next time.
    #[serde(skip_serializing_if = "Option::is_none")]
    decompressed_copy: Option<String>,
    pid: Option<u32>,
    command_line: Option<String>,
    /// Where the command line was read: `initial stack` (argv, whole) or `core record` (the
    /// kernel's copy, cut at 80 bytes).
    command_line_source: Option<&'static str>,
    signal: Option<Signal>,
    threads: usize,
    crashed_tid: Option<u32>,
    executable: Option<Executable>,
    node_version: Option<String>,
    v8_version: Option<String>,
    /// Where V8's layout comes from, or why it cannot be loaded.
    layout: LayoutInfo,
    mappings: usize,
    bytes_in_core: u64,
    bytes_readable: u64,
    bytes_mapped: u64,
    modules: Vec<ModuleInfo>,
    /// The V8 heap: its isolates and how its pages were walked, or why it cannot be read.
    #[serde(flatten)]
    heap: HeapInfo,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum HeapInfo {
    Read {
        isolates: Vec<IsolateInfo>,
        /// Heap pages found.
        pages: usize,
        /// The ranges of damaged pages not read as objects (what lived there is in no
        /// answer).
        damaged: Vec<DamagedInfo>,
    },
    Failed {
        /// Why the heap cannot be read (every heap command fails with it).
        heap_error: String,
    },
}

#[derive(Debug, Serialize)]
struct IsolateInfo {
    index: usize,
    address: String,
    /// `main` (the process's main thread runs it), `worker`, or `unknown` (no thread was found
    /// in its JavaScript).
    thread_kind: &'static str,
    threads: Vec<u32>,
    pages: usize,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct DamagedInfo {
    page: String,
    from: String,
    to: String,
    bytes: u64,
    reason: String,
}

#[derive(Debug, Serialize)]
struct Signal {
    number: i32,
    name: &'static str,
    code: i32,
    fault_address: Option<String>,
    sender_pid: Option<u32>,
}

#[derive(Debug, Serialize)]
struct Executable {
    path: String,
    status: &'static str,
    build_id: Option<String>,
    file: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum LayoutInfo {
    Loaded {
        /// The build table, e.g. `node-22.23.3.toml`.
        table: &'static str,
        /// `build id` (the table is this build's) or `release range` (another release's,
        /// checked on the core before the heap is read; `chosen` with `--node-version`).
        table_match: &'static str,
        /// Where the v8dbg constants come from: `executable` or `table`.
        metadata_from: &'static str,
        /// The Node major's supplement, e.g. `node22.toml`.
        supplement: &'static str,
    },
    Failed {
        /// Why the layout cannot be loaded (heap commands fail with this).
        error: String,
    },
}

#[derive(Debug, Serialize)]
struct ModuleInfo {
    path: String,
    base: String,
    status: &'static str,
    #[serde(skip)]
    usable: bool,
}

/// Gathers `info` for the session's core.
pub fn run(session: &Session, _args: &InfoArgs) -> Result<Info, CommandError> {
    let heap = match session.analysis() {
        Ok(analysis) => heap_info(analysis),
        Err(heap_error) => HeapInfo::Failed { heap_error },
    };
    let mut info = gather(session.image(), session.chosen_layout(), heap);
    if let Some(r) = session.redactor() {
        info.command_line = redacted_command_line(session.image(), r);
    }
    Ok(info)
}

/// The command line with the arguments after the script withheld (`--redact`): from argv when
/// the core holds it, else from the words of the core's cut record.
fn redacted_command_line(image: &ProcessImage, r: &Redactor) -> Option<String> {
    let argv = match image.startup() {
        Some(s) if !s.argv.is_empty() => s.argv,
        _ => image
            .command_line()?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    };
    Some(r.command_line(&argv).join(" "))
}

fn heap_info(analysis: &Analysis<'_>) -> HeapInfo {
    let isolates = analysis
        .isolates()
        .into_iter()
        .map(|i| IsolateInfo {
            index: i.index,
            address: format!("{:#x}", i.addr),
            thread_kind: if i.main {
                "main"
            } else if i.threads.is_empty() {
                "unknown"
            } else {
                "worker"
            },
            threads: i.threads,
            pages: i.pages,
            bytes: i.bytes,
        })
        .collect();
    let model = analysis.model();
    HeapInfo::Read {
        isolates,
        pages: model.pages().len(),
        damaged: analysis
            .damaged()
            .iter()
            .map(|u| DamagedInfo {
                page: format!("{:#x}", u.page),
                from: format!("{:#x}", u.from),
                to: format!("{:#x}", u.to),
                bytes: u.bytes(),
                reason: u.reason.clone(),
            })
            .collect(),
    }
}

fn gather(image: &ProcessImage, layout: Result<Layout, LayoutError>, heap: HeapInfo) -> Info {
    let core = image.core();
    let segments = core.segments();
    Info {
        core: image.core_path().display().to_string(),
        core_bytes: core.len(),
        compression: core.compression().map(|c| c.name()),
        decompressed_copy: core.decompressed_copy().map(|p| p.display().to_string()),
        pid: core.process().map(|p| p.pid),
        command_line: image.command_line(),
        command_line_source: image.command_line_source(),
        signal: core.signal().map(|s| Signal {
            number: s.signo,
            name: s.name(),
            code: s.code,
            fault_address: s.fault_addr.map(|a| format!("{a:#x}")),
            sender_pid: s.sender_pid,
        }),
        threads: core.threads().len(),
        crashed_tid: core.threads().first().map(|t| t.tid),
        executable: image.executable().map(|m| Executable {
            path: m.path.clone(),
            status: m.status.as_str(),
            build_id: m.core_build_id.as_deref().map(hex),
            file: m.file.as_ref().map(|f| f.path().display().to_string()),
        }),
        node_version: match &layout {
            Ok(l) if l.source.table_match == TableMatch::BuildId => {
                Some(l.source.node_version.clone())
            }
            _ => image.versions().node.clone(),
        },
        v8_version: match &layout {
            Ok(l) if l.source.table_match == TableMatch::BuildId => l.source.v8_version.clone(),
            _ => image.versions().v8.clone(),
        },
        layout: match &layout {
            Ok(l) => LayoutInfo::Loaded {
                table: l.source.table,
                table_match: match l.source.table_match {
                    TableMatch::BuildId => "build id",
                    TableMatch::ReleaseRange => "release range",
                    TableMatch::Chosen => "chosen",
                },
                metadata_from: match l.source.metadata_from {
                    MetadataOrigin::Executable => "executable",
                    MetadataOrigin::Table => "table",
                    MetadataOrigin::TableOverDamagedExecutable { .. } => {
                        "table (the executable's disagree: damaged)"
                    }
                },
                supplement: l.source.supplement,
            },
            Err(e) => LayoutInfo::Failed {
                error: e.to_string(),
            },
        },
        mappings: segments.len(),
        bytes_in_core: segments.iter().map(|s| s.filesz).sum(),
        bytes_readable: image.bytes_present(),
        bytes_mapped: segments.iter().map(|s| s.memsz).sum(),
        modules: image
            .modules()
            .iter()
            .map(|m| ModuleInfo {
                path: m.path.clone(),
                base: format!("{:#x}", m.base),
                status: m.status.as_str(),
                usable: m.status.is_usable(),
            })
            .collect(),
        heap,
        warnings: image.warnings().to_vec(),
    }
}

impl Info {
    /// The text form as (label, value) rows.
    fn rows(&self) -> Vec<(&'static str, String)> {
        let unknown = || "unknown".to_string();
        let mut rows = vec![
            (
                "core",
                match (self.compression, &self.decompressed_copy) {
                    (Some(c), Some(copy)) => format!(
                        "{} ({}, decompressed from {c}; kept as {copy})",
                        self.core,
                        size(self.core_bytes)
                    ),
                    (Some(c), None) => format!(
                        "{} ({}, decompressed from {c})",
                        self.core,
                        size(self.core_bytes)
                    ),
                    (None, _) => format!("{} ({})", self.core, size(self.core_bytes)),
                },
            ),
            (
                "process",
                format!("pid {}", self.pid.map_or_else(unknown, |p| p.to_string())),
            ),
            (
                "command",
                match (&self.command_line, self.command_line_source) {
                    (Some(c), Some("core record")) => {
                        format!("{c} (the core's record, cut at 80 bytes: the stack was not found)")
                    }
                    (Some(c), _) => c.clone(),
                    (None, _) => unknown(),
                },
            ),
        ];
        let signal = match &self.signal {
            Some(s) => {
                let mut v = format!("{} ({})", s.name, s.number);
                if let Some(a) = &s.fault_address {
                    v.push_str(&format!(" at {a}"));
                }
                if let Some(p) = s.sender_pid {
                    v.push_str(&format!(" sent by pid {p}"));
                }
                if s.name == "SIGSTOP" {
                    v.push_str(": stopped, as gdb's gcore does; not a crash");
                }
                v
            }
            None => "none recorded".to_string(),
        };
        rows.push(("signal", signal));
        let mut threads = self.threads.to_string();
        if let Some(t) = self.crashed_tid {
            threads.push_str(&format!(" (first: tid {t})"));
        }
        rows.push(("threads", threads));
        match &self.executable {
            Some(e) => {
                let how = match e.status {
                    "matched" => "build id matches the core".to_string(),
                    "unverified" => "no build id to check".to_string(),
                    "not opened" => "not opened: --core-only".to_string(),
                    other => format!("{other}: not used"),
                };
                let path = e.file.as_deref().unwrap_or(&e.path);
                rows.push(("executable", format!("{path} ({how})")));
                if let Some(id) = &e.build_id {
                    rows.push(("build id", id.clone()));
                }
            }
            None => rows.push(("executable", "not identified".to_string())),
        }
        rows.push(("node", self.node_version.clone().unwrap_or_else(unknown)));
        rows.push(("v8", self.v8_version.clone().unwrap_or_else(unknown)));
        rows.push((
            "layout",
            match &self.layout {
                LayoutInfo::Loaded {
                    table,
                    table_match,
                    metadata_from,
                    supplement,
                } => {
                    let which = match *table_match {
                        "build id" => "this build's table",
                        "chosen" => "chosen with --node-version, checked on the core",
                        _ => "the table covering this release, checked on the core",
                    };
                    format!("{table} ({which}) and {supplement}; v8dbg constants from the {metadata_from}")
                }
                LayoutInfo::Failed { error } => format!("cannot be loaded: {error}"),
            },
        ));
        rows.push((
            "memory",
            format!(
                "{} mappings, {} mapped, {} in the core, {} readable with the files",
                self.mappings,
                size(self.bytes_mapped),
                size(self.bytes_in_core),
                size(self.bytes_readable)
            ),
        ));
        let usable: Vec<&ModuleInfo> = self.modules.iter().filter(|m| m.usable).collect();
        rows.push((
            "modules",
            format!(
                "{} ELF files mapped, {} found and matching",
                self.modules.len(),
                usable.len()
            ),
        ));
        for m in self.modules.iter().filter(|m| !m.usable) {
            rows.push(("", format!("{} {}", m.status, m.path)));
        }
        match &self.heap {
            HeapInfo::Read {
                isolates,
                pages,
                damaged,
            } => {
                rows.push(("isolates", isolates.len().to_string()));
                for i in isolates {
                    let who = match (i.thread_kind, i.threads.as_slice()) {
                        ("unknown", _) => "no thread found in its JavaScript".to_string(),
                        (kind, tids) => format!(
                            "{kind} thread, tid {}",
                            tids.iter()
                                .map(u32::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    rows.push((
                        "",
                        format!(
                            "#{} {} {who}: {} in {} heap pages",
                            i.index,
                            i.address,
                            size(i.bytes),
                            i.pages
                        ),
                    ));
                }
                let walked = if damaged.is_empty() {
                    "every one walked to its end".to_string()
                } else {
                    let bytes: u64 = damaged.iter().map(|u| u.bytes).sum();
                    format!(
                        "damaged: {} range{} not read as objects, {} in no answer",
                        damaged.len(),
                        if damaged.len() == 1 { "" } else { "s" },
                        size(bytes)
                    )
                };
                rows.push(("heap pages", format!("{pages}, {walked}")));
                for u in damaged {
                    rows.push((
                        "",
                        format!(
                            "page {}: {}..{} skipped ({}): {}",
                            u.page,
                            u.from,
                            u.to,
                            size(u.bytes),
                            u.reason
                        ),
                    ));
                }
            }
            HeapInfo::Failed { heap_error } => {
                rows.push(("heap", format!("cannot be read: {heap_error}")));
            }
        }
        rows
    }
}

impl Report for Info {
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        const WIDTH: usize = "executable: ".len();
        for (label, value) in self.rows() {
            let label = if label.is_empty() {
                String::new()
            } else {
                format!("{label}:")
            };
            let pad = " ".repeat(WIDTH.saturating_sub(label.len()));
            writeln!(out, "{}{pad}{value}", style.bold(&label))?;
        }
        Ok(())
    }
}
