//! The layout's object facts (offsets and type numbers the supplement or the metadata gives) hold
//! on every object of every fixture core: each field points where V8 says it does.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use coroner_v8::layout::NumberEncoding;
use coroner_v8::size::{NamedRule, SizeRule};
use coroner_v8::types::StringRepresentation;
use coroner_v8::{Heap, Tagged};
use support::{objects, opened, type_of, word};

/// What the keys of a hash table's used entries are (an empty entry's is undefined, a deleted
/// one's the hole).
struct Keys {
    /// Numbers (a Smi or a HeapNumber).
    number: bool,
    /// `PropertyCell`s (a `GlobalDictionary`'s entries), rather than names.
    cell: bool,
}

/// A kind of hash table whose entries the layout describes.
struct HashTable {
    instance_type: u16,
    prefix_size: u64,
    entry_size: u64,
    keys: Keys,
    /// Index within the entry of a Smi every used entry keeps (details, or a local's index).
    smi_beside: Option<u64>,
    /// The core must have one with a used entry.
    required: bool,
}

/// The hash tables whose entries [`check_fields`] checks: the dictionaries of properties and
/// elements, the global dictionary, and the name-to-index tables of scope infos. Every core has
/// them in use but for dictionary elements, which the objects scenario makes (its sparse array).
fn hash_tables(layout: &coroner_v8::Layout, objects_scenario: bool) -> Vec<HashTable> {
    let h = &layout.hash_table;
    let types = &layout.types;
    let names = Keys {
        number: false,
        cell: false,
    };
    let mut tables = vec![
        HashTable {
            instance_type: types.name_dictionary,
            prefix_size: h.name_dictionary_prefix_size,
            entry_size: h.name_dictionary_entry_size,
            keys: names,
            smi_beside: Some(h.dictionary_details_index),
            required: true,
        },
        HashTable {
            instance_type: types.number_dictionary,
            prefix_size: h.number_dictionary_prefix_size,
            entry_size: h.number_dictionary_entry_size,
            keys: Keys {
                number: true,
                cell: false,
            },
            smi_beside: Some(h.dictionary_details_index),
            required: objects_scenario,
        },
        HashTable {
            instance_type: types.global_dictionary,
            prefix_size: h.global_dictionary_prefix_size,
            entry_size: h.global_dictionary_entry_size,
            keys: Keys {
                number: false,
                cell: true,
            },
            smi_beside: None,
            required: true,
        },
    ];
    if let Some(t) = types.number("NAME_TO_INDEX_HASH_TABLE_TYPE") {
        tables.push(HashTable {
            instance_type: t,
            prefix_size: h.object_hash_table_prefix_size,
            entry_size: h.object_hash_table_entry_size,
            keys: Keys {
                number: false,
                cell: false,
            },
            smi_beside: Some(h.object_hash_table_value_index),
            required: true,
        });
    }
    tables
}

/// Checks one fixture's objects (of the objects scenario or not); returns what does not hold.
fn check_fields(heap: &Heap<'_>, objects_scenario: bool) -> Vec<String> {
    let layout = heap.layout();
    let types = &layout.types;
    let tagging = &layout.tagging;
    let mut bad = Vec::new();
    let mut weak_refs = 0u64;
    let mut native_contexts = 0usize;
    let name = |t: Option<u16>| {
        t.and_then(|t| types.name(t))
            .unwrap_or("a non-object")
            .to_string()
    };
    let strong_descriptors = types.number("STRONG_DESCRIPTOR_ARRAY_TYPE");
    let debug_info = types.number("DEBUG_INFO_TYPE");
    let enum_cache = types.number("ENUM_CACHE_TYPE");
    let code_like: Vec<u16> = ["CODE_TYPE", "CODE_DATA_CONTAINER_TYPE"]
        .iter()
        .filter_map(|n| types.number(n))
        .collect();
    let byte_arrays: Vec<u16> = ["BYTE_ARRAY_TYPE", "TRUSTED_BYTE_ARRAY_TYPE"]
        .iter()
        .filter_map(|n| types.number(n))
        .collect();
    let is_string = |v: u64| type_of(heap, v).is_some_and(|x| types.is_string(x));
    let hash_tables = hash_tables(layout, objects_scenario);
    let mut hash_entries: BTreeMap<u16, u64> = BTreeMap::new();
    // Per instance type: objects walked, and pointer fields that point at no object or at one
    // of the wrong type (see below).
    let mut walked: BTreeMap<u16, u64> = BTreeMap::new();
    let mut dangling: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for obj in objects(heap) {
        let t = obj.instance_type;
        *walked.entry(t).or_default() += 1;
        // An unreadable field reads as all ones: no Smi, no object, so every check fails on it.
        let field = |off: u64| heap.memory().read_u64(obj.addr + off).unwrap_or(u64::MAX);
        let mut expect = |what: &str, value: u64, ok: bool| {
            if !ok {
                let text = format!(
                    "{} at {:#x}: {what} is {value:#x} ({})",
                    types.name(t).unwrap_or("?"),
                    obj.addr,
                    name(type_of(heap, value))
                );
                // A pointer field (a strong pointer where one belongs) that points at no
                // object, or at an object of another type: memory a dead object's field still
                // names, freed and reused since (see below).
                if tagging.strong(value).is_some() {
                    dangling.entry(t).or_default().push(text);
                } else {
                    bad.push(text);
                }
            }
        };
        if t == types.js_array {
            let len = field(layout.js_array.length);
            let ok = tagging.smi(len).is_some_and(|n| n >= 0)
                || type_of(heap, len) == Some(types.heap_number);
            expect("length", len, ok);
        } else if t == types.js_map || t == types.js_set {
            let table = field(layout.collections.table);
            let want = if t == types.js_map {
                types.ordered_hash_map
            } else {
                types.ordered_hash_set
            };
            expect("table", table, type_of(heap, table) == Some(want));
        } else if types.is_js_function(t) {
            let shared = field(layout.js_function.shared);
            expect(
                "shared",
                shared,
                type_of(heap, shared) == Some(types.shared_function_info),
            );
            let context = field(layout.js_function.context);
            expect(
                "context",
                context,
                type_of(heap, context).is_some_and(|c| types.is_context(c)),
            );
            if let Some(code) = layout.js_function.code {
                let code = field(code);
                let ok = type_of(heap, code).is_some_and(|c| code_like.contains(&c));
                expect("code", code, ok);
            }
        } else if t == types.map {
            let descriptors = field(layout.map.instance_descriptors);
            let dt = type_of(heap, descriptors);
            let ok =
                dt == Some(types.descriptor_array) || (dt.is_some() && dt == strong_descriptors);
            expect("instance_descriptors", descriptors, ok);
        } else if t == types.shared_function_info {
            let script = field(layout.shared_function_info.script);
            let st = type_of(heap, script);
            let ok = st == Some(types.script)
                || st == Some(types.oddball)
                || (st.is_some() && st == debug_info);
            expect("script", script, ok);
            let name_or_scope = field(layout.shared_function_info.name_or_scope_info);
            let nt = type_of(heap, name_or_scope);
            let ok = tagging.smi(name_or_scope) == Some(0)
                || nt == Some(types.scope_info)
                || nt.is_some_and(|n| types.is_string(n));
            expect("name_or_scope_info", name_or_scope, ok);
        } else if t == types.script {
            let source = field(layout.script.source);
            let ok = is_string(source) || type_of(heap, source) == Some(types.oddball);
            expect("source", source, ok);
            let line_offset = field(layout.script.line_offset);
            expect(
                "line_offset",
                line_offset,
                tagging.smi(line_offset).is_some(),
            );
        } else if t == types.bytecode_array {
            let table = field(layout.bytecode_array.source_position_table);
            let tt = type_of(heap, table);
            let ok = tt.is_some_and(|x| byte_arrays.contains(&x))
                || tt == Some(types.oddball)
                || tt == types.hole;
            expect("source_position_table", table, ok);
        } else if t == types.js_typed_array || t == types.js_data_view {
            let buffer = field(layout.buffers.view_buffer);
            expect(
                "buffer",
                buffer,
                type_of(heap, buffer) == Some(types.js_array_buffer),
            );
        } else if t == types.oddball {
            let to_string = field(layout.oddball.to_string);
            expect("to_string", to_string, is_string(to_string));
            let kind = field(layout.oddball.kind);
            expect("kind", kind, tagging.smi(kind).is_some());
        } else if t == types.descriptor_array || strong_descriptors == Some(t) {
            let d = &layout.descriptor_array;
            let all = heap
                .memory()
                .read_u16(obj.addr + d.number_of_all_descriptors)
                .expect("u16");
            let used = heap
                .memory()
                .read_u16(obj.addr + d.number_of_descriptors)
                .expect("u16");
            expect("number_of_descriptors", u64::from(used), used <= all);
            let cache = field(d.enum_cache);
            let ok = enum_cache.is_some() && type_of(heap, cache) == enum_cache;
            expect("enum_cache", cache, ok);
        } else if let Some(table) = hash_tables.iter().find(|h| h.instance_type == t) {
            // Length = prefix start + prefix + capacity * entry size; each entry's key where the
            // layout says, and what the table keeps beside it (a details Smi, an index Smi).
            let h = &layout.hash_table;
            let element = |i: u64| field(layout.fixed_array.header_size + i * tagging.tagged_size);
            let len = tagging.smi(field(layout.fixed_array.length)).unwrap_or(-1);
            let capacity = tagging.smi(element(h.capacity_index)).unwrap_or(-1);
            let start = h.prefix_start_index + table.prefix_size;
            let ok = capacity > 0 && len == (start + capacity as u64 * table.entry_size) as i64;
            expect("capacity", element(h.capacity_index), ok);
            for e in 0..u64::try_from(capacity).unwrap_or(0) {
                let entry = start + e * table.entry_size;
                let key = element(entry + h.entry_key_index);
                let kt = type_of(heap, key);
                if kt.is_some() && (kt == Some(types.oddball) || kt == types.hole) {
                    // Empty (undefined) or deleted (the hole).
                    continue;
                }
                let key_ok = if table.keys.cell {
                    kt == Some(types.property_cell)
                } else if table.keys.number {
                    tagging.smi(key).is_some() || kt == Some(types.heap_number)
                } else {
                    kt.is_some_and(|k| types.is_string(k) || k == types.symbol)
                };
                expect("entry key", key, key_ok);
                if !key_ok {
                    continue;
                }
                if let Some(at) = table.smi_beside {
                    let smi = element(entry + at);
                    expect("entry details or index", smi, tagging.smi(smi).is_some());
                }
                *hash_entries.entry(t).or_default() += 1;
            }
        } else if types.is_context(t) {
            if t == types.native_context {
                native_contexts += 1;
            }
            let index = layout.context.scope_info_index;
            let scope_info = field(layout.fixed_array.header_size + index * tagging.tagged_size);
            expect(
                "scope_info slot",
                scope_info,
                type_of(heap, scope_info) == Some(types.scope_info),
            );
        } else if t == types.weak_fixed_array
            || t == types.weak_array_list
            || t == types.transition_array
        {
            let header = if t == types.weak_array_list {
                // capacity, length, then the slots.
                layout.fixed_array.header_size + tagging.tagged_size
            } else {
                layout.fixed_array.header_size
            };
            let mut at = header;
            while at < u64::from(obj.size) {
                let slot = field(at);
                let ok = match tagging.decode(slot) {
                    Tagged::Smi(_) | Tagged::Cleared => true,
                    Tagged::Strong(_) => type_of(heap, slot).is_some(),
                    Tagged::Weak(target) => {
                        weak_refs += 1;
                        type_of(heap, tagging.tag(target)).is_some()
                    }
                };
                expect("weak slot", slot, ok);
                at += tagging.tagged_size;
            }
        } else if let Some(shape) = types.string_shape(t) {
            let s = &layout.string;
            match shape.representation {
                StringRepresentation::Cons => {
                    expect("first", field(s.cons_first), is_string(field(s.cons_first)));
                    expect(
                        "second",
                        field(s.cons_second),
                        is_string(field(s.cons_second)),
                    );
                }
                StringRepresentation::Sliced => {
                    expect(
                        "parent",
                        field(s.sliced_parent),
                        is_string(field(s.sliced_parent)),
                    );
                    let offset = field(s.sliced_offset);
                    expect(
                        "offset",
                        offset,
                        tagging.smi(offset).is_some_and(|o| o >= 0),
                    );
                }
                StringRepresentation::Thin => {
                    let actual = field(s.thin_actual);
                    let internalized = type_of(heap, actual)
                        .and_then(|a| types.string_shape(a))
                        .is_some_and(|sh| sh.internalized);
                    expect("actual", actual, internalized);
                }
                StringRepresentation::Seq | StringRepresentation::External => {}
            }
        }
    }
    // A core dumped right after a GC holds the dead objects of pages the sweeper has not
    // reached yet, intact but for fields that point at memory freed and reused since: where no
    // object starts now, or where another object does (seen on 18.20.8 gcore cores: 26 dead,
    // unreferenced maps whose descriptors pointed into another object; 2 whose descriptors
    // pointed at a FixedArray allocated there since). Such fields are allowed of at most 1% of
    // the objects of a type: a wrong offset fails them all.
    for (t, texts) in dangling {
        let n = walked.get(&t).copied().unwrap_or(0);
        if texts.len() as u64 * 100 > n {
            bad.extend(texts);
        }
    }
    if weak_refs == 0 {
        bad.push("no weak reference in any weak array".to_string());
    }
    for table in hash_tables.iter().filter(|h| h.required) {
        if !hash_entries.contains_key(&table.instance_type) {
            bad.push(format!(
                "no entry in any {}",
                name(Some(table.instance_type))
            ));
        }
    }
    if native_contexts < heap.isolates().len() {
        bad.push(format!(
            "{native_contexts} native contexts for {} isolates",
            heap.isolates().len()
        ));
    }
    bad
}

#[test]
fn object_fields_hold_on_every_fixture() {
    let mut failures = Vec::new();
    for o in opened() {
        let bad = check_fields(o.heap(), o.fixture.scenario == "objects");
        let n = bad.len();
        for b in bad.into_iter().take(5) {
            failures.push(format!("{}: {b}", o.label()));
        }
        if n > 5 {
            failures.push(format!("{}: ... {} more", o.label(), n - 5));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The objects scenario's known values are where the layout says: every Walrus name, the Map and
/// Set of three, the sparse array's length, the Date's time, the RegExp's source and flags, the
/// promise's result and the BigInt's digit.
#[test]
fn objects_scenario_values_are_found() {
    let mut checked = 0;
    for o in opened().iter().filter(|o| o.fixture.scenario == "objects") {
        checked += 1;
        let label = o.label();
        let heap = o.heap();
        let layout = heap.layout();
        let types = &layout.types;
        let tagging = &layout.tagging;
        let classes = &o.fixture.expect.classes;
        let walruses = classes.get("Walrus").copied().unwrap_or(0);
        assert!(walruses > 0, "{label}: the scenario has no Walrus");
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut found: BTreeSet<&str> = BTreeSet::new();
        let smi = |w: u64| tagging.smi(w);
        let elements = |table: u64| {
            let addr = tagging.strong(table).expect("a table");
            let index = layout.collections.number_of_elements_index;
            smi(word(
                heap,
                addr + layout.fixed_array.header_size + index * tagging.tagged_size,
            ))
        };
        for obj in objects(heap) {
            let t = obj.instance_type;
            let field = |off: u64| word(heap, obj.addr + off);
            if let Some(s) = seq_string(heap, obj.addr, t) {
                if s.starts_with("walrus-") {
                    names.insert(s);
                }
            } else if t == types.js_map && elements(field(layout.collections.table)) == Some(3) {
                found.insert("map of 3");
            } else if t == types.js_set && elements(field(layout.collections.table)) == Some(3) {
                found.insert("set of 3");
            } else if t == types.js_array && smi(field(layout.js_array.length)) == Some(100_001) {
                found.insert("sparse array");
            } else if t == types.js_date {
                let at = obj.addr + layout.js_misc.date_value;
                let ms = match layout.js_misc.date_value_encoding {
                    NumberEncoding::Float64 => heap.memory().read_f64(at).ok(),
                    NumberEncoding::Tagged => tagging
                        .strong(word(heap, at))
                        .and_then(|n| heap.memory().read_f64(n + layout.heap_number.value).ok()),
                };
                if ms == Some(1_700_000_000_000.0) {
                    found.insert("date");
                }
            } else if t == types.js_reg_exp
                && string_value(heap, field(layout.js_misc.regexp_source)).as_deref()
                    == Some("ab+c")
                && smi(field(layout.js_misc.regexp_flags)) == Some(3)
            {
                found.insert("regexp /ab+c/gi");
            } else if t == types.js_promise
                && string_value(heap, field(layout.js_misc.promise_reactions_or_result)).as_deref()
                    == Some("resolved-value")
            {
                found.insert("resolved promise");
            } else if t == types.big_int {
                // One 64-bit digit right after the header.
                if let Some(NamedRule {
                    rule:
                        SizeRule::Array {
                            header, element, ..
                        },
                    ..
                }) = layout.sizes.rule(t)
                {
                    if u64::from(obj.size) == header + element
                        && field(*header) == 12_345_678_901_234_567_890
                    {
                        found.insert("bigint");
                    }
                }
            }
        }
        let missing: Vec<u64> = (0..walruses)
            .filter(|i| !names.contains(&format!("walrus-{i}")))
            .collect();
        assert!(
            missing.is_empty(),
            "{label}: no string for Walrus {missing:?}"
        );
        for what in [
            "map of 3",
            "set of 3",
            "sparse array",
            "date",
            "regexp /ab+c/gi",
            "resolved promise",
            "bigint",
        ] {
            assert!(found.contains(what), "{label}: {what} not found");
        }
    }
    assert!(checked >= 8, "only {checked} objects fixtures");
}

/// The contents of a sequential string at untagged `addr` (`None` for other representations).
pub fn seq_string(heap: &Heap<'_>, addr: u64, instance_type: u16) -> Option<String> {
    let layout = heap.layout();
    let shape = layout.types.string_shape(instance_type)?;
    if shape.representation != StringRepresentation::Seq {
        return None;
    }
    let len = heap
        .memory()
        .read_i32(addr + layout.string.length)
        .ok()
        .and_then(|l| usize::try_from(l).ok())?;
    let chars = addr + layout.string.seq_chars;
    if shape.one_byte {
        let bytes = heap.memory().bytes(chars, len).ok()?;
        Some(bytes.iter().map(|&b| char::from(b)).collect())
    } else {
        let bytes = heap.memory().bytes(chars, len.checked_mul(2)?).ok()?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(String::from_utf16_lossy(&units))
    }
}

/// The sequential string a tagged `value` points to.
pub fn string_value(heap: &Heap<'_>, value: u64) -> Option<String> {
    let addr = heap.layout().tagging.strong(value)?;
    seq_string(heap, addr, type_of(heap, value)?)
}
