//! Requests in flight: node's `ReqWrap`s (each embedding its libuv request, whose `data` points
//! back at it), decoded by libuv's request type.

use coroner_image::ProcessImage;

use crate::env::Wrap;
use crate::uv::{self, req};

/// The longest path or host name read from a request.
const MAX_PATH: usize = 4096;

/// One pending libuv request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The `uv_req_t`.
    pub address: u64,
    /// Its type as libuv names it (`fs`, `getaddrinfo`, `write`, `connect`, `work`, ...).
    pub kind: &'static str,
    /// The operation of an fs request (`open`, `stat`, ...).
    pub operation: Option<&'static str>,
    /// The path of an fs request, the host name of a getaddrinfo.
    pub path: Option<String>,
    /// The node wrapper that owns it.
    pub wrap: Wrap,
}

/// The libuv request inside the `ReqWrap` `wrap` (whose list node is at byte `node`): the
/// request follows the node within a few words and its `data` names the wrapper.
pub fn request_of(image: &ProcessImage, wrap: Wrap, node: u64) -> Option<Request> {
    let memory = image.memory();
    (2..24).find_map(|i| {
        let at = wrap.address.wrapping_add(node).wrapping_add(8 * i);
        if memory.read_u64(at.wrapping_add(req::DATA)).ok()? != wrap.address {
            return None;
        }
        let kind = uv::req_type_name(memory.read_u32(at.wrapping_add(req::TYPE)).ok()?)?;
        let text = |off: u64| {
            memory
                .read_u64(at.wrapping_add(off))
                .ok()
                .filter(|&p| p != 0)
                .and_then(|p| image.read_string(p, MAX_PATH))
        };
        let (operation, path) = match kind {
            "fs" => (
                memory
                    .read_i32(at.wrapping_add(req::FS_TYPE))
                    .ok()
                    .and_then(uv::fs_type_name),
                text(req::FS_PATH),
            ),
            "getaddrinfo" => (None, text(req::GETADDRINFO_HOSTNAME)),
            _ => (None, None),
        };
        Some(Request {
            address: at,
            kind,
            operation,
            path,
            wrap,
        })
    })
}
