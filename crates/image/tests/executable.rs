//! Finding the executable through the core's own NT_FILE paths: matched, missing, or a different
//! build. The cores are tiny synthetic ones whose executable mapping holds the real first page of
//! an official node binary (where its build id note lives), so the build-id check is real.

use std::path::Path;

use coroner_corefile::testing::CoreBuilder;
use coroner_corefile::{MappedFile, Perms};
use coroner_image::{ModuleStatus, OpenOptions, ProcessImage};

const BASE: u64 = 0x40_0000;
const AT_ENTRY: u64 = 9;

/// A core of a process whose executable, named `path`, was mapped at `BASE` with the first page
/// of `header_of` as its header page.
fn core_naming(dir: &Path, path: &str, header_of: &Path) -> std::path::PathBuf {
    let bytes = std::fs::read(header_of).expect("read node binary");
    let page = &bytes[..4096];
    let core = CoreBuilder::new()
        .segment(BASE, Perms::R, page, 0x10_0000)
        .thread(1234, Default::default())
        .file(MappedFile {
            start: BASE,
            end: BASE + 0x10_0000,
            file_offset: 0,
            path: path.to_string(),
        })
        .auxv(AT_ENTRY, BASE + 0x100)
        .build();
    let p = dir.join(format!("core-{}", path.len()));
    std::fs::write(&p, core).expect("write core");
    p
}

fn two_versions() -> (std::path::PathBuf, std::path::PathBuf) {
    let all = coroner_fixtures::all();
    let a = all[0].exe.clone();
    let b = all
        .iter()
        .find(|f| f.exe != a)
        .expect("fixtures of two Node versions")
        .exe
        .clone();
    (a, b)
}

#[test]
fn matched_missing_and_mismatched_executables() {
    let (exe, other) = two_versions();
    let dir = tempfile::tempdir().expect("tempdir");

    let core = core_naming(dir.path(), exe.to_str().expect("utf-8"), &exe);
    let image = ProcessImage::open(&core, &OpenOptions::default()).expect("opens");
    assert_eq!(
        image.executable().map(|m| &m.status),
        Some(&ModuleStatus::Matched)
    );
    assert!(image.warnings().is_empty(), "{:?}", image.warnings());

    let core = core_naming(dir.path(), "/nonexistent/bin/node", &exe);
    let image = ProcessImage::open(&core, &OpenOptions::default()).expect("opens");
    assert_eq!(
        image.executable().map(|m| &m.status),
        Some(&ModuleStatus::Missing)
    );
    assert!(image.exe_file().is_none());
    assert_eq!(image.warnings().len(), 1);
    assert!(image.warnings()[0].contains("is not on this machine"));
    assert!(image.warnings()[0].contains("pass it with --exe"));

    let core = core_naming(dir.path(), other.to_str().expect("utf-8"), &exe);
    let image = ProcessImage::open(&core, &OpenOptions::default()).expect("opens");
    assert!(matches!(
        image.executable().map(|m| &m.status),
        Some(ModuleStatus::Mismatch { .. })
    ));
    assert!(image.exe_file().is_none(), "a different build is not used");
    assert!(
        image.warnings()[0].contains("different build"),
        "{:?}",
        image.warnings()
    );

    // --exe with the right file repairs the missing case.
    let core = core_naming(dir.path(), "/nonexistent/bin/node", &exe);
    let options = OpenOptions {
        exe: Some(exe.clone()),
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(&core, &options).expect("opens");
    assert_eq!(
        image.executable().map(|m| &m.status),
        Some(&ModuleStatus::Matched)
    );
    assert_eq!(image.exe_file().map(|f| f.path()), Some(exe.as_path()));
}
