//! Everything node holds, read in one pass: the Environments behind the native contexts, their
//! loops (the default loop first), each loop's handles matched to the wrappers that own them,
//! the requests in flight, and what could not be read.

use coroner_heap::HeapModel;
use coroner_image::ProcessImage;

use crate::code::timer_base_offset;
use crate::env::{environments, Environment, Wrap};
use crate::layout::NodeLayout;
use crate::loops::{default_loop, loop_of_wrap, read_loop, EventLoop};
use crate::requests::{request_of, Request};

/// What [`read`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reading {
    /// Node's Environments, by isolate.
    pub environments: Vec<EnvironmentSummary>,
    /// Every loop found, the default loop first.
    pub loops: Vec<LoopReading>,
    /// The requests in flight, with the isolate of their Environment.
    pub requests: Vec<(usize, Request)>,
    /// What could not be read, one line each.
    pub notes: Vec<String>,
}

/// One Environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentSummary {
    /// The `Environment` object.
    pub address: u64,
    /// Its isolate (index into the heap's isolates).
    pub isolate: usize,
    /// Its loop, when one of its handles names it.
    pub event_loop: Option<u64>,
    /// How many handle wrappers it lists.
    pub handle_wraps: usize,
    /// How many request wrappers it lists.
    pub req_wraps: usize,
    /// The loop's time when the Environment started (`timer_base_`): JavaScript's timer clock
    /// (`Timeout._idleStart`) counts from it. `None` without the executable's code.
    pub timer_base: Option<u64>,
}

/// One loop, with the wrapper owning each of its handles (in the order of its handles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopReading {
    /// The loop and its handles.
    pub event_loop: EventLoop,
    /// The isolate whose Environment runs it, when known.
    pub isolate: Option<usize>,
    /// For each handle, the node wrapper whose `data` it is, if one is.
    pub wraps: Vec<Option<Wrap>>,
    /// For each handle, the Environment it is a member of, if it is one of node's own (the
    /// timers' handle, the immediates' check and idle handles, the task queues' async handle):
    /// those lie inside the `Environment`, before its lists.
    pub environments: Vec<Option<u64>>,
}

/// Reads node's state from the native contexts `native_contexts` (address, isolate).
pub fn read(
    image: &ProcessImage,
    model: &HeapModel<'_>,
    native_contexts: &[(u64, usize)],
) -> Reading {
    let mut notes = Vec::new();
    let nodes = match NodeLayout::of(model.layout()) {
        Ok(n) => Some(n),
        Err(e) => {
            notes.push(e.to_string());
            None
        }
    };
    let envs: Vec<Environment> = nodes
        .map(|n| environments(image, model, &n, native_contexts))
        .unwrap_or_default();
    if nodes.is_some() && envs.is_empty() {
        let source = &model.layout().source;
        notes.push(if source.constants_of_this_build() {
            "no node Environment found in the native contexts' embedder data".to_string()
        } else {
            format!(
                "no node Environment found: without the executable, node's offsets came from {} (another release's build table), which do not fit this {} core; give the executable (--exe) to read node's state",
                source.table, source.node_version
            )
        });
    }
    for env in &envs {
        notes.extend(env.notes.iter().cloned());
    }
    // From the executable's code, else as its build's table recorded it.
    let timer_base = image
        .exe_file()
        .and_then(timer_base_offset)
        .or(model.layout().node.timer_base);
    let mut summaries: Vec<EnvironmentSummary> = envs
        .iter()
        .map(|e| EnvironmentSummary {
            address: e.address,
            isolate: e.isolate,
            event_loop: nodes.and_then(|n| {
                e.handle_wraps
                    .iter()
                    .find_map(|w| loop_of_wrap(image, w.address, n.handle_wrap_node))
            }),
            handle_wraps: e.handle_wraps.len(),
            req_wraps: e.req_wraps.len(),
            timer_base: timer_base
                .and_then(|off| image.memory().read_u64(e.address.wrapping_add(off)).ok()),
        })
        .collect();
    let default = default_loop(image);
    // A lone Environment runs on the default loop, even when none of its handles says so.
    if let (Some(d), [only]) = (default, summaries.as_mut_slice()) {
        only.event_loop.get_or_insert(d);
    }
    let mut addresses: Vec<u64> = default.into_iter().collect();
    for l in summaries.iter().filter_map(|s| s.event_loop) {
        if !addresses.contains(&l) {
            addresses.push(l);
        }
    }
    let mut loops = Vec::new();
    for address in addresses {
        let Some(event_loop) = read_loop(image, address, Some(address) == default) else {
            notes.push(format!(
                "no libuv loop at {address:#x}: its handle ring does not close"
            ));
            continue;
        };
        if let Some(note) = &event_loop.note {
            notes.push(format!("the loop at {address:#x} was read in part: {note}"));
        }
        let owning: Vec<&Environment> = envs
            .iter()
            .zip(&summaries)
            .filter(|(_, s)| s.event_loop == Some(address))
            .map(|(e, _)| e)
            .collect();
        let wraps = event_loop
            .handles
            .iter()
            .map(|h| {
                owning
                    .iter()
                    .flat_map(|e| &e.handle_wraps)
                    .find(|w| w.address == h.data)
                    .copied()
            })
            .collect();
        let members = event_loop
            .handles
            .iter()
            .map(|h| {
                let lists = nodes?.env_handle_wraps;
                owning
                    .iter()
                    .find(|e| h.address > e.address && h.address < e.address.saturating_add(lists))
                    .map(|e| e.address)
            })
            .collect();
        loops.push(LoopReading {
            isolate: owning.first().map(|e| e.isolate),
            event_loop,
            wraps,
            environments: members,
        });
    }
    let requests = nodes
        .map(|n| {
            envs.iter()
                .flat_map(|e| {
                    e.req_wraps.iter().filter_map(move |w| {
                        Some((e.isolate, request_of(image, *w, n.req_wrap_node)?))
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    summaries.sort_by_key(|s| s.isolate);
    Reading {
        environments: summaries,
        loops,
        requests,
        notes,
    }
}
