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

use coroner_heap::{Class, HeapModel, Role};
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
        /// The word was found by scanning every word of the stack, and nothing says a frame
        /// really holds it: it is in a native or V8 frame, or it is in a JavaScript frame but
        /// points at what no JavaScript variable holds (a V8 internal such as a Map's table,
        /// left by a builtin the frame called). It may be a stale or unrelated value that
        /// happens to look like the object's address.
        conservative: bool,
    },
    /// A word of native (non-heap) writable memory.
    Native {
        /// The word's address.
        at: u64,
    },
}

impl RootKind {
    /// Whether a path ends at this root (global objects and native contexts), rather than
    /// going on to other roots that hold it.
    pub fn is_terminal(&self) -> bool {
        matches!(self, RootKind::Global | RootKind::NativeContext)
    }

    /// Whether the root is a stack word found by the conservative scan that no frame is known
    /// to hold (a native or V8 frame's word, or a JS frame's word pointing at no JS value):
    /// paths from it come after the paths a user can act on (globals, closures, JS frames).
    pub fn is_conservative(&self) -> bool {
        matches!(
            self,
            RootKind::Stack {
                conservative: true,
                ..
            }
        )
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
            RootKind::Stack {
                tid,
                frame,
                at,
                conservative,
            } => {
                let scan = if *conservative { ", conservative" } else { "" };
                match frame {
                    Some((i, f)) => {
                        format!("(stack of thread {tid}, frame #{i} {f}, at {at:#x}{scan})")
                    }
                    None => format!("(stack of thread {tid} at {at:#x}{scan})"),
                }
            }
            RootKind::Native { at } => format!("(native handle at {at:#x})"),
        }
    }
}

/// The roots of the heap: objects held from outside it (see the module documentation).
///
/// Each root object is kept once, with its best kind, in one of two lists: the few held by a
/// global object, native context or stack word with their whole [`RootKind`], and the many held
/// by a word of other memory (a GiB core has hundreds of thousands) as just the word's address,
/// 12 bytes each, which says by itself whether it is an isolate's data or other native memory.
#[derive(Debug, Default)]
pub struct Roots {
    /// Objects held by a global object, native context or stack word: ids, increasing.
    special_ids: Vec<u32>,
    special_kinds: Vec<RootKind>,
    /// Objects held by a word of native memory: ids, increasing, and the words' addresses.
    word_ids: Vec<u32>,
    word_at: Vec<u64>,
    /// Each isolate's data, `[isolate, heap)`: a word there is [`RootKind::Isolate`].
    isolates: Vec<(u64, u64)>,
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
        let mut roots = Roots {
            isolates: model.isolates().iter().map(|i| (i.addr, i.heap)).collect(),
            ..Roots::default()
        };
        let mut special: Vec<(u32, RootKind)> = Vec::new();
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
                Some(Role::GlobalObject) => special.push((id as u32, RootKind::Global)),
                Some(Role::NativeContext) => special.push((id as u32, RootKind::NativeContext)),
                _ => {}
            }
        }
        // Whether each map's objects are values a JavaScript frame can hold in a variable
        // (objects, functions, contexts), for judging the words of JS frames.
        let js_values: Vec<bool> = index
            .maps()
            .iter()
            .map(|&m| {
                model.map_facts(m).info.is_some_and(|info| {
                    let class = model.class_of(info.instance_type);
                    class.is_receiver() || class == Class::Context
                })
            })
            .collect();
        let holds_js_value = |id: u32| {
            index
                .map_ids()
                .get(id as usize)
                .and_then(|&m| js_values.get(m as usize))
                .copied()
                .unwrap_or(false)
        };
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
                let holder = k.checked_sub(1).and_then(|k| Some((k, t.frames.get(k)?)));
                let frame = holder.map(|(k, f)| (k, without_parameters(&f.function).to_string()));
                special.push((
                    id,
                    RootKind::Stack {
                        tid: t.tid,
                        frame,
                        at,
                        conservative: holder.is_none_or(|(_, f)| f.js().is_none())
                            || !holds_js_value(id),
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
        let mut words: Vec<(u32, u64)> = tasks
            .par_iter()
            .flat_map_iter(|&(s, e)| {
                model.check_interrupt();
                objects_in(s, e).into_iter().map(|(at, id)| (id, at))
            })
            .collect();
        for (_, kind) in &special {
            roots.counts[rank(kind) as usize] += 1;
        }
        for &(_, at) in &words {
            roots.counts[usize::from(roots.word_rank(at))] += 1;
        }
        // One kind per object, the best: the special kinds but stack words win over every
        // word of memory; a stack word loses to a word of an isolate's data; a JS frame's
        // word wins over a native frame's.
        special.sort_by_key(|(id, kind)| (*id, rank(kind), kind.is_conservative()));
        special.dedup_by_key(|(id, _)| *id);
        words.sort_unstable_by_key(|&(id, at)| (id, roots.word_rank(at), at));
        words.dedup_by_key(|(id, _)| *id);
        let word_best = |id: u32| -> Option<u8> {
            let i = words.binary_search_by_key(&id, |&(w, _)| w).ok()?;
            words.get(i).map(|&(_, at)| roots.word_rank(at))
        };
        special.retain(|(id, kind)| word_best(*id).is_none_or(|w| rank(kind) < w));
        let special_best = |id: u32| -> Option<u8> {
            let i = special.binary_search_by_key(&id, |(s, _)| *s).ok()?;
            special.get(i).map(|(_, kind)| rank(kind))
        };
        words.retain(|&(id, at)| special_best(id).is_none_or(|s| roots.word_rank(at) < s));
        (roots.special_ids, roots.special_kinds) = special.into_iter().unzip();
        (roots.word_ids, roots.word_at) = words.into_iter().unzip();
        roots
    }

    /// [`rank`] of the root held by the word at `at`.
    fn word_rank(&self, at: u64) -> u8 {
        rank(&self.word_kind(at))
    }

    /// The kind of the root held by the word at `at`: an isolate's data, or other memory.
    fn word_kind(&self, at: u64) -> RootKind {
        match self.isolates.iter().position(|&(a, h)| a <= at && at < h) {
            Some(isolate) => RootKind::Isolate {
                isolate,
                offset: at - self.isolates[isolate].0,
            },
            None => RootKind::Native { at },
        }
    }

    /// Why object `id` is a root, if it is one.
    pub fn get(&self, id: u32) -> Option<RootKind> {
        if let Ok(i) = self.special_ids.binary_search(&id) {
            return self.special_kinds.get(i).cloned();
        }
        let i = self.word_ids.binary_search(&id).ok()?;
        self.word_at.get(i).map(|&at| self.word_kind(at))
    }

    /// Every root object, by increasing id, with why it is one.
    pub fn iter(&self) -> impl Iterator<Item = (u32, RootKind)> + '_ {
        let mut special = self
            .special_ids
            .iter()
            .copied()
            .zip(self.special_kinds.iter().cloned())
            .peekable();
        let mut words = self
            .word_ids
            .iter()
            .copied()
            .zip(self.word_at.iter().map(|&at| self.word_kind(at)))
            .peekable();
        std::iter::from_fn(move || match (special.peek(), words.peek()) {
            (Some((a, _)), Some((b, _))) if b < a => words.next(),
            (Some(_), _) => special.next(),
            (None, _) => words.next(),
        })
    }

    /// Number of root objects.
    pub fn len(&self) -> usize {
        self.special_ids.len() + self.word_ids.len()
    }

    /// Whether there is no root at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

/// Which kind wins when an object is a root several ways (lower first): global object,
/// native context, isolate, stack, native memory.
fn rank(kind: &RootKind) -> u8 {
    match kind {
        RootKind::Global => 0,
        RootKind::NativeContext => 1,
        RootKind::Isolate { .. } => 2,
        RootKind::Stack { .. } => 3,
        RootKind::Native { .. } => 4,
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
