//! The per-build layout tables on real cores: read without the executable (the core opened
//! alone), each core gets the same layout and the same heap as with it; a release without a
//! table of its own borrows its major's nearest table and is checked on the core; and a table
//! of another major is refused by those checks instead of misreading the heap.

use coroner_fixtures::{Fixture, Kind};
use coroner_image::{OpenOptions, ProcessImage};
use coroner_v8::layout::{MetadataOrigin, TableMatch};
use coroner_v8::{Heap, HeapError, Layout};

fn objects_fixtures() -> Vec<Fixture> {
    let mut all = coroner_fixtures::find("objects", Kind::Abort);
    all.extend(coroner_fixtures::find("objects", Kind::Gcore));
    all
}

fn tabled(version: &str) -> bool {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("layouts/builds/node-{version}.toml"))
        .is_file()
}

fn open(f: &Fixture, core_only: bool) -> ProcessImage {
    let options = OpenOptions {
        exe: (!core_only).then(|| f.exe.clone()),
        core_only,
        ..OpenOptions::default()
    };
    ProcessImage::open(&f.core, &options).expect("image")
}

/// Everything but where the layout came from.
fn facts(layout: &Layout) -> String {
    let mut l = layout.clone();
    l.source.metadata_from = MetadataOrigin::Table;
    format!("{l:?}")
}

#[test]
fn without_the_executable_the_layout_and_heap_are_the_same() {
    for f in objects_fixtures() {
        let label = f.label();
        let with = open(&f, false);
        let alone = open(&f, true);
        assert!(alone.exe_file().is_none(), "{label}");
        let a = Layout::load(&with).unwrap_or_else(|e| panic!("{label}: {e}"));
        let b = Layout::load(&alone).unwrap_or_else(|e| panic!("{label} alone: {e}"));
        assert_eq!(
            a.source.metadata_from,
            MetadataOrigin::Executable,
            "{label}"
        );
        assert_eq!(b.source.metadata_from, MetadataOrigin::Table, "{label}");
        let want = if tabled(&f.version) {
            TableMatch::BuildId
        } else {
            TableMatch::ReleaseRange
        };
        assert_eq!(a.source.table_match, want, "{label}");
        assert_eq!(b.source.table_match, want, "{label}");
        assert_eq!(b.source.node_version, format!("v{}", f.version), "{label}");
        // The facts read from code and read-only data come from the executable, or from the
        // table of this very build only: a release without a table has them with it alone.
        let mut a = a;
        if !tabled(&f.version) {
            assert!(
                a.heap_gc_state.is_some() && b.heap_gc_state.is_none(),
                "{label}"
            );
            a.heap_gc_state = None;
            a.microtask_queue = None;
            // Node's own constants move between releases: the executable's with it, the
            // borrowed table's without (which the node layer then refuses to use).
            a.node = b.node.clone();
        }
        assert_eq!(facts(&a), facts(&b), "{label}: layouts differ");

        let ha = Heap::open(&with).unwrap_or_else(|e| panic!("{label}: {e}"));
        let hb = Heap::open(&alone).unwrap_or_else(|e| panic!("{label} alone: {e}"));
        assert_eq!(ha.pages().len(), hb.pages().len(), "{label}");
        assert_eq!(ha.isolates().len(), hb.isolates().len(), "{label}");
        let count = |h: &Heap| h.par_map_pages(|_, w| w.count()).iter().sum::<usize>();
        assert_eq!(count(&ha), count(&hb), "{label}: objects walked");
    }
}

#[test]
fn a_table_of_another_major_is_refused_by_the_checks() {
    for f in objects_fixtures() {
        let label = f.label();
        let image = open(&f, true);
        let own = Layout::load(&image).expect("layout");
        // The newest table of the nearest other major.
        let other = match own.source.node_major {
            18 => "20.20.2",
            _ => "18.20.8",
        };
        let layout = Layout::load_with_table(&image, other).expect("the other table loads");
        assert!(layout.source.needs_check(), "{label}");
        match Heap::with_layout(image.memory(), layout) {
            Err(HeapError::LayoutMismatch { table, .. }) => {
                assert_eq!(table, format!("node-{other}.toml"), "{label}")
            }
            Err(e) => panic!("{label}: {other}'s table: {e}"),
            Ok(_) => panic!("{label}: {other}'s table was accepted"),
        }
    }
}

#[test]
fn the_right_table_passes_the_checks_on_every_core() {
    for f in coroner_fixtures::all() {
        let label = f.label();
        let image = open(&f, true);
        // The core's own release's table (or, untabled, its major's nearest one), chosen by
        // hand, so that the checks run even where the build id would have matched.
        let own = Layout::load(&image).unwrap_or_else(|e| panic!("{label}: {e}"));
        let release = own
            .source
            .table
            .trim_start_matches("node-")
            .trim_end_matches(".toml");
        let layout = Layout::load_with_table(&image, release).expect("own table");
        assert!(layout.source.needs_check());
        let heap =
            Heap::with_layout(image.memory(), layout).unwrap_or_else(|e| panic!("{label}: {e}"));
        // A borrowed table may be corrected only where a release moved the isolate's heap.
        for m in heap.layout().measured() {
            assert_eq!(m.fact, "isolate.heap", "{label}: {m:?}");
            assert!(!tabled(&f.version), "{label}: {m:?} on a tabled release");
        }
    }
}

#[test]
fn an_unknown_release_is_named_with_the_supported_ones() {
    let f = objects_fixtures().into_iter().next().expect("a fixture");
    let image = open(&f, true);
    let e = Layout::load_with_table(&image, "21.7.3").expect_err("no table of 21.7.3");
    let message = e.to_string();
    assert!(message.contains("21.7.3"), "{message}");
    assert!(
        message.contains("20.20.2") && message.contains("22.23.3"),
        "{message}"
    );
}
