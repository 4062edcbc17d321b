//! Finding shared libraries that are not at the path the core names (a core copied to another
//! machine): under `--sysroot`, or by file name in a `--lib-path` directory, accepted only when
//! the build id matches the core's; otherwise one warning per library. Also the separate debug
//! file found by build id. The cores are tiny synthetic ones whose library mapping holds the
//! real first page of this machine's libc (where its build id note lives).

use std::path::{Path, PathBuf};

use coroner_corefile::testing::CoreBuilder;
use coroner_corefile::{MappedFile, Perms};
use coroner_image::{ModuleStatus, OpenOptions, ProcessImage};

const EXE_BASE: u64 = 0x40_0000;
const LIB_BASE: u64 = 0x7f00_0000_0000;
const AT_ENTRY: u64 = 9;
/// Where the synthetic cores say the library was.
const LIB_PATH: &str = "/nonexistent/lib/libc.so.6";

/// This machine's libc as the fixture cores found it, and another library (not libc).
fn real_libraries() -> (PathBuf, PathBuf) {
    let f = &coroner_fixtures::all()[0];
    let image = ProcessImage::open(&f.core, &OpenOptions::with_exe(f.exe.clone())).expect("opens");
    let path_of = |name: &str| {
        image
            .modules()
            .iter()
            .find(|m| m.short_name() == name && m.status == ModuleStatus::Matched)
            .and_then(|m| m.file.as_ref())
            .map(|f| f.path().to_path_buf())
            .unwrap_or_else(|| panic!("{}: no matched {name}", f.label()))
    };
    (path_of("libc.so.6"), path_of("libm.so.6"))
}

/// A core of a process that mapped node and, at `LIB_PATH`, a library whose first page is
/// `header_of`'s.
fn core_with_library(dir: &Path, header_of: &Path) -> PathBuf {
    let exe = coroner_fixtures::all()[0].exe.clone();
    let exe_page = std::fs::read(&exe).expect("read node")[..4096].to_vec();
    let lib_page = std::fs::read(header_of).expect("read library")[..4096].to_vec();
    let core = CoreBuilder::new()
        .segment(EXE_BASE, Perms::R, &exe_page, 0x1000)
        .segment(LIB_BASE, Perms::R, &lib_page, 0x1000)
        .thread(1234, Default::default())
        .file(MappedFile {
            start: EXE_BASE,
            end: EXE_BASE + 0x1000,
            file_offset: 0,
            path: exe.display().to_string(),
        })
        .file(MappedFile {
            start: LIB_BASE,
            end: LIB_BASE + 0x1000,
            file_offset: 0,
            path: LIB_PATH.to_string(),
        })
        .auxv(AT_ENTRY, EXE_BASE + 0x100)
        .build();
    let path = dir.join("core");
    std::fs::write(&path, core).expect("write core");
    path
}

fn library(image: &ProcessImage) -> &coroner_image::Module {
    image
        .modules()
        .iter()
        .find(|m| m.path == LIB_PATH)
        .expect("the library module")
}

#[test]
fn a_missing_library_is_warned_about_once() {
    let (libc, _) = real_libraries();
    let dir = tempfile::tempdir().expect("tempdir");
    let core = core_with_library(dir.path(), &libc);
    let image = ProcessImage::open(&core, &OpenOptions::default()).expect("opens");
    assert_eq!(library(&image).status, ModuleStatus::Missing);
    let about: Vec<_> = image
        .warnings()
        .iter()
        .filter(|w| w.contains(LIB_PATH))
        .collect();
    assert_eq!(about.len(), 1, "{:?}", image.warnings());
    assert!(about[0].contains("is not on this machine"), "{}", about[0]);
    assert!(about[0].contains("--sysroot"), "{}", about[0]);
}

#[test]
fn a_library_is_found_in_a_lib_path_by_file_name() {
    let (libc, _) = real_libraries();
    let dir = tempfile::tempdir().expect("tempdir");
    let core = core_with_library(dir.path(), &libc);
    let options = OpenOptions {
        lib_paths: vec![
            dir.path().join("empty"),
            libc.parent().expect("a directory").to_path_buf(),
        ],
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(&core, &options).expect("opens");
    let lib = library(&image);
    assert_eq!(lib.status, ModuleStatus::Matched);
    assert_eq!(lib.file.as_ref().map(|f| f.path()), Some(libc.as_path()));
    assert!(
        !image.warnings().iter().any(|w| w.contains(LIB_PATH)),
        "{:?}",
        image.warnings()
    );
}

#[test]
fn a_library_is_found_under_the_sysroot() {
    let (libc, _) = real_libraries();
    let dir = tempfile::tempdir().expect("tempdir");
    let core = core_with_library(dir.path(), &libc);
    let root = dir.path().join("sysroot");
    let copy = root.join(LIB_PATH.trim_start_matches('/'));
    std::fs::create_dir_all(copy.parent().expect("parent")).expect("mkdir");
    std::fs::copy(&libc, &copy).expect("copy libc");
    let options = OpenOptions {
        sysroot: Some(root),
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(&core, &options).expect("opens");
    let lib = library(&image);
    assert_eq!(lib.status, ModuleStatus::Matched);
    assert_eq!(lib.file.as_ref().map(|f| f.path()), Some(copy.as_path()));
}

#[test]
fn a_library_of_another_build_is_not_taken() {
    let (libc, libm) = real_libraries();
    let dir = tempfile::tempdir().expect("tempdir");
    let core = core_with_library(dir.path(), &libc);
    // A file with the right name but another build id.
    let impostor = dir.path().join("impostor");
    std::fs::create_dir_all(&impostor).expect("mkdir");
    std::fs::copy(&libm, impostor.join("libc.so.6")).expect("copy");
    let options = OpenOptions {
        lib_paths: vec![impostor],
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(&core, &options).expect("opens");
    let lib = library(&image);
    assert_eq!(lib.status, ModuleStatus::Missing);
    assert!(lib.file.is_none());
    let about: Vec<_> = image
        .warnings()
        .iter()
        .filter(|w| w.contains(LIB_PATH))
        .collect();
    assert_eq!(about.len(), 1, "{:?}", image.warnings());
    assert!(
        about[0].contains("nor under --sysroot / --lib-path"),
        "{}",
        about[0]
    );
}

/// When this machine has libc's separate debug file (Debian's libc6-dbg), the image attaches
/// it, and its full symbol table names libc's static functions.
#[test]
fn the_separate_debug_file_is_attached_by_build_id() {
    let f = &coroner_fixtures::all()[0];
    let image = ProcessImage::open(&f.core, &OpenOptions::with_exe(f.exe.clone())).expect("opens");
    let libc = image
        .modules()
        .iter()
        .find(|m| m.short_name() == "libc.so.6")
        .expect("libc");
    let id = coroner_image::hex(libc.core_build_id.as_deref().expect("build id"));
    let debug = PathBuf::from(format!(
        "/usr/lib/debug/.build-id/{}/{}.debug",
        &id[..2],
        &id[2..]
    ));
    if !debug.is_file() {
        println!("no {} on this machine: nothing to check", debug.display());
        assert!(libc.debug_file.is_none());
        return;
    }
    let file = libc
        .debug_file
        .as_ref()
        .expect("the debug file is attached");
    assert_eq!(file.path(), debug.as_path());
    // A static function only the debug file's .symtab has.
    let sym = file
        .symbols()
        .by_name("__pthread_kill_implementation")
        .expect("a static function");
    let (found, off) = libc.function_at(sym.address + 4).expect("named");
    assert_eq!(
        (found.name.as_str(), off),
        ("__pthread_kill_implementation", 4)
    );
}
