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
//!
//! A damaged heap (a native addon writing out of bounds, a bit flip) must not lose a whole
//! page to one object it cannot size: a walk that recovers ([`PageWalk::recovering`]) looks
//! past the stop for the next address it can trust as an object start, and goes on from
//! there, keeping the range it skipped ([`Skipped`]). An address is trusted when the objects
//! chained from it by their sizes run on to a boundary the walk knows (the area's end, an
//! allocation area's top) or for [`TRUSTED_CHAIN`] objects. The heap records each page's
//! skipped ranges once, so that every later walk of the page jumps over them the same way.

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
    /// A variable-size object (an array, a string) ends where something that is not an
    /// object starts, and objects chain on from inside it: its length is more likely damaged
    /// than what follows it, and the range it claims is not trusted.
    #[error("object of instance type {instance_type} claims {size} bytes, but what follows it at {next:#x} is not an object (its length looks damaged)")]
    Oversized {
        /// Its instance type.
        instance_type: u16,
        /// The size it claims.
        size: u64,
        /// Where it claims to end.
        next: u64,
    },
    /// A page that a page of the same space links to in the space's list does not read as a
    /// page: its header is damaged, and none of its objects is walked.
    #[error("the page's header is damaged: page {linked_from:#x} links to it, but it does not read as a page")]
    LostPage {
        /// The page whose link names it.
        linked_from: u64,
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

/// A range of a page's object area that a walk did not read as objects: it starts where the
/// walk met something that is not an object, and ends where the walk could trust an object
/// start again (or at the area's end, when nothing after the stop could be trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Where the walk stopped.
    pub from: u64,
    /// Where it went on (the area's end when it could not).
    pub to: u64,
    /// What stopped it.
    pub reason: StuckReason,
}

impl Skipped {
    /// The bytes skipped.
    pub fn bytes(&self) -> u64 {
        self.to.saturating_sub(self.from)
    }
}

/// How many objects must chain on from an address, each sized and ending where the next
/// begins, for a recovering walk to trust the address as an object start when the chain meets
/// no known boundary first. A word inside a damaged object may look like a map pointer by
/// chance; four objects in a row that size each other up do not happen by chance. What comes
/// after them does not matter: damage close by (another instance a few objects on) must not
/// make the walk skip the healthy objects in between.
pub const TRUSTED_CHAIN: usize = 4;

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
    /// The ranges to jump over (known from an earlier walk of the page, or found by this one
    /// when it recovers), by address.
    skips: Vec<Skipped>,
    /// Whether to look past a stop for the next trusted object start (see the module doc).
    recover: bool,
    /// The last object yielded, when it is of variable size and the walk is right after it:
    /// where a recovering walk stopped, that object's length may be what is damaged.
    last_variable: Option<ObjectRef>,
}

/// Gives the allocation areas of a page and the ranges its walk skips, once every allocation
/// area of the heap is known and every page walked.
pub(crate) type MoreLabs<'a> = Box<dyn FnOnce() -> (Vec<Lab>, Vec<Skipped>) + 'a>;

impl<'a> PageWalk<'a> {
    /// A walk of `page`, aware of the allocation areas `labs` that may lie on it; `unused`
    /// says why the page holds no live object, when it holds none (it lies after its space's
    /// allocation top, or in from-space): the walk then yields nothing and ends so.
    pub(crate) fn new(
        layout: &'a Layout,
        space: &'a coroner_corefile::AddressSpace,
        page: &Page,
        labs: &[Lab],
        skips: &[Skipped],
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
            skips: skips.to_vec(),
            recover: false,
            last_variable: None,
        }
    }

    /// The same walk, which goes on past what it cannot read as an object from the next
    /// object start it can trust (see the module doc); [`PageWalk::skipped`] then lists what
    /// it jumped over. A large-object page's one object is not recovered from.
    pub(crate) fn recovering(mut self) -> PageWalk<'a> {
        self.recover = !self.single;
        self
    }

    /// The ranges the walk jumped over so far (those it was given and those it found).
    pub fn skipped(&self) -> &[Skipped] {
        &self.skips
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
            let (labs, skips) = more();
            self.labs = labs
                .into_iter()
                .filter(|l| l.is_active() && start <= l.top && l.top < end)
                .collect();
            self.skips = skips;
            // A range the settled walk skipped may have begun at the object just yielded
            // (its length is what is damaged): go on where that range ends.
            let at = self.at;
            if let Some(skip) = self.skips.iter().find(|s| s.from < at && at < s.to) {
                self.at = skip.to;
                return self.next();
            }
            if self.labs.iter().any(|l| l.top == self.at) || self.skip_at(self.at).is_some() {
                // Asked once only (`take` above): this recursion is one level deep.
                return self.next();
            }
        }
        if self.recover && !matches!(reason, StuckReason::Read(_)) {
            let stop = self.at;
            // Where an object should start there is none, right after a variable-size
            // object: objects may chain on from inside that one (its length was enlarged), so
            // look there first. (Any other stop is at an object that is itself damaged.)
            let before = self
                .last_variable
                .take()
                .filter(|_| matches!(reason, StuckReason::NotAMap { .. }));
            let inside = before.map(|o| {
                o.addr
                    .saturating_add(self.layout.tagging.tagged_size.saturating_mul(2))
            });
            if let Some(to) = self.next_trusted_start(inside.unwrap_or(stop)) {
                let skip = match before {
                    Some(o) if to < stop => Skipped {
                        from: o.addr,
                        to,
                        reason: StuckReason::Oversized {
                            instance_type: o.instance_type,
                            size: u64::from(o.size),
                            next: stop,
                        },
                    },
                    _ => Skipped {
                        from: stop,
                        to: to.max(stop),
                        reason,
                    },
                };
                if skip.to > skip.from {
                    self.skips.push(skip);
                    self.at = skip.to;
                    return self.next();
                }
            }
        }
        self.end = Some(WalkEnd::Stuck {
            addr: self.at,
            reason,
        });
        None
    }

    /// The skipped range that starts at `at`, if any.
    fn skip_at(&self, at: u64) -> Option<&Skipped> {
        self.skips.iter().find(|s| s.from == at)
    }

    /// The first address after `after` that the walk can trust as an object start: a known
    /// allocation area's top, or an address from which objects chain on (see
    /// [`TRUSTED_CHAIN`]). Bounded by the words of the page's area. Leaves the walk where it
    /// was.
    fn next_trusted_start(&mut self, after: u64) -> Option<u64> {
        let (at, last) = (self.at, self.last_variable);
        let step = self.layout.tagging.tagged_size.max(1);
        let mut found = None;
        let mut p = after.checked_add(step);
        while let Some(q) = p.filter(|&q| q < self.area_end) {
            if self.labs.iter().any(|l| l.top == q) || self.chains_from(q) {
                found = Some(q);
                break;
            }
            p = q.checked_add(step);
        }
        self.at = at;
        self.end = None;
        self.last_variable = last;
        found
    }

    /// Whether objects chain on from `p` for [`TRUSTED_CHAIN`] objects or to a boundary the
    /// walk knows. Leaves the walk's position to the caller to restore.
    fn chains_from(&mut self, p: u64) -> bool {
        let (recover, more) = (self.recover, self.more_labs.take());
        self.recover = false;
        self.at = p;
        self.end = None;
        let mut chained = 0;
        while chained < TRUSTED_CHAIN && self.next().is_some() {
            chained += 1;
        }
        self.recover = recover;
        self.more_labs = more;
        chained == TRUSTED_CHAIN
            || (chained > 0 && !matches!(self.end, Some(WalkEnd::Stuck { .. }) | None))
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
        if let Some(skip) = self.skip_at(self.at) {
            // Bounded: a skipped range ends after it starts.
            if skip.to > self.at {
                self.at = skip.to;
                self.last_variable = None;
                return self.next();
            }
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
        self.last_variable = map.instance_size(self.layout).is_none().then_some(obj);
        self.at = next;
        Some(obj)
    }
}
