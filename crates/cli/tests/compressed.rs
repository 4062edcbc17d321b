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

/// Standard base64 with padding, as apport writes each chunk.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An apport crash report (Ubuntu's `/var/crash/_usr_bin_node.0.crash`) holding `fixture`'s
/// core as apport writes it: text fields, then `CoreDump: base64` and the gzip-compressed core
/// as indented lines, each chunk base64-encoded on its own, then more fields.
fn apport_report(fixture: &Fixture, dir: &Path) -> PathBuf {
    let gz = compress(fixture, "gzip", &["-q", "-1"], dir, "core.gz");
    let compressed = std::fs::read(&gz).expect("read the gzip core");
    let mut report = format!(
        "ProblemType: Crash\nArchitecture: amd64\nDate: Sun Dec  6 08:00:00 2026\nExecutablePath: {}\nProcCmdline: node app.js\nSignal: 6\nCoreDump: base64\n",
        fixture.exe.display()
    );
    for chunk in compressed.chunks(64 << 10) {
        report.push(' ');
        report.push_str(&base64(chunk));
        report.push('\n');
    }
    report.push_str("ProcMaps:\n 00400000-00401000 r-xp 00000000 08:01 1 /usr/bin/node\n");
    let path = dir.join("_usr_bin_node.0.crash");
    std::fs::write(&path, report).expect("write the report");
    path
}

#[test]
fn an_apport_crash_report_opens_as_its_core_does() {
    let fixture = aborts().remove(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let report = apport_report(&fixture, dir.path());
    let (theirs, _) = answers(&report, &fixture.exe);
    let (ours, _) = answers(&fixture.core, &fixture.exe);
    assert_eq!(theirs, ours, "{}", fixture.label());
    let run = on_core(&report, &fixture.exe, &["info"], true);
    assert_eq!(run.json_lines()[0]["compression"], "apport report");

    // Where apport keeps it: `coroner cores` lists it, `--latest` opens it.
    let cwd = tempfile::tempdir().expect("tempdir");
    let in_store = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
            .args(args)
            .current_dir(cwd.path())
            .env("CORONER_CACHE_DIR", "")
            .env(
                "CORONER_CORE_PATTERN",
                "|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E",
            )
            .env("CORONER_CRASH_DIR", dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run coroner");
        support::Run::from(out)
    };
    let listed = in_store(&["cores", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let cores = &listed.json_lines()[0];
    assert_eq!(cores[0]["store"], "apport", "{cores}");
    assert_eq!(cores[0]["process"], "node", "{cores}");
    let latest = in_store(&["--latest", "--json", "-c", "info"]);
    assert_eq!(latest.code, 0, "{}", latest.stderr);
    assert_eq!(latest.json_lines()[0]["pid"], ours[0]["pid"]);

    // A report apport wrote without the core (it keeps none for crashes it does not report).
    let bare = dir.path().join("bare.crash");
    std::fs::write(&bare, "ProblemType: Crash\nDate: now\nSignal: 6\n").expect("write");
    let args = [bare.as_os_str(), "-c".as_ref(), "info".as_ref()];
    assert_unusable(&support::coroner(args), "no CoreDump field");
}

/// `info`'s JSON on `core` with the cache of decompressed cores in `cache`.
fn info_with_cache(core: &Path, exe: &Path, cache: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_coroner"))
        .arg(core)
        .arg("--exe")
        .arg(exe)
        .args([
            "--json",
            "-c",
            "info",
            "-c",
            "findjsobjects --no-retained -n 50",
        ])
        .env("CORONER_CACHE_DIR", cache)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run coroner");
    let run = support::Run::from(out);
    assert_eq!(run.code, 0, "{}: {}", core.display(), run.stderr);
    Value::Array(run.json_lines())
}

/// The entries of the cache directory (its kept cores).
fn kept(cache: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(cache)
        .expect("the cache directory")
        .map(|e| e.expect("an entry").path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_decompressed_core_is_kept_for_next_time_and_old_ones_go() {
    use std::os::unix::fs::MetadataExt;
    let fixture = aborts().remove(0);
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let zst = compress(&fixture, "zstd", &["-q", "-1"], dir.path(), "core.zst");

    let first = info_with_cache(&zst, &fixture.exe, &cache);
    let copy = first[0]["decompressed_copy"]
        .as_str()
        .unwrap_or_else(|| panic!("no copy kept: {}", first[0]))
        .to_string();
    assert_eq!(kept(&cache), vec![PathBuf::from(&copy)]);
    let inode = std::fs::metadata(&copy).expect("the copy").ino();
    let mode = std::fs::metadata(&cache).expect("the cache").mode() & 0o777;
    assert_eq!(mode, 0o700, "the cache is its user's alone");

    // Opened again: the same copy, not decompressed anew, and the same answers.
    let again = info_with_cache(&zst, &fixture.exe, &cache);
    assert_eq!(again, first);
    assert_eq!(std::fs::metadata(&copy).expect("the copy").ino(), inode);
    let (plain, _) = answers(&fixture.core, &fixture.exe);
    assert_eq!(again[1], plain[1], "the census of the kept copy");

    // The compressed file rewritten: a new copy. More cores than the cache keeps: the least
    // recently used go.
    std::fs::copy(&zst, dir.path().join("tmp.zst")).expect("copy");
    std::fs::rename(dir.path().join("tmp.zst"), &zst).expect("replace");
    let rewritten = info_with_cache(&zst, &fixture.exe, &cache);
    assert_ne!(
        rewritten[0]["decompressed_copy"],
        first[0]["decompressed_copy"]
    );
    for i in 0..coroner_image::MAX_CACHED_CORES {
        let other = dir.path().join(format!("other-{i}.zst"));
        std::fs::copy(&zst, &other).expect("copy");
        info_with_cache(&other, &fixture.exe, &cache);
    }
    let now = kept(&cache);
    assert_eq!(now.len(), coroner_image::MAX_CACHED_CORES, "{now:?}");
    assert!(!now.contains(&PathBuf::from(&copy)), "the oldest copy went");
}
