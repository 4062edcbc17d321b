//! Functions and their scopes: a `SharedFunctionInfo`'s name (a String, or the function
//! variable of its `ScopeInfo`) and inferred name, its `Script` (name, source) and its start
//! position as a line and column (from the script's line ends, or by counting newlines in the
//! source), and the variables of a `Context` by name (the scope info's context local names).

use coroner_v8::layout::ScopePart;
use coroner_v8::size::{scope_info_parts, ScopeInfoParts};

use crate::error::DecodeError;
use crate::model::{Class, HeapModel};

/// Longest function or script name decoded, in code units.
const NAME_LIMIT: u64 = 4096;
/// Most source characters scanned for newlines when a script has no line ends.
const SCAN_LIMIT: u64 = 64 << 20;
/// Most line ends reserved before reading them (a longer table grows its list as it is read).
const RESERVED_LINE_ENDS: u64 = 1 << 24;

/// What a `SharedFunctionInfo` says about its function.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SharedInfo {
    /// The function's name (`""` for anonymous functions).
    pub name: String,
    /// The name V8 inferred for an anonymous function (`obj.method = function () {}`).
    pub inferred_name: Option<String>,
    /// Its `Script`, when it has one.
    pub script: Option<u64>,
    /// Start and end positions in the script's source (character offsets): V8's start is the
    /// parameter list.
    pub positions: Option<(u64, u64)>,
    /// Position of the `function` token (or of a method's name), where the definition starts.
    pub token_position: Option<u64>,
}

impl SharedInfo {
    /// The name, or the inferred name when the name is empty (V8's "debug name").
    pub fn debug_name(&self) -> &str {
        match (&self.name, &self.inferred_name) {
            (n, Some(inferred)) if n.is_empty() => inferred,
            (n, _) => n,
        }
    }
}

/// A position in a script, 1-based as editors and stack traces print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineColumn {
    /// Line.
    pub line: u64,
    /// Column.
    pub column: u64,
}

impl HeapModel<'_> {
    /// The `ScopeInfo` at `addr`, decoded into its parts.
    pub(crate) fn scope_info(&self, addr: u64) -> Result<ScopeInfoParts, DecodeError> {
        scope_info_parts(self.layout(), self.heap().memory(), addr).map_err(|e| match e {
            coroner_v8::size::SizeError::Read(r) => DecodeError::Read(r),
            _ => DecodeError::Invalid {
                addr,
                what: "scope info",
                value: 0,
            },
        })
    }

    /// What the `SharedFunctionInfo` at `sfi` says about its function.
    pub fn shared_info(&self, sfi: u64) -> Result<SharedInfo, DecodeError> {
        let layout = self.layout();
        let s = &layout.shared_function_info;
        let h = self.header(sfi)?;
        if h.instance_type != layout.types.shared_function_info {
            return Err(DecodeError::WrongType {
                addr: sfi,
                expected: "SharedFunctionInfo",
                found: self.type_name(h.instance_type),
            });
        }
        let mut info = SharedInfo::default();
        let name_word = self.field(sfi, s.name_or_scope_info)?;
        if let Some((nh, class)) = self.class_of_word(name_word) {
            if class == Class::String {
                info.name = self.string_text(name_word, NAME_LIMIT).unwrap_or_default();
            } else if nh.instance_type == layout.types.scope_info {
                let parts = self.scope_info(nh.addr)?;
                if let Some((at, _)) = parts.part(ScopePart::FunctionVariableInfo) {
                    let w = self.field(nh.addr, at)?;
                    info.name = self.string_text(w, NAME_LIMIT).unwrap_or_default();
                }
                if let Some((at, _)) = parts.part(ScopePart::InferredFunctionName) {
                    let w = self.field(nh.addr, at)?;
                    info.inferred_name = self.string_text(w, NAME_LIMIT).filter(|n| !n.is_empty());
                }
                if let Some(at) = parts.position_info {
                    let start = self.smi(nh.addr, at, "start position")?;
                    let end = self.smi(nh.addr, at + layout.tagging.tagged_size, "end position")?;
                    if let (Ok(start), Ok(end)) = (u64::try_from(start), u64::try_from(end)) {
                        info.positions = Some((start, end));
                    }
                }
            }
        }
        // Functions not compiled yet keep their positions and inferred name in UncompiledData.
        let data = self.field(sfi, s.function_data)?;
        if let Some((dh, _)) = self.class_of_word(data) {
            let is_uncompiled = layout
                .types
                .name(dh.instance_type)
                .is_some_and(|n| n.starts_with("UNCOMPILED_DATA"));
            if is_uncompiled {
                let u = &layout.uncompiled_data;
                if info.positions.is_none() {
                    let start = self.u32_at(dh.addr, u.start_position)?;
                    let end = self.u32_at(dh.addr, u.end_position)?;
                    let (start, end) = (i64::from(start as i32), i64::from(end as i32));
                    if let (Ok(start), Ok(end)) = (u64::try_from(start), u64::try_from(end)) {
                        info.positions = Some((start, end));
                    }
                }
                if info.inferred_name.is_none() {
                    let w = self.field(dh.addr, u.inferred_name)?;
                    info.inferred_name = self.string_text(w, NAME_LIMIT).filter(|n| !n.is_empty());
                }
            }
        }
        if let Some((start, _)) = info.positions {
            let raw = self
                .heap()
                .memory()
                .read_u16(sfi.wrapping_add(s.function_token_offset))?;
            if u64::from(raw) != s.function_token_out_of_range {
                info.token_position = start.checked_sub(u64::from(raw));
            }
        }
        let script = self.field(sfi, s.script)?;
        if let Some((sh, _)) = self.class_of_word(script) {
            if sh.instance_type == layout.types.script {
                info.script = Some(sh.addr);
            }
        }
        Ok(info)
    }

    /// The `SharedFunctionInfo` of the JS function at `addr`.
    pub fn function_shared(&self, addr: u64) -> Result<u64, DecodeError> {
        self.pointer(
            addr,
            self.layout().js_function.shared,
            "function's SharedFunctionInfo",
        )
    }

    /// The context (closure scope) of the JS function at `addr`.
    pub fn function_context(&self, addr: u64) -> Result<u64, DecodeError> {
        self.pointer(
            addr,
            self.layout().js_function.context,
            "function's context",
        )
    }

    /// The `ScopeInfo` of the context at `ctx`: what its slots are (names, kinds) and which
    /// function's scope it is.
    pub fn context_scope_info(&self, ctx: u64) -> Result<u64, DecodeError> {
        let w = self.array_element(ctx, self.layout().context.scope_info_index)?;
        self.layout().tagging.strong(w).ok_or(DecodeError::Invalid {
            addr: ctx,
            what: "context scope info",
            value: w,
        })
    }

    /// The name a stack frame of the JS function at `addr` goes by, as V8's stack traces name
    /// it: its debug name, else its own `name` data property when that is a string (where V8
    /// keeps the names it sets at run time: methods with computed or symbol keys). `None` for
    /// an anonymous function.
    pub fn frame_function_name(&self, addr: u64) -> Option<String> {
        self.function_name(addr)
            .ok()
            .filter(|n| !n.is_empty())
            .or_else(|| {
                let w = self.own_data_property(addr, |k| k.is("name"))?;
                let s = self.string(self.layout().tagging.strong(w)?, None).ok()?;
                Some(s.to_string_lossy()).filter(|n| !n.is_empty())
            })
    }

    /// Whether V8's stack traces leave out frames of the JS function at `addr`: a builtin
    /// closure (no script) not installed for JavaScript to call (not `native`), such as the
    /// continuation of an `await`.
    pub fn hidden_from_stack_traces(&self, addr: u64) -> bool {
        let Ok(sfi) = self.function_shared(addr) else {
            return false;
        };
        let layout = self.layout();
        let scriptless = self.shared_info(sfi).is_ok_and(|i| i.script.is_none());
        let native = self
            .u32_at(sfi, layout.shared_function_info.flags)
            .is_ok_and(|f| u64::from(f) & layout.shared_function_info.native != 0);
        scriptless && !native
    }

    /// The name of the JS function at `addr` (its debug name: the inferred name when it has no
    /// name of its own).
    pub fn function_name(&self, addr: u64) -> Result<String, DecodeError> {
        let sfi = self.function_shared(addr)?;
        Ok(self.shared_info(sfi)?.debug_name().to_string())
    }

    /// Where the function whose shared info is `info` is defined: its script's name and the
    /// line and column of its definition (the `function` keyword, or a method's name).
    pub fn definition_place(&self, info: &SharedInfo) -> (Option<String>, Option<LineColumn>) {
        let Some(script) = info.script else {
            return (None, None);
        };
        let position = info.positions.and_then(|(start, _)| {
            let start = info.token_position.unwrap_or(start);
            self.script_position(script, start).ok()
        });
        (self.script_name(script), position)
    }

    /// The name of the script at `script` (`None` when it has none).
    pub fn script_name(&self, script: u64) -> Option<String> {
        let w = self.field(script, self.layout().script.name).ok()?;
        self.string_text(w, NAME_LIMIT)
    }

    /// The tagged source string of the script at `script`.
    fn script_source(&self, script: u64) -> Result<u64, DecodeError> {
        let w = self.field(script, self.layout().script.source)?;
        match self.class_of_word(w) {
            Some((h, Class::String)) => Ok(h.addr),
            _ => Err(DecodeError::Invalid {
                addr: script,
                what: "script source",
                value: w,
            }),
        }
    }

    /// Characters `[start, end)` of the script's source.
    pub fn script_text(
        &self,
        script: u64,
        start: u64,
        end: u64,
        limit: Option<u64>,
    ) -> Result<(String, bool), DecodeError> {
        let source = self.script_source(script)?;
        let end = end.max(start);
        let want = limit.map_or(end, |l| end.min(start.saturating_add(l)));
        let s = self.string(source, Some(want))?;
        let from = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(s.units.len());
        let text = String::from_utf16_lossy(&s.units[from..]);
        Ok((text, want < end && want < s.length))
    }

    /// The line and column (1-based) of character `position` of the script, counting the
    /// script's own line and column offsets (scripts that start inside a file).
    pub fn script_position(&self, script: u64, position: u64) -> Result<LineColumn, DecodeError> {
        let layout = self.layout();
        let sl = &layout.script;
        let (line, column) = match self.line_ends(script)? {
            Some(ends) => {
                let line = ends.partition_point(|&e| e < position) as u64;
                let start = match line.checked_sub(1) {
                    Some(prev) => ends[prev as usize] + 1,
                    None => 0,
                };
                (line, position.saturating_sub(start))
            }
            None => {
                let source = self.script_source(script)?;
                let want = position.min(SCAN_LIMIT);
                let s = self.string(source, Some(want))?;
                let mut line = 0u64;
                let mut start = 0u64;
                for (i, &u) in s.units.iter().enumerate() {
                    if u == u16::from(b'\n') {
                        line += 1;
                        start = i as u64 + 1;
                    }
                }
                (line, position.saturating_sub(start))
            }
        };
        let line_offset = self.smi(script, sl.line_offset, "script line offset")?;
        let column_offset = self.smi(script, sl.column_offset, "script column offset")?;
        let column = if line == 0 {
            column.saturating_add_signed(column_offset)
        } else {
            column
        };
        Ok(LineColumn {
            line: line.saturating_add_signed(line_offset) + 1,
            column: column + 1,
        })
    }

    /// The script's line ends (offsets of its newlines), when V8 computed them.
    fn line_ends(&self, script: u64) -> Result<Option<Vec<u64>>, DecodeError> {
        let w = self.field(script, self.layout().script.line_ends)?;
        let Some((h, _)) = self.class_of_word(w) else {
            return Ok(None);
        };
        if h.instance_type != self.layout().types.fixed_array {
            return Ok(None);
        }
        let n = self.array_length(h.addr)?;
        let mut ends = Vec::with_capacity(usize::try_from(n.min(RESERVED_LINE_ENDS)).unwrap_or(0));
        for i in 0..n {
            let e = self.array_element(h.addr, i)?;
            let e = self
                .layout()
                .tagging
                .smi(e)
                .and_then(|e| u64::try_from(e).ok())
                .ok_or(DecodeError::Invalid {
                    addr: h.addr,
                    what: "line end",
                    value: e,
                })?;
            ends.push(e);
        }
        Ok(Some(ends))
    }

    /// The variables a context holds, by name, in declaration order (tagged values).
    pub fn context_variables(&self, ctx: u64) -> Result<Vec<(String, u64)>, DecodeError> {
        let layout = self.layout();
        let h = self.header(ctx)?;
        if self.class_of(h.instance_type) != Class::Context {
            return Err(DecodeError::WrongType {
                addr: ctx,
                expected: "context",
                found: self.type_name(h.instance_type),
            });
        }
        if h.instance_type == layout.types.native_context {
            return Ok(Vec::new());
        }
        let scope = self.array_element(ctx, layout.context.scope_info_index)?;
        let scope = match self.class_of_word(scope) {
            Some((sh, _)) if sh.instance_type == layout.types.scope_info => sh.addr,
            _ => {
                return Err(DecodeError::Invalid {
                    addr: ctx,
                    what: "context scope info",
                    value: scope,
                })
            }
        };
        let parts = self.scope_info(scope)?;
        let n = parts.context_local_count;
        let len = self.array_length(ctx)?;
        let min = layout.context.min_slots;
        if len < min + n {
            return Err(DecodeError::Invalid {
                addr: ctx,
                what: "context length",
                value: len,
            });
        }
        // The locals are the last slots: after the fixed slots and, for some scopes, an
        // extension slot.
        let first = len - n;
        let names = self.context_local_names(scope, &parts)?;
        let mut out = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let value = self.array_element(ctx, first + i as u64)?;
            out.push((name, self.unboxed_context_value(value)));
        }
        Ok(out)
    }

    /// The value of a context slot: the word itself, or, when it is a `ContextCell` (V8 14
    /// boxes some `let` and `var` variables), the cell's tagged value, or its raw int32 as a
    /// Smi. A cell holding a raw float64 is left as is (no tagged word holds that value).
    fn unboxed_context_value(&self, word: u64) -> u64 {
        let layout = self.layout();
        let Some(cc) = layout.context_cell else {
            return word;
        };
        let Some(cell_type) = layout.types.number("CONTEXT_CELL_TYPE") else {
            return word;
        };
        let cell = match self.class_of_word(word) {
            Some((h, _)) if h.instance_type == cell_type => h.addr,
            _ => return word,
        };
        let memory = self.heap().memory();
        let Ok(state) = memory.read_u32(cell.wrapping_add(cc.state)) else {
            return word;
        };
        if u64::from(state) == cc.state_float64 {
            return word;
        }
        if u64::from(state) == cc.state_int32 {
            return match memory.read_u32(cell.wrapping_add(cc.raw_value)) {
                // The i32's bits, sign-extended, in a Smi's place.
                Ok(v) => (i64::from(v as i32) as u64)
                    .checked_shl(layout.tagging.smi_shift)
                    .unwrap_or(word),
                Err(_) => word,
            };
        }
        self.field(cell, cc.value).unwrap_or(word)
    }

    /// The names of a scope's context locals, in slot order.
    fn context_local_names(
        &self,
        scope: u64,
        parts: &ScopeInfoParts,
    ) -> Result<Vec<String>, DecodeError> {
        let layout = self.layout();
        let n = parts.context_local_count;
        let Some((at, words)) = parts.part(ScopePart::ContextLocalNames) else {
            return Ok(Vec::new());
        };
        let word = layout.tagging.tagged_size;
        if words == n {
            let mut names = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
            for i in 0..n {
                let w = self.field(scope, at + i * word)?;
                names.push(self.string_text(w, NAME_LIMIT).unwrap_or_default());
            }
            return Ok(names);
        }
        // Many locals: one NameToIndexHashTable of (name, index).
        let table = self.pointer(scope, at, "context local names table")?;
        let ht = &layout.hash_table;
        let (start, capacity) = self.hash_table_shape(
            table,
            ht.object_hash_table_prefix_size,
            ht.object_hash_table_entry_size,
        )?;
        let mut names = vec![String::new(); usize::try_from(n).unwrap_or(0)];
        for i in 0..capacity {
            let at = start + i * ht.object_hash_table_entry_size;
            let key = self.array_element(table, at + ht.entry_key_index)?;
            let Some(text) = self.string_text(key, NAME_LIMIT) else {
                continue;
            };
            let index = self.array_element(table, at + ht.object_hash_table_value_index)?;
            if let Some(slot) = layout
                .tagging
                .smi(index)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| names.get_mut(i))
            {
                *slot = text;
            }
        }
        Ok(names)
    }
}
