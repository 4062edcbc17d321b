//! The heap snapshot export (`Analysis::write_heap_snapshot`) on real fixture cores: its edges
//! are the reverse index's (and the few the dominator tree adds), and the dominators an
//! independent reader computes from the file by DevTools' rules give every scenario class the
//! retained size, distance and count coroner's own census gives it.
//!
//! Checked on every fixture core: abort (taken after a heap snapshot), gcore and live (no GC
//! before the dump), of every pinned version and scenario.

mod support;

use std::collections::{BTreeMap, HashMap};

use coroner_analysis::{CensusOptions, EdgeOrigin, EdgeType, SnapshotOptions};
use support::{opened, Opened};

/// The fixtures these tests read.
fn checked() -> impl Iterator<Item = &'static Opened> {
    opened().iter()
}

#[test]
fn every_own_edge_of_the_export_is_a_reverse_reference_and_back() {
    let mut fixtures = 0;
    for o in checked() {
        let label = o.label();
        let a = &o.analysis;
        let n = a.index().len() as u32;
        // Per target: its referrers by the export's own edges (weak when every edge is).
        let mut by_target: HashMap<u32, BTreeMap<u32, bool>> = HashMap::new();
        let mut extra = 0usize;
        for id in 0..n {
            for e in a.snapshot_edges(id) {
                if e.origin != EdgeOrigin::Own {
                    extra += 1;
                    continue;
                }
                let weak = e.kind == EdgeType::Weak;
                by_target
                    .entry(e.to)
                    .or_default()
                    .entry(id)
                    .and_modify(|w| *w &= weak)
                    .or_insert(weak);
            }
        }
        let refs = a.refs();
        let mut bad = Vec::new();
        for t in 0..n {
            let want: Vec<(u32, bool)> = refs.referrers(t).collect();
            let got: Vec<(u32, bool)> = by_target
                .remove(&t)
                .map(|m| m.into_iter().collect())
                .unwrap_or_default();
            if want != got && bad.len() < 5 {
                bad.push(format!(
                    "object {t}: reverse index {want:?}, export {got:?}"
                ));
            }
        }
        assert!(bad.is_empty(), "{label}:\n{}", bad.join("\n"));
        assert!(extra > 0, "{label}: no map or store edges");
        fixtures += 1;
    }
    assert!(fixtures >= 42, "only {fixtures} fixtures checked");
}

#[test]
fn the_exports_dominators_give_the_census_retained_sizes_distances_and_counts() {
    let dir = std::env::temp_dir().join(format!("coroner-snapshot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let mut classes = 0;
    let mut bad = Vec::new();
    for o in checked() {
        let label = o.label();
        let names: Vec<&str> = o
            .fixture
            .expect
            .classes
            .keys()
            .map(String::as_str)
            .collect();
        if names.is_empty() {
            continue;
        }
        let path = dir.join(format!("{}.heapsnapshot", label.replace('/', "-")));
        let mut file = std::fs::File::create(&path).expect("create the snapshot file");
        let summary = o
            .analysis
            .write_heap_snapshot(&mut file, &SnapshotOptions::default())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        drop(file);
        assert_eq!(
            std::fs::metadata(&path).map(|m| m.len()).ok(),
            Some(summary.bytes),
            "{label}: bytes written"
        );
        let oracle = coroner_fixtures::snapshot_retention(&path, &names);
        let counts = coroner_fixtures::snapshot_constructor_counts(&path);
        let census = o.analysis.census(&CensusOptions {
            retained: true,
            ..CensusOptions::default()
        });
        for name in names {
            let row = census.rows.iter().find(|r| r.name == name);
            let Some(row) = row else {
                bad.push(format!("{label}: {name}: no census row"));
                continue;
            };
            let want = oracle.get(name).copied();
            let got = (row.retained.unwrap_or(0), row.distance);
            if want.map(|w| (w.retained, w.distance)) != Some(got) {
                bad.push(format!(
                    "{label}: {name}: census (retained, distance) {got:?}, export {want:?}"
                ));
            }
            if counts.get(name) != Some(&row.count) {
                bad.push(format!(
                    "{label}: {name}: census count {}, export {:?}",
                    row.count,
                    counts.get(name)
                ));
            }
            classes += 1;
        }
        std::fs::remove_file(&path).ok();
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(classes >= 100, "only {classes} classes checked");
}
