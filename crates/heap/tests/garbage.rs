//! Decoding never panics and never hangs: every object of the abort and live fixture cores
//! decodes (its short form, and every tenth object in full), and addresses where no object starts — null,
//! unmapped memory, Smis, the inside of objects, page headers — are errors that carry the
//! address.

mod support;

use coroner_fixtures::Kind;
use coroner_heap::{Class, DecodeError, InspectOptions, ValueKind};
use rayon::prelude::*;
use support::all;

#[test]
fn every_object_of_every_fixture_decodes() {
    let full = InspectOptions {
        limit: 8,
        ..InspectOptions::default()
    };
    let mut failures = Vec::new();
    // A gcore core holds the heap its scenario's abort core holds (both dumped after the heap
    // snapshot's GC; only the dumper differs): decoding every object of the abort and live
    // cores covers every kind of heap, at two thirds of the cost.
    for o in all().iter().filter(|o| o.fixture.kind != Kind::Gcore) {
        let model = &o.model;
        // (objects, failures of JS objects and strings, examples)
        let results: Vec<(u64, Vec<String>)> = model.par_map_pages(|_, walk| {
            let mut n = 0u64;
            let mut bad = Vec::new();
            for (i, obj) in walk.enumerate() {
                n += 1;
                let class = model.class_of(obj.instance_type);
                let short = model.short_object(obj.addr);
                assert!(!short.is_empty());
                let options = if i % 10 == 0 {
                    full
                } else {
                    InspectOptions { depth: 0, ..full }
                };
                match model.inspect(obj.addr, &options) {
                    Ok(v) => {
                        let decodable = class == Class::String || class.is_receiver();
                        if decodable
                            && (v.error.is_some() || matches!(v.kind, ValueKind::Other { .. }))
                        {
                            bad.push(format!(
                                "{} at {:#x}: {:?}",
                                model.type_name(obj.instance_type),
                                obj.addr,
                                v.error
                            ));
                        }
                    }
                    Err(e) => bad.push(format!("{:#x}: {e}", obj.addr)),
                }
            }
            (n, bad)
        });
        let objects: u64 = results.iter().map(|(n, _)| n).sum();
        assert!(objects > 10_000, "{}: only {objects} objects", o.label());
        for (_, bad) in results {
            for b in bad {
                failures.push(format!("{}: {b}", o.label()));
            }
        }
    }
    let n = failures.len();
    failures.truncate(40);
    assert!(n == 0, "{n} failures:\n{}", failures.join("\n"));
}

#[test]
fn addresses_without_an_object_are_errors() {
    all().par_iter().for_each(|o| {
        let model = &o.model;
        let label = o.label();
        let options = InspectOptions::default();
        let (page, first) = model
            .pages()
            .iter()
            .find_map(|p| Some((p, model.walk(p).find(|obj| obj.size >= 24)?)))
            .expect("an object of three words");
        let cases = [
            ("null", 0u64),
            ("low unmapped memory", 0x1000),
            ("the top of the address space", 0xffff_ffff_ffff_fff8),
            ("a Smi", 42u64 << 32),
            ("the page header", page.addr),
            ("the inside of an object", first.addr + 16),
        ];
        for (what, addr) in cases {
            match model.inspect(addr, &options) {
                Err(e) => assert!(
                    matches!(e, DecodeError::Read(_) | DecodeError::NotAnObject { .. }),
                    "{label}: {what}: {e}"
                ),
                Ok(v) => {
                    // The inside of an object may hold a word that happens to be a map pointer
                    // (an object's second word is often a pointer to a fixed array, not a map):
                    // whatever decodes must at least not claim to be the object around it.
                    assert_ne!(v.address, Some(first.addr), "{label}: {what}");
                }
            }
            if let Err(e) = model.inspect(addr, &options) {
                // Errors carry the address they are about.
                assert_eq!(e.addr(), addr, "{label}: {what}: {e}");
                assert!(
                    e.to_string().contains(&format!("{addr:#x}")),
                    "{label}: {e}"
                );
            }
        }
        // Strings and names asked of what is not one fail cleanly.
        assert!(model.string(first.addr + 8, None).is_err() || first.size > 24);
        assert!(model.string(0x1000, None).is_err(), "{label}");
        assert!(model.own_properties(0x1000).is_err(), "{label}");
        assert!(model.elements(0x1000, 10).is_err(), "{label}");
        // A tagged Smi decodes to itself.
        let v = model.inspect_tagged(7u64 << 32, &options);
        assert_eq!(v.kind, ValueKind::Smi(7), "{label}");
        assert_eq!(v.address, None, "{label}");
        assert_eq!(model.short(7u64 << 32), "7");
        assert!(model.short_object(0x1000).starts_with("<error"), "{label}");
    });
}
