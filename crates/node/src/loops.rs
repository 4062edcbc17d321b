//! libuv event loops and their handles: the ring of every handle a loop has (`handle_queue`, what
//! `uv_walk` and node's report go through), each decoded by its type.

use coroner_image::ProcessImage;

use crate::rings::ring;
use crate::uv::{self, fields, flags, handle, loop_t};

/// The longest path or name read from a handle.
const MAX_PATH: usize = 4096;

/// One libuv loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLoop {
    /// The `uv_loop_t`.
    pub address: u64,
    /// Whether it is libuv's default loop (node's main thread).
    pub default: bool,
    /// The loop's time (`uv_now`, ms of the monotonic clock) when it last updated it.
    pub time: Option<u64>,
    /// Its count of active handles (what keeps it alive).
    pub active_handles: Option<u32>,
    /// Its count of active requests.
    pub active_requests: Option<u32>,
    /// Its handles, in the ring's order (libuv's own internal ones left out, as `uv_walk`
    /// leaves them).
    pub handles: Vec<Handle>,
    /// How many internal libuv handles were left out.
    pub internal_handles: usize,
    /// Why the ring was read only in part, if it was.
    pub note: Option<String>,
}

/// One libuv handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    /// The `uv_handle_t`.
    pub address: u64,
    /// Its type as libuv (and node's report) names it; `None` for a number libuv has no name for.
    pub kind: Option<&'static str>,
    /// The type number.
    pub type_number: u32,
    /// `UV_HANDLE_ACTIVE`.
    pub active: bool,
    /// `UV_HANDLE_REF`: it keeps the loop alive while active.
    pub referenced: bool,
    /// Being closed (`uv_close` called).
    pub closing: bool,
    /// Its `data` pointer: node's wrapper, or another C++ owner.
    pub data: u64,
    /// The file descriptor of a stream, UDP or poll handle (none when closed).
    pub fd: Option<i32>,
    /// A process handle's pid.
    pub pid: Option<i32>,
    /// A signal handle's signal number.
    pub signum: Option<i32>,
    /// An fs_event handle's path.
    pub path: Option<String>,
    /// A timer's due time (loop ms) and repeat interval (0: none).
    pub timer: Option<(u64, u64)>,
}

/// The address of libuv's default loop, from the executable's symbols: `None` without them,
/// or when node never used it.
pub fn default_loop(image: &ProcessImage) -> Option<u64> {
    let pointer = image.exe_data_u64("default_loop_ptr")?;
    let address = image.exe_runtime_address("default_loop_struct")?;
    (pointer == address).then_some(address)
}

/// The loop of the handle a node `HandleWrap` at `wrap` wraps: the wrapper embeds its
/// `uv_handle_t` (or points at it) within a few words after its list node at `node`, and the
/// handle's `data` points back at the wrapper.
pub fn loop_of_wrap(image: &ProcessImage, wrap: u64, node: u64) -> Option<u64> {
    let memory = image.memory();
    (2..16).find_map(|i| {
        let at = wrap.wrapping_add(node).wrapping_add(8 * i);
        let candidates = [at, memory.read_u64(at).ok()?];
        candidates.into_iter().find_map(|h| {
            let back = memory.read_u64(h.wrapping_add(handle::DATA)).ok()?;
            let t = memory.read_u32(h.wrapping_add(handle::TYPE)).ok()?;
            if back != wrap || uv::handle_type_name(t).is_none() {
                return None;
            }
            memory.read_u64(h.wrapping_add(handle::LOOP)).ok()
        })
    })
}

/// The loop at `address` and every handle on its ring; `None` when the ring is not one (the
/// address is no loop).
pub fn read_loop(image: &ProcessImage, address: u64, default: bool) -> Option<EventLoop> {
    let memory = image.memory();
    let head = address.wrapping_add(loop_t::HANDLE_QUEUE);
    // The queue's links are at 0 (next) and 8 (prev) of each `uv__queue`.
    let (nodes, note) = ring(image, head, 0, 8);
    if nodes.is_empty() && note.is_some() {
        return None;
    }
    let mut handles = Vec::with_capacity(nodes.len());
    let mut internal_handles = 0;
    for node in nodes {
        let at = node.wrapping_sub(handle::QUEUE);
        let Some(h) = read_handle(image, at) else {
            continue;
        };
        if memory.read_u64(at.wrapping_add(handle::LOOP)).ok() != Some(address) {
            continue;
        }
        let f = memory.read_u32(at.wrapping_add(handle::FLAGS)).unwrap_or(0);
        if f & flags::INTERNAL != 0 {
            internal_handles += 1;
        } else {
            handles.push(h);
        }
    }
    Some(EventLoop {
        address,
        default,
        time: memory.read_u64(address.wrapping_add(loop_t::TIME)).ok(),
        active_handles: memory
            .read_u32(address.wrapping_add(loop_t::ACTIVE_HANDLES))
            .ok(),
        active_requests: memory
            .read_u32(address.wrapping_add(loop_t::ACTIVE_REQS))
            .ok(),
        handles,
        internal_handles,
        note,
    })
}

/// The handle at `at`, decoded by its type.
fn read_handle(image: &ProcessImage, at: u64) -> Option<Handle> {
    let memory = image.memory();
    let type_number = memory.read_u32(at.wrapping_add(handle::TYPE)).ok()?;
    let f = memory.read_u32(at.wrapping_add(handle::FLAGS)).ok()?;
    let kind = uv::handle_type_name(type_number);
    let i32_at = |off: u64| memory.read_i32(at.wrapping_add(off)).ok();
    let fd_at = |off: u64| i32_at(off).filter(|&fd| fd >= 0);
    let mut h = Handle {
        address: at,
        kind,
        type_number,
        active: f & flags::ACTIVE != 0,
        referenced: f & flags::REF != 0,
        closing: f & (flags::CLOSING | flags::CLOSED) != 0,
        data: memory.read_u64(at.wrapping_add(handle::DATA)).ok()?,
        fd: None,
        pid: None,
        signum: None,
        path: None,
        timer: None,
    };
    match kind {
        Some("tcp" | "pipe" | "tty") => h.fd = fd_at(fields::STREAM_FD),
        Some("udp") => h.fd = fd_at(fields::UDP_FD),
        Some("poll") => h.fd = fd_at(fields::POLL_FD),
        Some("process") => h.pid = i32_at(fields::PROCESS_PID),
        Some("signal") => h.signum = i32_at(fields::SIGNAL_SIGNUM),
        Some("fs_event") => {
            h.path = memory
                .read_u64(at.wrapping_add(fields::FS_EVENT_PATH))
                .ok()
                .filter(|&p| p != 0)
                .and_then(|p| image.read_string(p, MAX_PATH));
        }
        Some("timer") => {
            let due = memory.read_u64(at.wrapping_add(fields::TIMER_TIMEOUT)).ok();
            let repeat = memory.read_u64(at.wrapping_add(fields::TIMER_REPEAT)).ok();
            h.timer = due.zip(repeat);
        }
        _ => {}
    }
    Some(h)
}
