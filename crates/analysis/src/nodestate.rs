//! Node's own state (`handles`, `requests`, `nodeinfo`): node's Environments found from the
//! heap's native contexts, libuv's loops with their handles, the requests in flight, each tied
//! to the JS object that owns it, and what the owners' JS state says of them (a socket's
//! addresses, as node cached them).

use coroner_heap::{HeapModel, InspectOptions, Key, Role, ValueKind};
use coroner_image::ProcessImage;
use coroner_node::{
    default_loop, environments, loop_of_wrap, read_loop, request_of, timer_base_offset,
    Environment, EventLoop, Handle, NodeLayout, Request,
};

use crate::index::ObjectIndex;

/// What node holds, per Environment and per loop.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeState {
    /// Node's Environments: the main thread's and each worker's.
    pub environments: Vec<EnvironmentSummary>,
    /// Every libuv loop found, the default loop first.
    pub loops: Vec<LoopState>,
    /// The requests in flight, per Environment.
    pub requests: Vec<RequestState>,
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
    /// How many handle wrappers and request wrappers it lists.
    pub handle_wraps: usize,
    /// Request wrappers.
    pub req_wraps: usize,
    /// The loop's time when the Environment started (`timer_base_`): JavaScript's timer clock
    /// (`Timeout._idleStart`) counts from it. `None` without the executable's code.
    pub timer_base: Option<u64>,
}

impl NodeState {
    /// The JavaScript timer clock of `isolate`'s Environment at the dump (what node's
    /// `getLibuvNow()` would have returned): its loop's time less the Environment's timer base.
    pub fn timer_clock(&self, isolate: Option<usize>) -> Option<u64> {
        let env = self
            .environments
            .iter()
            .find(|e| Some(e.isolate) == isolate)?;
        let time = self
            .loops
            .iter()
            .find(|l| Some(l.event_loop.address) == env.event_loop)?
            .event_loop
            .time?;
        time.checked_sub(env.timer_base?)
    }
}

/// One loop and its handles.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopState {
    /// The loop.
    pub event_loop: EventLoop,
    /// The isolate whose Environment runs it, when known.
    pub isolate: Option<usize>,
    /// Its handles, each with its owner when node wraps it.
    pub handles: Vec<HandleState>,
}

/// One handle and its owners.
#[derive(Debug, Clone, PartialEq)]
pub struct HandleState {
    /// What libuv says.
    pub handle: Handle,
    /// The node wrapper and JS objects owning it.
    pub owner: Option<Owner>,
}

/// One pending request and its owners.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestState {
    /// What libuv says.
    pub request: Request,
    /// Its Environment's isolate.
    pub isolate: usize,
    /// The node wrapper and JS objects owning it.
    pub owner: Owner,
    /// The JS function node calls when it completes (`oncomplete` of the wrapper's object).
    pub callback: Option<Callback>,
}

/// The owners of a handle or request: node's C++ wrapper, its JS object (a `TCP`, `Process`,
/// `FSReqCallback`), and the JS object that object belongs to (its `owner_symbol`: the
/// `net.Socket`, `Server`, `ChildProcess` a program knows).
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    /// The `HandleWrap` / `ReqWrap`.
    pub wrap: u64,
    /// The wrapper's JS object and its census name.
    pub object: Option<(u64, String)>,
    /// That object's owner, and its census name.
    pub js_owner: Option<(u64, String)>,
    /// A socket's local address, as node cached it (`_sockname`: after `address()` was called).
    pub local: Option<String>,
    /// A socket's remote address, as node cached it (`_peername`: after `remoteAddress` was read).
    pub remote: Option<String>,
}

/// A JS function and where it is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The function object.
    pub address: u64,
    /// Its name (`(anonymous)` when it has none).
    pub name: String,
    /// Its script.
    pub file: Option<String>,
    /// Line and column of its definition.
    pub line: Option<u64>,
    /// Column.
    pub column: Option<u64>,
}

/// Reads node's state: Environments from every native context in `index`, the default loop
/// and each Environment's loop, their handles and the requests in flight.
pub(crate) fn read(image: &ProcessImage, model: &HeapModel<'_>, index: &ObjectIndex) -> NodeState {
    let mut notes = Vec::new();
    let nodes = match NodeLayout::of(model.layout()) {
        Ok(n) => Some(n),
        Err(e) => {
            notes.push(e.to_string());
            None
        }
    };
    let contexts = native_contexts(model, index);
    let envs: Vec<Environment> = nodes
        .map(|n| environments(image, model, &n, &contexts))
        .unwrap_or_default();
    if nodes.is_some() && envs.is_empty() {
        notes.push("no node Environment found in the native contexts' embedder data".to_string());
    }
    for env in &envs {
        notes.extend(env.notes.iter().cloned());
    }
    let env_loop = |env: &Environment| {
        let node = nodes?.handle_wrap_node;
        env.handle_wraps
            .iter()
            .find_map(|w| loop_of_wrap(image, w.address, node))
    };
    let mut summaries: Vec<EnvironmentSummary> = envs
        .iter()
        .map(|e| EnvironmentSummary {
            address: e.address,
            isolate: e.isolate,
            event_loop: env_loop(e),
            handle_wraps: e.handle_wraps.len(),
            req_wraps: e.req_wraps.len(),
            timer_base: None,
        })
        .collect();
    let timer_base = timer_base_offset(image);
    for (s, e) in summaries.iter_mut().zip(&envs) {
        s.timer_base =
            timer_base.and_then(|off| image.memory().read_u64(e.address.wrapping_add(off)).ok());
    }
    let default = default_loop(image);
    // The main Environment's loop is the default one, even when none of its handles says so.
    if let (Some(d), Some(first)) = (default, summaries.first_mut()) {
        if first.event_loop.is_none() && model.isolates().len() == 1 {
            first.event_loop = Some(d);
        }
    }
    let mut addresses: Vec<(u64, bool)> = default.map(|d| (d, true)).into_iter().collect();
    for s in &summaries {
        if let Some(l) = s.event_loop {
            if !addresses.iter().any(|(a, _)| *a == l) {
                addresses.push((l, Some(l) == default));
            }
        }
    }
    let mut loops = Vec::new();
    for (address, is_default) in addresses {
        let Some(event_loop) = read_loop(image, address, is_default) else {
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
            .filter(|e| {
                summaries
                    .iter()
                    .any(|s| s.address == e.address && s.event_loop == Some(address))
            })
            .collect();
        let handles = event_loop
            .handles
            .iter()
            .map(|h| HandleState {
                handle: h.clone(),
                owner: owning
                    .iter()
                    .flat_map(|e| &e.handle_wraps)
                    .find(|w| w.address == h.data)
                    .map(|w| owner_of(model, w.address, w.object)),
            })
            .collect();
        loops.push(LoopState {
            isolate: owning.first().map(|e| e.isolate),
            event_loop,
            handles,
        });
    }
    let requests = nodes
        .map(|n| {
            envs.iter()
                .flat_map(|e| {
                    e.req_wraps.iter().filter_map(move |w| {
                        let request = request_of(image, *w, n.req_wrap_node)?;
                        Some((e.isolate, request))
                    })
                })
                .map(|(isolate, request)| RequestState {
                    isolate,
                    owner: owner_of(model, request.wrap.address, request.wrap.object),
                    callback: request
                        .wrap
                        .object
                        .and_then(|o| model.own_data_property(o, |k| k.is("oncomplete")))
                        .and_then(|w| callback(model, w)),
                    request,
                })
                .collect()
        })
        .unwrap_or_default();
    summaries.sort_by_key(|s| s.isolate);
    NodeState {
        environments: summaries,
        loops,
        requests,
        notes,
    }
}

/// Every native context of the heap, with its isolate.
fn native_contexts(model: &HeapModel<'_>, index: &ObjectIndex) -> Vec<(u64, usize)> {
    let native: Vec<bool> = index
        .maps()
        .iter()
        .map(|&m| {
            model
                .map_facts(m)
                .info
                .is_some_and(|i| model.role_of(i.instance_type) == Some(Role::NativeContext))
        })
        .collect();
    index
        .map_ids()
        .iter()
        .enumerate()
        .filter(|(_, &m)| native.get(m as usize).copied().unwrap_or(false))
        .filter_map(|(id, _)| {
            let id = u32::try_from(id).ok()?;
            let isolate = usize::try_from(index.isolate_of(id)?).ok()?;
            Some((*index.addrs().get(id as usize)?, isolate))
        })
        .collect()
}

/// The owners of a wrapper: its JS object, that object's `owner_symbol` owner, and a socket
/// owner's cached addresses.
fn owner_of(model: &HeapModel<'_>, wrap: u64, object: Option<u64>) -> Owner {
    let named = |addr: u64| (addr, census_name(model, addr));
    let js_owner = object
        .and_then(|o| model.own_data_property(o, |k| symbol_described(k, "owner_symbol")))
        .and_then(|w| model.pointer_target(w))
        .filter(|&a| {
            model
                .header(a)
                .is_ok_and(|h| model.class_of(h.instance_type).is_receiver())
        });
    let endpoint = |name: &str| {
        let o = js_owner?;
        let w = model.own_data_property(o, |k| k.is(name))?;
        endpoint(model, model.pointer_target(w)?)
    };
    Owner {
        wrap,
        object: object.map(named),
        js_owner: js_owner.map(named),
        local: endpoint("_sockname"),
        remote: endpoint("_peername"),
    }
}

/// Whether `key` is a symbol described `description`.
fn symbol_described(key: &Key, description: &str) -> bool {
    matches!(key, Key::Symbol { description: Some(d), .. } if d == description)
}

/// `address:port` of an `{ address, family, port }` object node caches.
fn endpoint(model: &HeapModel<'_>, object: u64) -> Option<String> {
    let address = primitive(model, model.own_data_property(object, |k| k.is("address"))?)?;
    let port = primitive(model, model.own_data_property(object, |k| k.is("port"))?)?;
    let address = address.as_str()?.to_string();
    let port = port.as_f64()?;
    Some(if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    })
}

/// The value of a tagged word, not expanded.
pub(crate) fn primitive(model: &HeapModel<'_>, word: u64) -> Option<coroner_heap::Value> {
    let v = model.inspect_tagged(
        word,
        &InspectOptions {
            depth: 0,
            limit: 4096,
            ..InspectOptions::default()
        },
    );
    (!matches!(v.kind, ValueKind::Other { .. })).then_some(v)
}

/// The census name of the object at `addr`.
fn census_name(model: &HeapModel<'_>, addr: u64) -> String {
    model
        .header(addr)
        .map(|h| {
            model
                .census_name_of(addr, &model.map_facts(h.map))
                .to_string()
        })
        .unwrap_or_else(|_| "?".to_string())
}

/// The JS function in the tagged `word`, named and placed; `None` when it holds no function.
pub(crate) fn callback(model: &HeapModel<'_>, word: u64) -> Option<Callback> {
    let address = model.pointer_target(word)?;
    let sfi = model.function_shared(address).ok()?;
    let info = model.shared_info(sfi).ok()?;
    let (file, position) = model.definition_place(&info);
    let name = model
        .frame_function_name(address)
        .unwrap_or_else(|| "(anonymous)".to_string());
    Some(Callback {
        address,
        name,
        file,
        line: position.map(|p| p.line),
        column: position.map(|p| p.column),
    })
}
