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
