//! V8's layout for the Node.js of a core, and the heap it describes: tagged values, maps and
//! instance types, isolates, heap pages, and the walk over every object of a page.
//!
//! This is the V8 layout layer of coroner. It reads memory through the process image
//! (`coroner-image`) and the core's address space (`coroner-corefile`) and nothing above them.
//! Everything that differs between V8 versions — offsets, instance type numbers, bit fields,
//! page header shapes, object size rules — is data in a [`Layout`]: the executable's `v8dbg_*`
//! postmortem metadata, completed by a supplement per Node major (`layouts/nodeNN.toml`).
//!
//! Addresses are untagged (an object's first byte, where its map word is) unless a name says
//! otherwise; [`Tagging::tag`](layout::Tagging::tag) gives the pointer V8 stores.
//!
//! ```no_run
//! use coroner_image::{OpenOptions, ProcessImage};
//! use coroner_v8::Heap;
//! let image = ProcessImage::open("core".as_ref(), &OpenOptions::default())?;
//! let heap = Heap::open(&image)?;
//! for page in heap.pages() {
//!     let mut walk = heap.walk(page);
//!     let objects = walk.by_ref().count();
//!     println!("{:#x} {:?}: {objects} objects, {:?}", page.addr, page.space, walk.end());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod fatal;
mod heap;
pub mod isolate;
pub mod labs;
pub mod layout;
pub mod map;
pub mod pages;
pub mod read;
mod scan;
pub mod size;
mod stats;
pub mod tagged;
pub mod types;
pub mod walk;

pub use coroner_corefile::ReadError;
pub use error::{HeapError, LayoutError};
pub use fatal::fatal_message;
pub use heap::{Damage, Heap};
pub use isolate::Isolate;
pub use labs::{KnownLab, Lab, LabOrigin};
pub use layout::Layout;
pub use map::MapInfo;
pub use pages::{Page, PageKind, ReadOnlyAreas, Space};
pub use read::Reader;
pub use stats::{HeapStatistics, SpaceStatistics};
pub use tagged::Tagged;
pub use types::InstanceTypes;
pub use walk::{ObjectRef, PageWalk, Skipped, StuckReason, WalkEnd, TRUSTED_CHAIN};
