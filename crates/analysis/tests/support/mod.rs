//! Shared by the fixture tests: every fixture core opened once (image, heap model, analysis).

use std::sync::OnceLock;

use coroner_analysis::Analysis;
use coroner_fixtures::Fixture;
use rayon::prelude::*;

/// One fixture, opened and analysed.
pub struct Opened {
    /// The fixture.
    pub fixture: Fixture,
    /// Its analysis.
    pub analysis: Analysis<'static>,
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
        coroner_fixtures::images(coroner_fixtures::not_large)
            .into_par_iter()
            .map(|(fixture, image)| {
                let analysis = Analysis::open(image)
                    .unwrap_or_else(|e| panic!("{}: heap did not open: {e}", fixture.label()));
                Opened { fixture, analysis }
            })
            .collect()
    })
}
