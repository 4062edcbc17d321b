//! Shared by the fixture tests: every fixture core opened once (image and heap), and small
//! readers for checking layout facts on real objects.

use std::sync::OnceLock;

use coroner_fixtures::Fixture;
use coroner_v8::{Heap, HeapError, ObjectRef};
use rayon::prelude::*;

/// One fixture, opened.
pub struct Opened {
    /// The fixture.
    pub fixture: Fixture,
    /// Its heap, or why it could not be opened.
    pub heap: Result<Heap<'static>, HeapError>,
}

impl Opened {
    /// The heap; panics (failing the test) with the fixture's label when it did not open.
    pub fn heap(&self) -> &Heap<'static> {
        match &self.heap {
            Ok(h) => h,
            Err(e) => panic!("{}: heap did not open: {e}", self.fixture.label()),
        }
    }

    /// `"20.20.2/objects/abort"`.
    pub fn label(&self) -> String {
        self.fixture.label()
    }
}

/// Every fixture of the index, opened once per test binary (in parallel).
pub fn opened() -> &'static [Opened] {
    static OPENED: OnceLock<Vec<Opened>> = OnceLock::new();
    OPENED.get_or_init(|| {
        coroner_fixtures::images(|_| true)
            .into_par_iter()
            .map(|(fixture, image)| Opened {
                fixture,
                heap: Heap::open(image),
            })
            .collect()
    })
}

/// Every object of every page of `heap` (walked in parallel).
pub fn objects(heap: &Heap<'_>) -> Vec<ObjectRef> {
    heap.par_map_pages(|_, walk| walk.collect::<Vec<_>>())
        .into_iter()
        .flatten()
        .collect()
}

/// The word at `addr`.
pub fn word(heap: &Heap<'_>, addr: u64) -> u64 {
    heap.memory()
        .read_u64(addr)
        .unwrap_or_else(|e| panic!("reading {addr:#x}: {e}"))
}

/// The instance type of the object a tagged `value` points to (`None` for Smis and unreadable
/// objects).
pub fn type_of(heap: &Heap<'_>, value: u64) -> Option<u16> {
    let addr = heap.layout().tagging.strong(value)?;
    coroner_v8::map::instance_type_of(heap.layout(), heap.memory(), addr)
}
