//! Notes: threads and registers, process, signal variants, mapped files, auxv, both writers'
//! layouts, and malformed or unknown notes.

mod support;

use coroner_corefile::testing::{self, CoreBuilder, Style};
use coroner_corefile::{
    CoreFile, MappedFile, OpenError, Perms, ProcessInfo, Registers, SignalInfo, Thread,
};
use support::{fail, regs_for, sample, TestResult};

fn check_sample(core: &CoreFile) -> TestResult {
    let t = core.threads();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].tid, t[0].ppid, t[0].pgrp, t[0].cursig),
        (100, 1, 100, 11)
    );
    assert_eq!((t[1].tid, t[1].cursig), (101, 0));
    assert_eq!(t[0].regs, regs_for(100));
    assert_eq!(t[1].regs, regs_for(101));
    let p = core.process().ok_or("no process")?;
    assert_eq!(
        (p.pid, p.ppid, p.uid, p.gid, p.state),
        (100, 1, 1000, 1001, 0)
    );
    assert_eq!(p.fname, "node");
    assert_eq!(p.psargs, "node --abort-on-uncaught-exception app.js");
    let s = core.signal().ok_or("no signal")?;
    assert_eq!(
        (s.signo, s.code, s.errno, s.fault_addr, s.sender_pid),
        (11, 1, 0, Some(0xdead_beef), None)
    );
    assert_eq!(s.name(), "SIGSEGV");
    let f = core.mapped_files();
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[1].start, f[1].end, f[1].file_offset),
        (0x40_1000, 0x40_3000, 0x1000)
    );
    assert_eq!(f[0].path, "/usr/bin/node");
    assert_eq!(core.auxv(), &[(3, 0x40_0040), (6, 4096), (9, 0x40_1234)]);
    assert_eq!(core.auxv_value(9), Some(0x40_1234));
    assert_eq!(core.auxv_value(0), None);
    assert_eq!(core.auxv_value(33), None);
    Ok(())
}

#[test]
fn all_notes_are_decoded_kernel_style() -> TestResult {
    check_sample(&CoreFile::from_bytes(sample().build())?)
}

#[test]
fn all_notes_are_decoded_gdb_style() -> TestResult {
    let bytes = sample().style(Style::Gdb).build();
    let core = CoreFile::from_bytes(bytes)?;
    check_sample(&core)?;
    // Segments and memory come out the same as the kernel layout.
    assert_eq!(core.memory().read_u8(0x7f00_0000_0001)?, 8);
    Ok(())
}

#[test]
fn extended_program_header_count() -> TestResult {
    let core = CoreFile::from_bytes(sample().extended_phnum(true).build())?;
    assert_eq!(core.segments().len(), 3);
    check_sample(&core)
}

#[test]
fn registers_by_dwarf_number() {
    let r = regs_for(0);
    // field k (kernel order) = 0x1000 * (k + 1).
    let k = |i: u64| 0x1000 * (i + 1);
    let want = [
        (0, k(10)),  // rax
        (1, k(12)),  // rdx
        (2, k(11)),  // rcx
        (3, k(5)),   // rbx
        (4, k(13)),  // rsi
        (5, k(14)),  // rdi
        (6, k(4)),   // rbp
        (7, k(19)),  // rsp
        (8, k(9)),   // r8
        (9, k(8)),   // r9
        (10, k(7)),  // r10
        (11, k(6)),  // r11
        (12, k(3)),  // r12
        (13, k(2)),  // r13
        (14, k(1)),  // r14
        (15, k(0)),  // r15
        (16, k(16)), // rip
        (49, k(18)), // eflags
        (50, k(24)), // es
        (51, k(17)), // cs
        (52, k(20)), // ss
        (53, k(23)), // ds
        (54, k(25)), // fs
        (55, k(26)), // gs
        (58, k(21)), // fs_base
        (59, k(22)), // gs_base
    ];
    for (reg, v) in want {
        assert_eq!(r.get(reg), Some(v), "dwarf reg {reg}");
    }
    for reg in [17, 33, 48, 56, 57, 60, u16::MAX] {
        assert_eq!(r.get(reg), None, "dwarf reg {reg}");
    }
    assert_eq!(
        (r.rip, r.rsp, r.fs_base, r.orig_rax),
        (k(16), k(19), k(21), k(15))
    );
    assert_eq!(Registers::from_array(r.to_array()), r);
}

fn with_signal(s: SignalInfo) -> Result<SignalInfo, Box<dyn std::error::Error>> {
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .thread(1, Registers::default())
            .siginfo(s)
            .build(),
    )?;
    Ok(core.signal().ok_or("no signal")?.clone())
}

#[test]
fn signal_variants() -> TestResult {
    // abort(): SIGABRT sent by the process itself with tgkill (SI_TKILL = -6).
    let s = with_signal(SignalInfo {
        signo: 6,
        code: -6,
        errno: 0,
        fault_addr: None,
        sender_pid: Some(4242),
    })?;
    assert_eq!(
        (s.name(), s.sender_pid, s.fault_addr),
        ("SIGABRT", Some(4242), None)
    );
    // A kernel-raised fault: the address.
    for signo in [4, 5, 7, 8, 11] {
        let s = with_signal(SignalInfo {
            signo,
            code: 2,
            errno: 0,
            fault_addr: Some(0x10),
            sender_pid: None,
        })?;
        assert_eq!(
            (s.fault_addr, s.sender_pid),
            (Some(0x10), None),
            "signal {signo}"
        );
    }
    // SIGSEGV sent with kill (SI_USER = 0): a sender, no fault address.
    let s = with_signal(SignalInfo {
        signo: 11,
        code: 0,
        errno: 0,
        fault_addr: None,
        sender_pid: Some(7),
    })?;
    assert_eq!((s.fault_addr, s.sender_pid), (None, Some(7)));
    // gdb's SIGSTOP with SI_KERNEL (0x80): neither.
    let s = with_signal(SignalInfo {
        signo: 19,
        code: 0x80,
        errno: 0,
        fault_addr: None,
        sender_pid: None,
    })?;
    assert_eq!(
        (s.name(), s.fault_addr, s.sender_pid),
        ("SIGSTOP", None, None)
    );
    // A non-fault kernel signal keeps no address.
    let s = with_signal(SignalInfo {
        signo: 14,
        code: 0x80,
        errno: 3,
        fault_addr: Some(5),
        sender_pid: None,
    })?;
    assert_eq!((s.name(), s.errno, s.fault_addr), ("SIGALRM", 3, None));
    for (signo, name) in [
        (1, "SIGHUP"),
        (9, "SIGKILL"),
        (15, "SIGTERM"),
        (31, "SIGSYS"),
        (0, "unknown"),
        (34, "unknown"),
        (-1, "unknown"),
    ] {
        let s = SignalInfo {
            signo,
            code: 0,
            errno: 0,
            fault_addr: None,
            sender_pid: None,
        };
        assert_eq!(s.name(), name);
    }
    Ok(())
}

#[test]
fn signal_falls_back_to_prstatus_without_siginfo() -> TestResult {
    let t = Thread {
        tid: 5,
        ppid: 1,
        pgrp: 5,
        cursig: 6,
        regs: Registers::default(),
    };
    let core = CoreFile::from_bytes(CoreBuilder::new().thread_info(t).build())?;
    let s = core.signal().ok_or("no signal")?;
    assert_eq!(
        (s.signo, s.name(), s.fault_addr, s.sender_pid),
        (6, "SIGABRT", None, None)
    );
    // No signal at all: None.
    let core = CoreFile::from_bytes(CoreBuilder::new().thread(5, Registers::default()).build())?;
    assert!(core.signal().is_none());
    Ok(())
}

#[test]
fn process_strings_are_trimmed_and_lossy() -> TestResult {
    let p = ProcessInfo {
        pid: 1,
        ppid: 0,
        uid: 0,
        gid: 0,
        state: 3,
        fname: "a-very-long-process-name".into(),
        psargs: "node t.js ".into(),
    };
    let core = CoreFile::from_bytes(CoreBuilder::new().prpsinfo(p).build())?;
    let got = core.process().ok_or("no process")?;
    assert_eq!(got.fname, "a-very-long-pro"); // 15 bytes + NUL in the note
    assert_eq!(got.psargs, "node t.js"); // the kernel's trailing space is dropped
    assert_eq!(got.state, 3);

    let mut desc = testing::prpsinfo_desc(&ProcessInfo {
        pid: 1,
        ppid: 0,
        uid: 0,
        gid: 0,
        state: 0,
        fname: String::new(),
        psargs: String::new(),
    });
    desc[40..44].copy_from_slice(b"n\xffde");
    desc[56..136].fill(b'x'); // no NUL at all
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .note("CORE", testing::NT_PRPSINFO, desc)
            .build(),
    )?;
    let got = core.process().ok_or("no process")?;
    assert_eq!(got.fname, "n\u{fffd}de");
    assert_eq!(got.psargs, "x".repeat(80));
    Ok(())
}

#[test]
fn no_notes_at_all() -> TestResult {
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .segment(0x1000, Perms::R, &[1], 1)
            .build(),
    )?;
    assert!(core.threads().is_empty() && core.process().is_none() && core.signal().is_none());
    assert!(core.mapped_files().is_empty() && core.auxv().is_empty());
    Ok(())
}

#[test]
fn unknown_and_foreign_notes_are_ignored() -> TestResult {
    let core = CoreFile::from_bytes(
        sample()
            .note("CORE", 0x1234, vec![1, 2, 3])
            .note("LINUX", 1, vec![0; 4]) // type 1 but not owned by CORE
            .note("GNU", 3, vec![0; 20])
            .note("", 0, vec![])
            .build(),
    )?;
    check_sample(&core)
}

#[test]
fn longer_known_notes_are_accepted() -> TestResult {
    let t = Thread {
        tid: 9,
        ppid: 1,
        pgrp: 9,
        cursig: 0,
        regs: regs_for(9),
    };
    let mut desc = testing::prstatus_desc(&t);
    desc.extend_from_slice(&[0xee; 40]);
    let mut sig = testing::siginfo_desc(&SignalInfo {
        signo: 6,
        code: 0,
        errno: 0,
        fault_addr: None,
        sender_pid: Some(3),
    });
    sig.extend_from_slice(&[0xee; 8]);
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .note("CORE", testing::NT_PRSTATUS, desc)
            .note("CORE", testing::NT_SIGINFO, sig)
            .build(),
    )?;
    assert_eq!(core.threads(), &[t]);
    assert_eq!(core.signal().map(|s| s.sender_pid), Some(Some(3)));
    Ok(())
}

fn expect_malformed_note(b: CoreBuilder, needle: &str) -> TestResult {
    match CoreFile::from_bytes(b.build()) {
        Err(OpenError::MalformedNote { what, .. }) if what.contains(needle) => Ok(()),
        other => fail(format!(
            "expected a malformed note containing {needle:?}, got {other:?}"
        )),
    }
}

#[test]
fn short_known_notes_are_errors() -> TestResult {
    let b = CoreBuilder::new;
    expect_malformed_note(
        b().note("CORE", testing::NT_PRSTATUS, vec![0; 335]),
        "NT_PRSTATUS",
    )?;
    expect_malformed_note(
        b().note("CORE", testing::NT_PRPSINFO, vec![0; 135]),
        "NT_PRPSINFO",
    )?;
    expect_malformed_note(
        b().note("CORE", testing::NT_SIGINFO, vec![0; 127]),
        "NT_SIGINFO",
    )?;
    expect_malformed_note(b().note("CORE", testing::NT_AUXV, vec![0; 24]), "NT_AUXV")?;
    expect_malformed_note(b().note("CORE", testing::NT_FILE, vec![0; 15]), "NT_FILE")?;
    Ok(())
}

#[test]
fn inconsistent_nt_file_is_an_error() -> TestResult {
    let files = [
        MappedFile {
            start: 0x1000,
            end: 0x2000,
            file_offset: 0,
            path: "/a".into(),
        },
        MappedFile {
            start: 0x2000,
            end: 0x3000,
            file_offset: 0x1000,
            path: "/b".into(),
        },
    ];
    let good = testing::nt_file_desc(&files);
    let note = |d: Vec<u8>| CoreBuilder::new().note("CORE", testing::NT_FILE, d);
    // Sanity: the unmodified descriptor parses.
    let core = CoreFile::from_bytes(note(good.clone()).build())?;
    assert_eq!(core.mapped_files(), &files);

    let mut d = good.clone();
    d[0] = 200; // count larger than the table
    expect_malformed_note(note(d), "count")?;
    let mut d = good.clone();
    d[..8].copy_from_slice(&u64::MAX.to_le_bytes()); // count * 24 overflows
    expect_malformed_note(note(d), "count")?;
    let mut d = good.clone();
    d.truncate(d.len() - 1); // last path loses its NUL
    expect_malformed_note(note(d), "paths")?;
    let mut d = good.clone();
    d.truncate(16 + 48); // no strings at all
    expect_malformed_note(note(d), "paths")?;
    let mut d = good.clone();
    d[8..16].fill(0); // page size 0
    expect_malformed_note(note(d), "page size")?;
    let mut d = good.clone();
    d[16 + 8..16 + 16].copy_from_slice(&0u64.to_le_bytes()); // end < start
    expect_malformed_note(note(d), "ends before")?;
    let mut d = good;
    d[16 + 16..16 + 24].copy_from_slice(&u64::MAX.to_le_bytes()); // pgoff * page size overflows
    expect_malformed_note(note(d), "overflows")?;
    Ok(())
}

#[test]
fn nt_file_with_zero_entries() -> TestResult {
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .note("CORE", testing::NT_FILE, testing::nt_file_desc(&[]))
            .build(),
    )?;
    assert!(core.mapped_files().is_empty());
    Ok(())
}

#[test]
fn auxv_without_at_null_and_first_note_wins() -> TestResult {
    let mut d = Vec::new();
    for v in [7u64, 8, 9, 10] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    let core = CoreFile::from_bytes(
        CoreBuilder::new()
            .note("CORE", testing::NT_AUXV, d)
            .note("CORE", testing::NT_AUXV, testing::auxv_desc(&[(1, 1)]))
            .build(),
    )?;
    assert_eq!(core.auxv(), &[(7, 8), (9, 10)]);
    Ok(())
}

#[test]
fn note_sizes_past_the_segment_are_errors() -> TestResult {
    let (mut bytes, layout) = sample().build_with_layout();
    let at = layout.notes_offset as usize;
    // namesz of the first note: huge.
    bytes[at..at + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    match CoreFile::from_bytes(bytes.clone()) {
        Err(OpenError::MalformedNote { offset, .. }) if offset == layout.notes_offset => {}
        other => {
            return fail(format!(
                "expected malformed note at the first note, got {other:?}"
            ))
        }
    }
    // descsz of the first note: huge.
    bytes[at..at + 4].copy_from_slice(&5u32.to_le_bytes());
    bytes[at + 4..at + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    match CoreFile::from_bytes(bytes) {
        Err(OpenError::MalformedNote { .. }) => Ok(()),
        other => fail(format!("expected malformed note, got {other:?}")),
    }
}

#[test]
fn second_note_error_reports_its_offset() -> TestResult {
    // First note is a 336-byte NT_PRSTATUS (12 + 8 + 336 = 356 bytes); corrupt the second.
    let (mut bytes, layout) = sample().build_with_layout();
    let second = layout.notes_offset as usize + 356;
    bytes[second + 4..second + 8].copy_from_slice(&0xffff_0000u32.to_le_bytes());
    match CoreFile::from_bytes(bytes) {
        Err(OpenError::MalformedNote { offset, .. }) if offset == second as u64 => Ok(()),
        other => fail(format!(
            "expected malformed note at {second:#x}, got {other:?}"
        )),
    }
}

#[test]
fn bad_note_alignment_is_an_error() -> TestResult {
    let (mut bytes, layout) = sample().build_with_layout();
    let p_align = layout.phdrs_offset as usize + 48; // PT_NOTE is the first program header
    bytes[p_align..p_align + 8].copy_from_slice(&16u64.to_le_bytes());
    match CoreFile::from_bytes(bytes.clone()) {
        Err(OpenError::MalformedNote { what, .. }) if what.contains("alignment") => {}
        other => return fail(format!("expected an alignment error, got {other:?}")),
    }
    for ok in [0u64, 1, 2, 4] {
        bytes[p_align..p_align + 8].copy_from_slice(&ok.to_le_bytes());
        check_sample(&CoreFile::from_bytes(bytes.clone())?)?;
    }
    Ok(())
}
