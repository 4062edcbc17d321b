//! coroner-v8 on every fixture core (all pinned Node versions, both dump kinds): the layout
//! loads whole, every isolate is found, and every page walks exactly.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use coroner_fixtures::Kind;
use coroner_image::{OpenOptions, ProcessImage};
use coroner_v8::{Layout, PageKind, Space, WalkEnd};
use support::{objects, opened, word};

/// The fixtures cover every supported Node major and both kinds of core.
#[test]
fn fixtures_cover_every_version_and_kind() {
    let mut seen: BTreeSet<(u32, Kind)> = BTreeSet::new();
    for o in opened() {
        seen.insert((o.fixture.expect.node_major(), o.fixture.kind));
    }
    for major in [18, 20, 22, 24, 25, 26] {
        for kind in Kind::ALL {
            assert!(
                seen.contains(&(major, kind)),
                "no Node {major} {kind} fixture"
            );
        }
    }
}

/// Every fact is found (none missing, none disagreeing between metadata and supplement, no
/// supplement key unread), for the right version.
#[test]
fn layout_loads_whole_on_every_fixture() {
    let mut problems = Vec::new();
    for o in opened() {
        let image = ProcessImage::open(
            &o.fixture.core,
            &OpenOptions {
                exe: Some(o.fixture.exe.clone()),
                ..OpenOptions::default()
            },
        )
        .expect("the core opens");
        let layout = match Layout::load(&image) {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!("{}: {e}", o.label()));
                continue;
            }
        };
        let label = o.label();
        for m in layout.missing() {
            problems.push(format!("{label}: missing {m}"));
        }
        for d in layout.disagreements() {
            problems.push(format!(
                "{label}: {} is {} in the metadata but {} in the {}",
                d.fact, d.metadata, d.other, d.other_source
            ));
        }
        for k in layout.unused_supplement_keys() {
            problems.push(format!("{label}: supplement key {k} is never read"));
        }
        let expect = &o.fixture.expect;
        assert_eq!(layout.source.node_version, expect.node_version, "{label}");
        assert_eq!(layout.source.node_major, expect.node_major(), "{label}");
        assert_eq!(
            layout.source.v8_version.as_deref(),
            Some(expect.v8_version.as_str()),
            "{label}"
        );
        assert_eq!(layout.tagging.tagged_size, 8, "{label}");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One isolate per JS thread (the main thread and each worker), each checked against itself
/// (its self pointer and ThreadLocalTop::isolate_), its roots, and its pages.
#[test]
fn finds_every_isolate() {
    for o in opened() {
        let label = o.label();
        let heap = o.heap();
        let layout = heap.layout();
        let expected = o
            .fixture
            .expect
            .extra
            .get("isolates")
            .and_then(|v| v.as_u64())
            .unwrap_or(1);
        if let Some(workers) = o
            .fixture
            .expect
            .extra
            .get("workers")
            .and_then(|w| w.as_array())
        {
            assert_eq!(expected, 1 + workers.len() as u64, "{label}");
        }
        assert_eq!(heap.isolates().len() as u64, expected, "{label}: isolates");
        let mut allocating = false;
        for (i, iso) in heap.isolates().iter().enumerate() {
            let il = &layout.isolate;
            assert_eq!(word(heap, iso.addr + il.self_pointer), iso.addr, "{label}");
            let tlt_isolate = iso.addr + il.thread_local_top + il.thread_local_top_isolate;
            assert_eq!(word(heap, tlt_isolate), iso.addr, "{label}: ThreadLocalTop");
            let root = |index| iso.root(heap.memory(), layout, index).expect("root");
            let oddball_kind = |value: u64| {
                let addr = layout.tagging.strong(value).expect("a heap object");
                assert_eq!(support::type_of(heap, value), Some(layout.types.oddball));
                layout.tagging.smi(word(heap, addr + layout.oddball.kind))
            };
            let roots = &layout.roots;
            assert_eq!(
                oddball_kind(root(roots.undefined)),
                Some(layout.oddball.kind_undefined)
            );
            assert_eq!(
                oddball_kind(root(roots.null)),
                Some(layout.oddball.kind_null)
            );
            assert_eq!(
                oddball_kind(root(roots.true_value)),
                Some(layout.oddball.kind_true)
            );
            assert_eq!(
                oddball_kind(root(roots.false_value)),
                Some(layout.oddball.kind_false)
            );
            let hole = root(roots.the_hole);
            match (layout.types.hole, layout.oddball.kind_the_hole) {
                (Some(t), _) => assert_eq!(support::type_of(heap, hole), Some(t), "{label}"),
                (None, Some(kind)) => assert_eq!(oddball_kind(hole), Some(kind), "{label}"),
                (None, None) => panic!("{label}: the layout has no way to tell the hole"),
            }
            let spaces: BTreeSet<Space> = heap
                .pages()
                .iter()
                .filter(|p| p.isolate == Some(i))
                .map(|p| p.space)
                .collect();
            for space in [Space::New, Space::Old, Space::Code] {
                assert!(
                    spaces.contains(&space),
                    "{label}: isolate {i} has no {space:?} page"
                );
            }
            // Each allocation area is closed (a GC closed it and nothing was allocated there
            // since) or open inside a page of the isolate's own.
            let in_a_page = |top: u64| {
                heap.pages().iter().any(|p| {
                    p.isolate == Some(i) && p.addr < top && top <= p.addr.saturating_add(p.size)
                })
            };
            for lab in [iso.new_lab, iso.old_lab] {
                assert!(!lab.is_active() || in_a_page(lab.top), "{label}: {lab:?}");
                // A worker idle since a GC may allocate nowhere; the process as a whole does.
                allocating |= lab.is_active();
            }
        }
        assert!(
            allocating,
            "{label}: no isolate has an open allocation area"
        );
        for page in heap.pages() {
            match page.kind {
                PageKind::ReadOnly => {
                    assert_eq!(page.isolate, None, "{label}: {:#x}", page.addr);
                    assert_eq!(page.space, Space::ReadOnly);
                }
                _ => assert!(
                    page.isolate.is_some(),
                    "{label}: page {:#x} (heap {:#x}) belongs to no isolate found",
                    page.addr,
                    page.heap
                ),
            }
        }
    }
}

/// Every page of every fixture walks from area_start exactly to area_end, or to the top of an
/// allocation area coroner knows, or is a new-space page past the allocation top; every object
/// lies inside its page, follows the previous one, and has an instance type the table names.
#[test]
fn every_page_walks_exactly() {
    let mut failures = Vec::new();
    for o in opened() {
        let label = o.label();
        let heap = o.heap();
        let layout = heap.layout();
        let lab_tops: BTreeMap<u64, u64> = heap
            .labs()
            .iter()
            .map(|k| (k.lab.top, k.lab.limit))
            .collect();
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let mut kinds: BTreeSet<(Space, PageKind)> = BTreeSet::new();
        for page in heap.pages() {
            kinds.insert((page.space, page.kind));
            let mut walk = heap.walk(page);
            let mut expected_next = page.area_start;
            for obj in walk.by_ref() {
                if obj.addr != expected_next {
                    // Only a LAB may be skipped: from its top to its limit.
                    if lab_tops.get(&expected_next) != Some(&obj.addr) {
                        failures.push(format!(
                            "{label}: page {:#x}: object at {:#x}, expected {expected_next:#x}",
                            page.addr, obj.addr
                        ));
                        break;
                    }
                }
                let end = obj.addr + u64::from(obj.size);
                if end > page.area_end {
                    failures.push(format!(
                        "{label}: object {:#x} crosses its page end",
                        obj.addr
                    ));
                }
                if layout.types.name(obj.instance_type).is_none() {
                    failures.push(format!(
                        "{label}: object {:#x} has unknown instance type {}",
                        obj.addr, obj.instance_type
                    ));
                }
                expected_next = end;
                let t = obj.instance_type;
                if t == layout.types.map {
                    *counts.entry("maps").or_default() += 1;
                }
                if layout.types.is_string(t) {
                    *counts.entry("strings").or_default() += 1;
                }
                if layout.types.is_js_function(t) {
                    *counts.entry("functions").or_default() += 1;
                }
                *counts.entry("objects").or_default() += 1;
            }
            match walk.end() {
                Some(WalkEnd::AreaEnd) => assert_eq!(expected_next, page.area_end),
                Some(WalkEnd::LabTop(top)) => {
                    assert_eq!(top, expected_next, "{label}");
                    assert!(
                        lab_tops.contains_key(&top),
                        "{label}: unknown LAB top {top:#x}"
                    );
                }
                Some(WalkEnd::PastTop { .. }) => {
                    assert_eq!(page.space, Space::New, "{label}: {:#x}", page.addr);
                    assert_eq!(expected_next, page.area_start, "{label}");
                }
                Some(WalkEnd::TrimmedLarge { end }) => {
                    assert_eq!(page.kind, PageKind::Large, "{label}: {:#x}", page.addr);
                    assert_eq!(expected_next, end, "{label}");
                }
                Some(WalkEnd::FromSpace) => {
                    assert!(page.is_from_space(layout), "{label}: {:#x}", page.addr);
                    assert_eq!(expected_next, page.area_start, "{label}");
                }
                Some(WalkEnd::Stuck { addr, reason }) => failures.push(format!(
                    "{label}: page {:#x} ({:?}, {:?}) stuck at {addr:#x}: {reason}",
                    page.addr, page.space, page.kind
                )),
                None => failures.push(format!("{label}: walk of {:#x} did not end", page.addr)),
            }
        }
        for d in heap.damage() {
            failures.push(format!(
                "{label}: page {:#x}: {:#x}..{:#x} reported damaged: {}",
                d.page, d.range.from, d.range.to, d.range.reason
            ));
        }
        for what in ["maps", "strings", "functions"] {
            assert!(
                counts.get(what).copied().unwrap_or(0) > 0,
                "{label}: no {what}"
            );
        }
        for needed in [
            (Space::ReadOnly, PageKind::ReadOnly),
            (Space::New, PageKind::Regular),
            (Space::Old, PageKind::Regular),
            (Space::Code, PageKind::Regular),
        ] {
            assert!(kinds.contains(&needed), "{label}: no {needed:?} page");
        }
        // Objects the scenario keeps alive are all on the pages walked.
        let alive: u64 = o.fixture.expect.classes.values().sum();
        let receivers = objects(heap)
            .iter()
            .filter(|obj| layout.types.is_js_receiver(obj.instance_type))
            .count() as u64;
        assert!(
            receivers >= alive,
            "{label}: {receivers} JS objects, {alive} expected alive"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Large-object pages hold exactly one object, from area_start to area_end.
#[test]
fn large_object_pages_hold_one_object() {
    let mut large = 0;
    for o in opened() {
        let heap = o.heap();
        for page in heap.pages().iter().filter(|p| p.kind == PageKind::Large) {
            large += 1;
            let objs: Vec<_> = heap.walk(page).collect();
            assert_eq!(objs.len(), 1, "{}: large page {:#x}", o.label(), page.addr);
            assert_eq!(objs[0].addr, page.area_start);
            assert!(
                page.size > heap.layout().page.page_size
                    || page.area_end - page.area_start >= u64::from(objs[0].size)
            );
        }
    }
    assert!(large > 0, "no fixture has a large-object page");
}

/// Page lists link both ways: the page a page's `next` names has that page as its `prev`, and
/// the reverse (the offsets of both links are right, and the walk's order of new-space pages
/// rests on them).
#[test]
fn page_lists_link_both_ways() {
    let mut links = 0;
    for o in opened() {
        let label = o.label();
        let heap = o.heap();
        let by_metadata: std::collections::HashMap<u64, _> =
            heap.pages().iter().map(|p| (p.metadata, p)).collect();
        for page in heap.pages() {
            if let Some(next) = by_metadata.get(&page.next) {
                assert_eq!(next.prev, page.metadata, "{label}: page {:#x}", page.addr);
                links += 1;
            }
            if let Some(prev) = by_metadata.get(&page.prev) {
                assert_eq!(prev.next, page.metadata, "{label}: page {:#x}", page.addr);
            }
        }
    }
    assert!(links > 0, "no page list with two pages");
}

/// Each space's own list of pages (`space_pages` on the owner: front, then back) starts at the
/// page with no previous one and ends at the page with no next one: the offset is right, so
/// the scan keeps exactly the pages in their lists.
#[test]
fn space_lists_start_and_end_at_their_pages() {
    let mut lists = 0;
    for o in opened() {
        let label = o.label();
        let heap = o.heap();
        let at = heap.layout().page.space_pages;
        let mut owners: Vec<u64> = heap.pages().iter().map(|p| p.owner).collect();
        owners.sort_unstable();
        owners.dedup();
        for owner in owners.into_iter().filter(|&o| o != 0) {
            let pages: Vec<_> = heap.pages().iter().filter(|p| p.owner == owner).collect();
            let first: Vec<_> = pages.iter().filter(|p| p.prev == 0).collect();
            let last: Vec<_> = pages.iter().filter(|p| p.next == 0).collect();
            assert_eq!(first.len(), 1, "{label}: space at {owner:#x}");
            assert_eq!(last.len(), 1, "{label}: space at {owner:#x}");
            assert_eq!(word(heap, owner + at), first[0].metadata, "{label}");
            assert_eq!(word(heap, owner + at + 8), last[0].metadata, "{label}");
            lists += 1;
        }
    }
    assert!(lists > 0, "no space with pages");
}

/// The chunk flag bits of the supplement agree with the spaces the owners name: code pages are
/// executable, new-space pages are to-space pages, only large-object spaces have large pages,
/// and read-only pages are exactly those with the read-only flag.
#[test]
fn page_flags_match_their_spaces() {
    for o in opened() {
        let label = o.label();
        let heap = o.heap();
        let pl = &heap.layout().page;
        for page in heap.pages() {
            let has = |flag: u64| page.flags & flag != 0;
            let at = format!(
                "{label}: page {:#x} of {:?}, flags {:#x}",
                page.addr, page.space, page.flags
            );
            let large_space = matches!(
                page.space,
                Space::LargeObject
                    | Space::NewLargeObject
                    | Space::CodeLargeObject
                    | Space::SharedLargeObject
                    | Space::SharedTrustedLargeObject
                    | Space::TrustedLargeObject
            );
            assert_eq!(has(pl.flag_large), large_space, "{at}");
            assert_eq!(
                has(pl.flag_read_only),
                page.space == Space::ReadOnly,
                "{at}"
            );
            if matches!(page.space, Space::Code | Space::CodeLargeObject) {
                assert!(page.executable, "{at}");
            }
            if page.space == Space::New {
                // To-space, or the from-space the last scavenge evacuated (a scavenge may follow
                // even the heap snapshot's full GC, before the dump).
                assert!(has(pl.flag_to_page) != has(pl.flag_from_page), "{at}");
            }
        }
    }
}
