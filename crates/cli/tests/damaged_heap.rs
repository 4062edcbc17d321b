//! A damaged heap is never silently wrong. Real fixture cores taken with no GC before the dump
//! (kind `live`) are damaged by a seeded mutator the ways real cores are damaged (an
//! instance's map word overwritten, random words, words pointing at themselves, a bit flipped
//! in an array's length, a page's header), and coroner must count every object the damage did not touch or
//! report as skipped, report every range it skipped, and say on each command that walks the
//! heap what the answer may lack.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use coroner_fixtures::{Fixture, Kind};
use serde_json::Value;
use support::{core_offset, on_core, Rng};

/// A copy of a fixture core, to damage.
struct Damaged {
    _dir: tempfile::TempDir,
    core: PathBuf,
    bytes: Vec<u8>,
    /// The process addresses written, each with its first byte offset in the file.
    written: Vec<u64>,
}

impl Damaged {
    fn of(fixture: &Fixture) -> Damaged {
        let dir = tempfile::tempdir().expect("tempdir");
        let core = dir.path().join("core");
        let bytes = std::fs::read(&fixture.core).expect("read the core");
        Damaged {
            _dir: dir,
            core,
            bytes,
            written: Vec::new(),
        }
    }

    /// Writes the little-endian `word` at the process address `addr` (when the core holds it).
    fn write(&mut self, addr: u64, word: u64) -> bool {
        let Some(at) = core_offset(&self.bytes, addr) else {
            return false;
        };
        self.bytes[at..at + 8].copy_from_slice(&word.to_le_bytes());
        self.written.push(addr);
        true
    }

    fn read(&self, addr: u64) -> Option<u64> {
        let at = core_offset(&self.bytes, addr)?;
        Some(u64::from_le_bytes(self.bytes[at..at + 8].try_into().ok()?))
    }

    fn save(&self) -> &Path {
        std::fs::write(&self.core, &self.bytes).expect("write the damaged core");
        &self.core
    }
}

fn run_json(core: &Path, exe: &Path, command: &str) -> (Value, String) {
    let run = on_core(core, exe, &[command], true);
    assert_eq!(run.code, 0, "{command}: {}", run.stderr);
    assert!(
        !run.stderr.contains("panicked"),
        "{command}: {}",
        run.stderr
    );
    (run.json_lines().remove(0), run.stderr)
}

/// Count per census row name.
fn census(core: &Path, exe: &Path) -> (BTreeMap<String, u64>, String) {
    let (rows, stderr) = run_json(core, exe, "findjsobjects --all --no-retained -n 1000000");
    let counts = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_string(),
                r["count"].as_u64().expect("count"),
            )
        })
        .collect();
    (counts, stderr)
}

/// The address of every instance of `name`.
fn instances_of(core: &Path, exe: &Path, name: &str) -> Vec<u64> {
    let (list, _) = run_json(core, exe, &format!("findjsinstances '{name}' -n 1000000"));
    list.as_array()
        .expect("instances")
        .iter()
        .map(|i| parse_hex(&i["address"]))
        .collect()
}

fn parse_hex(v: &Value) -> u64 {
    let s = v.as_str().expect("an address");
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex")
}

/// The ranges `info` reports as not read as objects.
fn reported_ranges(core: &Path, exe: &Path) -> Vec<(u64, u64)> {
    let (info, _) = run_json(core, exe, "info");
    info["damaged"]
        .as_array()
        .unwrap_or_else(|| panic!("info has no damaged ranges: {info}"))
        .iter()
        .map(|d| (parse_hex(&d["from"]), parse_hex(&d["to"])))
        .collect()
}

fn inside(ranges: &[(u64, u64)], addr: u64) -> bool {
    ranges.iter().any(|&(from, to)| from <= addr && addr < to)
}

fn live_fixtures() -> Vec<Fixture> {
    let found = coroner_fixtures::find("objects", Kind::Live);
    assert!(!found.is_empty(), "no live `objects` fixture");
    found
}

/// What every damaged core must show: each class of the scenario loses only instances the
/// damage touched or that lie in a reported range, and gains none; each written word that was
/// an instance's map word lies in a reported range; the census, `findrefs` and `retainers`
/// warn.
fn check(fixture: &Fixture, damaged: &Damaged, pristine: &Pristine) {
    let what = fixture.label();
    let exe = &fixture.exe;
    let core = damaged.core.as_path();
    let ranges = reported_ranges(core, exe);
    assert!(!ranges.is_empty(), "{what}: no damaged range reported");
    let (counts, stderr) = census(core, exe);
    assert!(
        stderr.contains("warning: the heap is damaged:")
            && stderr.contains("the counts may be low"),
        "{what}: the census does not warn: {stderr}"
    );
    for (name, addrs) in &pristine.instances {
        let size = pristine.sizes[name];
        let lost = addrs
            .iter()
            .filter(|&&a| {
                inside(&ranges, a) || damaged.written.iter().any(|&w| a <= w && w < a + size)
            })
            .count() as u64;
        let expected = addrs.len() as u64;
        let got = counts.get(name).copied().unwrap_or(0);
        assert!(
            got <= expected && got >= expected - lost,
            "{what}: {got} {name} counted of {expected}, {lost} touched or in a reported range"
        );
        for &a in addrs {
            if damaged.written.contains(&a) {
                assert!(
                    inside(&ranges, a),
                    "{what}: the {name} at {a:#x} lost its map word, and no range says so"
                );
            }
        }
    }
    let survivor = pristine
        .instances
        .values()
        .flatten()
        .find(|&&a| !inside(&ranges, a) && !damaged.written.contains(&a))
        .expect("an instance the damage spared");
    for command in [
        format!("findrefs {survivor:#x}"),
        format!("retainers {survivor:#x}"),
    ] {
        let (_, stderr) = run_json(core, exe, &command);
        assert!(
            stderr.contains("warning: the heap is damaged:"),
            "{what}: `{command}` does not warn: {stderr}"
        );
    }
}

/// What the intact core holds: every instance of each class the scenario counts, and each
/// class's instance size.
struct Pristine {
    instances: BTreeMap<String, Vec<u64>>,
    sizes: BTreeMap<String, u64>,
}

impl Pristine {
    /// One run of coroner: the census, then each class's instances.
    fn of(fixture: &Fixture) -> Pristine {
        let what = fixture.label();
        let names: Vec<&String> = fixture.expect.classes.keys().collect();
        let mut commands = vec!["findjsobjects --no-retained -n 1000000".to_string()];
        commands.extend(
            names
                .iter()
                .map(|n| format!("findjsinstances '{n}' -n 1000000")),
        );
        let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
        let run = on_core(&fixture.core, &fixture.exe, &commands, true);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("damaged"), "{what}: {}", run.stderr);
        let mut lines = run.json_lines().into_iter();
        let rows = lines.next().expect("the census");
        let mut instances = BTreeMap::new();
        let mut sizes = BTreeMap::new();
        for (name, list) in names.into_iter().zip(lines) {
            let count = fixture.expect.classes[name];
            let row = rows
                .as_array()
                .expect("rows")
                .iter()
                .find(|r| r["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{what}: no {name} row"));
            let addrs: Vec<u64> = list
                .as_array()
                .expect("instances")
                .iter()
                .map(|i| parse_hex(&i["address"]))
                .collect();
            assert_eq!(addrs.len() as u64, count, "{what}: {name}");
            sizes.insert(
                name.clone(),
                row["size"].as_u64().expect("size") / count.max(1),
            );
            instances.insert(name.clone(), addrs);
        }
        Pristine { instances, sizes }
    }

    fn of_class(&self, name: &str) -> &[u64] {
        &self.instances[name]
    }
}

#[test]
fn instances_whose_map_word_is_overwritten_are_all_that_is_lost() {
    for fixture in live_fixtures() {
        let what = fixture.label();
        let pristine = Pristine::of(&fixture);
        let mut rng = Rng(0x5eed_0001 ^ u64::from(fixture.expect.node_major()));
        let mut damaged = Damaged::of(&fixture);
        let mut hit = Vec::new();
        for name in ["Walrus", "Crowd"] {
            for addr in rng.sample(pristine.of_class(name), 25) {
                // An even word is a Smi to V8, never a map pointer.
                assert!(
                    damaged.write(addr, (rng.next() | 2) << 1),
                    "{what}: {addr:#x}"
                );
                hit.push((name, addr));
            }
        }
        let core = damaged.save().to_path_buf();
        check(&fixture, &damaged, &pristine);
        // Map-word damage is recovered from exactly: the walk goes on at the next object, so
        // a range holds the damaged instances and, where two are a few objects apart, what
        // lies between them.
        let ranges = reported_ranges(&core, &fixture.exe);
        let (counts, _) = census(&core, &fixture.exe);
        for name in ["Walrus", "Crowd"] {
            let collateral = pristine
                .of_class(name)
                .iter()
                .filter(|&&a| inside(&ranges, a) && !hit.contains(&(name, a)))
                .count() as u64;
            assert_eq!(
                counts[name],
                pristine.of_class(name).len() as u64 - 25 - collateral,
                "{what}: {name}"
            );
            assert!(
                collateral <= 5,
                "{what}: {collateral} {name} lost beside the damage"
            );
        }
        let skipped: u64 = ranges.iter().map(|(from, to)| to - from).sum();
        let damage = 25 * (pristine.sizes["Walrus"] + pristine.sizes["Crowd"]);
        assert!(
            skipped < 4 * damage,
            "{what}: {skipped} bytes skipped for {damage} bytes of damaged instances"
        );
    }
}

#[test]
fn random_words_and_flipped_lengths_are_reported_and_bounded() {
    for fixture in live_fixtures() {
        let what = fixture.label();
        let pristine = Pristine::of(&fixture);
        let mut rng = Rng(0x5eed_0002 ^ u64::from(fixture.expect.node_major()));
        let mut damaged = Damaged::of(&fixture);
        let image = coroner_image::ProcessImage::open(
            &fixture.core,
            &coroner_image::OpenOptions::with_exe(fixture.exe.clone()),
        )
        .expect("the fixture opens");
        let layout = coroner_v8::Layout::load(&image).expect("its layout");
        let word = layout.tagging.tagged_size;
        // Random words near instances of every class: anything, zero, a pointer to itself;
        // and the map words of 20 instances.
        let everywhere: Vec<u64> = pristine.instances.values().flatten().copied().collect();
        for at in rng.sample(&everywhere, 200) {
            let addr = at + word * rng.below(512);
            let value = match rng.below(3) {
                0 => rng.next(),
                1 => 0,
                _ => addr | layout.tagging.heap_object_tag,
            };
            damaged.write(addr, value);
        }
        for addr in rng.sample(pristine.of_class("Penguin"), 20) {
            damaged.write(addr, (rng.next() | 2) << 1);
        }
        // A high bit flipped in the length of ten arrays: each now claims more than its page.
        let arrays = instances_of(&fixture.core, &fixture.exe, "(internal: FixedArray)");
        let mut flipped = 0;
        for addr in rng.sample(&arrays, 10) {
            let at = addr + layout.fixed_array.length;
            if let Some(length) = damaged.read(at) {
                let bit = 1u64 << (layout.tagging.smi_shift + 24);
                if damaged.write(at, length ^ bit) {
                    flipped += 1;
                }
            }
        }
        assert!(flipped > 0, "{what}: no array length flipped");
        // The headers of two pages holding Crowds: their first four words.
        let page_of = |a: u64| a & !(layout.page.page_size - 1);
        let crowd_pages: BTreeSet<u64> = pristine
            .of_class("Crowd")
            .iter()
            .map(|&a| page_of(a))
            .collect();
        let crowd_pages: Vec<u64> = crowd_pages.into_iter().collect();
        for page in rng.sample(&crowd_pages, 2) {
            for w in 0..4 {
                damaged.write(page + w * word, rng.next());
            }
        }
        damaged.save();
        check(&fixture, &damaged, &pristine);
    }
}
