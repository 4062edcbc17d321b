//! The JSON of a decoded value ([`Json`]): the schema of `docs/values.md`, written from the
//! heap's typed [`Value`] tree. The heap model says what a value is; how scripts see it is
//! decided here, with the rest of the CLI's JSON.
//!
//! A value is one JSON object: `type` and `address`, then the keys of its kind, then `map`,
//! `error` and `truncated`; keys with nothing to say are left out. Whatever the kind, keys come
//! in one order, the order scripts have always seen: `type`, `address`, `constructor`, `value`,
//! `utf16`, `length`, `name`, `properties`, `elements`, `entries`, `description`,
//! `inferred_name`, `script`, `line`, `column`, `source`, `flags`, `context`, `previous`,
//! `target`, `bound_this`, `bound_arguments`, `handler`, `function`, `primitive`, `state`,
//! `result`, `message`, `stack`, `iso`, `element_type`, `byte_offset`, `byte_length`, `bytes`,
//! `buffer`, `getter`, `setter`, `map`, `error`, `truncated`, `redacted`.

use std::fmt::Write as _;

use coroner_heap::{
    iso_date, Element, FunctionDetail, Internal, InternalSlots, JsObject, MapDescription, MapEntry,
    Property, Value, ValueKind, Variable,
};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// A part of the value tree (a [`Value`], a property, a list of them, ...), serialized as the
/// JSON of `docs/values.md`.
pub struct Json<'a, T: ?Sized>(pub &'a T);

impl Serialize for Json<'_, Value> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", type_name(&v.kind))?;
        opt(&mut m, "address", v.address.map(address))?;
        match (&v.kind, &v.redacted) {
            // `value` is what text output shows, so that scripts reading it still print
            // something; `redacted` says it is no string of the heap.
            (ValueKind::String { length, .. }, Some(_)) => {
                m.serialize_entry("value", &v.short())?;
                m.serialize_entry("length", length)?;
            }
            _ => kind_entries(&mut m, &v.kind)?,
        }
        opt(&mut m, "map", v.map.as_ref().map(Json))?;
        opt(&mut m, "error", v.error.as_deref())?;
        if v.truncated {
            m.serialize_entry("truncated", &true)?;
        }
        opt(&mut m, "redacted", v.redacted.as_deref())?;
        m.end()
    }
}

/// A list, as a JSON array of its items.
impl<T> Serialize for Json<'_, [T]>
where
    for<'b> Json<'b, T>: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(Json))
    }
}

/// `{"name", "value", "symbol"?, "accessor"?}`.
impl Serialize for Json<'_, Property> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &p.name)?;
        m.serialize_entry("value", &Json(&p.value))?;
        if p.symbol {
            m.serialize_entry("symbol", &true)?;
        }
        if p.accessor {
            m.serialize_entry("accessor", &true)?;
        }
        m.end()
    }
}

/// A context's variable, as a property: `{"name", "value"}`.
impl Serialize for Json<'_, Variable> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("value", &Json(&self.0.value))?;
        m.end()
    }
}

/// `{"index", "value"}`.
impl Serialize for Json<'_, Element> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("index", &self.0.index)?;
        m.serialize_entry("value", &Json(&self.0.value))?;
        m.end()
    }
}

/// A map's entry: `{"key", "value"}`.
impl Serialize for Json<'_, MapEntry> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("key", &Json(&self.0.key))?;
        m.serialize_entry("value", &Json(&self.0.value))?;
        m.end()
    }
}

/// A set's members, as entries without a value: `[{"key"}]`.
struct SetMembers<'a>(&'a [Value]);

impl Serialize for SetMembers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(SetMember))
    }
}

/// One member of a set: `{"key"}`.
struct SetMember<'a>(&'a Value);

impl Serialize for SetMember<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("key", &Json(self.0))?;
        m.end()
    }
}

/// `inspect -m`: `{"address", "instance_type", "instance_size", "inobject_properties",
/// "own_descriptors", "dictionary", "prototype_map", "elements_kind"?, "prototype"?,
/// "constructor"?}`.
impl Serialize for Json<'_, MapDescription> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("address", &address(d.address))?;
        m.serialize_entry("instance_type", &d.instance_type)?;
        m.serialize_entry("instance_size", &d.instance_size)?;
        m.serialize_entry("inobject_properties", &d.inobject_properties)?;
        m.serialize_entry("own_descriptors", &d.own_descriptors)?;
        m.serialize_entry("dictionary", &d.dictionary)?;
        m.serialize_entry("prototype_map", &d.prototype_map)?;
        opt(&mut m, "elements_kind", d.elements_kind.as_deref())?;
        opt(&mut m, "prototype", d.prototype.as_deref())?;
        opt(&mut m, "constructor", d.constructor.as_deref())?;
        m.end()
    }
}

/// A number as `value`: a JSON number, or the strings `"NaN"`, `"Infinity"` and `"-Infinity"`,
/// which JSON cannot write as numbers (-0 is `-0.0`).
struct Number(f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        if n.is_nan() {
            s.serialize_str("NaN")
        } else if n.is_infinite() {
            s.serialize_str(if n > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            s.serialize_f64(n)
        }
    }
}

/// The `type` of a value.
fn type_name(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Smi(_) => "smi",
        ValueKind::Number(_) => "number",
        ValueKind::String { .. } => "string",
        ValueKind::Boolean(_) => "boolean",
        ValueKind::Null => "null",
        ValueKind::Undefined => "undefined",
        ValueKind::Hole => "hole",
        ValueKind::Symbol { .. } => "symbol",
        ValueKind::BigInt { .. } => "bigint",
        ValueKind::Object { .. } => "object",
        ValueKind::Array { .. } => "array",
        ValueKind::Function { .. } => "function",
        ValueKind::Map { .. } => "map",
        ValueKind::Set { .. } => "set",
        ValueKind::Date { .. } => "date",
        ValueKind::RegExp { .. } => "regexp",
        ValueKind::Error { .. } => "error",
        ValueKind::Promise { .. } => "promise",
        ValueKind::ArrayBuffer { .. } => "arraybuffer",
        ValueKind::TypedArray { .. } => "typedarray",
        ValueKind::Context { .. } => "context",
        ValueKind::Other { .. } => "other",
    }
}

/// The keys of a value's kind, between `address` and `map`, in the schema's order.
fn kind_entries<M: SerializeMap>(m: &mut M, kind: &ValueKind) -> Result<(), M::Error> {
    match kind {
        ValueKind::Smi(i) => m.serialize_entry("value", i),
        ValueKind::Number(n) => m.serialize_entry("value", &Number(*n)),
        ValueKind::String {
            text,
            length,
            utf16,
        } => {
            m.serialize_entry("value", text)?;
            opt(m, "utf16", utf16.as_deref())?;
            m.serialize_entry("length", length)
        }
        ValueKind::Boolean(b) => m.serialize_entry("value", b),
        ValueKind::Null | ValueKind::Undefined | ValueKind::Hole => Ok(()),
        ValueKind::Symbol { description } => opt(m, "description", description.as_deref()),
        ValueKind::BigInt { decimal } => m.serialize_entry("value", decimal),
        ValueKind::Object { object, slots } => {
            constructor(m, object)?;
            members(m, object)?;
            match slots {
                Some(InternalSlots::Proxy { target, handler }) => {
                    m.serialize_entry("target", &Json(&**target))?;
                    m.serialize_entry("handler", &Json(&**handler))
                }
                Some(InternalSlots::Primitive(primitive)) => {
                    m.serialize_entry("primitive", &Json(&**primitive))
                }
                Some(InternalSlots::Generator {
                    function,
                    state,
                    context,
                }) => {
                    m.serialize_entry("context", &Json(&**context))?;
                    m.serialize_entry("function", &Json(&**function))?;
                    m.serialize_entry("state", state.name())
                }
                None => Ok(()),
            }
        }
        ValueKind::Array { object, length } => {
            constructor(m, object)?;
            m.serialize_entry("length", length)?;
            members(m, object)
        }
        ValueKind::Function {
            object,
            name,
            detail,
        } => {
            constructor(m, object)?;
            m.serialize_entry("name", name)?;
            members(m, object)?;
            match detail {
                Some(FunctionDetail::Closure {
                    inferred_name,
                    script,
                    position,
                    source,
                    context,
                }) => {
                    opt(m, "inferred_name", inferred_name.as_deref())?;
                    opt(m, "script", script.as_deref())?;
                    if let Some(p) = position {
                        m.serialize_entry("line", &p.line)?;
                        m.serialize_entry("column", &p.column)?;
                    }
                    opt(m, "source", source.as_deref())?;
                    m.serialize_entry("context", &Json(&**context))
                }
                Some(FunctionDetail::Bound {
                    target,
                    this,
                    arguments,
                }) => {
                    m.serialize_entry("target", &Json(&**target))?;
                    m.serialize_entry("bound_this", &Json(&**this))?;
                    m.serialize_entry("bound_arguments", &Json(arguments.as_slice()))
                }
                None => Ok(()),
            }
        }
        ValueKind::Map {
            object,
            size,
            entries,
        } => {
            constructor(m, object)?;
            m.serialize_entry("length", size)?;
            members(m, object)?;
            opt(m, "entries", entries.as_deref().map(Json))
        }
        ValueKind::Set {
            object,
            size,
            members: set,
        } => {
            constructor(m, object)?;
            m.serialize_entry("length", size)?;
            members(m, object)?;
            opt(m, "entries", set.as_deref().map(SetMembers))
        }
        ValueKind::Date { object, time } => {
            constructor(m, object)?;
            opt(m, "value", time.map(Number))?;
            members(m, object)?;
            opt(m, "iso", time.and_then(iso_date))
        }
        ValueKind::RegExp {
            object,
            source,
            flags,
        } => {
            constructor(m, object)?;
            members(m, object)?;
            opt(m, "source", source.as_deref())?;
            opt(m, "flags", flags.as_deref())
        }
        ValueKind::Error {
            object,
            message,
            stack,
            call_sites,
        } => {
            constructor(m, object)?;
            members(m, object)?;
            opt(m, "message", message.as_deref())?;
            opt(m, "stack", stack.as_deref())?;
            let sites: Option<Vec<CallSiteJson>> = call_sites
                .as_ref()
                .map(|s| s.iter().map(CallSiteJson::from).collect());
            opt(m, "call_sites", sites.as_ref())
        }
        ValueKind::Promise { object, state } => {
            constructor(m, object)?;
            members(m, object)?;
            if let Some(state) = state {
                m.serialize_entry("state", state.name())?;
                opt(m, "result", state.result().map(Json))?;
            }
            Ok(())
        }
        ValueKind::ArrayBuffer {
            object,
            byte_length,
            bytes,
        } => {
            constructor(m, object)?;
            opt(m, "length", *byte_length)?;
            members(m, object)?;
            opt(m, "byte_length", *byte_length)?;
            opt(m, "bytes", bytes.as_deref().map(hex))
        }
        ValueKind::TypedArray { object, view } => {
            constructor(m, object)?;
            opt(m, "length", view.as_ref().and_then(|v| v.length))?;
            members(m, object)?;
            if let Some(v) = view {
                opt(m, "element_type", v.element_type.as_deref())?;
                m.serialize_entry("byte_offset", &v.byte_offset)?;
                m.serialize_entry("byte_length", &v.byte_length)?;
                opt(m, "bytes", v.bytes.as_deref().map(hex))?;
                m.serialize_entry("buffer", &Json(&*v.buffer))?;
            }
            Ok(())
        }
        ValueKind::Context {
            variables,
            previous,
        } => {
            opt(m, "properties", variables.as_deref().map(Json))?;
            opt(m, "previous", previous.as_deref().map(Json))
        }
        ValueKind::Other { name, internal } => {
            opt(m, "name", name.as_deref())?;
            match internal {
                Some(Internal::SharedFunctionInfo { debug_name, script }) => {
                    m.serialize_entry("inferred_name", debug_name)?;
                    opt(m, "script", script.as_deref())
                }
                Some(Internal::Script { name }) => opt(m, "script", name.as_deref()),
                Some(Internal::AccessorPair { getter, setter }) => {
                    opt(m, "getter", getter.as_deref().map(Json))?;
                    opt(m, "setter", setter.as_deref().map(Json))
                }
                None => Ok(()),
            }
        }
    }
}

/// A JS object's `constructor`.
fn constructor<M: SerializeMap>(m: &mut M, object: &JsObject) -> Result<(), M::Error> {
    opt(m, "constructor", object.constructor.as_deref())
}

/// A JS object's `properties` and `elements`.
fn members<M: SerializeMap>(m: &mut M, object: &JsObject) -> Result<(), M::Error> {
    opt(m, "properties", object.properties.as_deref().map(Json))?;
    opt(m, "elements", object.elements.as_deref().map(Json))
}

/// `key: value` when there is a value.
fn opt<M: SerializeMap, T: Serialize>(
    m: &mut M,
    key: &'static str,
    value: Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => m.serialize_entry(key, &v),
        None => Ok(()),
    }
}

/// An address as the schema writes it: `"0x1a4494d4fbc8"`.
fn address(a: u64) -> String {
    format!("{a:#x}")
}

/// Bytes as lowercase hex: `"627566"`.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use coroner_heap::{GeneratorState, LineColumn, PromiseState, View};

    use super::*;

    fn json(v: &Value) -> String {
        serde_json::to_string(&Json(v)).expect("serializes")
    }

    fn object(constructor: &str) -> JsObject {
        JsObject {
            constructor: Some(constructor.into()),
            ..JsObject::default()
        }
    }

    fn smi(n: i64) -> Value {
        Value::of(ValueKind::Smi(n))
    }

    #[test]
    fn numbers_json_cannot_write_are_strings() {
        let number = |n: f64| json(&Value::of(ValueKind::Number(n)));
        assert_eq!(number(f64::NAN), r#"{"type":"number","value":"NaN"}"#);
        assert_eq!(
            number(f64::NEG_INFINITY),
            r#"{"type":"number","value":"-Infinity"}"#
        );
        assert_eq!(number(-0.0), r#"{"type":"number","value":-0.0}"#);
        assert_eq!(
            number(2147483648.0),
            r#"{"type":"number","value":2147483648.0}"#
        );
        assert_eq!(json(&smi(-7)), r#"{"type":"smi","value":-7}"#);
    }

    #[test]
    fn common_keys_frame_the_kind() {
        let s = Value {
            truncated: true,
            error: Some("bad".into()),
            ..Value::at(
                0x10,
                ValueKind::String {
                    text: "a\u{fffd}".into(),
                    length: 40,
                    utf16: Some(vec![0x61, 0xd800]),
                },
            )
        };
        assert_eq!(
            json(&s),
            r#"{"type":"string","address":"0x10","value":"a�","utf16":[97,55296],"length":40,"error":"bad","truncated":true}"#
        );
        let map = MapDescription {
            address: 0x20,
            instance_type: "HEAP_NUMBER_TYPE".into(),
            instance_size: 16,
            inobject_properties: 0,
            own_descriptors: 0,
            dictionary: false,
            prototype_map: false,
            elements_kind: None,
            prototype: Some("null".into()),
            constructor: None,
        };
        let n = Value {
            map: Some(map),
            ..Value::at(0x30, ValueKind::Number(1.5))
        };
        assert_eq!(
            json(&n),
            r#"{"type":"number","address":"0x30","value":1.5,"map":{"address":"0x20","instance_type":"HEAP_NUMBER_TYPE","instance_size":16,"inobject_properties":0,"own_descriptors":0,"dictionary":false,"prototype_map":false,"prototype":"null"}}"#
        );
        assert_eq!(
            json(&Value::error(None, "no heap object")),
            r#"{"type":"other","error":"no heap object"}"#
        );
    }

    #[test]
    fn objects_list_properties_then_their_slots() {
        let mut o = object("Walrus");
        o.properties = Some(vec![
            Property {
                name: "Symbol(k)".into(),
                value: smi(1),
                symbol: true,
                accessor: false,
            },
            Property {
                name: "x".into(),
                value: Value::at(
                    0x40,
                    ValueKind::Other {
                        name: Some("ACCESSOR_PAIR_TYPE".into()),
                        internal: Some(Internal::AccessorPair {
                            getter: None,
                            setter: Some(Box::new(smi(2))),
                        }),
                    },
                ),
                symbol: false,
                accessor: true,
            },
        ]);
        o.elements = Some(vec![Element {
            index: 3,
            value: Value::of(ValueKind::Hole),
        }]);
        let generator = Value::at(
            0x50,
            ValueKind::Object {
                object: o,
                slots: Some(InternalSlots::Generator {
                    function: Box::new(smi(4)),
                    state: GeneratorState::Suspended,
                    context: Box::new(smi(5)),
                }),
            },
        );
        assert_eq!(
            json(&generator),
            concat!(
                r#"{"type":"object","address":"0x50","constructor":"Walrus","#,
                r#""properties":[{"name":"Symbol(k)","value":{"type":"smi","value":1},"symbol":true},"#,
                r#"{"name":"x","value":{"type":"other","address":"0x40","name":"ACCESSOR_PAIR_TYPE","#,
                r#""setter":{"type":"smi","value":2}},"accessor":true}],"#,
                r#""elements":[{"index":3,"value":{"type":"hole"}}],"#,
                r#""context":{"type":"smi","value":5},"function":{"type":"smi","value":4},"#,
                r#""state":"suspended"}"#
            )
        );
        let proxy = Value::of(ValueKind::Object {
            object: object("Proxy"),
            slots: Some(InternalSlots::Proxy {
                target: Box::new(smi(1)),
                handler: Box::new(smi(2)),
            }),
        });
        assert_eq!(
            json(&proxy),
            r#"{"type":"object","constructor":"Proxy","target":{"type":"smi","value":1},"handler":{"type":"smi","value":2}}"#
        );
    }

    #[test]
    fn functions_collections_and_views() {
        let closure = Value::of(ValueKind::Function {
            object: object("Function"),
            name: String::new(),
            detail: Some(FunctionDetail::Closure {
                inferred_name: Some("o.f".into()),
                script: Some("/s.js".into()),
                position: Some(LineColumn { line: 3, column: 9 }),
                source: None,
                context: Box::new(Value::of(ValueKind::Context {
                    variables: None,
                    previous: None,
                })),
            }),
        });
        assert_eq!(
            json(&closure),
            r#"{"type":"function","constructor":"Function","name":"","inferred_name":"o.f","script":"/s.js","line":3,"column":9,"context":{"type":"context"}}"#
        );
        let bound = Value::of(ValueKind::Function {
            object: object("Function"),
            name: "bound f".into(),
            detail: Some(FunctionDetail::Bound {
                target: Box::new(smi(1)),
                this: Box::new(Value::of(ValueKind::Undefined)),
                arguments: vec![smi(2)],
            }),
        });
        assert_eq!(
            json(&bound),
            r#"{"type":"function","constructor":"Function","name":"bound f","target":{"type":"smi","value":1},"bound_this":{"type":"undefined"},"bound_arguments":[{"type":"smi","value":2}]}"#
        );
        let set = Value::of(ValueKind::Set {
            object: object("Set"),
            size: 2,
            members: Some(vec![smi(1)]),
        });
        assert_eq!(
            json(&Value {
                truncated: true,
                ..set
            }),
            r#"{"type":"set","constructor":"Set","length":2,"entries":[{"key":{"type":"smi","value":1}}],"truncated":true}"#
        );
        let promise = Value::of(ValueKind::Promise {
            object: object("Promise"),
            state: Some(PromiseState::Rejected(Box::new(smi(1)))),
        });
        assert_eq!(
            json(&promise),
            r#"{"type":"promise","constructor":"Promise","state":"rejected","result":{"type":"smi","value":1}}"#
        );
        let date = Value::of(ValueKind::Date {
            object: object("Date"),
            time: Some(0.0),
        });
        assert_eq!(
            json(&date),
            r#"{"type":"date","constructor":"Date","value":0.0,"iso":"1970-01-01T00:00:00.000Z"}"#
        );
        let view = Value::of(ValueKind::TypedArray {
            object: object("DataView"),
            view: Some(View {
                element_type: None,
                length: None,
                byte_offset: 4,
                byte_length: 2,
                bytes: Some(vec![0x0a, 0xff]),
                buffer: Box::new(smi(0)),
            }),
        });
        assert_eq!(
            json(&view),
            r#"{"type":"typedarray","constructor":"DataView","byte_offset":4,"byte_length":2,"bytes":"0aff","buffer":{"type":"smi","value":0}}"#
        );
        let buffer = Value::of(ValueKind::ArrayBuffer {
            object: object("ArrayBuffer"),
            byte_length: Some(2),
            bytes: Some(vec![1, 2]),
        });
        assert_eq!(
            json(&buffer),
            r#"{"type":"arraybuffer","constructor":"ArrayBuffer","length":2,"byte_length":2,"bytes":"0102"}"#
        );
    }
}

/// A captured call site: `{"function", "file", "line", "column", "constructor", "async"}`
/// (`function`, `file`, `line` and `column` null when unknown).
#[derive(Debug, serde::Serialize)]
pub struct CallSiteJson {
    function: Option<String>,
    file: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
    constructor: bool,
    #[serde(rename = "async")]
    is_async: bool,
}

impl From<&coroner_heap::CallSite> for CallSiteJson {
    fn from(s: &coroner_heap::CallSite) -> CallSiteJson {
        CallSiteJson {
            function: s.function.clone(),
            file: s.file.clone(),
            line: s.position.map(|p| p.line),
            column: s.position.map(|p| p.column),
            constructor: s.constructor,
            is_async: s.is_async,
        }
    }
}
