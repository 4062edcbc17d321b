//! The address space: segments to regions, holes, absent tails, reads within and across
//! regions, unaligned integer reads, C strings, and splicing in other backings.

mod support;

use coroner_corefile::testing::CoreBuilder;
use coroner_corefile::{
    AddressSpace, Backing, CoreFile, FillError, OpenError, Perms, ReadError, Source,
};
use support::{fail, pattern, sample, TestResult};

#[test]
fn segments_are_parsed_and_sorted() -> TestResult {
    let core = CoreFile::from_bytes(sample().build())?;
    let segs = core.segments();
    let addrs: Vec<u64> = segs.iter().map(|s| s.vaddr).collect();
    assert_eq!(addrs, [0x40_0000, 0x40_1000, 0x7f00_0000_0000]);
    assert_eq!(
        (segs[0].filesz, segs[0].memsz, segs[0].perms),
        (0x100, 0x1000, Perms::R)
    );
    assert_eq!(
        (segs[1].filesz, segs[1].memsz, segs[1].perms),
        (0, 0x2000, Perms::RX)
    );
    assert_eq!(
        (segs[2].filesz, segs[2].memsz, segs[2].perms),
        (0x200, 0x200, Perms::RW)
    );
    // The file offset really points at the segment's bytes.
    let off = segs[2].file_offset as usize;
    assert_eq!(core.data()[off..off + 0x200], pattern(0x200, 7)[..]);
    Ok(())
}

#[test]
fn regions_split_data_and_absent_tails() -> TestResult {
    let core = CoreFile::from_bytes(sample().build())?;
    let r = core.memory().regions();
    let shape: Vec<(u64, u64, bool)> = r
        .iter()
        .map(|r| (r.start, r.end, r.source == Source::Absent))
        .collect();
    assert_eq!(
        shape,
        [
            (0x40_0000, 0x40_0100, false),
            (0x40_0100, 0x40_1000, true),
            (0x40_1000, 0x40_3000, true),
            (0x7f00_0000_0000, 0x7f00_0000_0200, false),
        ]
    );
    assert_eq!(core.memory().bytes_present(), 0x300);
    Ok(())
}

#[test]
fn holes_are_unmapped_at_the_right_address() -> TestResult {
    let core = CoreFile::from_bytes(sample().build())?;
    let m = core.memory();
    for addr in [
        0,
        0x3f_ffff,
        0x40_3000,
        0x7eff_ffff_ffff,
        0x7f00_0000_0200,
        u64::MAX,
    ] {
        assert_eq!(
            m.read_u8(addr),
            Err(ReadError::Unmapped { addr }),
            "{addr:#x}"
        );
        assert_eq!(m.bytes(addr, 1), Err(ReadError::Unmapped { addr }));
        assert!(!m.is_mapped(addr));
        assert!(m.region(addr).is_none());
    }
    // A read that starts in data and runs into a hole fails at the hole's first byte.
    let end = 0x7f00_0000_0200;
    assert_eq!(m.bytes(end - 4, 8), Err(ReadError::Unmapped { addr: end }));
    let mut buf = [0u8; 8];
    assert_eq!(
        m.read(end - 4, &mut buf),
        Err(ReadError::Unmapped { addr: end })
    );
    assert_eq!(m.read_u64(end - 4), Err(ReadError::Unmapped { addr: end }));
    assert_eq!(ReadError::Unmapped { addr: end }.addr(), end);
    Ok(())
}

#[test]
fn absent_tail_is_not_in_core() -> TestResult {
    let core = CoreFile::from_bytes(sample().build())?;
    let m = core.memory();
    assert_eq!(m.read_u8(0x40_00ff)?, 0xff);
    assert_eq!(
        m.read_u8(0x40_0100),
        Err(ReadError::NotInCore { addr: 0x40_0100 })
    );
    assert_eq!(
        m.read_u8(0x40_2fff),
        Err(ReadError::NotInCore { addr: 0x40_2fff })
    );
    assert_eq!(
        m.bytes(0x40_00fc, 8),
        Err(ReadError::NotInCore { addr: 0x40_0100 })
    );
    assert_eq!(
        m.read_u64(0x40_00fc),
        Err(ReadError::NotInCore { addr: 0x40_0100 })
    );
    assert!(m.is_mapped(0x40_0100) && !m.is_readable(0x40_0100));
    assert!(m.is_readable(0x40_00ff));
    assert_eq!(ReadError::NotInCore { addr: 7 }.addr(), 7);
    Ok(())
}

#[test]
fn perms_are_reported() -> TestResult {
    let core = CoreFile::from_bytes(sample().build())?;
    let m = core.memory();
    assert!(!m.is_writable(0x40_0000));
    assert!(m.is_writable(0x7f00_0000_0010));
    assert!(!m.is_writable(0x1234));
    assert_eq!(m.region(0x40_2000).map(|r| r.perms), Some(Perms::RX));
    assert_eq!(Perms::RX.to_string(), "r-x");
    assert_eq!(Perms::NONE.to_string(), "---");
    Ok(())
}

#[test]
fn adjacent_segments_with_same_perms_merge() -> TestResult {
    // Kernel-style builder places segment data 8-aligned, back to back: 16 + 16 bytes are
    // contiguous in the file, so the two regions merge into one.
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x1000, Perms::RW, &pattern(16, 0), 16)
            .segment(0x1010, Perms::RW, &pattern(16, 16), 16)
            .build(),
    )?;
    assert_eq!(core.segments().len(), 2);
    assert_eq!(core.memory().regions().len(), 1);
    assert_eq!(core.memory().bytes(0x1008, 16)?, &pattern(16, 8)[..]);
    Ok(())
}

#[test]
fn bytes_across_regions_contiguous_in_the_file_succeeds() -> TestResult {
    // Different perms: two regions, but the bytes are adjacent in the file.
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x1000, Perms::RW, &pattern(16, 0), 16)
            .segment(0x1010, Perms::R, &pattern(16, 16), 16)
            .build(),
    )?;
    let m = core.memory();
    assert_eq!(m.regions().len(), 2);
    assert_eq!(m.bytes(0x1008, 16)?, &pattern(16, 8)[..]);
    assert_eq!(m.bytes(0x1000, 32)?, &pattern(32, 0)[..]);
    assert_eq!(
        m.bytes(0x1000, 33),
        Err(ReadError::Unmapped { addr: 0x1020 })
    );
    Ok(())
}

#[test]
fn bytes_across_non_contiguous_backing_fails_but_read_stitches() -> TestResult {
    // 12 bytes then 8-alignment padding: the second region's bytes are not adjacent in the file.
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x1000, Perms::RW, &pattern(12, 0), 12)
            .segment(0x100c, Perms::RW, &pattern(20, 12), 20)
            .build(),
    )?;
    let m = core.memory();
    assert_eq!(m.regions().len(), 2);
    assert_eq!(
        m.bytes(0x1008, 8),
        Err(ReadError::NotInCore { addr: 0x100c })
    );
    let mut buf = [0u8; 32];
    m.read(0x1000, &mut buf)?;
    assert_eq!(buf[..], pattern(32, 0)[..]);
    // Integer reads straddling the boundary fall back to the copying path.
    for start in 0x1005..0x100c {
        let want = u64::from_le_bytes(pattern(8, (start - 0x1000) as u8)[..].try_into()?);
        assert_eq!(m.read_u64(start)?, want, "{start:#x}");
    }
    Ok(())
}

#[test]
fn unaligned_reads_at_every_offset() -> TestResult {
    let bytes = pattern(64, 0x80);
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x2000, Perms::RW, &bytes, 64)
            .build(),
    )?;
    let m = core.memory();
    for off in 0..16u64 {
        let a = 0x2000 + off;
        let o = off as usize;
        assert_eq!(m.read_u8(a)?, bytes[o]);
        assert_eq!(
            m.read_u16(a)?,
            u16::from_le_bytes(bytes[o..o + 2].try_into()?)
        );
        assert_eq!(
            m.read_u32(a)?,
            u32::from_le_bytes(bytes[o..o + 4].try_into()?)
        );
        assert_eq!(
            m.read_u64(a)?,
            u64::from_le_bytes(bytes[o..o + 8].try_into()?)
        );
        assert_eq!(
            m.read_i32(a)?,
            i32::from_le_bytes(bytes[o..o + 4].try_into()?)
        );
        assert_eq!(
            m.read_i64(a)?,
            i64::from_le_bytes(bytes[o..o + 8].try_into()?)
        );
        let f = m.read_f64(a)?;
        assert_eq!(f.to_bits(), u64::from_le_bytes(bytes[o..o + 8].try_into()?));
    }
    // The last whole word, and one byte too far.
    assert!(m.read_u64(0x2000 + 56).is_ok());
    assert_eq!(
        m.read_u64(0x2000 + 57),
        Err(ReadError::Unmapped { addr: 0x2040 })
    );
    assert_eq!(
        m.read_u16(0x203f),
        Err(ReadError::Unmapped { addr: 0x2040 })
    );
    Ok(())
}

#[test]
fn zero_length_reads_succeed_anywhere() -> TestResult {
    let core = CoreFile::from_bytes(sample().build())?;
    assert_eq!(core.memory().bytes(0x1, 0)?, &[] as &[u8]);
    core.memory().read(0x1, &mut [])?;
    Ok(())
}

#[test]
fn read_cstr_cases() -> TestResult {
    let mut bytes = b"hello\0world".to_vec();
    bytes.extend_from_slice(b"no-nul-here");
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x3000, Perms::R, &bytes, 0x100)
            .segment(0x5000, Perms::R, b"abc", 3)
            .build(),
    )?;
    let m = core.memory();
    assert_eq!(m.read_cstr(0x3000, 100)?, b"hello");
    assert_eq!(m.read_cstr(0x3000, 3)?, b"hel"); // truncated at max
    assert_eq!(m.read_cstr(0x3005, 100)?, b""); // starts at the NUL
    assert_eq!(m.read_cstr(0x3006, 100)?, b"worldno-nul-here"); // stops at the region's end
    assert_eq!(m.read_cstr(0x5000, 100)?, b"abc"); // stops at a hole
    assert_eq!(m.read_cstr(0x3006, 0)?, b"");
    assert_eq!(
        m.read_cstr(0x3000 + bytes.len() as u64, 10),
        Err(ReadError::NotInCore { addr: 0x3016 })
    );
    assert_eq!(
        m.read_cstr(0x4000, 10),
        Err(ReadError::Unmapped { addr: 0x4000 })
    );
    Ok(())
}

#[test]
fn overlapping_loads_are_rejected() -> TestResult {
    let bytes = CoreBuilder::new()
        .segment(0x1000, Perms::R, &[0; 16], 0x1000)
        .segment(0x1800, Perms::R, &[0; 16], 0x1000)
        .build();
    match CoreFile::from_bytes(bytes) {
        Err(OpenError::MalformedHeaders { what, .. }) if what.contains("overlap") => Ok(()),
        other => fail(format!("expected overlap error, got {other:?}")),
    }
}

#[test]
fn filesz_greater_than_memsz_is_rejected() -> TestResult {
    let bytes = CoreBuilder::new()
        .segment(0x1000, Perms::R, &[0; 32], 16)
        .build();
    match CoreFile::from_bytes(bytes) {
        Err(OpenError::MalformedHeaders { what, .. }) if what.contains("p_filesz > p_memsz") => {
            Ok(())
        }
        other => fail(format!("expected filesz error, got {other:?}")),
    }
}

#[test]
fn zero_length_loads_are_ignored() -> TestResult {
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x1000, Perms::R, &[], 0)
            .segment(0x1000, Perms::R, &[1], 1)
            .build(),
    )?;
    assert_eq!(core.segments().len(), 1);
    assert_eq!(core.memory().read_u8(0x1000)?, 1);
    Ok(())
}

#[test]
fn a_segment_at_the_top_of_the_address_space() -> TestResult {
    let top = 0xffff_ffff_ff60_0000;
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(top, Perms::RX, &[9; 16], 0x1000)
            .build(),
    )?;
    assert_eq!(core.memory().read_u8(top + 15)?, 9);
    assert_eq!(
        core.memory().read_u8(u64::MAX),
        Err(ReadError::Unmapped { addr: u64::MAX })
    );
    // A segment that would wrap around is malformed.
    let bad = CoreBuilder::new()
        .segment(u64::MAX - 8, Perms::R, &[], 0x1000)
        .build();
    match CoreFile::from_bytes(bad) {
        Err(OpenError::MalformedHeaders { .. }) => Ok(()),
        other => fail(format!("expected malformed headers, got {other:?}")),
    }
}

/// A core with: data [0x1000,0x1010) + absent [0x1010,0x1100), a gap, absent [0x2000,0x3000).
fn fill_fixture() -> Result<CoreFile, OpenError> {
    CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x1000, Perms::R, &[0xaa; 16], 0x100)
            .segment(0x2000, Perms::RX, &[], 0x1000)
            .build(),
    )
}

#[test]
fn fill_absent_fills_only_absent_parts() -> TestResult {
    let mut core = fill_fixture()?;
    let exe = pattern(0x3000, 0);
    let m = core.memory_mut();
    let idx = m.add_backing(Backing::Owned(exe.clone()));
    assert_eq!(idx, 1);
    // Map [0x1000, 0x2800) to exe[0..]: the core's 16 bytes stay, the gap stays unmapped.
    let filled = m.fill_absent(0x1000, 0x2800, idx, 0)?;
    assert_eq!(filled, (0x100 - 0x10) + 0x800);
    assert_eq!(m.bytes(0x1000, 16)?, &[0xaa; 16]); // the core wins
    assert_eq!(m.bytes(0x1010, 0xf0)?, &exe[0x10..0x100]);
    assert_eq!(m.read_u8(0x1100), Err(ReadError::Unmapped { addr: 0x1100 }));
    assert_eq!(m.bytes(0x2000, 0x800)?, &exe[0x1000..0x1800]);
    assert_eq!(
        m.read_u8(0x2800),
        Err(ReadError::NotInCore { addr: 0x2800 })
    );
    // The absent segment was split: filled part, absent rest; perms kept.
    let r = m.region(0x2000).ok_or("no region")?;
    assert_eq!((r.start, r.end, r.perms), (0x2000, 0x2800, Perms::RX));
    assert_eq!(
        r.source,
        Source::Backing {
            index: 1,
            offset: 0x1000
        }
    );
    let r = m.region(0x2800).ok_or("no region")?;
    assert_eq!((r.start, r.end, r.source), (0x2800, 0x3000, Source::Absent));
    assert_eq!(m.bytes_present(), 16 + 0xf0 + 0x800);
    // Filling again changes nothing.
    assert_eq!(m.fill_absent(0x1000, 0x2800, idx, 0)?, 0);
    // Fill the middle of what is left: splits into three.
    assert_eq!(m.fill_absent(0x2900, 0x2a00, idx, 0x1900)?, 0x100);
    assert_eq!(
        m.read_u8(0x28ff),
        Err(ReadError::NotInCore { addr: 0x28ff })
    );
    assert_eq!(m.read_u8(0x2900)?, exe[0x1900]);
    assert_eq!(
        m.read_u8(0x2a00),
        Err(ReadError::NotInCore { addr: 0x2a00 })
    );
    // Then the gap between: the three pieces merge back into one region.
    assert_eq!(m.fill_absent(0x2800, 0x2900, idx, 0x1800)?, 0x100);
    let r = m.region(0x2000).ok_or("no region")?;
    assert_eq!((r.start, r.end), (0x2000, 0x2a00));
    assert_eq!(m.bytes(0x2000, 0xa00)?, &exe[0x1000..0x1a00]);
    Ok(())
}

#[test]
fn fill_absent_is_bounds_checked_and_atomic() -> TestResult {
    let mut core = fill_fixture()?;
    let m = core.memory_mut();
    let before = m.regions().to_vec();
    let idx = m.add_backing(Backing::Owned(vec![0; 0x100]));
    assert_eq!(
        m.fill_absent(0x2000, 0x3000, idx, 0),
        Err(FillError::BackingTooShort {
            index: idx,
            needed: 0x1000,
            len: 0x100
        })
    );
    assert_eq!(
        m.fill_absent(0x2000, 0x2001, idx, u64::MAX),
        Err(FillError::BackingTooShort {
            index: idx,
            needed: u64::MAX,
            len: 0x100
        })
    );
    assert_eq!(
        m.fill_absent(0x2000, 0x2010, 7, 0),
        Err(FillError::NoSuchBacking { index: 7 })
    );
    assert_eq!(
        m.fill_absent(0x2010, 0x2000, idx, 0),
        Err(FillError::BadRange {
            start: 0x2010,
            end: 0x2000
        })
    );
    assert_eq!(m.regions(), &before[..]);
    assert_eq!(m.fill_absent(0x2000, 0x2000, idx, 0)?, 0);
    // Exactly long enough is fine.
    assert_eq!(m.fill_absent(0x2f00, 0x3000, idx, 0)?, 0x100);
    Ok(())
}

#[test]
fn fill_unmapped_maps_only_holes() -> TestResult {
    let mut core = fill_fixture()?;
    let m = core.memory_mut();
    let exe = pattern(0x4000, 3);
    let idx = m.add_backing(Backing::Owned(exe.clone()));
    // [0x0800, 0x3800): holes are [0x800,0x1000), [0x1100,0x2000), [0x3000,0x3800).
    let n = m.fill_unmapped(0x0800, 0x3800, idx, 0, Perms::RX)?;
    assert_eq!(n, 0x800 + 0xf00 + 0x800);
    assert_eq!(m.read_u8(0x0800)?, exe[0]);
    assert_eq!(m.read_u8(0x1000)?, 0xaa); // the core's data is untouched
    assert_eq!(
        m.read_u8(0x1010),
        Err(ReadError::NotInCore { addr: 0x1010 })
    ); // absent stays absent
    assert_eq!(m.read_u8(0x1100)?, exe[0x900]);
    assert_eq!(m.read_u8(0x3000)?, exe[0x2800]);
    assert_eq!(m.read_u8(0x3800), Err(ReadError::Unmapped { addr: 0x3800 }));
    assert_eq!(m.region(0x3000).map(|r| r.perms), Some(Perms::RX));
    let starts: Vec<u64> = m.regions().iter().map(|r| r.start).collect();
    let mut sorted = starts.clone();
    sorted.sort_unstable();
    assert_eq!(starts, sorted);
    assert!(m.regions().windows(2).all(|w| w[0].end <= w[1].start));
    Ok(())
}

#[test]
fn a_standalone_address_space() -> TestResult {
    let mut m = AddressSpace::new();
    assert_eq!(m.read_u8(0), Err(ReadError::Unmapped { addr: 0 }));
    let i = m.add_backing(Backing::Owned(pattern(0x100, 0)));
    assert_eq!(m.fill_unmapped(0x1000, 0x1100, i, 0, Perms::R)?, 0x100);
    assert_eq!(m.read_u32(0x1004)?, 0x0706_0504);
    assert_eq!(m.backing_count(), 1);
    Ok(())
}

#[test]
fn address_space_and_core_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<AddressSpace>();
    check::<CoreFile>();
}
