//! Symbol tables of a mapped ELF file: lookup by name and by address.
//!
//! `.symtab` and `.dynsym` are merged (the `v8dbg_*` constants are only in `.dynsym` of stripped
//! builds, `Builtins_*` only in `.symtab`). Names stay mangled here; demangling is done on demand
//! for display, because most lookups are by exact mangled name.

use std::collections::HashMap;

use object::{Object, ObjectSymbol, SymbolKind};

/// One defined symbol, at its link-time address.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// Mangled name.
    pub name: String,
    /// Link-time address.
    pub address: u64,
    /// Size in bytes (0 when the table does not say).
    pub size: u64,
    /// True for code.
    pub is_function: bool,
}

/// Symbols sorted by address, with a name index.
#[derive(Debug, Default)]
pub struct SymbolTable {
    by_address: Vec<Symbol>,
    by_name: HashMap<String, usize>,
}

impl SymbolTable {
    /// Parses both symbol tables of an ELF image. An unparsable file gives an empty table:
    /// symbols are an aid, and the caller has already validated the file when it opened it.
    pub fn parse(data: &[u8]) -> SymbolTable {
        let Ok(file) = object::File::parse(data) else {
            return SymbolTable::default();
        };
        let mut by_address: Vec<Symbol> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|s| s.is_definition() && s.address() != 0)
            .filter_map(|s| {
                let name = s.name().ok()?;
                if name.is_empty() {
                    return None;
                }
                Some(Symbol {
                    name: name.to_owned(),
                    address: s.address(),
                    size: s.size(),
                    is_function: s.kind() == SymbolKind::Text,
                })
            })
            .collect();
        by_address.sort_by(|a, b| a.address.cmp(&b.address).then(a.name.cmp(&b.name)));
        by_address.dedup_by(|a, b| a.address == b.address && a.name == b.name);
        let by_name = by_address
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        SymbolTable {
            by_address,
            by_name,
        }
    }

    /// Number of distinct symbols.
    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    /// True when the file had no usable symbols.
    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }

    /// The symbol with this exact (mangled) name.
    pub fn by_name(&self, name: &str) -> Option<&Symbol> {
        self.by_name.get(name).map(|&i| &self.by_address[i])
    }

    /// Every symbol whose name starts with `prefix`, in address order.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a Symbol> + 'a {
        self.by_address
            .iter()
            .filter(move |s| s.name.starts_with(prefix))
    }

    /// The symbol containing link-time address `addr`, or the nearest one below it when sizes are
    /// unknown; with the offset of `addr` from its start.
    pub fn lookup(&self, addr: u64) -> Option<(&Symbol, u64)> {
        let idx = self.by_address.partition_point(|s| s.address <= addr);
        let sym = self.by_address.get(idx.checked_sub(1)?)?;
        let off = addr - sym.address;
        if sym.size != 0 && off >= sym.size {
            return None;
        }
        Some((sym, off))
    }
}

/// The readable form of a symbol name: C++ names demangled, others unchanged.
pub fn demangle(name: &str) -> String {
    if name.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(name) {
            if let Ok(s) = sym.demangle(&cpp_demangle::DemangleOptions::default()) {
                return s;
            }
        }
    }
    name.to_owned()
}
