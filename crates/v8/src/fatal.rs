//! The message of a failed `CHECK` in V8 (`V8_Fatal`): V8 formats it into a buffer on the
//! crashing thread's stack, between two marker words, before it prints it and traps, so that a
//! crash processor finds it in a core. It is found by its markers.

use coroner_image::ProcessImage;

use crate::layout::FAILURE_MESSAGE;

/// Bytes of a stack word (the markers are words, word-aligned).
const WORD: u64 = 8;

/// The `V8_Fatal` message on the stack between `low` and `high` (the innermost frame's sp and
/// a bound above it): the text between a start marker and the end marker one buffer later.
pub fn fatal_message(image: &ProcessImage, low: u64, high: u64) -> Option<String> {
    let space = image.memory();
    let m = FAILURE_MESSAGE;
    let mut at = low.checked_next_multiple_of(WORD)?;
    while at < high {
        if space.read_u64(at).ok() == Some(m.start_marker) {
            let text_at = at.checked_add(WORD)?;
            let end_at = text_at.checked_add(m.buffer)?;
            if space.read_u64(end_at).ok() == Some(m.end_marker) {
                let bytes = space
                    .read_cstr(text_at, usize::try_from(m.buffer).ok()?)
                    .ok()?;
                let text = String::from_utf8_lossy(bytes).trim().to_string();
                return (!text.is_empty()).then_some(text);
            }
        }
        at = at.checked_add(WORD)?;
    }
    None
}
