//! node's `Environment`s (one per isolate running node: the main thread and each worker),
//! found from the embedder data of their native contexts, with the wrappers of their handles
//! and requests (`HandleWrap`, `ReqWrap`: each a C++ object with a JS object of its own).

use coroner_heap::HeapModel;
use coroner_image::ProcessImage;

use crate::layout::NodeLayout;
use crate::rings::ring;

/// One node `Environment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The `Environment` object.
    pub address: u64,
    /// The isolate it runs in (index into the heap's isolates).
    pub isolate: usize,
    /// Its `HandleWrap`s (servers, sockets, timers' handles, ...).
    pub handle_wraps: Vec<Wrap>,
    /// Its `ReqWrap`s: requests in flight.
    pub req_wraps: Vec<Wrap>,
    /// Why a list was read only in part, if one was.
    pub notes: Vec<String>,
}

/// A node C++ wrapper (`BaseObject`) and its JS object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrap {
    /// The C++ object.
    pub address: u64,
    /// The JS object its persistent handle holds, when it holds one.
    pub object: Option<u64>,
}

/// The environments behind `native_contexts` (native context, isolate index), one per distinct
/// `Environment*` whose two lists are rings: a context node never set (a `vm` context made
/// without node's help) holds none.
pub fn environments(
    image: &ProcessImage,
    model: &HeapModel<'_>,
    nodes: &NodeLayout,
    native_contexts: &[(u64, usize)],
) -> Vec<Environment> {
    let mut found: Vec<Environment> = Vec::new();
    for &(context, isolate) in native_contexts {
        let Ok(address) = model.embedder_pointer(context, nodes.environment_slot) else {
            continue;
        };
        if address == 0 || address % 8 != 0 || found.iter().any(|e| e.address == address) {
            continue;
        }
        let (handles, handle_note) = ring(
            image,
            address.wrapping_add(nodes.env_handle_wraps),
            nodes.next,
            nodes.prev,
        );
        let (reqs, req_note) = ring(
            image,
            address.wrapping_add(nodes.env_req_wraps),
            nodes.next,
            nodes.prev,
        );
        // Both lists unreadable from the first link: not an Environment.
        if handles.is_empty() && handle_note.is_some() && reqs.is_empty() && req_note.is_some() {
            continue;
        }
        let wrap = |node: u64, offset: u64| {
            let address = node.wrapping_sub(offset);
            let object = image
                .memory()
                .read_u64(address.wrapping_add(nodes.persistent_handle))
                .ok()
                .filter(|&slot| slot != 0)
                .and_then(|slot| model.global_handle_object(slot));
            Wrap { address, object }
        };
        let notes = [("handle", handle_note), ("request", req_note)]
            .into_iter()
            .filter_map(|(what, note)| {
                Some(format!(
                    "the Environment at {address:#x}'s {what} list was read in part: {}",
                    note?
                ))
            })
            .collect();
        found.push(Environment {
            address,
            isolate,
            handle_wraps: handles
                .into_iter()
                .map(|n| wrap(n, nodes.handle_wrap_node))
                .collect(),
            req_wraps: reqs
                .into_iter()
                .map(|n| wrap(n, nodes.req_wrap_node))
                .collect(),
            notes,
        });
    }
    found
}
