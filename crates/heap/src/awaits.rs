//! Awaits: the async functions waiting, one on another, for the one that runs, as V8's async
//! stack traces find them (`CaptureAsyncStackTrace` in src/execution/isolate.cc).
//!
//! An async function resumed after an `await` runs from a microtask whose handler is a builtin
//! closure; that closure's context keeps the async function's object (a `JSAsyncFunctionObject`)
//! in its extension slot. From there the chain goes: the function's promise, the one reaction
//! registered on it (the `await` of its caller, whose handler is again such a closure), the
//! caller's object, its promise, and so on. A reaction of a plain `.then` is followed through
//! the promise it derives. The walk stops where V8's does: a settled promise, no reaction or
//! more than one, or anything else.

use crate::model::HeapModel;

/// Most links of an await chain followed (V8 stops at the stack trace limit, 10 by default).
const MAX_CHAIN: usize = 1024;

/// One suspended async function of an await chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaiting {
    /// Its `JSAsyncFunctionObject`.
    pub generator: u64,
    /// The async function (`JSFunction`).
    pub function: u64,
    /// Its receiver (tagged).
    pub receiver: u64,
    /// Where it is suspended: the offset of the bytecode it resumes at, in the function's
    /// bytecode array.
    pub bytecode_offset: Option<i64>,
}

impl HeapModel<'_> {
    /// The async function object a builtin await continuation at `function` resumes: the
    /// extension of its context, when the function is a builtin closure (no script) and that
    /// slot holds an async function object.
    pub fn resumed_by(&self, function: u64) -> Option<u64> {
        let layout = self.layout();
        let sfi = self.function_shared(function).ok()?;
        if self.shared_info(sfi).ok()?.script.is_some() {
            return None;
        }
        let context = self.function_context(function).ok()?;
        let word = self
            .array_element(context, layout.context.extension_index)
            .ok()?;
        let generator = layout.tagging.strong(word)?;
        self.is_async_function_object(generator)
            .then_some(generator)
    }

    /// Whether the async function object at `generator` is running (resumed, not suspended).
    pub fn is_executing(&self, generator: u64) -> bool {
        let g = &self.layout().js_generator;
        self.smi(generator, g.continuation, "continuation")
            .is_ok_and(|c| c == g.executing)
    }

    /// The async functions awaiting the one whose object is `generator`, nearest first.
    pub fn await_chain(&self, generator: u64) -> Vec<Awaiting> {
        let layout = self.layout();
        let mut chain = Vec::new();
        let Some(mut promise) = self.async_function_promise(generator) else {
            return chain;
        };
        for _ in 0..MAX_CHAIN {
            let Some(reaction) = self.only_reaction(promise) else {
                break;
            };
            let pr = &layout.promise_reaction;
            let handler = self
                .field(reaction, pr.fulfill_handler)
                .ok()
                .and_then(|w| layout.tagging.strong(w));
            if let Some(awaiting) = handler.and_then(|h| self.resumed_by(h)) {
                chain.push(self.awaiting(awaiting));
                match self.async_function_promise(awaiting) {
                    Some(next) => promise = next,
                    None => break,
                }
            } else {
                // A `.then` of some other kind: follow the promise it derives.
                match self
                    .field(reaction, pr.promise_or_capability)
                    .ok()
                    .and_then(|w| layout.tagging.strong(w))
                    .filter(|&p| self.is_promise(p))
                {
                    Some(next) => promise = next,
                    None => break,
                }
            }
        }
        chain
    }

    /// What an await chain shows of a suspended async function.
    pub(crate) fn awaiting(&self, generator: u64) -> Awaiting {
        let layout = self.layout();
        let g = &layout.js_generator;
        let function = self
            .pointer(generator, g.function, "generator function")
            .unwrap_or_default();
        let receiver = self.field(generator, g.receiver).unwrap_or_default();
        // V8 keeps the resume offset counted from the bytecode array's tagged address, as an
        // interpreted frame keeps its own.
        let header = i64::try_from(layout.bytecode_array.header_size).unwrap_or(0);
        let tag = i64::try_from(layout.tagging.heap_object_tag).unwrap_or(0);
        let bytecode_offset = self
            .smi(generator, g.input_or_debug_pos, "resume offset")
            .ok()
            .and_then(|raw| raw.checked_sub(header)?.checked_add(tag));
        Awaiting {
            generator,
            function,
            receiver,
            bytecode_offset,
        }
    }

    /// The promise of the async function object at `generator`.
    fn async_function_promise(&self, generator: u64) -> Option<u64> {
        let layout = self.layout();
        let promise = self
            .pointer(
                generator,
                layout.js_generator.async_function_promise,
                "async function's promise",
            )
            .ok()?;
        self.is_promise(promise).then_some(promise)
    }

    /// The one reaction of a pending promise, when it has exactly one.
    fn only_reaction(&self, promise: u64) -> Option<u64> {
        let layout = self.layout();
        if !self.is_pending_promise(promise) {
            return None;
        }
        let word = self
            .field(promise, layout.js_misc.promise_reactions_or_result)
            .ok()?;
        let reaction = layout.tagging.strong(word)?;
        let header = self.header(reaction).ok()?;
        if Some(header.instance_type) != layout.types.number("PROMISE_REACTION_TYPE") {
            return None;
        }
        let next = self
            .field(reaction, layout.promise_reaction.next)
            .ok()
            .and_then(|w| layout.tagging.smi(w));
        (next == Some(0)).then_some(reaction)
    }

    fn is_promise(&self, addr: u64) -> bool {
        self.header(addr)
            .is_ok_and(|h| h.instance_type == self.layout().types.js_promise)
    }

    fn is_async_function_object(&self, addr: u64) -> bool {
        let layout = self.layout();
        self.header(addr).is_ok_and(|h| {
            Some(h.instance_type) == layout.types.number("JS_ASYNC_FUNCTION_OBJECT_TYPE")
        })
    }
}
