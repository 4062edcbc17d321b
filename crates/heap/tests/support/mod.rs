//! Shared by the fixture tests: every fixture core opened once (image and heap model), and a
//! way to find objects by name.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::sync::OnceLock;

use coroner_fixtures::Fixture;
use coroner_heap::HeapModel;
use rayon::prelude::*;

/// One fixture, opened.
pub struct Opened {
    /// The fixture.
    pub fixture: Fixture,
    /// Its heap model.
    pub model: HeapModel<'static>,
}

impl Opened {
    /// `"20.20.2/objects/abort"`.
    pub fn label(&self) -> String {
        self.fixture.label()
    }

    /// The addresses of the objects whose census name and JS constructor name are both `name`
    /// (so a class's instances, not its prototype object).
    pub fn instances_of(&self, name: &str) -> Vec<u64> {
        let model = &self.model;
        let mut found: Vec<u64> = model
            .par_map_pages(|_, walk| {
                walk.filter(|o| {
                    let f = model.map_facts(o.map);
                    &*model.census_name_of(o.addr, &f) == name
                        && f.constructor.as_deref() == Some(name)
                })
                .map(|o| o.addr)
                .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect();
        found.sort_unstable();
        found
    }

    /// The one instance of probe class `name` (panics unless there is exactly one).
    pub fn probe(&self, name: &str) -> u64 {
        let found = self.instances_of(name);
        assert_eq!(
            found.len(),
            1,
            "{}: {} instances of {name}",
            self.label(),
            found.len()
        );
        found[0]
    }
}

/// The fixtures of `scenarios` (every version, both kinds), opened once per test binary.
pub fn opened(scenarios: &[&str]) -> Vec<&'static Opened> {
    all()
        .iter()
        .filter(|o| scenarios.contains(&o.fixture.scenario.as_str()))
        .collect()
}

/// Every fixture but `large`, opened once per test binary (in parallel).
pub fn all() -> &'static [Opened] {
    static OPENED: OnceLock<Vec<Opened>> = OnceLock::new();
    OPENED.get_or_init(|| {
        coroner_fixtures::images(coroner_fixtures::not_large)
            .into_par_iter()
            .map(|(fixture, image)| {
                let model = HeapModel::open(image)
                    .unwrap_or_else(|e| panic!("{}: heap did not open: {e}", fixture.label()));
                Opened { fixture, model }
            })
            .collect()
    })
}
