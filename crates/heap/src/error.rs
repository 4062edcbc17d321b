//! The crate's error: why a value could not be decoded ([`DecodeError`]). Every variant carries
//! the address it is about; `Display` is one line.

use coroner_v8::ReadError;

/// Why an address or a tagged value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Memory the decoder needed is not in the core (or not mapped at all).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The word at the address is not a pointer to a map: no heap object starts there.
    #[error("no heap object at {addr:#x}: the word there ({word:#x}) is not a map pointer")]
    NotAnObject {
        /// The address.
        addr: u64,
        /// The word found where the map should be.
        word: u64,
    },
    /// A heap object of another kind than the one asked for.
    #[error("the object at {addr:#x} is a {found}, not a {expected}")]
    WrongType {
        /// The object.
        addr: u64,
        /// What was expected.
        expected: &'static str,
        /// Its V8 instance type name.
        found: String,
    },
    /// A field holds a value its object cannot have (a negative length, a non-Smi count, ...).
    #[error("impossible {what} ({value:#x}) in the object at {addr:#x}")]
    Invalid {
        /// The object.
        addr: u64,
        /// Which field.
        what: &'static str,
        /// The raw value.
        value: u64,
    },
    /// A walk through objects (a cons string tree, a prototype chain, a transition tree) went on
    /// longer than any real heap allows: a cycle, or garbage.
    #[error("gave up following {what} from {addr:#x} after {steps} steps (a cycle, or garbage)")]
    Unbounded {
        /// Where the walk started.
        addr: u64,
        /// What was followed.
        what: &'static str,
        /// Steps taken.
        steps: u64,
    },
}

impl DecodeError {
    /// The address the error is about.
    pub fn addr(&self) -> u64 {
        match self {
            DecodeError::Read(e) => e.addr(),
            DecodeError::NotAnObject { addr, .. }
            | DecodeError::WrongType { addr, .. }
            | DecodeError::Invalid { addr, .. }
            | DecodeError::Unbounded { addr, .. } => *addr,
        }
    }
}
