//! What a damaged heap leaves out of an answer: the ranges of pages the walk could not read as
//! objects, in a form every analysis reports the same way.

use coroner_heap::{Damage, HeapModel};

/// A range of the heap not read as objects (see [`coroner_heap::Damage`]): whatever
/// lived there is missing from counts, and references held there are not seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// The page.
    pub page: u64,
    /// Where the range starts: where the walk met something that is not an object.
    pub from: u64,
    /// Where it ends: where the walk could go on (the page's area end when it could not).
    pub to: u64,
    /// Why the walk stopped (`word 0x0 is not a map pointer`).
    pub reason: String,
}

impl Damaged {
    /// The bytes of the range.
    pub fn bytes(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }
}

/// The damaged ranges `wanted` keeps, in page order.
pub(crate) fn damaged_ranges(
    model: &HeapModel<'_>,
    wanted: impl Fn(&Damage) -> bool,
) -> Vec<Damaged> {
    model
        .damage()
        .into_iter()
        .filter(|d| wanted(d))
        .map(|d| Damaged {
            page: d.page,
            from: d.range.from,
            to: d.range.to,
            reason: d.range.reason.to_string(),
        })
        .collect()
}
