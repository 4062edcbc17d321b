//! The heap model of coroner: what the V8 objects of a core mean.
//!
//! Built on the V8 layout layer ([`coroner_v8`], re-exported as [`v8`]), which finds the heap
//! and walks it; this crate decodes objects: constructor names and the census name of every map
//! ([`MapFacts`], decided once per map and cached), own properties in property order (fast and
//! dictionary mode), elements of every kind, strings of every representation, numbers, BigInts,
//! symbols, functions with their scripts and positions, closure contexts, collections, dates,
//! regexps, errors, promises, buffers, proxies, bound functions and generators. `inspect` turns
//! any of them into a [`Value`] tree, typed data: a [`ValueKind`] per kind of value, each
//! carrying exactly what that kind can have (the CLI writes it as the JSON schema of
//! `docs/values.md`; this crate knows no format). [`Value::short`] gives the one-line form
//! tables use. [`HeapModel::edges`] lists the
//! references an object holds, each named ([`EdgeName`]), for `findrefs` and `retainers`.
//!
//! Layer: heap model. It reads memory through the V8 layer and the process image, and must not
//! depend on the analyses or the CLI. Every offset and type number comes from the
//! [`Layout`](coroner_v8::Layout); every walk over core data is bounded; errors are values
//! ([`DecodeError`]) that carry the address.
//!
//! ```no_run
//! use coroner_heap::{HeapModel, InspectOptions};
//! use coroner_image::{OpenOptions, ProcessImage};
//! let image = ProcessImage::open("core".as_ref(), &OpenOptions::default())?;
//! let model = HeapModel::open(&image)?;
//! let value = model.inspect(0x1a4494d4fbc8, &InspectOptions::default())?;
//! println!("{}", value.short());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod awaits;
mod calls;
mod code;
mod edges;
mod elements;
mod embedder;
mod error;
mod errors;
mod fields;
mod functions;
mod inspect;
mod maps;
mod model;
mod outside;
mod owned;
mod promises;
mod properties;
mod receivers;
mod redact;
mod slots;
mod strings;
mod value;
mod vlq;

pub use awaits::Awaiting;
pub use code::{CodeTier, JitCode, JitPosition};
/// The V8 layer's types that the model's structure queries hand out (pages, isolates, walks,
/// readers). The layout itself stays below: decoding is this crate's job.
pub use coroner_v8::layout::UserRoots;
pub use coroner_v8::types::StringRepresentation;
pub use coroner_v8::{
    fatal_message, Damage, HeapError, HeapStatistics, Isolate, MapInfo, ObjectRef, Page, PageKind,
    PageWalk, Reader, Space, SpaceStatistics, StuckReason, WalkEnd,
};
pub use edges::{Edge, EdgeName};
pub use elements::{ElementValue, Elements};
pub use error::DecodeError;
pub use errors::{CallSite, ErrorStack};
pub use functions::{LineColumn, SharedInfo};
pub use inspect::{iso_date, InspectOptions, Inspection, MAX_EXPANDED};
pub use maps::MapFacts;
pub use model::{Class, Header, HeapModel, Interrupted, Role};
pub use promises::{MicrotaskQueue, Reaction};
pub use properties::{Descriptor, Key, Location, Property as OwnProperty, Slot};
pub use redact::{Redactor, MAX_DIGESTED};
pub use slots::SlotRule;
pub use strings::JsString;
pub use value::{
    number_text, Element, FunctionDetail, GeneratorState, Internal, InternalSlots, JsObject,
    MapDescription, MapEntry, PromiseState, Property, Value, ValueKind, Variable, View,
};
