//! What a damaged heap means for an answer: one warning line, carried by every command whose
//! answer comes from walking the heap, saying what the walk could not read and what may
//! therefore be missing.

use std::io::{self, Write};

use coroner_analysis::Damaged;

use crate::report::{ErasedReport, Report, TextStyle};
use crate::session::Session;

/// One line saying which ranges of the heap could not be read as objects, how many bytes that
/// leaves out, and `consequence` (what the answer may lack); `None` for a healthy heap.
pub fn damage_warning(damaged: &[Damaged], consequence: &str) -> Option<String> {
    let first = damaged.first()?;
    let bytes: u64 = damaged.iter().map(Damaged::bytes).sum();
    let mut pages: Vec<u64> = damaged.iter().map(|d| d.page).collect();
    pages.dedup();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    Some(format!(
        "the heap is damaged: {} range{} on {} page{} ({bytes} bytes) could not be read as objects (the first at {:#x}: {}): {consequence}",
        damaged.len(),
        plural(damaged.len()),
        pages.len(),
        plural(pages.len()),
        first.from,
        first.reason
    ))
}

/// A command's result with the damage warning of the session's heap added to its own.
pub struct Warned<R> {
    report: R,
    warning: Option<String>,
}

impl<R: Report> Warned<R> {
    /// `report`, warned of the heap's damage with `consequence` when the heap is damaged. The
    /// heap was walked by the command already, so asking costs nothing more.
    pub fn new(session: &Session, report: R, consequence: &str) -> Warned<R> {
        let warning = session
            .analysis()
            .ok()
            .and_then(|a| damage_warning(&a.damaged(), consequence));
        Warned { report, warning }
    }
}

impl<R: Report> ErasedReport for Warned<R> {
    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(out, &self.report).map_err(io::Error::other)
    }

    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        self.report.write_text(out, style)?;
        if let Some(w) = &self.warning {
            writeln!(out, "{}", style.bold(&format!("warning: {w}")))?;
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        let mut all = self.report.warnings();
        all.extend(self.warning.clone());
        all
    }
}
