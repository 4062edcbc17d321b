//! Finding a module's file when it is not at the path the core names (a core copied to another
//! machine): under the sysroot, then in the library directories by file name, each candidate
//! accepted only when its build id equals the core's. Also finding a module's separate debug
//! file by build id (`/usr/lib/debug/.build-id/xx/yyyy.debug`), whose full symbol table names
//! the static functions of a stripped library.

use std::path::{Path, PathBuf};

use crate::elf_file::{hex, ElfFile};
use crate::modules::{Module, ModuleStatus};
use crate::OpenOptions;

/// Where distributions install separate debug files, by build id.
const DEBUG_DIR: &str = "/usr/lib/debug";

/// The places a module's file is looked for besides its own path, in order.
fn candidates(module: &Module, options: &OpenOptions) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let path = Path::new(&module.path);
    if let Some(root) = &options.sysroot {
        out.push(reroot(root, path));
    }
    if let Some(name) = path.file_name() {
        for dir in &options.lib_paths {
            out.push(dir.join(name));
        }
    }
    out
}

/// `root` + `path` as if `path` were relative to `root`.
fn reroot(root: &Path, path: &Path) -> PathBuf {
    let relative: PathBuf = path
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .collect();
    root.join(relative)
}

/// Looks for the module's file under the sysroot and in the library directories; the first
/// whose build id matches the core's replaces the module's file and status. Without a build id
/// in the core nothing found elsewhere can be checked, so nothing is taken.
pub(crate) fn elsewhere(module: &mut Module, options: &OpenOptions) {
    let Some(want) = module.core_build_id.clone() else {
        return;
    };
    for candidate in candidates(module, options) {
        if let Ok(file) = ElfFile::open(&candidate) {
            if file.build_id() == Some(&want[..]) {
                module.file = Some(file);
                module.status = ModuleStatus::Matched;
                return;
            }
        }
    }
}

/// The one warning for a shared library that could not be used, or `None` when it is usable.
pub(crate) fn library_warning(module: &Module, options: &OpenOptions) -> Option<String> {
    let searched = if options.sysroot.is_some() || !options.lib_paths.is_empty() {
        " (nor under --sysroot / --lib-path)"
    } else {
        ""
    };
    let what = match &module.status {
        ModuleStatus::Matched | ModuleStatus::Unverified | ModuleStatus::NotOpened => return None,
        ModuleStatus::Missing => format!("is not on this machine{searched}"),
        ModuleStatus::Mismatch { file_id, core_id } => format!(
            "is a different build from the one in the core ({file_id} on disk, {core_id} in the core){searched}"
        ),
        ModuleStatus::Unreadable(reason) => format!("cannot be read ({reason}){searched}"),
    };
    Some(format!(
        "library {} {what}; its code is missing from the core, and stacks through it fall back to frame pointers (point to a copy with --sysroot DIR or --lib-path DIR)",
        module.path
    ))
}

/// Attaches the module's separate debug file, when one with its build id is installed (under
/// the sysroot when one is given, else on this machine).
pub(crate) fn attach_debug_file(module: &mut Module, options: &OpenOptions) {
    if module.file.is_none() {
        return;
    }
    let Some(id) = module
        .core_build_id
        .clone()
        .or_else(|| module.file.as_ref()?.build_id().map(<[u8]>::to_vec))
    else {
        return;
    };
    if id.len() < 2 {
        return;
    }
    let hex_id = hex(&id);
    let relative = format!(".build-id/{}/{}.debug", &hex_id[..2], &hex_id[2..]);
    let mut dirs = Vec::new();
    if let Some(root) = &options.sysroot {
        dirs.push(reroot(root, Path::new(DEBUG_DIR)));
    }
    dirs.push(PathBuf::from(DEBUG_DIR));
    for dir in dirs {
        if let Ok(file) = ElfFile::open(&dir.join(&relative)) {
            if file.build_id() == Some(&id[..]) {
                module.debug_file = Some(file);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reroots_absolute_paths() {
        assert_eq!(
            reroot(Path::new("/sys/root"), Path::new("/lib/x86_64/libc.so.6")),
            PathBuf::from("/sys/root/lib/x86_64/libc.so.6")
        );
        assert_eq!(
            reroot(Path::new("r"), Path::new("/a/../b")),
            PathBuf::from("r/a/b")
        );
    }
}
