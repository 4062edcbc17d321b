//! Print what `coroner-corefile` sees in a core: `cargo run -p coroner-corefile --example
//! core_summary -- CORE [ADDR...]` (ADDR in hex: also print the u64 there). For checking real
//! cores against `readelf -lnW` and gdb.

use std::path::PathBuf;
use std::process::ExitCode;

use coroner_corefile::{CoreFile, Source};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: core_summary CORE");
        return ExitCode::from(2);
    };
    let start = std::time::Instant::now();
    let core = match CoreFile::open(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "opened {} ({} bytes) in {:?}",
        path.display(),
        core.len(),
        start.elapsed()
    );
    if let Some(p) = core.process() {
        println!(
            "process: pid {} ppid {} uid {} gid {} state {} fname {:?} psargs {:?}",
            p.pid, p.ppid, p.uid, p.gid, p.state, p.fname, p.psargs
        );
    }
    if let Some(s) = core.signal() {
        println!(
            "signal: {} ({}) code {} errno {} fault_addr {:x?} sender_pid {:?}",
            s.name(),
            s.signo,
            s.code,
            s.errno,
            s.fault_addr,
            s.sender_pid
        );
    }
    println!("threads: {}", core.threads().len());
    for t in core.threads() {
        let r = &t.regs;
        println!(
            "  tid {} cursig {} rip {:#x} rsp {:#x} rbp {:#x} fs_base {:#x}",
            t.tid, t.cursig, r.rip, r.rsp, r.rbp, r.fs_base
        );
    }
    let m = core.memory();
    let absent = m
        .regions()
        .iter()
        .filter(|r| r.source == Source::Absent)
        .count();
    println!(
        "segments: {}, regions: {} ({} absent), bytes present: {:#x}",
        core.segments().len(),
        m.regions().len(),
        absent,
        m.bytes_present()
    );
    println!("mapped files: {}", core.mapped_files().len());
    for f in core.mapped_files().iter().take(8) {
        println!(
            "  {:#x}-{:#x} @{:#x} {}",
            f.start, f.end, f.file_offset, f.path
        );
    }
    println!(
        "auxv: {} entries; AT_PHDR {:x?} AT_ENTRY {:x?}",
        core.auxv().len(),
        core.auxv_value(3),
        core.auxv_value(9)
    );
    if let Some(t) = core.threads().first() {
        match m.read_u64(t.regs.rsp) {
            Ok(v) => println!("[rsp of thread 0] = {v:#x}"),
            Err(e) => println!("[rsp of thread 0]: {e}"),
        }
    }
    for a in std::env::args().skip(2) {
        match u64::from_str_radix(a.trim_start_matches("0x"), 16) {
            Ok(addr) => match m.read_u64(addr) {
                Ok(v) => println!("{addr:#x}: {v:#018x}"),
                Err(e) => println!("{addr:#x}: {e}"),
            },
            Err(e) => println!("{a}: {e}"),
        }
    }
    // Throughput of the hot path: 8-byte zero-copy reads over the first present region.
    if let Some(r) = m
        .regions()
        .iter()
        .find(|r| r.source != Source::Absent && r.end - r.start >= 4096)
    {
        let t = std::time::Instant::now();
        let mut sum = 0u64;
        let n = 10_000_000u64;
        for i in 0..n {
            let a = r.start + (i * 8) % (r.end - r.start - 8);
            if let Ok(b) = m.bytes(a, 8) {
                sum = sum.wrapping_add(u64::from(b[0]));
            }
        }
        println!("{n} bytes() calls in {:?} (checksum {sum})", t.elapsed());
    }
    ExitCode::SUCCESS
}
