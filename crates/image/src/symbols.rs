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
    /// True for a global or weak symbol, false for a local one.
    pub is_global: bool,
}

impl Symbol {
    /// How good a name this is for display among aliases of one address (higher is better):
    /// global before local, then the fewest leading underscores, then unversioned.
    fn display_rank(&self) -> (bool, std::cmp::Reverse<usize>, bool) {
        let underscores = self.name.bytes().take_while(|&b| b == b'_').count();
        (
            self.is_global,
            std::cmp::Reverse(underscores),
            !self.name.contains('@'),
        )
    }
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
                    is_global: s.is_global(),
                })
            })
            .collect();
        // Names are compared only between symbols of one address (`then_with`): node has some
        // 200 000 symbols, and comparing the names of every pair sorted stood out in profiles
        // of opening a core.
        by_address
            .sort_unstable_by(|a, b| a.address.cmp(&b.address).then_with(|| a.name.cmp(&b.name)));
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

    /// Every symbol at exactly link-time address `addr` (aliases), in name order.
    pub fn at(&self, addr: u64) -> &[Symbol] {
        let from = self.by_address.partition_point(|s| s.address < addr);
        let to = self.by_address.partition_point(|s| s.address <= addr);
        &self.by_address[from..to]
    }

    /// The function containing link-time address `addr`, with the offset of `addr` in it.
    ///
    /// The innermost sized function symbol that contains `addr` wins; without one, the nearest
    /// function symbol of unknown size below `addr`. Among aliases of one address the best name
    /// for display is chosen (global before local, fewest leading underscores, unversioned).
    pub fn function_at(&self, addr: u64) -> Option<(&Symbol, u64)> {
        /// How many symbols below `addr` are looked at: enough to step over labels and the
        /// aliases of one function, small enough to stay cheap.
        const LOOK_BACK: usize = 256;
        let end = self.by_address.partition_point(|s| s.address <= addr);
        let mut nearest_unsized: Option<&Symbol> = None;
        let mut found: Option<&Symbol> = None;
        for s in self.by_address[..end].iter().rev().take(LOOK_BACK) {
            if let Some(f) = found {
                if s.address != f.address {
                    break;
                }
            }
            if !s.is_function {
                continue;
            }
            let off = addr - s.address;
            if s.size == 0 {
                if nearest_unsized.is_none() && found.is_none() {
                    nearest_unsized = Some(s);
                }
                continue;
            }
            if off < s.size && found.is_none_or(|f| s.display_rank() > f.display_rank()) {
                found = Some(s);
            }
        }
        let sym = found.or(nearest_unsized)?;
        Some((sym, addr - sym.address))
    }
}

/// How deep the demangler may nest. cpp_demangle's default (96) is too shallow for V8's
/// Turboshaft reducer stacks, templates nested some 25 deep with substitutions under each,
/// which gdb demangles; the limit still bounds a hostile name.
const DEMANGLE_DEPTH: u32 = 1024;

/// The readable form of a symbol name: C++ names demangled, others unchanged.
pub fn demangle(name: &str) -> String {
    if name.starts_with("_Z") {
        let parse = cpp_demangle::ParseOptions::default().recursion_limit(DEMANGLE_DEPTH);
        if let Ok(sym) = cpp_demangle::Symbol::new_with_options(name, &parse) {
            let print = cpp_demangle::DemangleOptions::default().recursion_limit(DEMANGLE_DEPTH);
            if let Ok(s) = sym.demangle(&print) {
                return gnu_literals(&s);
            }
        }
    }
    name.to_owned()
}

/// Integer literals of template arguments as GNU's demangler (gdb, c++filt) writes them:
/// `8ul`, not cpp_demangle's `(unsigned long)8`; `true`, not `(bool)1`. Names then read as
/// they do in gdb, and compare equal to its backtraces.
fn gnu_literals(name: &str) -> String {
    const SUFFIXES: [(&str, &str); 6] = [
        ("(unsigned long long)", "ull"),
        ("(unsigned long)", "ul"),
        ("(unsigned int)", "u"),
        ("(long long)", "ll"),
        ("(long)", "l"),
        ("(int)", ""),
    ];
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    // Bounded: each turn consumes at least one character of `rest`.
    'scan: while !rest.is_empty() {
        for (cast, suffix) in SUFFIXES {
            if let Some(after) = rest.strip_prefix(cast) {
                let digits = after
                    .char_indices()
                    .take_while(|&(i, c)| c.is_ascii_digit() || (i == 0 && c == '-'))
                    .count();
                if digits > 0 && after[..digits].chars().any(|c| c.is_ascii_digit()) {
                    out.push_str(&after[..digits]);
                    out.push_str(suffix);
                    rest = &after[digits..];
                    continue 'scan;
                }
            }
        }
        for (cast, text) in [("(bool)0", "false"), ("(bool)1", "true")] {
            if let Some(after) = rest.strip_prefix(cast) {
                out.push_str(text);
                rest = after;
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{demangle, gnu_literals};

    #[test]
    fn template_literals_read_as_gdb_prints_them() {
        assert_eq!(
            gnu_literals("node::MaybeStackBuffer<v8::Local<v8::Value>, (unsigned long)8> const&"),
            "node::MaybeStackBuffer<v8::Local<v8::Value>, 8ul> const&"
        );
        assert_eq!(
            gnu_literals("f<(int)-3, (bool)1, (long)2>"),
            "f<-3, true, 2l>"
        );
        assert_eq!(gnu_literals("(unsigned long)"), "(unsigned long)");
        assert_eq!(gnu_literals("g(long)"), "g(long)");
        assert_eq!(
            demangle("_ZN4node6worker11MessagePort11PostMessageEPNS_11EnvironmentEN2v85LocalINS4_7ContextEEENS5_INS4_5ValueEEERKNS_16MaybeStackBufferIS9_Lm8EEE"),
            "node::worker::MessagePort::PostMessage(node::Environment*, v8::Local<v8::Context>, v8::Local<v8::Value>, node::MaybeStackBuffer<v8::Local<v8::Value>, 8ul> const&)"
        );
    }

    #[test]
    fn deeply_nested_turboshaft_names_demangle() {
        // A frame of node 25's JIT compiler thread, named by gdb; cpp_demangle's default
        // recursion limit refuses it.
        let name = "_ZN2v88internal8compiler10turboshaft26DeadCodeEliminationReducerINS2_25StackCheckLoweringReducerINS2_21WasmJSLoweringReducerINS2_30LoadStoreSimplificationReducerINS2_30DuplicationOptimizationReducerINS2_40InstructionSelectionNormalizationReducerINS2_21EmitProjectionReducerINS2_21ValueNumberingReducerINS2_18GenericReducerBaseINS2_13TSReducerBaseINS2_11StackBottomINS_4base3tmp5list1IJNS2_12GraphVisitorES3_S4_S5_S6_S7_S8_SA_SC_EEEEEEEEEEEEEEEEEEEEEEEE20ReduceInputGraphGotoENS2_1VINS2_4NoneEEERKNS2_6GotoOpE";
        let readable = demangle(name);
        assert!(
            readable.starts_with("v8::internal::compiler::turboshaft::DeadCodeEliminationReducer<")
                && readable.ends_with(
                    ">::ReduceInputGraphGoto(v8::internal::compiler::turboshaft::V<v8::internal::compiler::turboshaft::None>, v8::internal::compiler::turboshaft::GotoOp const&)"
                ),
            "{readable}"
        );
    }

    #[test]
    fn a_name_nested_past_the_limit_stays_mangled() {
        let deep = format!("_Z1fI{}iEvv", "P".repeat(5000));
        assert_eq!(demangle(&deep), deep);
    }
}
