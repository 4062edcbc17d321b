//! The crashed process's memory as a sparse address space: sorted, non-overlapping [`Region`]s
//! whose bytes come from a [`Backing`] (the core file itself, or another file the layer above
//! maps in, such as the executable) or are [`Source::Absent`] (mapped in the process, but not
//! saved in the core).
//!
//! This is the hot path of the whole debugger: [`AddressSpace::bytes`] is a binary search over a
//! `Vec<Region>` and a slice, with no allocation and no interior mutability, so an
//! `AddressSpace` is `Send + Sync` and can be shared by reader threads.

use std::fmt;
use std::ops::Deref;

use crate::error::{FillError, ReadError};

/// Memory protection of a mapping, from the segment's `p_flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Perms {
    /// `PF_R`.
    pub read: bool,
    /// `PF_W`.
    pub write: bool,
    /// `PF_X`.
    pub exec: bool,
}

impl Perms {
    /// `---` (guard pages, reservations).
    pub const NONE: Perms = Perms {
        read: false,
        write: false,
        exec: false,
    };
    /// `r--`.
    pub const R: Perms = Perms {
        read: true,
        write: false,
        exec: false,
    };
    /// `rw-`.
    pub const RW: Perms = Perms {
        read: true,
        write: true,
        exec: false,
    };
    /// `r-x`.
    pub const RX: Perms = Perms {
        read: true,
        write: false,
        exec: true,
    };
    /// `rwx` (JIT code).
    pub const RWX: Perms = Perms {
        read: true,
        write: true,
        exec: true,
    };
}

impl fmt::Display for Perms {
    /// `rwx` style, with `-` for a missing permission.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.read { 'r' } else { '-' };
        let w = if self.write { 'w' } else { '-' };
        let x = if self.exec { 'x' } else { '-' };
        write!(f, "{r}{w}{x}")
    }
}

/// Bytes that regions can point into: an mmap'd file or an owned buffer.
pub enum Backing {
    /// A read-only memory map of a file.
    Mmap(memmap2::Mmap),
    /// Bytes in memory.
    Owned(Vec<u8>),
}

impl Backing {
    /// Map `file` read-only. An empty file gives an empty backing (mmap of 0 bytes is not
    /// allowed, so nothing is mapped).
    #[allow(unsafe_code)]
    pub fn map(file: &std::fs::File) -> std::io::Result<Backing> {
        if file.metadata()?.len() == 0 {
            return Ok(Backing::Owned(Vec::new()));
        }
        // SAFETY: `Mmap::map` is unsafe because the file may be modified or truncated by another
        // process while mapped: the bytes behind our `&[u8]` could then change (breaking the
        // immutability a shared slice promises) or an access past a new end could raise SIGBUS.
        // We accept that: core files are written once and then only read; we map read-only and
        // privately; and no code here relies on the bytes staying the same between two reads —
        // every length and offset is checked against the mapping's length (fixed at map time)
        // before use, and every field is re-validated where it is decoded. A core rewritten under
        // us can make the debugger print wrong results or die of SIGBUS, which is what any
        // reader of a changing file risks (the CLI turns that SIGBUS into one line and exit
        // status 2); it cannot turn a bounds check into an out-of-bounds access.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Backing::Mmap(map))
    }

    /// Tells the kernel how the mapping will be read: `sparse` (a few words here and there)
    /// turns read-ahead off; otherwise the default applies again. Only a hint: reads are the
    /// same either way, and an owned buffer has nothing to advise.
    fn advise(&self, sparse: bool) {
        if let Backing::Mmap(m) = self {
            let advice = if sparse {
                memmap2::Advice::Random
            } else {
                memmap2::Advice::Normal
            };
            // A refused hint changes nothing but speed.
            let _ = m.advise(advice);
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Backing::Mmap(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

impl Deref for Backing {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backing::Mmap(m) => write!(f, "Backing::Mmap({} bytes)", m.len()),
            Backing::Owned(v) => write!(f, "Backing::Owned({} bytes)", v.len()),
        }
    }
}

/// Where a region's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// In backing `index`, the region's first byte at `offset`.
    Backing {
        /// Index into the address space's backings (0 = the core file).
        index: usize,
        /// Offset in that backing of the region's first byte.
        offset: u64,
    },
    /// Mapped in the process but not saved in the core.
    Absent,
}

/// A run of addresses `[start, end)` with one protection and one source of bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last address (`start < end`).
    pub end: u64,
    /// Protection in the process.
    pub perms: Perms,
    /// Where the bytes are.
    pub source: Source,
}

impl Region {
    /// `end - start`.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Always false: regions are never empty. Here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Whether `addr` is in `[start, end)`.
    pub fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Whether `next` continues this region seamlessly: adjacent addresses, and either both
    /// absent or both in the same backing at adjacent offsets. Ignores perms.
    fn continues_into(&self, next: &Region) -> bool {
        if self.end != next.start {
            return false;
        }
        match (self.source, next.source) {
            (Source::Absent, Source::Absent) => true,
            (
                Source::Backing {
                    index: a,
                    offset: oa,
                },
                Source::Backing {
                    index: b,
                    offset: ob,
                },
            ) => a == b && oa.checked_add(self.len()) == Some(ob),
            _ => false,
        }
    }
}

/// The process's memory: sorted, non-overlapping regions over a list of backings.
///
/// Backing 0 is the core file when the space comes from [`CoreFile`](crate::CoreFile).
/// Invariants (kept by every method): regions are sorted by `start`, do not overlap, are not
/// empty, every `Source::Backing` range lies inside its backing, and adjacent regions with the
/// same perms that continue each other seamlessly are merged into one.
///
/// Zero-copy reads ([`bytes`](Self::bytes), [`read_cstr`](Self::read_cstr)) return a slice of
/// one backing. When a range crosses from one region into the next, `bytes` still succeeds if
/// the next region continues the same backing at the adjacent offset (regions only differ in
/// perms); otherwise it fails at the boundary address: `Unmapped` if nothing is mapped there,
/// `NotInCore` if the next region is absent *or is in a different backing* (the bytes exist, but
/// not contiguously: use the copying [`read`](Self::read), which stitches them).
#[derive(Default)]
pub struct AddressSpace {
    regions: Vec<Region>,
    backings: Vec<Backing>,
}

impl fmt::Debug for AddressSpace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddressSpace")
            .field("regions", &self.regions.len())
            .field("backings", &self.backings)
            .finish()
    }
}

impl AddressSpace {
    /// An empty address space with no backings and no regions; add backings with
    /// [`add_backing`](Self::add_backing) and regions with [`fill_unmapped`](Self::fill_unmapped).
    pub fn new() -> AddressSpace {
        AddressSpace::default()
    }

    /// Build from already-validated regions (sorted, non-overlapping, non-empty, in bounds).
    pub(crate) fn from_parts(regions: Vec<Region>, backings: Vec<Backing>) -> AddressSpace {
        let mut space = AddressSpace { regions, backings };
        space.merge();
        space
    }

    /// The regions, sorted by address.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The backings; index 0 is the core file for a space from a [`CoreFile`](crate::CoreFile).
    pub fn backing(&self, index: usize) -> Option<&Backing> {
        self.backings.get(index)
    }

    /// Number of backings.
    pub fn backing_count(&self) -> usize {
        self.backings.len()
    }

    /// Runs `f`, which reads a few words at far-apart addresses (a scan for page headers at
    /// every aligned address, say), with the kernel's read-ahead off. Each fault in a mapped
    /// core otherwise reads ahead some 128 KiB that nobody asked for: on a 3 GB core a scan
    /// that needs 12 000 words read half the file from disk.
    pub fn sparse_reads<R>(&self, f: impl FnOnce() -> R) -> R {
        for b in &self.backings {
            b.advise(true);
        }
        let out = f();
        for b in &self.backings {
            b.advise(false);
        }
        out
    }

    /// Index of the region containing `addr`.
    #[inline]
    fn index_of(&self, addr: u64) -> Option<usize> {
        let i = self.regions.partition_point(|r| r.end <= addr);
        match self.regions.get(i) {
            Some(r) if r.start <= addr => Some(i),
            _ => None,
        }
    }

    /// The region containing `addr`.
    pub fn region(&self, addr: u64) -> Option<&Region> {
        self.index_of(addr).and_then(|i| self.regions.get(i))
    }

    /// Whether any region (even an absent one) contains `addr`.
    pub fn is_mapped(&self, addr: u64) -> bool {
        self.index_of(addr).is_some()
    }

    /// Whether the byte at `addr` can be read (its region has a backing), whatever its perms.
    pub fn is_readable(&self, addr: u64) -> bool {
        matches!(self.region(addr), Some(r) if r.source != Source::Absent)
    }

    /// Whether `addr` is in a region that was writable in the process.
    pub fn is_writable(&self, addr: u64) -> bool {
        matches!(self.region(addr), Some(r) if r.perms.write)
    }

    /// Total bytes of all regions that have data.
    pub fn bytes_present(&self) -> u64 {
        self.regions
            .iter()
            .filter(|r| r.source != Source::Absent)
            .map(Region::len)
            .sum()
    }

    /// The backing bytes of region `r` from address `addr` (inside `r`) to the region's end.
    #[inline]
    fn tail(&self, r: &Region, addr: u64) -> Result<&[u8], ReadError> {
        match r.source {
            Source::Absent => Err(ReadError::NotInCore { addr }),
            Source::Backing { index, offset } => {
                let start = offset.checked_add(addr - r.start);
                let end = offset.checked_add(r.len());
                let data = self.backings.get(index).map(Backing::as_slice);
                match (data, start, end) {
                    (Some(data), Some(start), Some(end)) => {
                        let s = usize::try_from(start).ok();
                        let e = usize::try_from(end).ok();
                        match (s, e) {
                            (Some(s), Some(e)) => {
                                data.get(s..e).ok_or(ReadError::NotInCore { addr })
                            }
                            _ => Err(ReadError::NotInCore { addr }),
                        }
                    }
                    // Unreachable while the invariants hold; report rather than panic.
                    _ => Err(ReadError::NotInCore { addr }),
                }
            }
        }
    }

    /// Zero-copy: the `len` bytes at `addr`. O(log regions), no allocation.
    ///
    /// `len == 0` gives an empty slice for any address. See the type's docs for what happens
    /// when the range crosses a region boundary.
    #[inline]
    pub fn bytes(&self, addr: u64, len: usize) -> Result<&[u8], ReadError> {
        if len == 0 {
            return Ok(&[]);
        }
        let i = self.index_of(addr).ok_or(ReadError::Unmapped { addr })?;
        let r = &self.regions[i];
        let tail = self.tail(r, addr)?;
        if let Some(b) = tail.get(..len) {
            return Ok(b);
        }
        self.bytes_across(i, addr, len)
    }

    /// Slow path of [`bytes`](Self::bytes): the range runs past the end of region `i`.
    #[cold]
    fn bytes_across(&self, i: usize, addr: u64, len: usize) -> Result<&[u8], ReadError> {
        let want_end = addr.checked_add(len as u64);
        let mut last = &self.regions[i];
        for next in self.regions.iter().skip(i + 1) {
            if next.start != last.end {
                return Err(ReadError::Unmapped { addr: last.end });
            }
            if !last.continues_into(next) || next.source == Source::Absent {
                return Err(ReadError::NotInCore { addr: next.start });
            }
            if want_end.is_some_and(|e| e <= next.end) {
                let Source::Backing { index, offset } = self.regions[i].source else {
                    return Err(ReadError::NotInCore { addr });
                };
                let start = offset
                    .checked_add(addr - self.regions[i].start)
                    .and_then(|s| usize::try_from(s).ok());
                let data = self.backings.get(index).map(Backing::as_slice);
                return match (data, start) {
                    (Some(data), Some(s)) => s
                        .checked_add(len)
                        .and_then(|e| data.get(s..e))
                        .ok_or(ReadError::NotInCore { addr }),
                    _ => Err(ReadError::NotInCore { addr }),
                };
            }
            last = next;
        }
        Err(ReadError::Unmapped { addr: last.end })
    }

    /// Copy `buf.len()` bytes at `addr` into `buf`, across as many adjacent regions (and
    /// backings) as needed. On error, `buf` may be partly written, and the error names the first
    /// byte that could not be read.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if buf.is_empty() {
            return Ok(());
        }
        let mut i = self.index_of(addr).ok_or(ReadError::Unmapped { addr })?;
        let mut cur = addr;
        let mut done = 0usize;
        while done < buf.len() {
            let r = match self.regions.get(i) {
                // The first region contains `addr`; each next one must start where the last ended.
                Some(r) if r.contains(cur) => r,
                _ => return Err(ReadError::Unmapped { addr: cur }),
            };
            let tail = self.tail(r, cur)?;
            let want = buf.len() - done;
            let n = want.min(tail.len());
            buf[done..done + n].copy_from_slice(&tail[..n]);
            done += n;
            if done < buf.len() {
                // Continue at the end of this region; it must be the next region's start.
                cur = r.end;
                i += 1;
            }
        }
        Ok(())
    }

    /// `N` bytes at `addr`, zero-copy when possible, else stitched across regions.
    #[inline]
    pub fn read_array<const N: usize>(&self, addr: u64) -> Result<[u8; N], ReadError> {
        if let Ok(b) = self.bytes(addr, N) {
            if let Ok(a) = <[u8; N]>::try_from(b) {
                return Ok(a);
            }
        }
        let mut a = [0u8; N];
        self.read(addr, &mut a)?;
        Ok(a)
    }

    /// The byte at `addr`.
    pub fn read_u8(&self, addr: u64) -> Result<u8, ReadError> {
        Ok(self.read_array::<1>(addr)?[0])
    }

    /// Little-endian `u16` at `addr`, any alignment.
    pub fn read_u16(&self, addr: u64) -> Result<u16, ReadError> {
        self.read_array(addr).map(u16::from_le_bytes)
    }

    /// Little-endian `u32` at `addr`, any alignment.
    pub fn read_u32(&self, addr: u64) -> Result<u32, ReadError> {
        self.read_array(addr).map(u32::from_le_bytes)
    }

    /// Little-endian `u64` at `addr`, any alignment.
    pub fn read_u64(&self, addr: u64) -> Result<u64, ReadError> {
        self.read_array(addr).map(u64::from_le_bytes)
    }

    /// Little-endian `i32` at `addr`, any alignment.
    pub fn read_i32(&self, addr: u64) -> Result<i32, ReadError> {
        self.read_array(addr).map(i32::from_le_bytes)
    }

    /// Little-endian `i64` at `addr`, any alignment.
    pub fn read_i64(&self, addr: u64) -> Result<i64, ReadError> {
        self.read_array(addr).map(i64::from_le_bytes)
    }

    /// Little-endian IEEE 754 `f64` at `addr`, any alignment.
    pub fn read_f64(&self, addr: u64) -> Result<f64, ReadError> {
        self.read_array(addr).map(f64::from_le_bytes)
    }

    /// Zero-copy: the bytes at `addr` up to (not including) the first NUL, at most `max` bytes,
    /// and never past the end of `addr`'s region. Without a NUL in that span, returns the whole
    /// span (truncated). Errors only if `addr` itself cannot be read.
    pub fn read_cstr(&self, addr: u64, max: usize) -> Result<&[u8], ReadError> {
        let r = self.region(addr).ok_or(ReadError::Unmapped { addr })?;
        let tail = self.tail(r, addr)?;
        let span = &tail[..tail.len().min(max)];
        let n = span.iter().position(|&b| b == 0).unwrap_or(span.len());
        Ok(&span[..n])
    }

    /// Add another backing (e.g. an mmap of the executable). Returns its index.
    pub fn add_backing(&mut self, data: Backing) -> usize {
        self.backings.push(data);
        self.backings.len() - 1
    }

    /// Check that backing `index` can supply `[start, end)` from `offset`.
    fn check_fill(&self, start: u64, end: u64, index: usize, offset: u64) -> Result<(), FillError> {
        if start > end {
            return Err(FillError::BadRange { start, end });
        }
        let backing = self
            .backings
            .get(index)
            .ok_or(FillError::NoSuchBacking { index })?;
        let len = backing.len() as u64;
        let needed = offset.checked_add(end - start);
        match needed {
            Some(needed) if needed <= len => Ok(()),
            _ => Err(FillError::BackingTooShort {
                index,
                needed: needed.unwrap_or(u64::MAX),
                len,
            }),
        }
    }

    /// Replace the absent parts of `[start, end)` with bytes of backing `index`, the byte for
    /// address `a` coming from `offset + (a - start)`. Parts that already have data are left
    /// alone (the core's bytes always win) and unmapped parts stay unmapped (see
    /// [`fill_unmapped`](Self::fill_unmapped)). Regions are split as needed.
    ///
    /// Returns the number of bytes filled. Errors (changing nothing) if `start > end`, there is
    /// no such backing, or the backing is too short for the whole range.
    pub fn fill_absent(
        &mut self,
        start: u64,
        end: u64,
        index: usize,
        offset: u64,
    ) -> Result<u64, FillError> {
        self.check_fill(start, end, index, offset)?;
        if start == end {
            return Ok(0);
        }
        let mut filled = 0u64;
        let mut out = Vec::with_capacity(self.regions.len() + 2);
        for r in self.regions.drain(..) {
            let lo = r.start.max(start);
            let hi = r.end.min(end);
            if r.source != Source::Absent || lo >= hi {
                out.push(r);
                continue;
            }
            if r.start < lo {
                out.push(Region {
                    start: r.start,
                    end: lo,
                    perms: r.perms,
                    source: Source::Absent,
                });
            }
            // check_fill proved offset + (end - start) fits, and lo - start < end - start.
            let source = Source::Backing {
                index,
                offset: offset + (lo - start),
            };
            out.push(Region {
                start: lo,
                end: hi,
                perms: r.perms,
                source,
            });
            filled += hi - lo;
            if hi < r.end {
                out.push(Region {
                    start: hi,
                    end: r.end,
                    perms: r.perms,
                    source: Source::Absent,
                });
            }
        }
        self.regions = out;
        self.merge();
        Ok(filled)
    }

    /// Map the unmapped parts of `[start, end)` (addresses no region covers) to bytes of backing
    /// `index`, as in [`fill_absent`](Self::fill_absent), with protection `perms`. For mappings
    /// that a core leaves out entirely (gdb's `gcore` writes no segment at all for read-only
    /// file-backed text) but that the layer above knows from `NT_FILE` and the file itself.
    ///
    /// Returns the number of bytes mapped. Errors (changing nothing) as `fill_absent`.
    pub fn fill_unmapped(
        &mut self,
        start: u64,
        end: u64,
        index: usize,
        offset: u64,
        perms: Perms,
    ) -> Result<u64, FillError> {
        self.check_fill(start, end, index, offset)?;
        if start == end {
            return Ok(0);
        }
        let mut added = Vec::new();
        let mut cur = start;
        let first = self.regions.partition_point(|r| r.end <= start);
        for r in self.regions.iter().skip(first) {
            if cur >= end {
                break;
            }
            if r.start > cur {
                let hi = r.start.min(end);
                added.push((cur, hi));
            }
            cur = cur.max(r.end);
        }
        if cur < end {
            added.push((cur, end));
        }
        let mut filled = 0u64;
        for &(lo, hi) in &added {
            let source = Source::Backing {
                index,
                offset: offset + (lo - start),
            };
            self.regions.push(Region {
                start: lo,
                end: hi,
                perms,
                source,
            });
            filled += hi - lo;
        }
        if !added.is_empty() {
            self.regions.sort_by_key(|r| r.start);
            self.merge();
        }
        Ok(filled)
    }

    /// Merge adjacent regions that have the same perms and continue each other seamlessly.
    fn merge(&mut self) {
        let mut out: Vec<Region> = Vec::with_capacity(self.regions.len());
        for r in self.regions.drain(..) {
            if let Some(last) = out.last_mut() {
                if last.perms == r.perms && last.continues_into(&r) {
                    last.end = r.end;
                    continue;
                }
            }
            out.push(r);
        }
        self.regions = out;
    }
}
