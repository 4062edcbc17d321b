//! V8's layout for one process: every offset, instance type number, bit field and frame type
//! coroner decodes with, as plain data.
//!
//! The values come from V8's `v8dbg_*` postmortem metadata (the executable's symbols, or the
//! build's table in `crates/v8/layouts/builds/` when the executable is not at hand), and from the
//! supplement of the process's Node major (`crates/v8/layouts/nodeNN.toml`) for the rest (see
//! [`load`](Layout::load)). Decoding code never writes an offset or a type number as a
//! literal: it reads it from here. Offsets are byte offsets from the start of an object (its
//! untagged address), unless a field's doc says otherwise.

mod builds;
mod facts;
mod load;
pub use load::{gc_state_offset_of, microtask_queue_of};
mod metadata;
mod sections;
mod supplement;

use crate::size::SizeRules;
use crate::types::InstanceTypes;

/// Everything coroner knows about the V8 that made a core.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Which process and data this layout describes.
    pub source: LayoutSource,
    /// Tags of Smis, heap pointers and weak references.
    pub tagging: Tagging,
    /// Instance type numbers, by name, with the families coroner classifies by.
    pub types: InstanceTypes,
    /// How big each kind of object is.
    pub sizes: SizeRules,
    /// `HeapObject`.
    pub heap_object: HeapObjectLayout,
    /// `Map`.
    pub map: MapLayout,
    /// `JSReceiver` / `JSObject`.
    pub js_object: JsObjectLayout,
    /// `JSArray`.
    pub js_array: JsArrayLayout,
    /// `FixedArrayBase` / `FixedArray` (also contexts, hash tables and other FixedArray-shaped
    /// objects).
    pub fixed_array: FixedArrayLayout,
    /// Strings.
    pub string: StringLayout,
    /// `Oddball` (undefined, null, true, false; in Node 18/20 also the hole).
    pub oddball: OddballLayout,
    /// `HeapNumber`.
    pub heap_number: HeapNumberLayout,
    /// `DescriptorArray` (fast-mode property descriptors of a map).
    pub descriptor_array: DescriptorArrayLayout,
    /// `PropertyDetails` bit fields (in descriptors and dictionaries).
    pub property_details: PropertyDetailsLayout,
    /// `PropertyArray` (out-of-object fast properties).
    pub property_array: PropertyArrayLayout,
    /// `HashTable` and the dictionaries built on it.
    pub hash_table: HashTableLayout,
    /// `JSMap` / `JSSet` and their `OrderedHashMap` / `OrderedHashSet` tables.
    pub collections: CollectionsLayout,
    /// `JSFunction`.
    pub js_function: JsFunctionLayout,
    /// `SharedFunctionInfo`.
    pub shared_function_info: SharedFunctionInfoLayout,
    /// `Script`.
    pub script: ScriptLayout,
    /// `Context`.
    pub context: ContextLayout,
    /// `ScopeInfo`.
    pub scope_info: ScopeInfoLayout,
    /// `BytecodeArray`.
    pub bytecode_array: BytecodeArrayLayout,
    /// `SourcePosition` and the source position tables of bytecode arrays.
    pub source_position: SourcePositionLayout,
    /// `FeedbackVector`.
    pub feedback_vector: FeedbackVectorLayout,
    /// `FreeSpace` (free-list blocks in the heap).
    pub free_space: FreeSpaceLayout,
    /// `JSArrayBuffer`, `JSArrayBufferView`, `JSTypedArray`.
    pub buffers: BuffersLayout,
    /// `JSDate`, `JSRegExp`, `JSPromise`.
    pub js_misc: JsMiscLayout,
    /// Stack frames.
    pub frames: FrameLayout,
    /// `Code` (and `InstructionStream`): where JIT code keeps its machine code, source
    /// positions and inlined functions.
    pub code: CodeLayout,
    /// How long each bytecode is (V8's `Bytecodes::kBytecodeSizes`, read from the executable;
    /// `None` without it): what maps a baseline frame's pc back to its bytecode.
    pub bytecode_sizes: Option<BytecodeSizes>,
    /// Heap page (memory chunk) headers.
    pub page: PageLayout,
    /// `Isolate` / `IsolateData`.
    pub isolate: IsolateLayout,
    /// Indices into the isolate's roots table.
    pub roots: RootIndices,
    /// `PropertyCell` (the entries of a `GlobalDictionary`).
    pub property_cell: PropertyCellLayout,
    /// `Symbol`.
    pub symbol: SymbolLayout,
    /// `BigInt`.
    pub big_int: BigIntLayout,
    /// `JSBoundFunction`.
    pub js_bound_function: JsBoundFunctionLayout,
    /// `JSProxy`.
    pub js_proxy: JsProxyLayout,
    /// `JSPrimitiveWrapper` (boxed primitives).
    pub js_primitive_wrapper: JsPrimitiveWrapperLayout,
    /// `JSGeneratorObject` (also async functions and async generators).
    pub js_generator: JsGeneratorLayout,
    /// `UncompiledData` (the function data of functions not compiled yet).
    pub uncompiled_data: UncompiledDataLayout,
    /// The `Heap` fields behind `v8.getHeapStatistics()`'s limit and external memory, when the
    /// supplement has them.
    pub heap_statistics: Option<HeapStatisticsLayout>,
    /// `CallSiteInfo` (one frame of the stack an Error captured), when the supplement has it.
    pub call_site_info: Option<CallSiteInfoLayout>,
    /// `ErrorStackData` (what an Error's stack property holds in the versions that wrap the
    /// call sites), when the version has it.
    pub error_stack_data: Option<ErrorStackDataLayout>,
    /// `AccessorPair`.
    pub accessor_pair: AccessorPairLayout,
    /// `FeedbackCell`.
    pub feedback_cell: FeedbackCellLayout,
    /// `ContextCell` (V8 14: a context slot of a mutable `let`/`var` may hold one, boxing the
    /// variable's value); `None` where V8 has none.
    pub context_cell: Option<ContextCellLayout>,
    /// `JSWeakRef` and `WeakCell`: the fields the garbage collector treats as weak.
    pub weak_refs: WeakRefsLayout,
    /// `PromiseReaction` (what a pending promise's `reactions_or_result` holds).
    pub promise_reaction: PromiseReactionLayout,
    /// Elements kinds (the `ElementsKind` enum), by name.
    pub elements_kinds: ElementsKinds,
    /// `JSRegExp` flag bits, by flag letter.
    pub regexp_flags: RegExpFlags,
    /// Where V8's heap snapshot starts a JavaScript distance: what its root's shortcut edges
    /// point at (DevTools counts distances from there).
    pub user_roots: UserRoots,
    /// Whether V8's heap snapshot counts an external string's characters (kept outside the
    /// heap) in its self size, as it counts an ArrayBuffer's backing store (V8 13.6 on).
    pub external_string_payload: bool,
    /// `MicrotaskQueue` (the C++ ring buffer a native context points to), when the executable
    /// is at hand: V8 keeps its field offsets as constants its builtins read.
    pub microtask_queue: Option<MicrotaskQueueLayout>,
    /// Offset in `Heap` of `gc_state_` (which collection, if any, is under way), from the
    /// operand of `Heap::SetGCState`'s store, or this build's table.
    pub heap_gc_state: Option<u64>,
    /// Node's own postmortem constants (`nodedbg_*`): not V8's, but exported, tabled and
    /// chosen with V8's, so they travel in the same layout for the layer that reads node's
    /// C++ state.
    pub node: NodeConstants,
    missing_optional: Vec<String>,
    disagreements: Vec<Disagreement>,
    unused_keys: Vec<String>,
    measured: Vec<Measured>,
}

impl Layout {
    /// Facts of this version that neither the metadata nor the supplement gave, and that
    /// coroner can do without (each reported once, with the names it was looked up by). A
    /// required fact that is missing makes [`Layout::load`] fail instead.
    pub fn missing(&self) -> &[String] {
        &self.missing_optional
    }

    /// Facts where the metadata and the supplement (or two metadata symbols) disagree; the
    /// metadata's value was used.
    pub fn disagreements(&self) -> &[Disagreement] {
        &self.disagreements
    }

    /// Supplement keys no fact read (a misspelt key, or a fact this version of coroner no longer
    /// uses).
    pub fn unused_supplement_keys(&self) -> &[String] {
        &self.unused_keys
    }

    /// Facts measured on the core that differ from the layout's value (the value measured is
    /// the one in use): a release read with another release's table.
    pub fn measured(&self) -> &[Measured] {
        &self.measured
    }

    /// Records that `fact` was measured on the core as `core` where the layout said `table`.
    pub(crate) fn measure(&mut self, fact: &str, table: u64, core: u64) {
        self.measured.push(Measured {
            fact: fact.to_string(),
            table,
            core,
        });
    }
}

/// Node's postmortem constants (`nodedbg_*` symbols, names without the prefix): the executable's
/// runtime values over its build table's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeConstants {
    values: std::collections::BTreeMap<String, i64>,
    /// The offset of `Environment::timer_base_`, as this build's table recorded it from the
    /// executable's code (`None` without a table of this very build); the node layer reads it
    /// from the executable itself when it has it.
    pub timer_base: Option<u64>,
}

impl NodeConstants {
    pub(crate) fn new(values: std::collections::BTreeMap<String, i64>) -> NodeConstants {
        NodeConstants {
            values,
            timer_base: None,
        }
    }

    /// The constant whose name (without `nodedbg_`) starts with `prefix`: node's names end
    /// with the field's type, which the reader need not spell (`offset_Environment__req_wrap_queue_`).
    pub fn get(&self, prefix: &str) -> Option<i64> {
        self.values
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| *v)
            .next()
    }

    /// Number of constants.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none (a build without node's postmortem metadata).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A fact measured on the core instead of taken from the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// The fact (its supplement key), e.g. `isolate.heap`.
    pub fact: String,
    /// The layout's value.
    pub table: u64,
    /// The core's, which is used.
    pub core: u64,
}

/// Where a layout came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutSource {
    /// Node version as found in the process, e.g. `v20.20.2`.
    pub node_version: String,
    /// Its major number, which chose the supplement.
    pub node_major: u32,
    /// V8 version, when known.
    pub v8_version: Option<String>,
    /// The supplement file used, e.g. `node20.toml`.
    pub supplement: &'static str,
    /// Number of `v8dbg_*` constants used.
    pub metadata_constants: usize,
    /// Where those constants came from.
    pub metadata_from: MetadataOrigin,
    /// The build table used (instance types, and the constants the executable lacks), e.g.
    /// `node-20.20.2.toml`.
    pub table: &'static str,
    /// How that table was matched to the core.
    pub table_match: TableMatch,
}

impl LayoutSource {
    /// Whether the postmortem constants are this very build's: read from its executable, or
    /// from the table of its build id. Otherwise they are another release's, which the V8
    /// checks vouch for but node's own structures (`nodedbg_*`), which move between releases,
    /// cannot be trusted with.
    pub fn constants_of_this_build(&self) -> bool {
        self.metadata_from == MetadataOrigin::Executable || self.table_match == TableMatch::BuildId
    }

    /// Whether the layout must pass the checks on the core before it is trusted: true when the
    /// table is another release's (a patch release coroner has no table for).
    pub fn needs_check(&self) -> bool {
        self.table_match != TableMatch::BuildId
    }
}

/// Where the `v8dbg_*` constants came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataOrigin {
    /// The executable's own symbols (the table filled only what they lack).
    Executable,
    /// The build table: the executable was not at hand.
    Table,
    /// The build table, over the executable's own constants: the executable is of this very
    /// build (same build id) but `disagreeing` of its constants differ from the table's, so the
    /// file (or the core's copy of its data) is damaged, and the table is trusted instead.
    TableOverDamagedExecutable {
        /// How many constants differ; `first` names one.
        disagreeing: usize,
        /// One of them, as `v8dbg_NAME`.
        first: String,
    },
}

impl MetadataOrigin {
    /// A warning to give once when the constants could not be trusted, else `None`.
    pub fn warning(&self) -> Option<String> {
        match self {
            MetadataOrigin::TableOverDamagedExecutable { disagreeing, first } => Some(format!(
                "the executable's V8 constants disagree with coroner's table of its own build in {disagreeing} places ({first}, ...): the executable, or the core's copy of its data, looks damaged; using the table"
            )),
            MetadataOrigin::Executable | MetadataOrigin::Table => None,
        }
    }
}

impl Layout {
    /// A warning to give once about where the layout's constants came from (see
    /// [`MetadataOrigin::warning`]).
    pub fn warning(&self) -> Option<String> {
        self.source.metadata_from.warning()
    }
}

/// How the build table was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableMatch {
    /// The table is of this very build: its build id is the one the core keeps for the
    /// executable.
    BuildId,
    /// No table has this build's id: the table is the one whose range of releases covers the
    /// version found in the process, and is checked on the core.
    ReleaseRange,
    /// The caller chose the table ([`Layout::load_with_table`], `--node-version`); it is checked
    /// on the core.
    Chosen,
}

/// One fact given two different values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// The fact (its supplement key).
    pub fact: String,
    /// The metadata's value, which was used.
    pub metadata: i64,
    /// The other value.
    pub other: i64,
    /// Where the other value came from (`supplement`, or another `v8dbg_` symbol).
    pub other_source: String,
}

/// Tagging of values (`v8dbg_SmiShiftSize` etc., and the weak tag from the supplement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tagging {
    /// Bytes per tagged field (8: coroner refuses pointer-compressed builds).
    pub tagged_size: u64,
    /// Bytes per machine pointer.
    pub pointer_size: u64,
    /// A Smi's value is the word shifted right by this (`SmiShiftSize + SmiTagSize`).
    pub smi_shift: u32,
    /// `word & smi_tag_mask == smi_tag` for a Smi.
    pub smi_tag_mask: u64,
    /// See `smi_tag_mask`.
    pub smi_tag: u64,
    /// `word & heap_object_tag_mask == heap_object_tag` for a strong heap pointer.
    pub heap_object_tag_mask: u64,
    /// See `heap_object_tag_mask`.
    pub heap_object_tag: u64,
    /// `word & heap_object_tag_mask == weak_tag` for a weak reference (`kWeakHeapObjectTag`).
    pub weak_tag: u64,
    /// The low 32 bits of a cleared weak reference (`kClearedWeakHeapObjectLower32`).
    pub cleared_weak: u64,
}

/// `HeapObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapObjectLayout {
    /// The map word.
    pub map: u64,
}

/// `Map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapLayout {
    /// `u8` instance size in tagged words; 0 = variable size.
    pub instance_size_in_words: u64,
    /// `u8` first in-object property word (JS objects) or constructor function index.
    pub inobject_properties_start: u64,
    /// `u16` instance type.
    pub instance_type: u64,
    /// `u8` bit field.
    pub bit_field: u64,
    /// `u8` bit field 2 (elements kind).
    pub bit_field2: u64,
    /// `u32` bit field 3 (own descriptors, dictionary map).
    pub bit_field3: u64,
    /// Prototype.
    pub prototype: u64,
    /// Constructor, or the back pointer to the parent map in a transition tree.
    pub constructor_or_back_pointer: u64,
    /// `DescriptorArray`.
    pub instance_descriptors: u64,
    /// Dependent code.
    pub dependent_code: u64,
    /// Transitions or prototype info (weak).
    pub transitions_or_prototype_info: u64,
    /// Elements kind in bit field 2.
    pub elements_kind: BitRange,
    /// Number of own descriptors in bit field 3.
    pub number_of_own_descriptors: BitRange,
    /// Dictionary-map bit in bit field 3 (mask).
    pub is_dictionary_map: u64,
    /// `new_target_is_base` bit in bit field 2 (mask): the map was made for its constructor
    /// itself, not for a subclass constructor calling it through `super()`.
    pub new_target_is_base: u64,
    /// `is_prototype_map` bit in bit field 3 (mask): the map of an object used as a prototype.
    pub is_prototype_map: u64,
}

/// A bit range of an integer field: `(value & mask) >> shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    /// Mask of the bits in place.
    pub mask: u64,
    /// Right shift after masking.
    pub shift: u32,
}

impl BitRange {
    /// The range's value in `word`.
    pub fn get(&self, word: u64) -> u64 {
        (word & self.mask).checked_shr(self.shift).unwrap_or(0)
    }
}

/// `JSReceiver` / `JSObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsObjectLayout {
    /// Properties (PropertyArray, dictionary, or a Smi hash).
    pub properties_or_hash: u64,
    /// Elements backing store.
    pub elements: u64,
    /// Header size: embedder fields and in-object properties follow.
    pub header_size: u64,
}

/// `JSArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsArrayLayout {
    /// `length` (Smi or HeapNumber).
    pub length: u64,
}

/// `FixedArrayBase` / `FixedArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedArrayLayout {
    /// Smi length.
    pub length: u64,
    /// First element.
    pub header_size: u64,
    /// The bit pattern of the hole in a `FixedDoubleArray` (a NaN no arithmetic produces).
    pub double_hole: u64,
}

/// Strings: fields and instance type bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringLayout {
    /// `u32` raw hash field.
    pub raw_hash: u64,
    /// `i32` length in characters.
    pub length: u64,
    /// Characters of a sequential string.
    pub seq_chars: u64,
    /// `ConsString` first part.
    pub cons_first: u64,
    /// `ConsString` second part.
    pub cons_second: u64,
    /// `SlicedString` parent.
    pub sliced_parent: u64,
    /// `SlicedString` offset (Smi).
    pub sliced_offset: u64,
    /// `ThinString` actual (internalized) string.
    pub thin_actual: u64,
    /// `ExternalString` resource pointer.
    pub external_resource: u64,
    /// `ExternalString` cached data pointer (only in the cached external string types, whose
    /// maps are a word longer).
    pub external_resource_data: u64,
    /// Where an external string's C++ resource (a `v8::String::ExternalStringResource` or
    /// `ExternalOneByteStringResource`) holds the data pointer V8 caches for uncached external
    /// strings (`cached_data_`).
    pub resource_cached_data: u64,
    /// Instance types below this are strings.
    pub first_nonstring_type: u16,
    /// Representation bits of a string instance type.
    pub representation_mask: u16,
    /// Encoding bit of a string instance type.
    pub encoding_mask: u16,
    /// Representation: sequential.
    pub seq_tag: u16,
    /// Representation: cons.
    pub cons_tag: u16,
    /// Representation: external.
    pub external_tag: u16,
    /// Representation: sliced.
    pub sliced_tag: u16,
    /// Representation: thin.
    pub thin_tag: u16,
    /// Encoding: one byte (Latin-1).
    pub one_byte_tag: u16,
    /// Encoding: two byte (UTF-16).
    pub two_byte_tag: u16,
    /// Set in non-internalized string types.
    pub not_internalized_bit: u16,
}

/// `Oddball`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OddballLayout {
    /// `f64` numeric value.
    pub to_number_raw: u64,
    /// String value.
    pub to_string: u64,
    /// Number value.
    pub to_number: u64,
    /// `typeof` string.
    pub type_of: u64,
    /// Kind (Smi).
    pub kind: u64,
    /// Kind of `false`.
    pub kind_false: i64,
    /// Kind of `true`.
    pub kind_true: i64,
    /// Kind of `null`.
    pub kind_null: i64,
    /// Kind of `undefined`.
    pub kind_undefined: i64,
    /// Kind of the hole (`None` where the hole is a `Hole` object, Node 22+).
    pub kind_the_hole: Option<i64>,
}

/// `HeapNumber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapNumberLayout {
    /// `f64` value.
    pub value: u64,
}

/// `DescriptorArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorArrayLayout {
    /// `u16` number of descriptors allocated.
    pub number_of_all_descriptors: u64,
    /// `u16` number of descriptors in use.
    pub number_of_descriptors: u64,
    /// Enum cache.
    pub enum_cache: u64,
    /// First descriptor.
    pub header_size: u64,
    /// Tagged words per descriptor.
    pub entry_words: u64,
    /// Word index of the key within a descriptor.
    pub entry_key: u64,
    /// Word index of the details (Smi) within a descriptor.
    pub entry_details: u64,
    /// Word index of the value within a descriptor.
    pub entry_value: u64,
}

/// `PropertyDetails` (the Smi value of a descriptor's details).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyDetailsLayout {
    /// Kind: data or accessor.
    pub kind: BitRange,
    /// Kind value of accessors.
    pub kind_accessor: u64,
    /// Location: field or descriptor.
    pub location: BitRange,
    /// Location value of descriptors (the value is in the descriptor).
    pub location_descriptor: u64,
    /// Attributes (read-only 1, dont-enum 2, dont-delete 4).
    pub attributes: BitRange,
    /// The attribute bit of properties left out of enumeration (`DONT_ENUM`).
    pub dont_enum: u64,
    /// Representation.
    pub representation: BitRange,
    /// Representation value of doubles (boxed in a HeapNumber).
    pub representation_double: u64,
    /// Field index.
    pub field_index: BitRange,
    /// Enumeration index of a dictionary-mode property (its place in property order).
    pub dictionary_index: BitRange,
}

/// `PropertyArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyArrayLayout {
    /// The length and hash Smi.
    pub length_and_hash: u64,
    /// Length within that Smi's value.
    pub length: BitRange,
    /// First element.
    pub header_size: u64,
}

/// `HashTable` (FixedArray-shaped) and dictionaries, in element indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashTableLayout {
    /// Element index of the number of elements.
    pub number_of_elements_index: u64,
    /// Element index of the number of deleted elements.
    pub number_of_deleted_index: u64,
    /// Element index of the capacity.
    pub capacity_index: u64,
    /// Element index where the shape's prefix starts.
    pub prefix_start_index: u64,
    /// `NameDictionary` prefix size.
    pub name_dictionary_prefix_size: u64,
    /// `NameDictionary` words per entry (key, value, details).
    pub name_dictionary_entry_size: u64,
    /// `GlobalDictionary` words per entry (a PropertyCell).
    pub global_dictionary_entry_size: u64,
    /// `NumberDictionary` prefix size.
    pub number_dictionary_prefix_size: u64,
    /// `NumberDictionary` words per entry.
    pub number_dictionary_entry_size: u64,
    /// `GlobalDictionary` prefix size.
    pub global_dictionary_prefix_size: u64,
    /// Prefix size of the object hash tables (`EphemeronHashTable` of weak collections,
    /// `NameToIndexHashTable` of scope infos).
    pub object_hash_table_prefix_size: u64,
    /// Words per entry of those tables (key, value).
    pub object_hash_table_entry_size: u64,
    /// Index of the key within an entry of every hash table (`HashTable::kEntryKeyIndex`); a
    /// `GlobalDictionary` keeps its entry's `PropertyCell` there.
    pub entry_key_index: u64,
    /// Index of the value within a `NameDictionary` or `NumberDictionary` entry
    /// (`kEntryValueIndex`).
    pub dictionary_value_index: u64,
    /// Index of the `PropertyDetails` (Smi) within a `NameDictionary` or `NumberDictionary`
    /// entry (`kEntryDetailsIndex`).
    pub dictionary_details_index: u64,
    /// Index of the value within an object hash table's entry (`ObjectHashTableShape` and
    /// `NameToIndexShape`'s `kEntryValueIndex`).
    pub object_hash_table_value_index: u64,
}

/// `JSMap`, `JSSet` and their ordered hash tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectionsLayout {
    /// `JSCollection` table.
    pub table: u64,
    /// Element index of the number of elements in an ordered hash table.
    pub number_of_elements_index: u64,
    /// Element index of the number of deleted elements.
    pub number_of_deleted_index: u64,
    /// Element index of the number of buckets.
    pub number_of_buckets_index: u64,
    /// Element index of the first bucket.
    pub buckets_start_index: u64,
    /// Words per `OrderedHashMap` entry (key, value, chain).
    pub map_entry_words: u64,
    /// Words per `OrderedHashSet` entry (key, chain).
    pub set_entry_words: u64,
    /// Index of the key within an entry of an ordered hash table.
    pub entry_key_index: u64,
    /// Index of the value within an `OrderedHashMap` entry (`OrderedHashMap::kValueOffset`).
    pub map_value_index: u64,
}

/// `JSFunction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsFunctionLayout {
    /// `SharedFunctionInfo`.
    pub shared: u64,
    /// `Context`.
    pub context: u64,
    /// `FeedbackCell`.
    pub feedback_cell: u64,
    /// Prototype or initial map.
    pub prototype_or_initial_map: u64,
    /// `Code` (`None` with leaptiering, Node 24: a dispatch handle instead).
    pub code: Option<u64>,
    /// Whether a stack trace names a method call on a function by the function's own name
    /// (`Module.executeUserEntryPoint`) rather than its constructor's (`Function.…`).
    pub receiver_named_by_itself: bool,
}

/// `SharedFunctionInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFunctionInfoLayout {
    /// Function data (bytecode, uncompiled data, builtin id, ...); in Node 24 the trusted
    /// function data.
    pub function_data: u64,
    /// Name (String), or a `ScopeInfo` holding it.
    pub name_or_scope_info: u64,
    /// `Script` (Node 18/20: or a `DebugInfo`).
    pub script: u64,
    /// `u16` length.
    pub length: u64,
    /// `u16` formal parameter count.
    pub formal_parameter_count: u64,
    /// `u32` flags.
    pub flags: u64,
    /// `FeedbackMetadata`.
    pub feedback_metadata: u64,
    /// `u16` distance from the `function` token (or the method name) back to the start
    /// position.
    pub function_token_offset: u64,
    /// The value of that field when the distance does not fit (`kFunctionTokenOutOfRange`).
    pub function_token_out_of_range: u64,
    /// The `is_native` flag (mask): a builtin installed for JavaScript to call
    /// (`Array.prototype.forEach`), which V8's stack traces show; other builtin closures (an
    /// await's continuation) they hide.
    pub native: u64,
}

/// `Script`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptLayout {
    /// Source string.
    pub source: u64,
    /// Name.
    pub name: u64,
    /// Line offset (Smi).
    pub line_offset: u64,
    /// Column offset (Smi).
    pub column_offset: u64,
    /// Line ends (FixedArray of Smi, or undefined).
    pub line_ends: u64,
}

/// `Context` (FixedArray-shaped), in slot indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLayout {
    /// Slot of the `ScopeInfo`.
    pub scope_info_index: u64,
    /// Slot of the previous (outer) context.
    pub previous_index: u64,
    /// Slots every context has before its locals.
    pub min_slots: u64,
    /// Extra bytes of a `NativeContext` after its slots (the microtask queue pointer).
    pub native_context_extra: u64,
    /// The first of a `NativeContext`'s slots the GC treats as weak (V8 10's optimized and
    /// deoptimized code lists and next context link, its last three); `None` when every slot
    /// is strong (V8 11 on).
    pub native_context_first_weak_slot: Option<u64>,
    /// Slot of the extension (of an await closure's context: the suspended async function).
    pub extension_index: u64,
    /// Byte offset in a `NativeContext` of its `EmbedderDataArray` (where node keeps its
    /// `Environment` pointer), when the metadata has it.
    pub native_context_embedder_data: Option<u64>,
}

/// How a `ScopeInfo`'s flags are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagsEncoding {
    /// A Smi (Node 18-22).
    Smi,
    /// A raw `u32` (Node 24).
    U32,
}

/// One part of a `ScopeInfo`'s variable-length tail, in the order V8 lays them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopePart {
    /// One word, in module scopes: the number of module variables.
    ModuleVariableCount,
    /// `n` names when `n` (context locals) is below the inline limit, else one hash table.
    ContextLocalNames,
    /// `n` infos.
    ContextLocalInfos,
    /// One word when `has_saved_class_variable`.
    SavedClassVariableInfo,
    /// Two words when `function_variable != 0`.
    FunctionVariableInfo,
    /// One word when `has_inferred_function_name`.
    InferredFunctionName,
    /// Two words for the position-info scope types (and non-empty class scopes).
    PositionInfo,
    /// One word when `has_outer_scope_info`.
    OuterScopeInfo,
    /// One word when `has_locals_block_list`.
    LocalsBlockList,
    /// One word in module scopes.
    ModuleInfo,
    /// Three words per module variable, in module scopes.
    ModuleVariables,
    /// One word when `sloppy_eval_can_extend_vars`.
    DependentCode,
    /// One word in function scopes: the bits of the parameters the function never uses
    /// (V8 14.6).
    UnusedParameterBits,
}

/// `ScopeInfo`: enough to size it and to find function names and context locals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInfoLayout {
    /// Flags.
    pub flags: u64,
    /// How the flags are stored.
    pub flags_encoding: FlagsEncoding,
    /// Parameter count (Smi).
    pub parameter_count: u64,
    /// Context local count (Smi).
    pub context_local_count: u64,
    /// Start of the variable-length tail.
    pub variable_part: u64,
    /// Context local names are inlined below this count, else kept in one hash table.
    pub max_inlined_local_names: u64,
    /// The tail's parts, in order.
    pub parts: Vec<ScopePart>,
    /// Scope type in the flags.
    pub scope_type: BitRange,
    /// Scope type value of module scopes.
    pub module_scope: u64,
    /// Scope type value of class scopes.
    pub class_scope: u64,
    /// Scope type value of function scopes.
    pub function_scope: u64,
    /// Scope types whose scope infos have position info in the tail.
    pub position_info_scopes: Vec<u64>,
    /// `has_saved_class_variable` (mask).
    pub has_saved_class_variable: u64,
    /// `function_variable` allocation (non-zero = present).
    pub function_variable: BitRange,
    /// `has_inferred_function_name` (mask).
    pub has_inferred_function_name: u64,
    /// `has_outer_scope_info` (mask).
    pub has_outer_scope_info: u64,
    /// `has_locals_block_list` (mask; 0 where V8 has no such part).
    pub has_locals_block_list: u64,
    /// `is_empty` (mask).
    pub is_empty: u64,
    /// `sloppy_eval_can_extend_vars` (mask).
    pub sloppy_eval_can_extend_vars: u64,
    /// Words of one module variable entry.
    pub module_variable_words: u64,
    /// Words of position info.
    pub position_info_words: u64,
    /// Words of function variable info.
    pub function_variable_words: u64,
    /// Byte offset of the position info when it is a fixed header field (Node 24) rather than
    /// a part of the tail.
    pub position_info: Option<u64>,
}

/// `PropertyCell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyCellLayout {
    /// Property name.
    pub name: u64,
    /// `PropertyDetails` (Smi).
    pub details: u64,
    /// Value.
    pub value: u64,
}

/// `Symbol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolLayout {
    /// `u32` flags.
    pub flags: u64,
    /// Description (a String, or undefined).
    pub description: u64,
    /// Flag: private symbol (V8-internal, invisible to JS) (mask; 0 where `private_kind`
    /// says it instead).
    pub is_private: u64,
    /// Flag: well-known symbol (`Symbol.iterator`, `Symbol.toStringTag`, ...) (mask).
    pub is_well_known: u64,
    /// Flag: private name (the key of a `#field`) (mask; 0 where `private_kind` says it).
    pub is_private_name: u64,
    /// V8 14.6 replaced the private flags by a two-bit kind.
    pub private_kind: Option<PrivateSymbolKind>,
}

/// The kind of a symbol's privacy, where it is an enum in the flags rather than flag bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivateSymbolKind {
    /// Where the kind is in the flags.
    pub field: BitRange,
    /// Kind of ordinary (public) symbols.
    pub public: u64,
    /// Kind of a `#field` or `#method` name.
    pub field_name: u64,
    /// Kind of a class's private brand (a private name too).
    pub brand: u64,
}

impl SymbolLayout {
    /// Whether a symbol with `flags` is private, and whether it is a private name.
    pub fn privacy(&self, flags: u64) -> (bool, bool) {
        match self.private_kind {
            Some(k) => {
                let kind = k.field.get(flags);
                (kind != k.public, kind == k.field_name || kind == k.brand)
            }
            None => (
                flags & self.is_private != 0,
                flags & self.is_private_name != 0,
            ),
        }
    }
}

/// `BigInt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BigIntLayout {
    /// `u32` bit field: sign and length.
    pub bitfield: u64,
    /// Sign bit (mask): set for negative numbers.
    pub sign: u64,
    /// Number of 64-bit digits.
    pub length: BitRange,
    /// First digit (least significant first).
    pub digits: u64,
}

/// `JSBoundFunction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsBoundFunctionLayout {
    /// The target function.
    pub target: u64,
    /// The bound `this`.
    pub this: u64,
    /// The bound arguments (FixedArray).
    pub arguments: u64,
}

/// `JSProxy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsProxyLayout {
    /// Target.
    pub target: u64,
    /// Handler.
    pub handler: u64,
}

/// `JSPrimitiveWrapper`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsPrimitiveWrapperLayout {
    /// The wrapped primitive.
    pub value: u64,
}

/// `JSGeneratorObject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsGeneratorLayout {
    /// The generator function.
    pub function: u64,
    /// Its context.
    pub context: u64,
    /// Receiver.
    pub receiver: u64,
    /// Continuation (Smi): where it is suspended, or one of the states below.
    pub continuation: u64,
    /// Input or debug position (Smi): while suspended, the bytecode offset it resumes at,
    /// counted as an interpreted frame's saved offset is.
    pub input_or_debug_pos: u64,
    /// `JSAsyncFunctionObject::promise`: the promise an async function returned.
    pub async_function_promise: u64,
    /// The parameters and registers saved while suspended (a fixed array).
    pub parameters_and_registers: u64,
    /// Continuation of a closed generator.
    pub closed: i64,
    /// Continuation of a running generator.
    pub executing: i64,
}

/// The fields of V8's `Heap` (offsets from the `Heap` object, the address its pages point to)
/// that `v8.getHeapStatistics()` reads for `heap_size_limit` and `external_memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStatisticsLayout {
    /// `max_semi_space_size_` (bytes).
    pub max_semi_space_size: u64,
    /// Whether a paged space's pages count the open allocation area in their allocated bytes
    /// (V8 12+: the space's used size subtracts what of it is still free).
    pub allocated_bytes_count_open_lab: bool,
    /// How many semi-space sizes the limit counts (`Heap::MaxReserved()`: two semi-spaces and
    /// a new large object space as big as one).
    pub semi_space_factor: u64,
    /// `max_old_generation_size_` (bytes): in the `Heap`, or in the object the `Heap` points
    /// to at `max_old_generation_size_holder` (V8 14.6).
    pub max_old_generation_size: u64,
    /// Where the `Heap` points to the object holding `max_old_generation_size`, when it does.
    pub max_old_generation_size_holder: Option<u64>,
    /// The external memory V8 accounts (bytes): `external_memory_`, or from V8 14.6 the
    /// backing store bytes, to which the array buffer sweeper's own count is added.
    pub external_memory: u64,
    /// `(where the Heap points to its ArrayBufferSweeper, its byte count)`, when the external
    /// memory figure adds it.
    pub array_buffer_sweeper: Option<(u64, u64)>,
}

/// `CallSiteInfo`: a frame of the stack an Error captured, kept until `.stack` is read (and
/// formatted) or a `prepareStackTrace` hook asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSiteInfoLayout {
    /// The receiver (or, for a constructor call, the instance being built).
    pub receiver_or_instance: u64,
    /// The `JSFunction`.
    pub function: u64,
    /// The code that ran: a `BytecodeArray` for an interpreted frame, a `Code` object otherwise.
    pub code_object: u64,
    /// Smi: the bytecode (or machine code) offset, or, once computed, the source position.
    pub code_offset_or_source_position: u64,
    /// Smi bit field.
    pub flags: u64,
    /// The mask of `flags` that says the offset field holds the source position (`None` where
    /// not established: the offset is then read as a bytecode offset, which it is until a
    /// `prepareStackTrace` hook asks for a position).
    pub source_position_computed: Option<u64>,
    /// The mask of `flags` that says the frame is a `new` call, where established.
    pub is_constructor: Option<u64>,
    /// The mask of `flags` that says the frame is an async function awaiting, where established.
    pub is_async: Option<u64>,
    /// When the error keeps its call sites inline, as one `FixedArray` of records of this many
    /// slots each in the order of a `CallSiteInfo`'s fields (V8 14.x), rather than as an array
    /// of `CallSiteInfo` objects.
    pub inline_stride: Option<u64>,
    /// `BytecodeWrapper`'s bytecode field, where inline records point at wrappers.
    pub bytecode_wrapper_bytecode: Option<u64>,
}

/// `ErrorStackData`: the call sites and, once formatted, the stack string, in one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorStackDataLayout {
    /// The `FixedArray` of call sites, or the formatted stack once `.stack` was read.
    pub call_site_infos_or_formatted_stack: u64,
    /// The stack trace limit (Smi), or the stack frame infos the inspector asked for.
    pub limit_or_stack_frame_infos: u64,
}

/// `UncompiledData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UncompiledDataLayout {
    /// Inferred name (String).
    pub inferred_name: u64,
    /// `i32` start position in the script.
    pub start_position: u64,
    /// `i32` end position.
    pub end_position: u64,
}

/// `AccessorPair`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessorPairLayout {
    /// Getter.
    pub getter: u64,
    /// Setter.
    pub setter: u64,
}

/// `FeedbackCell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackCellLayout {
    /// The cell's value (a feedback vector, a closure feedback cell array, or undefined).
    pub value: u64,
}

/// `ContextCell`: a boxed context variable, its value tagged or (after optimised code stored
/// an int32 or a float64 into it) raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextCellLayout {
    /// The tagged value.
    pub value: u64,
    /// `u32` state: which of the two values is current.
    pub state: u64,
    /// The raw value (`i32` or `f64`, by state).
    pub raw_value: u64,
    /// State whose value is the raw `i32`.
    pub state_int32: u64,
    /// State whose value is the raw `f64`.
    pub state_float64: u64,
}

/// The weak fields of `JSWeakRef` and `WeakCell` (tagged as strong pointers in memory; the
/// garbage collector's visitors treat them as weak).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeakRefsLayout {
    /// `JSWeakRef::target`.
    pub js_weak_ref_target: u64,
    /// `WeakCell::target`.
    pub weak_cell_target: u64,
    /// `WeakCell::unregister_token`.
    pub weak_cell_unregister_token: u64,
}

/// `PromiseReaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromiseReactionLayout {
    /// The next reaction of the list (or Smi 0).
    pub next: u64,
    /// The rejection handler.
    pub reject_handler: u64,
    /// The fulfillment handler.
    pub fulfill_handler: u64,
    /// The derived promise or capability.
    pub promise_or_capability: u64,
}

/// The `ElementsKind` numbers of one version, by V8's name (`PACKED_SMI_ELEMENTS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ElementsKinds {
    by_name: Vec<(String, u64)>,
}

impl ElementsKinds {
    /// A table from (name, number) pairs.
    pub fn new(mut by_name: Vec<(String, u64)>) -> ElementsKinds {
        by_name.sort_by_key(|&(_, n)| n);
        ElementsKinds { by_name }
    }

    /// The number of the kind named `name`.
    pub fn number(&self, name: &str) -> Option<u64> {
        self.by_name
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
    }

    /// The name of kind number `kind`.
    pub fn name(&self, kind: u64) -> Option<&str> {
        self.by_name
            .iter()
            .find(|&&(_, v)| v == kind)
            .map(|(n, _)| n.as_str())
    }

    /// Every (name, number), by number.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.by_name.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

/// `JSRegExp` flags: the bit of each flag letter, in the order JS prints them (`dgimsuvy`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegExpFlags {
    /// (letter, mask), in print order.
    pub flags: Vec<(char, u64)>,
}

impl RegExpFlags {
    /// The flags string of a flags value, as `RegExp.prototype.flags` prints it.
    pub fn text(&self, value: u64) -> String {
        self.flags
            .iter()
            .filter(|&&(_, mask)| value & mask != 0)
            .map(|&(c, _)| c)
            .collect()
    }
}

/// `BytecodeArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BytecodeArrayLayout {
    /// Length in bytes (Smi).
    pub length: u64,
    /// First bytecode (`kHeaderSize`).
    pub header_size: u64,
    /// Source position table.
    pub source_position_table: u64,
    /// `i32` size in bytes of the interpreter's register file for this function.
    pub frame_size: Option<u64>,
}

/// `SourcePosition` (a position in a script, as V8 packs it in a 64-bit word), and the source
/// position tables that map a bytecode array's code offsets to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePositionLayout {
    /// `IsExternalField` (mask): the position is a line of a file outside any script (in code
    /// V8 generates), not a script offset.
    pub is_external: u64,
    /// `ScriptOffsetField`: the script offset, stored plus `script_offset_bias`.
    pub script_offset: BitRange,
    /// What the stored script offset adds to the offset (1: a stored 0 is no position).
    pub script_offset_bias: i64,
    /// The code offset a table's first entry counts from (`kFunctionEntryBytecodeOffset`: the
    /// function's entry, before its first bytecode).
    pub function_entry_offset: i64,
    /// Low bits of a table entry's code offset delta that hold flags (V8 14: `is_statement`,
    /// `is_breakable`; the delta is unsigned above them). `None` where the delta is zig-zag
    /// signed and a negative one marks an expression position.
    pub code_delta_flag_bits: Option<u32>,
    /// `InliningIdField`: in JIT code's tables, which inlined function the position is in,
    /// stored plus `inlining_id_bias` (a stored 0 is the code's own function).
    pub inlining_id: BitRange,
    /// What the stored inlining id adds to the id.
    pub inlining_id_bias: u64,
}

/// What V8's heap snapshot links from its root as the user's roots (shortcut edges): the
/// objects DevTools counts distances from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRoots {
    /// The global objects (V8 up to 14.1).
    GlobalObjects,
    /// The native contexts, one hop before their global objects (V8 14.6).
    NativeContexts,
}

/// `Code`, `InstructionStream` and `DeoptimizationData`: what maps a pc in JIT code back to
/// source positions, the inlined functions included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLayout {
    /// Offset of the first instruction in the object that holds the machine code (the `Code`
    /// object itself in V8 10, its `InstructionStream` from V8 11).
    pub instructions: u64,
    /// `Code::deoptimization_data` (a fixed array of the slots below).
    pub deoptimization_data: u64,
    /// `Code::source_position_table`; baseline code keeps its bytecode offset table there.
    pub source_position_table: u64,
    /// Slot of the deoptimization data's literal array (the inlined functions' shared infos).
    pub literal_array_index: u64,
    /// Slot of the deoptimization data's inlining positions (a byte array of entries).
    pub inlining_positions_index: u64,
    /// Bytes of one `InliningPosition`.
    pub inlining_position_size: u64,
    /// Offset in an `InliningPosition` of the `i32` literal array index of the function.
    pub inlining_position_function: u64,
}

/// Where a `v8::internal::MicrotaskQueue` keeps its ring buffer of queued microtasks: V8's own
/// `MicrotaskQueue::k*Offset` constants (`size_t`s in the executable's read-only data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MicrotaskQueueLayout {
    /// `intptr_t size_`: how many are queued.
    pub size: u64,
    /// `intptr_t capacity_`.
    pub capacity: u64,
    /// `intptr_t start_`: the ring index of the first.
    pub start: u64,
    /// `Address* ring_buffer_`.
    pub ring_buffer: u64,
}

/// What `V8_Fatal` keeps on the stack for crash processors (`base::FailureMessage`, in V8's
/// `src/base/logging.cc`, the same from V8 10.2 to 14): a start marker word, the formatted
/// message in a fixed buffer, an end marker word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureMessageLayout {
    /// `kStartMarker`.
    pub start_marker: u64,
    /// `kEndMarker`.
    pub end_marker: u64,
    /// `kMessageBufferSize`: bytes of the message buffer between the markers.
    pub buffer: u64,
}

/// V8's [`FailureMessageLayout`].
pub const FAILURE_MESSAGE: FailureMessageLayout = FailureMessageLayout {
    start_marker: 0xdeca_de10,
    end_marker: 0xdeca_de11,
    buffer: 512,
};

/// `Heap::SetGCState(HeapState)`, whose one store names `gc_state_`'s offset.
pub const SET_GC_STATE_SYMBOL: &str = "_ZN2v88internal4Heap10SetGCStateENS1_9HeapStateE";

/// V8's `Heap::HeapState`, in its order (unchanged from V8 10.2 to 14: `NOT_IN_GC`, `SCAVENGE`,
/// `MARK_COMPACT`, the minor mark-compact or mark-sweep, `TEAR_DOWN`), as coroner says them.
pub const HEAP_STATES: [&str; 5] = [
    "not in a garbage collection",
    "scavenge",
    "mark-compact",
    "minor mark-compact",
    "tear-down",
];

/// The symbols of [`MicrotaskQueueLayout`]'s constants, in its field order.
pub const MICROTASK_QUEUE_SYMBOLS: [&str; 4] = [
    "_ZN2v88internal14MicrotaskQueue11kSizeOffsetE",
    "_ZN2v88internal14MicrotaskQueue15kCapacityOffsetE",
    "_ZN2v88internal14MicrotaskQueue12kStartOffsetE",
    "_ZN2v88internal14MicrotaskQueue17kRingBufferOffsetE",
];

/// The symbol of V8's table of bytecode lengths (`v8::internal::interpreter::Bytecodes::
/// kBytecodeSizes`, `uint8_t[3][kBytecodeCount]`), which no build exports as a constant: read
/// from the executable, or from the build's table (`cargo xtask layouts` records it).
pub const BYTECODE_SIZES_SYMBOL: &str = "_ZN2v88internal11interpreter9Bytecodes14kBytecodeSizesE";
/// Most bytes read for it (V8 14 has about 210 bytecodes).
pub const MAX_BYTECODE_SIZES: usize = 3 * 1024;

/// V8's bytecode lengths, by operand scale (single, wide, extra wide) and bytecode number,
/// and the prefix bytecodes that select the scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytecodeSizes {
    /// `kBytecodeSizes[scale][bytecode]`, row after row.
    pub sizes: Vec<u8>,
    /// The bytecodes that make the next one wide (`Wide`, `DebugBreakWide`).
    pub wide: Vec<u8>,
    /// The bytecodes that make the next one extra wide.
    pub extra_wide: Vec<u8>,
}

impl BytecodeSizes {
    /// The length of the bytecode at the start of `code` (its prefix included), `None` when
    /// `code` is empty or holds no bytecode this table knows.
    pub fn length_at(&self, code: &[u8]) -> Option<u64> {
        let count = self.sizes.len() / 3;
        let first = *code.first()?;
        let (scale, prefix) = if self.wide.contains(&first) {
            (1, 1)
        } else if self.extra_wide.contains(&first) {
            (2, 1)
        } else {
            (0, 0)
        };
        let bytecode = usize::from(*code.get(prefix)?);
        if bytecode >= count {
            return None;
        }
        let size = *self.sizes.get(scale * count + bytecode)?;
        (size > 0).then(|| u64::from(size) + prefix as u64)
    }
}

/// `FeedbackVector`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackVectorLayout {
    /// `i32` number of slots.
    pub length: u64,
    /// First slot.
    pub header_size: u64,
}

/// `FreeSpace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSpaceLayout {
    /// Size (Smi).
    pub size: u64,
    /// Bytes per unit of that size: 1 (bytes) or the tagged size (Node 24 counts words).
    pub size_unit: u64,
}

/// `JSArrayBuffer`, `JSArrayBufferView`, `JSTypedArray`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuffersLayout {
    /// `JSArrayBuffer` backing store pointer.
    pub backing_store: u64,
    /// `JSArrayBuffer` byte length.
    pub buffer_byte_length: u64,
    /// `JSArrayBufferView` buffer.
    pub view_buffer: u64,
    /// `JSArrayBufferView` byte offset.
    pub view_byte_offset: u64,
    /// `JSArrayBufferView` byte length.
    pub view_byte_length: u64,
    /// `JSTypedArray` length (`None` from V8 14, which derives it from the byte length).
    pub typed_array_length: Option<u64>,
    /// `JSTypedArray` external pointer.
    pub typed_array_external_pointer: u64,
    /// `JSTypedArray` base pointer.
    pub typed_array_base_pointer: u64,
}

/// How a number field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberEncoding {
    /// A tagged Number: a Smi or a pointer to a HeapNumber.
    Tagged,
    /// A raw `f64`.
    Float64,
}

/// `JSDate`, `JSRegExp`, `JSPromise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsMiscLayout {
    /// `JSDate` value (milliseconds since the epoch).
    pub date_value: u64,
    /// How the `JSDate` value is stored (a raw `f64` in Node 24).
    pub date_value_encoding: NumberEncoding,
    /// `JSRegExp` data.
    pub regexp_data: u64,
    /// `JSRegExp` source.
    pub regexp_source: u64,
    /// `JSRegExp` flags (Smi).
    pub regexp_flags: u64,
    /// `JSPromise` reactions or result.
    pub promise_reactions_or_result: u64,
    /// `JSPromise` flags (Smi).
    pub promise_flags: u64,
    /// Promise state in the flags.
    pub promise_status: BitRange,
    /// State value of pending promises.
    pub promise_pending: u64,
    /// State value of fulfilled promises.
    pub promise_fulfilled: u64,
    /// State value of rejected promises.
    pub promise_rejected: u64,
    /// `has_handler` bit in the flags (mask).
    pub promise_has_handler: u64,
}

/// Stack frames: frame-pointer-relative slots and frame type numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameLayout {
    /// Context, or the frame type marker of typed frames.
    pub fp_context_or_frame_type: i64,
    /// JSFunction.
    pub fp_function: i64,
    /// First argument (receiver).
    pub fp_args: i64,
    /// BytecodeArray of interpreted frames.
    pub fp_bytecode_array: i64,
    /// Bytecode offset of interpreted frames.
    pub fp_bytecode_offset: i64,
    /// Argument count of JS frames, receiver included (supplement: the metadata lacks it).
    pub fp_argc: Option<i64>,
    /// An entry frame's saved `c_entry_fp` of the JS stack segment outside it (0 at the
    /// outermost entry frame; supplement).
    pub entry_next_exit_fp: Option<i64>,
    /// An exit frame's saved stack pointer: the return address into the exit frame's code is
    /// the word below it (supplement).
    pub exit_sp: Option<i64>,
    /// Offset from an interpreted frame's fp of register r0 (r1 is 8 bytes below, ...).
    pub register_file: Option<i64>,
    /// `Code.flags` (u32), whose low bits are the code kind.
    pub code_flags: Option<u64>,
    /// Mask and shift of the code kind in `Code.flags`.
    pub code_kind_mask: Option<i64>,
    /// Shift of the code kind in `Code.flags`.
    pub code_kind_shift: Option<i64>,
    /// The code kinds of JIT frames: baseline (Sparkplug), Maglev, Turbofan.
    pub code_kind_baseline: Option<i64>,
    /// Maglev's code kind.
    pub code_kind_maglev: Option<i64>,
    /// Turbofan's code kind.
    pub code_kind_turbofan: Option<i64>,
    /// Offset of an `InstructionStream`'s `Code` (absent where code objects hold their code).
    pub instruction_stream_code: Option<u64>,
    /// Every `StackFrame::Type` of this version: name (`EntryFrame`) -> number.
    pub types: Vec<(String, i64)>,
}

impl FrameLayout {
    /// The number of a frame type, by its metadata name (`InterpretedFrame`).
    pub fn frame_type(&self, name: &str) -> Option<i64> {
        self.types.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// The name of frame type number `n`.
    pub fn frame_type_name(&self, n: i64) -> Option<&str> {
        self.types
            .iter()
            .find(|&&(_, v)| v == n)
            .map(|(name, _)| name.as_str())
    }
}

/// Where a heap page's header fields live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageHeader {
    /// The chunk header and its metadata are on the page (V8 10-11, Node 18/20).
    OnPage,
    /// The chunk holds a pointer to its metadata, which is placed on the page itself (V8 12.4,
    /// Node 22): the pointer equals the page address.
    MetadataOnPage,
    /// The chunk holds a pointer to metadata allocated elsewhere (V8 13.6, Node 24).
    MetadataOffPage,
}

/// Heap page (memory chunk) headers. Field offsets are from the metadata, which is the page
/// itself for [`PageHeader::OnPage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageLayout {
    /// Where the header fields are.
    pub header: PageHeader,
    /// Page size and alignment (256 KiB); large-object pages are multiples of it.
    pub page_size: u64,
    /// Flags word, from the page.
    pub flags: u64,
    /// Metadata pointer, from the page (`None` for [`PageHeader::OnPage`]).
    pub metadata_pointer: Option<u64>,
    /// Chunk size.
    pub size: u64,
    /// Owning `Heap*`.
    pub heap: u64,
    /// First object address.
    pub area_start: u64,
    /// End of the object area.
    pub area_end: u64,
    /// High water mark: the highest allocation top seen, as an offset from the page.
    pub high_water_mark: u64,
    /// The bytes allocated on the page (`allocated_bytes_`, what a space's used size sums),
    /// where the supplement has it.
    pub allocated_bytes: Option<u64>,
    /// The next page's metadata in the owner's list of pages (`heap::ListNode::next_`).
    pub list_next: u64,
    /// The previous page's metadata in that list (`heap::ListNode::prev_`): each link is
    /// checked both ways before the walk trusts the list's order.
    pub list_prev: u64,
    /// Owning space (`BaseSpace*`).
    pub owner: u64,
    /// The reservation's start address, which is the page itself for pages with a reservation
    /// (used to recognise off-page metadata).
    pub reservation_address: Option<u64>,
    /// `area_start - page` is at most this for every real page.
    pub max_header_size: u64,
    /// Chunks are at least this big (read-only pages are shrunk to fit their objects).
    pub min_size: u64,
    /// Chunk sizes are multiples of this (the OS page size).
    pub size_granularity: u64,
    /// `BaseSpace::heap_`, from the owner.
    pub space_heap: u64,
    /// `BaseSpace::id_` (`u32` AllocationSpace), from the owner.
    pub space_id: u64,
    /// `Space::memory_chunk_list_` (front, then back), from the owner: a page is the heap's
    /// only while it is in this list.
    pub space_pages: u64,
    /// Flag: page of the read-only heap.
    pub flag_read_only: u64,
    /// Flag: large-object page.
    pub flag_large: u64,
    /// Flag: executable (code) page, in the word `executable_flags` says.
    pub flag_executable: u64,
    /// Where `flag_executable` is: `None` in the chunk's flags word (`flags`); else the offset
    /// in the metadata of its own flags word (V8 14 keeps executability in the page metadata:
    /// the chunk's main-thread flags hold only what the write barrier needs).
    pub executable_flags: Option<u64>,
    /// Flag: new-space page that is the from-space of the last scavenge (holds stale objects).
    pub flag_from_page: u64,
    /// Flag: new-space to-space page.
    pub flag_to_page: u64,
    /// AllocationSpace numbers of this version.
    pub spaces: Vec<(u32, crate::pages::Space)>,
}

impl PageLayout {
    /// The space with AllocationSpace number `id`.
    pub fn space(&self, id: u32) -> Option<crate::pages::Space> {
        self.spaces.iter().find(|(n, _)| *n == id).map(|&(_, s)| s)
    }
}

/// `Isolate` / `IsolateData` offsets, from the isolate's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsolateLayout {
    /// The roots table (`kIsolateRootsOffset`).
    pub roots: u64,
    /// `Heap` (what page headers point to).
    pub heap: u64,
    /// A pointer to the isolate itself (`stack_guard.isolate_`), the self-check.
    pub self_pointer: u64,
    /// The main thread's new-space `LinearAllocationArea`.
    pub new_allocation_info: u64,
    /// The main thread's old-space `LinearAllocationArea`.
    pub old_allocation_info: u64,
    /// `start` within a `LinearAllocationArea`.
    pub lab_start: u64,
    /// `top` within a `LinearAllocationArea`.
    pub lab_top: u64,
    /// `limit` within a `LinearAllocationArea`.
    pub lab_limit: u64,
    /// `ThreadLocalTop`.
    pub thread_local_top: u64,
    /// `c_entry_fp` within `ThreadLocalTop`: frame pointer of the topmost exit frame.
    pub c_entry_fp: u64,
    /// `js_entry_sp` within `ThreadLocalTop`: frame pointer of the outermost entry frame.
    pub js_entry_sp: u64,
    /// `isolate_` within `ThreadLocalTop`.
    pub thread_local_top_isolate: u64,
}

/// Indices of well-known entries of the roots table (each a tagged word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootIndices {
    /// `undefined`.
    pub undefined: u64,
    /// The hole.
    pub the_hole: u64,
    /// `null`.
    pub null: u64,
    /// `true`.
    pub true_value: u64,
    /// `false`.
    pub false_value: u64,
}
