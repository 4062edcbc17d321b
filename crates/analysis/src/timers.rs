//! Node's JavaScript timers (`timers`): every `Timeout` still scheduled (linked into one of node's
//! timer lists) and every `Immediate` still queued, with its callback, its delay and when it is
//! next due by its loop's clock.
//!
//! Node keeps them as JS objects (`lib/internal/timers.js`): a `Timeout` has `_idleTimeout` (the
//! delay as given, -1 once cleared), `_onTimeout` (the callback), `_repeat` (the interval, or
//! null), `_idleStart` (the loop's time when it was last scheduled), `_destroyed`, and while it
//! is scheduled `_idlePrev`/`_idleNext`, its links in the list of its delay; an `Immediate` has
//! `_onImmediate` and `_destroyed`. One libuv timer handle per loop fires them all.

use coroner_heap::{HeapModel, Key, Slot, ValueKind};

use crate::nodestate::{callback, primitive, symbol_described, Callback};

/// One scheduled timer or queued immediate.
#[derive(Debug, Clone, PartialEq)]
pub struct Timer {
    /// The `Timeout` or `Immediate` object.
    pub address: u64,
    /// `timeout`, `interval` or `immediate`.
    pub kind: TimerKind,
    /// Its isolate.
    pub isolate: Option<usize>,
    /// What it calls.
    pub callback: Option<Callback>,
    /// The delay in ms as given (`setTimeout(f, ms)`), for timeouts and intervals.
    pub timeout: Option<f64>,
    /// When it is next due, in ms from its loop's time (negative: overdue); `None` when the
    /// loop's time is unknown.
    pub due_in: Option<f64>,
    /// Whether it keeps the process alive (`unref()` not called).
    pub referenced: Option<bool>,
}

/// What kind of timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// `setTimeout`.
    Timeout,
    /// `setInterval` (a `Timeout` with `_repeat`).
    Interval,
    /// `setImmediate`.
    Immediate,
}

impl TimerKind {
    /// The name shown and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Timeout => "timeout",
            TimerKind::Interval => "interval",
            TimerKind::Immediate => "immediate",
        }
    }
}

/// The own data properties of a JS object, looked up by name.
struct Props(Vec<(Key, u64)>);

impl Props {
    fn of(model: &HeapModel<'_>, addr: u64) -> Props {
        Props(
            model
                .own_properties(addr)
                .map(|ps| {
                    ps.into_iter()
                        .filter_map(|p| match p.slot {
                            Slot::Data(w) => Some((p.key, w)),
                            Slot::Accessor(_) => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    }

    fn word(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(k, _)| k.is(name)).map(|(_, w)| *w)
    }

    fn symbol(&self, description: &str) -> Option<u64> {
        self.0
            .iter()
            .find(|(k, _)| symbol_described(k, description))
            .map(|(_, w)| *w)
    }
}

/// The timer `Timeout` or `Immediate` object at `addr` is, if it is still scheduled; `now` is
/// its loop's time.
pub(crate) fn timer(
    model: &HeapModel<'_>,
    addr: u64,
    immediate: bool,
    isolate: Option<usize>,
    now: Option<u64>,
) -> Option<Timer> {
    let props = Props::of(model, addr);
    let value = |w: Option<u64>| w.and_then(|w| primitive(model, w));
    let number = |name: &str| value(props.word(name)).and_then(|v| v.as_f64());
    let boolean = |w: Option<u64>| match value(w)?.kind {
        ValueKind::Boolean(b) => Some(b),
        _ => None,
    };
    if boolean(props.word("_destroyed")) == Some(true) {
        return None;
    }
    let referenced = boolean(props.symbol("refed"));
    if immediate {
        let callback = props
            .word("_onImmediate")
            .and_then(|w| callback(model, w))?;
        return Some(Timer {
            address: addr,
            kind: TimerKind::Immediate,
            isolate,
            callback: Some(callback),
            timeout: None,
            due_in: None,
            referenced,
        });
    }
    // Scheduled: linked into a list (a cleared or fired timeout has null links) with a delay.
    let linked = props
        .word("_idlePrev")
        .and_then(|w| model.pointer_target(w))
        .is_some_and(|a| {
            model
                .header(a)
                .is_ok_and(|h| model.class_of(h.instance_type).is_receiver())
        });
    let timeout = number("_idleTimeout").filter(|&t| t >= 0.0)?;
    if !linked {
        return None;
    }
    let repeat = number("_repeat");
    let due_in = number("_idleStart")
        .zip(now)
        .map(|(start, now)| start + timeout - now as f64);
    Some(Timer {
        address: addr,
        kind: if repeat.is_some() {
            TimerKind::Interval
        } else {
            TimerKind::Timeout
        },
        isolate,
        callback: props.word("_onTimeout").and_then(|w| callback(model, w)),
        timeout: Some(timeout),
        due_in,
        referenced,
    })
}
