//! The top of the dominator tree as a picture wants it ([`Analysis::retained_tree`]): the
//! objects keeping the most bytes alive, named, each pointing at its dominator, for the treemap
//! of `leaks --html`.

use crate::names::holder_name;
use crate::session::Analysis;

/// One object of the top of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    /// Its address.
    pub address: u64,
    /// Its name as `retainers` names holders.
    pub name: String,
    /// Bytes it keeps alive.
    pub retained: u64,
    /// Its own bytes.
    pub shallow: u64,
    /// Its dominator's index in the list; `None` when only the roots dominate it.
    pub parent: Option<usize>,
}

impl Analysis<'_> {
    /// The objects keeping the most bytes alive, largest first from the roots down, each after
    /// its dominator: at most `max_nodes`, none keeping less than `min_bytes`.
    pub fn retained_tree(&self, max_nodes: usize, min_bytes: u64) -> Vec<TreeNode> {
        let tree = self.dominators();
        let index = self.index();
        tree.top(max_nodes, min_bytes)
            .into_iter()
            .map(|(id, parent)| TreeNode {
                address: index.addrs()[id as usize],
                name: holder_name(self.model(), index, Some(self.refs()), id),
                retained: tree.retained(id).unwrap_or(0),
                shallow: u64::from(index.sizes()[id as usize]),
                parent,
            })
            .collect()
    }
}
