//! Node's own C++ state in a core: its `Environment`s (one per isolate running node), libuv's
//! event loops with every handle on them, and the requests in flight, each tied to the node
//! wrapper and JS object that own it (so that `inspect` and `retainers` take over).
//!
//! Layer: beside the heap model's consumers, on top of it. The heap model reads what node keeps
//! in V8 (the `Environment*` in a native context's embedder data, the object behind a global
//! handle); node's offsets come from the layout (its `nodedbg_*` constants), libuv's from its
//! stable ABI (`uv.rs`). Everything read comes from an untrusted core: rings are bounded and
//! checked link by link, and a structure that does not check out is skipped or noted, never
//! trusted.

mod assertion;
mod code;
mod env;
mod error;
mod layout;
mod loops;
mod requests;
mod rings;
mod state;
mod uv;

pub use assertion::{assertion, Assertion};
pub use code::timer_base_offset;
pub use env::Wrap;
pub use loops::{EventLoop, Handle};
pub use requests::Request;
pub use state::{read, EnvironmentSummary, LoopReading, Reading};
