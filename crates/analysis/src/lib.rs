//! The analyses of coroner over the heap model: the census of the heap (`findjsobjects`) and
//! the instances of a name (`findjsinstances`).
//!
//! Both work from an [`ObjectIndex`] — every object's address, map id and size, built by one
//! parallel walk — which [`HeapAnalysis`] builds once per open core and keeps for later
//! analyses. Names come from the heap model ([`coroner_heap::MapFacts`]), decided once per map.
//!
//! Layer: analyses. It uses the heap model (`coroner-heap`, and the V8 layer through it) and
//! must not depend on the CLI.
//!
//! ```no_run
//! use coroner_analysis::{CensusOptions, HeapAnalysis, InstancesQuery};
//! use coroner_heap::HeapModel;
//! use coroner_image::{OpenOptions, ProcessImage};
//! let image = ProcessImage::open("core".as_ref(), &OpenOptions::default())?;
//! let analysis = HeapAnalysis::new(HeapModel::open(&image)?);
//! for row in analysis.census(&CensusOptions::default()).rows.iter().take(10) {
//!     println!("{:>10} {:>12} {}", row.count, row.size, row.name);
//! }
//! let walruses = analysis.instances(&InstancesQuery { name: "Walrus".into(), ..Default::default() });
//! println!("{} Walrus, first at {:#x?}", walruses.total, walruses.addresses.first());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod census;
mod index;
mod instances;
mod stacks;

use std::sync::OnceLock;

use coroner_heap::HeapModel;

pub use census::{
    census, Census, CensusOptions, CensusRow, Generation, IsolateShare, Totals, PROTOTYPE_NAME,
};
pub use index::{ObjectIndex, PageRun};
pub use instances::{instances, known_names, Instances, InstancesQuery};
pub use stacks::{
    executing_position, interpreter_registers, jit_tier, name_frame, stacks, NamedFrame,
    PositionSource, ThreadStack,
};

/// The analyses of one open core: the heap model and the object index, built on first use.
pub struct HeapAnalysis<'a> {
    model: HeapModel<'a>,
    index: OnceLock<ObjectIndex>,
}

impl<'a> HeapAnalysis<'a> {
    /// Analyses of `model`'s heap.
    pub fn new(model: HeapModel<'a>) -> HeapAnalysis<'a> {
        HeapAnalysis {
            model,
            index: OnceLock::new(),
        }
    }

    /// The heap model.
    pub fn model(&self) -> &HeapModel<'a> {
        &self.model
    }

    /// The object index (built by the first call).
    pub fn index(&self) -> &ObjectIndex {
        self.index.get_or_init(|| ObjectIndex::build(&self.model))
    }

    /// The census of the heap.
    pub fn census(&self, options: &CensusOptions) -> Census {
        census(&self.model, self.index(), options)
    }

    /// The instances of a census name.
    pub fn instances(&self, query: &InstancesQuery) -> Instances {
        instances(&self.model, self.index(), query)
    }
}
