//! Shared by the fixture tests: every fixture core opened once (image, heap model, analysis).

use std::sync::OnceLock;

use coroner_analysis::HeapAnalysis;
use coroner_fixtures::Fixture;
use coroner_heap::HeapModel;
use coroner_image::{OpenOptions, ProcessImage};
use rayon::prelude::*;

/// One fixture, opened and analysed.
pub struct Opened {
    /// The fixture.
    pub fixture: Fixture,
    /// Its analysis.
    pub analysis: HeapAnalysis<'static>,
}

impl Opened {
    /// `"20.20.2/objects/abort"`.
    pub fn label(&self) -> String {
        self.fixture.label()
    }
}

/// Every fixture of the index but `large`, opened once per test binary (in parallel); each
/// object index is built on first use.
pub fn opened() -> &'static [Opened] {
    static OPENED: OnceLock<Vec<Opened>> = OnceLock::new();
    OPENED.get_or_init(|| {
        coroner_fixtures::all()
            .into_par_iter()
            .filter(|f| f.scenario != "large")
            .map(|fixture| {
                let options = OpenOptions {
                    exe: Some(fixture.exe.clone()),
                    ..Default::default()
                };
                let image = ProcessImage::open(&fixture.core, &options)
                    .unwrap_or_else(|e| panic!("{}: {e}", fixture.label()));
                // The images live as long as the test binary.
                let image: &'static ProcessImage = Box::leak(Box::new(image));
                let model = HeapModel::open(image)
                    .unwrap_or_else(|e| panic!("{}: heap did not open: {e}", fixture.label()));
                Opened {
                    fixture,
                    analysis: HeapAnalysis::new(model),
                }
            })
            .collect()
    })
}
