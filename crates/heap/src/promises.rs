//! What waits on promises (`promises`): a pending promise's reactions (each `await` and `.then`
//! registered on it, with the async function an `await` suspended), and the microtasks a native
//! context's queue holds (V8's `MicrotaskQueue`, a C++ ring buffer the context points to).

use crate::awaits::Awaiting;
use crate::model::HeapModel;

/// Most reactions read from one promise, and microtasks from one queue: more is garbage.
const MAX_LIST: usize = 1 << 20;

/// One reaction registered on a pending promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaction {
    /// The `PromiseReaction`.
    pub address: u64,
    /// The function called on fulfilment (a builtin closure for an `await`).
    pub fulfill_handler: Option<u64>,
    /// The function called on rejection.
    pub reject_handler: Option<u64>,
    /// For an `await`: the async function it suspended.
    pub awaiting: Option<Awaiting>,
    /// For a `.then`: the promise it derives.
    pub derived: Option<u64>,
}

/// A native context's microtask queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrotaskQueue {
    /// The `MicrotaskQueue` object (C++).
    pub address: u64,
    /// How many microtasks are queued.
    pub size: u64,
    /// The queued microtasks (heap objects: `CallableTask`, `PromiseFulfillReactionJobTask`, ...),
    /// first to run first.
    pub tasks: Vec<u64>,
}

impl HeapModel<'_> {
    /// Whether the promise at `addr` is pending.
    pub fn is_pending_promise(&self, addr: u64) -> bool {
        let layout = self.layout();
        let js = &layout.js_misc;
        self.header(addr)
            .is_ok_and(|h| h.instance_type == layout.types.js_promise)
            && self
                .smi(addr, js.promise_flags, "promise flags")
                .ok()
                .and_then(|f| u64::try_from(f).ok())
                .is_some_and(|f| js.promise_status.get(f) == js.promise_pending)
    }

    /// The reactions of the pending promise at `promise`, in the order they were registered;
    /// `None` when it is not a pending promise.
    pub fn pending_reactions(&self, promise: u64) -> Option<Vec<Reaction>> {
        if !self.is_pending_promise(promise) {
            return None;
        }
        let layout = self.layout();
        let pr = &layout.promise_reaction;
        let reaction_type = layout.types.number("PROMISE_REACTION_TYPE");
        let strong = |w: Result<u64, _>| w.ok().and_then(|w| layout.tagging.strong(w));
        let mut out = Vec::new();
        let mut word = self
            .field(promise, layout.js_misc.promise_reactions_or_result)
            .ok()?;
        for _ in 0..MAX_LIST {
            let Some(at) = layout.tagging.strong(word) else {
                break;
            };
            if self.header(at).ok().map(|h| h.instance_type) != reaction_type {
                break;
            }
            let fulfill_handler = strong(self.field(at, pr.fulfill_handler))
                .filter(|&f| self.function_shared(f).is_ok());
            let reject_handler = strong(self.field(at, pr.reject_handler))
                .filter(|&f| self.function_shared(f).is_ok());
            let awaiting = fulfill_handler
                .and_then(|h| self.resumed_by(h))
                .map(|g| self.awaiting(g));
            let derived = strong(self.field(at, pr.promise_or_capability)).filter(|&p| {
                self.header(p)
                    .is_ok_and(|h| h.instance_type == layout.types.js_promise)
            });
            out.push(Reaction {
                address: at,
                fulfill_handler,
                reject_handler,
                awaiting,
                derived,
            });
            word = self.field(at, pr.next).ok()?;
        }
        // V8 pushes each new reaction at the head of the list.
        out.reverse();
        Some(out)
    }

    /// Whether microtask queues can be read: V8's `MicrotaskQueue` offsets come from the
    /// executable's constants.
    pub fn knows_microtask_queues(&self) -> bool {
        self.layout().microtask_queue.is_some()
    }

    /// The microtask queue of the native context at `native_context`, when the layout knows
    /// V8's `MicrotaskQueue` and the context's pointer leads to a queue that checks out
    /// (size within capacity, start inside the ring).
    pub fn microtask_queue(&self, native_context: u64) -> Option<MicrotaskQueue> {
        let layout = self.layout();
        let q = layout.microtask_queue?;
        let size = self.shallow_size(native_context).ok()?;
        let slot = native_context
            .checked_add(size)?
            .checked_sub(layout.context.native_context_extra)?;
        let address = self.word(slot).ok().filter(|&a| a != 0)?;
        let read = |off: u64| self.word(address.wrapping_add(off)).ok();
        let (count, capacity, start) = (read(q.size)?, read(q.capacity)?, read(q.start)?);
        let ring = read(q.ring_buffer)?;
        if count > capacity || capacity > MAX_LIST as u64 || (capacity > 0 && start >= capacity) {
            return None;
        }
        let tasks = (0..count)
            .filter_map(|i| {
                let index = (start + i) % capacity.max(1);
                let word = self
                    .word(ring.wrapping_add(index * layout.tagging.pointer_size))
                    .ok()?;
                layout.tagging.strong(word)
            })
            .collect();
        Some(MicrotaskQueue {
            address,
            size: count,
            tasks,
        })
    }
}
