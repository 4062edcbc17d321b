//! `promises`: the pending promises something waits on (an `await` that suspended an async
//! function, a `.then`), and the microtasks queued in each isolate: where a hung async program
//! stands.

use coroner_heap::{HeapModel, Reaction};

use crate::index::ObjectIndex;
use crate::nodestate::{callback_at, census_name, native_contexts, Callback};
use crate::stacks::{async_frame, AsyncFrame};

/// One pending promise and what waits on it.
#[derive(Debug, Clone)]
pub struct PendingPromise {
    /// The promise.
    pub address: u64,
    /// Its isolate.
    pub isolate: Option<usize>,
    /// What waits on it, in the order it was registered.
    pub waiters: Vec<Waiter>,
}

/// One reaction on a pending promise.
#[derive(Debug, Clone)]
pub enum Waiter {
    /// An `await`: the async function suspended there, at the line of the `await`.
    Await(AsyncFrame),
    /// A `.then`/`.catch`/`.finally` (or a promise combinator's): its handlers and the promise
    /// it derives.
    Then {
        /// The fulfilment handler.
        on_fulfilled: Option<Callback>,
        /// The rejection handler.
        on_rejected: Option<Callback>,
        /// The derived promise.
        derived: Option<u64>,
    },
}

/// One isolate's queue of microtasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMicrotasks {
    /// The isolate.
    pub isolate: Option<usize>,
    /// The `MicrotaskQueue` (C++).
    pub queue: u64,
    /// The tasks, first to run first: address and census name.
    pub tasks: Vec<(u64, String)>,
}

/// What `promises` finds.
#[derive(Debug, Clone)]
pub struct Promises {
    /// The pending promises listed.
    pub pending: Vec<PendingPromise>,
    /// How many promises are pending in all (with or without waiters).
    pub total_pending: usize,
    /// Each isolate's queued microtasks.
    pub microtasks: Vec<QueuedMicrotasks>,
    /// Whether the queues could be read at all (they need the executable).
    pub microtasks_known: bool,
}

/// The pending promises among `promises` (with at least one waiter unless `all`).
pub(crate) fn pending(
    model: &HeapModel<'_>,
    promises: &[u64],
    all: bool,
) -> (Vec<PendingPromise>, usize) {
    let mut pending = 0;
    let mut out = Vec::new();
    for &p in promises {
        let Some(reactions) = model.pending_reactions(p) else {
            continue;
        };
        pending += 1;
        if reactions.is_empty() && !all {
            continue;
        }
        out.push(PendingPromise {
            address: p,
            isolate: model.isolate_of(p),
            waiters: reactions.iter().map(|r| waiter(model, r)).collect(),
        });
    }
    (out, pending)
}

fn waiter(model: &HeapModel<'_>, r: &Reaction) -> Waiter {
    match &r.awaiting {
        Some(a) => Waiter::Await(async_frame(model, a)),
        None => Waiter::Then {
            on_fulfilled: r.fulfill_handler.and_then(|f| callback_at(model, f)),
            on_rejected: r.reject_handler.and_then(|f| callback_at(model, f)),
            derived: r.derived,
        },
    }
}

/// The microtasks queued in each native context's queue (contexts sharing a queue, as node's
/// do, counted once).
pub(crate) fn queued(model: &HeapModel<'_>, index: &ObjectIndex) -> Vec<QueuedMicrotasks> {
    let mut out: Vec<QueuedMicrotasks> = Vec::new();
    for (context, isolate) in native_contexts(model, index) {
        let Some(q) = model.microtask_queue(context) else {
            continue;
        };
        if out.iter().any(|o| o.queue == q.address) {
            continue;
        }
        out.push(QueuedMicrotasks {
            isolate: Some(isolate),
            queue: q.address,
            tasks: q
                .tasks
                .iter()
                .map(|&t| (t, census_name(model, t)))
                .collect(),
        });
    }
    out.sort_by_key(|q| q.isolate);
    out
}
