//! What V8's fatal out-of-memory path leaves on the stack: the `location` it was called with
//! (`Reached heap limit`, `invalid array length`, ...), node's message (`Allocation failed -
//! JavaScript heap out of memory`), and the GC trace ring buffer it copies into a local array
//! before calling node (`V8::FatalProcessOutOfMemory`'s `last_few_messages`, what node prints
//! under "Last few GCs").
//!
//! None of these has a fixed place: the strings are pointers into the executable's read-only
//! data spilled by the frames between the OOM handler and the signal, the trace a text buffer
//! in one of those frames. They are found by what they are: words that point at a C string in
//! the executable, and text that reads as V8's GC trace lines.

use coroner_image::ProcessImage;

/// The most stack bytes searched above the innermost frame (V8's frame holds two buffers of a
/// few KiB; node's handler and libc's abort add little).
const MAX_STACK_BYTES: u64 = 96 * 1024;
/// Longest C string taken as a location or message.
const MAX_STRING: usize = 160;
/// Shortest.
const MIN_STRING: usize = 6;
/// Most GC trace lines kept (the ring buffer holds a few).
const MAX_GC_LINES: usize = 16;

/// What V8's OOM handler was told and what it recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutOfMemory {
    /// Where V8 gave up (`Reached heap limit`, `invalid array length`, `CALL_AND_RETRY_LAST`).
    pub location: Option<String>,
    /// Node's message (`Allocation failed - JavaScript heap out of memory`: a JavaScript heap
    /// OOM; `... process out of memory` otherwise).
    pub message: Option<String>,
    /// The last GCs, as V8's trace printed them (oldest first).
    pub last_gcs: Vec<String>,
}

/// Reads what the OOM path left on the stack between `low` (the innermost frame's sp) and
/// `high` (the sp of the frame that called `V8::FatalProcessOutOfMemory`).
pub(crate) fn read(image: &ProcessImage, low: u64, high: u64) -> OutOfMemory {
    let high = high.min(low.saturating_add(MAX_STACK_BYTES));
    let Some(len) = high.checked_sub(low).and_then(|l| usize::try_from(l).ok()) else {
        return OutOfMemory::default();
    };
    let Ok(bytes) = image.memory().bytes(low, len) else {
        return OutOfMemory::default();
    };
    let strings = pointed_strings(image, bytes);
    let message = strings
        .iter()
        .find(|s| s.starts_with("Allocation failed"))
        .cloned();
    let location = strings
        .iter()
        .find(|s| !s.starts_with("Allocation failed") && looks_like_location(s))
        .cloned();
    OutOfMemory {
        location,
        message,
        last_gcs: gc_lines(bytes),
    }
}

/// The C strings in the executable that the 8-byte-aligned words of `stack` point at, in stack
/// order, each once.
fn pointed_strings(image: &ProcessImage, stack: &[u8]) -> Vec<String> {
    let Some(exe) = image.executable() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for word in stack.chunks_exact(8) {
        let addr = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        if !exe.contains(addr) {
            continue;
        }
        let Ok(raw) = image.memory().read_cstr(addr, MAX_STRING + 1) else {
            continue;
        };
        if raw.len() < MIN_STRING || raw.len() > MAX_STRING {
            continue;
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            continue;
        };
        if text.chars().all(|c| c.is_ascii_graphic() || c == ' ') && !out.iter().any(|s| s == text)
        {
            out.push(text.to_string());
        }
    }
    out
}

/// Whether a string reads as an OOM location: words, not a format string, a path or a symbol.
fn looks_like_location(s: &str) -> bool {
    s.contains(' ')
        && !s.contains('%')
        && !s.contains('/')
        && !s.starts_with('[')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// The GC trace lines in `stack` (`[pid:0xisolate]  123 ms: Mark-Compact 30.1 (33.0) -> ...`):
/// the text around the first `ms: ` followed by a collector's name, split where a line's
/// `[pid:` prefix starts.
fn gc_lines(stack: &[u8]) -> Vec<String> {
    const COLLECTORS: [&[u8]; 4] = [
        b"ms: Mark",
        b"ms: Scavenge",
        b"ms: Minor",
        b"ms: Mark-Compact",
    ];
    let Some(hit) = COLLECTORS.iter().filter_map(|c| find(stack, c)).min() else {
        return Vec::new();
    };
    let printable = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
    let start = stack[..hit]
        .iter()
        .rposition(|&b| !printable(b))
        .map_or(0, |i| i + 1);
    let end = stack[hit..]
        .iter()
        .position(|&b| !printable(b))
        .map_or(stack.len(), |i| hit + i);
    let text = String::from_utf8_lossy(&stack[start..end]);
    let mut lines: Vec<String> = Vec::new();
    let mut rest = text.as_ref();
    while let Some(i) = next_line_start(rest, 1) {
        push_line(&mut lines, &rest[..i]);
        rest = &rest[i..];
    }
    push_line(&mut lines, rest);
    // The ring buffer wraps: a first piece that does not start a line is the tail of an older one.
    if lines.first().is_some_and(|l| !l.starts_with('[')) {
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(MAX_GC_LINES);
    lines.drain(..skip);
    lines
}

fn push_line(lines: &mut Vec<String>, line: &str) {
    let line = line.trim();
    if !line.is_empty() {
        lines.push(line.to_string());
    }
}

/// The next `[digits:0x` at or after byte `from`.
fn next_line_start(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(off) = bytes
        .get(i..)
        .and_then(|b| b.iter().position(|&c| c == b'['))
    {
        let at = i + off;
        let digits = bytes[at + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 && bytes[at + 1 + digits..].starts_with(b":0x") {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_lines_are_split_at_their_prefixes_and_a_wrapped_head_dropped() {
        let text = b"\0\0ental[7:0x1]  168 ms: Mark-Compact 19.2 (51.5) -> 17.9 (51.1) MB, x[7:0x1]  242 ms: Mark-Compact 35.7 (52.9) -> 34.4 (67.5) MB, y\0\0";
        let lines = gc_lines(text);
        assert_eq!(
            lines,
            vec![
                "[7:0x1]  168 ms: Mark-Compact 19.2 (51.5) -> 17.9 (51.1) MB, x",
                "[7:0x1]  242 ms: Mark-Compact 35.7 (52.9) -> 34.4 (67.5) MB, y"
            ]
        );
        assert!(gc_lines(b"no trace here").is_empty());
    }

    #[test]
    fn locations_are_words() {
        assert!(looks_like_location("Reached heap limit"));
        assert!(looks_like_location("invalid array length"));
        assert!(!looks_like_location("FATAL ERROR: %s %s"));
        assert!(!looks_like_location("/usr/lib/x"));
        assert!(!looks_like_location("CALL"));
    }
}
