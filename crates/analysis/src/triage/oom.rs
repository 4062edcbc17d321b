//! What V8's fatal out-of-memory path leaves on the stack: the `location` it was called with
//! (`Reached heap limit`, `invalid array length`, ...), node's message (`Allocation failed -
//! JavaScript heap out of memory`), and the GC trace ring buffer it copies into a local array
//! before calling node (`V8::FatalProcessOutOfMemory`'s `last_few_messages`, what node prints
//! under "Last few GCs").
//!
//! None of these has a fixed place: the strings are pointers into the executable's read-only
//! data spilled by the frames between the OOM handler and the signal, the trace a text buffer
//! in one of those frames. They are found by what they are (the process image finds them):
//! words that point at a C string in the executable, and text that reads as V8's GC trace
//! lines.

use coroner_image::ProcessImage;

/// The most stack bytes searched above the innermost frame (V8's frame holds two buffers of a
/// few KiB; node's handler and libc's abort add little).
pub(crate) const MAX_STACK_BYTES: u64 = 96 * 1024;
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
    let strings = image.exe_strings_pointed_from(low, high, MIN_STRING, MAX_STRING);
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
        last_gcs: image
            .printable_run_around(low, high, &COLLECTORS)
            .map(|text| gc_lines(&text))
            .unwrap_or_default(),
    }
}

/// Whether a string reads as an OOM location: words, not a format string, a path or a symbol.
fn looks_like_location(s: &str) -> bool {
    s.contains(' ')
        && !s.contains('%')
        && !s.contains('/')
        && !s.starts_with('[')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// What starts a GC trace line's event, after its time (`123 ms: Mark-Compact ...`).
const COLLECTORS: [&[u8]; 3] = [b"ms: Mark", b"ms: Scavenge", b"ms: Minor"];

/// The GC trace lines of `text` (`[pid:0xisolate]  123 ms: Mark-Compact 30.1 (33.0) -> ...`)
/// that V8 prints under "Last few GCs", split where a line's `[pid:` prefix starts; the last
/// [`MAX_GC_LINES`].
fn gc_lines(text: &str) -> Vec<String> {
    // V8 prints the buffer from after its first newline (what comes before may be cut by the
    // ring's wrap); versions that end lines without one print it whole.
    let text = match text.find('\n') {
        Some(i) if i + 1 < text.len() => &text[i + 1..],
        _ => text,
    };
    let mut lines: Vec<String> = Vec::new();
    let mut rest = text;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_lines_are_split_at_their_prefixes_and_a_wrapped_head_dropped() {
        let text = "ental[7:0x1]  168 ms: Mark-Compact 19.2 (51.5) -> 17.9 (51.1) MB, x[7:0x1]  242 ms: Mark-Compact 35.7 (52.9) -> 34.4 (67.5) MB, y";
        let lines = gc_lines(text);
        assert_eq!(
            lines,
            vec![
                "[7:0x1]  168 ms: Mark-Compact 19.2 (51.5) -> 17.9 (51.1) MB, x",
                "[7:0x1]  242 ms: Mark-Compact 35.7 (52.9) -> 34.4 (67.5) MB, y"
            ]
        );
        assert_eq!(
            gc_lines("[7:0x1] 1 ms: Scavenge"),
            vec!["[7:0x1] 1 ms: Scavenge"]
        );
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
