//! The process image of every fixture core, checked against what the scenario recorded about
//! itself just before it dumped.

use coroner_fixtures::Kind;
use coroner_image::{ModuleStatus, OpenOptions, ProcessImage, VersionSource};

fn open(f: &coroner_fixtures::Fixture) -> ProcessImage {
    let options = OpenOptions {
        exe: Some(f.exe.clone()),
        ..OpenOptions::default()
    };
    ProcessImage::open(&f.core, &options).unwrap_or_else(|e| panic!("{}: {e}", f.core.display()))
}

#[test]
fn threads_pid_and_registers() {
    for f in coroner_fixtures::all() {
        let image = open(&f);
        let what = format!("{} {} {:?}", f.version, f.scenario, f.kind);
        let core = image.core();
        assert_eq!(
            core.threads().len() as u64,
            f.expect.raw["threads"].as_u64().unwrap_or(0),
            "{what}: threads"
        );
        assert_eq!(
            core.process().map(|p| u64::from(p.pid)),
            f.expect.raw["pid"].as_u64(),
            "{what}: pid"
        );
        // rbp is not checked: the gcore'd main thread sits in libc's epoll_pwait, which uses rbp
        // as a general register.
        // The main thread is the first NT_PRSTATUS in both kinds of core; its tid is the pid.
        let main = &core.threads()[0];
        assert_eq!(
            Some(main.tid),
            core.process().map(|p| p.pid),
            "{what}: main tid"
        );
        let mem = image.memory();
        let regs = &main.regs;
        assert!(
            mem.is_readable(regs.rsp),
            "{what}: rsp {:#x} unreadable",
            regs.rsp
        );
        assert!(
            mem.is_readable(regs.rip),
            "{what}: rip {:#x} unreadable",
            regs.rip
        );
        assert!(mem.read_u64(regs.rsp).is_ok(), "{what}: stack top");
        // The thread-pointer points at the thread's TCB, whose first word is itself (x86-64 TLS).
        assert_eq!(
            mem.read_u64(regs.fs_base).ok(),
            Some(regs.fs_base),
            "{what}: fs_base"
        );
    }
}

#[test]
fn executable_matches_and_fills_text() {
    for f in coroner_fixtures::all() {
        let image = open(&f);
        let what = format!("{} {} {:?}", f.version, f.scenario, f.kind);
        let exe = image.executable().expect("executable identified");
        assert_eq!(exe.status, ModuleStatus::Matched, "{what}");
        // node::Start is in .text, which neither kind of core keeps; it must read back as the
        // file's bytes.
        let file = exe.file.as_ref().expect("file");
        let sym = file
            .symbols()
            .by_name("_ZN4node5StartEiPPc")
            .expect("node::Start(int, char**)");
        let want = file.read_static(sym.address, 16).expect("static bytes");
        let mut got = [0u8; 16];
        image
            .memory()
            .read(sym.address + exe.bias(), &mut got)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(&got[..], &want[..], "{what}");
        assert_eq!(
            image.versions().node.as_deref(),
            f.expect.raw["node_version"].as_str(),
            "{what}"
        );
    }
}

#[test]
fn kernel_cores_lack_the_text_that_the_image_fills() {
    // The bare kernel core has no bytes for node's text: the image's bytes above come from the
    // executable, and reading the core alone is an error that names the address.
    for f in coroner_fixtures::all()
        .into_iter()
        .filter(|f| f.kind == Kind::Abort)
    {
        let image = open(&f);
        let sym = image
            .exe_runtime_address("_ZN4node5StartEiPPc")
            .expect("node::Start");
        let bare = coroner_corefile::CoreFile::open(&f.core).expect("core opens");
        let err = bare
            .memory()
            .read_u64(sym)
            .expect_err("text is not in a kernel core");
        assert_eq!(err.addr(), sym);
        assert!(image.memory().read_u64(sym).is_ok());
    }
}

/// Opened alone (no file at all), the core still says which Node and V8 made it: the
/// versions are found as strings in its writable memory, and the executable's build id is the
/// one the core keeps in the executable's first page.
#[test]
fn the_core_alone_names_its_versions_and_build() {
    for f in coroner_fixtures::all() {
        let what = f.label();
        let with = open(&f);
        let options = OpenOptions {
            core_only: true,
            ..OpenOptions::default()
        };
        let alone = ProcessImage::open(&f.core, &options).expect("core alone");
        assert!(alone.modules().iter().all(|m| m.file.is_none()), "{what}");
        let exe = alone.executable().expect("executable identified");
        assert_eq!(exe.status, ModuleStatus::NotOpened, "{what}");
        assert_eq!(
            exe.core_build_id.as_deref(),
            with.exe_file().and_then(|e| e.build_id()),
            "{what}: build id"
        );
        let v = alone.versions();
        assert_eq!(v.node_source, Some(VersionSource::CoreMemory), "{what}");
        assert_eq!(
            v.node.as_deref(),
            f.expect.raw["node_version"].as_str(),
            "{what}"
        );
        assert_eq!(
            v.v8.as_deref(),
            f.expect.raw["v8_version"].as_str(),
            "{what}"
        );
    }
}
