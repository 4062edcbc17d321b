//! What a map says about its objects, decided once per map and cached ([`MapFacts`]): the
//! object's [`Class`], the name the census files it under, and the constructor name JS would
//! see.
//!
//! **Census names.** JS objects are named the way V8's own heap snapshots name them
//! (`JSReceiver::GetConstructorName`): an object made by its own constructor (the map's
//! `new_target_is_base` bit, not a prototype map) takes the name of the constructor its map
//! leads to (following `constructor_or_back_pointer` through the transition tree to the
//! function: any type of the JS function range, so ES class constructors, which have their own
//! instance type since V8 11, count). Otherwise — subclass instances created through
//! `super()`, whose maps lead to the base class, and objects whose constructor is `Object` —
//! the prototype chain decides: the first `Symbol.toStringTag` data property, or the first
//! `constructor` data property of a prototype. What is left is named by its instance type
//! (`Object`, `Array`, `Map`, ...). Everything that is not a JS object gets a bracketed kind
//! name: `(String)`, `(Array)`, `(Function)`, `(BoundFunction)`, `(Context)`, `(Number)`,
//! `(Symbol)`, `(BigInt)`, and `(internal: FixedArray)` style names for V8's internals.
//!
//! **Constructor names** (as `inspect` shows them) are what JS sees: the name of the first
//! function held by an own `constructor` data property along the prototype chain (`Buffer` for
//! Node's `FastBuffer`s, `Function` for functions), `Object` when there is none, `Proxy` for
//! proxies.

use std::sync::{Arc, OnceLock};

use coroner_v8::{MapInfo, PageKind};

use crate::model::{Class, HeapModel};
use crate::properties::{Key, Location};

/// Most maps followed through `constructor_or_back_pointer` (transition trees are shallow).
const BACK_POINTER_STEPS: u32 = 4096;
/// Most prototypes followed up a prototype chain.
const PROTOTYPE_STEPS: u32 = 256;

/// What a map says about its objects.
#[derive(Debug)]
pub struct MapFacts {
    /// The map's address.
    pub addr: u64,
    /// Its header fields (`None` when the map could not be read).
    pub info: Option<MapInfo>,
    /// The class of its objects.
    pub class: Class,
    /// The name the census lists its objects under.
    pub census_name: Arc<str>,
    /// The constructor name JS would see, for JS objects.
    pub constructor: Option<Arc<str>>,
    /// Whether the census hides its objects unless asked for every type (V8 internals, free
    /// space, oddballs).
    pub internal: bool,
    /// The map of an object used as a prototype.
    pub is_prototype_map: bool,
    /// Its objects keep their properties in a dictionary (each object its own), not in the
    /// map's descriptors.
    pub dictionary_properties: bool,
    /// The census name of some objects of this map is their own: an own `Symbol.toStringTag`
    /// data property names them (V8 does so for `console`, `Atomics`, `Math`, ...). Use
    /// [`HeapModel::census_name_of`] for the objects of such maps.
    pub per_object_name: bool,
    signature: OnceLock<Option<Arc<str>>>,
}

impl MapFacts {
    /// The own property names of its objects, in order, as `{a, b}` (fast-mode maps only;
    /// `None` for dictionary-mode maps, whose objects each have their own).
    pub fn signature(&self, model: &HeapModel<'_>) -> Option<Arc<str>> {
        self.signature
            .get_or_init(|| {
                if self.info.is_none() || self.dictionary_properties {
                    return None;
                }
                let descriptors = model.descriptors(self.addr);
                let names: Vec<String> = match &*descriptors {
                    Ok(d) => d
                        .iter()
                        .filter(|d| !d.key.is_internal())
                        .map(|d| d.key.display())
                        .collect(),
                    Err(_) => return None,
                };
                Some(Arc::from(signature_text(&names)))
            })
            .clone()
    }
}

/// `{a, b, c}`.
pub(crate) fn signature_text(names: &[String]) -> String {
    format!("{{{}}}", names.join(", "))
}

impl HeapModel<'_> {
    /// The facts of the map at `map` (decided once, then cached).
    pub fn map_facts(&self, map: u64) -> Arc<MapFacts> {
        self.facts.get_or(map, || self.decide(map))
    }

    fn decide(&self, map: u64) -> MapFacts {
        let info = self.map_info(map).ok();
        let Some(info) = info else {
            return MapFacts {
                addr: map,
                info: None,
                class: Class::Internal,
                census_name: Arc::from("(internal: unreadable map)"),
                constructor: None,
                internal: true,
                is_prototype_map: false,
                dictionary_properties: false,
                per_object_name: false,
                signature: OnceLock::new(),
            };
        };
        let layout = self.layout();
        let class = self.class_of(info.instance_type);
        let is_prototype_map = u64::from(info.bit_field3) & layout.map.is_prototype_map != 0;
        let internal = matches!(
            class,
            Class::Oddball
                | Class::Hole
                | Class::Free
                | Class::Internal
                | Class::SharedFunctionInfo
                | Class::Script
        );
        let mut per_object_name = false;
        let census_name = match class {
            Class::String => "(String)".to_string(),
            Class::HeapNumber => "(Number)".to_string(),
            Class::Symbol => "(Symbol)".to_string(),
            Class::BigInt => "(BigInt)".to_string(),
            Class::Function => "(Function)".to_string(),
            Class::BoundFunction => "(BoundFunction)".to_string(),
            Class::Context => "(Context)".to_string(),
            Class::Proxy => "Proxy".to_string(),
            Class::Array => {
                let (name, _) = self.v8_constructor_name(map, &info, class);
                if name == "Array" {
                    "(Array)".to_string()
                } else {
                    name
                }
            }
            c if c.is_receiver() => {
                let (name, per_object) = self.v8_constructor_name(map, &info, class);
                per_object_name = per_object;
                name
            }
            _ => format!("(internal: {})", self.internal_name(info.instance_type)),
        };
        let constructor = class
            .is_receiver()
            .then(|| Arc::from(self.js_constructor_name(map, class)));
        MapFacts {
            addr: map,
            info: Some(info),
            class,
            census_name: Arc::from(census_name),
            constructor,
            internal,
            is_prototype_map,
            dictionary_properties: info.is_dictionary_map(layout),
            per_object_name,
            signature: OnceLock::new(),
        }
    }

    /// The census name of the object at `addr`: its map's, or, for maps whose objects may name
    /// themselves ([`MapFacts::per_object_name`]), its own `Symbol.toStringTag`.
    pub fn census_name_of(&self, addr: u64, facts: &MapFacts) -> Arc<str> {
        if facts.per_object_name {
            if let Some(tag) = self.own_to_string_tag(addr) {
                return Arc::from(tag);
            }
        }
        Arc::clone(&facts.census_name)
    }

    /// The tagged `Symbol.toStringTag` (a well-known symbol of the read-only heap), found once.
    fn to_string_tag_symbol(&self) -> Option<u64> {
        *self.to_string_tag.get_or_init(|| {
            let layout = self.layout();
            let heap = self.heap();
            let pages = heap.pages();
            let ro = pages.iter().filter(|p| p.kind == PageKind::ReadOnly);
            let rest = pages.iter().filter(|p| p.kind != PageKind::ReadOnly);
            for page in ro.chain(rest) {
                for o in heap.walk(page) {
                    if o.instance_type != layout.types.symbol {
                        continue;
                    }
                    let word = layout.tagging.tag(o.addr);
                    if self.key(word).is_ok_and(|k| is_to_string_tag(&k)) {
                        return Some(word);
                    }
                }
            }
            None
        })
    }

    /// The object's own `Symbol.toStringTag` data property, when it is a string: compared by
    /// key word, without decoding the other keys.
    fn own_to_string_tag(&self, addr: u64) -> Option<String> {
        let symbol = self.to_string_tag_symbol()?;
        let layout = self.layout();
        let h = self.header(addr).ok()?;
        let info = self.map_info(h.map).ok()?;
        let value = if info.is_dictionary_map(layout) {
            let props = self.field(addr, layout.js_object.properties_or_hash).ok()?;
            self.dictionary_value(props, symbol)?
        } else {
            let descriptors = self.descriptors(h.map);
            let d = (*descriptors).as_ref().ok()?;
            let d = d.iter().find(|d| !d.accessor && is_to_string_tag(&d.key))?;
            match d.location {
                Location::Descriptor(w) => w,
                Location::InObject(off) => self.field(addr, off).ok()?,
                Location::OutOfObject(_) => self.own_data_property(addr, is_to_string_tag)?,
            }
        };
        self.string_text(value, 1024)
    }

    /// `FixedArray` for `FIXED_ARRAY_TYPE`.
    fn internal_name(&self, t: u16) -> String {
        match self.layout().types.name(t) {
            Some(name) => camel_case(name.strip_suffix("_TYPE").unwrap_or(name)),
            None => format!("type {t}"),
        }
    }

    /// The word a map's `constructor_or_back_pointer` chain ends at (the constructor function,
    /// a `FunctionTemplateInfo`, null, ...).
    pub(crate) fn map_constructor(&self, map: u64) -> Option<u64> {
        let layout = self.layout();
        let mut at = map;
        for _ in 0..BACK_POINTER_STEPS {
            let w = self
                .field(at, layout.map.constructor_or_back_pointer)
                .ok()?;
            match self.class_of_word(w) {
                Some((h, _)) if h.instance_type == layout.types.map => at = h.addr,
                _ => return Some(w),
            }
        }
        None
    }

    /// The debug name of the function a tagged word points to, when it is a JS function.
    fn function_word_name(&self, word: u64, debug: bool) -> Option<String> {
        match self.class_of_word(word) {
            Some((h, Class::Function)) => {
                let sfi = self.function_shared(h.addr).ok()?;
                let info = self.shared_info(sfi).ok()?;
                Some(if debug {
                    info.debug_name().to_string()
                } else {
                    info.name
                })
            }
            _ => None,
        }
    }

    /// The prototype of the objects of `map` (a JS receiver), when it has one.
    fn map_prototype(&self, map: u64) -> Option<u64> {
        let w = self.field(map, self.layout().map.prototype).ok()?;
        match self.class_of_word(w) {
            Some((h, class)) if class.is_receiver() => Some(h.addr),
            _ => None,
        }
    }

    /// The prototype chain of the objects of `map`, from their prototype up (bounded, stops at a
    /// repeat or a proxy).
    pub(crate) fn prototype_chain(&self, map: u64) -> Vec<u64> {
        let mut chain = Vec::new();
        let mut next = self.map_prototype(map);
        while let Some(p) = next {
            if chain.contains(&p) || chain.len() as u32 >= PROTOTYPE_STEPS {
                break;
            }
            chain.push(p);
            next = match self.header(p) {
                Ok(h) if self.class_of(h.instance_type) != Class::Proxy => {
                    self.map_prototype(h.map)
                }
                _ => None,
            };
        }
        chain
    }

    /// The name V8's heap snapshot gives the objects of `map` (see the module documentation),
    /// and whether an own `Symbol.toStringTag` of an object could name it instead.
    fn v8_constructor_name(&self, map: u64, info: &MapInfo, class: Class) -> (String, bool) {
        let layout = self.layout();
        let by_own_constructor = u64::from(info.bit_field2) & layout.map.new_target_is_base != 0
            && u64::from(info.bit_field3) & layout.map.is_prototype_map == 0;
        if by_own_constructor {
            if let Some(name) = self
                .map_constructor(map)
                .and_then(|w| self.function_word_name(w, true))
            {
                if !name.is_empty() && name != "Object" {
                    return (name, false);
                }
            }
        }
        // The objects' own Symbol.toStringTag: a constant of the map names them all; a field or
        // a dictionary entry names each object (see `census_name_of`).
        if let Some(tag) = self.constant_to_string_tag(map) {
            return (tag, false);
        }
        let per_object = info.is_dictionary_map(layout)
            || match &*self.descriptors(map) {
                Ok(d) => d.iter().any(|d| is_to_string_tag(&d.key)),
                Err(_) => false,
            };
        for proto in self.prototype_chain(map) {
            if let Some(tag) = self
                .own_data_property(proto, is_to_string_tag)
                .and_then(|w| self.string_text(w, 1024))
            {
                return (tag, per_object);
            }
            if let Some(name) = self
                .own_data_property(proto, |k| k.is("constructor"))
                .and_then(|w| self.function_word_name(w, true))
            {
                if !name.is_empty() && name != "Object" {
                    return (name, per_object);
                }
            }
        }
        (self.class_name(info, class), per_object)
    }

    /// A `Symbol.toStringTag` constant among the map's own descriptors.
    fn constant_to_string_tag(&self, map: u64) -> Option<String> {
        let descriptors = self.descriptors(map);
        let d = (*descriptors).as_ref().ok()?;
        d.iter().find_map(|d| match d.location {
            Location::Descriptor(w) if !d.accessor && is_to_string_tag(&d.key) => {
                self.string_text(w, 1024)
            }
            _ => None,
        })
    }

    /// V8's class name of an object by its instance type (`JSReceiver::class_name`), the last
    /// resort of census naming.
    fn class_name(&self, info: &MapInfo, class: Class) -> String {
        let layout = self.layout();
        let t = info.instance_type;
        let by_class = match class {
            Class::Function | Class::BoundFunction => Some("Function"),
            Class::Array => Some("Array"),
            Class::ArrayBuffer => Some("ArrayBuffer"),
            Class::Date => Some("Date"),
            Class::Error => Some("Error"),
            Class::Map => Some("Map"),
            Class::Set => Some("Set"),
            Class::WeakMap => Some("WeakMap"),
            Class::WeakSet => Some("WeakSet"),
            Class::Promise => Some("Promise"),
            Class::RegExp => Some("RegExp"),
            Class::DataView => Some("DataView"),
            Class::Generator => Some("Generator"),
            Class::Proxy => Some("Proxy"),
            _ => None,
        };
        if let Some(name) = by_class {
            return name.to_string();
        }
        if class == Class::TypedArray {
            let kind = info.elements_kind(layout);
            if let Some(name) = layout.elements_kinds.name(kind) {
                if let Some(n) = typed_array_name(name) {
                    return n;
                }
            }
            return "TypedArray".to_string();
        }
        let by_type = match layout.types.name(t) {
            Some("JS_ARGUMENTS_OBJECT_TYPE") => "Arguments",
            Some("JS_ARRAY_ITERATOR_TYPE") => "Array Iterator",
            Some(
                "JS_MAP_KEY_ITERATOR_TYPE"
                | "JS_MAP_KEY_VALUE_ITERATOR_TYPE"
                | "JS_MAP_VALUE_ITERATOR_TYPE",
            ) => "Map Iterator",
            Some("JS_SET_KEY_VALUE_ITERATOR_TYPE" | "JS_SET_VALUE_ITERATOR_TYPE") => "Set Iterator",
            Some("JS_STRING_ITERATOR_TYPE") => "String Iterator",
            Some("JS_GLOBAL_OBJECT_TYPE") => "global",
            Some("JS_WEAK_REF_TYPE") => "WeakRef",
            Some("JS_FINALIZATION_REGISTRY_TYPE") => "FinalizationRegistry",
            _ => "Object",
        };
        by_type.to_string()
    }

    /// The constructor name JS sees for the objects of `map` (see the module documentation).
    fn js_constructor_name(&self, map: u64, class: Class) -> String {
        if class == Class::Proxy {
            return "Proxy".to_string();
        }
        for proto in self.prototype_chain(map) {
            if let Some(name) = self
                .own_data_property(proto, |k| k.is("constructor"))
                .and_then(|w| self.function_word_name(w, false))
            {
                if !name.is_empty() {
                    return name;
                }
            }
        }
        "Object".to_string()
    }

    /// The object a JS function's `prototype` property holds (through its initial map when it
    /// has one), when the function has a prototype slot and a prototype.
    pub fn function_prototype(&self, function: u64) -> Option<u64> {
        let layout = self.layout();
        let h = self.header(function).ok()?;
        if self.class_of(h.instance_type) != Class::Function {
            return None;
        }
        let at = layout.js_function.prototype_or_initial_map;
        let size = self.map_info(h.map).ok()?.instance_size(layout)?;
        if at + layout.tagging.tagged_size > size {
            return None;
        }
        let w = self.field(function, at).ok()?;
        let (ph, class) = self.class_of_word(w)?;
        if ph.instance_type == layout.types.map {
            return self.map_prototype(ph.addr);
        }
        class.is_receiver().then_some(ph.addr)
    }
}

/// Whether a key is `Symbol.toStringTag`.
fn is_to_string_tag(k: &Key) -> bool {
    matches!(k, Key::Symbol { description: Some(d), well_known: true, .. } if d == "Symbol.toStringTag")
}

/// `Uint8Array` for `UINT8_ELEMENTS`, `BigInt64Array` for `BIGINT64_ELEMENTS`.
pub(crate) fn typed_array_name(elements_kind: &str) -> Option<String> {
    let base = elements_kind
        .strip_prefix("RAB_GSAB_")
        .unwrap_or(elements_kind)
        .strip_suffix("_ELEMENTS")?;
    let name = match base {
        "UINT8" => "Uint8",
        "INT8" => "Int8",
        "UINT16" => "Uint16",
        "INT16" => "Int16",
        "UINT32" => "Uint32",
        "INT32" => "Int32",
        "FLOAT16" => "Float16",
        "FLOAT32" => "Float32",
        "FLOAT64" => "Float64",
        "UINT8_CLAMPED" => "Uint8Clamped",
        "BIGUINT64" => "BigUint64",
        "BIGINT64" => "BigInt64",
        _ => return None,
    };
    Some(format!("{name}Array"))
}

/// `BYTES_PER_ELEMENT` of the typed array of an elements kind (`FLOAT64_ELEMENTS` -> 8): the
/// JS-defined size of its element type.
pub(crate) fn typed_array_element_size(elements_kind: &str) -> Option<u64> {
    let base = elements_kind
        .strip_prefix("RAB_GSAB_")
        .unwrap_or(elements_kind)
        .strip_suffix("_ELEMENTS")?;
    Some(match base {
        "UINT8" | "INT8" | "UINT8_CLAMPED" => 1,
        "UINT16" | "INT16" | "FLOAT16" => 2,
        "UINT32" | "INT32" | "FLOAT32" => 4,
        "FLOAT64" | "BIGUINT64" | "BIGINT64" => 8,
        _ => return None,
    })
}

/// `FixedArray` for `FIXED_ARRAY`.
fn camel_case(upper: &str) -> String {
    upper
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => {
                    first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
                }
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_v8_type_names() {
        assert_eq!(camel_case("FIXED_ARRAY"), "FixedArray");
        assert_eq!(camel_case("SHARED_FUNCTION_INFO"), "SharedFunctionInfo");
        assert_eq!(
            typed_array_name("UINT8_CLAMPED_ELEMENTS").as_deref(),
            Some("Uint8ClampedArray")
        );
        assert_eq!(typed_array_name("PACKED_ELEMENTS"), None);
        assert_eq!(signature_text(&["a".into(), "b".into()]), "{a, b}");
    }
}
