//! Bad input: not ELF, not a core, the wrong machine, truncation at every length, corrupted
//! notes and headers (never a panic), and files that cannot be opened.

mod support;

use std::io::ErrorKind;
use std::path::PathBuf;

use coroner_corefile::testing::{CoreBuilder, Style};
use coroner_corefile::{CoreFile, OpenError};
use support::{fail, sample, Prng, TestResult};

fn err_of(bytes: Vec<u8>) -> Result<OpenError, Box<dyn std::error::Error>> {
    match CoreFile::from_bytes(bytes) {
        Ok(_) => fail("expected an error, the core parsed"),
        Err(e) => Ok(e),
    }
}

#[test]
fn not_an_elf_file() -> TestResult {
    let e = err_of(b"#!/bin/sh\necho hi\n".to_vec())?;
    assert!(matches!(e, OpenError::NotElf { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "<memory> is not an ELF file (no \\x7fELF magic): pass a core dump"
    );
    Ok(())
}

#[test]
fn compressed_cores_are_recognised() -> TestResult {
    for (magic, format) in [
        (&b"\x28\xb5\x2f\xfd\x00\x00"[..], "zstd"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"\x04\x22\x4d\x18\x00", "lz4"),
        (b"BZh91AY", "bzip2"),
    ] {
        let e = err_of(magic.to_vec())?;
        match &e {
            OpenError::Compressed { format: f, .. } if *f == format => {}
            other => return fail(format!("{format}: got {other:?}")),
        }
        assert!(e.to_string().contains("decompress"), "{e}");
    }
    Ok(())
}

#[test]
fn empty_file() -> TestResult {
    let e = err_of(Vec::new())?;
    assert!(matches!(e, OpenError::Empty { .. }), "{e:?}");
    assert!(e.to_string().contains("ulimit -c"));
    Ok(())
}

#[test]
fn elf_files_that_are_not_cores() -> TestResult {
    for (t, name) in [
        (2u16, "EXEC"),
        (3, "DYN"),
        (1, "REL"),
        (0, "NONE"),
        (0xfe01, "0xfe01"),
    ] {
        let e = err_of(CoreBuilder::new().e_type(t).build())?;
        match &e {
            OpenError::NotCore { kind, .. } if kind == name => {}
            other => return fail(format!("type {t}: got {other:?}")),
        }
        assert!(e.to_string().contains("--exe"), "{e}");
    }
    Ok(())
}

#[test]
fn wrong_machine_class_or_endianness() -> TestResult {
    let e = err_of(CoreBuilder::new().machine(183).build())?;
    match &e {
        OpenError::Unsupported { what, .. } if what.contains("AArch64") => {}
        other => return fail(format!("got {other:?}")),
    }
    let mut b = sample().build();
    b[4] = 1; // ELFCLASS32
    assert!(matches!(err_of(b.clone())?, OpenError::Unsupported { .. }));
    b[4] = 2;
    b[5] = 2; // big-endian
    assert!(matches!(err_of(b.clone())?, OpenError::Unsupported { .. }));
    b[5] = 1;
    b[6] = 9; // ident version
    assert!(matches!(err_of(b)?, OpenError::MalformedHeaders { .. }));
    Ok(())
}

/// Every cut of `bytes` either fails with the reason for where it falls (empty, no magic, cut
/// short before its notes end) or, past its headers and notes, opens as a truncated core
/// whose memory is the whole core's up to the cut. Returns how many cuts opened.
fn truncate_everywhere(bytes: &[u8], notes_end: u64) -> Result<usize, Box<dyn std::error::Error>> {
    let whole = CoreFile::from_bytes(bytes.to_vec())?;
    assert_eq!(whole.truncated(), None);
    let mut opened = 0;
    for n in 0..bytes.len() {
        let ok = match (CoreFile::from_bytes(bytes[..n].to_vec()), n) {
            (Err(OpenError::Empty { .. }), 0) => true,
            (Err(OpenError::NotElf { .. }), 1..=3) => true,
            (Err(OpenError::Truncated { expected, actual }), _) => {
                n >= 4 && actual == n as u64 && expected > actual
            }
            (Ok(cut), _) => {
                opened += 1;
                let same_memory = cut.segments().iter().all(|s| {
                    let len = usize::try_from(s.filesz).unwrap_or(0);
                    cut.memory().bytes(s.vaddr, len).ok() == whole.memory().bytes(s.vaddr, len).ok()
                });
                cut.truncated() == Some((bytes.len() as u64, n as u64))
                    && n as u64 >= notes_end
                    && same_memory
            }
            _ => false,
        };
        if !ok {
            return fail(format!("cut at {n} of {}: not as expected", bytes.len()));
        }
    }
    Ok(opened)
}

#[test]
fn truncated_at_every_length_kernel_style() -> TestResult {
    let (bytes, layout) = sample().build_with_layout();
    let notes_end = layout.notes_offset + layout.notes_size;
    // Kernel cores put the notes before the memory: every cut inside the memory opens.
    let opened = truncate_everywhere(&bytes, notes_end)?;
    assert_eq!(opened as u64, bytes.len() as u64 - notes_end.max(1));
    // A cut before the notes end reports the full size the headers describe.
    let cut = usize::try_from(notes_end - 1).unwrap_or(0);
    let e = err_of(bytes[..cut].to_vec())?;
    assert_eq!(
        e,
        OpenError::Truncated {
            expected: bytes.len() as u64,
            actual: cut as u64
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "core file is truncated: its headers describe {} bytes but the file has {cut}; the dump or the copy was interrupted",
            bytes.len(),
        )
    );
    Ok(())
}

#[test]
fn truncated_at_every_length_gdb_style() -> TestResult {
    // Notes and then section headers at the end of the file: no cut leaves them whole.
    for built in [
        sample().style(Style::Gdb).build_with_layout(),
        sample().extended_phnum(true).build_with_layout(),
    ] {
        let (bytes, layout) = built;
        truncate_everywhere(&bytes, layout.notes_offset + layout.notes_size)?;
    }
    Ok(())
}

#[test]
fn bit_flips_in_notes_never_panic() -> TestResult {
    for style in [Style::Kernel, Style::Gdb] {
        let (bytes, layout) = sample().style(style).build_with_layout();
        let (start, len) = (layout.notes_offset as usize, layout.notes_size as usize);
        let mut rng = Prng(0x9e37_79b9_7f4a_7c15);
        let (mut ok, mut err) = (0, 0);
        for round in 0..3000 {
            let mut b = bytes.clone();
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                let i = start + rng.below(len);
                if round % 3 == 0 {
                    b[i] = rng.next() as u8; // a random byte
                } else {
                    b[i] ^= 1 << rng.below(8); // a single bit
                }
            }
            match CoreFile::from_bytes(b) {
                Ok(_) => ok += 1,
                Err(OpenError::MalformedNote { .. }) => err += 1,
                Err(e) => return fail(format!("round {round}: a note corruption gave {e:?}")),
            }
        }
        assert!(ok > 0 && err > 0, "ok {ok} err {err}");
    }
    Ok(())
}

#[test]
fn random_note_segments_never_panic() -> TestResult {
    let mut rng = Prng(42);
    for round in 0..2000 {
        // Random words, biased towards small sizes and known types so the parser gets deep.
        let mut desc = Vec::new();
        for _ in 0..rng.below(64) {
            let w: u32 = match rng.below(4) {
                0 => rng.below(16) as u32,
                1 => [1, 3, 6, 0x5349_4749, 0x4649_4c45, 0x4552_4f43][rng.below(6)],
                2 => rng.below(400) as u32,
                _ => rng.next() as u32,
            };
            desc.extend_from_slice(&w.to_le_bytes());
        }
        let b = CoreBuilder::new()
            .note("CORE", 1 + round % 7, desc.clone())
            .build();
        let _ = CoreFile::from_bytes(b);
        // And the same words as the whole note segment, headers included.
        let (mut b, layout) = CoreBuilder::new()
            .note("X", 0x99, desc.clone())
            .build_with_layout();
        let at = layout.notes_offset as usize;
        b[at..at + desc.len().min(layout.notes_size as usize)]
            .copy_from_slice(&desc[..desc.len().min(layout.notes_size as usize)]);
        let _ = CoreFile::from_bytes(b);
    }
    Ok(())
}

#[test]
fn random_corruption_anywhere_never_panics() -> TestResult {
    let bytes = sample().build();
    let mut rng = Prng(7);
    for _ in 0..5000 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly the headers (first 64 + 4 * 56 bytes), sometimes anywhere.
            let i = if rng.below(4) == 0 {
                rng.below(b.len())
            } else {
                rng.below(288)
            };
            b[i] ^= 1 << rng.below(8);
        }
        if let Ok(core) = CoreFile::from_bytes(b) {
            // Whatever parsed must be internally consistent.
            let m = core.memory();
            assert!(m.regions().windows(2).all(|w| w[0].end <= w[1].start));
            for r in m.regions() {
                let _ = m.bytes(r.start, (r.end - r.start).min(4096) as usize);
                let _ = m.read_u64(r.end.wrapping_sub(4));
            }
        }
    }
    Ok(())
}

fn tmp_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("corefile-{}-{name}", std::process::id()))
}

#[test]
fn open_reads_a_file_through_mmap() -> TestResult {
    let path = tmp_path("good.core");
    let bytes = sample().build();
    std::fs::write(&path, &bytes)?;
    let core = CoreFile::open(&path);
    let _ = std::fs::remove_file(&path);
    let core = core?;
    assert_eq!(core.len(), bytes.len() as u64);
    assert_eq!(core.data(), &bytes[..]);
    assert_eq!(core.threads().len(), 2);
    assert_eq!(core.memory().read_u8(0x40_0001)?, 1);
    Ok(())
}

#[test]
fn open_errors_name_the_path() -> TestResult {
    let missing = tmp_path("does-not-exist");
    match CoreFile::open(&missing) {
        Err(
            e @ OpenError::Io {
                kind: ErrorKind::NotFound,
                ..
            },
        ) => {
            assert_eq!(
                e.to_string(),
                format!("cannot open {}: no such file", missing.display())
            );
        }
        other => return fail(format!("missing file: got {other:?}")),
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    match CoreFile::open(&dir) {
        Err(
            e @ OpenError::Io {
                kind: ErrorKind::IsADirectory,
                ..
            },
        ) => {
            assert!(e.to_string().contains("is a directory"), "{e}");
        }
        other => return fail(format!("directory: got {other:?}")),
    }
    let empty = tmp_path("empty.core");
    std::fs::write(&empty, b"")?;
    let r = CoreFile::open(&empty);
    let _ = std::fs::remove_file(&empty);
    match r {
        Err(e @ OpenError::Empty { .. }) => {
            assert!(e.to_string().starts_with(&empty.display().to_string()))
        }
        other => return fail(format!("empty file: got {other:?}")),
    }
    let exe = tmp_path("exe");
    std::fs::write(&exe, CoreBuilder::new().e_type(2).build())?;
    let r = CoreFile::open(&exe);
    let _ = std::fs::remove_file(&exe);
    match r {
        Err(e @ OpenError::NotCore { .. }) => {
            assert!(e.to_string().contains(&exe.display().to_string()))
        }
        other => return fail(format!("executable: got {other:?}")),
    }
    Ok(())
}

#[test]
fn permission_denied_message() {
    // Running as root makes a real permission error hard to produce; check the message.
    let e = OpenError::Io {
        path: "/var/crash/core".into(),
        kind: ErrorKind::PermissionDenied,
        message: "Permission denied (os error 13)".into(),
    };
    assert!(e
        .to_string()
        .starts_with("cannot open /var/crash/core: permission denied"));
}

#[test]
fn every_message_is_one_line() -> TestResult {
    let errors = [
        err_of(Vec::new())?,
        err_of(b"nope".to_vec())?,
        err_of(CoreBuilder::new().e_type(2).build())?,
        err_of(CoreBuilder::new().machine(3).build())?,
        err_of(sample().build()[..100].to_vec())?,
        OpenError::MalformedHeaders {
            what: "x",
            offset: 0x40,
        },
        OpenError::MalformedNote {
            offset: 0x100,
            what: "y",
        },
        OpenError::Io {
            path: "/x".into(),
            kind: ErrorKind::Other,
            message: "boom".into(),
        },
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.contains('\n') && !s.is_empty(), "{s:?}");
    }
    Ok(())
}

#[test]
fn no_program_headers_is_malformed() -> TestResult {
    let mut b = CoreBuilder::new().build();
    b[56..58].fill(0); // e_phnum = 0
    assert!(matches!(
        err_of(b.clone())?,
        OpenError::MalformedHeaders { .. }
    ));
    b[56..58].copy_from_slice(&1u16.to_le_bytes());
    b[54..56].copy_from_slice(&32u16.to_le_bytes()); // wrong e_phentsize
    assert!(matches!(err_of(b)?, OpenError::MalformedHeaders { .. }));
    Ok(())
}
