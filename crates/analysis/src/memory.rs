//! Memory as words (`x`) and a thread's registers (`registers`): each value with what it points
//! to: a heap object (tagged or not, at its start or inside it), a function or the data of a
//! mapped file. What gdb's `x/Ngx` and `info registers` print, with the names gdb cannot give a
//! V8 heap.

use coroner_heap::HeapModel;
use coroner_image::ProcessImage;
use coroner_unwind::Unwinder;

use crate::index::ObjectIndex;
use crate::names::holder_name;
use crate::reverse::ReverseIndex;

/// One word of memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryWord {
    /// Where it is.
    pub addr: u64,
    /// Its value.
    pub value: u64,
    /// What the value points to, when it points into something coroner can name.
    pub points_to: Option<Pointee>,
}

/// What a word points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pointee {
    /// A heap object: the value is a tagged pointer to it, or an address inside it.
    Object {
        /// The object's address.
        start: u64,
        /// The value's offset from the object's start (0 for a tagged pointer to it).
        offset: u64,
        /// The object's name, as `findrefs` names holders (`Walrus`, `(Array)`, `Map`).
        name: String,
        /// The value carries V8's heap-object tag (a reference the GC sees), rather than
        /// being a raw address.
        tagged: bool,
    },
    /// Code or data of a mapped file.
    File {
        /// The module's file name (`node`, `libc.so.6`).
        module: String,
        /// The symbol containing the address, demangled, when a symbol table names it.
        symbol: Option<String>,
        /// Offset from the symbol (from the module's base without one).
        offset: u64,
    },
}

/// The general-purpose registers, in gdb's order of `info registers`.
const REGISTER_NAMES: [&str; 17] = [
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];

/// One register of a thread as the core saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterValue {
    /// Its name (`rax`, `rip`).
    pub name: &'static str,
    /// Its value.
    pub value: u64,
    /// What the value points to.
    pub points_to: Option<Pointee>,
}

/// What values point to, named: the heap's objects first, then the mapped files.
pub(crate) struct Pointees<'m, 'a> {
    image: &'a ProcessImage,
    model: &'m HeapModel<'a>,
    index: &'m ObjectIndex,
    refs: Option<&'m ReverseIndex>,
    unwinder: Unwinder<'a>,
}

impl<'m, 'a> Pointees<'m, 'a> {
    /// Names with `model`'s objects (`index`; holders named with `refs` when built) and
    /// `image`'s files.
    pub(crate) fn new(
        image: &'a ProcessImage,
        model: &'m HeapModel<'a>,
        index: &'m ObjectIndex,
        refs: Option<&'m ReverseIndex>,
    ) -> Pointees<'m, 'a> {
        Pointees {
            image,
            model,
            index,
            refs,
            unwinder: Unwinder::new(image),
        }
    }

    /// What `value` points to.
    fn pointee(&self, value: u64) -> Option<Pointee> {
        object(self.model, self.index, self.refs, value).or_else(|| file(&self.unwinder, value))
    }

    /// The registers thread `tid` stopped with (its innermost frame's), each with what it
    /// points to; empty when the core has no such thread.
    pub(crate) fn registers(&self, tid: u32) -> Vec<RegisterValue> {
        let Some(thread) = self.image.core().threads().iter().find(|t| t.tid == tid) else {
            return Vec::new();
        };
        REGISTER_NAMES
            .iter()
            .filter_map(|&name| {
                let value = thread.regs.named(name)?;
                Some(RegisterValue {
                    name,
                    value,
                    points_to: self.pointee(value),
                })
            })
            .collect()
    }

    /// The words of `count` from `addr` on, as far as the core holds them.
    pub(crate) fn words(&self, addr: u64, count: usize) -> Vec<MemoryWord> {
        self.image
            .read_words(addr, count)
            .into_iter()
            .zip((0u64..).map(|i| addr.wrapping_add(i.wrapping_mul(8))))
            .map(|(value, at)| MemoryWord {
                addr: at,
                value,
                points_to: self.pointee(value),
            })
            .collect()
    }
}

/// The heap object `value` points to, tagged or raw.
fn object(
    model: &HeapModel<'_>,
    index: &ObjectIndex,
    refs: Option<&ReverseIndex>,
    value: u64,
) -> Option<Pointee> {
    let tagged = model.pointer_target(value);
    let target = tagged.unwrap_or(value);
    model.page_of(target)?;
    let id = index.containing(target)?;
    let start = *index.addrs().get(id as usize)?;
    Some(Pointee::Object {
        start,
        offset: target - start,
        name: holder_name(model, index, refs, id),
        tagged: tagged.is_some(),
    })
}

/// The mapped file (and function) `value` points into.
fn file(unwinder: &Unwinder<'_>, value: u64) -> Option<Pointee> {
    let sym = unwinder.symbolize(value, false);
    Some(Pointee::File {
        module: sym.module?,
        symbol: sym.symbol,
        offset: sym.offset,
    })
}
