//! [`HeapModel`]: the V8 heap of a core with the knowledge to decode it — object headers, the
//! class of every instance type, reads of fields, and the per-map caches (descriptors and
//! [`MapFacts`](crate::MapFacts)) that the decoders and the census share.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use coroner_image::ProcessImage;
use coroner_v8::layout::Layout;
use coroner_v8::map::{is_map, read_map};
use coroner_v8::{Damage, Heap, HeapError, Isolate, MapInfo, Page, PageWalk, Reader};

use crate::error::DecodeError;
use crate::maps::MapFacts;
use crate::properties::Descriptor;
use crate::redact::Redactor;

/// Longest FixedArray-shaped object believed, in elements: no array is longer than the address
/// space it would cover, so a longer length is garbage.
const MAX_ARRAY_LENGTH: u64 = 1 << 32;

/// What an object is, by instance type: the families the decoders and the census tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// Any string representation.
    String,
    /// A boxed double.
    HeapNumber,
    /// `undefined`, `null`, `true`, `false` (and, before V8 12, the hole and other sentinels).
    Oddball,
    /// The hole (V8 12+: `Hole` objects).
    Hole,
    /// A symbol.
    Symbol,
    /// A BigInt.
    BigInt,
    /// An ordinary JS object: plain objects, class instances, API (embedder) objects, the
    /// global object, arguments, iterators, and every JS receiver without a class of its own.
    Object,
    /// `JSArray`.
    Array,
    /// `JSFunction` (every type of the JS function range, class constructors included).
    Function,
    /// `JSBoundFunction`.
    BoundFunction,
    /// `JSProxy`.
    Proxy,
    /// `JSPrimitiveWrapper` (`new Number(5)`, `Object(1n)`, ...).
    PrimitiveWrapper,
    /// `JSMap`.
    Map,
    /// `JSSet`.
    Set,
    /// `JSWeakMap`.
    WeakMap,
    /// `JSWeakSet`.
    WeakSet,
    /// `JSDate`.
    Date,
    /// `JSRegExp`.
    RegExp,
    /// `JSError`.
    Error,
    /// `JSPromise`.
    Promise,
    /// `JSArrayBuffer`.
    ArrayBuffer,
    /// `JSTypedArray` (Node's `Buffer` is one).
    TypedArray,
    /// `JSDataView`.
    DataView,
    /// Generator objects, async function objects and async generators.
    Generator,
    /// Contexts (closure scopes, the native context, ...).
    Context,
    /// `SharedFunctionInfo`.
    SharedFunctionInfo,
    /// `Script`.
    Script,
    /// Free space and fillers.
    Free,
    /// Every other V8-internal object (maps, fixed arrays, code, feedback, ...).
    Internal,
}

impl Class {
    /// Whether objects of this class are JS receivers (objects JS code can hold).
    pub fn is_receiver(self) -> bool {
        !matches!(
            self,
            Class::String
                | Class::HeapNumber
                | Class::Oddball
                | Class::Hole
                | Class::Symbol
                | Class::BigInt
                | Class::Context
                | Class::SharedFunctionInfo
                | Class::Script
                | Class::Free
                | Class::Internal
        )
    }
}

/// Instance types the analyses single out beyond their [`Class`]: the roots of the heap and the
/// stores whose references are named from the objects that own them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A global object (`JSGlobalObject`): a root, whose properties are globals.
    GlobalObject,
    /// A native context: a root, the realm's builtins and script contexts.
    NativeContext,
    /// The dictionary of a global object's properties (its values are `PropertyCell`s).
    GlobalDictionary,
    /// An `AllocationSite`: holds the boilerplate V8 copies for each evaluation of a literal.
    AllocationSite,
    /// An internalized string: in the string table, which V8's heap snapshot counts among the
    /// roots.
    InternalizedString,
    /// An `EphemeronHashTable` (a WeakMap's or WeakSet's table): each value lives as long as
    /// its key and the table ([`HeapModel::ephemeron_pairs`]).
    EphemeronTable,
}

/// The header of a heap object: where it is, its map, and its instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The object's untagged address.
    pub addr: u64,
    /// Its map's untagged address.
    pub map: u64,
    /// Its instance type.
    pub instance_type: u16,
}

/// A concurrent cache keyed by map address.
pub(crate) struct Cache<T> {
    entries: RwLock<HashMap<u64, Arc<T>>>,
}

impl<T> Cache<T> {
    fn new() -> Cache<T> {
        Cache {
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached entry for `key`, or the one `make` builds (outside the lock: `make` may use
    /// other caches). When two threads build the same entry, the first stored wins.
    pub(crate) fn get_or(&self, key: u64, make: impl FnOnce() -> T) -> Arc<T> {
        if let Ok(map) = self.entries.read() {
            if let Some(v) = map.get(&key) {
                return Arc::clone(v);
            }
        }
        let value = Arc::new(make());
        match self.entries.write() {
            Ok(mut map) => Arc::clone(map.entry(key).or_insert(value)),
            Err(_) => value,
        }
    }
}

/// The V8 heap of a core, with what it takes to decode its objects.
///
/// Decoding is read-only and thread-safe: a `HeapModel` is `Send + Sync` and its caches fill as
/// objects are decoded, from any thread.
pub struct HeapModel<'a> {
    heap: Heap<'a>,
    classes: Vec<Class>,
    /// The slot rule of each instance type (as many as `classes`), computed once: reading an
    /// object's edges asks for it per object.
    slot_rules: Vec<crate::slots::SlotRule>,
    roles: Vec<(u16, Role)>,
    pub(crate) descriptors: Cache<Result<Vec<Descriptor>, DecodeError>>,
    pub(crate) facts: Cache<MapFacts>,
    pub(crate) to_string_tag: OnceLock<Option<u64>>,
    /// The process image, when the model was opened from one: it says which file holds bytes
    /// the core lacks.
    image: Option<&'a ProcessImage>,
    /// Set (by Ctrl-C at the prompt) to give up the work in progress: see
    /// [`HeapModel::check_interrupt`].
    interrupt: Option<Arc<AtomicBool>>,
    /// Set by `--redact`: the values decoded for output withhold string contents and bytes
    /// (see [`Redactor`]).
    redactor: Option<Redactor>,
}

/// What work given up at [`HeapModel::check_interrupt`] unwinds with: a payload, not a panic,
/// for whoever started the work to catch (`std::panic::catch_unwind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl<'a> HeapModel<'a> {
    /// Opens the heap of `image` (its layout, isolates and pages; see [`Heap::open`]).
    pub fn open(image: &'a ProcessImage) -> Result<HeapModel<'a>, HeapError> {
        HeapModel::open_with_layout(image, Layout::load(image)?)
    }

    /// Opens the heap of `image` with a layout already loaded (e.g. a chosen release's table,
    /// [`Layout::load_with_table`], which [`Heap::with_layout`] checks on the core).
    pub fn open_with_layout(
        image: &'a ProcessImage,
        layout: Layout,
    ) -> Result<HeapModel<'a>, HeapError> {
        let mut model = HeapModel::new(Heap::with_layout(image.memory(), layout)?);
        model.image = Some(image);
        Ok(model)
    }

    /// Why a part of a value could not be decoded, for its `error`: with, when the bytes
    /// missing are a file's the core does not hold (node's own module sources are in the
    /// executable), which file and how to supply it.
    pub(crate) fn failure(&self, e: &DecodeError) -> String {
        let hint = match e {
            DecodeError::Read(r) => self.image.and_then(|i| i.file_hint(r.addr())),
            _ => None,
        };
        match hint {
            Some(hint) => format!("{e}; {hint}"),
            None => e.to_string(),
        }
    }

    /// The model of a heap already opened.
    pub fn new(heap: Heap<'a>) -> HeapModel<'a> {
        let classes = classify(heap.layout());
        let roles = roles(heap.layout());
        let types = classes.len();
        let mut model = HeapModel {
            heap,
            classes,
            slot_rules: Vec::new(),
            roles,
            descriptors: Cache::new(),
            facts: Cache::new(),
            to_string_tag: OnceLock::new(),
            image: None,
            interrupt: None,
            redactor: None,
        };
        model.slot_rules = (0..types)
            .map_while(|t| u16::try_from(t).ok())
            .map(|t| model.compute_slot_rule(t))
            .collect();
        model
    }

    /// Gives up long work (walks of every page, the analyses' loops) once `flag` is set.
    pub fn with_interrupt(mut self, flag: Arc<AtomicBool>) -> HeapModel<'a> {
        self.interrupt = Some(flag);
        self
    }

    /// Withholds string contents and bytes from the values decoded for output ([`Value`]s,
    /// short forms, Error stacks), unless a query asks to see them
    /// ([`InspectOptions::reveal`], for analyses that read values as data).
    ///
    /// [`Value`]: crate::Value
    /// [`InspectOptions::reveal`]: crate::InspectOptions::reveal
    pub fn with_redaction(mut self, redactor: Redactor) -> HeapModel<'a> {
        self.redactor = Some(redactor);
        self
    }

    /// The redactor, when output is redacted.
    pub fn redactor(&self) -> Option<&Redactor> {
        self.redactor.as_ref()
    }

    /// Gives up the work in progress when the interrupt flag is set, by unwinding with the
    /// payload [`Interrupted`] (`resume_unwind`: no panic hook runs, nothing is printed). A
    /// result built in a `OnceLock` is then not kept, so the next query builds it afresh, whole;
    /// nothing half-built is ever seen. Long loops call this once per page or per object.
    pub fn check_interrupt(&self) {
        if self
            .interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
        {
            std::panic::resume_unwind(Box::new(Interrupted));
        }
    }

    /// The slot rule of instance type `t`, computed once at opening.
    pub(crate) fn cached_slot_rule(&self, t: u16) -> Option<crate::slots::SlotRule> {
        self.slot_rules.get(usize::from(t)).copied()
    }

    /// The heap of the V8 layer: layout, memory, isolates, pages and walks. Decoders of this
    /// crate read through it; the layers above use the model's own queries.
    pub(crate) fn heap(&self) -> &Heap<'a> {
        &self.heap
    }

    /// Every isolate's heap figures, as `v8.getHeapStatistics()` and
    /// `v8.getHeapSpaceStatistics()` would have given them (see [`Heap::statistics`]).
    pub fn statistics(&self) -> Vec<coroner_v8::HeapStatistics> {
        self.heap.statistics()
    }

    /// The heap as the V8 layer sees it, for the other users of that layer (the unwinder walks
    /// frames with it). The analyses decode nothing through it: they ask the model.
    pub fn v8_heap(&self) -> &Heap<'a> {
        &self.heap
    }

    /// The layout: every offset and type number of this core's V8.
    pub fn layout(&self) -> &Layout {
        self.heap.layout()
    }

    /// Every isolate, by address.
    pub fn isolates(&self) -> &[Isolate] {
        self.heap.isolates()
    }

    /// Every heap page, by address.
    pub fn pages(&self) -> &[Page] {
        self.heap.pages()
    }

    /// The page whose object area holds `addr`.
    pub fn page_of(&self, addr: u64) -> Option<&Page> {
        self.heap.page_of(addr)
    }

    /// A walk over the objects of `page`.
    pub fn walk(&self, page: &Page) -> PageWalk<'_> {
        self.heap.walk(page)
    }

    /// Runs `f` on every page with a walk of it, in parallel; the results in page order.
    pub fn par_map_pages<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(&Page, PageWalk<'_>) -> R + Sync + Send,
    {
        self.heap.par_map_pages(|page, walk| {
            self.check_interrupt();
            f(page, walk)
        })
    }

    /// Every range of the heap not read as objects (a damaged core: see [`Damage`]), in page
    /// order; empty for a healthy heap. Whatever lived in a range is missing from every answer
    /// that walks the heap, and references held there are not seen. Walks the whole heap the
    /// first time.
    pub fn damage(&self) -> Vec<Damage> {
        self.heap.damage()
    }

    /// A reader of `page`'s object area, for reading many objects of one page (see
    /// [`HeapModel::for_each_reference`]).
    pub fn page_reader(&self, page: &Page) -> Reader<'a> {
        self.heap.page_reader(page)
    }

    /// Whether `addr` is in the read-only heap, which every isolate shares and no GC collects.
    pub fn is_read_only(&self, addr: u64) -> bool {
        self.heap.is_read_only(addr)
    }

    /// The isolate the object at `addr` belongs to (index into the heap's isolates; `None` for
    /// the read-only heap, which all isolates share, or an address on no page).
    pub fn isolate_of(&self, addr: u64) -> Option<usize> {
        self.heap.page_of(addr)?.isolate
    }

    /// The class of instance type `t`.
    pub fn class_of(&self, t: u16) -> Class {
        self.classes
            .get(usize::from(t))
            .copied()
            .unwrap_or(Class::Internal)
    }

    /// What V8's heap snapshot holds from its root as the user's roots (DevTools' distances
    /// count from them).
    pub fn user_roots(&self) -> coroner_v8::layout::UserRoots {
        self.layout().user_roots
    }

    /// What the analyses single out instance type `t` for, if anything.
    pub fn role_of(&self, t: u16) -> Option<Role> {
        self.roles
            .iter()
            .find_map(|&(rt, role)| (rt == t).then_some(role))
    }

    /// The object address an address-like word names: a tagged pointer (strong or weak) without
    /// its tag, any other word as it is (an address typed without its tag).
    pub fn untag(&self, word: u64) -> u64 {
        self.layout().tagging.untag(word)
    }

    /// The object a tagged word points to, when it is a strong heap pointer.
    pub fn pointer_target(&self, word: u64) -> Option<u64> {
        self.layout().tagging.strong(word)
    }

    /// V8's name of instance type `t` (`"JS_OBJECT_TYPE"`), or its number.
    pub fn type_name(&self, t: u16) -> String {
        match self.layout().types.name(t) {
            Some(n) => n.to_string(),
            None => format!("instance type {t}"),
        }
    }

    /// The word at `addr`.
    pub(crate) fn word(&self, addr: u64) -> Result<u64, DecodeError> {
        Ok(self.heap.memory().read_u64(addr)?)
    }

    /// The tagged field at byte offset `off` of the object at `addr`.
    pub(crate) fn field(&self, addr: u64, off: u64) -> Result<u64, DecodeError> {
        self.word(addr.wrapping_add(off))
    }

    /// The Smi field at `off` (an error naming `what` when it is not a Smi).
    pub(crate) fn smi(&self, addr: u64, off: u64, what: &'static str) -> Result<i64, DecodeError> {
        let w = self.field(addr, off)?;
        self.layout().tagging.smi(w).ok_or(DecodeError::Invalid {
            addr,
            what,
            value: w,
        })
    }

    /// The strong pointer field at `off` (an error naming `what` when it is something else).
    pub(crate) fn pointer(
        &self,
        addr: u64,
        off: u64,
        what: &'static str,
    ) -> Result<u64, DecodeError> {
        let w = self.field(addr, off)?;
        self.layout().tagging.strong(w).ok_or(DecodeError::Invalid {
            addr,
            what,
            value: w,
        })
    }

    /// `u32` at `addr + off`.
    pub(crate) fn u32_at(&self, addr: u64, off: u64) -> Result<u32, DecodeError> {
        Ok(self.heap.memory().read_u32(addr.wrapping_add(off))?)
    }

    /// `f64` at `addr + off`.
    pub(crate) fn f64_at(&self, addr: u64, off: u64) -> Result<f64, DecodeError> {
        Ok(self.heap.memory().read_f64(addr.wrapping_add(off))?)
    }

    /// The header of the heap object at untagged `addr`: its map must be a map.
    pub fn header(&self, addr: u64) -> Result<Header, DecodeError> {
        let layout = self.layout();
        let word = self.field(addr, layout.heap_object.map)?;
        let map = match layout.tagging.strong(word) {
            Some(m) if is_map(layout, self.heap.memory(), word) => m,
            _ => return Err(DecodeError::NotAnObject { addr, word }),
        };
        let instance_type = self
            .heap
            .memory()
            .read_u16(map.wrapping_add(layout.map.instance_type))?;
        Ok(Header {
            addr,
            map,
            instance_type,
        })
    }

    /// The decoded fixed header of the map at `map`.
    pub fn map_info(&self, map: u64) -> Result<MapInfo, DecodeError> {
        Ok(read_map(self.layout(), self.heap.memory(), map)?)
    }

    /// The length of a FixedArray-shaped object (a Smi at `fixed_array.length`), at most
    /// [`MAX_ARRAY_LENGTH`].
    pub(crate) fn array_length(&self, addr: u64) -> Result<u64, DecodeError> {
        let layout = self.layout();
        let n = self.smi(addr, layout.fixed_array.length, "array length")?;
        let n = u64::try_from(n).map_err(|_| DecodeError::Invalid {
            addr,
            what: "array length",
            value: n as u64,
        })?;
        if n > MAX_ARRAY_LENGTH {
            return Err(DecodeError::Invalid {
                addr,
                what: "array length",
                value: n,
            });
        }
        Ok(n)
    }

    /// Element `i` of a FixedArray-shaped object (raw tagged word).
    pub(crate) fn array_element(&self, addr: u64, i: u64) -> Result<u64, DecodeError> {
        let layout = self.layout();
        let off = i
            .checked_mul(layout.tagging.tagged_size)
            .and_then(|o| o.checked_add(layout.fixed_array.header_size))
            .ok_or(DecodeError::Invalid {
                addr,
                what: "array index",
                value: i,
            })?;
        self.field(addr, off)
    }

    /// The class of the object a tagged word points to (`None` for Smis and non-objects).
    pub(crate) fn class_of_word(&self, word: u64) -> Option<(Header, Class)> {
        let addr = self.layout().tagging.strong(word)?;
        let h = self.header(addr).ok()?;
        Some((h, self.class_of(h.instance_type)))
    }

    /// Whether a tagged word is the hole (a hole oddball or a `Hole` object).
    pub(crate) fn is_hole(&self, word: u64) -> bool {
        match self.class_of_word(word) {
            Some((_, Class::Hole)) => true,
            Some((h, Class::Oddball)) => {
                let l = self.layout();
                l.oddball.kind_the_hole.is_some()
                    && self.smi(h.addr, l.oddball.kind, "oddball kind").ok()
                        == l.oddball.kind_the_hole
            }
            _ => false,
        }
    }

    /// Whether a tagged word is `undefined`.
    pub(crate) fn is_undefined(&self, word: u64) -> bool {
        self.oddball_kind(word) == Some(self.layout().oddball.kind_undefined)
    }

    /// The kind of the oddball a tagged word points to.
    pub(crate) fn oddball_kind(&self, word: u64) -> Option<i64> {
        match self.class_of_word(word) {
            Some((h, Class::Oddball)) => self
                .smi(h.addr, self.layout().oddball.kind, "oddball kind")
                .ok(),
            _ => None,
        }
    }
}

/// The instance types that have a [`Role`], with it.
fn roles(layout: &Layout) -> Vec<(u16, Role)> {
    let types = &layout.types;
    let mut roles = vec![
        (types.js_global_object, Role::GlobalObject),
        (types.native_context, Role::NativeContext),
        (types.global_dictionary, Role::GlobalDictionary),
    ];
    if let Some(t) = types.number("ALLOCATION_SITE_TYPE") {
        roles.push((t, Role::AllocationSite));
    }
    if let Some(t) = types.number("EPHEMERON_HASH_TABLE_TYPE") {
        roles.push((t, Role::EphemeronTable));
    }
    roles.extend(
        types
            .iter()
            .filter(|&(t, _)| types.string_shape(t).is_some_and(|s| s.internalized))
            .map(|(t, _)| (t, Role::InternalizedString)),
    );
    roles
}

/// The class of every instance type number of the layout.
fn classify(layout: &Layout) -> Vec<Class> {
    let types = &layout.types;
    let max = types.iter().map(|(t, _)| t).max().unwrap_or(0);
    let max = max.max(types.js_api_object.last);
    let mut classes = vec![Class::Internal; usize::from(max) + 1];
    let named = |name: &str| types.number(name);
    for (t, slot) in classes.iter_mut().enumerate() {
        let Ok(t) = u16::try_from(t) else { break };
        *slot = if types.is_string(t) {
            Class::String
        } else if t == types.heap_number {
            Class::HeapNumber
        } else if t == types.oddball {
            Class::Oddball
        } else if Some(t) == types.hole {
            Class::Hole
        } else if t == types.symbol {
            Class::Symbol
        } else if t == types.big_int {
            Class::BigInt
        } else if types.is_free(t) {
            Class::Free
        } else if types.is_context(t) {
            Class::Context
        } else if t == types.shared_function_info {
            Class::SharedFunctionInfo
        } else if t == types.script {
            Class::Script
        } else if t == types.js_array {
            Class::Array
        } else if types.is_js_function(t) {
            Class::Function
        } else if t == types.js_bound_function {
            Class::BoundFunction
        } else if Some(t) == named("JS_PROXY_TYPE") {
            Class::Proxy
        } else if t == types.js_primitive_wrapper {
            Class::PrimitiveWrapper
        } else if t == types.js_map {
            Class::Map
        } else if t == types.js_set {
            Class::Set
        } else if t == types.js_weak_map {
            Class::WeakMap
        } else if t == types.js_weak_set {
            Class::WeakSet
        } else if t == types.js_date {
            Class::Date
        } else if t == types.js_reg_exp {
            Class::RegExp
        } else if t == types.js_error {
            Class::Error
        } else if t == types.js_promise {
            Class::Promise
        } else if t == types.js_array_buffer {
            Class::ArrayBuffer
        } else if t == types.js_typed_array {
            Class::TypedArray
        } else if t == types.js_data_view || Some(t) == named("JS_RAB_GSAB_DATA_VIEW_TYPE") {
            Class::DataView
        } else if [
            "JS_GENERATOR_OBJECT_TYPE",
            "JS_ASYNC_FUNCTION_OBJECT_TYPE",
            "JS_ASYNC_GENERATOR_OBJECT_TYPE",
        ]
        .iter()
        .any(|n| named(n) == Some(t))
        {
            Class::Generator
        } else if types.is_js_receiver(t) || types.is_js_api_object(t) {
            Class::Object
        } else {
            Class::Internal
        };
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<HeapModel<'static>>();
    }
}
