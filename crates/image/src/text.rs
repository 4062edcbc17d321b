//! Text in process memory that no structure points to: the C strings a range of words (a
//! stack) points at in the executable, and a run of printable text around a marker. What the
//! text means is the caller's business (triage reads V8's out-of-memory messages this way).

use crate::ProcessImage;

/// Bytes of a printable run read at most around its marker.
const MAX_RUN: usize = 64 * 1024;

impl ProcessImage {
    /// The C strings of the executable that the 8-byte words of `[low, high)` point at, in
    /// order of the words, each once: strings of `min..=max` printable ASCII characters that
    /// start where one ends (the byte before is a NUL; a word pointing into the middle of a
    /// string is something else, a cursor or a stale value).
    pub fn exe_strings_pointed_from(
        &self,
        low: u64,
        high: u64,
        min: usize,
        max: usize,
    ) -> Vec<String> {
        let Some(exe) = self.executable() else {
            return Vec::new();
        };
        let Some(len) = high.checked_sub(low).and_then(|l| usize::try_from(l).ok()) else {
            return Vec::new();
        };
        let Ok(words) = self.memory().bytes(low, len) else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for word in words.chunks_exact(8) {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(word);
            let addr = u64::from_le_bytes(raw);
            if !exe.contains(addr) || self.memory().read_u8(addr.wrapping_sub(1)).ok() != Some(0) {
                continue;
            }
            let Ok(bytes) = self.memory().read_cstr(addr, max + 1) else {
                continue;
            };
            if bytes.len() < min || bytes.len() > max {
                continue;
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            if text.chars().all(|c| c.is_ascii_graphic() || c == ' ')
                && !out.iter().any(|s| s == text)
            {
                out.push(text.to_string());
            }
        }
        out
    }

    /// The run of printable ASCII (newlines included) in `[low, high)` around the first place
    /// any of `markers` occurs, when one does.
    pub fn printable_run_around(&self, low: u64, high: u64, markers: &[&[u8]]) -> Option<String> {
        let len = usize::try_from(high.checked_sub(low)?).ok()?.min(MAX_RUN);
        let bytes = self.memory().bytes(low, len).ok()?;
        let hit = markers
            .iter()
            .filter(|m| !m.is_empty())
            .filter_map(|m| bytes.windows(m.len()).position(|w| w == *m))
            .min()?;
        let printable = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
        let start = bytes[..hit]
            .iter()
            .rposition(|&b| !printable(b))
            .map_or(0, |i| i + 1);
        let end = bytes[hit..]
            .iter()
            .position(|&b| !printable(b))
            .map_or(bytes.len(), |i| hit + i);
        Some(String::from_utf8_lossy(&bytes[start..end]).into_owned())
    }

    /// Whether `addr` is in a mapping the core records.
    pub fn is_mapped(&self, addr: u64) -> bool {
        self.memory().is_mapped(addr)
    }

    /// Whether the core holds none of the process's writable anonymous memory (where V8's
    /// heap and malloc live) though the process had some: the dumper's filter left it out.
    pub fn anonymous_memory_dropped(&self) -> bool {
        let mut anonymous = self
            .core()
            .segments()
            .iter()
            .filter(|s| s.perms.write && self.module_at(s.vaddr).is_none())
            .peekable();
        anonymous.peek().is_some() && anonymous.all(|s| s.filesz == 0)
    }

    /// Where the process's memory went, by category (see [`crate::MemoryCategory`]), with
    /// the V8 heap's pages as `heap` says.
    pub fn memory_breakdown(&self, heap: &crate::HeapRanges) -> Vec<crate::MemoryShare> {
        crate::memory_map::breakdown(self, heap)
    }
}
