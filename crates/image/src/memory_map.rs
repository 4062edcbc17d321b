//! Where the process's memory went: every mapping the core records, attributed to one
//! category (V8's heap, its JIT code, thread stacks, malloc's arenas, mapped files, other
//! anonymous memory), so that "RSS grows but the heap does not" has an answer.
//!
//! This layer knows mappings, not V8: the caller claims the V8 heap's pages
//! ([`HeapRanges`]). Attribution is by address ranges, most specific first: V8's pages (code
//! pages apart), the
//! stacks the threads' stack pointers are in, glibc's arenas (the main arena's brk heap just
//! above the executable, thread arenas by their `heap_info` header), then files (`NT_FILE`),
//! then what is left. Each category gives the bytes mapped and the bytes the core holds for it
//! (the kernel saves the pages a process wrote; a file's text is left out).

use coroner_corefile::Segment;

use crate::{Module, ProcessImage};

/// glibc's `HEAP_MAX_SIZE` on 64-bit: every thread arena's heap is a mapping this aligned.
const ARENA_HEAP_ALIGN: u64 = 64 << 20;
/// How far above the end of the executable's .bss the kernel may start the brk heap (x86-64's
/// `arch_randomize_brk` draws the start from 1 GiB above it).
const BRK_RANDOM_RANGE: u64 = 1 << 30;
/// The page size the kernel maps an executable's segments with.
const PAGE: u64 = 4096;
/// The largest gap between two mappings of the executable's own segments (alignment padding);
/// a mapping of the file further away is not the loader's.
const MAX_SEGMENT_GAP: u64 = 16 << 20;
/// Most arena heaps followed (a process has a few per core).
const MAX_ARENA_HEAPS: usize = 4096;

/// A category of memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// V8's heap pages (all isolates and the read-only heap), code pages apart.
    V8Heap,
    /// V8's code pages: JIT-compiled code (and, from Node 22, the builtins remapped there).
    JitCode,
    /// The threads' stacks.
    ThreadStacks,
    /// glibc malloc's main arena (the brk heap).
    MallocMainArena,
    /// glibc malloc's thread arenas.
    MallocThreadArenas,
    /// The node executable's mappings.
    NodeBinary,
    /// Shared libraries and other mapped files (native addons included).
    MappedFiles,
    /// Anonymous memory none of the above covers: large malloc blocks (ArrayBuffer and Buffer
    /// backing stores among them), libuv's and node's own allocations.
    OtherAnonymous,
    /// Address space reserved without access (guard pages, V8's reservations for its heap
    /// and code): it costs no memory.
    Reserved,
}

impl Category {
    /// The name `--json` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::V8Heap => "v8 heap",
            Category::JitCode => "jit code",
            Category::ThreadStacks => "thread stacks",
            Category::MallocMainArena => "malloc main arena",
            Category::MallocThreadArenas => "malloc thread arenas",
            Category::NodeBinary => "node binary",
            Category::MappedFiles => "mapped files",
            Category::OtherAnonymous => "other anonymous",
            Category::Reserved => "reserved",
        }
    }
}

/// One category's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The category.
    pub category: Category,
    /// Bytes of address space mapped (readable or not).
    pub mapped: u64,
    /// Bytes the core holds (what the process had written or read in; a file's text is left
    /// out of kernel cores).
    pub in_core: u64,
}

/// A range of addresses given to a category.
#[derive(Debug, Clone, Copy)]
struct Claim {
    start: u64,
    end: u64,
    category: Category,
}

/// Address ranges the V8 heap knows: its pages, whether each holds code.
#[derive(Debug, Clone, Default)]
pub struct HeapRanges {
    /// `(start, end, executable)` of every heap page.
    pub pages: Vec<(u64, u64, bool)>,
}

/// The shares of every category, largest mapped first; categories with nothing are left out.
pub(crate) fn breakdown(image: &ProcessImage, heap: &HeapRanges) -> Vec<Share> {
    let segments = image.core().segments();
    let mut claims: Vec<Claim> = Vec::new();
    claims.extend(heap.pages.iter().map(|&(start, end, code)| Claim {
        start,
        end,
        category: if code {
            Category::JitCode
        } else {
            Category::V8Heap
        },
    }));
    claims.extend(stacks(image, segments));
    claims.extend(arenas(image, segments));
    claims.extend(files(image));
    let mut totals: Vec<Share> = Vec::new();
    let mut add = |category: Category, mapped: u64, in_core: u64| match totals
        .iter_mut()
        .find(|s| s.category == category)
    {
        Some(s) => {
            s.mapped += mapped;
            s.in_core += in_core;
        }
        None => totals.push(Share {
            category,
            mapped,
            in_core,
        }),
    };
    for seg in segments {
        attribute(seg, &claims, &mut add);
    }
    totals.retain(|s| s.mapped > 0);
    totals.sort_by(|a, b| b.mapped.cmp(&a.mapped).then(a.category.cmp(&b.category)));
    totals
}

/// Splits `seg` among the claims overlapping it (the first claim listed wins an overlap),
/// the rest going to reserved or other anonymous memory.
fn attribute(seg: &Segment, claims: &[Claim], add: &mut impl FnMut(Category, u64, u64)) {
    let end = seg.vaddr.saturating_add(seg.memsz);
    let held_end = seg.vaddr.saturating_add(seg.filesz);
    let held = |a: u64, b: u64| {
        b.min(held_end)
            .saturating_sub(a.max(seg.vaddr).min(held_end))
    };
    // Cut points: the segment's ends and every claim boundary inside it.
    let mut cuts: Vec<u64> = vec![seg.vaddr, end];
    for c in claims {
        if c.start < end && c.end > seg.vaddr {
            cuts.push(c.start.max(seg.vaddr));
            cuts.push(c.end.min(end));
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let category = claims.iter().find(|c| c.start <= a && b <= c.end).map_or(
            if seg.perms.read {
                Category::OtherAnonymous
            } else {
                Category::Reserved
            },
            |c| c.category,
        );
        add(category, b - a, held(a, b));
    }
}

/// The mappings the threads' stack pointers are in.
fn stacks(image: &ProcessImage, segments: &[Segment]) -> Vec<Claim> {
    image
        .core()
        .threads()
        .iter()
        .filter_map(|t| {
            let sp = t.regs.rsp;
            let seg = segments
                .iter()
                .find(|s| s.vaddr <= sp && sp < s.vaddr.saturating_add(s.memsz))?;
            Some(Claim {
                start: seg.vaddr,
                end: seg.vaddr.saturating_add(seg.memsz),
                category: Category::ThreadStacks,
            })
        })
        .collect()
}

/// glibc's arenas: the main arena's brk heap (the anonymous writable mappings that start within
/// the kernel's randomization range above the executable's last mapping, and those contiguous
/// with them), and thread arenas' heaps (64 MiB-aligned mappings whose `heap_info` header
/// points at its arena inside the same heap, or at an earlier heap's).
fn arenas(image: &ProcessImage, segments: &[Segment]) -> Vec<Claim> {
    let mut out = Vec::new();
    if let Some(exe_end) = image.executable().map(loaded_end) {
        // The brk heap starts after a gap (its start is randomized), above mappings contiguous
        // with the executable (its .bss, and on Node 18 V8's code range placed next to it).
        // Without randomization (a process run under gdb) it starts right at the end of the
        // .bss, which the executable's file says.
        let bss_end = image.executable().and_then(bss_end);
        // The kernel draws the brk heap's start within BRK_RANDOM_RANGE above the end of the
        // .bss (the file's, or the anonymous mapping after the executable's).
        let mut brk_base = bss_end.unwrap_or(exe_end).max(exe_end);
        let mut next = None;
        let mut prev_end = exe_end;
        for seg in segments.iter().filter(|s| s.vaddr >= exe_end) {
            let end = seg.vaddr.saturating_add(seg.memsz);
            let anonymous_rw = seg.perms.write && image.module_at(seg.vaddr).is_none();
            if next.is_none() && anonymous_rw && Some(seg.vaddr) == bss_end {
                out.push(Claim {
                    start: seg.vaddr,
                    end,
                    category: Category::MallocMainArena,
                });
                next = Some(end);
            } else if anonymous_rw && seg.vaddr == exe_end {
                // The executable's .bss past its file's last page.
                out.push(Claim {
                    start: seg.vaddr,
                    end,
                    category: Category::NodeBinary,
                });
                brk_base = brk_base.max(end);
            } else if let Some(at) = next {
                if !(anonymous_rw && seg.vaddr == at) {
                    break;
                }
                out.push(Claim {
                    start: seg.vaddr,
                    end,
                    category: Category::MallocMainArena,
                });
                next = Some(end);
            } else if anonymous_rw
                && seg.vaddr > prev_end
                && seg.vaddr < brk_base.saturating_add(BRK_RANDOM_RANGE)
            {
                out.push(Claim {
                    start: seg.vaddr,
                    end,
                    category: Category::MallocMainArena,
                });
                next = Some(end);
            } else if seg.vaddr >= brk_base.saturating_add(BRK_RANDOM_RANGE) {
                break;
            }
            prev_end = end;
        }
    }
    let memory = image.memory();
    for seg in segments
        .iter()
        .filter(|s| s.vaddr % ARENA_HEAP_ALIGN == 0 && s.filesz >= 32)
        .take(MAX_ARENA_HEAPS)
    {
        // struct heap_info { mstate ar_ptr; heap_info *prev; size_t size; size_t mprotect_size; }
        let (Ok(ar_ptr), Ok(prev), Ok(size)) = (
            memory.read_u64(seg.vaddr),
            memory.read_u64(seg.vaddr + 8),
            memory.read_u64(seg.vaddr + 16),
        ) else {
            continue;
        };
        let first_heap = prev == 0 && ar_ptr > seg.vaddr && ar_ptr < seg.vaddr + 4096;
        let later_heap = prev != 0 && prev % ARENA_HEAP_ALIGN == 0;
        if (first_heap || later_heap) && size > 0 && size <= ARENA_HEAP_ALIGN {
            out.push(Claim {
                start: seg.vaddr,
                end: seg
                    .vaddr
                    .saturating_add(ARENA_HEAP_ALIGN.min(seg.memsz.max(size))),
                category: Category::MallocThreadArenas,
            });
        }
    }
    out
}

/// The end of the executable as the loader mapped it: its mappings from its base on, across
/// the small gaps between its segments (V8 maps parts of the file again far away: its
/// builtins, on some versions).
/// The page-aligned end of the executable's last segment in memory (its .bss), from its file.
fn bss_end(exe: &Module) -> Option<u64> {
    let file = exe.file.as_ref()?;
    let end = file
        .segments()
        .iter()
        .map(|s| s.vaddr.saturating_add(s.memsz))
        .max()?;
    end.checked_next_multiple_of(PAGE)?.checked_add(exe.bias())
}

fn loaded_end(exe: &Module) -> u64 {
    let mut end = exe.base;
    for m in &exe.mappings {
        if m.start > end.saturating_add(MAX_SEGMENT_GAP) {
            break;
        }
        end = end.max(m.end);
    }
    end
}

/// Mapped files: the executable, and every other file of `NT_FILE`.
fn files(image: &ProcessImage) -> Vec<Claim> {
    let exe = image.executable().map(|e| e.path.as_str());
    image
        .core()
        .mapped_files()
        .iter()
        .map(|f| Claim {
            start: f.start,
            end: f.end,
            category: if Some(f.path.as_str()) == exe {
                Category::NodeBinary
            } else {
                Category::MappedFiles
            },
        })
        .collect()
}
