//! Node's own state (`handles`, `requests`, `nodeinfo`): node's Environments found from the
//! heap's native contexts, libuv's loops with their handles, the requests in flight, each tied
//! to the JS object that owns it, and what the owners' JS state says of them (a socket's
//! addresses, as node cached them).

use coroner_heap::{HeapModel, InspectOptions, Key, Role, ValueKind};
use coroner_image::ProcessImage;
use coroner_node::{EnvironmentSummary, EventLoop, Handle, Request};

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
    /// The Environment it belongs to, for node's own handles (timers, immediates, task
    /// queues), which no wrapper owns.
    pub environment: Option<u64>,
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
    /// A socket's local address, as node cached it (`_sockname`: after `address()` was called),
    /// or a server's, as `listen` was given it (`_connectionKey`, unless the port was 0).
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

/// Reads node's state (see [`coroner_node::read`]) from every native context in `index`, and
/// names the JS objects that own its handles and requests.
pub(crate) fn read(image: &ProcessImage, model: &HeapModel<'_>, index: &ObjectIndex) -> NodeState {
    let reading = coroner_node::read(image, model, &native_contexts(model, index));
    let loops = reading
        .loops
        .into_iter()
        .map(|l| LoopState {
            handles: l
                .event_loop
                .handles
                .iter()
                .zip(l.wraps.iter().zip(&l.environments))
                .map(|(h, (w, env))| HandleState {
                    handle: h.clone(),
                    owner: w.map(|w| owner_of(model, w.address, w.object)),
                    environment: *env,
                })
                .collect(),
            isolate: l.isolate,
            event_loop: l.event_loop,
        })
        .collect();
    let requests = reading
        .requests
        .into_iter()
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
        .collect();
    NodeState {
        environments: reading.environments,
        loops,
        requests,
        notes: reading.notes,
    }
}

/// Every native context of the heap, with its isolate.
pub(crate) fn native_contexts(model: &HeapModel<'_>, index: &ObjectIndex) -> Vec<(u64, usize)> {
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
    // A listening server keeps what `listen` was given: `4:127.0.0.1:8080`, `6::::8080`.
    let listening = || {
        let key = model.own_data_property(js_owner?, |k| k.is("_connectionKey"))?;
        let key = primitive(model, key)?;
        let (family, rest) = key.as_str()?.split_once(':')?;
        let (address, port) = rest.rsplit_once(':')?;
        let ok = matches!(family, "4" | "6") && port != "0" && port.parse::<u16>().is_ok();
        ok.then(|| match family {
            "6" => format!("[{address}]:{port}"),
            _ => format!("{address}:{port}"),
        })
    };
    Owner {
        wrap,
        object: object.map(named),
        js_owner: js_owner.map(named),
        local: endpoint("_sockname").or_else(listening),
        remote: endpoint("_peername"),
    }
}

/// Whether `key` is a symbol described `description`.
pub(crate) fn symbol_described(key: &Key, description: &str) -> bool {
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

/// The value of a tagged word, not expanded, read as data (an endpoint node cached, a path):
/// whatever `--redact` withholds from output.
pub(crate) fn primitive(model: &HeapModel<'_>, word: u64) -> Option<coroner_heap::Value> {
    let v = model.inspect_tagged(
        word,
        &InspectOptions {
            depth: 0,
            limit: 4096,
            reveal: true,
            ..InspectOptions::default()
        },
    );
    (!matches!(v.kind, ValueKind::Other { .. })).then_some(v)
}

/// The census name of the object at `addr` (as `findjsobjects` counts it); `?` when its header
/// cannot be read.
pub(crate) fn census_name(model: &HeapModel<'_>, addr: u64) -> String {
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
    callback_at(model, model.pointer_target(word)?)
}

/// The JS function at `address`, named and placed; `None` when it is no function.
pub(crate) fn callback_at(model: &HeapModel<'_>, address: u64) -> Option<Callback> {
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
