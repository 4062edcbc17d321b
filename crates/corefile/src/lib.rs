//! Reads an x86-64 Linux ELF core file — from the kernel, or from gdb's `gcore` — into the
//! crashed process's memory as a sparse [`AddressSpace`] and its notes: [`Thread`]s with their
//! [`Registers`], the [`ProcessInfo`], the [`SignalInfo`], the [`MappedFile`]s and the auxiliary
//! vector.
//!
//! This is the bottom layer of coroner. It knows nothing about V8, node, or any file other than
//! the core; the layers above add backings (e.g. the executable) to the address space.
//!
//! ```no_run
//! use coroner_corefile::CoreFile;
//! let core = CoreFile::open(std::path::Path::new("core"))?;
//! let rsp = core.threads()[0].regs.rsp;
//! let top_of_stack = core.memory().read_u64(rsp)?;
//! println!("{} threads, [rsp] = {top_of_stack:#x}", core.threads().len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod compressed;
mod error;
mod file;
mod headers;
mod notes;
mod registers;
mod space;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use cache::MAX_ENTRIES as MAX_CACHED_CORES;
pub use compressed::{compression_of, Compression};
pub use error::{FillError, OpenError, ReadError};
pub use file::{special_file_kind, CoreFile};
pub use headers::Segment;
pub use notes::{signal_name, MappedFile, ProcessInfo, SignalInfo, Thread};
pub use registers::Registers;
pub use space::{AddressSpace, Backing, Perms, Region, Source};
