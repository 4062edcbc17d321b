//! libuv's ABI on Linux x86-64: where `uv_loop_t`, `uv_handle_t`, the handle types and
//! `uv_req_t` keep the fields coroner reads, and libuv's enums.
//!
//! These are not node's or V8's facts but libuv's public ABI (`uv.h`, `uv/unix.h`,
//! `uv/linux.h`), which libuv keeps stable across its 1.x releases: every pinned Node (libuv
//! 1.44 to 1.51) lays them out the same way. The private fields used (a loop's `time`, a
//! handle's `flags`, a stream's `io_watcher.fd`) sit after public ones of fixed size. Every
//! structure read is checked on the core (a loop's handle ring closes, each handle names its
//! loop), so a libuv that moved them is found out rather than misread.

/// Offsets in `uv_loop_t`.
pub(crate) mod loop_t {
    /// `unsigned int active_handles`.
    pub const ACTIVE_HANDLES: u64 = 8;
    /// `struct uv__queue handle_queue` (next, prev): the ring of every handle of the loop.
    pub const HANDLE_QUEUE: u64 = 16;
    /// `union { void* unused; unsigned int count; } active_reqs`.
    pub const ACTIVE_REQS: u64 = 32;
    /// `uint64_t time`: the loop's idea of now, in ms (`uv_now`), after the private fields
    /// before it (flags, backend fd, queues, watchers, the work queue's mutex and async handle,
    /// the cloexec lock, the handle queues per kind, the async watcher, the timer heap).
    pub const TIME: u64 = 544;
}

/// Offsets in `uv_handle_t` (`UV_HANDLE_FIELDS` and `UV_HANDLE_PRIVATE_FIELDS`), shared by
/// every handle type.
pub(crate) mod handle {
    /// `void* data`: node's `HandleWrap` (or another C++ owner).
    pub const DATA: u64 = 0;
    /// `uv_loop_t* loop`.
    pub const LOOP: u64 = 8;
    /// `uv_handle_type type`.
    pub const TYPE: u64 = 16;
    /// `struct uv__queue handle_queue`: the links of the loop's ring point here.
    pub const QUEUE: u64 = 32;
    /// `unsigned int flags`, after `u` (4 words) and `next_closing`; each type's own fields
    /// start after it, at 96.
    pub const FLAGS: u64 = 88;
}

/// `uv_handle_t.flags` bits (`src/uv-common.h`).
pub(crate) mod flags {
    /// `UV_HANDLE_CLOSING`.
    pub const CLOSING: u32 = 0x1;
    /// `UV_HANDLE_CLOSED`.
    pub const CLOSED: u32 = 0x2;
    /// `UV_HANDLE_ACTIVE`.
    pub const ACTIVE: u32 = 0x4;
    /// `UV_HANDLE_REF`.
    pub const REF: u32 = 0x8;
    /// `UV_HANDLE_INTERNAL`: libuv's own handles (the loop's work queue wake-up, the child
    /// watcher), which `uv_walk` and node's report leave out.
    pub const INTERNAL: u32 = 0x10;
}

/// Per-type fields, as offsets from the handle's start.
pub(crate) mod fields {
    /// `uv__io_t.fd` inside a stream (tcp, pipe, tty): `UV_STREAM_FIELDS` (3 words) and
    /// `connect_req`, `shutdown_req` after the handle, then `io_watcher` whose `fd` is its
    /// seventh word (cb, two queues, pevents/events).
    pub const STREAM_FD: u64 = 184;
    /// `uv__io_t.fd` inside a `uv_udp_t` (send queue size and count, alloc and recv
    /// callbacks before `io_watcher`).
    pub const UDP_FD: u64 = 176;
    /// `uv__io_t.fd` inside a `uv_poll_t` (after `poll_cb`).
    pub const POLL_FD: u64 = 152;
    /// `int pid` of a `uv_process_t` (after `exit_cb`).
    pub const PROCESS_PID: u64 = 104;
    /// `int signum` of a `uv_signal_t` (after `signal_cb`).
    pub const SIGNAL_SIGNUM: u64 = 104;
    /// `char* path` of a `uv_fs_event_t`.
    pub const FS_EVENT_PATH: u64 = 96;
    /// `uint64_t timeout` of a `uv_timer_t` (after `timer_cb` and its heap node): when it is
    /// due, in the loop's ms.
    pub const TIMER_TIMEOUT: u64 = 128;
    /// `uint64_t repeat` of a `uv_timer_t`.
    pub const TIMER_REPEAT: u64 = 136;
}

/// Offsets in `uv_req_t` and the request types read.
pub(crate) mod req {
    /// `void* data`: node's `ReqWrap`.
    pub const DATA: u64 = 0;
    /// `uv_req_type type`.
    pub const TYPE: u64 = 8;
    /// Bytes of `UV_REQ_FIELDS` (data, type, 6 reserved words).
    pub const SIZE: u64 = 64;
    /// `uv_fs_type fs_type` of a `uv_fs_t`.
    pub const FS_TYPE: u64 = SIZE;
    /// `const char* path` of a `uv_fs_t` (after loop, cb, result, ptr).
    pub const FS_PATH: u64 = SIZE + 40;
    /// `char* hostname` of a `uv_getaddrinfo_t` (after loop, the work item, cb, hints).
    pub const GETADDRINFO_HOSTNAME: u64 = SIZE + 64;
}

/// libuv's handle types (`uv_handle_type`), as node's report names them.
pub(crate) fn handle_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        1 => "async",
        2 => "check",
        3 => "fs_event",
        4 => "fs_poll",
        5 => "handle",
        6 => "idle",
        7 => "pipe",
        8 => "poll",
        9 => "prepare",
        10 => "process",
        11 => "stream",
        12 => "tcp",
        13 => "timer",
        14 => "tty",
        15 => "udp",
        16 => "signal",
        17 => "file",
        _ => return None,
    })
}

/// libuv's request types (`uv_req_type`).
pub(crate) fn req_type_name(t: u32) -> Option<&'static str> {
    Some(match t {
        1 => "req",
        2 => "connect",
        3 => "write",
        4 => "shutdown",
        5 => "udp_send",
        6 => "fs",
        7 => "work",
        8 => "getaddrinfo",
        9 => "getnameinfo",
        10 => "random",
        _ => return None,
    })
}

/// libuv's file system operations (`uv_fs_type`), by the name of their libuv function.
pub(crate) fn fs_type_name(t: i32) -> Option<&'static str> {
    const NAMES: [&str; 37] = [
        "custom",
        "open",
        "close",
        "read",
        "write",
        "sendfile",
        "stat",
        "lstat",
        "fstat",
        "ftruncate",
        "utime",
        "futime",
        "access",
        "chmod",
        "fchmod",
        "fsync",
        "fdatasync",
        "unlink",
        "rmdir",
        "mkdir",
        "mkdtemp",
        "rename",
        "scandir",
        "link",
        "symlink",
        "readlink",
        "chown",
        "fchown",
        "realpath",
        "copyfile",
        "lchown",
        "opendir",
        "readdir",
        "closedir",
        "statfs",
        "mkstemp",
        "lutime",
    ];
    usize::try_from(t).ok().and_then(|i| NAMES.get(i)).copied()
}
