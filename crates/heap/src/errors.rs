//! The stack an Error captured: V8 keeps it under a private symbol of the error, as call sites
//! (`CallSiteInfo`: the function, the receiver, the code and an offset in it) until `.stack` is
//! read, then as the formatted string (in some versions both, in an `ErrorStackData`). A
//! process that died of an uncaught exception usually never read it, so the call sites are
//! decoded here the way V8 would have formatted them: each function with its script, line and
//! column.

use coroner_v8::layout::CallSiteInfoLayout;

use crate::functions::LineColumn;
use crate::model::HeapModel;
use crate::properties::Slot;
use crate::redact::Redactor;

/// Most call sites decoded (V8's `Error.stackTraceLimit` is 10 by default; a program may raise it).
const MAX_CALL_SITES: u64 = 200;
/// Longest formatted stack read, in code units.
const MAX_STACK_TEXT: u64 = 64 * 1024;

/// One frame of a captured stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// The function's name as V8's stack traces give it (`validate`, `Timeout.tick [as
    /// _onTimeout]`); `None` when anonymous.
    pub function: Option<String>,
    /// Its script.
    pub file: Option<String>,
    /// 1-based line and column of the position, when the script's source can be read.
    pub position: Option<LineColumn>,
    /// A `new` call.
    pub constructor: bool,
    /// An async function awaiting (`at async f`).
    pub is_async: bool,
}

/// What an Error's stack holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorStack {
    /// The string V8 formatted when `.stack` was read.
    Formatted(String),
    /// The call sites, `.stack` never read.
    Captured(Vec<CallSite>),
}

impl HeapModel<'_> {
    /// The first argument of the runtime call whose exit frame's frame pointer is `fp` (what a
    /// `throw` passes to `Runtime_Throw`): the word where the layout's `frames.fp_args` says a
    /// frame's arguments start.
    pub fn runtime_call_argument(&self, fp: u64) -> Option<u64> {
        let at = fp.checked_add_signed(self.layout().frames.fp_args)?;
        self.word(at).ok()
    }

    /// The stack the Error (or any object `Error.captureStackTrace` was given) at `addr`
    /// captured, from its private stack symbol or an own `stack` data property; `None` when it
    /// has none.
    ///
    /// Under `--redact` ([`HeapModel::with_redaction`]) a formatted stack's message lines are
    /// withheld.
    pub fn error_stack(&self, addr: u64) -> Option<ErrorStack> {
        self.shown_error_stack(addr, self.redactor())
    }

    /// [`error_stack`](Self::error_stack), its message withheld by `redactor`.
    pub(crate) fn shown_error_stack(
        &self,
        addr: u64,
        redactor: Option<&Redactor>,
    ) -> Option<ErrorStack> {
        let props = self.own_properties(addr).ok()?;
        let stack = props.into_iter().find_map(|p| match p.slot {
            Slot::Data(w) if p.key.is("stack") || p.key.is_internal() => self.stack_value(w),
            _ => None,
        })?;
        Some(match (stack, redactor) {
            (ErrorStack::Formatted(text), Some(r)) => ErrorStack::Formatted(r.stack(&text)),
            (stack, _) => stack,
        })
    }

    /// The stack a value holds: a string, a `FixedArray` of call sites, or an `ErrorStackData`
    /// holding either.
    fn stack_value(&self, word: u64) -> Option<ErrorStack> {
        if let Some(text) = self.string_text(word, MAX_STACK_TEXT) {
            return Some(ErrorStack::Formatted(text));
        }
        let addr = self.layout().tagging.strong(word)?;
        let h = self.header(addr).ok()?;
        let types = &self.layout().types;
        if Some(h.instance_type) == types.number("ERROR_STACK_DATA_TYPE") {
            let data = self.layout().error_stack_data?;
            let inner = self
                .field(addr, data.call_site_infos_or_formatted_stack)
                .ok()?;
            return self.stack_value(inner);
        }
        if Some(h.instance_type) != types.number("FIXED_ARRAY_TYPE") {
            return None;
        }
        let sites = self.call_sites(addr)?;
        Some(ErrorStack::Captured(sites))
    }

    /// The call sites of a `FixedArray` of `CallSiteInfo`s, or of inline call site records
    /// (`None` if it holds anything else).
    fn call_sites(&self, array: u64) -> Option<Vec<CallSite>> {
        let layout = self.layout();
        let c = layout.call_site_info.as_ref()?;
        let len = self
            .smi(array, layout.fixed_array.length, "fixed array length")
            .ok()?;
        let len = u64::try_from(len).ok()?;
        let first = array + layout.fixed_array.header_size;
        let word = layout.tagging.pointer_size;
        if let Some(stride) = c.inline_stride.filter(|&s| s > 0) {
            // A record's slots are a CallSiteInfo's fields without its map.
            let count = (len / stride).min(MAX_CALL_SITES);
            return Some(
                (0..count)
                    .map(|i| self.call_site(first + i * stride * word - word, c))
                    .collect(),
            );
        }
        let site_type = layout.types.number("CALL_SITE_INFO_TYPE")?;
        let mut out = Vec::new();
        for i in 0..len.min(MAX_CALL_SITES) {
            let site = layout.tagging.strong(self.word(first + i * word).ok()?)?;
            if self.header(site).ok()?.instance_type != site_type {
                return None;
            }
            out.push(self.call_site(site, c));
        }
        Some(out)
    }

    /// One call site, named and placed as V8 formats it: a `CallSiteInfo` at `site`, or an
    /// inline record laid out as one (`site` one word before its first slot).
    fn call_site(&self, site: u64, c: &CallSiteInfoLayout) -> CallSite {
        let layout = self.layout();
        let flags = self
            .smi(site, c.flags, "call site flags")
            .ok()
            .and_then(|f| u64::try_from(f).ok())
            .unwrap_or(0);
        let bit = |mask: Option<u64>| mask.is_some_and(|m| flags & m != 0);
        let function = self
            .field(site, c.function)
            .ok()
            .and_then(|w| layout.tagging.strong(w));
        let name = function.and_then(|f| self.frame_function_name(f));
        let call = function
            .zip(self.field(site, c.receiver_or_instance).ok())
            .and_then(|(f, receiver)| {
                self.method_call_name(f, name.as_deref().unwrap_or(""), receiver)
            });
        let info = function
            .and_then(|f| self.function_shared(f).ok())
            .and_then(|sfi| self.shared_info(sfi).ok());
        let script = info.as_ref().and_then(|i| i.script);
        let position = self
            .smi(site, c.code_offset_or_source_position, "call site offset")
            .ok()
            .and_then(|offset| {
                if bit(c.source_position_computed) {
                    return u64::try_from(offset).ok();
                }
                let mut code = layout
                    .tagging
                    .strong(self.field(site, c.code_object).ok()?)?;
                if let Some(off) = c.bytecode_wrapper_bytecode.filter(|_| {
                    self.header(code).ok().map(|h| h.instance_type)
                        == layout.types.number("BYTECODE_WRAPPER_TYPE")
                }) {
                    code = layout.tagging.strong(self.field(code, off).ok()?)?;
                }
                let is_bytecode = Some(self.header(code).ok()?.instance_type)
                    == layout.types.number("BYTECODE_ARRAY_TYPE");
                // Machine code offsets need the code's own tables: the function's start stands in.
                if is_bytecode {
                    self.executing_position(code, offset)
                } else {
                    info.as_ref()?.positions.map(|(start, _)| start)
                }
            });
        CallSite {
            function: call.or(name),
            file: script.and_then(|s| self.script_name(s)),
            position: script
                .zip(position)
                .and_then(|(s, p)| self.script_position(s, p).ok()),
            constructor: bit(c.is_constructor),
            is_async: bit(c.is_async),
        }
    }
}
