//! The analyses of coroner over the heap model: the census of the heap (`findjsobjects`), the
//! instances of a name (`findjsinstances`), who holds an object (`findrefs`: the
//! [`ReverseIndex`]) and why it is alive (`retainers`: paths from the [`Roots`]), and named
//! stacks (`bt`).
//!
//! They work from an [`ObjectIndex`] — every object's address, map id and size, built by one
//! parallel walk — which [`HeapAnalysis`] builds once per open core and keeps for later
//! analyses, as it does the reverse index and the roots. Names come from the heap model
//! ([`coroner_heap::MapFacts`]), decided once per map.
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
mod refs;
mod retainers;
mod stacks;

use std::sync::OnceLock;

use coroner_heap::HeapModel;

pub use census::{
    census, Census, CensusOptions, CensusRow, Generation, IsolateShare, Totals, PROTOTYPE_NAME,
};
pub use index::{ObjectIndex, PageRun};
pub use instances::{instances, known_names, Instances, InstancesQuery};
pub use refs::{
    holder_name, holding_string, object_id, references, strings_equal_to, with_property,
    PropertyMatch, Reference, References, RefsError, ReverseIndex,
};
pub use retainers::{retainers, Hop, RetainerOptions, RetainerPath, Retainers, RootKind, Roots};
pub use stacks::{
    executing_position, interpreter_registers, jit_tier, name_frame, stacks, NamedFrame,
    PositionSource, ThreadStack,
};

/// The analyses of one open core: the heap model and the object index, the reverse-reference
/// index and the roots, each built on first use.
pub struct HeapAnalysis<'a> {
    model: HeapModel<'a>,
    index: OnceLock<ObjectIndex>,
    refs: OnceLock<ReverseIndex>,
    roots: OnceLock<Roots>,
}

impl<'a> HeapAnalysis<'a> {
    /// Analyses of `model`'s heap.
    pub fn new(model: HeapModel<'a>) -> HeapAnalysis<'a> {
        HeapAnalysis {
            model,
            index: OnceLock::new(),
            refs: OnceLock::new(),
            roots: OnceLock::new(),
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

    /// The reverse-reference index (built by the first call, after the object index).
    pub fn refs(&self) -> &ReverseIndex {
        self.refs
            .get_or_init(|| ReverseIndex::build(&self.model, self.index()))
    }

    /// The id of the object starting at `addr` (tagged or not).
    pub fn object_id(&self, addr: u64) -> Result<u32, RefsError> {
        object_id(&self.model, self.index(), addr)
    }

    /// The references to the object at `addr`, named (`findrefs ADDR`).
    pub fn references(&self, addr: u64) -> Result<References, RefsError> {
        let id = self.object_id(addr)?;
        Ok(references(&self.model, self.index(), self.refs(), id))
    }

    /// The objects with an own property named `name` (`findrefs -n NAME`).
    pub fn with_property(&self, name: &str) -> Vec<PropertyMatch> {
        with_property(&self.model, self.index(), Some(self.refs()), name)
    }

    /// The objects whose property or element is a string equal to `text` (`findrefs -s`).
    pub fn holding_string(&self, text: &str) -> Result<Vec<Reference>, RefsError> {
        holding_string(&self.model, self.index(), self.refs(), text)
    }

    /// The roots of the heap (found by the first call, with the stacks it is given; later
    /// calls return the same roots).
    pub fn roots(&self, stacks: &[ThreadStack]) -> &Roots {
        self.roots
            .get_or_init(|| Roots::find(&self.model, self.index(), stacks))
    }

    /// The shortest retainer paths of the object at `addr` (`retainers ADDR`); `stacks` are
    /// the threads' stacks, for the stack roots (see [`HeapAnalysis::roots`]).
    pub fn retainers(
        &self,
        addr: u64,
        stacks: &[ThreadStack],
        options: &RetainerOptions,
    ) -> Result<Retainers, RefsError> {
        let id = self.object_id(addr)?;
        let roots = self.roots(stacks);
        Ok(retainers(
            &self.model,
            self.index(),
            self.refs(),
            roots,
            id,
            options,
        ))
    }
}
