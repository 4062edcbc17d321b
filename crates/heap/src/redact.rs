//! `--redact`: string contents and buffer bytes withheld from everything coroner prints or
//! writes, so that a report made from a core (which holds keys, tokens and user data) can be
//! shared.
//!
//! A withheld value is shown as its length and a digest: `<redacted: 15 chars #3f09c1a27b44>`.
//! The digest lets a reader see that two values are equal (the same token in a header and in a
//! cache) without letting anyone confirm a guess: it is SipHash under a key drawn at random for
//! each run, so it means nothing outside the output of the run that printed it, and a dictionary
//! of likely secrets cannot be hashed against it. Equal text gets equal digests whether it was
//! read from a V8 string (its UTF-16 code units) or from native memory (an environment value).
//!
//! What is withheld: the characters of every string value (property values, elements, map keys
//! and values, an Error's message and the message lines of its stack), buffer and typed-array
//! bytes, environment values and the command-line arguments after the script. What is kept:
//! the heap's structure (constructor, property and function names, which V8 also keeps as
//! strings), numbers, file paths of scripts, and source code.

use std::hash::{BuildHasher, RandomState};

/// Most code units or bytes a digest covers; a longer value's digest covers its start and its
/// length.
pub const MAX_DIGESTED: u64 = 1 << 20;

/// Withholds contents for one run: its digests are keyed at random when it is made.
#[derive(Debug, Clone)]
pub struct Redactor {
    key: RandomState,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    /// A redactor with a fresh random key.
    pub fn new() -> Redactor {
        Redactor {
            key: RandomState::new(),
        }
    }

    /// The digest of text given as UTF-16 code units, of `length` units in all (`units` may be
    /// the first of them only).
    pub fn digest_units(&self, units: &[u16], length: u64) -> String {
        digest(self.key.hash_one(("text", units, length)))
    }

    /// The digest of `length` bytes, of which `bytes` are the first.
    pub fn digest_bytes(&self, bytes: &[u8], length: u64) -> String {
        digest(self.key.hash_one(("bytes", bytes, length)))
    }

    /// What a string of `length` UTF-16 code units with digest `digest` is shown as.
    pub fn placeholder(length: u64, digest: &str) -> String {
        format!("<redacted: {length} chars #{digest}>")
    }

    /// What `length` bytes with digest `digest` are shown as.
    pub fn bytes_placeholder(length: u64, digest: &str) -> String {
        format!("<redacted: {length} bytes #{digest}>")
    }

    /// Text read from native memory (an environment value, an argument), withheld: its length
    /// in UTF-16 code units and its digest, as a V8 string of the same text would show.
    pub fn text(&self, text: &str) -> String {
        let units: Vec<u16> = text.encode_utf16().collect();
        let length = units.len() as u64;
        let cut = units.len().min(MAX_DIGESTED as usize);
        Redactor::placeholder(length, &self.digest_units(&units[..cut], length))
    }

    /// A command line as shown: the executable and the script (with the options before it) are
    /// kept, every argument after the script withheld. `script_at` is the index of the script
    /// in `argv` (`None`: everything after the executable is withheld).
    pub fn arguments(&self, argv: &[String], script_at: Option<usize>) -> Vec<String> {
        let keep = script_at.map_or(1, |i| i + 1);
        argv.iter()
            .enumerate()
            .map(|(i, a)| if i < keep { a.clone() } else { self.text(a) })
            .collect()
    }

    /// A process's command line as the kernel gave it (the executable, node's options, the
    /// script, its arguments), the arguments after the script withheld. The script is taken to
    /// be the first word that is no option: an option whose value is the next word makes that
    /// value the script, which withholds more, never less.
    pub fn command_line(&self, argv: &[String]) -> Vec<String> {
        let script = argv
            .iter()
            .skip(1)
            .position(|a| !a.starts_with('-'))
            .map(|i| i + 1);
        self.arguments(argv, script)
    }

    /// A formatted Error stack (`TypeError: message\n    at f (file:1:2)`), its message lines
    /// withheld and its frames kept.
    pub fn stack(&self, stack: &str) -> String {
        let frames = stack.find("\n    at ").unwrap_or(stack.len());
        let (message, rest) = stack.split_at(frames);
        format!("{}{rest}", self.text(message))
    }
}

/// Hex digits of a digest shown: enough to tell a run's values apart, short enough to read.
const DIGEST_DIGITS: usize = 12;

fn digest(hash: u64) -> String {
    let mut hex = format!("{hash:016x}");
    hex.truncate(DIGEST_DIGITS);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_text_has_equal_digests_within_a_run_only() {
        let r = Redactor::new();
        let units: Vec<u16> = "sk_live_1234".encode_utf16().collect();
        assert_eq!(
            r.text("sk_live_1234"),
            Redactor::placeholder(12, &r.digest_units(&units, 12))
        );
        assert_ne!(r.text("sk_live_1234"), r.text("sk_live_1235"));
        assert_ne!(r.text("sk_live_1234"), Redactor::new().text("sk_live_1234"));
        assert!(!r.text("sk_live_1234").contains("sk_live"));
    }

    #[test]
    fn a_stack_keeps_its_frames() {
        let r = Redactor::new();
        let s = r.stack("TypeError: bad token abc\n    at f (/app/a.js:1:2)");
        assert!(s.starts_with("<redacted: 24 chars #"), "{s}");
        assert!(s.ends_with("\n    at f (/app/a.js:1:2)"), "{s}");
        assert!(!s.contains("abc"));
    }

    #[test]
    fn arguments_after_the_script_are_withheld() {
        let r = Redactor::new();
        let argv: Vec<String> = ["node", "--inspect", "app.js", "--token=abc"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let shown = r.arguments(&argv, Some(2));
        assert_eq!(shown[..3], argv[..3]);
        assert!(shown[3].starts_with("<redacted: 11 chars #"));
        assert_eq!(r.command_line(&argv)[..3], argv[..3]);
        assert_ne!(r.command_line(&argv)[3], argv[3]);
    }
}
