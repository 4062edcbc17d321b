//! Bad input gets one clear line on stderr and exit status 2, never a panic.
//!
//! The corrupt cores here are real fixture cores, cut or scribbled on; the core reader's own
//! tests cover every cut point on small synthetic cores.

mod support;

use std::path::{Path, PathBuf};

use coroner_fixtures::{Fixture, Kind};
use support::{assert_unusable, core_offset, coroner};

fn abort_fixture() -> Fixture {
    coroner_fixtures::all()
        .into_iter()
        .find(|f| f.kind == Kind::Abort)
        .expect("an abort fixture")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}

fn open_and_info(core: &Path, extra: &[&str]) -> support::Run {
    let mut args: Vec<&std::ffi::OsStr> = vec![core.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend([std::ffi::OsStr::new("-c"), std::ffi::OsStr::new("info")]);
    coroner(args)
}

#[test]
fn a_missing_file() {
    let run = open_and_info(Path::new("/nonexistent/core.123"), &[]);
    assert_unusable(&run, "no such file");
}

#[test]
fn a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = open_and_info(dir.path(), &[]);
    assert_unusable(&run, "directory");
}

#[test]
fn not_an_elf_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "notes.txt", b"this is not a core dump\n");
    assert_unusable(&open_and_info(&p, &[]), "not an ELF file");
    let empty = write(dir.path(), "empty", b"");
    assert_unusable(&open_and_info(&empty, &[]), "empty");
}

#[test]
fn an_elf_that_is_not_a_core() {
    let f = abort_fixture();
    let run = open_and_info(&f.exe, &[]);
    assert_unusable(&run, "not a core dump");
}

#[test]
fn truncated_cores() {
    let f = abort_fixture();
    let bytes = std::fs::read(&f.core).expect("read core");
    let dir = tempfile::tempdir().expect("tempdir");
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().expect("8 bytes")) as usize;
    // Inside the ELF header and inside the program headers: nothing to go on.
    for cut in [3, 40, phoff + 100] {
        let p = write(dir.path(), "cut", &bytes[..cut]);
        let run = open_and_info(&p, &[]);
        let needle = if cut < 4 {
            "not an ELF file"
        } else {
            "truncated"
        };
        assert_unusable(&run, needle);
    }
    // Inside the memory (a copy cut short): it opens, says so, and what the cut kept is read.
    for cut in [bytes.len() / 2, bytes.len() - 1] {
        let p = write(dir.path(), "cut", &bytes[..cut]);
        let exe = f.exe.to_str().expect("utf-8");
        let run = open_and_info(&p, &["--exe", exe]);
        assert_eq!(run.code, 0, "cut at {cut}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "core file is truncated: its headers describe {} bytes but the file has {cut}",
                bytes.len()
            )),
            "{}",
            run.stderr
        );
        let pid = f.expect.raw["pid"].to_string();
        assert!(run.stdout.contains(&format!("pid {pid}")), "{}", run.stdout);
    }
}

#[test]
fn garbage_in_the_notes() {
    let f = abort_fixture();
    let mut bytes = std::fs::read(&f.core).expect("read core");
    // Find PT_NOTE and scribble over its first note header.
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().expect("8")) as usize;
    let phnum = u16::from_le_bytes([bytes[0x38], bytes[0x39]]) as usize;
    let note = (0..phnum)
        .map(|i| phoff + i * 56)
        .find(|&ph| u32::from_le_bytes(bytes[ph..ph + 4].try_into().expect("4")) == 4)
        .expect("a PT_NOTE");
    let off = u64::from_le_bytes(bytes[note + 8..note + 16].try_into().expect("8")) as usize;
    bytes[off..off + 12].copy_from_slice(&[0xff; 12]);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "garbled", &bytes);
    assert_unusable(&open_and_info(&p, &[]), "note");
}

#[test]
fn an_executable_that_does_not_match() {
    let all = coroner_fixtures::all();
    let f = abort_fixture();
    let other = all
        .iter()
        .find(|g| g.version != f.version)
        .expect("fixtures of two Node versions");
    let exe = other.exe.to_str().expect("utf-8 path");
    let run = open_and_info(&f.core, &["--exe", exe]);
    assert_unusable(&run, "does not match the core");
}

#[test]
fn an_executable_that_is_not_elf() {
    let f = abort_fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "node", b"#!/bin/sh\n");
    let run = open_and_info(&f.core, &["--exe", p.to_str().expect("utf-8")]);
    assert_unusable(&run, "not an ELF");
}

#[test]
fn a_failing_command_exits_1_and_later_commands_still_run() {
    let f = abort_fixture();
    let exe = f.exe.to_str().expect("utf-8");
    let core = f.core.to_str().expect("utf-8");
    let run = coroner([core, "--exe", exe, "-c", "no-such-command", "-c", "info"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("no-such-command"), "{}", run.stderr);
    assert!(
        run.stdout.contains("process:"),
        "info still ran: {}",
        run.stdout
    );
}

/// Replaces every occurrence of `from` in `bytes` with `to` (same length).
fn scrub(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + i..at + i + to.len()].copy_from_slice(to);
        at += i + from.len();
        n += 1;
    }
    n
}

/// A real core read alone after its build id and version strings were scribbled over: coroner
/// cannot tell which build made it, and says so, with the remedy; with a version string naming
/// a major it has no layout for, it names that version and the supported ones. The core itself
/// stays readable (`info` works, exit 0); the heap commands fail with one line each (exit 1).
#[test]
fn a_build_coroner_cannot_identify_or_does_not_know() {
    let f = coroner_fixtures::find("objects", Kind::Abort)
        .into_iter()
        .find(|f| f.version.starts_with("20."))
        .expect("a Node 20 objects core");
    let info = support::on_core(&f.core, &f.exe, &["info"], true);
    let id = info.json_lines()[0]["executable"]["build_id"]
        .as_str()
        .expect("build id")
        .to_string();
    let id: Vec<u8> = (0..id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&id[i..i + 2], 16).expect("hex"))
        .collect();
    let mut bytes = std::fs::read(&f.core).expect("read core");
    assert!(scrub(&mut bytes, &id, &vec![0; id.len()]) >= 1, "build id");
    assert!(scrub(&mut bytes, b"-node.", b"-nodX.") >= 1, "V8 version");
    let release = format!("/download/release/v{}/", f.version);
    let other = release.replacen("v20.", "v21.", 1);
    assert!(scrub(&mut bytes, release.as_bytes(), other.as_bytes()) >= 1);

    let dir = tempfile::tempdir().expect("temp dir");
    let core = write(dir.path(), "core", &bytes);
    let run = support::core_only(&core, &["findjsobjects"], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = run.stderr.lines().last().unwrap_or("");
    assert!(line.contains("Node v21."), "{line}");
    assert!(line.contains("is not supported"), "{line}");
    assert!(
        line.contains("20.20.2") && line.contains("26.10.0"),
        "{line}"
    );

    // And with no version string at all.
    scrub(
        &mut bytes,
        other.as_bytes(),
        release.replace("/v", "/x").as_bytes(),
    );
    let core = write(dir.path(), "core2", &bytes);
    let run = support::core_only(&core, &["info", "findjsobjects"], false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
    assert!(run.stdout.contains("layout:"), "{}", run.stdout);
    let line = run.stderr.lines().last().unwrap_or("");
    assert!(line.contains("cannot tell which Node build"), "{line}");
    assert!(line.contains("--exe"), "{line}");
    assert!(line.contains("--node-version"), "{line}");

    // Naming the release reads it, after the checks, as the intact core reads.
    let named = coroner([
        core.as_os_str(),
        "--core-only".as_ref(),
        "--node-version".as_ref(),
        f.version.as_ref(),
        "--json".as_ref(),
        "-c".as_ref(),
        "findjsobjects".as_ref(),
    ]);
    assert_eq!(named.code, 0, "{}", named.stderr);
    let intact = support::core_only(&f.core, &["findjsobjects"], true);
    assert_eq!(named.json_lines(), intact.json_lines());
    // The wrong major's table is refused by the checks, in one line.
    let wrong = coroner([
        core.as_os_str(),
        "--core-only".as_ref(),
        "--node-version".as_ref(),
        "18.20.8".as_ref(),
        "-c".as_ref(),
        "findjsobjects".as_ref(),
    ]);
    assert_eq!(wrong.code, 1, "{}", wrong.stderr);
    let line = wrong.stderr.lines().last().unwrap_or("");
    assert!(
        line.contains("node-18.20.8.toml") && line.contains("does not fit"),
        "{line}"
    );
}

/// Runs coroner with `args` and standard input from `stdin`, failing the test if it has not
/// ended within a minute (the defect these tests guard against is a wait for ever).
fn within_a_minute(args: &[&std::ffi::OsStr], stdin: std::process::Stdio) -> support::Run {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args(args)
        .stdin(stdin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run coroner");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("coroner {args:?} still running after a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    support::Run::from(child.wait_with_output().expect("output"))
}

fn fifo(dir: &Path) -> PathBuf {
    let p = dir.join("fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(&p)
        .status()
        .expect("run mkfifo");
    assert!(ok.success(), "mkfifo");
    p
}

#[test]
fn special_files_are_refused_without_waiting_for_them() {
    let f = abort_fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo(dir.path());
    let zero = Path::new("/dev/zero");
    let info = [std::ffi::OsStr::new("-c"), std::ffi::OsStr::new("info")];
    for (path, kind) in [(fifo.as_path(), "a FIFO"), (zero, "a character device")] {
        // As the core.
        let mut args = vec![path.as_os_str()];
        args.extend(info);
        let run = within_a_minute(&args, std::process::Stdio::null());
        assert_unusable(&run, &format!("not a regular file but {kind}"));
        // As the executable: said once, not nested in itself.
        let mut args = vec![
            f.core.as_os_str(),
            std::ffi::OsStr::new("--exe"),
            path.as_os_str(),
        ];
        args.extend(info);
        let run = within_a_minute(&args, std::process::Stdio::null());
        assert_unusable(&run, &format!("not a regular file but {kind}"));
        assert_eq!(
            run.stderr.matches("--exe takes").count(),
            1,
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_core_given_as_the_executable() {
    let f = abort_fixture();
    let core = f.core.to_str().expect("utf-8");
    let run = open_and_info(&f.core, &["--exe", core]);
    assert_unusable(&run, "a core dump, not an executable");
}

#[test]
fn command_input_that_never_ends_a_line_is_refused() {
    let f = abort_fixture();
    let exe = std::ffi::OsStr::new("--exe");
    let script = std::ffi::OsStr::new("--script");
    let base = [f.core.as_os_str(), exe, f.exe.as_os_str()];
    // Standard input and scripts that never end a line, or are not text.
    let zero = std::fs::File::open("/dev/zero").expect("/dev/zero");
    let run = within_a_minute(&base, zero.into());
    assert_unusable(&run, "standard input: a line longer than 64 KiB");
    for device in ["/dev/zero", "/dev/urandom"] {
        let mut args = base.to_vec();
        args.extend([script, std::ffi::OsStr::new(device)]);
        let run = within_a_minute(&args, std::process::Stdio::null());
        assert_unusable(&run, "not a regular file but a character device");
        assert!(run.stderr.contains(device), "{}", run.stderr);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let long = write(dir.path(), "long", &vec![b'a'; 70_000]);
    let binary = write(dir.path(), "binary", &[0xff, 0xfe, b'\n']);
    for (file, needle) in [(&long, "a line longer than 64 KiB"), (&binary, "not UTF-8")] {
        let mut args = base.to_vec();
        args.extend([script, file.as_os_str()]);
        let run = within_a_minute(&args, std::process::Stdio::null());
        assert_unusable(&run, needle);
    }
    // A FIFO nobody writes to is given up on.
    let fifo = fifo(dir.path());
    let mut args = base.to_vec();
    args.extend([script, fifo.as_os_str()]);
    let run = within_a_minute(&args, std::process::Stdio::null());
    assert_unusable(&run, "a FIFO nobody writes to");
}

#[test]
fn damaged_v8_constants_are_blamed_on_the_executable_and_the_table_used() {
    // The core's own build of node (same build id), with three of its v8dbg constants made
    // negative, in the file and in the core's copy of its data: coroner trusts its table of
    // that build, says once why, and reads the heap as with intact files.
    let f = abort_fixture();
    let image = coroner_image::ProcessImage::open(
        &f.core,
        &coroner_image::OpenOptions::with_exe(f.exe.clone()),
    )
    .expect("the fixture opens");
    let elf = image.exe_file().expect("the fixture's node");
    let mut exe = std::fs::read(&f.exe).expect("read node");
    let mut core = std::fs::read(&f.core).expect("read core");
    let mut damaged = 0;
    let minus_one = (-1i32).to_le_bytes();
    for sym in elf.symbols().with_prefix("v8dbg_class_") {
        let Some(seg) = elf
            .segments()
            .iter()
            .find(|s| s.vaddr <= sym.address && sym.address + 4 <= s.vaddr + s.filesz)
        else {
            continue;
        };
        let at = (sym.address - seg.vaddr + seg.offset) as usize;
        exe[at..at + 4].copy_from_slice(&minus_one);
        let runtime = image
            .exe_runtime_address(&sym.name)
            .expect("runtime address");
        if let Some(at) = core_offset(&core, runtime) {
            core[at..at + 4].copy_from_slice(&minus_one);
        }
        damaged += 1;
        if damaged == 3 {
            break;
        }
    }
    assert_eq!(damaged, 3, "three v8dbg constants");
    let dir = tempfile::tempdir().expect("tempdir");
    let node = write(dir.path(), "node", &exe);
    let damaged_core = write(dir.path(), "core", &core);
    let census = |core: &Path, exe: &Path| {
        let run = coroner([
            core.as_os_str(),
            std::ffi::OsStr::new("--exe"),
            exe.as_os_str(),
            std::ffi::OsStr::new("--json"),
            std::ffi::OsStr::new("-c"),
            std::ffi::OsStr::new("findjsobjects --no-retained"),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        (run.json_lines().remove(0), run.stderr)
    };
    let (theirs, warned) = census(&damaged_core, &node);
    let blamed =
        "the executable's V8 constants disagree with coroner's table of its own build in 3 places";
    assert_eq!(warned.matches(blamed).count(), 1, "{warned}");
    assert!(!warned.contains("fix crates/v8/layouts"), "{warned}");
    let (intact, _) = census(&f.core, &f.exe);
    assert_eq!(theirs, intact);
}

#[test]
fn a_core_cut_short_while_coroner_reads_it_is_one_line_and_status_2() {
    // A copy of a core, opened; `info` runs (the core is mapped and read); then another
    // process cuts the file short, and the next command reads pages that are gone.
    use std::io::{BufRead, Write};
    let f = abort_fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let core = dir.path().join("core");
    std::fs::copy(&f.core, &core).expect("copy the core");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args([core.as_os_str(), "--exe".as_ref(), f.exe.as_os_str()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run coroner");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "info").expect("write a command");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    // Bounded by info's output: its heap line comes once the heap was walked.
    let walked = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.starts_with("heap pages:"));
    assert!(walked, "info did not report the heap");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&core)
        .and_then(|file| file.set_len(64 << 10))
        .expect("cut the core short");
    writeln!(stdin, "findjsobjects").expect("write a command");
    drop(stdin);
    drop(lines);
    let out = child.wait_with_output().expect("coroner ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a file being read changed under coroner") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_and_huge_arguments_are_one_short_line() {
    let f = abort_fixture();
    let huge = "b".repeat(100_000);
    let command = format!("findjsinstances {huge}");
    let exe = f.exe.as_os_str();
    let core = f.core.as_os_str();
    let cases: [(Vec<&std::ffi::OsStr>, &str); 5] = [
        (
            vec![core, "--exe".as_ref()],
            "a value is required for '--exe",
        ),
        (
            vec![core, "--bogus".as_ref()],
            "unexpected argument '--bogus'",
        ),
        (vec![huge.as_ref()], "bytes cut"),
        (vec![core, "--exe".as_ref(), huge.as_ref()], "bytes cut"),
        (
            vec![core, "--exe".as_ref(), exe, "-c".as_ref(), command.as_ref()],
            "bytes cut",
        ),
    ];
    for (args, needle) in cases {
        let run = coroner(&args);
        assert_ne!(run.code, 0, "{needle}");
        assert_eq!(run.stderr.lines().count(), 1, "{needle}: {}", run.stderr);
        assert!(
            run.stderr.len() < 2100,
            "{needle}: {} bytes",
            run.stderr.len()
        );
        assert!(run.stderr.contains(needle), "{}", run.stderr);
    }
}
