//! The value tree `inspect` produces ([`Value`]) and its one-line short form ([`Value::short`]).
//!
//! A value is what every decoded value has — its address, its map (`inspect -m`), why part of
//! it could not be decoded, whether a limit cut it — and a [`ValueKind`]: what the value is,
//! carrying exactly the data that kind of value can have. A proxy's handler can only be on an
//! object, a byte offset only on a typed array, a string's code units only on a string; the
//! compiler, not a reviewer, keeps the tree honest.
//!
//! Values nested beyond `--depth` are in *summary form*: they carry what their short form
//! prints (an array's length, a function's name, a collection's size) and nothing else. The
//! parts an expansion adds are `Option`s, `None` in summary form.
//!
//! The tree is data, not a format: the CLI writes it as text or as the JSON of
//! `docs/values.md`.

use crate::errors::CallSite;
use crate::functions::LineColumn;
use crate::redact::Redactor;

/// A decoded value.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The heap object's untagged address (`None` for Smis, unboxed doubles, and what was not
    /// read from the heap).
    pub address: Option<u64>,
    /// What the value is, with its data.
    pub kind: ValueKind,
    /// The object's map, described (`inspect -m`; expanded values only).
    pub map: Option<MapDescription>,
    /// Why (part of) this value could not be decoded; the rest of the value is still there.
    pub error: Option<String>,
    /// A limit cut something: string characters, elements, properties, entries, bytes, bound
    /// arguments, or a function's source.
    pub truncated: bool,
    /// The digest of the contents `--redact` withheld (a string's characters, a buffer's
    /// bytes), which are then absent from `kind`: see [`Redactor`](crate::Redactor).
    pub redacted: Option<String>,
}

/// What a value is, and the data of that kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A small integer.
    Smi(i64),
    /// A heap number, or an unboxed double of a double array (NaN, the infinities and -0
    /// included).
    Number(f64),
    /// A string of any representation.
    String {
        /// The characters read (up to the limit; lone surrogates as U+FFFD).
        text: String,
        /// The whole string's length in UTF-16 code units.
        length: u64,
        /// The exact code units read, when they hold lone surrogates (`text` cannot).
        utf16: Option<Vec<u16>>,
    },
    /// `true` or `false`.
    Boolean(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// The hole: a hole of a holey array, an uninitialized binding.
    Hole,
    /// A symbol.
    Symbol {
        /// Its description (`None` for `Symbol()`, or when it cannot be read).
        description: Option<String>,
    },
    /// A BigInt.
    BigInt {
        /// Its value in decimal digits (`-1180591620717411303424`).
        decimal: String,
    },
    /// A JS object with nothing more specific to say: plain objects, class instances, API
    /// objects, the global object; boxed primitives, proxies and generators, whose internal
    /// slots it carries.
    Object {
        /// Constructor, properties, elements.
        object: JsObject,
        /// The proxy's target and handler, the boxed primitive, the generator's state
        /// (expanded values only).
        slots: Option<InternalSlots>,
    },
    /// A JS array.
    Array {
        /// Constructor, properties, elements (holes included for holey arrays).
        object: JsObject,
        /// Its `length`.
        length: u64,
    },
    /// A function: a closure, or a bound function.
    Function {
        /// Constructor (`Function`, `AsyncFunction`, ...) and properties.
        object: JsObject,
        /// Its name (`""` when anonymous, `bound target` for bound functions).
        name: String,
        /// Where it comes from and what it closes over, or what it binds (expanded values
        /// only).
        detail: Option<FunctionDetail>,
    },
    /// A `Map` or a `WeakMap`.
    Map {
        /// Constructor and properties.
        object: JsObject,
        /// Its number of entries.
        size: u64,
        /// The entries: in insertion order, or the live entries of a `WeakMap` in table order;
        /// at most the limit (expanded values only).
        entries: Option<Vec<MapEntry>>,
    },
    /// A `Set` or a `WeakSet`.
    Set {
        /// Constructor and properties.
        object: JsObject,
        /// Its number of members.
        size: u64,
        /// The members, ordered as a map's entries (expanded values only).
        members: Option<Vec<Value>>,
    },
    /// A `Date`.
    Date {
        /// Constructor and properties.
        object: JsObject,
        /// Its time value: milliseconds since the epoch, NaN for invalid dates (expanded
        /// values only).
        time: Option<f64>,
    },
    /// A `RegExp`.
    RegExp {
        /// Constructor and properties (`lastIndex`).
        object: JsObject,
        /// The pattern (expanded values, when it can be read).
        source: Option<String>,
        /// The flags as JS prints them, `gi` (expanded values only).
        flags: Option<String>,
    },
    /// An `Error` (and subclasses).
    Error {
        /// Constructor and properties.
        object: JsObject,
        /// Its `message` property, when it is a string (expanded values only).
        message: Option<String>,
        /// Its stack, once V8 has formatted it (expanded values only).
        stack: Option<String>,
        /// The call sites it captured, while `.stack` has not been read (expanded values only).
        call_sites: Option<Vec<CallSite>>,
    },
    /// A `Promise`.
    Promise {
        /// Constructor and properties.
        object: JsObject,
        /// Pending, or settled with its value or reason (expanded values only).
        state: Option<PromiseState>,
    },
    /// An `ArrayBuffer`.
    ArrayBuffer {
        /// Constructor and properties.
        object: JsObject,
        /// Its length in bytes (expanded values only).
        byte_length: Option<u64>,
        /// Its first bytes, up to the limit (expanded values, when they can be read).
        bytes: Option<Vec<u8>>,
    },
    /// A typed array, a `DataView`, or a Node `Buffer`.
    TypedArray {
        /// Constructor and properties (never elements: its elements are its bytes).
        object: JsObject,
        /// Where its bytes are, and the first of them (expanded values only).
        view: Option<View>,
    },
    /// A context: the variables of a closure's scope.
    Context {
        /// Its variables (`let`, `const`, captured parameters) by name (expanded values only).
        variables: Option<Vec<Variable>>,
        /// The enclosing context, in summary form (expanded values that have one).
        previous: Option<Box<Value>>,
    },
    /// Anything else: V8's internal objects, and what could not be decoded (see
    /// [`Value::error`]).
    Other {
        /// V8's instance type name (`FIXED_ARRAY_TYPE`), or what the value is
        /// (`cleared weak reference`, `oddball uninitialized`); `None` when nothing is known.
        name: Option<String>,
        /// What coroner decodes of a few internal objects.
        internal: Option<Internal>,
    },
}

/// What every JS object has, whatever its kind.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsObject {
    /// The constructor name JS would see (`None` when none is found).
    pub constructor: Option<String>,
    /// Own properties in property order (expanded values, when they can be listed; never for
    /// proxies, whose dictionary is V8's bookkeeping).
    pub properties: Option<Vec<Property>>,
    /// Elements (indexed properties) by index: listed for expanded arrays, and for other
    /// expanded objects that have any.
    pub elements: Option<Vec<Element>>,
}

/// One own property.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The key as shown (`name`, `Symbol(desc)`, `#private`).
    pub name: String,
    /// The value; for accessors an [`ValueKind::Other`] value, with the getter and setter of JS
    /// accessors ([`Internal::AccessorPair`]).
    pub value: Value,
    /// A symbol key.
    pub symbol: bool,
    /// An accessor property (getter/setter).
    pub accessor: bool,
}

/// One element.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The index.
    pub index: u64,
    /// The value ([`ValueKind::Hole`] for the holes of holey arrays).
    pub value: Value,
}

/// One entry of a `Map` or `WeakMap`.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    /// The key.
    pub key: Value,
    /// The value.
    pub value: Value,
}

/// One variable of a context.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Its name in the source.
    pub name: String,
    /// Its value ([`ValueKind::Hole`] while uninitialized).
    pub value: Value,
}

/// What an expanded function is.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionDetail {
    /// A function with code: a closure, a method, a class constructor, ...
    Closure {
        /// The name V8 inferred for an anonymous function (`FunctionProbe.arrow`).
        inferred_name: Option<String>,
        /// Its script's name.
        script: Option<String>,
        /// Where its definition starts (the `function` keyword, or a method's name).
        position: Option<LineColumn>,
        /// Its source text (`inspect -s`, when it can be read).
        source: Option<String>,
        /// Its closure context (a [`ValueKind::Context`] value, or what the slot holds).
        context: Box<Value>,
    },
    /// A bound function (`f.bind(this, ...args)`).
    Bound {
        /// The target function.
        target: Box<Value>,
        /// The bound `this`.
        this: Box<Value>,
        /// The bound arguments (at most the limit).
        arguments: Vec<Value>,
    },
}

/// The internal slots of an expanded object that has some: what a proxy, a boxed primitive or
/// a generator holds besides its properties.
#[derive(Debug, Clone, PartialEq)]
pub enum InternalSlots {
    /// A proxy (`new Proxy(target, handler)`).
    Proxy {
        /// Its target.
        target: Box<Value>,
        /// Its handler.
        handler: Box<Value>,
    },
    /// A boxed primitive (`new Number(5)`): the primitive.
    Primitive(Box<Value>),
    /// A generator or an async function's generator object.
    Generator {
        /// The generator function (summary form).
        function: Box<Value>,
        /// Where it stands.
        state: GeneratorState,
        /// Its context.
        context: Box<Value>,
    },
}

/// Where a generator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratorState {
    /// Suspended at its start or at a `yield`.
    Suspended,
    /// Running (the dump was taken inside it).
    Executing,
    /// Returned or thrown.
    Closed,
}

impl GeneratorState {
    /// `suspended`, `executing` or `closed`.
    pub fn name(self) -> &'static str {
        match self {
            GeneratorState::Suspended => "suspended",
            GeneratorState::Executing => "executing",
            GeneratorState::Closed => "closed",
        }
    }
}

/// Where a promise stands.
#[derive(Debug, Clone, PartialEq)]
pub enum PromiseState {
    /// Not settled yet.
    Pending,
    /// Fulfilled with this value.
    Fulfilled(Box<Value>),
    /// Rejected with this reason.
    Rejected(Box<Value>),
}

impl PromiseState {
    /// `pending`, `fulfilled` or `rejected`.
    pub fn name(&self) -> &'static str {
        match self {
            PromiseState::Pending => "pending",
            PromiseState::Fulfilled(_) => "fulfilled",
            PromiseState::Rejected(_) => "rejected",
        }
    }

    /// The value or reason of a settled promise.
    pub fn result(&self) -> Option<&Value> {
        match self {
            PromiseState::Pending => None,
            PromiseState::Fulfilled(v) | PromiseState::Rejected(v) => Some(v),
        }
    }
}

/// Where a typed array's or a `DataView`'s bytes are.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The element type (`Uint8`, `Float64`, `BigInt64`; `None` for a `DataView`).
    pub element_type: Option<String>,
    /// The number of elements (`None` for a `DataView`).
    pub length: Option<u64>,
    /// Where its bytes start in its buffer.
    pub byte_offset: u64,
    /// Its length in bytes.
    pub byte_length: u64,
    /// Its first bytes, up to the limit (`None` when they cannot be read).
    pub bytes: Option<Vec<u8>>,
    /// Its `ArrayBuffer` (summary form).
    pub buffer: Box<Value>,
}

/// What coroner decodes of a few of V8's internal objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Internal {
    /// A `SharedFunctionInfo`: what the closures of one function share.
    SharedFunctionInfo {
        /// The function's name, or the name V8 inferred for it.
        debug_name: String,
        /// Its script's name.
        script: Option<String>,
    },
    /// A `Script`.
    Script {
        /// Its name (a path, a URL, `node:internal/...`).
        name: Option<String>,
    },
    /// An `AccessorPair`: a JS accessor property's functions.
    AccessorPair {
        /// The getter, when it is a function (summary form).
        getter: Option<Box<Value>>,
        /// The setter, when it is a function (summary form).
        setter: Option<Box<Value>>,
    },
}

/// The map of an object (`inspect -m`).
#[derive(Debug, Clone, PartialEq)]
pub struct MapDescription {
    /// The map's address.
    pub address: u64,
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
    /// Elements kind name (`PACKED_SMI_ELEMENTS`; JS objects only).
    pub elements_kind: Option<String>,
    /// The prototype (short form).
    pub prototype: Option<String>,
    /// The constructor found through the back pointers (short form).
    pub constructor: Option<String>,
}

impl Value {
    /// A value of `kind` that is no heap object (a Smi, an unboxed double).
    pub fn of(kind: ValueKind) -> Value {
        Value {
            address: None,
            kind,
            map: None,
            error: None,
            truncated: false,
            redacted: None,
        }
    }

    /// The heap object at `address`, a value of `kind`.
    pub fn at(address: u64, kind: ValueKind) -> Value {
        Value {
            address: Some(address),
            ..Value::of(kind)
        }
    }

    /// An [`ValueKind::Other`] value saying why something could not be decoded.
    pub fn error(address: Option<u64>, message: impl Into<String>) -> Value {
        Value {
            address,
            error: Some(message.into()),
            ..Value::of(ValueKind::Other {
                name: None,
                internal: None,
            })
        }
    }

    /// The text of a string value (exact when it has no lone surrogates and was not cut;
    /// `None` when `--redact` withheld it).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::String { text, .. } if self.redacted.is_none() => Some(text),
            _ => None,
        }
    }

    /// The number of a Smi or number value.
    pub fn as_f64(&self) -> Option<f64> {
        match self.kind {
            ValueKind::Smi(i) => Some(i as f64),
            ValueKind::Number(n) => Some(n),
            _ => None,
        }
    }

    /// What the value has as a JS object (constructor, properties, elements), when it is one.
    pub fn object(&self) -> Option<&JsObject> {
        match &self.kind {
            ValueKind::Object { object, .. }
            | ValueKind::Array { object, .. }
            | ValueKind::Function { object, .. }
            | ValueKind::Map { object, .. }
            | ValueKind::Set { object, .. }
            | ValueKind::Date { object, .. }
            | ValueKind::RegExp { object, .. }
            | ValueKind::Error { object, .. }
            | ValueKind::Promise { object, .. }
            | ValueKind::ArrayBuffer { object, .. }
            | ValueKind::TypedArray { object, .. } => Some(object),
            _ => None,
        }
    }

    /// [`Value::object`], to fill in.
    pub(crate) fn object_mut(&mut self) -> Option<&mut JsObject> {
        match &mut self.kind {
            ValueKind::Object { object, .. }
            | ValueKind::Array { object, .. }
            | ValueKind::Function { object, .. }
            | ValueKind::Map { object, .. }
            | ValueKind::Set { object, .. }
            | ValueKind::Date { object, .. }
            | ValueKind::RegExp { object, .. }
            | ValueKind::Error { object, .. }
            | ValueKind::Promise { object, .. }
            | ValueKind::ArrayBuffer { object, .. }
            | ValueKind::TypedArray { object, .. } => Some(object),
            _ => None,
        }
    }

    /// The constructor name of a JS object.
    pub fn constructor(&self) -> Option<&str> {
        self.object()?.constructor.as_deref()
    }

    /// The own property named `name` of an expanded object, or the variable named `name` of an
    /// expanded context (for accessors: the accessor, not what its getter would return).
    pub fn property(&self, name: &str) -> Option<&Value> {
        match &self.kind {
            ValueKind::Context { variables, .. } => variables
                .as_ref()?
                .iter()
                .find(|v| v.name == name)
                .map(|v| &v.value),
            _ => self
                .object()?
                .properties
                .as_ref()?
                .iter()
                .find(|p| p.name == name)
                .map(|p| &p.value),
        }
    }

    /// The one-line short form: `<Walrus 0x1234>`, `"text"`, `42`, `[Array length 3]`,
    /// `<Function inner 0x1234>`, `undefined`, `Symbol(desc)`, `12n`.
    pub fn short(&self) -> String {
        let at = match self.address {
            Some(a) => format!(" {a:#x}"),
            None => String::new(),
        };
        let constructor = |default: &str| self.constructor().unwrap_or(default).to_string();
        match &self.kind {
            ValueKind::Smi(i) => i.to_string(),
            ValueKind::Number(n) => number_text(*n),
            ValueKind::Boolean(b) => b.to_string(),
            ValueKind::Null => "null".to_string(),
            ValueKind::Undefined => "undefined".to_string(),
            ValueKind::Hole => "<hole>".to_string(),
            ValueKind::String { length, .. } if self.redacted.is_some() => {
                Redactor::placeholder(*length, self.redacted.as_deref().unwrap_or_default())
            }
            ValueKind::String { text, .. } => {
                let mut out = format!("{text:?}");
                if self.truncated {
                    out.insert(out.len() - 1, '…');
                }
                out
            }
            ValueKind::Symbol { description } => {
                format!("Symbol({})", description.as_deref().unwrap_or(""))
            }
            ValueKind::BigInt { decimal } => format!("{decimal}n"),
            ValueKind::Array { length, .. } => {
                format!("[{} length {length}{at}]", constructor("Array"))
            }
            ValueKind::Function { name, .. } => {
                let name = Some(name.as_str()).filter(|n| !n.is_empty());
                format!("<Function {}{at}>", name.unwrap_or("(anonymous)"))
            }
            ValueKind::Map { size, .. } => format!("<{} size {size}{at}>", constructor("Map")),
            ValueKind::Set { size, .. } => format!("<{} size {size}{at}>", constructor("Set")),
            ValueKind::Context { .. } => format!("<Context{at}>"),
            ValueKind::Other { name, .. } => {
                let what = match (name, &self.error) {
                    (Some(n), _) => n.clone(),
                    (None, Some(e)) => format!("error: {e}"),
                    (None, None) => "other".to_string(),
                };
                format!("<{what}{at}>")
            }
            ValueKind::Object { .. }
            | ValueKind::Date { .. }
            | ValueKind::RegExp { .. }
            | ValueKind::Error { .. }
            | ValueKind::Promise { .. }
            | ValueKind::ArrayBuffer { .. }
            | ValueKind::TypedArray { .. } => format!("<{}{at}>", constructor("Object")),
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

    fn object(constructor: Option<&str>) -> JsObject {
        JsObject {
            constructor: constructor.map(str::to_string),
            ..JsObject::default()
        }
    }

    #[test]
    fn short_forms() {
        let walrus = Value::at(
            0x1234,
            ValueKind::Object {
                object: object(Some("Walrus")),
                slots: None,
            },
        );
        assert_eq!(walrus.short(), "<Walrus 0x1234>");
        let s = Value::of(ValueKind::String {
            text: "hi".into(),
            length: 2,
            utf16: None,
        });
        assert_eq!(s.short(), "\"hi\"");
        let cut = Value {
            truncated: true,
            ..s
        };
        assert_eq!(cut.short(), "\"hi…\"");
        let a = Value::of(ValueKind::Array {
            object: object(None),
            length: 3,
        });
        assert_eq!(a.short(), "[Array length 3]");
        assert_eq!(Value::of(ValueKind::Undefined).short(), "undefined");
        let set = Value::at(
            0x10,
            ValueKind::Set {
                object: object(None),
                size: 2,
                members: None,
            },
        );
        assert_eq!(set.short(), "<Set size 2 0x10>");
        let anonymous = Value::of(ValueKind::Function {
            object: object(Some("Function")),
            name: String::new(),
            detail: None,
        });
        assert_eq!(anonymous.short(), "<Function (anonymous)>");
        assert_eq!(Value::error(Some(0x20), "bad").short(), "<error: bad 0x20>");
    }

    #[test]
    fn properties_are_found_on_objects_and_contexts() {
        let seven = Value::of(ValueKind::Smi(7));
        let mut o = object(Some("Object"));
        o.properties = Some(vec![Property {
            name: "id".into(),
            value: seven.clone(),
            symbol: false,
            accessor: false,
        }]);
        let v = Value::of(ValueKind::Object {
            object: o,
            slots: None,
        });
        assert_eq!(v.property("id").and_then(Value::as_f64), Some(7.0));
        assert_eq!(v.property("nope"), None);
        let ctx = Value::of(ValueKind::Context {
            variables: Some(vec![Variable {
                name: "counter".into(),
                value: seven,
            }]),
            previous: None,
        });
        assert_eq!(ctx.property("counter").and_then(Value::as_f64), Some(7.0));
        assert_eq!(ctx.constructor(), None);
    }
}
