//! Instance types: the number -> name table of one V8 version, the numbers coroner needs by
//! name, and the families it classifies objects into (strings and their representation and
//! encoding, FixedArray-shaped objects, contexts, JS receivers, JS functions, ...).
//!
//! Instance type numbers move between versions (MAP_TYPE is 250 in Node 18 and 272 in Node
//! 24), so nothing here is a literal: the table is the layout's (metadata merged over the
//! supplement), and each family is a range or a list named there.

use std::collections::BTreeMap;

/// A string's representation, from its instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringRepresentation {
    /// Characters follow the header.
    Seq,
    /// Two halves.
    Cons,
    /// Characters outside the heap, through a resource.
    External,
    /// A slice of a parent string.
    Sliced,
    /// Forwards to an internalized string.
    Thin,
}

/// What a string instance type says about the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StringShape {
    /// Representation.
    pub representation: StringRepresentation,
    /// Latin-1 (one byte per character) rather than UTF-16.
    pub one_byte: bool,
    /// Internalized (in the string table).
    pub internalized: bool,
}

/// An inclusive range of instance type numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeRange {
    /// First number.
    pub first: u16,
    /// Last number (inclusive).
    pub last: u16,
}

impl TypeRange {
    /// Whether `t` is in the range.
    pub fn contains(&self, t: u16) -> bool {
        self.first <= t && t <= self.last
    }
}

/// The string bits of instance types (from the layout's string constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StringBits {
    pub first_nonstring: u16,
    pub representation_mask: u16,
    pub encoding_mask: u16,
    pub seq: u16,
    pub cons: u16,
    pub external: u16,
    pub sliced: u16,
    pub thin: u16,
    pub one_byte: u16,
    pub not_internalized: u16,
}

/// Instance type numbers of one V8 version, with the ones coroner needs by name.
#[derive(Debug, Clone)]
pub struct InstanceTypes {
    by_number: BTreeMap<u16, String>,
    by_name: BTreeMap<String, u16>,
    strings: StringBits,
    fixed_array_like: Vec<u16>,
    /// `MAP_TYPE`.
    pub map: u16,
    /// `ODDBALL_TYPE`.
    pub oddball: u16,
    /// `HOLE_TYPE` (Node 22+: the hole is no longer an oddball).
    pub hole: Option<u16>,
    /// `HEAP_NUMBER_TYPE`.
    pub heap_number: u16,
    /// `SYMBOL_TYPE`.
    pub symbol: u16,
    /// `BIG_INT_BASE_TYPE`.
    pub big_int: u16,
    /// `FREE_SPACE_TYPE`.
    pub free_space: u16,
    /// `FILLER_TYPE` (one- and two-word fillers).
    pub filler: u16,
    /// `FIXED_ARRAY_TYPE`.
    pub fixed_array: u16,
    /// `FIXED_DOUBLE_ARRAY_TYPE`.
    pub fixed_double_array: u16,
    /// `BYTE_ARRAY_TYPE`.
    pub byte_array: u16,
    /// `BYTECODE_ARRAY_TYPE`.
    pub bytecode_array: u16,
    /// `DESCRIPTOR_ARRAY_TYPE`.
    pub descriptor_array: u16,
    /// `WEAK_FIXED_ARRAY_TYPE`.
    pub weak_fixed_array: u16,
    /// `WEAK_ARRAY_LIST_TYPE`.
    pub weak_array_list: u16,
    /// `TRANSITION_ARRAY_TYPE`.
    pub transition_array: u16,
    /// `PROPERTY_ARRAY_TYPE`.
    pub property_array: u16,
    /// `PROPERTY_CELL_TYPE`.
    pub property_cell: u16,
    /// `FEEDBACK_VECTOR_TYPE`.
    pub feedback_vector: u16,
    /// `SHARED_FUNCTION_INFO_TYPE`.
    pub shared_function_info: u16,
    /// `SCRIPT_TYPE`.
    pub script: u16,
    /// `SCOPE_INFO_TYPE`.
    pub scope_info: u16,
    /// `CODE_TYPE`.
    pub code: u16,
    /// `NAME_DICTIONARY_TYPE`.
    pub name_dictionary: u16,
    /// `GLOBAL_DICTIONARY_TYPE`.
    pub global_dictionary: u16,
    /// `NUMBER_DICTIONARY_TYPE`.
    pub number_dictionary: u16,
    /// `ORDERED_HASH_MAP_TYPE`.
    pub ordered_hash_map: u16,
    /// `ORDERED_HASH_SET_TYPE`.
    pub ordered_hash_set: u16,
    /// `ACCESSOR_PAIR_TYPE`.
    pub accessor_pair: u16,
    /// `ACCESSOR_INFO_TYPE`.
    pub accessor_info: u16,
    /// `NATIVE_CONTEXT_TYPE`.
    pub native_context: u16,
    /// `JS_OBJECT_TYPE`.
    pub js_object: u16,
    /// `JS_SPECIAL_API_OBJECT_TYPE`.
    pub js_special_api_object: u16,
    /// `JS_ARRAY_TYPE`.
    pub js_array: u16,
    /// `JS_MAP_TYPE`.
    pub js_map: u16,
    /// `JS_SET_TYPE`.
    pub js_set: u16,
    /// `JS_WEAK_MAP_TYPE`.
    pub js_weak_map: u16,
    /// `JS_WEAK_SET_TYPE`.
    pub js_weak_set: u16,
    /// `JS_DATE_TYPE`.
    pub js_date: u16,
    /// `JS_REG_EXP_TYPE`.
    pub js_reg_exp: u16,
    /// `JS_PROMISE_TYPE`.
    pub js_promise: u16,
    /// `JS_ERROR_TYPE`.
    pub js_error: u16,
    /// `JS_ARRAY_BUFFER_TYPE`.
    pub js_array_buffer: u16,
    /// `JS_TYPED_ARRAY_TYPE`.
    pub js_typed_array: u16,
    /// `JS_DATA_VIEW_TYPE`.
    pub js_data_view: u16,
    /// `JS_GLOBAL_OBJECT_TYPE`.
    pub js_global_object: u16,
    /// `JS_GLOBAL_PROXY_TYPE`.
    pub js_global_proxy: u16,
    /// `JS_BOUND_FUNCTION_TYPE`.
    pub js_bound_function: u16,
    /// `JS_PRIMITIVE_WRAPPER_TYPE`.
    pub js_primitive_wrapper: u16,
    /// JS receivers: `FIRST_JS_RECEIVER_TYPE` (JS_PROXY_TYPE) to the last type.
    pub js_receiver: TypeRange,
    /// JS functions: `JS_FUNCTION_TYPE` .. `JS_CLASS_CONSTRUCTOR_TYPE`.
    pub js_function: TypeRange,
    /// Contexts: `FIRST_CONTEXT_TYPE` .. `LAST_CONTEXT_TYPE`.
    pub context: TypeRange,
    /// API objects (embedder wrappers): `JS_API_OBJECT_TYPE` .. its last dummy.
    pub js_api_object: TypeRange,
}

/// The named numbers and ranges, as the loader resolved them.
pub(crate) struct KnownTypes {
    pub numbers: BTreeMap<&'static str, u16>,
    pub hole: Option<u16>,
    pub js_receiver: TypeRange,
    pub js_function: TypeRange,
    pub context: TypeRange,
    pub js_api_object: TypeRange,
}

impl InstanceTypes {
    /// The instance type names every layout must have, resolved into the named fields.
    pub(crate) const REQUIRED: &'static [&'static str] = &[
        "MAP_TYPE",
        "ODDBALL_TYPE",
        "HEAP_NUMBER_TYPE",
        "SYMBOL_TYPE",
        "BIG_INT_BASE_TYPE",
        "FREE_SPACE_TYPE",
        "FILLER_TYPE",
        "FIXED_ARRAY_TYPE",
        "FIXED_DOUBLE_ARRAY_TYPE",
        "BYTE_ARRAY_TYPE",
        "BYTECODE_ARRAY_TYPE",
        "DESCRIPTOR_ARRAY_TYPE",
        "WEAK_FIXED_ARRAY_TYPE",
        "WEAK_ARRAY_LIST_TYPE",
        "TRANSITION_ARRAY_TYPE",
        "PROPERTY_ARRAY_TYPE",
        "PROPERTY_CELL_TYPE",
        "FEEDBACK_VECTOR_TYPE",
        "SHARED_FUNCTION_INFO_TYPE",
        "SCRIPT_TYPE",
        "SCOPE_INFO_TYPE",
        "CODE_TYPE",
        "NAME_DICTIONARY_TYPE",
        "GLOBAL_DICTIONARY_TYPE",
        "NUMBER_DICTIONARY_TYPE",
        "ORDERED_HASH_MAP_TYPE",
        "ORDERED_HASH_SET_TYPE",
        "ACCESSOR_PAIR_TYPE",
        "ACCESSOR_INFO_TYPE",
        "NATIVE_CONTEXT_TYPE",
        "JS_OBJECT_TYPE",
        "JS_SPECIAL_API_OBJECT_TYPE",
        "JS_ARRAY_TYPE",
        "JS_MAP_TYPE",
        "JS_SET_TYPE",
        "JS_WEAK_MAP_TYPE",
        "JS_WEAK_SET_TYPE",
        "JS_DATE_TYPE",
        "JS_REG_EXP_TYPE",
        "JS_PROMISE_TYPE",
        "JS_ERROR_TYPE",
        "JS_ARRAY_BUFFER_TYPE",
        "JS_TYPED_ARRAY_TYPE",
        "JS_DATA_VIEW_TYPE",
        "JS_GLOBAL_OBJECT_TYPE",
        "JS_GLOBAL_PROXY_TYPE",
        "JS_BOUND_FUNCTION_TYPE",
        "JS_PRIMITIVE_WRAPPER_TYPE",
    ];

    pub(crate) fn new(
        by_name: BTreeMap<String, u16>,
        strings: StringBits,
        known: KnownTypes,
        fixed_array_like: Vec<u16>,
    ) -> InstanceTypes {
        let by_number = by_name.iter().map(|(n, &t)| (t, n.clone())).collect();
        let n = |name: &str| known.numbers.get(name).copied().unwrap_or(0);
        let mut fixed_array_like = fixed_array_like;
        fixed_array_like.sort_unstable();
        fixed_array_like.dedup();
        InstanceTypes {
            by_number,
            strings,
            fixed_array_like,
            map: n("MAP_TYPE"),
            oddball: n("ODDBALL_TYPE"),
            hole: known.hole,
            heap_number: n("HEAP_NUMBER_TYPE"),
            symbol: n("SYMBOL_TYPE"),
            big_int: n("BIG_INT_BASE_TYPE"),
            free_space: n("FREE_SPACE_TYPE"),
            filler: n("FILLER_TYPE"),
            fixed_array: n("FIXED_ARRAY_TYPE"),
            fixed_double_array: n("FIXED_DOUBLE_ARRAY_TYPE"),
            byte_array: n("BYTE_ARRAY_TYPE"),
            bytecode_array: n("BYTECODE_ARRAY_TYPE"),
            descriptor_array: n("DESCRIPTOR_ARRAY_TYPE"),
            weak_fixed_array: n("WEAK_FIXED_ARRAY_TYPE"),
            weak_array_list: n("WEAK_ARRAY_LIST_TYPE"),
            transition_array: n("TRANSITION_ARRAY_TYPE"),
            property_array: n("PROPERTY_ARRAY_TYPE"),
            property_cell: n("PROPERTY_CELL_TYPE"),
            feedback_vector: n("FEEDBACK_VECTOR_TYPE"),
            shared_function_info: n("SHARED_FUNCTION_INFO_TYPE"),
            script: n("SCRIPT_TYPE"),
            scope_info: n("SCOPE_INFO_TYPE"),
            code: n("CODE_TYPE"),
            name_dictionary: n("NAME_DICTIONARY_TYPE"),
            global_dictionary: n("GLOBAL_DICTIONARY_TYPE"),
            number_dictionary: n("NUMBER_DICTIONARY_TYPE"),
            ordered_hash_map: n("ORDERED_HASH_MAP_TYPE"),
            ordered_hash_set: n("ORDERED_HASH_SET_TYPE"),
            accessor_pair: n("ACCESSOR_PAIR_TYPE"),
            accessor_info: n("ACCESSOR_INFO_TYPE"),
            native_context: n("NATIVE_CONTEXT_TYPE"),
            js_object: n("JS_OBJECT_TYPE"),
            js_special_api_object: n("JS_SPECIAL_API_OBJECT_TYPE"),
            js_array: n("JS_ARRAY_TYPE"),
            js_map: n("JS_MAP_TYPE"),
            js_set: n("JS_SET_TYPE"),
            js_weak_map: n("JS_WEAK_MAP_TYPE"),
            js_weak_set: n("JS_WEAK_SET_TYPE"),
            js_date: n("JS_DATE_TYPE"),
            js_reg_exp: n("JS_REG_EXP_TYPE"),
            js_promise: n("JS_PROMISE_TYPE"),
            js_error: n("JS_ERROR_TYPE"),
            js_array_buffer: n("JS_ARRAY_BUFFER_TYPE"),
            js_typed_array: n("JS_TYPED_ARRAY_TYPE"),
            js_data_view: n("JS_DATA_VIEW_TYPE"),
            js_global_object: n("JS_GLOBAL_OBJECT_TYPE"),
            js_global_proxy: n("JS_GLOBAL_PROXY_TYPE"),
            js_bound_function: n("JS_BOUND_FUNCTION_TYPE"),
            js_primitive_wrapper: n("JS_PRIMITIVE_WRAPPER_TYPE"),
            js_receiver: known.js_receiver,
            js_function: known.js_function,
            context: known.context,
            js_api_object: known.js_api_object,
            by_name,
        }
    }

    /// V8's name of instance type `t` (`"JS_OBJECT_TYPE"`); for numbers inside the API object
    /// range that have no name of their own, the range's first name.
    pub fn name(&self, t: u16) -> Option<&str> {
        if let Some(n) = self.by_number.get(&t) {
            return Some(n);
        }
        if self.js_api_object.contains(t) {
            return self
                .by_number
                .get(&self.js_api_object.first)
                .map(String::as_str);
        }
        None
    }

    /// The number of the instance type named `name`.
    pub fn number(&self, name: &str) -> Option<u16> {
        self.by_name.get(name).copied()
    }

    /// Every (number, name) of the table, by number.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &str)> {
        self.by_number.iter().map(|(&t, n)| (t, n.as_str()))
    }

    /// Whether `t` is a string type.
    pub fn is_string(&self, t: u16) -> bool {
        t < self.strings.first_nonstring
    }

    /// The representation, encoding and internalization of string type `t` (`None` when `t` is
    /// not a string type).
    pub fn string_shape(&self, t: u16) -> Option<StringShape> {
        if !self.is_string(t) {
            return None;
        }
        let s = &self.strings;
        let rep = t & s.representation_mask;
        let representation = if rep == s.seq {
            StringRepresentation::Seq
        } else if rep == s.cons {
            StringRepresentation::Cons
        } else if rep == s.external {
            StringRepresentation::External
        } else if rep == s.sliced {
            StringRepresentation::Sliced
        } else if rep == s.thin {
            StringRepresentation::Thin
        } else {
            return None;
        };
        Some(StringShape {
            representation,
            one_byte: t & s.encoding_mask == s.one_byte,
            internalized: t & s.not_internalized == 0,
        })
    }

    /// Whether `t` is a JS receiver (object, function, proxy, ...).
    pub fn is_js_receiver(&self, t: u16) -> bool {
        self.js_receiver.contains(t)
    }

    /// Whether `t` is a JS function type (plain, class constructor, builtin constructors).
    pub fn is_js_function(&self, t: u16) -> bool {
        self.js_function.contains(t)
    }

    /// Whether `t` is a context type.
    pub fn is_context(&self, t: u16) -> bool {
        self.context.contains(t)
    }

    /// Whether `t` is an embedder (API) object type.
    pub fn is_js_api_object(&self, t: u16) -> bool {
        self.js_api_object.contains(t) || t == self.js_special_api_object
    }

    /// Whether objects of type `t` are FixedArray-shaped: map, Smi length, then that many tagged
    /// elements (fixed arrays, hash tables and dictionaries, ordered hash tables, ...).
    pub fn is_fixed_array_like(&self, t: u16) -> bool {
        self.fixed_array_like.binary_search(&t).is_ok()
    }

    /// Whether `t` marks free memory rather than an object (free-list blocks and fillers).
    pub fn is_free(&self, t: u16) -> bool {
        t == self.free_space || t == self.filler
    }
}
