//! How a command's result reaches the user: as text for people, or as one JSON document per line
//! for scripts. Commands build a value; this module decides how it is written.

use std::io::{self, IsTerminal, Write};

/// How text output may be decorated.
#[derive(Clone, Copy, Debug)]
pub struct TextStyle {
    /// Whether ANSI colours may be used.
    pub color: bool,
}

impl TextStyle {
    /// Colour when standard output is a terminal and `NO_COLOR` is unset (`--color auto`).
    pub fn for_stdout() -> TextStyle {
        TextStyle {
            color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// `text` in bold when colour is on (headings, names).
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// `text` dimmed when colour is on (addresses, secondary facts).
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// A command's result.
pub trait Report: serde::Serialize {
    /// Writes the result for a person to read.
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()>;

    /// What makes the result partial (pages of a damaged heap not walked, ...): the text form
    /// says it in place; with `--json`, whose documents keep their documented shape, each is
    /// one `coroner: warning:` line on stderr.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Writes `report` as text, or as a single line of JSON.
pub fn emit(
    report: &dyn ErasedReport,
    json: bool,
    style: &TextStyle,
    out: &mut dyn Write,
) -> io::Result<()> {
    if json {
        for w in report.warnings() {
            eprintln!("coroner: warning: {w}");
        }
        report.write_json(out)?;
        writeln!(out)
    } else {
        report.write_text(out, style)
    }
}

/// Object-safe view of a [`Report`], so commands of different result types share one dispatch.
pub trait ErasedReport {
    /// The result as JSON, in the result type's own field order.
    fn write_json(&self, out: &mut dyn Write) -> io::Result<()>;
    /// The result as text.
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()>;
    /// What makes the result partial.
    fn warnings(&self) -> Vec<String>;
}

impl<T: Report> ErasedReport for T {
    fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer(out, self).map_err(io::Error::other)
    }
    fn write_text(&self, out: &mut dyn Write, style: &TextStyle) -> io::Result<()> {
        Report::write_text(self, out, style)
    }
    fn warnings(&self) -> Vec<String> {
        Report::warnings(self)
    }
}
