//! Where node keeps its lists of handles and requests: the `nodedbg_*` constants of the build
//! (node's own postmortem metadata, read with V8's into the layout), typed.

use coroner_v8::Layout;

use crate::error::NodeError;

/// Node's offsets coroner reads, from the build's `nodedbg_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLayout {
    /// The native context's embedder data slot holding the `Environment*`.
    pub environment_slot: u64,
    /// `BaseObject::persistent_handle_`: the global handle of the wrapper's JS object.
    pub persistent_handle: u64,
    /// The head node of `Environment`'s ring of `HandleWrap`s.
    pub env_handle_wraps: u64,
    /// The head node of `Environment`'s ring of `ReqWrap`s.
    pub env_req_wraps: u64,
    /// A `HandleWrap`'s node in that ring.
    pub handle_wrap_node: u64,
    /// A `ReqWrap`'s node in its ring.
    pub req_wrap_node: u64,
    /// `ListNode::next_`.
    pub next: u64,
    /// `ListNode::prev_`.
    pub prev: u64,
}

impl NodeLayout {
    /// The offsets of `layout`'s build; fails naming every constant it lacks.
    pub fn of(layout: &Layout) -> Result<NodeLayout, NodeError> {
        let mut missing = Vec::new();
        let mut get = |name: &'static str| -> u64 {
            match layout.node.get(name).and_then(|v| u64::try_from(v).ok()) {
                Some(v) => v,
                None => {
                    missing.push(name);
                    0
                }
            }
        };
        let nodes = NodeLayout {
            environment_slot: get("const_ContextEmbedderIndex__kEnvironment__"),
            persistent_handle: get("offset_BaseObject__persistent_handle___"),
            env_handle_wraps: get("offset_Environment__handle_wrap_queue___")
                + get("offset_Environment_HandleWrapQueue__head___"),
            env_req_wraps: get("offset_Environment__req_wrap_queue___")
                + get("offset_Environment_ReqWrapQueue__head___"),
            handle_wrap_node: get("offset_HandleWrap__handle_wrap_queue___"),
            req_wrap_node: get("offset_ReqWrap__req_wrap_queue___"),
            next: get("offset_ListNode_HandleWrap__next___"),
            prev: get("offset_ListNode_HandleWrap__prev___"),
        };
        if missing.is_empty() {
            Ok(nodes)
        } else {
            Err(NodeError::MissingConstants(
                missing.iter().map(|m| format!("nodedbg_{m}")).collect(),
            ))
        }
    }
}
