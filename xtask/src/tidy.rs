//! Repository rules checked as tests (rust-analyzer's `tidy` habit).

use std::path::Path;

use crate::layout::Layout;

/// What only a live Linux process offers: the analysis reads files, so that coroner builds and
/// runs on a macOS laptop as on the server the core came from.
const LINUX_ONLY: [&str; 5] = ["/proc/", "ptrace", "std::os::linux", "nix::", "libc::"];

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
                assert!(
                    !code.contains(word),
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

#[test]
fn only_the_heap_model_decodes() {
    let crates = Layout::new().root.join("crates");
    let mut files = Vec::new();
    for name in ["analysis", "cli"] {
        rust_files(&crates.join(name).join("src"), &mut files);
    }
    assert!(files.len() > 20, "{} files", files.len());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let shown = file
            .strip_prefix(&crates)
            .unwrap_or(&file)
            .display()
            .to_string();
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
