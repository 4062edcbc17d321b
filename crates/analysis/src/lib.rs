//! The analyses of coroner over the heap model: the census of the heap (`findjsobjects`), the
//! instances of a name (`findjsinstances`), who holds an object (`findrefs`: the
//! [`ReverseIndex`]) and why it is alive (`retainers`: paths from the [`Roots`]), and named
//! stacks (`bt`).
//!
//! [`Analysis`] is the one way in: the analyses of one open core, each built on first use and
//! kept (the [`ObjectIndex`] — every object's address, map id and size, built by one parallel
//! walk — the reverse index, the stacks and the roots). Names come from the heap model
//! ([`coroner_heap::MapFacts`]), decided once per map. Results are plain data; the CLI renders
//! them.
//!
//! Layer: analyses. It uses the heap model (`coroner-heap`) for everything an object means and
//! the unwinder (`coroner-unwind`) for the frames; it decodes no V8 object itself, and must not
//! depend on the CLI.
//!
//! ```no_run
//! use coroner_analysis::{Analysis, CensusOptions, InstancesQuery};
//! use coroner_image::{OpenOptions, ProcessImage};
//! let image = ProcessImage::open("core".as_ref(), &OpenOptions::default())?;
//! let analysis = Analysis::open(&image)?;
//! for row in analysis.census(&CensusOptions::default()).rows.iter().take(10) {
//!     println!("{:>10} {:>12} {}", row.count, row.size, row.name);
//! }
//! let walruses = analysis.instances(&InstancesQuery { name: "Walrus".into(), ..Default::default() });
//! println!("{} Walrus, first at {:#x?}", walruses.total, walruses.addresses.first());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod census;
mod damage;
mod diff;
mod dominators;
mod ephemerons;
mod heapsnapshot;
mod index;
mod instances;
mod leaks;
mod memory;
mod names;
mod nodeinfo;
mod nodestate;
mod promises;
mod refs;
mod retainers;
mod reverse;
mod roots;
mod session;
mod stacks;
mod timers;
mod treemap;
pub mod triage;

pub use census::{
    Census, CensusOptions, CensusRow, Generation, IsolateShare, Totals, PROTOTYPE_NAME,
};
pub use coroner_node::{EnvironmentSummary, EventLoop, Handle, Request};
pub use damage::Damaged;
pub use diff::{ClassGrowth, Growth, GrowthOptions, PathGrowth};
pub use dominators::{Dominator, Dominators};
pub use heapsnapshot::{
    node_id, object_of_node_id, EdgeLabel, EdgeOrigin, EdgeType, NodeType, SnapshotEdge,
    SnapshotFile, SnapshotOptions, SnapshotSummary,
};
pub use index::{ObjectIndex, PageRun};
pub use instances::{Instances, InstancesQuery};
pub use leaks::{
    LeakOptions, Leaks, Pattern, Suspect, DOMINATOR_SHARE, MAX_HASHED_LENGTH, MIN_ENTRIES,
};
pub use memory::{MemoryWord, Pointee, RegisterValue};
pub use nodeinfo::{NodeInfo, NodeThread};
pub use nodestate::{Callback, HandleState, LoopState, NodeState, Owner, RequestState};
pub use promises::{PendingPromise, Promises, QueuedMicrotasks, Waiter};
pub use refs::{PropertyMatch, Reference, References, RefsError};
pub use retainers::{Hop, RetainerOptions, RetainerPath, Retainers};
pub use reverse::ReverseIndex;
pub use roots::{RootKind, Roots};
pub use session::{Analysis, FrameLocals, IsolateSummary, Progress, Reach, Stage};
pub use stacks::{AsyncFrame, JsFrame, NamedFrame, NamedKind, Place, PositionSource, ThreadStack};
pub use timers::{Timer, TimerKind};
pub use treemap::TreeNode;
