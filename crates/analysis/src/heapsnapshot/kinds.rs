//! What each object is in a V8 heap snapshot: its node type and its name, as V8's heap
//! snapshot generator gives them, so that DevTools groups them as it groups V8's own: JS
//! objects by constructor (the census name: coroner's and DevTools' counts then agree, a
//! function's `prototype` object apart as `(Prototype)`), functions as `closure` by name,
//! strings by their text (cons and sliced strings by kind), heap numbers, symbols and
//! BigInts by kind, contexts as `system / Context`, and V8's internals as `system / X` (their
//! census name `(internal: X)`), maps as `object shape`, code as `code`, arrays as `array`.

use coroner_heap::{Class, HeapModel, Role, StringRepresentation};

use crate::census::PROTOTYPE_NAME;
use crate::index::ObjectIndex;

/// Characters of a string kept in its node's name (V8 keeps the first 1024 too).
const STRING_NAME_LIMIT: u64 = 1024;

/// V8's node types, in the order of the snapshot's `node_types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    /// A V8 internal shown as `(system)`.
    Hidden,
    /// An internal array.
    Array,
    /// A flat string.
    String,
    /// A JS object.
    Object,
    /// Code and what describes it.
    Code,
    /// A JS function.
    Closure,
    /// A regular expression.
    RegExp,
    /// A heap number.
    Number,
    /// Native memory.
    Native,
    /// A synthetic node (the root and its groups).
    Synthetic,
    /// A cons string.
    ConsString,
    /// A sliced string.
    SlicedString,
    /// A symbol.
    Symbol,
    /// A BigInt.
    BigInt,
    /// A map.
    ObjectShape,
}

impl NodeType {
    /// The names of the node types, in order (the snapshot's `meta.node_types[0]`).
    pub const NAMES: [&'static str; 15] = [
        "hidden",
        "array",
        "string",
        "object",
        "code",
        "closure",
        "regexp",
        "number",
        "native",
        "synthetic",
        "concatenated string",
        "sliced string",
        "symbol",
        "bigint",
        "object shape",
    ];
}

/// The node type and name of object `id` (of class `class`).
pub(crate) fn node_kind(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    id: u32,
    class: Class,
) -> (NodeType, String) {
    let addr = index.addrs()[id as usize];
    let Ok(h) = model.header(addr) else {
        return (NodeType::Hidden, "system / unreadable".into());
    };
    match class {
        Class::String => match model.string_representation(addr) {
            Some(StringRepresentation::Cons) => {
                (NodeType::ConsString, "(concatenated string)".into())
            }
            Some(StringRepresentation::Sliced) => {
                (NodeType::SlicedString, "(sliced string)".into())
            }
            _ => {
                let text = model
                    .shown_string(addr, Some(STRING_NAME_LIMIT))
                    .unwrap_or_default();
                (NodeType::String, text)
            }
        },
        Class::HeapNumber => (NodeType::Number, "heap number".into()),
        Class::Symbol => (NodeType::Symbol, "symbol".into()),
        Class::BigInt => (NodeType::BigInt, "bigint".into()),
        Class::Oddball | Class::Hole => (NodeType::Hidden, "system / Oddball".into()),
        Class::Function => (
            NodeType::Closure,
            model.function_name(addr).unwrap_or_default(),
        ),
        Class::BoundFunction => (NodeType::Closure, "(bound function)".into()),
        Class::Context if model.role_of(h.instance_type) == Some(Role::NativeContext) => {
            (NodeType::Hidden, "system / NativeContext".into())
        }
        Class::Context => (NodeType::Object, "system / Context".into()),
        c if c.is_receiver() => {
            if index.is_function_prototype(id) {
                return (NodeType::Object, PROTOTYPE_NAME.into());
            }
            let facts = model.map_facts(h.map);
            let name = model.census_name_of(addr, &facts);
            let name = match (class, &facts.constructor) {
                // The census lists plain arrays as `(Array)`; V8 names them `Array`.
                (Class::Array, Some(ctor)) if name.starts_with('(') => ctor.to_string(),
                _ => name.to_string(),
            };
            let kind = if class == Class::RegExp {
                NodeType::RegExp
            } else {
                NodeType::Object
            };
            (kind, name)
        }
        _ => {
            let facts = model.map_facts(h.map);
            let name = internal_name(&facts.census_name).unwrap_or("internal");
            (internal_type(class, name), format!("system / {name}"))
        }
    }
}

/// `X` of a census name `(internal: X)`.
fn internal_name(census: &str) -> Option<&str> {
    census.strip_prefix("(internal: ")?.strip_suffix(')')
}

/// The node type V8 gives an internal object of V8 type name `name` (camel case, as the
/// census writes it).
fn internal_type(class: Class, name: &str) -> NodeType {
    match name {
        "Map" => NodeType::ObjectShape,
        _ if class == Class::SharedFunctionInfo => NodeType::Code,
        "Code" | "InstructionStream" | "BytecodeArray" => NodeType::Code,
        _ if name.ends_with("Array") || name.ends_with("Dictionary") => NodeType::Array,
        _ => NodeType::Hidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names_and_types() {
        assert_eq!(internal_name("(internal: FixedArray)"), Some("FixedArray"));
        assert_eq!(internal_name("(Context)"), None);
        assert_eq!(internal_type(Class::Internal, "Map"), NodeType::ObjectShape);
        assert_eq!(
            internal_type(Class::Internal, "FixedArray"),
            NodeType::Array
        );
        assert_eq!(internal_type(Class::Internal, "Cell"), NodeType::Hidden);
        assert_eq!(
            internal_type(Class::SharedFunctionInfo, "SharedFunctionInfo"),
            NodeType::Code
        );
        assert_eq!(
            NodeType::NAMES[NodeType::ObjectShape as usize],
            "object shape"
        );
        assert_eq!(NodeType::NAMES[NodeType::Synthetic as usize], "synthetic");
    }
}
