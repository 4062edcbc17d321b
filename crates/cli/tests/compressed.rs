//! Cores as users have them: compressed by systemd-coredump (zstd by default, lz4 or xz as
//! configured, under systemd's own file name) or copied as `.gz`. Each opens directly, with the
//! same answers as the uncompressed core; one cut short opens as a truncated core does, with a
//! warning; garbage with a compressor's magic is one line and exit 2.
//!
//! The compressors are the real tools (`zstd`, `lz4`, `xz`, `gzip`; `.ci/run` installs them).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;
use support::{assert_unusable, on_core};

/// The commands compared: what the core holds, the census, every thread's stack.
const COMMANDS: [&str; 3] = ["info", "findjsobjects --no-retained -n 50", "bt"];

/// `fixture`'s core compressed by `tool` (with `args`) into `dir/name`.
fn compress(fixture: &Fixture, tool: &str, args: &[&str], dir: &Path, name: &str) -> PathBuf {
    let out = dir.join(name);
    let file = std::fs::File::create(&out).expect("create the compressed core");
    let status = Command::new(tool)
        .args(args)
        .arg("-c")
        .arg(&fixture.core)
        .stdout(file)
        .status()
        .unwrap_or_else(|e| panic!("{tool} did not run ({e}): install it (.ci/run does)"));
    assert!(status.success(), "{tool} failed on {}", fixture.label());
    out
}

/// The commands' JSON on `core`, with the core's own path left out.
fn answers(core: &Path, exe: &Path) -> (Vec<Value>, String) {
    let run = on_core(core, exe, &COMMANDS, true);
    assert_eq!(run.code, 0, "{}: {}", core.display(), run.stderr);
    let mut docs = run.json_lines();
    if let Some(info) = docs.first_mut().and_then(Value::as_object_mut) {
        info.remove("core");
        info.remove("compression");
    }
    (docs, run.stderr)
}

fn aborts() -> Vec<Fixture> {
    let found = coroner_fixtures::find("objects", Kind::Abort);
    assert!(!found.is_empty(), "no abort `objects` fixture");
    found
}

#[test]
fn systemd_coredumps_zstd_cores_open_on_every_version_as_the_core_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    for fixture in aborts() {
        let what = fixture.label();
        // systemd-coredump's name: core.COMM.UID.BOOT_ID.PID.USEC.zst
        let name = format!(
            "core.node.0.8d1c2f0e5b7a4c9e9f3a6b2d1e0c4f5a.{}.1764990000000000.zst",
            fixture.expect.pid
        );
        let zst = compress(&fixture, "zstd", &["-q", "-1"], dir.path(), &name);
        let (theirs, warnings) = answers(&zst, &fixture.exe);
        let (ours, _) = answers(&fixture.core, &fixture.exe);
        assert_eq!(theirs, ours, "{what}");
        assert!(!warnings.contains("compressed"), "{what}: {warnings}");
        let run = on_core(&zst, &fixture.exe, &["info"], true);
        assert_eq!(
            run.json_lines()[0]["compression"],
            "zstd",
            "{what}: info names the compression"
        );
        std::fs::remove_file(&zst).expect("remove");
    }
}

#[test]
fn lz4_xz_and_gzip_cores_open_as_the_core_does() {
    let fixture = aborts().remove(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let (ours, _) = answers(&fixture.core, &fixture.exe);
    for (tool, args, name) in [
        ("lz4", &["-q", "-1"][..], "core.lz4"),
        ("xz", &["-q", "-0", "-T1"][..], "core.xz"),
        ("gzip", &["-q", "-1"][..], "core.gz"),
    ] {
        let compressed = compress(&fixture, tool, args, dir.path(), name);
        let (theirs, _) = answers(&compressed, &fixture.exe);
        assert_eq!(theirs, ours, "{}: {tool}", fixture.label());
    }
}

#[test]
fn a_compressed_core_cut_short_opens_as_a_truncated_core() {
    let fixture = aborts().remove(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let zst = compress(&fixture, "zstd", &["-q", "-1"], dir.path(), "core.zst");
    let bytes = std::fs::read(&zst).expect("read");
    let cut = dir.path().join("cut.zst");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).expect("write");
    let run = on_core(&cut, &fixture.exe, &["info"], true);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the compressed core ends early or is corrupt (zstd: ")
            && run.stderr.contains("core file is truncated"),
        "{}",
        run.stderr
    );
    // Garbage after a compressor's magic, and a stream that ends before any output.
    let garbage = dir.path().join("garbage.zst");
    std::fs::write(&garbage, b"\x28\xb5\x2f\xfd not a zstd frame").expect("write");
    let tiny = dir.path().join("tiny.zst");
    std::fs::write(&tiny, &bytes[..64]).expect("write");
    for bad in [garbage, tiny] {
        let args = [bad.as_os_str(), "-c".as_ref(), "info".as_ref()];
        assert_unusable(
            &support::coroner(args),
            "is zstd-compressed, and decompressing it failed",
        );
    }
}
