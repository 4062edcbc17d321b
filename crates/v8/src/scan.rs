//! Scanning the process's writable memory outside the V8 heap, word by word, in parallel: how
//! coroner finds V8's C++ structures that it has no pointer to (an isolate's roots table, an
//! allocator's linear allocation area). Heap pages are left out (those structures are
//! malloc'd, never on the heap), as is memory the core does not hold.

use coroner_corefile::{AddressSpace, Source};
use rayon::prelude::*;

use crate::pages::Page;

/// Bytes per scanned word.
const WORD: usize = 8;
/// Words per parallel task (4 MiB), so that one huge mapping does not serialise the scan.
const CHUNK_WORDS: usize = 1 << 19;

/// A run of scanned memory: 8-byte little-endian words from `start`.
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    /// Address of word 0.
    pub start: u64,
    bytes: &'a [u8],
}

impl Run<'_> {
    /// Number of words.
    pub fn len(&self) -> usize {
        self.bytes.len() / WORD
    }

    /// Word `i`, 0 past the end.
    #[inline]
    pub fn word(&self, i: usize) -> u64 {
        i.checked_mul(WORD)
            .and_then(|o| self.bytes.get(o..o.checked_add(WORD)?))
            .and_then(|b| <[u8; WORD]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes)
    }

    /// The address of word `i`.
    pub fn addr(&self, i: usize) -> u64 {
        self.start
            .wrapping_add((i as u64).wrapping_mul(WORD as u64))
    }
}

/// Calls `visit(run, from, to)` over every run of writable memory outside `pages` (sorted by
/// address) that the core holds, for word indices `from..to` (a run is split into several
/// calls; each may read any word of its run); gathers what the calls return.
pub(crate) fn par_scan<T, F>(space: &AddressSpace, pages: &[Page], visit: F) -> Vec<T>
where
    T: Send,
    F: Fn(Run<'_>, usize, usize) -> Vec<T> + Sync,
{
    let mut tasks: Vec<(Run<'_>, usize, usize)> = Vec::new();
    for region in space.regions() {
        if !region.perms.write || region.source == Source::Absent {
            continue;
        }
        for (start, end) in outside_pages(region.start, region.end, pages) {
            let Some(bytes) = usize::try_from(end - start)
                .ok()
                .and_then(|len| space.bytes(start, len).ok())
            else {
                continue;
            };
            let run = Run { start, bytes };
            let mut from = 0;
            while from < run.len() {
                let to = run.len().min(from + CHUNK_WORDS);
                tasks.push((run, from, to));
                from = to;
            }
        }
    }
    tasks
        .par_iter()
        .flat_map_iter(|&(run, from, to)| visit(run, from, to))
        .collect()
}

/// The parts of `[start, end)` that no page covers (pages sorted by address).
fn outside_pages(start: u64, end: u64, pages: &[Page]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut cur = start;
    let first = pages.partition_point(|p| p.addr.saturating_add(p.size) <= start);
    for p in pages.iter().skip(first) {
        if p.addr >= end {
            break;
        }
        if p.addr > cur {
            out.push((cur, p.addr));
        }
        cur = cur.max(p.addr.saturating_add(p.size));
        if cur >= end {
            break;
        }
    }
    if cur < end {
        out.push((cur, end));
    }
    out
}
