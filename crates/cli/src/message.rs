//! Error lines of a bounded length. A message may quote what the user gave (a path, a name, a
//! command line), and what the user gave may be a megabyte: the line keeps its start and its
//! end (where the advice is) and says how much was cut between them.

use std::borrow::Cow;

/// The longest line printed whole, in bytes.
const MAX_LINE: usize = 2000;
/// Bytes kept from the start of a longer line; the end keeps [`KEPT_END`].
const KEPT_START: usize = 1200;
/// Bytes kept from the end of a longer line.
const KEPT_END: usize = 400;

/// `line`, cut in its middle when longer than [`MAX_LINE`] bytes.
pub fn clipped(line: &str) -> Cow<'_, str> {
    if line.len() <= MAX_LINE {
        return Cow::Borrowed(line);
    }
    let mut start = KEPT_START;
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = line.len() - KEPT_END;
    while !line.is_char_boundary(end) {
        end += 1;
    }
    Cow::Owned(format!(
        "{} [... {} bytes cut ...] {}",
        &line[..start],
        end - start,
        &line[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_whole_and_long_ones_keep_both_ends() {
        assert_eq!(clipped("no such file"), "no such file");
        let long = format!(
            "no objects named \"{}\" (try `findjsobjects`)",
            "é".repeat(50_000)
        );
        let cut = clipped(&long);
        assert!(cut.len() < MAX_LINE + 100, "{}", cut.len());
        assert!(cut.starts_with("no objects named \""));
        assert!(cut.ends_with("(try `findjsobjects`)"));
        assert!(cut.contains("bytes cut"));
    }
}
