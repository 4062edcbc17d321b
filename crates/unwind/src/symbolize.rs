//! Naming a pc: the module it is mapped from, its link-time address in that module's file, and
//! the function symbol there (demangled, with the offset into it).
//!
//! The link-time address goes through the mapping that holds the pc, its file offset and the
//! file segment holding that offset, so a second mapping of a file at a far address is named
//! like the original: Node 22+ maps the embedded builtins of the executable again into V8's
//! code range, and its return addresses there name their `Builtins_*` symbols.

use coroner_image::{demangle, Module, ProcessImage};

use crate::frame::NativeSymbol;

/// A pc located in a module.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Located<'a> {
    /// Index of the module in the image.
    pub index: usize,
    /// The module.
    pub module: &'a Module,
    /// The pc's link-time address in the module's file, when the file is usable.
    pub link: Option<u64>,
}

/// The module holding `addr`.
pub(crate) fn locate(image: &ProcessImage, addr: u64) -> Option<Located<'_>> {
    let (index, module) = image
        .modules()
        .iter()
        .enumerate()
        .find(|(_, m)| m.contains(addr))?;
    Some(Located {
        index,
        module,
        link: module.link_address(addr),
    })
}

/// The name of `pc`, looking it up at `lookup` (`pc - 1` for a return address, whose call
/// instruction may be the function's last).
pub(crate) fn symbolize(image: &ProcessImage, pc: u64, lookup: u64) -> NativeSymbol {
    let Some(at) = locate(image, lookup) else {
        return NativeSymbol {
            module: None,
            symbol: None,
            mangled: None,
            offset: 0,
            link_address: None,
        };
    };
    let module = at.module;
    let link = at.link.map(|l| l.wrapping_add(pc.wrapping_sub(lookup)));
    let found = at.link.and_then(|l| module.function_at(l));
    match found {
        Some((sym, _)) => NativeSymbol {
            module: Some(module.short_name().to_string()),
            symbol: Some(display_name(&sym.name)),
            mangled: Some(sym.name.clone()),
            offset: link.map_or(0, |l| l.wrapping_sub(sym.address)),
            link_address: link,
        },
        None => NativeSymbol {
            module: Some(module.short_name().to_string()),
            symbol: None,
            mangled: None,
            offset: pc.wrapping_sub(module.base),
            link_address: link,
        },
    }
}

/// A symbol as displayed: its symbol version (`@@GLIBC_2.34`) dropped, C++ demangled.
pub fn display_name(mangled: &str) -> String {
    let base = mangled.split('@').next().unwrap_or(mangled);
    demangle(base)
}
