//! `set pagination on|off`: the prompt's settings, spelled as gdb spells them.

use std::io::{self, Write};

use clap::Args as ClapArgs;
use serde::Serialize;

use super::CommandError;
use crate::report::{Report, TextStyle};
use crate::session::Session;

/// Options of `set`.
#[derive(Debug, ClapArgs)]
pub struct SetArgs {
    /// The setting: `pagination` (pause long output after a screenful at a terminal).
    #[arg(value_name = "SETTING")]
    pub setting: String,
    /// `on` or `off`.
    #[arg(value_name = "on|off")]
    pub value: String,
}

/// A setting as it now is. JSON: `{"setting", "value"}`.
#[derive(Debug, Serialize)]
pub struct Setting {
    setting: String,
    value: bool,
}

/// Changes the setting.
pub fn run(session: &Session, args: &SetArgs) -> Result<Setting, CommandError> {
    let on = match args.value.as_str() {
        "on" | "1" | "yes" => true,
        "off" | "0" | "no" => false,
        other => return Err(format!("{other:?}: expected on or off")),
    };
    match args.setting.as_str() {
        "pagination" | "pager" => session.set_pagination(on),
        other => return Err(format!("no setting {other:?} (there is `pagination`)")),
    }
    Ok(Setting {
        setting: "pagination".into(),
        value: on,
    })
}

impl Report for Setting {
    fn write_text(&self, out: &mut dyn Write, _style: &TextStyle) -> io::Result<()> {
        let value = if self.value { "on" } else { "off" };
        writeln!(out, "{}: {value}", self.setting)
    }
}
