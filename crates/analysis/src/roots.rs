//! The roots of the heap ([`Roots`]): what holds objects from outside the heap, found in the
//! core. coroner cannot run V8's own root visitors, so it takes:
//! * the global objects (`global`) and native contexts: every `JSGlobalObject` and
//!   `NativeContext` of the heap;
//! * the stacks: every word of each thread's stack, from its stack pointer to the end of its
//!   stack mapping, that points exactly at the start of an object (a conservative scan: it
//!   covers the JS frames' functions, receivers, arguments and contexts, and handle scopes on
//!   the stack), labelled with the frame the word is in;
//! * the isolate: words of each isolate's own data (roots table, thread-local top, handle
//!   scope data) that point at an object;
//! * native memory: every other word of writable memory outside the heap's pages that points
//!   exactly at an object — a stand-in for V8's global handles, eternal handles, handle scope
//!   blocks and the microtask queue, which live in malloc'd memory. Such a word may be stale
//!   (freed memory); the output says `(native handle at 0x…)` so it can be judged.

use coroner_heap::{HeapModel, Role};
use rayon::prelude::*;

use crate::index::ObjectIndex;
use crate::stacks::ThreadStack;

/// Bytes of a thread's stack scanned at most.
const MAX_STACK_BYTES: u64 = 64 << 20;
/// Bytes of native memory per parallel scanning task.
const CHUNK_BYTES: u64 = 4 << 20;

/// Why an object is a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootKind {
    /// A global object (`JSGlobalObject`).
    Global,
    /// A native context.
    NativeContext,
    /// A word of an isolate's own data.
    Isolate {
        /// The isolate's index.
        isolate: usize,
        /// The word's offset from the isolate.
        offset: u64,
    },
    /// A word of a thread's stack.
    Stack {
        /// The thread.
        tid: u32,
        /// The frame the word is in (its index in the thread's backtrace), and its function.
        frame: Option<(usize, String)>,
        /// The word's address.
        at: u64,
    },
    /// A word of native (non-heap) writable memory.
    Native {
        /// The word's address.
        at: u64,
    },
}

impl RootKind {
    /// Which kind wins when an object is a root several ways (lower first).
    fn rank(&self) -> u8 {
        match self {
            RootKind::Global => 0,
            RootKind::NativeContext => 1,
            RootKind::Isolate { .. } => 2,
            RootKind::Stack { .. } => 3,
            RootKind::Native { .. } => 4,
        }
    }

    /// Whether a path ends at this root (global objects and native contexts), rather than
    /// going on to other roots that hold it.
    pub fn is_terminal(&self) -> bool {
        matches!(self, RootKind::Global | RootKind::NativeContext)
    }

    /// Whether paths from this root are shown only when no other kind of root gives one:
    /// words of native memory, which may be stale (freed memory keeps its contents).
    pub fn is_fallback(&self) -> bool {
        matches!(self, RootKind::Native { .. })
    }

    /// `global`, `native context`, `isolate`, `stack`, `native handle`.
    pub fn kind(&self) -> &'static str {
        match self {
            RootKind::Global => "global",
            RootKind::NativeContext => "native context",
            RootKind::Isolate { .. } => "isolate",
            RootKind::Stack { .. } => "stack",
            RootKind::Native { .. } => "native handle",
        }
    }

    /// The address of the word that holds the root object, for roots held from outside the
    /// heap.
    pub fn at(&self) -> Option<u64> {
        match self {
            RootKind::Stack { at, .. } | RootKind::Native { at } => Some(*at),
            _ => None,
        }
    }

    /// What a path line starts with: nothing for a global object (its edges read
    /// `global.name`), else `(native context)`, `(isolate 0 data +0x1f8)`,
    /// `(stack of thread 1234, frame #9 inner, at 0x7ffd…)`, `(native handle at 0x55d…)`.
    pub fn describe(&self) -> String {
        match self {
            RootKind::Global => String::new(),
            RootKind::NativeContext => "(native context)".to_string(),
            RootKind::Isolate { isolate, offset } => {
                format!("(isolate {isolate} data +{offset:#x})")
            }
            RootKind::Stack { tid, frame, at } => match frame {
                Some((i, f)) => format!("(stack of thread {tid}, frame #{i} {f}, at {at:#x})"),
                None => format!("(stack of thread {tid} at {at:#x})"),
            },
            RootKind::Native { at } => format!("(native handle at {at:#x})"),
        }
    }
}

/// The roots of the heap: objects held from outside it (see the module documentation).
#[derive(Debug, Default)]
pub struct Roots {
    /// Root object ids, increasing, one entry each (its best kind).
    ids: Vec<u32>,
    kinds: Vec<RootKind>,
    /// Words found per kind: global objects, native contexts, isolate, stack, native.
    counts: [usize; 5],
}

impl Roots {
    /// Finds the roots of `model`'s heap: global objects and native contexts, the words of the
    /// threads' stacks (`stacks`, possibly empty), of the isolates' data and of the other
    /// writable memory outside the heap that point at objects.
    pub(crate) fn find(
        model: &HeapModel<'_>,
        index: &ObjectIndex,
        stacks: &[ThreadStack],
    ) -> Roots {
        let mut found: Vec<(u32, RootKind)> = Vec::new();
        let roles: Vec<Option<Role>> = index
            .maps()
            .iter()
            .map(|&m| {
                let info = model.map_facts(m).info?;
                model.role_of(info.instance_type)
            })
            .collect();
        for (id, &m) in index.map_ids().iter().enumerate() {
            match roles.get(m as usize).copied().flatten() {
                Some(Role::GlobalObject) => found.push((id as u32, RootKind::Global)),
                Some(Role::NativeContext) => found.push((id as u32, RootKind::NativeContext)),
                _ => {}
            }
        }
        let objects_in = |start: u64, end: u64| -> Vec<(u64, u32)> {
            model
                .heap_pointers_in(start, end)
                .into_iter()
                .filter_map(|(at, addr)| Some((at, index.id_of(addr)?)))
                .collect()
        };
        // Stacks: from each thread's stack pointer to the end of its mapping.
        let mut stack_ranges: Vec<(u64, u64)> = Vec::new();
        for t in stacks {
            let Some((start, end)) = t
                .frames
                .first()
                .and_then(|f| model.stack_extent(f.sp, MAX_STACK_BYTES))
            else {
                continue;
            };
            stack_ranges.push((start, end));
            for (at, id) in objects_in(start, end) {
                let k = t.frames.partition_point(|f| f.sp <= at);
                let frame = k.checked_sub(1).map(|k| {
                    let name = t
                        .frames
                        .get(k)
                        .map(|f| without_parameters(&f.function).to_string())
                        .unwrap_or_default();
                    (k, name)
                });
                found.push((
                    id,
                    RootKind::Stack {
                        tid: t.tid,
                        frame,
                        at,
                    },
                ));
            }
        }
        stack_ranges.sort_unstable();
        // Every other writable word outside the heap's pages and the stacks, in chunks scanned
        // in parallel.
        let mut tasks: Vec<(u64, u64)> = Vec::new();
        for (s, e) in model.native_memory(&stack_ranges) {
            let mut at = s;
            while at < e {
                let to = e.min(at.saturating_add(CHUNK_BYTES));
                tasks.push((at, to));
                at = to;
            }
        }
        let isolates: Vec<(u64, u64)> = model.isolates().iter().map(|i| (i.addr, i.heap)).collect();
        let native: Vec<(u32, RootKind)> = tasks
            .par_iter()
            .flat_map_iter(|&(s, e)| {
                objects_in(s, e).into_iter().map(|(at, id)| {
                    let kind = match isolates.iter().position(|&(a, h)| a <= at && at < h) {
                        Some(i) => RootKind::Isolate {
                            isolate: i,
                            offset: at - isolates[i].0,
                        },
                        None => RootKind::Native { at },
                    };
                    (id, kind)
                })
            })
            .collect();
        found.extend(native);
        let mut counts = [0usize; 5];
        for (_, k) in &found {
            counts[k.rank() as usize] += 1;
        }
        found.sort_by_key(|a| (a.0, a.1.rank()));
        found.dedup_by_key(|(id, _)| *id);
        let (ids, kinds) = found.into_iter().unzip();
        Roots { ids, kinds, counts }
    }

    /// Why object `id` is a root, if it is one.
    pub fn get(&self, id: u32) -> Option<&RootKind> {
        let i = self.ids.binary_search(&id).ok()?;
        self.kinds.get(i)
    }

    /// Every root object, by increasing id, with why it is one.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &RootKind)> + '_ {
        self.ids.iter().copied().zip(self.kinds.iter())
    }

    /// Number of root objects.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no root at all.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many roots of each kind were found (before keeping one kind per object), by
    /// [`RootKind::kind`] name.
    pub fn counts(&self) -> [(&'static str, usize); 5] {
        [
            ("global", self.counts[0]),
            ("native context", self.counts[1]),
            ("isolate", self.counts[2]),
            ("stack", self.counts[3]),
            ("native handle", self.counts[4]),
        ]
    }
}

/// A C++ function name without its parameter list (`v8::internal::Invoke` for
/// `v8::internal::Invoke(v8::internal::Isolate*, ...)`); other names as they are.
fn without_parameters(name: &str) -> &str {
    if !name.contains("::") || !name.ends_with(')') {
        return name;
    }
    let mut depth = 0usize;
    for (i, c) in name.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &name[..i];
                }
            }
            _ => {}
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_names_without_parameters() {
        assert_eq!(
            without_parameters(
                "v8::internal::Builtin_HandleApiCall(int, unsigned long*, v8::internal::Isolate*)"
            ),
            "v8::internal::Builtin_HandleApiCall"
        );
        assert_eq!(
            without_parameters("node::(anonymous namespace)::Run(f(int))"),
            "node::(anonymous namespace)::Run"
        );
        assert_eq!(without_parameters("findHolders"), "findHolders");
        assert_eq!(without_parameters("(anonymous)"), "(anonymous)");
    }
}
