//! Heap pages (V8's memory chunks): finding every one in the core, and what each header says —
//! its size, object area, flags, owning heap and space.
//!
//! Every chunk is aligned to the page size (256 KiB), so each aligned address of every region
//! the core has bytes for is a candidate, checked against the header signature of the layout's
//! [`PageHeader`] variant: sizes and area bounds that fit the page, and either an owner space
//! that points back to the page's heap, or the read-only heap's detached header (no heap, no
//! owner, read-only flag). Large-object pages are skipped over as a whole. Which isolate a page
//! belongs to is decided later, by its heap pointer (see [`Heap`](crate::Heap)).

use coroner_corefile::{AddressSpace, Source};

use crate::layout::{Layout, PageHeader};
use crate::read::Reader;

/// V8's allocation spaces (`AllocationSpace`), named as in V8; their numbers differ between
/// versions and come from the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    /// `RO_SPACE`: immutable objects shared by all isolates of the process.
    ReadOnly,
    /// `NEW_SPACE`: the young generation.
    New,
    /// `OLD_SPACE`.
    Old,
    /// `CODE_SPACE`.
    Code,
    /// `MAP_SPACE` (V8 10 only).
    Map,
    /// `SHARED_SPACE`.
    Shared,
    /// `TRUSTED_SPACE` (V8 12+).
    Trusted,
    /// `SHARED_TRUSTED_SPACE` (V8 13+).
    SharedTrusted,
    /// `NEW_LO_SPACE`.
    NewLargeObject,
    /// `LO_SPACE`.
    LargeObject,
    /// `CODE_LO_SPACE`.
    CodeLargeObject,
    /// `SHARED_LO_SPACE`.
    SharedLargeObject,
    /// `SHARED_TRUSTED_LO_SPACE`.
    SharedTrustedLargeObject,
    /// `TRUSTED_LO_SPACE`.
    TrustedLargeObject,
}

impl Space {
    const NAMES: [(Space, &'static str); 14] = [
        (Space::ReadOnly, "RO_SPACE"),
        (Space::New, "NEW_SPACE"),
        (Space::Old, "OLD_SPACE"),
        (Space::Code, "CODE_SPACE"),
        (Space::Map, "MAP_SPACE"),
        (Space::Shared, "SHARED_SPACE"),
        (Space::Trusted, "TRUSTED_SPACE"),
        (Space::SharedTrusted, "SHARED_TRUSTED_SPACE"),
        (Space::NewLargeObject, "NEW_LO_SPACE"),
        (Space::LargeObject, "LO_SPACE"),
        (Space::CodeLargeObject, "CODE_LO_SPACE"),
        (Space::SharedLargeObject, "SHARED_LO_SPACE"),
        (Space::SharedTrustedLargeObject, "SHARED_TRUSTED_LO_SPACE"),
        (Space::TrustedLargeObject, "TRUSTED_LO_SPACE"),
    ];

    /// The name `v8.getHeapSpaceStatistics()` gives the space (`old_space`,
    /// `large_object_space`).
    pub fn statistics_name(self) -> &'static str {
        match self {
            Space::ReadOnly => "read_only_space",
            Space::New => "new_space",
            Space::Old => "old_space",
            Space::Code => "code_space",
            Space::Map => "map_space",
            Space::Shared => "shared_space",
            Space::Trusted => "trusted_space",
            Space::SharedTrusted => "shared_trusted_space",
            Space::NewLargeObject => "new_large_object_space",
            Space::LargeObject => "large_object_space",
            Space::CodeLargeObject => "code_large_object_space",
            Space::SharedLargeObject => "shared_large_object_space",
            Space::SharedTrustedLargeObject => "shared_trusted_large_object_space",
            Space::TrustedLargeObject => "trusted_large_object_space",
        }
    }

    /// The space V8 calls `name` (`"OLD_SPACE"`).
    pub fn from_v8_name(name: &str) -> Option<Space> {
        Space::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|&(s, _)| s)
    }

    /// V8's name for the space.
    pub fn v8_name(self) -> &'static str {
        Space::NAMES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("?", |&(_, n)| n)
    }
}

/// What kind of chunk a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageKind {
    /// A regular page of a paged or new space.
    Regular,
    /// A large-object page: one object, possibly many page sizes long.
    Large,
    /// A page of the read-only heap.
    ReadOnly,
}

/// One heap page of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Start of the chunk (page-size aligned).
    pub addr: u64,
    /// Where the header fields were read (the page itself, or its metadata elsewhere).
    pub metadata: u64,
    /// Chunk size in bytes.
    pub size: u64,
    /// First object.
    pub area_start: u64,
    /// End of the object area.
    pub area_end: u64,
    /// The highest allocation top seen on the page (read-only pages are filled up to it).
    pub high_water_mark: u64,
    /// The bytes allocated on the page, as V8 counts them for its space's used size (`None`
    /// where the layout does not say where they are).
    pub allocated_bytes: Option<u64>,
    /// Metadata address of the next page in the owner's list of pages (0 at the end, and for
    /// read-only pages).
    pub next: u64,
    /// Metadata address of the previous page in that list (0 at the head).
    pub prev: u64,
    /// Chunk flags.
    pub flags: u64,
    /// Whether the chunk holds executable code (its flag is in the chunk flags, or since V8 14
    /// in the metadata's own flags word).
    pub executable: bool,
    /// The owning `Heap*` (0 for the read-only heap).
    pub heap: u64,
    /// The owning space object (0 for the read-only heap).
    pub owner: u64,
    /// The owning space (`ReadOnly` for read-only pages).
    pub space: Space,
    /// Kind of chunk.
    pub kind: PageKind,
    /// Index of the owning isolate in [`Heap::isolates`](crate::Heap::isolates) (`None` for the
    /// read-only heap, shared by all isolates, or a heap no isolate was found for).
    pub isolate: Option<usize>,
}

impl Page {
    /// Whether `addr` is in this page's object area.
    pub fn contains(&self, addr: u64) -> bool {
        self.area_start <= addr && addr < self.area_end
    }

    /// Whether this is a from-space page of the young generation (stale copies of objects that
    /// the last scavenge moved).
    pub fn is_from_space(&self, layout: &Layout) -> bool {
        self.flags & layout.page.flag_from_page != 0
    }
}

/// The object areas of the read-only pages, sorted: the read-only heap is shared by every
/// isolate and holds what nearly every object points at (maps, oddballs, empty arrays), so
/// "is this word read-only?" is asked for most words of the heap and must be a binary search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOnlyAreas(Vec<(u64, u64)>);

impl ReadOnlyAreas {
    /// The areas of the read-only pages among `pages`.
    pub fn of(pages: &[Page]) -> ReadOnlyAreas {
        let mut areas: Vec<(u64, u64)> = pages
            .iter()
            .filter(|p| p.kind == PageKind::ReadOnly)
            .map(|p| (p.area_start, p.area_end))
            .collect();
        areas.sort_unstable();
        ReadOnlyAreas(areas)
    }

    /// Whether `addr` is in the object area of a read-only page.
    #[inline]
    pub fn contains(&self, addr: u64) -> bool {
        let i = self.0.partition_point(|&(start, _)| start <= addr);
        i.checked_sub(1)
            .and_then(|i| self.0.get(i))
            .is_some_and(|&(_, end)| addr < end)
    }
}

/// Every page whose header the core holds, by address; `isolate` is not yet set.
pub(crate) fn find_pages(layout: &Layout, space: &AddressSpace) -> Vec<Page> {
    let r = Reader::new(space);
    let page_size = layout.page.page_size;
    let mut pages = Vec::new();
    // Candidates before this address are inside a large page already found.
    let mut skip_to = 0u64;
    for region in space.regions() {
        if region.source == Source::Absent {
            continue;
        }
        let Some(mut p) = align_up(region.start.max(skip_to), page_size) else {
            continue;
        };
        while p < region.end {
            if let Some(page) = page_at(layout, &r, p) {
                let end = p.saturating_add(page.size);
                // A page out of its space's list is stepped over whole all the same: what
                // it still holds is not to be read as headers.
                if in_its_list(layout, &r, &page) {
                    pages.push(page);
                }
                skip_to = skip_to.max(end);
                match align_up(end, page_size) {
                    Some(next) if next > p => p = next,
                    _ => break,
                }
            } else {
                match p.checked_add(page_size) {
                    Some(next) => p = next,
                    None => break,
                }
            }
        }
    }
    pages
}

/// A page that a found page's list links to, but whose header does not read as a page (a
/// damaged core): its objects are in no walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostPage {
    /// The metadata address the link holds.
    pub metadata: u64,
    /// Where the page's objects would be, when that can be told (from its metadata, or the
    /// link itself where the metadata is on the page): `(start, end)`.
    pub area: Option<(u64, u64)>,
    /// The found page that links to it.
    pub linked_from: u64,
    /// That page's space (the lost page's too: a list is one space's).
    pub space: Space,
    /// That page's isolate.
    pub isolate: Option<usize>,
}

/// How many more pages than were found may be taken for lost: links read from damaged headers
/// may be garbage, and garbage must not make the list of lost pages grow without end.
const MORE_LOST_PAGES: usize = 64;

/// The pages the found `pages` link to in their spaces' lists but that were not found (their
/// headers are damaged), by metadata address; and the pages those link to in turn, where
/// their links still read as links (two neighbours in a list may both be damaged). Read-only
/// pages are in no list.
pub(crate) fn lost_pages(layout: &Layout, space: &AddressSpace, pages: &[Page]) -> Vec<LostPage> {
    let known: std::collections::HashSet<u64> = pages.iter().map(|p| p.metadata).collect();
    let r = Reader::new(space);
    let pl = &layout.page;
    let field = |meta: u64, off: u64| r.u64(meta.wrapping_add(off)).ok();
    // A link of a damaged page is believed only if it could name a page's metadata.
    let plausible = |link: u64| match pl.header {
        PageHeader::OnPage | PageHeader::MetadataOnPage => {
            link % pl.page_size == 0 && field(link, 0).is_some()
        }
        PageHeader::MetadataOffPage => {
            link % layout.tagging.pointer_size == 0 && field(link, 0).is_some()
        }
    };
    let mut lost: Vec<LostPage> = Vec::new();
    // (link, the page it is linked from, the found page whose list it is, trusted)
    let mut work: Vec<(u64, u64, &Page, bool)> = pages
        .iter()
        .filter(|p| p.kind != PageKind::ReadOnly)
        .flat_map(|p| [(p.next, p.addr, p, true), (p.prev, p.addr, p, true)])
        .collect();
    // Bounded: each lost page is added once, and no more than the pages found and a few more.
    let most = pages.len().saturating_add(MORE_LOST_PAGES);
    while let Some((link, from, page, trusted)) = work.pop() {
        if link == 0
            || known.contains(&link)
            || lost.iter().any(|l| l.metadata == link)
            || (!trusted && !plausible(link))
            || lost.len() >= most
        {
            continue;
        }
        let area = match pl.header {
            // A large page's size is its object's: not known.
            _ if page.kind == PageKind::Large => None,
            // The link is the page itself: its area is where any page's would be.
            PageHeader::OnPage | PageHeader::MetadataOnPage => page
                .area_start
                .checked_sub(page.addr)
                .and_then(|header| link.checked_add(header))
                .zip(link.checked_add(pl.page_size)),
            PageHeader::MetadataOffPage => field(link, pl.area_start)
                .zip(field(link, pl.area_end))
                .filter(|(start, end)| start < end && end - start <= pl.page_size),
        };
        lost.push(LostPage {
            metadata: link,
            area,
            linked_from: from,
            space: page.space,
            isolate: page.isolate,
        });
        for next in [field(link, pl.list_next), field(link, pl.list_prev)]
            .into_iter()
            .flatten()
        {
            work.push((next, link, page, false));
        }
    }
    lost
}

/// Whether `page` is in its owner's list of pages. V8 takes a page out of the list when it
/// frees the page (a dead large object, a space shrinking after a GC) or pools it for reuse,
/// and a background thread unmaps it later, so a core can hold a header that is no longer the
/// heap's; unlinking clears both links, and only the list's first page has no previous one.
/// Read-only pages are in no list.
fn in_its_list(layout: &Layout, r: &Reader<'_>, page: &Page) -> bool {
    page.kind == PageKind::ReadOnly
        || page.prev != 0
        || r.u64(page.owner.wrapping_add(layout.page.space_pages)).ok() == Some(page.metadata)
}

fn align_up(a: u64, alignment: u64) -> Option<u64> {
    let mask = alignment.checked_sub(1)?;
    Some(a.checked_add(mask)? & !mask)
}

/// The page at `p`, if `p` holds a page header.
fn page_at(layout: &Layout, r: &Reader<'_>, p: u64) -> Option<Page> {
    let pl = &layout.page;
    let flags = r.u64(p.wrapping_add(pl.flags)).ok()?;
    let meta = match (pl.header, pl.metadata_pointer) {
        (PageHeader::OnPage, _) => p,
        (PageHeader::MetadataOnPage, Some(at)) => {
            let m = r.u64(p.wrapping_add(at)).ok()?;
            if m != p {
                return None;
            }
            m
        }
        (PageHeader::MetadataOffPage, Some(at)) => {
            let m = r.u64(p.wrapping_add(at)).ok()?;
            if m == 0 || m % layout.tagging.pointer_size != 0 {
                return None;
            }
            m
        }
        _ => return None,
    };
    let field = |off: u64| r.u64(meta.wrapping_add(off)).ok();
    let size = field(pl.size)?;
    let area_start = field(pl.area_start)?;
    let area_end = field(pl.area_end)?;
    let heap = field(pl.heap)?;
    let owner = field(pl.owner)?;
    let high_water_mark = p.wrapping_add(field(pl.high_water_mark)?);
    let allocated_bytes = pl.allocated_bytes.and_then(field);
    let end = p.checked_add(size)?;
    let plausible = size >= pl.min_size
        && size % pl.size_granularity == 0
        && area_start > p
        && area_start - p <= pl.max_header_size
        && area_start % layout.tagging.tagged_size == 0
        && area_start < area_end
        && area_end <= end;
    if !plausible {
        return None;
    }
    let executable_word = match pl.executable_flags {
        Some(at) => field(at)?,
        None => flags,
    };
    let executable = executable_word & pl.flag_executable != 0;
    let read_only = flags & pl.flag_read_only != 0;
    // Read-only pages are in no space's page list (V8 14 gives them a smaller metadata
    // object, without the list's links).
    let (next, prev) = if read_only {
        (0, 0)
    } else {
        (field(pl.list_next)?, field(pl.list_prev)?)
    };
    let kind = if read_only {
        PageKind::ReadOnly
    } else if flags & pl.flag_large != 0 {
        PageKind::Large
    } else {
        PageKind::Regular
    };
    let space = if read_only && heap == 0 && owner == 0 {
        Space::ReadOnly
    } else {
        // A live page's owner is a space of the same heap.
        if heap == 0 || owner == 0 || r.u64(owner.wrapping_add(pl.space_heap)).ok()? != heap {
            return None;
        }
        if let Some(at) = pl.reservation_address {
            // Off-page metadata: the reservation starts at the page.
            if field(at)? != p {
                return None;
            }
        }
        let id = r.u32(owner.wrapping_add(pl.space_id)).ok()?;
        pl.space(id)?
    };
    Some(Page {
        addr: p,
        metadata: meta,
        size,
        area_start,
        area_end,
        high_water_mark,
        allocated_bytes,
        next,
        prev,
        flags,
        executable,
        heap,
        owner,
        space,
        kind,
        isolate: None,
    })
}
