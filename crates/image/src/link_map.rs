//! The dynamic linker's own list of the objects it loaded (`_r_debug.r_map`, the `link_map`
//! chain that `dl_iterate_phdr` and debuggers walk): each object's name as it was loaded
//! (`/lib/x86_64-linux-gnu/libdl.so.2`, a symlink the kernel's file table resolves), in load
//! order, the vDSO included. This is the list node's report calls `sharedObjects`.

use crate::ProcessImage;

/// `struct r_debug`: `int r_version` then `struct link_map *r_map`.
const R_MAP: u64 = 8;
/// `struct link_map`: `l_addr`, `l_name`, `l_ld`, `l_next`.
const L_NAME: u64 = 8;
/// `link_map.l_next`.
const L_NEXT: u64 = 24;
/// No process loads more objects than this: a longer chain is a cycle or garbage.
const MAX_OBJECTS: usize = 1 << 16;
/// The longest name read.
const MAX_NAME: usize = 4096;

impl ProcessImage {
    /// The names of the objects the dynamic linker loaded, as it loaded them (the executable,
    /// which it lists without a name, left out); `None` without the linker's symbols or when the
    /// chain cannot be read.
    pub fn loaded_objects(&self) -> Option<Vec<String>> {
        let r_debug = self.modules().iter().find_map(|m| {
            let sym = m.file.as_ref()?.symbols().by_name("_r_debug")?;
            Some(sym.address.wrapping_add(m.bias()))
        })?;
        let memory = self.memory();
        let mut at = memory.read_u64(r_debug.wrapping_add(R_MAP)).ok()?;
        let mut names = Vec::new();
        for _ in 0..MAX_OBJECTS {
            if at == 0 {
                return Some(names);
            }
            let name = memory.read_u64(at.wrapping_add(L_NAME)).ok()?;
            if let Some(n) = self.read_string(name, MAX_NAME).filter(|n| !n.is_empty()) {
                names.push(n);
            }
            at = memory.read_u64(at.wrapping_add(L_NEXT)).ok()?;
        }
        None
    }
}
