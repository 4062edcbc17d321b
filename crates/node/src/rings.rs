//! Node's intrusive lists (`ListNode`, a ring through a head node) and libuv's queues (`uv__queue`,
//! a ring through the loop) read from a core: bounded, each link read checked.

use coroner_image::ProcessImage;

/// No real process has this many handles or requests on one list: a ring longer than this is
/// garbage or a cycle that misses its head.
pub(crate) const MAX_RING: usize = 1 << 20;

/// The nodes of the ring whose head node is at `head`, in `next` order, head excluded; and
/// why the walk stopped early, if it did (an unreadable link, a ring that never came back).
pub(crate) fn ring(
    image: &ProcessImage,
    head: u64,
    next_off: u64,
    prev_off: u64,
) -> (Vec<u64>, Option<String>) {
    let memory = image.memory();
    let mut nodes = Vec::new();
    let mut at = head;
    for _ in 0..MAX_RING {
        let next = match memory.read_u64(at.wrapping_add(next_off)) {
            Ok(n) => n,
            Err(e) => return (nodes, Some(format!("a link cannot be read: {e}"))),
        };
        if next == head {
            return (nodes, None);
        }
        // Each node's back link must name the node before it: anything else is not this ring.
        if memory.read_u64(next.wrapping_add(prev_off)).ok() != Some(at) {
            return (
                nodes,
                Some(format!(
                    "the node at {next:#x} does not link back to {at:#x}"
                )),
            );
        }
        nodes.push(next);
        at = next;
    }
    (
        nodes,
        Some(format!("more than {MAX_RING} nodes: not a list")),
    )
}
