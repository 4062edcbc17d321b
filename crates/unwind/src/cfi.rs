//! DWARF call frame information of one module, and one unwinding step with it.
//!
//! A module's `.eh_frame` is searched through the binary search table of its `.eh_frame_hdr`
//! (or, without one, through an index built once by scanning the section); its `.debug_frame`,
//! or that of its separate debug file, is indexed the same way and used where `.eh_frame` has
//! no entry. Lookups are by link-time address. A step applies the row's CFA and register rules
//! to the callee's registers and the core's memory; DWARF expressions are evaluated with gimli,
//! reading registers and memory on demand, with a bounded number of operations.

use coroner_corefile::AddressSpace;
use coroner_image::{ElfFile, Module};
use gimli::{
    BaseAddresses, CfaRule, DebugFrame, DebugFrameOffset, EhFrame, EhFrameHdr, EhFrameOffset,
    EndianSlice, Evaluation, EvaluationResult, LittleEndian, Location, ParsedEhFrameHdr, Register,
    RegisterRule, UnwindContext, UnwindExpression, UnwindSection, UnwindTableRow, Value,
};

use crate::regs::{reg, Regs};

type R<'a> = EndianSlice<'a, LittleEndian>;

/// The reusable scratch space of CFI evaluation (one per walk).
pub(crate) type Context = UnwindContext<usize>;

/// Address size of x86-64.
const ADDRESS_SIZE: u8 = 8;
/// The most operations a DWARF expression may run (expressions in CFI are a few operations).
const MAX_EXPRESSION_OPS: u32 = 1000;

/// One FDE of an index: the addresses it covers and where it is in its section.
#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    start: u64,
    end: u64,
    offset: usize,
}

/// `.eh_frame` of a module, with its search table.
struct EhFrameCfi<'a> {
    section: EhFrame<R<'a>>,
    bases: BaseAddresses,
    hdr: Option<ParsedEhFrameHdr<R<'a>>>,
    /// Built when there is no usable `.eh_frame_hdr` table.
    index: Vec<IndexEntry>,
}

/// `.debug_frame` of a module (or its debug file), indexed.
struct DebugFrameCfi<'a> {
    section: DebugFrame<R<'a>>,
    bases: BaseAddresses,
    index: Vec<IndexEntry>,
}

/// The call frame information of one module.
pub(crate) struct ModuleCfi<'a> {
    eh: Option<EhFrameCfi<'a>>,
    debug: Vec<DebugFrameCfi<'a>>,
}

/// What one CFI step found.
pub(crate) enum Step {
    /// No entry covers the address.
    NoEntry,
    /// The caller's registers; `exact_pc` when the callee is a signal trampoline, whose
    /// caller's pc is the interrupted instruction rather than a return address.
    Caller { regs: Regs, exact_pc: bool },
    /// The return address is undefined: the callee is the outermost frame.
    Outermost,
    /// The entry could not be applied.
    Failed(StepError),
}

/// Why a CFI step failed.
pub(crate) enum StepError {
    /// A memory read failed at this address.
    Unreadable(u64),
    /// Anything else, in words.
    Bad(String),
}

impl<'a> ModuleCfi<'a> {
    /// The call frame information of `module`'s file (and its debug file), if it has any.
    pub fn load(module: &'a Module) -> Option<ModuleCfi<'a>> {
        let file = module.file.as_ref()?;
        let eh = eh_frame_of(file);
        let debug: Vec<DebugFrameCfi<'a>> = [Some(file), module.debug_file.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(debug_frame_of)
            .collect();
        (eh.is_some() || !debug.is_empty()).then_some(ModuleCfi { eh, debug })
    }

    /// One step from a frame whose pc is at link-time address `vaddr` (already `pc - 1` for a
    /// return address) with registers `regs`.
    pub fn step(&self, ctx: &mut Context, vaddr: u64, regs: &Regs, memory: &AddressSpace) -> Step {
        if let Some(eh) = &self.eh {
            let fde = match &eh.hdr.as_ref().and_then(|h| h.table()) {
                Some(table) => match table.fde_for_address(
                    &eh.section,
                    &eh.bases,
                    vaddr,
                    EhFrame::cie_from_offset,
                ) {
                    Ok(fde) => Some(fde),
                    Err(gimli::Error::NoUnwindInfoForAddress) => None,
                    Err(e) => return Step::Failed(StepError::Bad(format!(".eh_frame: {e}"))),
                },
                None => match find(&eh.index, vaddr) {
                    Some(entry) => match eh.section.fde_from_offset(
                        &eh.bases,
                        EhFrameOffset(entry.offset),
                        EhFrame::cie_from_offset,
                    ) {
                        Ok(fde) => Some(fde),
                        Err(e) => return Step::Failed(StepError::Bad(format!(".eh_frame: {e}"))),
                    },
                    None => None,
                },
            };
            if let Some(fde) = fde.filter(|f| f.contains(vaddr)) {
                let signal = fde.is_signal_trampoline();
                return match fde.unwind_info_for_address(&eh.section, &eh.bases, ctx, vaddr) {
                    Ok(row) => apply(&eh.section, row, regs, memory, signal),
                    Err(e) => Step::Failed(StepError::Bad(format!(".eh_frame: {e}"))),
                };
            }
        }
        for debug in &self.debug {
            let Some(entry) = find(&debug.index, vaddr) else {
                continue;
            };
            let fde = match debug.section.fde_from_offset(
                &debug.bases,
                DebugFrameOffset(entry.offset),
                DebugFrame::cie_from_offset,
            ) {
                Ok(fde) => fde,
                Err(e) => return Step::Failed(StepError::Bad(format!(".debug_frame: {e}"))),
            };
            let signal = fde.is_signal_trampoline();
            return match fde.unwind_info_for_address(&debug.section, &debug.bases, ctx, vaddr) {
                Ok(row) => apply(&debug.section, row, regs, memory, signal),
                Err(e) => Step::Failed(StepError::Bad(format!(".debug_frame: {e}"))),
            };
        }
        Step::NoEntry
    }
}

/// The index entry covering `vaddr`.
fn find(index: &[IndexEntry], vaddr: u64) -> Option<IndexEntry> {
    let i = index.partition_point(|e| e.start <= vaddr).checked_sub(1)?;
    let e = index[i];
    (vaddr < e.end).then_some(e)
}

fn eh_frame_of(file: &ElfFile) -> Option<EhFrameCfi<'_>> {
    let eh = file.section(".eh_frame")?;
    let mut bases = BaseAddresses::default().set_eh_frame(eh.address);
    if let Some(text) = file.section(".text") {
        bases = bases.set_text(text.address);
    }
    let mut section = EhFrame::new(eh.data, LittleEndian);
    section.set_address_size(ADDRESS_SIZE);
    let hdr = file.section(".eh_frame_hdr").and_then(|h| {
        bases = bases.clone().set_eh_frame_hdr(h.address);
        EhFrameHdr::new(h.data, LittleEndian)
            .parse(&bases, ADDRESS_SIZE)
            .ok()
    });
    let has_table = hdr.as_ref().is_some_and(|h| h.table().is_some());
    let index = if has_table {
        Vec::new()
    } else {
        build_index(&section, &bases)
    };
    Some(EhFrameCfi {
        section,
        bases,
        hdr,
        index,
    })
}

fn debug_frame_of(file: &ElfFile) -> Option<DebugFrameCfi<'_>> {
    let df = file.section(".debug_frame")?;
    let mut section = DebugFrame::new(df.data, LittleEndian);
    section.set_address_size(ADDRESS_SIZE);
    let bases = BaseAddresses::default();
    let index = build_index(&section, &bases);
    (!index.is_empty()).then_some(DebugFrameCfi {
        section,
        bases,
        index,
    })
}

/// Every FDE of a section, sorted by start address. Stops at the first malformed entry (the
/// iteration is bounded by the section's size: each entry consumes at least its header).
fn build_index<'a, S: UnwindSection<R<'a>>>(section: &S, bases: &BaseAddresses) -> Vec<IndexEntry> {
    let mut index = Vec::new();
    let mut entries = section.entries(bases);
    while let Ok(Some(entry)) = entries.next() {
        if let gimli::CieOrFde::Fde(partial) = entry {
            let offset = partial.offset();
            if let Ok(fde) = partial.parse(|s, b, o| s.cie_from_offset(b, o)) {
                if fde.len() > 0 {
                    index.push(IndexEntry {
                        start: fde.initial_address(),
                        end: fde.end_address(),
                        offset,
                    });
                }
            }
        }
    }
    index.sort_by_key(|e| e.start);
    index
}

/// Applies a row of the table to the callee's registers.
fn apply<'a, S: UnwindSection<R<'a>>>(
    section: &S,
    row: &UnwindTableRow<usize>,
    regs: &Regs,
    memory: &AddressSpace,
    exact_pc: bool,
) -> Step {
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => match regs.get(register.0) {
            Some(v) => v.wrapping_add_signed(*offset),
            None => {
                return Step::Failed(StepError::Bad(format!(
                    "the CFA needs register {} which is unknown",
                    register.0
                )))
            }
        },
        CfaRule::Expression(expr) => match evaluate(section, expr, None, regs, memory) {
            Ok(v) => v,
            Err(e) => return Step::Failed(e),
        },
    };
    let mut caller = Regs::empty();
    caller.set(reg::RSP, cfa);
    for n in Regs::numbers() {
        let rule = row.register(Register(n));
        let value = match rule {
            RegisterRule::Undefined => {
                if n == reg::RIP {
                    return Step::Outermost;
                }
                if Regs::is_callee_saved(n) {
                    regs.get(n)
                } else {
                    None
                }
            }
            RegisterRule::SameValue => regs.get(n),
            RegisterRule::Offset(off) => match memory.read_u64(cfa.wrapping_add_signed(off)) {
                Ok(v) => Some(v),
                Err(e) => return Step::Failed(StepError::Unreadable(e.addr())),
            },
            RegisterRule::ValOffset(off) => Some(cfa.wrapping_add_signed(off)),
            RegisterRule::Register(other) => regs.get(other.0),
            RegisterRule::Expression(expr) => {
                match evaluate(section, &expr, Some(cfa), regs, memory) {
                    Ok(addr) => match memory.read_u64(addr) {
                        Ok(v) => Some(v),
                        Err(e) => return Step::Failed(StepError::Unreadable(e.addr())),
                    },
                    Err(e) => return Step::Failed(e),
                }
            }
            RegisterRule::ValExpression(expr) => {
                match evaluate(section, &expr, Some(cfa), regs, memory) {
                    Ok(v) => Some(v),
                    Err(e) => return Step::Failed(e),
                }
            }
            RegisterRule::Constant(v) => Some(v),
            _ => None,
        };
        if n == reg::RSP {
            // The CFA is the caller's stack pointer unless a rule says otherwise.
            if !matches!(rule, RegisterRule::Undefined | RegisterRule::SameValue) {
                if let Some(v) = value {
                    caller.set(n, v);
                }
            }
            continue;
        }
        if let Some(v) = value {
            caller.set(n, v);
        }
    }
    if caller.pc().is_none() {
        return Step::Failed(StepError::Bad("no return address rule".into()));
    }
    Step::Caller {
        regs: caller,
        exact_pc,
    }
}

/// Evaluates a DWARF expression of the call frame information: its result is an address (for
/// the CFA and `DW_CFA_expression`) or a value (`DW_CFA_val_expression`). `initial` is pushed
/// first (the CFA, for register rules).
fn evaluate<'a, S: UnwindSection<R<'a>>>(
    section: &S,
    expr: &UnwindExpression<usize>,
    initial: Option<u64>,
    regs: &Regs,
    memory: &AddressSpace,
) -> Result<u64, StepError> {
    let bad = |what: String| StepError::Bad(format!("DWARF expression: {what}"));
    let expression = expr.get(section).map_err(|e| bad(e.to_string()))?;
    let encoding = gimli::Encoding {
        address_size: ADDRESS_SIZE,
        format: gimli::Format::Dwarf32,
        version: 4,
    };
    let mut eval: Evaluation<R<'a>> = expression.evaluation(encoding);
    eval.set_max_iterations(MAX_EXPRESSION_OPS);
    if let Some(v) = initial {
        eval.set_initial_value(v);
    }
    let mut result = eval.evaluate().map_err(|e| bad(e.to_string()))?;
    loop {
        result = match result {
            EvaluationResult::Complete => break,
            EvaluationResult::RequiresMemory { address, size, .. } => {
                let mut buf = [0u8; 8];
                let n = usize::from(size).min(8);
                memory
                    .read(address, &mut buf[..n])
                    .map_err(|e| StepError::Unreadable(e.addr()))?;
                eval.resume_with_memory(Value::Generic(u64::from_le_bytes(buf)))
                    .map_err(|e| bad(e.to_string()))?
            }
            EvaluationResult::RequiresRegister { register, .. } => {
                let v = regs
                    .get(register.0)
                    .ok_or_else(|| bad(format!("register {} is unknown", register.0)))?;
                eval.resume_with_register(Value::Generic(v))
                    .map_err(|e| bad(e.to_string()))?
            }
            other => return Err(bad(format!("unsupported request {other:?}"))),
        };
    }
    let pieces = eval.result();
    match pieces.first().map(|p| &p.location) {
        Some(Location::Address { address }) => Ok(*address),
        Some(Location::Value { value }) => value.to_u64(u64::MAX).map_err(|e| bad(e.to_string())),
        Some(Location::Register { register }) => regs
            .get(register.0)
            .ok_or_else(|| bad(format!("register {} is unknown", register.0))),
        other => Err(bad(format!("unexpected result {other:?}"))),
    }
}
