//! Repository rules checked as tests (rust-analyzer's `tidy` habit).

use std::path::Path;

use crate::layout::Layout;

/// What only a live Linux process offers: the analysis reads files, so that coroner builds and
/// runs on a macOS laptop as on the server the core came from.
const LINUX_ONLY: [&str; 5] = ["/proc/", "ptrace", "std::os::linux", "nix::", "libc::"];

/// The CLI files allowed one of those words, and why it keeps coroner portable: the SIGBUS
/// handler is made of POSIX calls (`sigaction`, `write`, `_exit`) that macOS has too; `cores`
/// reads the kernel's core_pattern as a file, which is simply absent elsewhere.
const ALLOWED: [(&str, &str); 2] = [("sigbus.rs", "libc::"), ("cores.rs", "/proc/")];

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_analysis_makes_no_linux_only_call() {
    let crates = Layout::new().root.join("crates");
    let mut files = Vec::new();
    for name in [
        "corefile", "image", "v8", "heap", "unwind", "analysis", "cli",
    ] {
        rust_files(&crates.join(name).join("src"), &mut files);
    }
    assert!(files.len() > 40, "{} files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (n, line) in text.lines().enumerate() {
            // Messages may name /proc files for the user to check on the dumping machine.
            let code = line.split("//").next().unwrap_or("");
            if code.contains("#[error(") || code.trim_start().starts_with('"') {
                continue;
            }
            for word in LINUX_ONLY {
                if ALLOWED
                    .iter()
                    .any(|&(f, w)| w == word && file.ends_with(Path::new("cli/src").join(f)))
                {
                    continue;
                }
                // As a path of its own: `std::os::unix::` (macOS has it too) is not `nix::`.
                let found = code
                    .match_indices(word)
                    .any(|(i, _)| !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
                assert!(
                    !found,
                    "{}:{}: {word} is Linux-only: {line}",
                    file.display(),
                    n + 1
                );
            }
        }
    }
}

/// What decodes V8 objects, and so belongs to the heap model (crates/heap) or the V8 layer
/// below it, never to the analyses or the CLI: each with what it gives away.
const DECODING: [(&str, &str); 11] = [
    (".layout()", "V8's offsets and type numbers"),
    ("layout.", "V8's offsets and type numbers"),
    (".memory()", "raw process memory"),
    ("read_u64", "raw process memory"),
    ("read_u32", "raw process memory"),
    (".v8_heap()", "the V8 layer's heap, under the heap model"),
    ("tagging", "V8's tag bits"),
    ("heap_object_tag", "V8's tag bits"),
    ("weak_tag", "V8's tag bits"),
    ("coroner_v8", "the V8 layer, under the heap model"),
    ("coroner_corefile", "the core file, two layers down"),
];

/// The few places above the heap model that may use one of [`DECODING`], and why.
const DECODING_ALLOWED: [(&str, &str, &str); 4] = [
    (
        "analysis/src/session.rs",
        ".v8_heap()",
        "the unwinder (beside the heap model, on the V8 layer) walks frames with it",
    ),
    (
        "cli/src/session.rs",
        "coroner_v8",
        "the layout is chosen here: the core's own build's, or --node-version's",
    ),
    (
        "cli/src/commands/info.rs",
        "coroner_v8",
        "info reports which layout table was used and how it was matched",
    ),
    (
        "cli/src/commands/info.rs",
        "layout.",
        "info reports which layout table was used and how it was matched",
    ),
];

/// The Rust sources of `crates/NAME/src` for each of `names`, but those under `except` (a path
/// below `crates/`): each as its path shown from `crates/`, and its text.
fn crate_sources(names: &[&str], except: Option<&str>) -> Vec<(String, String)> {
    let crates = Layout::new().root.join("crates");
    let mut files = Vec::new();
    for name in names {
        rust_files(&crates.join(name).join("src"), &mut files);
    }
    if let Some(except) = except {
        let skipped = crates.join(except);
        files.retain(|f| !f.starts_with(&skipped));
    }
    assert!(files.len() > 20, "{} files", files.len());
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("readable");
            let shown = file
                .strip_prefix(&crates)
                .unwrap_or(&file)
                .display()
                .to_string();
            (shown, text)
        })
        .collect()
}

#[test]
fn only_the_heap_model_decodes() {
    let mut found = Vec::new();
    for (shown, text) in crate_sources(&["analysis", "cli"], None) {
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (word, what) in DECODING {
                let allowed = DECODING_ALLOWED
                    .iter()
                    .any(|&(f, w, _)| w == word && shown.ends_with(f));
                if code.contains(word) && !allowed {
                    found.push(format!("crates/{shown}:{}: {word} ({what}): {line}", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the analyses and the CLI decode nothing themselves: move this into crates/heap (or \
         the V8 layer) and call it from there:\n{}",
        found.join("\n")
    );
}

/// The crates that decode with V8's layout: the heap model and the V8 layer. The layout itself
/// (`crates/v8/src/layout/`) is where the facts are loaded, and is not searched.
const LAYOUT_USERS: [&str; 2] = ["heap", "v8"];

/// Calls that read a field, an element or a word of memory, or step an address: an integer
/// literal among their arguments (`field(x, 24)`, `array_element(a, at + 1)`,
/// `word(i - 1)`, `wrapping_add(2 * word)`) is an offset or an index the layout should give.
const READS: [&str; 21] = [
    "field(",
    "array_element(",
    "pointer(",
    "smi(",
    "u32_at(",
    "f64_at(",
    "word(",
    "read_u8(",
    "read_u16(",
    "read_u32(",
    "read_u64(",
    "read_i32(",
    "read_array(",
    ".u8(",
    ".u16(",
    ".u32(",
    ".u64(",
    "bytes(",
    "wrapping_add(",
    "checked_add(",
    "saturating_add(",
];

/// Shifts by a number: a bit position the layout should give (`>> 1`, `(1 << 30)`,
/// `checked_shr(7)`).
const SHIFTS: [&str; 6] = [
    "<<",
    ">>",
    "checked_shl(",
    "checked_shr(",
    "wrapping_shl(",
    "wrapping_shr(",
];

/// The few lines of the heap model and the V8 layer that may shift or mask by a number, or read
/// at a numbered offset, and why: (file, a fragment of the line, reason).
const LITERALS_ALLOWED: [(&str, &str, &str); 1] = [(
    "heap/src/vlq.rs",
    "((value >> 1) as i64) ^ -((value & 1) as i64)",
    "zig-zag decoding of V8's variable-length integers: a format algorithm, the same in \
     every version, not a layout fact",
)];

/// The integer literals of `line` (code: no comment, no string text) that look like layout
/// facts: in the arguments of a read ([`READS`], `0` excepted), shifted by or shifting
/// ([`SHIFTS`]), or masking (`x & 0x3ff`). `before` is the code that precedes the line in its
/// file, where a read's arguments may have begun.
fn layout_literals(before_line: &str, line: &str) -> Vec<String> {
    let b = line.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit()
            && (i == 0
                || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'.'));
        if !starts {
            i += 1;
            continue;
        }
        let end = (i..b.len())
            .find(|&j| !(b[j].is_ascii_alphanumeric() || b[j] == b'_'))
            .unwrap_or(b.len());
        let literal = &line[i..end];
        let before = line[..i].trim_end();
        let after = line[end..].trim_start();
        let shift = SHIFTS.iter().any(|s| before.ends_with(s))
            || after.starts_with("<<")
            || after.starts_with(">>");
        let mask = before.ends_with('&')
            && !before.ends_with("&&")
            && before[..before.len() - 1]
                .trim_end()
                .ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ')' || c == ']');
        let read = literal != "0" && in_read_arguments(before_line, &line[..i]);
        if shift || mask || read {
            let what = if read {
                "read at a numbered place"
            } else {
                "numbered bits"
            };
            found.push(format!("{literal} ({what})"));
        }
        i = end;
    }
    found
}

/// The lines of a source file with [`layout_literals`] (numbered from 1), but for named
/// constants with a doc comment (a bound such as `MAX_TABLE_BYTES` says what its number is) and
/// the test module, whose numbers are test data. The test module is taken to close the file, as
/// the repository's modules all keep it last.
fn layout_literal_lines(text: &str) -> Vec<(usize, &str, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = String::new();
    let mut found = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let next = lines.get(n + 1).map_or("", |l| l.trim_start());
        if trimmed.starts_with("#[cfg(test)]") && next.starts_with("mod ") {
            break;
        }
        let previous = n
            .checked_sub(1)
            .and_then(|p| lines.get(p))
            .map_or("", |l| l.trim_start());
        let constant = ["const ", "pub const ", "pub(crate) const "]
            .iter()
            .any(|c| trimmed.starts_with(c));
        let line_code = code_of(line);
        if !(constant && previous.starts_with("///")) {
            let hits = layout_literals(&code, &line_code);
            if !hits.is_empty() {
                found.push((n + 1, *line, hits));
            }
        }
        code.push_str(&line_code);
        code.push('\n');
    }
    found
}

/// `line` without its comment, and with the text of its string literals blanked.
fn code_of(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_string = false;
                    out.push(c);
                }
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

/// Whether the end of the code `earlier` then `prefix` is inside the parentheses of a call in
/// [`READS`]: its arguments may span lines, but not statements (a `;`, `{` or `}` outside
/// parentheses ends the search).
fn in_read_arguments(earlier: &str, prefix: &str) -> bool {
    let mut depth = 0usize;
    for part in [prefix, earlier] {
        for (at, c) in part.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' if depth > 0 => depth -= 1,
                '(' => {
                    let call = &part[..=at];
                    let named = |r: &&str| {
                        call.strip_suffix(*r).is_some_and(|before| {
                            r.starts_with('.')
                                || !before.ends_with(|c: char| c.is_alphanumeric() || c == '_')
                        })
                    };
                    return READS.iter().any(named);
                }
                ';' | '{' | '}' if depth == 0 => return false,
                _ => {}
            }
        }
    }
    false
}

#[test]
fn finds_layout_literals() {
    for line in [
        "let value = self.array_element(addr, at + 1)?;",
        "let w = self.field(s, 24)?;",
        "let (start, limit) = (run.word(i - 1), run.word(i + 1));",
        "let len = self.word(resource.wrapping_add(2 * word))?;",
        "let script_offset = ((found? >> 1) & ((1 << 30) - 1)) - 1;",
        "let length = raw & 0x3ff;",
        "let kind = flags.checked_shr(3)?;",
    ] {
        assert!(
            !layout_literals("", &code_of(line)).is_empty(),
            "missed: {line}"
        );
    }
    for line in [
        "let value = self.array_element(addr, at + ht.dictionary_value_index)?;",
        "let first = self.array_element(addr, 0)?;",
        "let bytes = u16::from_le_bytes([c[0], c[1]]);",
        "while digits.last() == Some(&0) {",
        "if a && 1 == b {",
        "let t = (p.0, p.1);",
        "let i = self.pages.partition_point(|p| p.addr <= addr).checked_sub(1)?;",
        "return Err(invalid(\"field(x, 24) in a message\"));",
        "let x = y; // field(x, 24) in a comment",
    ] {
        assert_eq!(
            layout_literals("", &code_of(line)),
            Vec::<String>::new(),
            "{line}"
        );
    }
    let file = "/// A named bound.\n\
                const MAX_TABLE_BYTES: u64 = 1 << 22;\n\
                const UNNAMED: u64 = 1 << 22;\n\
                let v = self.array_element(addr, at + 1)?;\n\
                let w = self\n\
                    .array_element(\n\
                        addr,\n\
                        at + 2,\n\
                    )?;\n\
                let x = (at + 3, f(4));\n\
                #[cfg(test)]\n\
                mod tests {\n\
                    const DATA: u64 = 1 << 3;\n\
                }";
    let lines: Vec<usize> = layout_literal_lines(file).iter().map(|l| l.0).collect();
    assert_eq!(lines, vec![3, 4, 8]);
}

#[test]
fn no_layout_literal_outside_the_layout() {
    let mut found = Vec::new();
    let mut allowed_used = vec![false; LITERALS_ALLOWED.len()];
    for (shown, text) in crate_sources(&LAYOUT_USERS, Some("v8/src/layout")) {
        for (n, line, hits) in layout_literal_lines(&text) {
            if let Some(k) = LITERALS_ALLOWED
                .iter()
                .position(|&(f, fragment, _)| shown.ends_with(f) && line.contains(fragment))
            {
                allowed_used[k] = true;
                continue;
            }
            found.push(format!(
                "crates/{shown}:{n}: {}: {}",
                hits.join(", "),
                line.trim()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "V8's offsets, indices and bit positions come from the layout (a field of \
         crates/v8/src/layout/mod.rs, its value in the supplements crates/v8/layouts/nodeNN.toml \
         with where it was checked), or a bound is a named constant with a doc comment:\n{}",
        found.join("\n")
    );
    for (used, (file, fragment, _)) in allowed_used.iter().zip(LITERALS_ALLOWED) {
        assert!(
            used,
            "allowed but no longer there (remove it from LITERALS_ALLOWED): {file}: {fragment}"
        );
    }
}
