//! Walking a heap page: every object from the page's `area_start`, each found by adding the
//! previous object's size, until the object area ends.
//!
//! A page is walkable exactly because V8 keeps it so: every gap is a free-space or filler
//! object. The one exception is an allocation area in use: from a linear allocation area's `top`
//! to its `limit` nothing has been written yet. The walk stops there cleanly (and resumes at the
//! limit if the page continues after it). Anything else that is not an object — a word that is
//! not a map, a size of 0, an object running past the area — stops the walk as `Stuck`, with
//! the address and the reason. Every walk is bounded: each step advances by at least a word
//! and never past `area_end`. A new-space page that lies after its space's allocation top holds
//! nothing live, and its walk yields nothing ([`WalkEnd::PastTop`]).

use coroner_corefile::ReadError;

use crate::labs::Lab;
use crate::layout::Layout;
use crate::map::{is_map_with, read_map_with, MapInfo};
use crate::pages::{Page, PageKind, Space};
use crate::read::Reader;
use crate::size::{object_size_with, SizeError};

/// One object met by a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// The object's untagged address (its map word); V8's pointer to it is this plus the heap
    /// object tag ([`Tagging::tag`](crate::layout::Tagging::tag)).
    pub addr: u64,
    /// Its map's untagged address.
    pub map: u64,
    /// Its instance type.
    pub instance_type: u16,
    /// Its size in bytes.
    pub size: u32,
}

/// How a page walk ended.
///
/// On a new-space page a LAB top always ends the walk: the young generation is bump-allocated
/// to the end of each page, and a LAB's limit there may be lowered (for allocation observers)
/// with nothing allocated after it either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkEnd {
    /// The last object ended exactly at `area_end`.
    AreaEnd,
    /// The walk reached the `top` of a linear allocation area that runs to the end of the
    /// page's objects: nothing after it has been allocated.
    LabTop(u64),
    /// The page is a new-space page that comes after the page holding the new space's
    /// allocation top (`top`) in allocation order: nothing has been allocated on it since the
    /// last scavenge, and what it holds is stale. The walk yields nothing.
    PastTop {
        /// The new space's allocation top (on another page).
        top: u64,
    },
    /// The page is a large-object page, which holds one object: it ended at `end`, before the
    /// area's end (V8 trims a large object in place, a string or an array that shrank, and
    /// leaves no filler after it: nothing else is ever allocated on the page).
    TrimmedLarge {
        /// Where the page's one object ends.
        end: u64,
    },
    /// The page is a from-space page of the young generation: the last scavenge evacuated
    /// every live object out of it, and what it still holds are the stale originals (or
    /// whatever was there before). The walk yields nothing.
    FromSpace,
    /// Something that is not an object was met.
    Stuck {
        /// Where.
        addr: u64,
        /// What was wrong.
        reason: StuckReason,
    },
}

/// Why a walk could not go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StuckReason {
    /// The word where an object should start is not a pointer to a map.
    #[error("word {word:#x} is not a map pointer")]
    NotAMap {
        /// The word.
        word: u64,
    },
    /// Memory could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The object's size could not be worked out.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// The object's size is zero or not a whole number of words.
    #[error("object of instance type {instance_type} has size {size}")]
    BadSize {
        /// Its instance type.
        instance_type: u16,
        /// The size.
        size: u64,
    },
    /// The object would end after the page's object area.
    #[error("object of instance type {instance_type} and size {size} runs past the area end {area_end:#x}")]
    PastAreaEnd {
        /// Its instance type.
        instance_type: u16,
        /// Its size.
        size: u64,
        /// The page's area end.
        area_end: u64,
    },
}

/// Entries of the walk's map cache (a direct-mapped cache of decoded, checked maps).
const MAP_CACHE: usize = 256;

/// An iterator over the objects of one page. After it returns `None`, [`PageWalk::end`] says
/// why.
pub struct PageWalk<'a> {
    layout: &'a Layout,
    r: Reader<'a>,
    at: u64,
    area_start: u64,
    area_end: u64,
    labs: Vec<Lab>,
    /// Whether the page is bump-allocated to its end (a new-space page): nothing after a LAB
    /// top on it is allocated, whatever the LAB's limit.
    linear: bool,
    /// Whether the page holds one object only (a large-object page).
    single: bool,
    end: Option<WalkEnd>,
    cache: Box<[Option<MapInfo>; MAP_CACHE]>,
    /// Where to get more allocation areas when the walk meets something that is not an
    /// object: the heap finds them only by walking every page, so it is asked only then.
    more_labs: Option<MoreLabs<'a>>,
}

/// Gives the allocation areas of a page once every allocation area of the heap is known.
pub(crate) type MoreLabs<'a> = Box<dyn FnOnce() -> Vec<Lab> + 'a>;

impl<'a> PageWalk<'a> {
    /// A walk of `page`, aware of the allocation areas `labs` that may lie on it; `unused`
    /// says why the page holds no live object, when it holds none (it lies after its space's
    /// allocation top, or in from-space): the walk then yields nothing and ends so.
    pub(crate) fn new(
        layout: &'a Layout,
        space: &'a coroner_corefile::AddressSpace,
        page: &Page,
        labs: &[Lab],
        unused: Option<WalkEnd>,
    ) -> PageWalk<'a> {
        let labs = labs
            .iter()
            .filter(|l| l.is_active() && page.area_start <= l.top && l.top < page.area_end)
            .copied()
            .collect();
        PageWalk {
            layout,
            r: Reader::with_window(space, page.area_start, page.area_end),
            at: page.area_start,
            area_start: page.area_start,
            area_end: page.area_end,
            labs,
            linear: page.space == Space::New,
            single: page.kind == PageKind::Large,
            end: unused,
            cache: Box::new([None; MAP_CACHE]),
            more_labs: None,
        }
    }

    /// The same walk, which asks `more` for the page's allocation areas if it meets
    /// something that is not an object, and goes on when one of them starts there.
    pub(crate) fn with_more_labs(mut self, more: MoreLabs<'a>) -> PageWalk<'a> {
        self.more_labs = Some(more);
        self
    }

    /// How the walk ended, once it has.
    pub fn end(&self) -> Option<WalkEnd> {
        self.end
    }

    /// Runs the walk to its end (dropping the remaining objects) and says how it ended.
    pub fn finish(mut self) -> WalkEnd {
        while self.next().is_some() {}
        self.end.unwrap_or(WalkEnd::AreaEnd)
    }

    fn stuck(&mut self, reason: StuckReason) -> Option<ObjectRef> {
        if let Some(more) = self.more_labs.take() {
            let (start, end) = (self.area_start, self.area_end);
            self.labs = more()
                .into_iter()
                .filter(|l| l.is_active() && start <= l.top && l.top < end)
                .collect();
            if self.labs.iter().any(|l| l.top == self.at) {
                // Asked once only (`take` above): this recursion is one level deep.
                return self.next();
            }
        }
        self.end = Some(WalkEnd::Stuck {
            addr: self.at,
            reason,
        });
        None
    }

    /// The checked map at `map_addr`, from the cache when it was seen before.
    fn map(&mut self, word: u64, map_addr: u64) -> Result<MapInfo, StuckReason> {
        let words = map_addr
            .checked_div(self.layout.tagging.tagged_size)
            .unwrap_or(map_addr);
        let slot = usize::try_from(words % MAP_CACHE as u64).unwrap_or(0);
        if let Some(m) = self.cache[slot] {
            if m.addr == map_addr {
                return Ok(m);
            }
        }
        if !is_map_with(self.layout, &self.r, word) {
            return Err(StuckReason::NotAMap { word });
        }
        let m = read_map_with(self.layout, &self.r, map_addr)?;
        self.cache[slot] = Some(m);
        Ok(m)
    }
}

impl Iterator for PageWalk<'_> {
    type Item = ObjectRef;

    fn next(&mut self) -> Option<ObjectRef> {
        if self.end.is_some() {
            return None;
        }
        if self.at >= self.area_end {
            self.end = Some(WalkEnd::AreaEnd);
            return None;
        }
        if self.single && self.at > self.area_start {
            self.end = Some(WalkEnd::TrimmedLarge { end: self.at });
            return None;
        }
        if let Some(lab) = self.labs.iter().find(|l| l.top == self.at).copied() {
            if !self.linear && lab.limit > lab.top && lab.limit < self.area_end {
                // A free-list block handed to the allocator: objects resume at its limit.
                self.at = lab.limit;
                return self.next();
            }
            self.end = Some(WalkEnd::LabTop(lab.top));
            return None;
        }
        let word = match self
            .r
            .u64(self.at.wrapping_add(self.layout.heap_object.map))
        {
            Ok(w) => w,
            Err(e) => return self.stuck(e.into()),
        };
        let Some(map_addr) = self.layout.tagging.strong(word) else {
            return self.stuck(StuckReason::NotAMap { word });
        };
        let map = match self.map(word, map_addr) {
            Ok(m) => m,
            Err(e) => return self.stuck(e),
        };
        let size = match object_size_with(self.layout, &self.r, self.at, &map) {
            Ok(s) => s,
            Err(e) => return self.stuck(e.into()),
        };
        let instance_type = map.instance_type;
        if size == 0 || size.checked_rem(self.layout.tagging.tagged_size) != Some(0) {
            return self.stuck(StuckReason::BadSize {
                instance_type,
                size,
            });
        }
        let next = match self.at.checked_add(size) {
            Some(n) if n <= self.area_end => n,
            _ => {
                return self.stuck(StuckReason::PastAreaEnd {
                    instance_type,
                    size,
                    area_end: self.area_end,
                })
            }
        };
        let Ok(size32) = u32::try_from(size) else {
            return self.stuck(StuckReason::BadSize {
                instance_type,
                size,
            });
        };
        let obj = ObjectRef {
            addr: self.at,
            map: map_addr,
            instance_type,
            size: size32,
        };
        self.at = next;
        Some(obj)
    }
}
