//! Seeded fuzzing over real fixture cores, run as a plain test: each target mutates one part of
//! a real core (its ELF and program headers, its notes, V8's heap pages, the threads' stacks,
//! the v8dbg constants in the executable's data) a few words at a time, and runs the whole
//! pipeline in process on the result (open, heap, census, stacks, inspect, references,
//! retainers), catching any panic. A panic fails the test with the seed, target and mutations
//! that reproduce it; each one found becomes a regression test on that input.
//!
//! `CORONER_FUZZ_RUNS` sets the runs per target (default: a short run for CI);
//! `CORONER_FUZZ_SEED` the first seed. docs/damaged-input.md records the longer runs.

mod support;

use std::os::unix::fs::FileExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use coroner_analysis::{Analysis, CensusOptions, RetainerOptions};
use coroner_fixtures::{Fixture, Kind};
use coroner_heap::InspectOptions;
use coroner_image::{OpenOptions, ProcessImage};
use support::Rng;

/// Runs per target when `CORONER_FUZZ_RUNS` is not set: about a minute in all on two cores.
const DEFAULT_RUNS: u64 = 40;

/// A part of the core, or of the executable, that a target mutates: file byte ranges.
struct Target {
    name: &'static str,
    /// Whether the ranges are in the executable (else in the core).
    in_exe: bool,
    ranges: Vec<(u64, u64)>,
}

/// One write of the mutation: (file offset, bytes).
type Write = (u64, Vec<u8>);

/// The fixture fuzzed: a live core (taken with no GC before the dump) of the `objects`
/// scenario, small and holding every kind of object.
fn fixture() -> Fixture {
    coroner_fixtures::find("objects", Kind::Live)
        .into_iter()
        .find(|f| f.version.starts_with("20."))
        .or_else(|| {
            coroner_fixtures::find("objects", Kind::Live)
                .into_iter()
                .next()
        })
        .expect("a live objects fixture")
}

/// The file offset of the process address `addr` in `core`, when the core holds it, and how
/// many bytes of its segment follow.
fn file_range(core: &ProcessImage, addr: u64, len: u64) -> Option<(u64, u64)> {
    core.core().segments().iter().find_map(|s| {
        (s.vaddr <= addr && addr < s.vaddr + s.filesz).then(|| {
            let at = s.file_offset + (addr - s.vaddr);
            (at, at + len.min(s.vaddr + s.filesz - addr))
        })
    })
}

/// The targets, from the pristine core.
fn targets(image: &ProcessImage, analysis: &Analysis<'_>, core_len: u64) -> Vec<Target> {
    let segments = image.core().segments();
    let first_data = segments
        .iter()
        .map(|s| s.file_offset)
        .filter(|&o| o > 0)
        .min()
        .unwrap_or(core_len)
        .min(core_len);
    // Headers and notes come before the first segment's data.
    let headers = Target {
        name: "ELF and program headers",
        in_exe: false,
        ranges: vec![(0, 64 + 56 * segments.len() as u64)],
    };
    let notes = Target {
        name: "notes",
        in_exe: false,
        ranges: vec![(64 + 56 * segments.len() as u64, first_data)],
    };
    let pages = Target {
        name: "heap pages",
        in_exe: false,
        ranges: analysis
            .model()
            .pages()
            .iter()
            .filter_map(|p| file_range(image, p.addr, p.size))
            .collect(),
    };
    let stacks = Target {
        name: "thread stacks",
        in_exe: false,
        ranges: image
            .core()
            .threads()
            .iter()
            .filter_map(|t| file_range(image, t.regs.rsp, 64 << 10))
            .collect(),
    };
    // The constants in the executable's file, which the layout is read from.
    let constants = Target {
        name: "v8dbg constants",
        in_exe: true,
        ranges: image
            .exe_file()
            .map(|elf| {
                elf.symbols()
                    .with_prefix("v8dbg_")
                    .filter_map(|sym| {
                        elf.segments()
                            .iter()
                            .find(|s| {
                                s.vaddr <= sym.address && sym.address + 4 <= s.vaddr + s.filesz
                            })
                            .map(|s| {
                                let at = sym.address - s.vaddr + s.offset;
                                (at, at + 4)
                            })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    vec![headers, notes, pages, stacks, constants]
}

/// A mutation of `target`: one to sixteen writes of a bit flipped, a byte, a word (random, zero,
/// all ones, or one taken from elsewhere in the target).
fn mutation(
    rng: &mut Rng,
    target: &Target,
    original: &dyn Fn(u64, usize) -> Vec<u8>,
) -> Vec<Write> {
    let total: u64 = target.ranges.iter().map(|(a, b)| b - a).sum();
    let pick = |rng: &mut Rng| {
        let mut at = rng.below(total);
        for &(a, b) in &target.ranges {
            if at < b - a {
                return a + at;
            }
            at -= b - a;
        }
        0
    };
    (0..=rng.below(16))
        .map(|_| {
            let at = pick(rng);
            let bytes = match rng.below(6) {
                0 => {
                    let mut b = original(at, 1);
                    b[0] ^= 1 << rng.below(8);
                    b
                }
                1 => vec![rng.next() as u8],
                2 => rng.next().to_le_bytes().to_vec(),
                3 => vec![0; 8],
                4 => vec![0xff; 8],
                _ => original(pick(rng) & !7, 8),
            };
            (at, bytes)
        })
        .collect()
}

/// Everything coroner does with a core, on `path`: any error is fine, a panic is not.
fn pipeline(path: &Path, exe: &Path) {
    let Ok(image) = ProcessImage::open(path, &OpenOptions::with_exe(exe.to_path_buf())) else {
        return;
    };
    let Ok(analysis) = Analysis::open(&image) else {
        return;
    };
    let _ = analysis.damaged();
    let census = analysis.census(&CensusOptions::default());
    let _ = analysis.stacks();
    let index = analysis.index();
    let addrs = index.addrs();
    let step = (addrs.len() / 50).max(1);
    for &addr in addrs.iter().step_by(step).take(50) {
        let _ = analysis.model().inspect(addr, &InspectOptions::default());
    }
    if let Some(&addr) = addrs.get(addrs.len() / 2) {
        let _ = analysis.references(addr);
        let _ = analysis.retainers(addr, &RetainerOptions::default());
    }
    std::hint::black_box(census);
}

#[test]
fn mutated_cores_never_panic() {
    let runs = std::env::var("CORONER_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    let first_seed: u64 = std::env::var("CORONER_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let f = fixture();
    let dir = tempfile::tempdir().expect("tempdir");
    let core = dir.path().join("core");
    let exe = dir.path().join("node");
    std::fs::copy(&f.core, &core).expect("copy the core");
    std::fs::copy(&f.exe, &exe).expect("copy the executable");
    let pristine_core = std::fs::read(&f.core).expect("read the core");
    let pristine_exe = std::fs::read(&f.exe).expect("read the executable");
    let image = ProcessImage::open(&f.core, &OpenOptions::with_exe(f.exe.clone())).expect("opens");
    let analysis = Analysis::open(&image).expect("the heap opens");
    let targets = targets(&image, &analysis, pristine_core.len() as u64);
    let open = |path: &Path| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .expect("open the copy")
    };
    let (core_file, exe_file) = (open(&core), open(&exe));
    // Silence the panic hook's message: a caught panic is reported below with its input.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    for target in targets.iter().filter(|t| !t.ranges.is_empty()) {
        let (file, pristine) = if target.in_exe {
            (&exe_file, &pristine_exe)
        } else {
            (&core_file, &pristine_core)
        };
        let original = |at: u64, len: usize| {
            let at = at as usize;
            let mut b = pristine.get(at..at + len).unwrap_or(&[]).to_vec();
            b.resize(len, 0);
            b
        };
        for run in 0..runs {
            let seed = first_seed.wrapping_add(run);
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let writes = mutation(&mut rng, target, &original);
            for (at, bytes) in &writes {
                file.write_all_at(bytes, *at).expect("mutate");
            }
            if catch_unwind(AssertUnwindSafe(|| pipeline(&core, &exe))).is_err() {
                failures.push(format!(
                    "{}: target {:?}, seed {seed}: writes {:x?}",
                    f.label(),
                    target.name,
                    writes
                ));
            }
            for (at, bytes) in &writes {
                file.write_all_at(&original(*at, bytes.len()), *at)
                    .expect("restore");
            }
        }
        println!("{}: {runs} runs", target.name);
    }
    let _ = std::panic::take_hook();
    assert!(
        failures.is_empty(),
        "{} panic(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Words a random command line is made of: commands, their options, and values of every sort
/// (numbers at the edges, addresses, quotes left open, non-ASCII, a long word).
const COMMANDS: [&str; 24] = [
    "info",
    "findjsobjects",
    "findjsinstances",
    "inspect",
    "findrefs",
    "retainers",
    "bt",
    "thread",
    "frame",
    "up",
    "down",
    "source",
    "disasm",
    "x",
    "registers",
    "set",
    "handles",
    "requests",
    "timers",
    "promises",
    "nodeinfo",
    "triage",
    "help",
    "dominators",
];
const WORDS: [&str; 28] = [
    "-n",
    "--limit",
    "--offset",
    "-d",
    "--depth",
    "--json",
    "--all",
    "--isolate",
    "--weak",
    "--paths",
    "-v",
    "Walrus",
    "(String)",
    "0",
    "-1",
    "18446744073709551615",
    "0x0",
    "0x1",
    "0xffffffffffffffff",
    "'",
    "\"",
    "é🦀",
    "",
    "all",
    "=",
    "--",
    "1e9",
    "'Object {a, b}'",
];

#[test]
fn random_command_lines_never_panic() {
    let runs = std::env::var("CORONER_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_RUNS);
    let f = fixture();
    let image = ProcessImage::open(&f.core, &OpenOptions::with_exe(f.exe.clone())).expect("opens");
    let analysis = Analysis::open(&image).expect("the heap opens");
    let addrs = analysis.index().addrs();
    let seed: u64 = std::env::var("CORONER_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = Rng(0x00c0_ffee ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let long = "w".repeat(5000);
    let lines: Vec<String> = (0..runs * 25)
        .map(|_| {
            let mut line = COMMANDS[rng.below(COMMANDS.len() as u64) as usize].to_string();
            for _ in 0..rng.below(5) {
                line.push(' ');
                match rng.below(10) {
                    0 => line.push_str(&format!(
                        "{:#x}",
                        addrs[rng.below(addrs.len() as u64) as usize] + rng.below(3)
                    )),
                    1 => line.push_str(&long),
                    2 => line.push_str(&rng.next().to_string()),
                    _ => line.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]),
                }
            }
            line
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("commands");
    std::fs::write(&script, lines.join("\n")).expect("write the script");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coroner"))
        .args([f.core.as_os_str(), "--exe".as_ref(), f.exe.as_os_str()])
        .arg("--script")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .expect("run coroner");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    println!("{} command lines", lines.len());
}

/// What the fuzz targets found, each on its minimized input.
#[test]
fn inputs_the_fuzzing_found() {
    let f = fixture();
    // `disasm -n` with the largest count allocated its bytes up front: capacity overflow.
    let run = support::on_core(
        &f.core,
        &f.exe,
        &["disasm -n 18446744073709551615", "disasm -n 3"],
        false,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(
        run.stderr.trim(),
        "coroner: disasm: at most 100000 instructions are shown at once, not -n 18446744073709551615"
    );
    assert!(
        run.stdout.lines().count() >= 3,
        "the next command still runs"
    );
}
