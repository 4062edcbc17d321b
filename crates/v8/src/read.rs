//! Little-endian reads of process memory for the decoders, with a fast path: a walk over one heap
//! page first takes the page's bytes as one slice (zero-copy, when the core holds the page
//! contiguously) and reads inside it by indexing; anything else goes to
//! [`AddressSpace`]'s own reads. Every failure is a [`ReadError`] carrying the address.
//!
//! This is the one windowed reader of coroner: the page walk, the isolate search, the heap
//! model's reference scans ([`Heap::page_reader`](crate::Heap::page_reader)) all read through it.

use coroner_corefile::{AddressSpace, ReadError};

/// Reads process memory, preferring one pre-fetched window of it.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    space: &'a AddressSpace,
    window_start: u64,
    window: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader with no window.
    pub fn new(space: &'a AddressSpace) -> Reader<'a> {
        Reader {
            space,
            window_start: 0,
            window: &[],
        }
    }

    /// A reader whose window is `[start, end)`, when the core has those bytes contiguously.
    pub fn with_window(space: &'a AddressSpace, start: u64, end: u64) -> Reader<'a> {
        let window = usize::try_from(end.saturating_sub(start))
            .ok()
            .and_then(|len| space.bytes(start, len).ok())
            .unwrap_or(&[]);
        Reader {
            space,
            window_start: start,
            window,
        }
    }

    /// The underlying address space.
    pub fn space(&self) -> &'a AddressSpace {
        self.space
    }

    #[inline]
    fn array<const N: usize>(&self, addr: u64) -> Result<[u8; N], ReadError> {
        if let Some(off) = addr.checked_sub(self.window_start) {
            if let Ok(off) = usize::try_from(off) {
                if let Some(b) = off.checked_add(N).and_then(|end| self.window.get(off..end)) {
                    if let Ok(a) = <[u8; N]>::try_from(b) {
                        return Ok(a);
                    }
                }
            }
        }
        self.space.read_array(addr)
    }

    /// `u8` at `addr`.
    #[inline]
    pub fn u8(&self, addr: u64) -> Result<u8, ReadError> {
        self.array::<1>(addr).map(|a| a[0])
    }

    /// `u16` at `addr`.
    #[inline]
    pub fn u16(&self, addr: u64) -> Result<u16, ReadError> {
        self.array(addr).map(u16::from_le_bytes)
    }

    /// `u32` at `addr`.
    #[inline]
    pub fn u32(&self, addr: u64) -> Result<u32, ReadError> {
        self.array(addr).map(u32::from_le_bytes)
    }

    /// `u64` at `addr`.
    #[inline]
    pub fn u64(&self, addr: u64) -> Result<u64, ReadError> {
        self.array(addr).map(u64::from_le_bytes)
    }
}
