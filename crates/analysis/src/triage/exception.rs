//! The value an uncaught exception threw. Under `--abort-on-uncaught-exception` V8 aborts inside
//! `Isolate::Throw`, called by the runtime function the `throw` bytecode calls
//! (`Runtime_Throw`, `Runtime_ReThrow`) with the thrown value as its one argument. The runtime
//! call's exit frame keeps its arguments above its frame pointer, where the heap model reads
//! it ([`HeapModel::runtime_call_argument`]); the value is then decoded: constructor, message
//! and the stack it captured (the call sites, or the string once `.stack` was read).

use coroner_heap::{Class, ErrorStack, HeapModel, Slot};

use crate::stacks::{NamedFrame, NamedKind};

/// The runtime functions whose one argument is the thrown value.
const THROWERS: [&str; 2] = [
    "v8::internal::Runtime_Throw(",
    "v8::internal::Runtime_ReThrow(",
];

/// A thrown value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thrown {
    /// The value as a tagged word.
    pub word: u64,
    /// Its untagged address, when it is a heap object.
    pub address: Option<u64>,
    /// How `inspect` shows it in short (`<TypeError 0x...>`, `"text"`, `42`).
    pub short: String,
    /// Its constructor's name (the census name), for an object.
    pub constructor: Option<String>,
    /// Its `message` property, when a string.
    pub message: Option<String>,
    /// The stack it captured, for an Error.
    pub stack: Option<ErrorStack>,
}

/// The value thrown by the `throw` the crashing thread is in, when its frames show one. Without
/// the executable's symbols the runtime function is not named: the innermost runtime call's
/// argument is then taken only when it is an Error.
pub(crate) fn thrown(model: &HeapModel<'_>, frames: &[NamedFrame]) -> Option<Thrown> {
    let thrower = frames
        .iter()
        .position(|f| THROWERS.iter().any(|t| f.function.starts_with(t)));
    let exit = frames
        .get(thrower.map_or(0, |i| i + 1)..)?
        .iter()
        .find(|f| matches!(&f.kind, NamedKind::V8 { frame_type } if frame_type.is_exit()))?;
    let word = model.runtime_call_argument(exit.fp?)?;
    let is_error = || {
        model
            .pointer_target(word)
            .and_then(|a| model.header(a).ok())
            .is_some_and(|h| model.class_of(h.instance_type) == Class::Error)
    };
    (thrower.is_some() || is_error()).then(|| decode(model, word))
}

/// The thrown value `word`, decoded.
fn decode(model: &HeapModel<'_>, word: u64) -> Thrown {
    let address = model
        .pointer_target(word)
        .filter(|&a| model.header(a).is_ok());
    let constructor = address.and_then(|a| {
        let h = model.header(a).ok()?;
        Some(model.census_name_of(a, &model.map_facts(h.map)).to_string())
    });
    let message = address.and_then(|a| {
        model
            .own_properties(a)
            .ok()?
            .into_iter()
            .find_map(|p| match p.slot {
                Slot::Data(w) if p.key.is("message") => {
                    model.shown_string(model.pointer_target(w)?, None).ok()
                }
                _ => None,
            })
    });
    Thrown {
        word,
        address,
        short: model.short(word),
        constructor,
        message,
        stack: address.and_then(|a| model.error_stack(a)),
    }
}
