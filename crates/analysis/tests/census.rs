//! The census and the instances of every fixture core agree with what each scenario recorded
//! and with V8's own heap snapshots of the same heaps (the main isolate's, and each worker's).

mod support;

use std::collections::BTreeMap;

use coroner_analysis::{Census, CensusOptions, Generation, InstancesQuery};
use coroner_heap::{InspectOptions, ValueKind};
use support::{opened, Opened};

/// The census count of every row, by name.
fn counts(census: &Census) -> BTreeMap<&str, u64> {
    census
        .rows
        .iter()
        .map(|r| (r.name.as_str(), r.count))
        .collect()
}

/// The isolates of a fixture and the name each of their censuses gives `class` a count of.
fn per_isolate(o: &Opened, class: &str) -> Vec<(usize, u64)> {
    (0..o.analysis.model().isolates().len())
        .map(|i| {
            let c = o.analysis.census(&CensusOptions {
                isolate: Some(i),
                ..CensusOptions::default()
            });
            (i, counts(&c).get(class).copied().unwrap_or(0))
        })
        .collect()
}

/// The isolate holding the scenario's own classes (the main isolate): the only one in every
/// scenario but `workers`.
fn main_isolate(o: &Opened) -> usize {
    let Some(class) = o.fixture.expect.classes.keys().next() else {
        return 0;
    };
    let holding: Vec<usize> = per_isolate(o, class)
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        holding.len(),
        1,
        "{}: {class} in isolates {holding:?}",
        o.label()
    );
    holding[0]
}

#[test]
fn every_class_count_equals_the_recorded_and_the_snapshot_count() {
    let mut checked = 0;
    for o in opened() {
        let label = o.label();
        let main = main_isolate(o);
        let census = o.analysis.census(&CensusOptions {
            isolate: Some(main),
            ..CensusOptions::default()
        });
        let ours = counts(&census);
        // Live cores have no snapshot: the scenario's record is the oracle.
        let snapshot = o
            .fixture
            .snapshot
            .as_ref()
            .map(coroner_fixtures::snapshot_constructor_counts);
        for (class, &recorded) in &o.fixture.expect.classes {
            let got = ours.get(class.as_str()).copied().unwrap_or(0);
            assert_eq!(
                got, recorded,
                "{label}: {class}: census {got}, recorded {recorded}"
            );
            if let Some(snapshot) = &snapshot {
                let snap = snapshot.get(class).copied().unwrap_or(0);
                assert_eq!(got, snap, "{label}: {class}: census {got}, snapshot {snap}");
            }
            // And the whole heap holds no other instance (other isolates included).
            let all = o.analysis.census(&CensusOptions::default());
            assert_eq!(
                counts(&all).get(class.as_str()).copied(),
                Some(recorded),
                "{label}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8 * 20, "only {checked} class counts checked");
}

#[test]
fn every_worker_isolate_holds_its_own_instances() {
    let mut checked = 0;
    for o in opened().iter().filter(|o| o.fixture.scenario == "workers") {
        let label = o.label();
        let extra = &o.fixture.expect.extra;
        let workers = extra["workers"].as_array().expect("workers");
        let isolates = o.analysis.model().isolates().len();
        assert_eq!(Some(isolates as u64), extra["isolates"].as_u64(), "{label}");
        let main = main_isolate(o);
        for w in workers {
            let class = w["class"].as_str().expect("class");
            let count = w["count"].as_u64().expect("count");
            // The one isolate holding exactly this many: the worker's.
            let matching: Vec<usize> = per_isolate(o, class)
                .into_iter()
                .filter(|&(_, n)| n == count)
                .map(|(i, _)| i)
                .collect();
            assert_eq!(
                matching.len(),
                1,
                "{label}: {count} {class} in isolates {matching:?}"
            );
            let isolate = matching[0];
            assert_ne!(isolate, main, "{label}");
            checked += 1;
            if !o.fixture.kind.has_snapshot() {
                continue;
            }
            let snapshot = o
                .fixture
                .dir
                .join(w["snapshot"].as_str().expect("snapshot"));
            let snap = coroner_fixtures::snapshot_constructor_counts(&snapshot);
            assert_eq!(
                snap.get(class).copied(),
                Some(count),
                "{label}: worker snapshot"
            );
            agrees_with_snapshot(o, Some(isolate), &snapshot);
        }
        // The main isolate holds no worker's instances.
        let main_census = o.analysis.census(&CensusOptions {
            isolate: Some(main),
            ..CensusOptions::default()
        });
        assert_eq!(counts(&main_census).get("WorkerThing"), None, "{label}");
        // Rows of the whole heap split over isolates, adding up.
        let all = o.analysis.census(&CensusOptions::default());
        let row = all
            .rows
            .iter()
            .find(|r| r.name == "WorkerThing")
            .expect("row");
        assert_eq!(row.isolates.len(), workers.len(), "{label}");
        assert_eq!(row.isolates.iter().map(|s| s.count).sum::<u64>(), row.count);
    }
    assert!(checked >= 16, "only {checked} workers checked");
}

/// The snapshot's name of what the census calls `name`. V8's heap snapshots name JS arrays
/// `Array` (coroner: `(Array)`, a bracketed kind like `(String)`) and list contexts as objects
/// named `system / Context` (coroner: `(Context)`); every other name is the same.
fn census_name(snapshot_name: &str) -> &str {
    match snapshot_name {
        "Array" => "(Array)",
        "system / Context" => "(Context)",
        other => other,
    }
}

/// For the top 30 names of the snapshot of `isolate`, the census count is within 1%.
///
/// Only the old generation is counted: the snapshot's own full GC moved every object alive
/// then to the old generation, so the young generation holds what was allocated after it
/// (the harness's last steps, and for gcore cores the `execFileSync` that runs gdb) — objects
/// the snapshot cannot know, most of them garbage. The snapshot also leaves out each function's
/// `prototype` object when counted by name (see `snapshot_constructor_counts`); the census files
/// those as `(Prototype)`.
fn agrees_with_snapshot(o: &Opened, isolate: Option<usize>, snapshot: &std::path::Path) {
    let label = o.label();
    let census = o.analysis.census(&CensusOptions {
        isolate,
        generation: Some(Generation::Old),
        ..CensusOptions::default()
    });
    let ours = counts(&census);
    let snap = coroner_fixtures::snapshot_constructor_counts(snapshot);
    let mut top: Vec<(&String, &u64)> = snap.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut bad = Vec::new();
    for (name, &n) in top.into_iter().take(30) {
        let got = ours.get(census_name(name)).copied().unwrap_or(0);
        if (got as f64 - n as f64).abs() > n as f64 * 0.01 {
            bad.push(format!("{name}: snapshot {n}, census {got}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{label} (isolate {isolate:?}):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_top_30_names_agree_with_the_heap_snapshot() {
    for o in opened() {
        let main = main_isolate(o);
        if let Some(snapshot) = &o.fixture.snapshot {
            agrees_with_snapshot(o, Some(main), snapshot);
        }
    }
}

#[test]
fn rows_are_sorted_and_add_up() {
    for o in opened() {
        let label = o.label();
        for options in [
            CensusOptions::default(),
            CensusOptions {
                all: true,
                ..CensusOptions::default()
            },
            CensusOptions {
                detailed: true,
                ..CensusOptions::default()
            },
        ] {
            let c = o.analysis.census(&options);
            assert!(
                c.rows.windows(2).all(|w| w[0].size >= w[1].size),
                "{label}: rows not sorted by size"
            );
            let count: u64 = c.rows.iter().map(|r| r.count).sum();
            let size: u64 = c.rows.iter().map(|r| r.size).sum();
            assert_eq!(
                count + c.hidden.count,
                c.total.count,
                "{label}: {options:?}"
            );
            assert_eq!(size + c.hidden.size, c.total.size, "{label}: {options:?}");
            for r in &c.rows {
                assert_eq!(r.isolates.iter().map(|s| s.count).sum::<u64>(), r.count);
                assert_eq!(r.isolates.iter().map(|s| s.size).sum::<u64>(), r.size);
                assert!(r.count > 0 && r.size >= r.count * 8, "{label}: {r:?}");
            }
            if options.all {
                assert_eq!(c.hidden.count, 0);
                // Every object of the heap is in some row.
                assert_eq!(c.total.count, o.analysis.index().len() as u64, "{label}");
                assert!(c.rows.iter().any(|r| r.name == "(internal: FixedArray)"));
            } else {
                assert!(c.rows.iter().all(|r| !r.internal), "{label}");
                for kind in ["(String)", "(Array)", "(Function)", "(Context)", "Object"] {
                    let found = c.rows.iter().any(|r| {
                        r.name == kind
                            || (options.detailed && r.name.starts_with(&format!("{kind} {{")))
                    });
                    assert!(found, "{label}: no {kind} row");
                }
            }
        }
    }
}

#[test]
fn instances_list_every_counted_object() {
    let inspect = InspectOptions::default();
    for o in opened() {
        let label = o.label();
        let census = o.analysis.census(&CensusOptions::default());
        let names: Vec<&str> = o
            .fixture
            .expect
            .classes
            .keys()
            .map(String::as_str)
            .chain(["(String)", "(Array)", "(Prototype)", "Map"])
            .collect();
        for name in names {
            let count = counts(&census).get(name).copied().unwrap_or(0);
            let all = o.analysis.instances(&InstancesQuery {
                name: name.to_string(),
                ..InstancesQuery::default()
            });
            assert_eq!(all.total, count, "{label}: {name}");
            assert_eq!(all.addresses.len() as u64, count, "{label}: {name}");
            assert!(
                all.addresses.windows(2).all(|w| w[0] < w[1]),
                "{label}: {name} order"
            );
            for &addr in all.addresses.iter().take(50) {
                let v = o
                    .analysis
                    .model()
                    .inspect(addr, &inspect)
                    .unwrap_or_else(|e| panic!("{label}: {name} at {addr:#x}: {e}"));
                match name {
                    "(String)" => assert!(matches!(v.kind, ValueKind::String { .. }), "{label}"),
                    "(Array)" => assert!(matches!(v.kind, ValueKind::Array { .. }), "{label}"),
                    "(Prototype)" => assert!(v.constructor().is_some(), "{label}"),
                    // Node's SafeMap copies Map.prototype's Symbol.toStringTag: V8 (and the
                    // census) name its instances Map, JS sees the SafeMap constructor.
                    "Map" => assert!(matches!(v.kind, ValueKind::Map { .. }), "{label}"),
                    class => assert_eq!(v.constructor(), Some(class), "{label}"),
                }
            }
            // Paging: offset and limit cut the same list.
            let page = o.analysis.instances(&InstancesQuery {
                name: name.to_string(),
                offset: 2,
                limit: Some(3),
                ..InstancesQuery::default()
            });
            assert_eq!(page.total, count);
            let want: Vec<u64> = all.addresses.iter().skip(2).take(3).copied().collect();
            assert_eq!(page.addresses, want, "{label}: {name} page");
        }
        let none = o.analysis.instances(&InstancesQuery {
            name: "NoSuchClassAnywhere".into(),
            ..InstancesQuery::default()
        });
        assert_eq!(none.total, 0);
    }
}

#[test]
fn detailed_census_groups_objects_by_their_properties() {
    for o in opened().iter().filter(|o| o.fixture.scenario == "objects") {
        let label = o.label();
        let c = o.analysis.census(&CensusOptions {
            detailed: true,
            ..CensusOptions::default()
        });
        let find = |name: &str| c.rows.iter().find(|r| r.name == name);
        let walrus = find("Walrus {id, name}").unwrap_or_else(|| panic!("{label}: no Walrus row"));
        assert_eq!(walrus.count, 1000, "{label}");
        assert_eq!(walrus.constructor.as_deref(), Some("Walrus"));
        assert_eq!(
            walrus.properties.as_deref(),
            Some(&["id".to_string(), "name".to_string()][..])
        );
        let emperor =
            find("Emperor {id, crowned}").unwrap_or_else(|| panic!("{label}: no Emperor"));
        assert_eq!(emperor.count, 7, "{label}");
        // The sample is one of the group.
        let sample = walrus.sample.as_deref().expect("sample");
        let addr = u64::from_str_radix(sample.trim_start_matches("0x"), 16).expect("hex");
        let v = o
            .analysis
            .model()
            .inspect(addr, &InspectOptions::default())
            .expect("sample decodes");
        assert_eq!(v.constructor(), Some("Walrus"));
        // Dictionary-mode objects are grouped by their own properties.
        assert!(
            c.rows.iter().any(|r| r
                .name
                .starts_with("DictionaryProbe {key0, key1, key2, key4")),
            "{label}: no DictionaryProbe row"
        );
        // The instances of a detailed name are that group.
        let found = o.analysis.instances(&InstancesQuery {
            name: "Walrus {id, name}".into(),
            ..InstancesQuery::default()
        });
        assert_eq!(found.total, 1000, "{label}");
        let other = o.analysis.instances(&InstancesQuery {
            name: "Walrus {name}".into(),
            ..InstancesQuery::default()
        });
        assert_eq!(other.total, 0, "{label}");
        // Non-object kinds keep their plain rows.
        assert!(
            find("(String)").is_some() && find("(Array)").is_some(),
            "{label}"
        );
    }
}

#[test]
fn the_young_and_the_old_generation_add_up() {
    for o in opened() {
        let c = |generation| {
            o.analysis.census(&CensusOptions {
                generation,
                all: true,
                ..CensusOptions::default()
            })
        };
        let (all, young, old) = (
            c(None),
            c(Some(Generation::Young)),
            c(Some(Generation::Old)),
        );
        assert_eq!(
            young.total.count + old.total.count,
            all.total.count,
            "{}",
            o.label()
        );
        assert_eq!(
            young.total.size + old.total.size,
            all.total.size,
            "{}",
            o.label()
        );
    }
}

/// The benchmark core, when built (`cargo xtask fixtures --large`): 200000 Holders, each with
/// its own array.
#[test]
fn large_core_census() {
    let Ok(all) = coroner_fixtures::try_all() else {
        return;
    };
    let Some(fixture) = all.into_iter().find(|f| f.scenario == "large") else {
        eprintln!("no large fixture: run `cargo xtask fixtures --large` to check it too");
        return;
    };
    let options = coroner_image::OpenOptions {
        exe: Some(fixture.exe.clone()),
        ..Default::default()
    };
    let image = coroner_image::ProcessImage::open(&fixture.core, &options).expect("core opens");
    let analysis = coroner_analysis::Analysis::open(&image).expect("heap");
    let census = analysis.census(&CensusOptions::default());
    let holders = fixture.expect.classes["Holder"];
    assert_eq!(counts(&census).get("Holder"), Some(&holders));
    assert!(counts(&census)["(Array)"] >= holders);
    let found = analysis.instances(&InstancesQuery {
        name: "Holder".into(),
        ..InstancesQuery::default()
    });
    assert_eq!(found.addresses.len() as u64, holders);
    let v = analysis
        .model()
        .inspect(
            found.addresses[0],
            &InspectOptions {
                depth: 2,
                ..Default::default()
            },
        )
        .expect("a Holder decodes");
    let items = v.property("items").expect("items");
    assert!(
        matches!(items.kind, ValueKind::Array { length: 100, .. }),
        "{items:?}"
    );
}

/// The size of one small object (a boxed value, a short string): what the dumping code may hold
/// that the snapshot saw held by the scenario.
const SMALL_OBJECT: f64 = 64.0;

/// Retained sizes and distances agree with those DevTools computes from V8's own heap snapshot
/// taken just before the dump (dominators computed independently, by the fixtures crate):
/// for every class the scenario records, the retained size of its objects within 2% (or one
/// small object) and the smallest distance equal.
#[test]
fn retained_sizes_and_distances_agree_with_the_snapshots_dominators() {
    let mut checked = 0;
    let mut bad = Vec::new();
    for o in opened() {
        let Some(snapshot) = &o.fixture.snapshot else {
            continue;
        };
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
        let oracle = coroner_fixtures::snapshot_retention(snapshot, &names);
        let census = o.analysis.census(&CensusOptions {
            isolate: Some(main_isolate(o)),
            retained: true,
            ..CensusOptions::default()
        });
        for name in names {
            let Some(want) = oracle.get(name) else {
                bad.push(format!("{label}: {name}: not in the snapshot"));
                continue;
            };
            let Some(row) = census.rows.iter().find(|r| r.name == name) else {
                bad.push(format!("{label}: {name}: no census row"));
                continue;
            };
            // Within 2%, or one small object: the snapshot is taken a moment before the dump,
            // and the dumping code's frames may hold one more of the scenario's objects by then
            // (a 32-byte boxed value of a probe, seen on a 20.20.2 gcore core).
            let got = row.retained.unwrap_or(0);
            let off = (got as f64 - want.retained as f64).abs();
            if off > (want.retained as f64 * 0.02).max(SMALL_OBJECT) {
                bad.push(format!(
                    "{label}: {name}: retained {got}, snapshot {}",
                    want.retained
                ));
            }
            if want.distance.is_some() && row.distance != want.distance {
                bad.push(format!(
                    "{label}: {name}: distance {:?}, snapshot {:?}",
                    row.distance, want.distance
                ));
            }
            checked += 1;
        }
    }
    assert!(
        bad.is_empty(),
        "{} disagreements:\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(checked >= 100, "only {checked} classes checked");
}
