//! Who holds it, on every fixture core (every pinned Node version, abort and gcore kinds):
//! the reverse-reference index agrees with the heap model's edges; `findrefs` names the holder
//! and edge the `retainers` scenario recorded for each leaked object; `findrefs -n` and `-s`
//! find exactly the scenario's objects; retainer paths reach the globals through the recorded
//! chains; and one test per kind of edge (properties in-object, out-of-object, in a dictionary
//! and in the global object's property cells; elements fast and dictionary; closure variables;
//! Map, Set and WeakMap entries; functions, bound functions, proxies, promises, maps,
//! descriptor arrays, feedback cells, strings, weak references).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use coroner_analysis::{Analysis, InstancesQuery, Reference, RefsError, RetainerOptions};
use coroner_fixtures::Fixture;
use coroner_heap::{EdgeName, HeapModel, Slot};
use rayon::prelude::*;

/// One fixture core, opened and analysed.
struct Core {
    fixture: Fixture,
    analysis: Analysis<'static>,
}

impl Core {
    fn label(&self) -> String {
        self.fixture.label()
    }

    fn model(&self) -> &HeapModel<'static> {
        self.analysis.model()
    }

    /// The only instance of `class`.
    fn instance(&self, class: &str) -> u64 {
        let found = self.analysis.instances(&InstancesQuery {
            name: class.to_string(),
            ..Default::default()
        });
        assert_eq!(found.total, 1, "{}: instances of {class}", self.label());
        found.addresses[0]
    }

    /// The object held by data property `name` of the object at `addr`.
    fn property(&self, addr: u64, name: &str) -> u64 {
        let props = self.model().own_properties(addr).expect("properties");
        let word = props
            .iter()
            .find_map(|p| match p.slot {
                Slot::Data(w) if p.key.display() == name => Some(w),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: no property {name} at {addr:#x}", self.label()));
        self.model()
            .layout()
            .tagging
            .strong(word)
            .unwrap_or_else(|| panic!("{}: {name} is not an object", self.label()))
    }

    /// The references to the object at `addr`.
    fn refs(&self, addr: u64) -> Vec<Reference> {
        self.analysis
            .references(addr)
            .unwrap_or_else(|e| panic!("{}: {e}", self.label()))
            .references
    }

    /// Every JS object with an own property `name`, read from each object (an oracle for
    /// `with_property`, which leaves out literal boilerplates).
    fn objects_with_property(&self, name: &str) -> Vec<u64> {
        let index = self.analysis.index();
        let model = self.model();
        (0..index.len())
            .into_par_iter()
            .filter_map(|id| {
                let facts = model.map_facts(index.maps()[index.map_ids()[id] as usize]);
                let addr = index.addrs()[id];
                let props = facts
                    .class
                    .is_receiver()
                    .then(|| model.own_properties(addr).ok())
                    .flatten()?;
                props
                    .iter()
                    .any(|p| p.key.display() == name)
                    .then_some(addr)
            })
            .collect()
    }

    /// The references to `addr` a JS program sees (`EdgeName::is_js`), from holders that are
    /// alive: on a core dumped without a GC first (`live`), garbage the scenario made (arrays
    /// the harness built to record values, say) still holds references; a holder counts when a
    /// retainer path from a root other than a stale word of native memory reaches it.
    fn live_js_refs(&self, addr: u64) -> Vec<Reference> {
        self.live_refs(addr)
            .into_iter()
            .filter(|r| r.edge.is_js())
            .collect()
    }

    /// The references to `addr` from holders that are alive (see [`Core::live_js_refs`]).
    fn live_refs(&self, addr: u64) -> Vec<Reference> {
        let options = RetainerOptions {
            paths: 1,
            ..RetainerOptions::default()
        };
        self.refs(addr)
            .into_iter()
            .filter(|r| {
                self.fixture.kind.has_snapshot()
                    || self
                        .analysis
                        .retainers(r.holder, &options)
                        .is_ok_and(|found| found.paths.iter().any(|p| !p.root.is_fallback()))
            })
            .collect()
    }

    /// The instance type name of the object at `addr`.
    fn type_name(&self, addr: u64) -> String {
        let h = self.model().header(addr).expect("header");
        self.model().type_name(h.instance_type)
    }
}

/// The fixtures of `scenario` (every version and kind), opened once per test binary.
fn cores(scenario: &'static str) -> &'static [Core] {
    static RETAINERS: OnceLock<Vec<Core>> = OnceLock::new();
    static OBJECTS: OnceLock<Vec<Core>> = OnceLock::new();
    static STRINGS: OnceLock<Vec<Core>> = OnceLock::new();
    let cell = match scenario {
        "retainers" => &RETAINERS,
        "objects" => &OBJECTS,
        "strings" => &STRINGS,
        other => panic!("no such scenario {other}"),
    };
    cell.get_or_init(|| {
        let mut found: Vec<Core> = coroner_fixtures::images(|f| f.scenario == scenario)
            .into_par_iter()
            .map(|(fixture, image)| Core {
                analysis: Analysis::open(image)
                    .unwrap_or_else(|e| panic!("{}: {e}", fixture.label())),
                fixture,
            })
            .collect();
        found.sort_by_key(|c| c.label());
        // Every pinned version, both kinds.
        assert!(found.len() >= 8, "only {} {scenario} fixtures", found.len());
        found
    })
}

fn property(name: &str) -> EdgeName {
    EdgeName::Property {
        name: name.to_string(),
        symbol: false,
    }
}

#[test]
fn the_index_holds_exactly_the_references_the_heap_model_names() {
    for c in cores("retainers") {
        let label = c.label();
        let index = c.analysis.index();
        let refs = c.analysis.refs();
        let model = c.model();
        // Every (referrer, target) pair of every object's edges, from the heap model.
        let pairs: BTreeSet<(u32, u32)> = (0..index.len() as u32)
            .into_par_iter()
            .filter(|&r| refs.is_indexed(r))
            .flat_map_iter(|r| {
                let addr = index.addrs()[r as usize];
                let edges = model.edges(addr).unwrap_or_default();
                edges
                    .into_iter()
                    .filter_map(|e| index.id_of(e.target))
                    .filter(|&t| t != r && refs.is_indexed(t))
                    .map(move |t| (r, t))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(pairs.len(), refs.len(), "{label}: references");
        for &(r, t) in &pairs {
            assert!(
                refs.referrers(t).any(|(x, _)| x == r),
                "{label}: {r} -> {t} not in the index"
            );
        }
        assert!(
            refs.len() > index.len() / 2,
            "{label}: {} references",
            refs.len()
        );
    }
}

#[test]
fn each_leaked_object_is_named_by_its_holder_and_edge() {
    for c in cores("retainers") {
        let label = c.label();
        let holders = c.fixture.expect.extra["holders"]
            .as_object()
            .expect("extra.holders");
        for (class, h) in holders {
            let addr = c.instance(class);
            let js = c.live_js_refs(addr);
            let what = format!("{label}: {class}: {js:#?}");
            // Held by exactly one known reference: the one recorded.
            assert_eq!(js.len(), 1, "{what}");
            let r = &js[0];
            let edge = h["edge"].as_str().expect("edge");
            match edge {
                "element" => {
                    let index = h["index"].as_u64().expect("index");
                    assert_eq!(r.edge, EdgeName::Element(index), "{what}");
                    assert_eq!(r.holder_name, "(Array)", "{what}");
                    assert_eq!(r.via.len(), 1, "{what}");
                    assert_eq!(c.type_name(r.via[0]), "FIXED_ARRAY_TYPE", "{what}");
                    assert_eq!(r.text(), format!("(Array)[{index}]"));
                }
                "property" => {
                    let name = h["name"].as_str().expect("name");
                    assert_eq!(r.edge, property(name), "{what}");
                    assert_eq!(r.holder_name, h["holder"].as_str().unwrap_or(""), "{what}");
                    if h["holder_mode"] == "dictionary" {
                        assert_eq!(r.via.len(), 1, "{what}");
                        assert_eq!(c.type_name(r.via[0]), "NAME_DICTIONARY_TYPE", "{what}");
                    }
                    assert_eq!(r.text(), format!("{}.{name}", r.holder_name));
                }
                "context variable" => {
                    let name = h["name"].as_str().expect("name");
                    let function = h["function"].as_str().expect("function");
                    assert_eq!(r.edge, EdgeName::ContextVariable(name.into()), "{what}");
                    assert_eq!(r.holder_name, format!("Context {function}"), "{what}");
                    assert!(r.via.is_empty(), "{what}");
                    assert_eq!(r.text(), format!("Context {function}.{name}"));
                }
                "map value" => {
                    let key = h["name"].as_str().expect("name");
                    assert_eq!(r.edge, EdgeName::MapValue(format!("{key:?}")), "{what}");
                    assert_eq!(r.holder_name, "Map", "{what}");
                    assert_eq!(r.text(), format!("Map value of key {key:?}"));
                    assert_eq!(c.type_name(r.via[0]), "ORDERED_HASH_MAP_TYPE", "{what}");
                }
                "set member" => {
                    assert_eq!(r.edge, EdgeName::SetMember, "{what}");
                    assert_eq!(r.holder_name, "Set", "{what}");
                    assert_eq!(r.text(), "Set member");
                    assert_eq!(c.type_name(r.via[0]), "ORDERED_HASH_SET_TYPE", "{what}");
                }
                other => panic!("{label}: unknown edge {other}"),
            }
            assert!(!r.weak, "{what}");
            assert_eq!(r.target, addr);
        }
    }
}

#[test]
fn retainer_paths_reach_the_globals_through_the_recorded_chains() {
    for c in cores("retainers") {
        let label = c.label();
        let extra = &c.fixture.expect.extra;
        let zoo = extra["holders"]["Walrus"]["index"]
            .as_u64()
            .expect("zoo index");
        let array = extra["holders"]["HeldByArray"]["index"]
            .as_u64()
            .expect("array index");
        let expected = [
            ("Walrus", format!("global.zooKeeper -> .zoo -> [{zoo}] -> Walrus")),
            (
                "HeldByArray",
                format!("global.retainers -> .array -> [{array}] -> HeldByArray"),
            ),
            (
                "HeldByProperty",
                "global.retainers -> .propertyHolder -> .payload -> HeldByProperty".into(),
            ),
            (
                "HeldByMapValue",
                "global.retainers -> .map -> Map value of key \"k\" -> HeldByMapValue".into(),
            ),
            (
                "HeldBySet",
                "global.retainers -> .set -> Set member -> HeldBySet".into(),
            ),
            (
                "HeldByDictionary",
                "global.retainers -> .dictionary -> .target -> HeldByDictionary".into(),
            ),
            (
                "HeldByClosure",
                "global.retainers -> .ticker -> ._onTimeout -> Function tick (context) -> Context tick.held -> HeldByClosure".into(),
            ),
        ];
        for (class, path) in expected {
            let addr = c.instance(class);
            let r = c
                .analysis
                .retainers(addr, &RetainerOptions::default())
                .expect("retainers");
            let texts: Vec<String> = r.paths.iter().map(|p| p.text()).collect();
            assert!(
                texts.contains(&path),
                "{label}: {class}: {path:?} not in {texts:#?}"
            );
            let p = r.paths.iter().find(|p| p.text() == path).expect("path");
            assert_eq!(p.root.kind(), "global", "{label}: {class}");
            assert_eq!(p.hops.last().map(|h| h.target), Some(addr), "{label}");
            // Consecutive hops: each holds the next holder.
            for w in p.hops.windows(2) {
                assert_eq!(w[0].target, w[1].holder, "{label}: {class}");
            }
            assert!(p.hops.iter().all(|h| !h.weak), "{label}: {class}");
        }
        // The zoo's path is the only one from the global, and the shortest of all.
        let walrus = c.instance("Walrus");
        let r = c
            .analysis
            .retainers(walrus, &RetainerOptions::default())
            .expect("retainers");
        assert_eq!(
            r.paths.first().map(|p| p.text()),
            Some(format!("global.zooKeeper -> .zoo -> [{zoo}] -> Walrus")),
            "{label}"
        );
        let p = &r.paths[0];
        // global -> (GlobalDictionary, PropertyCell) -> zooKeeper -> zoo -> (FixedArray) -> Walrus
        assert_eq!(p.hops.len(), 3, "{label}");
        assert_eq!(p.hops[0].via.len(), 2, "{label}");
        assert_eq!(c.type_name(p.hops[0].via[0]), "GLOBAL_DICTIONARY_TYPE");
        assert_eq!(c.type_name(p.hops[0].via[1]), "PROPERTY_CELL_TYPE");
        assert!(p.hops[1].via.is_empty(), "{label}: zoo is in-object");
        assert_eq!(c.type_name(p.hops[2].via[0]), "FIXED_ARRAY_TYPE");
    }
}

#[test]
fn retainers_with_the_threads_stacks_among_the_roots() {
    for c in cores("retainers") {
        let label = c.label();
        let roots = c.analysis.roots();
        let counts = roots.counts();
        assert_eq!(counts[0], ("global", 1), "{label}");
        assert!(counts[1].1 >= 1, "{label}: native contexts");
        assert!(counts[2].1 > 0, "{label}: isolate roots");
        assert!(counts[3].1 > 0, "{label}: stack roots");
        // The closure of the JS frame that called the harness is on the stack.
        let index = c.analysis.index();
        let refs = c.analysis.refs();
        let stack_functions: Vec<String> = (0..index.len() as u32)
            .filter(|&id| {
                matches!(
                    roots.get(id),
                    Some(coroner_analysis::RootKind::Stack { .. })
                )
            })
            .filter(|&id| refs.class_of(index, id) == coroner_heap::Class::Function)
            .filter_map(|id| c.model().function_name(index.addrs()[id as usize]).ok())
            .collect();
        assert!(
            stack_functions.iter().any(|f| f == "findHolders"),
            "{label}: {stack_functions:?}"
        );
    }
}

#[test]
fn findrefs_by_name_finds_exactly_the_scenario_objects() {
    for c in cores("retainers") {
        let label = c.label();
        let zoo_length = c.fixture.expect.extra["zoo_length"].as_u64().expect("zoo");
        let walrus_at = c.fixture.expect.extra["holders"]["Walrus"]["index"]
            .as_u64()
            .expect("index");
        // Every cage of the zoo (all but the Walrus' place), and nothing else: the literal's
        // boilerplate is V8's, not the program's.
        let cages = c.analysis.with_property("cage");
        let values: BTreeSet<i64> = cages
            .iter()
            .filter_map(|m| c.model().layout().tagging.smi(m.value))
            .collect();
        let want: BTreeSet<i64> = (0..zoo_length as i64)
            .filter(|&i| i as u64 != walrus_at)
            .collect();
        assert_eq!(cages.len(), want.len(), "{label}: {cages:#?}");
        assert_eq!(values, want, "{label}");
        // The one left out is the literal's boilerplate, held by an AllocationSite field no
        // rule names (a `slot +0x…` edge).
        let all = c.objects_with_property("cage");
        assert_eq!(all.len(), cages.len() + 1, "{label}");
        let boilerplate = all
            .iter()
            .find(|&&m| !cages.iter().any(|k| k.holder == m))
            .expect("boilerplate");
        let refs = c.refs(*boilerplate);
        assert!(
            refs.iter().any(|r| r.holder_name == "AllocationSite"
                && matches!(r.edge, EdgeName::Slot(_))
                && r.text().starts_with("AllocationSite (slot +0x")),
            "{label}: {refs:#?}"
        );
        for m in &cages {
            assert_eq!(m.holder_name, "Object", "{label}");
            let i = c.model().layout().tagging.smi(m.value).unwrap_or(-1) as u64;
            // Each cage is the zoo's element at its own number.
            let refs = c.refs(m.holder);
            assert!(
                refs.iter().any(|r| r.edge == EdgeName::Element(i)),
                "{label}: cage {i}: {refs:#?}"
            );
        }
        for (name, holder) in [
            ("payload", "PropertyHolder"),
            ("ticks", "HeldByClosure"),
            ("zooKeeper", "global"),
            ("zoo", "Object"),
        ] {
            let found = c.analysis.with_property(name);
            assert_eq!(found.len(), 1, "{label}: {name}: {found:#?}");
            assert_eq!(found[0].holder_name, holder, "{label}: {name}");
            assert_eq!(found[0].edge, property(name));
        }
        let payload = c.analysis.with_property("payload");
        assert_eq!(payload[0].holder, c.instance("PropertyHolder"));
        assert!(c
            .analysis
            .with_property("no-such-property-anywhere")
            .is_empty());
    }
}

#[test]
fn findrefs_by_string_finds_exactly_the_scenario_objects() {
    for c in cores("retainers") {
        let label = c.label();
        let walrus = c.instance("Walrus");
        let zoo_keeper = {
            let global = c.analysis.with_property("zooKeeper");
            c.model()
                .layout()
                .tagging
                .strong(global[0].value)
                .expect("zooKeeper object")
        };
        let array_length = c.fixture.expect.extra["array_length"]
            .as_u64()
            .expect("array_length");
        for (text, holder, edge) in [
            ("zoo-walrus", walrus, property("name")),
            ("keeper", zoo_keeper, property("name")),
            (
                "property-holder",
                c.instance("PropertyHolder"),
                property("before"),
            ),
            // The retainers array ['a', ..., 'e', HeldByArray, 'g']: its last element.
            ("g", 0, EdgeName::Element(array_length - 1)),
        ] {
            let found = c.analysis.holding_string(text).expect("strings");
            assert_eq!(found.len(), 1, "{label}: {text:?}: {found:#?}");
            let r = &found[0];
            assert_eq!(r.edge, edge, "{label}: {text:?}");
            if holder != 0 {
                assert_eq!(r.holder, holder, "{label}: {text:?}");
            } else {
                assert_eq!(r.holder_name, "(Array)", "{label}");
            }
            let s = c.model().string(r.target, None).expect("string");
            assert_eq!(s.to_string_lossy(), text);
        }
        assert!(c
            .analysis
            .holding_string("no such string anywhere \u{1F9AD}")
            .expect("strings")
            .is_empty());
        assert_eq!(c.analysis.holding_string(""), Err(RefsError::EmptyText));
    }
}

#[test]
fn edge_kinds_of_collections_properties_and_functions() {
    for c in cores("objects") {
        let label = c.label();
        let m = c.model();
        // Map values, by key.
        let values = c.analysis.instances(&InstancesQuery {
            name: "MapValue".into(),
            ..Default::default()
        });
        let mut keys = BTreeSet::new();
        for &v in &values.addresses {
            let js = c.live_js_refs(v);
            assert_eq!(js.len(), 1, "{label}: {js:#?}");
            match &js[0].edge {
                EdgeName::MapValue(k) => keys.insert(k.clone()),
                other => panic!("{label}: {other:?}"),
            };
            assert_eq!(js[0].holder_name, "Map");
        }
        let want: BTreeSet<String> = ["\"alpha\"", "\"beta\"", "\"gamma\""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(keys, want, "{label}");
        // A Map key: the key string is held by the Map's table.
        let map = c.property(c.instance("CollectionProbe"), "map");
        let alpha = c
            .model()
            .edges(map)
            .expect("edges")
            .into_iter()
            .find(|e| e.name == EdgeName::Internal("table".into()))
            .map(|table| c.model().edges(table.target).expect("edges"))
            .into_iter()
            .flatten()
            .find(|e| {
                m.string(e.target, None)
                    .is_ok_and(|s| s.to_string_lossy() == "alpha")
            })
            .expect("the key alpha in the table")
            .target;
        assert!(
            c.refs(alpha)
                .iter()
                .any(|r| r.holder == map && r.text() == "Map key"),
            "{label}: {:#?}",
            c.refs(alpha)
        );
        // A Set member.
        let member = c.instance("SetMember");
        assert!(c
            .refs(member)
            .iter()
            .any(|r| r.edge == EdgeName::SetMember && r.holder_name == "Set"));
        // WeakMap: the key is held strongly by the probe and weakly by the WeakMap; the value
        // weakly by the WeakMap (an ephemeron).
        let key = c.instance("WeakKey");
        let refs = c.refs(key);
        assert!(
            refs.iter()
                .any(|r| r.edge == property("weakKey") && !r.weak),
            "{label}: {refs:#?}"
        );
        assert!(
            refs.iter()
                .any(|r| r.edge == EdgeName::WeakMapKey && r.weak && r.holder_name == "WeakMap"),
            "{label}: {refs:#?}"
        );
        let value = c.instance("WeakValue");
        let refs = c.live_refs(value);
        assert_eq!(refs.len(), 1, "{label}: {refs:#?}");
        assert!(
            matches!(&refs[0].edge, EdgeName::WeakMapValue(k) if k.starts_with("<WeakKey")),
            "{label}: {refs:#?}"
        );
        assert!(refs[0].weak);
        // Weak references are not followed by retainers unless asked.
        let strong = c
            .analysis
            .retainers(value, &RetainerOptions::default())
            .expect("retainers");
        assert!(
            strong.paths.iter().all(|p| !p.text().contains("WeakMap")),
            "{label}"
        );
        let weak = c
            .analysis
            .retainers(
                value,
                &RetainerOptions {
                    weak: true,
                    paths: 50,
                    ..Default::default()
                },
            )
            .expect("retainers");
        assert!(
            weak.paths.iter().any(|p| p.hops.iter().any(|h| h.weak)),
            "{label}"
        );

        // Out-of-object properties (the PropertyArray) and dictionary-mode properties.
        let many = c.instance("ManyPropsProbe");
        let found = c.analysis.holding_string("many-props").expect("strings");
        let r = found
            .iter()
            .find(|r| r.holder == many)
            .expect("ManyPropsProbe.label");
        assert_eq!(r.text(), "ManyPropsProbe.label");
        assert_eq!(c.type_name(r.via[0]), "PROPERTY_ARRAY_TYPE", "{label}");
        let dict = c.instance("DictionaryProbe");
        let nested = c.property(dict, "nested");
        let refs = c.refs(nested);
        let r = refs
            .iter()
            .find(|r| r.holder == dict)
            .expect("DictionaryProbe.nested");
        assert_eq!(r.text(), "DictionaryProbe.nested");
        assert_eq!(c.type_name(r.via[0]), "NAME_DICTIONARY_TYPE", "{label}");

        // Elements of a PACKED_ELEMENTS array.
        let elements = c.instance("ElementsProbe");
        let packed = c.property(elements, "packed");
        let first = m.elements(packed, 1).expect("elements").items[0].1;
        let first = match first {
            coroner_heap::ElementValue::Tagged(w) => m.layout().tagging.strong(w).expect("object"),
            other => panic!("{other:?}"),
        };
        let refs = c.refs(first);
        assert!(
            refs.iter()
                .any(|r| r.holder == packed && r.edge == EdgeName::Element(0)),
            "{label}: {refs:#?}"
        );

        // A closure's context variable, and the closure's context.
        let functions = c.instance("FunctionProbe");
        let closure = c.property(functions, "closure");
        let ctx = m
            .edges(closure)
            .expect("edges")
            .into_iter()
            .find(|e| e.name == EdgeName::Internal("context".into()))
            .expect("context edge")
            .target;
        let refs = c.refs(ctx);
        assert!(
            refs.iter()
                .any(|r| r.holder == closure && r.text() == "Function inner (context)"),
            "{label}: {refs:#?}"
        );
        let captured = m
            .context_variables(ctx)
            .expect("variables")
            .into_iter()
            .find(|(n, _)| n == "captured")
            .and_then(|(_, w)| m.layout().tagging.strong(w))
            .expect("captured");
        assert!(
            c.refs(captured)
                .iter()
                .any(|r| r.text() == "Context inner.captured"),
            "{label}"
        );

        // A bound function: target, this (arguments are Smis here).
        let bound = c.property(functions, "bound");
        let this = c.instance("BoundThis");
        assert!(
            c.refs(this)
                .iter()
                .any(|r| r.holder == bound && r.edge == EdgeName::Internal("bound this".into())),
            "{label}"
        );
        let edges = m.edges(bound).expect("edges");
        let target = edges
            .iter()
            .find(|e| e.name == EdgeName::Internal("bound target".into()))
            .expect("bound target");
        assert_eq!(
            m.function_name(target.target).ok().as_deref(),
            Some("target")
        );

        // A proxy's target.
        let proxied = c.instance("ProxyTarget");
        assert!(
            c.refs(proxied)
                .iter()
                .any(|r| r.holder_name == "Proxy" && r.edge == EdgeName::Internal("target".into())),
            "{label}"
        );

        // A settled promise's result.
        let special = c.instance("SpecialProbe");
        let resolved = c.property(special, "resolved");
        let result = m
            .edges(resolved)
            .expect("edges")
            .into_iter()
            .find(|e| e.name == EdgeName::Internal("result".into()))
            .expect("result edge");
        assert_eq!(
            m.string(result.target, None)
                .expect("string")
                .to_string_lossy(),
            "resolved-value"
        );
        assert!(
            c.refs(result.target)
                .iter()
                .any(|r| r.holder == resolved && r.text() == "Promise (result)"),
            "{label}"
        );
    }
}

#[test]
fn edge_kinds_of_v8_internals() {
    for c in cores("objects") {
        let label = c.label();
        let m = c.model();
        let functions = c.instance("FunctionProbe");
        let walrus_fn = c.property(functions, "classConstructor");
        let edges = m.edges(walrus_fn).expect("edges");
        let named = |n: &str| {
            edges
                .iter()
                .find(|e| e.name == EdgeName::Internal(n.into()))
                .map(|e| e.target)
        };
        // The function's shared info and feedback cell.
        let shared = named("shared").expect("shared");
        assert_eq!(c.type_name(shared), "SHARED_FUNCTION_INFO_TYPE");
        assert!(
            c.refs(shared)
                .iter()
                .any(|r| r.holder == walrus_fn && r.text() == "Function Walrus (shared)"),
            "{label}"
        );
        let cell = named("feedback cell").expect("feedback cell");
        assert_eq!(c.type_name(cell), "FEEDBACK_CELL_TYPE");
        assert!(
            c.refs(cell).iter().any(|r| r.holder == walrus_fn),
            "{label}"
        );
        let cell_edges = m.edges(cell).expect("edges");
        assert!(
            cell_edges
                .iter()
                .all(|e| e.name == EdgeName::Internal("value".into())),
            "{label}: {cell_edges:?}"
        );
        // Its initial map: held by the function, holding its descriptors and prototype.
        let map = named("prototype or initial map").expect("initial map");
        assert_eq!(c.type_name(map), "MAP_TYPE");
        let refs = c.refs(map);
        assert!(
            refs.iter()
                .any(|r| r.holder == walrus_fn && r.holder_name == "Function Walrus"),
            "{label}: {refs:#?}"
        );
        let map_edges = m.edges(map).expect("edges");
        let prototype = map_edges
            .iter()
            .find(|e| e.name == EdgeName::Internal("prototype".into()))
            .expect("prototype");
        assert!(
            c.refs(prototype.target)
                .iter()
                .any(|r| r.holder == map && r.text() == "Map (prototype)"),
            "{label}"
        );
        // A Walrus' own map holds its descriptor array, whose keys name the properties.
        let walrus = c
            .analysis
            .instances(&InstancesQuery {
                name: "Walrus".into(),
                limit: Some(1),
                ..Default::default()
            })
            .addresses[0];
        let own_map = m.header(walrus).expect("header").map;
        let da = m
            .edges(own_map)
            .expect("edges")
            .into_iter()
            .find(|e| e.name == EdgeName::Internal("descriptors".into()))
            .expect("descriptors")
            .target;
        assert_eq!(c.type_name(da), "DESCRIPTOR_ARRAY_TYPE");
        assert!(
            c.refs(da)
                .iter()
                .any(|r| r.holder == own_map && r.text() == "Map (descriptors)"),
            "{label}"
        );
        let keys: Vec<String> = m
            .edges(da)
            .expect("edges")
            .into_iter()
            .filter_map(|e| match e.name {
                EdgeName::Internal(n) => n.strip_prefix("key of descriptor ").map(str::to_string),
                _ => None,
            })
            .collect();
        assert!(keys.iter().any(|k| k == "name"), "{label}: {keys:?}");
    }
}

#[test]
fn edge_kinds_of_strings_globals_and_dictionary_elements() {
    for c in cores("strings") {
        let label = c.label();
        let m = c.model();
        let probe = c.instance("StringProbe");
        for (cons, first, second) in [
            ("consOneByte", "consLeftOneByte", "consRightOneByte"),
            ("consTwoByte", "consLeftTwoByte", "consRightTwoByte"),
        ] {
            let cons = c.property(probe, cons);
            for (part, edge) in [(first, "first"), (second, "second")] {
                let part = c.property(probe, part);
                let refs = c.refs(part);
                assert!(
                    refs.iter()
                        .any(|r| r.holder == cons && r.edge == EdgeName::Internal(edge.into())),
                    "{label}: {refs:#?}"
                );
                assert!(
                    refs.iter().any(|r| r.holder == probe && r.edge.is_access()),
                    "{label}"
                );
            }
        }
        let sliced = c.property(probe, "sliced");
        let parent = c.property(probe, "slicedParent");
        assert!(
            c.refs(parent)
                .iter()
                .any(|r| r.holder == sliced && r.edge == EdgeName::Internal("parent".into())),
            "{label}"
        );
        let thin = c.property(probe, "thin");
        let actual = m.edges(thin).expect("edges");
        assert_eq!(actual.len(), 1, "{label}: {actual:?}");
        assert_eq!(actual[0].name, EdgeName::Internal("actual".into()));
        assert!(
            c.refs(actual[0].target).iter().any(|r| r.holder == thin),
            "{label}"
        );
        // -s finds the probe's own property, not the cons string holding the same string.
        let found = c
            .analysis
            .holding_string("cons-left-one-byte")
            .expect("strings");
        // (The harness' encoding of the probe, garbage now, holds it too.)
        assert!(
            found
                .iter()
                .any(|r| r.text() == "StringProbe.consLeftOneByte"),
            "{label}: {found:#?}"
        );
        assert!(
            found
                .iter()
                .all(|r| r.edge.is_access() && r.holder_name != "(String)"),
            "{label}: {found:#?}"
        );
        // A property of the global object, through its dictionary's property cell.
        let fixture = c.analysis.with_property("stringsFixture");
        assert_eq!(fixture.len(), 1, "{label}");
        let held = m.layout().tagging.strong(fixture[0].value).expect("object");
        let refs = c.refs(held);
        let r = refs
            .iter()
            .find(|r| r.text() == "global.stringsFixture")
            .expect("global.stringsFixture");
        assert_eq!(r.via.len(), 2, "{label}");
        assert_eq!(c.type_name(r.via[0]), "GLOBAL_DICTIONARY_TYPE");
        assert_eq!(c.type_name(r.via[1]), "PROPERTY_CELL_TYPE");
    }
    // Dictionary elements: Node's timer lists by duration, `timerListMap[3600000]`.
    for c in cores("retainers") {
        let label = c.label();
        let list = c.instance("TimersList");
        let refs = c.refs(list);
        let r = refs
            .iter()
            .find(|r| r.edge == EdgeName::Element(3_600_000))
            .unwrap_or_else(|| panic!("{label}: {refs:#?}"));
        assert_eq!(c.type_name(r.via[0]), "NUMBER_DICTIONARY_TYPE", "{label}");
        assert!(
            refs.iter().any(|r| r.text() == "Timeout._idlePrev"),
            "{label}: {refs:#?}"
        );
    }
}

#[test]
fn weak_references_and_their_layout_facts() {
    // Every WeakRef's target and every WeakCell's target is a JS receiver, a symbol or
    // undefined (checks the weak_refs facts of the supplements), and is a weak edge.
    let mut weak_refs = 0;
    for c in cores("objects").iter().chain(cores("retainers")) {
        let label = c.label();
        let m = c.model();
        let index = c.analysis.index();
        let types = &m.layout().types;
        let weak_ref = types.number("JS_WEAK_REF_TYPE");
        let weak_cell = types.number("WEAK_CELL_TYPE");
        let reaction = types.number("PROMISE_REACTION_TYPE");
        for &addr in index.addrs() {
            let Ok(h) = m.header(addr) else { continue };
            let t = Some(h.instance_type);
            if t != weak_ref && t != weak_cell && t != reaction {
                continue;
            }
            let edges = m.edges(addr).expect("edges");
            for e in &edges {
                let is_target = e.name == EdgeName::Internal("target".into())
                    || e.name == EdgeName::Internal("unregister token".into());
                let th = m.header(e.target).expect("target header");
                let class = m.class_of(th.instance_type);
                if is_target && t != reaction {
                    assert!(e.weak, "{label}: {addr:#x} {e:?}");
                    assert!(
                        class.is_receiver()
                            || class == coroner_heap::Class::Symbol
                            || class == coroner_heap::Class::Oddball,
                        "{label}: {addr:#x} {e:?} -> {}",
                        m.type_name(th.instance_type)
                    );
                    weak_refs += 1;
                }
                if t == reaction
                    && matches!(&e.name, EdgeName::Internal(n) if n.ends_with("handler"))
                {
                    assert!(
                        class.is_receiver() || class == coroner_heap::Class::Oddball,
                        "{label}: {e:?}"
                    );
                }
            }
        }
    }
    assert!(weak_refs > 0, "no WeakRef in any fixture");
}

#[test]
fn garbage_addresses_are_errors() {
    for c in cores("retainers") {
        let label = c.label();
        let walrus = c.instance("Walrus");
        for bad in [0, 1, 0xdead_beef, u64::MAX, walrus + 8, walrus + 1 + 8] {
            let e = c.analysis.references(bad).expect_err(&label);
            assert!(e.to_string().starts_with("no heap object starts at"), "{e}");
            assert!(c
                .analysis
                .retainers(bad, &RetainerOptions::default())
                .is_err());
        }
        let inside = c
            .analysis
            .references(walrus + 8)
            .expect_err(&label)
            .to_string();
        assert!(
            inside.contains(&format!("inside the Walrus at {walrus:#x}")),
            "{inside}"
        );
        // A tagged pointer is the object itself.
        let tagged = c.model().layout().tagging.tag(walrus);
        assert_eq!(
            c.analysis.references(tagged).expect("tagged").target,
            walrus
        );
        // Read-only objects are found by a scan: undefined is held by many objects.
        let undefined = c
            .model()
            .isolates()
            .first()
            .and_then(|i| {
                i.root(
                    c.model().v8_heap().memory(),
                    c.model().layout(),
                    c.model().layout().roots.undefined,
                )
                .ok()
            })
            .and_then(|w| c.model().layout().tagging.strong(w))
            .expect("undefined");
        let r = c.analysis.references(undefined).expect("undefined");
        assert!(
            r.scanned && r.references.len() > 100,
            "{label}: {}",
            r.references.len()
        );
        let r = c
            .analysis
            .retainers(undefined, &RetainerOptions::default())
            .expect("retainers");
        assert!(r.paths.is_empty(), "{label}");
        assert!(
            r.limited.is_some_and(|l| l.contains("read-only heap")),
            "{label}"
        );
    }
}
