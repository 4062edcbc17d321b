//! Every probe of the `objects` and `strings` scenarios decodes, through `inspect`, to exactly
//! the values the scenario recorded — on every pinned Node version, abort and gcore cores —
//! and so do the facts of their `extra` (elements, collections, buffers, dates, regexps,
//! promises, functions and closures, wrappers, string representations).

mod support;

use coroner_fixtures::ProbeValue;
use coroner_heap::{
    iso_date, Class, Element, FunctionDetail, InspectOptions, InternalSlots, PromiseState, Value,
    ValueKind,
};
use coroner_v8::types::StringRepresentation;
use serde_json::Value as Json;
use support::{opened, Opened};

/// Deep enough for the probes' arrays, wide enough for every element and string.
fn options() -> InspectOptions {
    InspectOptions {
        full_strings: true,
        limit: 1000,
        depth: 2,
        ..InspectOptions::default()
    }
}

/// What differs between the recorded value and the decoded one (`None`: they are the same).
fn mismatch(expected: &ProbeValue, got: &Value) -> Option<String> {
    let ok = match (expected, &got.kind) {
        (ProbeValue::Undefined, ValueKind::Undefined)
        | (ProbeValue::Null, ValueKind::Null)
        | (ProbeValue::Hole, ValueKind::Hole)
        | (ProbeValue::Accessor, ValueKind::Other { .. }) => true,
        (ProbeValue::Bool(b), ValueKind::Boolean(g)) => b == g,
        (ProbeValue::Number(n), ValueKind::Smi(_) | ValueKind::Number(_)) => got
            .as_f64()
            .is_some_and(|g| ProbeValue::Number(*n).same_value(&ProbeValue::Number(g))),
        (
            ProbeValue::String(s),
            ValueKind::String {
                text, utf16: None, ..
            },
        ) => !got.truncated && text == s,
        (
            ProbeValue::Utf16(units),
            ValueKind::String {
                utf16: Some(got_units),
                ..
            },
        ) => !got.truncated && got_units == units,
        (ProbeValue::BigInt(d), ValueKind::BigInt { decimal }) => decimal == d,
        (ProbeValue::Symbol(d), ValueKind::Symbol { description }) => description == d,
        (ProbeValue::Object(name), _) => got.constructor() == Some(name.as_str()),
        (ProbeValue::Array(items), ValueKind::Array { object, length }) => {
            if *length != items.len() as u64 {
                false
            } else {
                let elements = object.elements.as_deref().unwrap_or(&[]);
                return items.iter().enumerate().find_map(|(i, item)| {
                    match elements.iter().find(|e| e.index == i as u64) {
                        Some(e) => mismatch(item, &e.value).map(|m| format!("[{i}]: {m}")),
                        None => Some(format!("[{i}] missing")),
                    }
                });
            }
        }
        _ => false,
    };
    (!ok).then(|| format!("expected {expected:?}, decoded {}", summary(got)))
}

fn summary(v: &Value) -> String {
    format!("{v:?}").chars().take(300).collect()
}

/// Checks every probe of one fixture; returns what does not hold.
fn check_probes(o: &Opened) -> Vec<String> {
    let mut bad = Vec::new();
    let expect = &o.fixture.expect;
    for (class, props) in &expect.probes {
        let addr = o.probe(class);
        let v = match o.model.inspect(addr, &options()) {
            Ok(v) => v,
            Err(e) => {
                bad.push(format!("{class}: {e}"));
                continue;
            }
        };
        let ValueKind::Object { object, slots } = &v.kind else {
            bad.push(format!("{class}: not a plain object: {}", summary(&v)));
            continue;
        };
        if object.constructor.as_deref() != Some(class.as_str()) || slots.is_some() {
            bad.push(format!("{class}: constructor {:?}", object.constructor));
        }
        let decoded = object.properties.clone().unwrap_or_default();
        let names: Vec<&str> = decoded
            .iter()
            .filter(|p| !p.symbol)
            .map(|p| p.name.as_str())
            .collect();
        if let Some(order) = expect.probe_order.get(class) {
            if names != order.iter().map(String::as_str).collect::<Vec<_>>() {
                bad.push(format!(
                    "{class}: property order {names:?}, recorded {order:?}"
                ));
            }
        }
        for (name, json) in props {
            let want = match ProbeValue::from_json(json) {
                Ok(w) => w,
                Err(e) => {
                    bad.push(format!("{class}.{name}: {e}"));
                    continue;
                }
            };
            match decoded.iter().find(|p| &p.name == name && !p.symbol) {
                None => bad.push(format!("{class}.{name}: not decoded")),
                Some(p) => {
                    if let Some(m) = mismatch(&want, &p.value) {
                        bad.push(format!("{class}.{name}: {m}"));
                    }
                }
            }
        }
    }
    bad
}

#[test]
fn every_probe_property_decodes_to_its_recorded_value() {
    let fixtures = opened(&["objects", "strings"]);
    assert!(fixtures.len() >= 16, "only {} fixtures", fixtures.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for o in &fixtures {
        checked += o
            .fixture
            .expect
            .probes
            .values()
            .map(|p| p.len())
            .sum::<usize>();
        for b in check_probes(o) {
            failures.push(format!("{}: {b}", o.label()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 500, "only {checked} probe values");
}

/// The decoded value of `probe.field` (inspected on its own, to `depth`).
fn field(o: &Opened, probe: &str, name: &str, depth: u32) -> Value {
    let v = o
        .model
        .inspect(
            o.probe(probe),
            &InspectOptions {
                depth: 1,
                ..options()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {probe}: {e}", o.label()));
    let at = v
        .property(name)
        .and_then(|p| p.address)
        .unwrap_or_else(|| panic!("{}: {probe}.{name} is not an object", o.label()));
    o.model
        .inspect(at, &InspectOptions { depth, ..options() })
        .unwrap_or_else(|e| panic!("{}: {probe}.{name}: {e}", o.label()))
}

fn json_str(j: &Json) -> &str {
    j.as_str().unwrap_or_else(|| panic!("not a string: {j}"))
}

fn json_u64(j: &Json) -> u64 {
    j.as_u64().unwrap_or_else(|| panic!("not a number: {j}"))
}

fn bytes(bytes: &Json) -> Vec<u8> {
    bytes
        .as_array()
        .unwrap_or_else(|| panic!("not bytes: {bytes}"))
        .iter()
        .map(|b| u8::try_from(json_u64(b)).expect("a byte"))
        .collect()
}

/// The name of a function value.
fn function_name(v: &Value) -> Option<&str> {
    match &v.kind {
        ValueKind::Function { name, .. } => Some(name),
        _ => None,
    }
}

#[test]
fn objects_extra_facts_decode() {
    for o in opened(&["objects"]) {
        let label = o.label();
        let extra = &o.fixture.expect.extra;
        let m = &o.model;

        // Elements: V8's kind, the length, every element.
        for (name, e) in extra["elements"].as_object().expect("elements") {
            let v = field(o, "ElementsProbe", name, 1);
            let addr = v.address.expect("address");
            let els = m.elements(addr, 1000).expect("elements decode");
            assert_eq!(els.kind, json_str(&e["kind"]), "{label}: {name} kind");
            let ValueKind::Array { object, length } = &v.kind else {
                panic!("{label}: {name} is not an array: {v:?}");
            };
            assert_eq!(*length, json_u64(&e["length"]), "{label}: {name} length");
            let got: Vec<&Element> = object
                .elements
                .as_deref()
                .expect("an expanded array lists its elements")
                .iter()
                .filter(|e| !matches!(e.value.kind, ValueKind::Hole))
                .collect();
            let want = e["elements"].as_object().expect("elements");
            assert_eq!(got.len(), want.len(), "{label}: {name} elements {got:?}");
            for (i, w) in want {
                let index: u64 = i.parse().expect("index");
                let g = got
                    .iter()
                    .find(|e| e.index == index)
                    .expect("element present");
                let w = ProbeValue::from_json(w).expect("probe value");
                assert_eq!(mismatch(&w, &g.value), None, "{label}: {name}[{index}]");
            }
        }

        // Collections: Map entries in insertion order, Set members, the WeakMap's entry.
        let c = &extra["collections"];
        let map = field(o, "CollectionProbe", "map", 2);
        let ValueKind::Map {
            size,
            entries: Some(entries),
            ..
        } = &map.kind
        else {
            panic!("{label}: not an expanded map: {map:?}");
        };
        assert_eq!(*size, json_u64(&c["map"]["size"]), "{label}");
        let keys: Vec<&str> = entries.iter().filter_map(|e| e.key.as_str()).collect();
        let want_keys: Vec<&str> = c["map"]["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(json_str)
            .collect();
        assert_eq!(keys, want_keys, "{label}: map keys");
        for (e, w) in entries
            .iter()
            .zip(c["map"]["values"].as_array().expect("values"))
        {
            let value = &e.value;
            assert_eq!(value.constructor(), Some(json_str(&w["class"])), "{label}");
            assert_eq!(
                value.property("label").and_then(Value::as_str),
                Some(json_str(&w["label"])),
                "{label}: map value label"
            );
        }
        let set = field(o, "CollectionProbe", "set", 1);
        let ValueKind::Set {
            size,
            members: Some(members),
            ..
        } = &set.kind
        else {
            panic!("{label}: not an expanded set: {set:?}");
        };
        for (member, w) in members
            .iter()
            .zip(c["set"]["values"].as_array().expect("set values"))
        {
            let w = ProbeValue::from_json(w).expect("probe value");
            assert_eq!(mismatch(&w, member), None, "{label}: set member");
        }
        assert_eq!(members.len() as u64, json_u64(&c["set"]["size"]), "{label}");
        assert_eq!(*size, json_u64(&c["set"]["size"]), "{label}");
        let weak = field(o, "CollectionProbe", "weakMap", 1);
        let ValueKind::Map {
            entries: Some(we), ..
        } = &weak.kind
        else {
            panic!("{label}: not an expanded weak map: {weak:?}");
        };
        assert_eq!(we.len(), 1, "{label}: weak map entries");
        assert_eq!(
            we[0].key.constructor(),
            Some(json_str(&c["weakMap"]["key"]))
        );
        assert_eq!(
            we[0].value.constructor(),
            Some(json_str(&c["weakMap"]["value"]))
        );

        // Buffers: offsets, lengths and bytes.
        let b = &extra["buffers"];
        for name in ["buffer", "uint8", "float64", "dataView"] {
            let v = field(o, "BufferProbe", name, 1);
            let w = &b[name];
            let ValueKind::TypedArray {
                object,
                view: Some(view),
            } = &v.kind
            else {
                panic!("{label}: {name} is not an expanded view: {v:?}");
            };
            assert_eq!(
                object.constructor.as_deref(),
                Some(json_str(&w["class"])),
                "{label}: {name}"
            );
            assert_eq!(
                view.byte_offset,
                json_u64(&w["byteOffset"]),
                "{label}: {name}"
            );
            assert_eq!(
                view.byte_length,
                json_u64(&w["byteLength"]),
                "{label}: {name}"
            );
            assert_eq!(
                view.bytes.as_deref(),
                Some(bytes(&w["bytes"]).as_slice()),
                "{label}: {name}"
            );
            assert_eq!(view.element_type.is_none(), name == "dataView", "{label}");
            let backing = o
                .model
                .inspect(view.buffer.address.expect("buffer address"), &options())
                .expect("buffer decodes");
            let ValueKind::ArrayBuffer { byte_length, .. } = backing.kind else {
                panic!("{label}: {name}'s buffer is not an ArrayBuffer: {backing:?}");
            };
            assert_eq!(
                byte_length,
                Some(json_u64(&w["backingByteLength"])),
                "{label}"
            );
        }
        let ab = field(o, "BufferProbe", "arrayBuffer", 1);
        let ValueKind::ArrayBuffer {
            byte_length,
            bytes: Some(ab_bytes),
            ..
        } = &ab.kind
        else {
            panic!("{label}: not an expanded ArrayBuffer: {ab:?}");
        };
        assert_eq!(
            *byte_length,
            Some(json_u64(&b["arrayBuffer"]["byteLength"])),
            "{label}"
        );
        assert_eq!(ab_bytes, &bytes(&b["arrayBuffer"]["bytes"]), "{label}");
        let f64s = field(o, "BufferProbe", "float64", 1);
        let ValueKind::TypedArray {
            view: Some(view), ..
        } = &f64s.kind
        else {
            panic!("{label}: not an expanded typed array: {f64s:?}");
        };
        assert_eq!(view.element_type.as_deref(), Some("Float64"), "{label}");
        assert_eq!(view.length, Some(3), "{label}");

        // Date, RegExp, Error, promises.
        let s = &extra["special"];
        let date = field(o, "SpecialProbe", "date", 1);
        let ValueKind::Date {
            time: Some(time), ..
        } = date.kind
        else {
            panic!("{label}: not an expanded date: {date:?}");
        };
        assert_eq!(Some(time), s["date"]["ms"].as_f64(), "{label}: date");
        assert_eq!(
            iso_date(time).as_deref(),
            Some(json_str(&s["date"]["iso"])),
            "{label}"
        );
        let re = field(o, "SpecialProbe", "regexp", 1);
        let ValueKind::RegExp { source, flags, .. } = &re.kind else {
            panic!("{label}: not a regexp: {re:?}");
        };
        assert_eq!(
            source.as_deref(),
            Some(json_str(&s["regexp"]["source"])),
            "{label}"
        );
        assert_eq!(
            flags.as_deref(),
            Some(json_str(&s["regexp"]["flags"])),
            "{label}"
        );
        let err = field(o, "SpecialProbe", "error", 1);
        let ValueKind::Error {
            message,
            call_sites,
            ..
        } = &err.kind
        else {
            panic!("{label}: not an error: {err:?}");
        };
        assert_eq!(
            message.as_deref(),
            Some(json_str(&s["error"]["message"])),
            "{label}"
        );
        check_captured_stack(o, call_sites.as_deref());
        for (name, p) in s["promises"].as_object().expect("promises") {
            let v = field(o, "SpecialProbe", name, 2);
            let ValueKind::Promise {
                state: Some(state), ..
            } = &v.kind
            else {
                panic!("{label}: {name} is not an expanded promise: {v:?}");
            };
            assert_eq!(state.name(), json_str(&p["state"]), "{label}: {name}");
            match state {
                PromiseState::Pending => {}
                PromiseState::Fulfilled(r) => {
                    let value = p.get("value").expect("a fulfilled promise's value");
                    assert_eq!(r.as_str(), Some(json_str(value)), "{label}: {name}");
                }
                PromiseState::Rejected(r) => {
                    let reason = p.get("reason_message").expect("a rejection's reason");
                    assert_eq!(r.constructor(), Some(json_str(&p["reason_class"])));
                    let ValueKind::Error { message, .. } = &r.kind else {
                        panic!("{label}: {name}'s reason is not an error: {r:?}");
                    };
                    assert_eq!(
                        message.as_deref(),
                        Some(json_str(reason)),
                        "{label}: {name}"
                    );
                }
            }
        }

        // Symbol-keyed properties.
        let vals = &extra["values"];
        let key = format!("Symbol({})", json_str(&vals["symbol_keyed"]["description"]));
        let probe = m
            .inspect(o.probe("ValueProbe"), &options())
            .expect("ValueProbe");
        assert_eq!(
            probe.property(&key).and_then(Value::as_str),
            Some(json_str(&vals["symbol_keyed"]["probe_value"])),
            "{label}: ValueProbe[{key}]"
        );
        let keyed = field(o, "ValueProbe", "symbolKeyed", 1);
        assert_eq!(
            keyed.property(&key).and_then(Value::as_str),
            Some(json_str(&vals["symbol_keyed"]["value"])),
            "{label}: symbolKeyed[{key}]"
        );

        // Functions: names, the closure's context, the bound function, the generator.
        let f = &extra["functions"];
        let closure = field(o, "FunctionProbe", "closure", 2);
        let ValueKind::Function {
            name,
            detail:
                Some(FunctionDetail::Closure {
                    script,
                    position,
                    context: ctx,
                    ..
                }),
            ..
        } = &closure.kind
        else {
            panic!("{label}: not an expanded closure: {closure:?}");
        };
        assert_eq!(name, json_str(&f["closure"]["name"]), "{label}");
        assert!(
            matches!(ctx.kind, ValueKind::Context { .. }),
            "{label}: {ctx:?}"
        );
        let captured = ctx.property("captured").expect("captured");
        assert_eq!(captured.constructor(), Some("Object"), "{label}");
        assert_eq!(
            ctx.property("counter").and_then(Value::as_f64),
            f["closure"]["context"]["counter"].as_f64(),
            "{label}: counter"
        );
        let captured = o
            .model
            .inspect(captured.address.expect("captured address"), &options())
            .expect("captured decodes");
        assert_eq!(
            captured.property("label").and_then(Value::as_str),
            Some(json_str(&f["closure"]["context"]["captured"]["label"]))
        );
        // The closure starts on the line of `function inner` in the scenario's source.
        let source = std::fs::read_to_string(&o.fixture.expect.argv[1]).expect("scenario source");
        let line = source
            .lines()
            .position(|l| l.contains("return function inner()"))
            .expect("inner in the source") as u64
            + 1;
        assert_eq!(
            position.map(|p| p.line),
            Some(line),
            "{label}: line of inner"
        );
        assert_eq!(script.as_deref(), Some(o.fixture.expect.argv[1].as_str()));
        // With `-s`, each function's source is the scenario's text at its line and column.
        let lines: Vec<&str> = source.lines().collect();
        for name in ["closure", "arrow", "asyncFunction", "classConstructor"] {
            let probe = o.probe("FunctionProbe");
            let with_source = InspectOptions {
                function_source: true,
                depth: 1,
                ..options()
            };
            let v = m.inspect(probe, &with_source).expect("FunctionProbe");
            let f = v.property(name).expect("function property");
            let at = f.address.expect("address");
            let f = m.inspect(at, &with_source).expect("function decodes");
            let ValueKind::Function {
                detail:
                    Some(FunctionDetail::Closure {
                        source,
                        position: Some(position),
                        ..
                    }),
                ..
            } = &f.kind
            else {
                panic!("{label}: {name} is not an expanded closure: {f:?}");
            };
            let text = source
                .as_deref()
                .unwrap_or_else(|| panic!("{label}: {name} source"));
            let (line, column) = (position.line as usize, position.column as usize);
            let from: String = lines[line - 1..].join("\n");
            let from: String = from.chars().skip(column - 1).collect();
            assert!(
                from.starts_with(text),
                "{label}: {name} source {text:?} not at {line}:{column}"
            );
            assert!(!text.is_empty());
        }
        let bound = field(o, "FunctionProbe", "bound", 1);
        let ValueKind::Function {
            name,
            detail:
                Some(FunctionDetail::Bound {
                    target,
                    this,
                    arguments,
                }),
            ..
        } = &bound.kind
        else {
            panic!("{label}: not an expanded bound function: {bound:?}");
        };
        assert_eq!(name, json_str(&f["bound"]["name"]), "{label}");
        assert_eq!(function_name(target), Some(json_str(&f["bound"]["target"])));
        assert_eq!(
            this.constructor(),
            Some(json_str(&f["bound"]["bound_this"]))
        );
        let args: Vec<f64> = arguments.iter().filter_map(Value::as_f64).collect();
        let want: Vec<f64> = f["bound"]["bound_args"]
            .as_array()
            .expect("args")
            .iter()
            .filter_map(Json::as_f64)
            .collect();
        assert_eq!(args, want, "{label}: bound arguments");
        let generator = field(o, "FunctionProbe", "generator", 1);
        let ValueKind::Object {
            slots:
                Some(InternalSlots::Generator {
                    function, state, ..
                }),
            ..
        } = &generator.kind
        else {
            panic!("{label}: not an expanded generator: {generator:?}");
        };
        assert_eq!(state.name(), json_str(&f["generator"]["state"]));
        assert_eq!(
            function_name(function),
            Some(json_str(&f["generator"]["function"]))
        );
        for name in ["arrow", "asyncFunction", "classConstructor"] {
            let v = field(o, "FunctionProbe", name, 1);
            assert_eq!(
                function_name(&v),
                Some(json_str(&f[name]["name"])),
                "{label}: {name}"
            );
        }

        // Wrappers: the proxy's target, the boxed primitives.
        let w = &extra["wrappers"];
        let proxy = field(o, "WrapperProbe", "proxy", 2);
        let ValueKind::Object {
            slots: Some(InternalSlots::Proxy { target, .. }),
            ..
        } = &proxy.kind
        else {
            panic!("{label}: not an expanded proxy: {proxy:?}");
        };
        assert_eq!(target.constructor(), Some(json_str(&w["proxy"]["target"])));
        assert_eq!(
            target.property("real").and_then(Value::as_str),
            Some(json_str(&w["proxy"]["target_real"]))
        );
        let prim = |name: &str| -> Value {
            match field(o, "WrapperProbe", name, 1).kind {
                ValueKind::Object {
                    slots: Some(InternalSlots::Primitive(p)),
                    ..
                } => *p,
                kind => panic!("{label}: {name} has no primitive: {kind:?}"),
            }
        };
        assert_eq!(
            prim("boxedNumber").as_f64(),
            w["boxedNumber"].as_f64(),
            "{label}"
        );
        assert_eq!(
            prim("boxedString").as_str(),
            w["boxedString"].as_str(),
            "{label}"
        );
        assert_eq!(
            prim("boxedBoolean").kind,
            ValueKind::Boolean(w["boxedBoolean"].as_bool().expect("a boolean"))
        );
        assert_eq!(
            prim("boxedBigInt").kind,
            ValueKind::BigInt {
                decimal: json_str(&w["boxedBigInt"]).to_string()
            }
        );
        assert_eq!(
            prim("boxedSymbol").kind,
            ValueKind::Symbol {
                description: w["boxedSymbol"].as_str().map(str::to_string)
            }
        );

        // The map (-m), and the short forms tables use.
        let with_map = InspectOptions {
            show_map: true,
            ..options()
        };
        let numbers = m
            .inspect(o.probe("NumberProbe"), &with_map)
            .expect("NumberProbe");
        let map = numbers.map.as_ref().expect("map described");
        assert_eq!(map.instance_type, "JS_OBJECT_TYPE", "{label}");
        assert!(
            !map.dictionary && map.own_descriptors == 13,
            "{label}: {map:?}"
        );
        let dict = m
            .inspect(o.probe("DictionaryProbe"), &with_map)
            .expect("DictionaryProbe");
        assert!(dict.map.as_ref().is_some_and(|m| m.dictionary), "{label}");
        let walrus = o.instances_of("Walrus")[0];
        assert_eq!(m.short_object(walrus), format!("<Walrus {walrus:#x}>"));
        let elements = field(o, "ElementsProbe", "packedSmi", 0);
        assert_eq!(
            elements.short(),
            format!("[Array length 3 {:#x}]", elements.address.expect("a"))
        );
        let closure = field(o, "FunctionProbe", "closure", 0);
        assert!(closure.short().starts_with("<Function inner 0x"), "{label}");
        let name = m.inspect(walrus, &options()).expect("Walrus");
        let name = name.property("name").expect("name");
        assert!(
            name.short().starts_with("\"walrus-"),
            "{label}: {}",
            name.short()
        );

        // The global object's properties (a GlobalDictionary of PropertyCells).
        let global_type = m.layout().types.js_global_object;
        let globals: Vec<u64> = m
            .par_map_pages(|_, walk| {
                walk.filter(|obj| obj.instance_type == global_type)
                    .map(|obj| obj.addr)
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect();
        let fixture = globals.iter().find_map(|&g| {
            let v = m
                .inspect(
                    g,
                    &InspectOptions {
                        depth: 1,
                        ..options()
                    },
                )
                .ok()?;
            let fixture = v.property("objectsFixture")?.clone();
            assert!(v
                .property("Array")
                .is_some_and(|a| matches!(a.kind, ValueKind::Function { .. })));
            Some(fixture)
        });
        let fixture = fixture.unwrap_or_else(|| panic!("{label}: no global objectsFixture"));
        assert_eq!(fixture.constructor(), Some("Object"), "{label}");

        // Every Walrus is named walrus-ID.
        for addr in o.instances_of("Walrus") {
            let v = m.inspect(addr, &options()).expect("Walrus decodes");
            let id = v.property("id").and_then(Value::as_f64).expect("id");
            assert_eq!(
                v.property("name").and_then(Value::as_str),
                Some(format!("walrus-{id}").as_str()),
                "{label}: Walrus at {addr:#x}"
            );
        }
    }
}

/// The representation a string field has, in the terms of `extra.representations`.
fn representation(o: &Opened, addr: u64) -> String {
    let layout = o.model.layout();
    let h = o.model.header(addr).expect("string header");
    let shape = layout
        .types
        .string_shape(h.instance_type)
        .expect("a string");
    // V8 has one thin string type whatever the encoding: the target's encoding is the string's.
    let one_byte = if shape.representation == StringRepresentation::Thin {
        let w = o
            .model
            .v8_heap()
            .memory()
            .read_u64(addr + layout.string.thin_actual)
            .expect("w");
        let actual = o
            .model
            .header(layout.tagging.strong(w).expect("ptr"))
            .expect("target");
        let target = layout
            .types
            .string_shape(actual.instance_type)
            .expect("string");
        target.one_byte
    } else {
        shape.one_byte
    };
    let encoding = if one_byte { "OneByte" } else { "TwoByte" };
    let rep = match shape.representation {
        StringRepresentation::Seq if shape.internalized => "Internalized",
        StringRepresentation::Seq => "Seq",
        StringRepresentation::Cons => "Cons",
        StringRepresentation::External => "External",
        StringRepresentation::Sliced => "Sliced",
        StringRepresentation::Thin => "Thin",
    };
    format!("{rep}{encoding}String")
}

#[test]
fn strings_have_their_representations_and_lengths() {
    for o in opened(&["strings"]) {
        let label = o.label();
        let extra = &o.fixture.expect.extra;
        let probe = o
            .model
            .inspect(
                o.probe("StringProbe"),
                &InspectOptions {
                    limit: 8,
                    ..options()
                },
            )
            .expect("StringProbe");
        let addr_of = |name: &str| -> u64 {
            probe
                .property(name)
                .and_then(|v| v.address)
                .unwrap_or_else(|| panic!("{label}: {name} has no address"))
        };
        for (name, rep) in extra["representations"]
            .as_object()
            .expect("representations")
        {
            assert_eq!(
                representation(o, addr_of(name)),
                json_str(rep),
                "{label}: {name}"
            );
            let v = probe.property(name).expect("field");
            let ValueKind::String { length, .. } = v.kind else {
                panic!("{label}: {name} is not a string: {v:?}");
            };
            assert_eq!(
                Some(length),
                extra["lengths"][name].as_u64(),
                "{label}: {name} length"
            );
        }
        // Cons halves, slice parents and the thin string's target are the recorded strings.
        let layout = o.model.layout();
        let word = |addr: u64, off: u64| -> u64 {
            o.model
                .v8_heap()
                .memory()
                .read_u64(addr + off)
                .expect("readable")
        };
        let strong = |w: u64| layout.tagging.strong(w).expect("a pointer");
        for (name, parts) in extra["cons"].as_object().expect("cons") {
            let s = addr_of(name);
            if let Some(first) = parts.get("first") {
                assert_eq!(
                    strong(word(s, layout.string.cons_first)),
                    addr_of(json_str(first))
                );
                let second = json_str(&parts["second"]);
                assert_eq!(strong(word(s, layout.string.cons_second)), addr_of(second));
            }
            if let Some(depth) = parts.get("depth") {
                let mut at = s;
                let mut n = 0;
                while o
                    .model
                    .class_of(o.model.header(at).expect("h").instance_type)
                    == Class::String
                    && representation(o, at).starts_with("Cons")
                {
                    at = strong(word(at, layout.string.cons_first));
                    n += 1;
                }
                assert_eq!(n, json_u64(depth), "{label}: cons depth of {name}");
            }
        }
        for (name, slice) in extra["sliced"].as_object().expect("sliced") {
            let s = addr_of(name);
            let parent = json_str(&slice["parent"]);
            assert_eq!(
                strong(word(s, layout.string.sliced_parent)),
                addr_of(parent)
            );
            let offset = layout.tagging.smi(word(s, layout.string.sliced_offset));
            assert_eq!(offset, slice["offset"].as_i64(), "{label}: {name} offset");
        }
        let thin = addr_of("thin");
        let actual = strong(word(thin, layout.string.thin_actual));
        let target = o.model.string(actual, None).expect("thin target");
        assert_eq!(target.to_string_lossy(), json_str(&extra["thin"]["actual"]));
        // A limit cuts a string and says so.
        let big = o
            .model
            .inspect(addr_of("big"), &InspectOptions::default())
            .expect("big");
        assert!(big.truncated, "{label}");
        assert_eq!(big.as_str(), Some("abcdefghijklmnop"), "{label}");
    }
}

/// The probe error's stack was never read, so V8 still holds its call sites: the innermost is
/// the `new Error(...)` in SpecialProbe's constructor, at the line and column the scenario's
/// source has it, called with `new`; the rest are the scenario's callers.
fn check_captured_stack(o: &Opened, sites: Option<&[coroner_heap::CallSite]>) {
    let label = o.label();
    let Some(sites) = sites else {
        panic!("{label}: the probe error's call sites were not decoded");
    };
    let script = o
        .fixture
        .expect
        .frames
        .iter()
        .filter_map(|f| f.file.as_deref())
        .find(|f| f.ends_with("/objects.js"))
        .unwrap_or_else(|| panic!("{label}: no objects.js frame recorded"));
    let source = std::fs::read_to_string(script).expect("the scenario's source");
    let needle = "new Error('probe error message')";
    let (line, column) = source
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find(needle).map(|c| (i as u64 + 1, c as u64 + 1)))
        .expect("the probe error in the source");
    let top = sites
        .first()
        .unwrap_or_else(|| panic!("{label}: no call sites"));
    assert_eq!(
        top.function.as_deref(),
        Some("SpecialProbe"),
        "{label}: {top:?}"
    );
    let knows_new = o
        .model
        .layout()
        .call_site_info
        .is_some_and(|c| c.is_constructor.is_some());
    assert_eq!(top.constructor, knows_new, "{label}: {top:?}");
    assert_eq!(top.file.as_deref(), Some(script), "{label}");
    let at = top
        .position
        .unwrap_or_else(|| panic!("{label}: no position: {top:?}"));
    assert_eq!((at.line, at.column), (line, column), "{label}");
    assert!(sites.len() > 1, "{label}: only the constructor's frame");
}
