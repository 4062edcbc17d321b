//! Memory outside the V8 heap that may hold it: threads' stacks and the process's other writable
//! memory (malloc'd native memory, where V8 keeps its global and eternal handles, handle scope
//! blocks and the microtask queue). coroner cannot run V8's own root visitors on a core, so the
//! analyses find roots by scanning such memory for words that point into the heap; this module
//! says where that memory is and reads the words.

use coroner_corefile::Source;

use crate::model::HeapModel;

impl HeapModel<'_> {
    /// The stack memory a thread whose stack pointer is `sp` uses: from `sp` (word aligned) to
    /// the end of the mapping that holds it, at most `max_bytes` of it. `None` when the core
    /// has no mapping at `sp`.
    pub fn stack_extent(&self, sp: u64, max_bytes: u64) -> Option<(u64, u64)> {
        let regions = self.heap().memory().regions();
        let i = regions.partition_point(|r| r.start <= sp);
        let region = regions.get(i.checked_sub(1)?)?;
        if sp >= region.end {
            return None;
        }
        let start = sp & !(self.layout().tagging.pointer_size - 1);
        Some((start, region.end.min(start.saturating_add(max_bytes))))
    }

    /// The writable memory the core holds outside the heap's pages and outside `excluded`
    /// (sorted ranges, such as the stacks already scanned), as sorted ranges.
    pub fn native_memory(&self, excluded: &[(u64, u64)]) -> Vec<(u64, u64)> {
        let mut skip: Vec<(u64, u64)> = self
            .pages()
            .iter()
            .map(|p| (p.addr, p.addr.saturating_add(p.size)))
            .chain(excluded.iter().copied())
            .collect();
        skip.sort_unstable();
        let mut out = Vec::new();
        for r in self.heap().memory().regions() {
            if r.perms.write && r.source != Source::Absent {
                out.extend(outside(r.start, r.end, &skip));
            }
        }
        out
    }

    /// Every aligned word of `[start, end)` that is a strong pointer into the object area of a
    /// heap page outside the read-only heap, as (the word's address, the object address it
    /// points to). Whether an object starts there is for the caller to decide.
    pub fn heap_pointers_in(&self, start: u64, end: u64) -> Vec<(u64, u64)> {
        let tagging = &self.layout().tagging;
        let word = tagging.pointer_size;
        let pages = self.pages();
        let bounds = (
            pages.first().map_or(0, |p| p.addr),
            pages.last().map_or(0, |p| p.addr.saturating_add(p.size)),
        );
        let mut out = Vec::new();
        let Some(start) = start.checked_next_multiple_of(word) else {
            return out;
        };
        let Ok(len) = usize::try_from(end.saturating_sub(start)) else {
            return out;
        };
        let Ok(bytes) = self.heap().memory().bytes(start, len) else {
            return out;
        };
        let Ok(step) = usize::try_from(word) else {
            return out;
        };
        for (i, chunk) in bytes.chunks_exact(step).enumerate() {
            let Ok(b) = <[u8; 8]>::try_from(chunk) else {
                continue;
            };
            let Some(addr) = tagging.strong(u64::from_le_bytes(b)) else {
                continue;
            };
            if addr < bounds.0 || addr >= bounds.1 || self.is_read_only(addr) {
                continue;
            }
            out.push((start.wrapping_add(i as u64 * word), addr));
        }
        out
    }
}

/// The parts of `[start, end)` outside `excluded` (sorted by start).
fn outside(start: u64, end: u64, excluded: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut cur = start;
    let first = excluded.partition_point(|&(_, e)| e <= start);
    for &(s, e) in excluded.iter().skip(first) {
        if s >= end {
            break;
        }
        if s > cur {
            out.push((cur, s));
        }
        cur = cur.max(e);
        if cur >= end {
            break;
        }
    }
    if cur < end {
        out.push((cur, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::outside;

    #[test]
    fn ranges_outside_exclusions() {
        let ex = [(10, 20), (30, 40)];
        assert_eq!(outside(0, 50, &ex), vec![(0, 10), (20, 30), (40, 50)]);
        assert_eq!(outside(12, 35, &ex), vec![(20, 30)]);
        assert_eq!(outside(10, 20, &ex), vec![]);
        assert_eq!(outside(0, 5, &ex), vec![(0, 5)]);
    }
}
