//! The value tree `inspect` produces ([`Value`]), serialisable to the JSON schema of
//! `docs/values.md`, and its one-line short form ([`Value::short`]).
//!
//! A value is `{"type", "address"?, "constructor"?, "value"?, "properties"?, "elements"?,
//! "length"?, ...}`; `type` is one of [`ValueType`]'s names. Keys with nothing to say are left
//! out.

use serde::{Serialize, Serializer};

/// The `type` of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// A small integer.
    Smi,
    /// A heap number.
    Number,
    /// A string.
    String,
    /// `true` / `false`.
    Boolean,
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// The hole (an array hole, an uninitialized binding).
    Hole,
    /// A JS object (plain, class instance, boxed primitive, proxy, generator, API object, ...).
    Object,
    /// A JS array.
    Array,
    /// A function (bound functions too).
    Function,
    /// A `Map` or `WeakMap`.
    Map,
    /// A `Set` or `WeakSet`.
    Set,
    /// A `Date`.
    Date,
    /// A `RegExp`.
    Regexp,
    /// An `Error`.
    Error,
    /// A `Promise`.
    Promise,
    /// An `ArrayBuffer`.
    Arraybuffer,
    /// A typed array, a `DataView`, or a Node `Buffer`.
    Typedarray,
    /// A symbol.
    Symbol,
    /// A BigInt.
    Bigint,
    /// A context (the variables of a closure scope).
    Context,
    /// Anything else: V8 internals, and what could not be decoded.
    Other,
}

/// A primitive carried by `value`.
#[derive(Debug, Clone, PartialEq)]
pub enum Primitive {
    /// An integer (Smis).
    Int(i64),
    /// A number. NaN and the infinities are written as the strings `"NaN"`, `"Infinity"`,
    /// `"-Infinity"` (JSON has no such numbers); -0 as `-0.0`.
    Number(f64),
    /// A string (lone surrogates as U+FFFD; the exact code units are in `utf16`).
    String(String),
    /// A boolean.
    Bool(bool),
}

impl Serialize for Primitive {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Primitive::Int(i) => s.serialize_i64(*i),
            Primitive::Number(n) if n.is_nan() => s.serialize_str("NaN"),
            Primitive::Number(n) if n.is_infinite() => {
                s.serialize_str(if *n > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Primitive::Number(n) => s.serialize_f64(*n),
            Primitive::String(t) => s.serialize_str(t),
            Primitive::Bool(b) => s.serialize_bool(*b),
        }
    }
}

/// An address, written `"0x..."`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub u64);

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:#x}", self.0))
    }
}

/// One property: `{"name", "value"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    /// The key as shown (`name`, `Symbol(desc)`, `#private`).
    pub name: String,
    /// The value; for accessors an `other` value with `getter`/`setter`.
    pub value: Value,
    /// A symbol key.
    #[serde(skip_serializing_if = "is_false")]
    pub symbol: bool,
    /// An accessor property (getter/setter).
    #[serde(skip_serializing_if = "is_false")]
    pub accessor: bool,
}

/// One element: `{"index", "value"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Element {
    /// The index.
    pub index: u64,
    /// The value (`hole` for holes of holey arrays).
    pub value: Value,
}

/// One entry of a `Map` / `Set` / `WeakMap` / `WeakSet`: `{"key", "value"?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The key (the member, for sets).
    pub key: Value,
    /// The value (maps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// The map of an object (`inspect -m`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapDescription {
    /// The map's address.
    pub address: Address,
    /// V8's instance type name.
    pub instance_type: String,
    /// Instance size in bytes (0: variable).
    pub instance_size: u64,
    /// In-object property slots.
    pub inobject_properties: u64,
    /// Own descriptors.
    pub own_descriptors: u64,
    /// Properties in a dictionary.
    pub dictionary: bool,
    /// A prototype's map.
    pub prototype_map: bool,
    /// Elements kind name (`PACKED_SMI_ELEMENTS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements_kind: Option<String>,
    /// The prototype (short form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prototype: Option<String>,
    /// The constructor found through the back pointers (short form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constructor: Option<String>,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Value {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: ValueTypeField,
    /// The heap object's untagged address (not for Smis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// The constructor name JS would see (JS objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constructor: Option<String>,
    /// The primitive (smi, number, string, boolean; also bigint as a decimal string, and the
    /// time value of a date).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Primitive>,
    /// The UTF-16 code units of a string that has lone surrogates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utf16: Option<Vec<u16>>,
    /// Length: of a string (code units), an array, the entries of a Map or Set, a typed array
    /// (elements), an ArrayBuffer (bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Function name; the instance type name of `other` values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Own properties in property order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Vec<Property>>,
    /// Elements (indexed properties), holes included for holey arrays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<Vec<Element>>,
    /// Map and Set entries in insertion order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<Entry>>,
    /// Symbol description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Function: inferred name (for anonymous functions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred_name: Option<String>,
    /// Function: script name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Function: line of its start (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Function: column of its start (1-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Function source (`-s`); RegExp source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// RegExp flags (`gi`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
    /// Function: its closure context; generator: its context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Box<Value>>,
    /// Context: the enclosing context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Box<Value>>,
    /// Bound function: target function; proxy: target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Box<Value>>,
    /// Bound function: bound `this`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_this: Option<Box<Value>>,
    /// Bound function: bound arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_arguments: Option<Vec<Value>>,
    /// Proxy: handler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler: Option<Box<Value>>,
    /// Generator: its function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Box<Value>>,
    /// Boxed primitive: the primitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primitive: Option<Box<Value>>,
    /// Promise: `pending`, `fulfilled`, `rejected`; generator: `suspended`, `executing`,
    /// `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Promise: the result or reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<Value>>,
    /// Error: message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Error: the stack, when it has been formatted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    /// Date: ISO 8601 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iso: Option<String>,
    /// Typed arrays: element type (`Uint8`, `Float64`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_type: Option<String>,
    /// Typed arrays and DataViews: byte offset in their buffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    /// Typed arrays, DataViews and ArrayBuffers: length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_length: Option<u64>,
    /// The bytes (up to the limit), as lowercase hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    /// Typed arrays and DataViews: their ArrayBuffer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<Box<Value>>,
    /// Accessors: getter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub getter: Option<Box<Value>>,
    /// Accessors: setter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setter: Option<Box<Value>>,
    /// The map (`-m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<MapDescription>,
    /// Why (part of) this value could not be decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A limit cut something (string characters, elements, properties, entries, bytes, or
    /// the expansion depth).
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// The `type` field (a [`ValueType`], `other` by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ValueTypeField(pub ValueType);

impl Default for ValueTypeField {
    fn default() -> Self {
        ValueTypeField(ValueType::Other)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Value {
    /// An empty value of type `kind`.
    pub fn of(kind: ValueType) -> Value {
        Value {
            kind: ValueTypeField(kind),
            ..Value::default()
        }
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        self.kind.0
    }

    /// An `other` value saying why something could not be decoded.
    pub fn error(address: Option<u64>, message: impl Into<String>) -> Value {
        Value {
            address: address.map(Address),
            error: Some(message.into()),
            ..Value::of(ValueType::Other)
        }
    }

    /// The string of a string value (exact when it has no lone surrogates).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Some(Primitive::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The number of a smi or number value.
    pub fn as_f64(&self) -> Option<f64> {
        match self.value {
            Some(Primitive::Int(i)) => Some(i as f64),
            Some(Primitive::Number(n)) => Some(n),
            _ => None,
        }
    }

    /// The property named `name`.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties
            .as_ref()?
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.value)
    }

    /// The one-line short form: `<Walrus 0x1234>`, `"text"`, `42`, `[Array length 3]`,
    /// `<Function inner 0x1234>`, `undefined`, `Symbol(desc)`, `12n`.
    pub fn short(&self) -> String {
        let at = |v: &Value| match v.address {
            Some(a) => format!(" {:#x}", a.0),
            None => String::new(),
        };
        match self.value_type() {
            ValueType::Smi | ValueType::Number => match &self.value {
                Some(Primitive::Int(i)) => i.to_string(),
                Some(Primitive::Number(n)) => number_text(*n),
                _ => "<number>".to_string(),
            },
            ValueType::Boolean => match &self.value {
                Some(Primitive::Bool(b)) => b.to_string(),
                _ => "<boolean>".to_string(),
            },
            ValueType::Null => "null".to_string(),
            ValueType::Undefined => "undefined".to_string(),
            ValueType::Hole => "<hole>".to_string(),
            ValueType::String => {
                let s = self.as_str().unwrap_or("");
                let mut out = format!("{s:?}");
                if self.truncated {
                    out.insert(out.len() - 1, '…');
                }
                out
            }
            ValueType::Symbol => {
                format!("Symbol({})", self.description.as_deref().unwrap_or(""))
            }
            ValueType::Bigint => match &self.value {
                Some(Primitive::String(d)) => format!("{d}n"),
                _ => "<bigint>".to_string(),
            },
            ValueType::Array => format!(
                "[{} length {}{}]",
                self.constructor.as_deref().unwrap_or("Array"),
                self.length.unwrap_or(0),
                at(self)
            ),
            ValueType::Function => {
                let name = self.name.as_deref().filter(|n| !n.is_empty());
                format!("<Function {}{}>", name.unwrap_or("(anonymous)"), at(self))
            }
            ValueType::Map | ValueType::Set => format!(
                "<{} size {}{}>",
                self.constructor.as_deref().unwrap_or("Map"),
                self.length.unwrap_or(0),
                at(self)
            ),
            ValueType::Context => format!("<Context{}>", at(self)),
            ValueType::Other => {
                let what = match (&self.name, &self.error) {
                    (Some(n), _) => n.clone(),
                    (None, Some(e)) => format!("error: {e}"),
                    (None, None) => "other".to_string(),
                };
                format!("<{what}{}>", at(self))
            }
            _ => format!(
                "<{}{}>",
                self.constructor.as_deref().unwrap_or("Object"),
                at(self)
            ),
        }
    }
}

/// A number as JS prints it (`NaN`, `-0`, `Infinity`, `1.5`, `1e+300`).
pub fn number_text(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if n == 0.0 && n.is_sign_negative() {
        "-0".to_string()
    } else if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_js_prints_them() {
        assert_eq!(number_text(f64::NAN), "NaN");
        assert_eq!(number_text(-0.0), "-0");
        assert_eq!(number_text(2f64.powi(53)), "9007199254740992");
        assert_eq!(number_text(1.25), "1.25");
        assert_eq!(number_text(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn short_forms() {
        let mut v = Value::of(ValueType::Object);
        v.constructor = Some("Walrus".into());
        v.address = Some(Address(0x1234));
        assert_eq!(v.short(), "<Walrus 0x1234>");
        let mut s = Value::of(ValueType::String);
        s.value = Some(Primitive::String("hi".into()));
        assert_eq!(s.short(), "\"hi\"");
        let mut a = Value::of(ValueType::Array);
        a.length = Some(3);
        assert_eq!(a.short(), "[Array length 3]");
        assert_eq!(Value::of(ValueType::Undefined).short(), "undefined");
    }
}
