//! [`Analysis`]: the analyses of one open core. It owns what they share — the heap model, the
//! object index, the reverse-reference index, every thread's named stack and the roots — and
//! builds each on first use, once, in the order they need each other (the roots need the stacks
//! and the object index; the references need the object index). A command asks for the answer
//! it wants; it never wires the pieces together itself.

use std::sync::{Arc, OnceLock};

use coroner_heap::HeapModel;
use coroner_image::ProcessImage;
use coroner_unwind::Unwinder;

use crate::census::{census, Census, CensusOptions};
use crate::damage::{damaged_ranges, Damaged};
use crate::dominators::Dominators;
use crate::ephemerons::Ephemerons;
use crate::index::ObjectIndex;
use crate::instances::{instances, known_names, Instances, InstancesQuery};
use crate::memory::{MemoryWord, Pointees, RegisterValue};
use crate::nodeinfo::NodeInfo;
use crate::nodestate::NodeState;
use crate::promises::Promises;
use crate::refs::{
    holding_string, object_id, references, with_property, PropertyMatch, Reference, References,
    RefsError,
};
use crate::retainers::{retainers, RetainerOptions, Retainers};
use crate::reverse::ReverseIndex;
use crate::roots::Roots;
use crate::stacks::{stacks, JsFrame, NamedFrame, ThreadStack};
use crate::timers::Timer;

/// A part of the analysis that is built once, on first use, and may take a while on a large
/// core: what [`Progress`] is told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Walking every page to index every object.
    IndexingObjects,
    /// Reading every object's references.
    IndexingReferences,
    /// Unwinding every thread and naming its frames.
    Unwinding,
    /// Scanning stacks and native memory for roots.
    FindingRoots,
    /// Computing the dominator tree, retained sizes and distances.
    Dominators,
    /// Writing a heap snapshot file.
    WritingSnapshot,
    /// Looking for leak suspects (and reading every string to find duplicates).
    FindingLeaks,
    /// Matching the objects of two cores by path, to see what grew.
    ComparingCores,
}

/// Told when a [`Stage`] starts and ends (a front end shows a spinner meanwhile).
pub trait Progress: Send + Sync {
    /// `stage` is starting.
    fn begin(&self, stage: Stage);
    /// `stage` is done.
    fn end(&self, stage: Stage);
}

/// The interpreter registers and closure variables of a JavaScript frame, in short form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameLocals {
    /// The interpreter's registers `r0`, `r1`, ... (interpreted frames only).
    pub registers: Vec<String>,
    /// The variables of the frame's closure context, by name.
    pub variables: Vec<(String, String)>,
}

/// What reaches an object (see [`Analysis::reach`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A GC root: a global object, a native context, a stack word, an isolate's data.
    Roots,
    /// Only words of native memory, which may be stale (freed memory keeps its contents): most
    /// likely garbage a GC would free.
    NativeMemoryOnly,
    /// Nothing: garbage a GC would free; it keeps nothing alive.
    Nothing,
}

/// One isolate of the process: a V8 heap and the thread that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolateSummary {
    /// Its index among the heap's isolates (what `--isolate N` takes).
    pub index: usize,
    /// The `Isolate` object's address.
    pub addr: u64,
    /// The threads found running its JavaScript (or C++ called from it), by tid.
    pub threads: Vec<u32>,
    /// Whether one of them is the process's main thread.
    pub main: bool,
    /// Its heap pages.
    pub pages: usize,
    /// The bytes those pages take (committed memory; objects take less).
    pub bytes: u64,
}

/// The analyses of one open core (see the module documentation).
pub struct Analysis<'a> {
    image: &'a ProcessImage,
    model: HeapModel<'a>,
    index: OnceLock<ObjectIndex>,
    refs: OnceLock<ReverseIndex>,
    stacks: OnceLock<Vec<ThreadStack>>,
    roots: OnceLock<Roots>,
    dominators: OnceLock<Dominators>,
    /// For each WeakMap key, its values and their tables (the heap snapshot export's edges).
    ephemerons: OnceLock<Ephemerons>,
    node: OnceLock<NodeState>,
    progress: Option<Arc<dyn Progress>>,
}

impl<'a> Analysis<'a> {
    /// The analyses of `image`, whose heap `model` is.
    pub fn new(image: &'a ProcessImage, model: HeapModel<'a>) -> Analysis<'a> {
        Analysis {
            image,
            model,
            index: OnceLock::new(),
            refs: OnceLock::new(),
            stacks: OnceLock::new(),
            roots: OnceLock::new(),
            dominators: OnceLock::new(),
            ephemerons: OnceLock::new(),
            node: OnceLock::new(),
            progress: None,
        }
    }

    /// Opens the heap of `image` with the layout of its own build (see [`HeapModel::open`]).
    pub fn open(image: &'a ProcessImage) -> Result<Analysis<'a>, coroner_heap::HeapError> {
        Ok(Analysis::new(image, HeapModel::open(image)?))
    }

    /// Reports each stage to `progress` from now on.
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Analysis<'a> {
        self.progress = Some(progress);
        self
    }

    /// Runs `build` as `stage`, telling the progress observer (its end too when the build is
    /// interrupted: see [`HeapModel::check_interrupt`]).
    pub(crate) fn stage<T>(&self, stage: Stage, build: impl FnOnce() -> T) -> T {
        /// Ends the stage when dropped, on return or unwinding.
        struct Ending<'p>(Option<&'p dyn Progress>, Stage);
        impl Drop for Ending<'_> {
            fn drop(&mut self) {
                if let Some(p) = self.0 {
                    p.end(self.1);
                }
            }
        }
        let progress = self.progress.as_deref();
        if let Some(p) = progress {
            p.begin(stage);
        }
        let _ending = Ending(progress, stage);
        build()
    }

    /// The process image.
    pub fn image(&self) -> &'a ProcessImage {
        self.image
    }

    /// The heap model: what any one object is.
    pub fn model(&self) -> &HeapModel<'a> {
        &self.model
    }

    /// Every range of the heap not read as objects (a damaged heap), in address order; empty
    /// for a healthy heap. Every answer that walks the heap lacks what lived there.
    pub fn damaged(&self) -> Vec<Damaged> {
        damaged_ranges(&self.model, |_| true)
    }

    /// The object index (built by the first call).
    pub fn index(&self) -> &ObjectIndex {
        self.index
            .get_or_init(|| self.stage(Stage::IndexingObjects, || ObjectIndex::build(&self.model)))
    }

    /// The reverse-reference index (built by the first call, after the object index).
    pub fn refs(&self) -> &ReverseIndex {
        let index = self.index();
        self.refs.get_or_init(|| {
            self.stage(Stage::IndexingReferences, || {
                ReverseIndex::build(&self.model, index)
            })
        })
    }

    /// The reverse-reference index, if some query has built it already.
    pub fn refs_if_built(&self) -> Option<&ReverseIndex> {
        self.refs.get()
    }

    /// Every thread's stack, native and JavaScript frames named (unwound by the first call).
    pub fn stacks(&self) -> &[ThreadStack] {
        self.stacks.get_or_init(|| {
            self.stage(Stage::Unwinding, || {
                let unwinder = Unwinder::from_heap(self.image, self.model.v8_heap());
                stacks(&self.model, &unwinder)
            })
        })
    }

    /// The roots of the heap (found by the first call, after the stacks and the object index).
    pub fn roots(&self) -> &Roots {
        let stacks = self.stacks();
        let index = self.index();
        self.roots.get_or_init(|| {
            self.stage(Stage::FindingRoots, || {
                Roots::find(&self.model, index, stacks)
            })
        })
    }

    /// The dominator tree with every object's retained size and distance (built by the first
    /// call, after the references and the roots).
    pub fn dominators(&self) -> &Dominators {
        let index = self.index();
        let refs = self.refs();
        let roots = self.roots();
        self.dominators.get_or_init(|| {
            self.stage(Stage::Dominators, || {
                Dominators::build(&self.model, index, refs, roots, self.ephemerons())
            })
        })
    }

    /// For each object that is a WeakMap key, the values it holds and their tables (found by
    /// the first call).
    pub(crate) fn ephemerons(&self) -> &Ephemerons {
        self.ephemerons
            .get_or_init(|| Ephemerons::find(&self.model, self.index(), self.refs()))
    }

    /// Node's own state: its Environments, libuv's loops and their handles, the requests in
    /// flight (read once).
    pub fn node_state(&self) -> &NodeState {
        self.node
            .get_or_init(|| crate::nodestate::read(self.image, &self.model, self.index()))
    }

    /// What node knew of itself: `process.versions`, `argv`, the environment, the working
    /// directory it cached, and its threads (main and workers) with their isolates and loops.
    pub fn node_info(&self) -> NodeInfo {
        let main = self.isolates().iter().find(|i| i.main).map(|i| i.index);
        let processes = self
            .instances(&InstancesQuery {
                name: "process".to_string(),
                ..InstancesQuery::default()
            })
            .addresses;
        let bindings: Vec<u64> = self
            .with_property("isMainThread")
            .into_iter()
            .filter(|m| !m.accessor)
            .map(|m| m.holder)
            .collect();
        crate::nodeinfo::read(
            self.image,
            &self.model,
            self.node_state(),
            main,
            &processes,
            &bindings,
        )
    }

    /// The pending promises something waits on (every pending one with `all`), how many are
    /// pending in all, and the microtasks queued in each isolate.
    pub fn promises(&self, all: bool) -> Promises {
        let promises = self
            .instances(&InstancesQuery {
                name: "Promise".to_string(),
                ..InstancesQuery::default()
            })
            .addresses;
        let (pending, total_pending) = crate::promises::pending(&self.model, &promises, all);
        Promises {
            pending,
            total_pending,
            microtasks: crate::promises::queued(&self.model, self.index()),
            microtasks_known: self.model.knows_microtask_queues(),
        }
    }

    /// Every JS timer still scheduled and immediate still queued, in each isolate, in address
    /// order; due times by the timer clock of the timer's Environment.
    pub fn timers(&self) -> Vec<Timer> {
        let state = self.node_state();
        let now = |isolate: Option<usize>| state.timer_clock(isolate);
        let mut out = Vec::new();
        for (name, immediate) in [("Timeout", false), ("Immediate", true)] {
            let found = self.instances(&InstancesQuery {
                name: name.to_string(),
                ..InstancesQuery::default()
            });
            for addr in found.addresses {
                let isolate = self.model.isolate_of(addr);
                if let Some(t) =
                    crate::timers::timer(&self.model, addr, immediate, isolate, now(isolate))
                {
                    out.push(t);
                }
            }
        }
        out
    }

    /// The dominator tree, if some query has built it already.
    pub fn dominators_if_built(&self) -> Option<&Dominators> {
        self.dominators.get()
    }

    /// Every isolate, with the threads that run it and the size of its heap.
    pub fn isolates(&self) -> Vec<IsolateSummary> {
        let pid = self.image.core().process().map(|p| p.pid);
        let stacks = self.stacks();
        self.model
            .isolates()
            .iter()
            .enumerate()
            .map(|(index, iso)| {
                let threads: Vec<u32> = stacks
                    .iter()
                    .filter(|t| t.isolate == Some(index))
                    .map(|t| t.tid)
                    .collect();
                let pages = self
                    .model
                    .pages()
                    .iter()
                    .filter(|p| p.isolate == Some(index));
                IsolateSummary {
                    index,
                    addr: iso.addr,
                    main: threads.iter().any(|&t| Some(t) == pid),
                    threads,
                    pages: pages.clone().count(),
                    bytes: pages.map(|p| p.size).sum(),
                }
            })
            .collect()
    }

    /// The census of the heap (`findjsobjects`).
    pub fn census(&self, options: &CensusOptions) -> Census {
        let dominators = (options.retained || options.reachable_only).then(|| self.dominators());
        census(&self.model, self.index(), options, dominators)
    }

    /// The instances of a census name (`findjsinstances`).
    pub fn instances(&self, query: &InstancesQuery) -> Instances {
        instances(&self.model, self.index(), query)
    }

    /// Every name the census may list, for completion and suggestions.
    pub fn known_names(&self) -> Vec<Arc<str>> {
        known_names(&self.model, self.index())
    }

    /// The census name of object `id` (`CacheEntry`, `(Array)`, `(internal: FixedArray)`), as
    /// `findjsobjects` counts it; `?` when its header cannot be read.
    pub fn census_name(&self, id: u32) -> String {
        match self.index().addrs().get(id as usize) {
            Some(&addr) => crate::nodestate::census_name(&self.model, addr),
            None => "?".to_string(),
        }
    }

    /// The id of the object starting at `addr` (tagged or not), or why there is none.
    pub fn object_id(&self, addr: u64) -> Result<u32, RefsError> {
        object_id(&self.model, self.index(), addr)
    }

    /// What reaches the object at `addr` by strong references (the dominator tree's reach,
    /// built by the first call); `None` for an address that is no indexed object (read-only
    /// objects, alive as long as the isolate).
    pub fn reach(&self, addr: u64) -> Option<Reach> {
        let id = self.object_id(addr).ok()?;
        let d = self.dominators();
        Some(if d.reached_by_roots(id) {
            Reach::Roots
        } else if d.reached(id) {
            Reach::NativeMemoryOnly
        } else {
            Reach::Nothing
        })
    }

    /// `count` words of memory from `addr` on, as far as the core holds them, each with the
    /// heap object, function or file its value points to (`x`).
    pub fn memory_words(&self, addr: u64, count: usize) -> Vec<MemoryWord> {
        self.pointees().words(addr, count)
    }

    /// The registers thread `tid` stopped with, each with what it points to (`registers`).
    pub fn thread_registers(&self, tid: u32) -> Vec<RegisterValue> {
        self.pointees().registers(tid)
    }

    /// What values point to, named with this heap's objects and the process's files.
    fn pointees(&self) -> Pointees<'_, 'a> {
        Pointees::new(self.image, &self.model, self.index(), self.refs_if_built())
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

    /// The shortest retainer paths of the object at `addr` (`retainers ADDR`).
    pub fn retainers(&self, addr: u64, options: &RetainerOptions) -> Result<Retainers, RefsError> {
        let id = self.object_id(addr)?;
        let roots = self.roots();
        Ok(retainers(
            &self.model,
            self.index(),
            self.refs(),
            roots,
            id,
            options,
        ))
    }

    /// The interpreter registers and closure variables of a JavaScript frame.
    pub fn frame_locals(&self, frame: &NamedFrame) -> FrameLocals {
        let Some(js) = frame.js() else {
            return FrameLocals::default();
        };
        FrameLocals {
            registers: self.registers(frame, js),
            variables: self.variables(js),
        }
    }

    fn registers(&self, frame: &NamedFrame, js: &JsFrame) -> Vec<String> {
        let words = js
            .bytecode
            .zip(frame.fp)
            .and_then(|(b, fp)| self.model.interpreter_registers(b.array, fp));
        words
            .unwrap_or_default()
            .into_iter()
            .map(|w| self.model.short(w))
            .collect()
    }

    fn variables(&self, js: &JsFrame) -> Vec<(String, String)> {
        let vars = self
            .model
            .pointer_target(js.context)
            .and_then(|ctx| self.model.context_variables(ctx).ok());
        vars.unwrap_or_default()
            .into_iter()
            .map(|(name, word)| (name, self.model.short(word)))
            .collect()
    }
}
