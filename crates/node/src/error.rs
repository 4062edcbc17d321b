//! Why node's state could not be read.

/// Why node's C++ state could not be read at all (a loop or a list that cannot be read is a
/// note on its result instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The build's `nodedbg_*` constants lack some coroner needs.
    #[error("this node build's postmortem constants lack {}", .0.join(", "))]
    MissingConstants(Vec<String>),
}
