//! The xtask's error: a one-line message for the user.

use std::fmt;

/// A failure, already worded for the user.
#[derive(Debug)]
pub struct Error(String);

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<coroner_fixtures::FixturesError> for Error {
    fn from(e: coroner_fixtures::FixturesError) -> Self {
        Self(e.0)
    }
}

/// Adds what was being done to an error.
pub trait Context<T> {
    /// Wraps the error as "`what`: error".
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}
