//! Prints what coroner-v8 sees in a core: the layout's provenance and gaps, every isolate, and
//! every page with how its walk ended; then times a walk of all pages, on one thread and in
//! parallel.
//!
//! `cargo run --release -p coroner-v8 --example heap_summary -- CORE [EXE] [--pages]`

use std::collections::BTreeMap;
use std::time::Instant;

use coroner_image::{OpenOptions, ProcessImage};
use coroner_v8::{Heap, WalkEnd};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_pages = args.iter().any(|a| a == "--pages");
    let trace: Option<u64> = args
        .iter()
        .find_map(|a| a.strip_prefix("--trace="))
        .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok());
    let mut paths = args.iter().filter(|a| !a.starts_with("--"));
    let core = paths
        .next()
        .ok_or("usage: heap_summary CORE [EXE] [--pages]")?;
    let options = OpenOptions {
        exe: paths.next().map(Into::into),
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(core.as_ref(), &options)?;
    let t = Instant::now();
    let layout = coroner_v8::Layout::load(&image)?;
    let loaded = t.elapsed();
    let t = Instant::now();
    let heap = Heap::with_layout(image.memory(), layout)?;
    let opened = t.elapsed();
    let layout = heap.layout();
    let src = &layout.source;
    println!(
        "node {} (v8 {}), supplement {}, {} v8dbg constants; layout loaded in {loaded:.2?}, heap opened in {opened:.2?}",
        src.node_version,
        src.v8_version.as_deref().unwrap_or("?"),
        src.supplement,
        src.metadata_constants
    );
    for m in layout.missing() {
        println!("missing: {m}");
    }
    for d in layout.disagreements() {
        println!(
            "disagreement: {} metadata {} vs {} {}",
            d.fact, d.metadata, d.other_source, d.other
        );
    }
    for k in layout.unused_supplement_keys() {
        println!("unused supplement key: {k}");
    }
    for (i, iso) in heap.isolates().iter().enumerate() {
        println!(
            "isolate {i}: {:#x} roots {:#x} heap {:#x} new lab {:#x}..{:#x} old lab {:#x}..{:#x}",
            iso.addr,
            iso.roots,
            iso.heap,
            iso.new_lab.top,
            iso.new_lab.limit,
            iso.old_lab.top,
            iso.old_lab.limit
        );
    }
    let results = heap.par_map_pages(|page, mut walk| {
        let mut n = 0u64;
        let mut by_type: BTreeMap<u16, u64> = BTreeMap::new();
        for o in walk.by_ref() {
            n += 1;
            *by_type.entry(o.instance_type).or_default() += 1;
        }
        (page.clone(), n, walk.end(), by_type)
    });
    let mut ends: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0u64;
    let mut types: BTreeMap<u16, u64> = BTreeMap::new();
    for (page, n, end, by_type) in &results {
        total += n;
        for (t, c) in by_type {
            *types.entry(*t).or_default() += c;
        }
        let label = match end {
            Some(WalkEnd::AreaEnd) => "area end".to_string(),
            Some(WalkEnd::LabTop(_)) => "lab top".to_string(),
            Some(WalkEnd::PastTop { .. }) => "past top".to_string(),
            Some(WalkEnd::FromSpace) => "from-space".to_string(),
            Some(WalkEnd::TrimmedLarge { .. }) => "trimmed large object".to_string(),
            Some(WalkEnd::Stuck { .. }) | None => "stuck".to_string(),
        };
        *ends.entry(label).or_default() += 1;
        let stuck = matches!(end, Some(WalkEnd::Stuck { .. }));
        if show_pages || stuck {
            println!(
                "page {:#x} size {:#x} area {:#x}..{:#x} {:?} {:?} isolate {:?} flags {:#x}: {n} objects, {end:?}",
                page.addr,
                page.size,
                page.area_start,
                page.area_end,
                page.space,
                page.kind,
                page.isolate,
                page.flags
            );
        }
    }
    println!("{} pages, {total} objects; ends {ends:?}", results.len());
    let named: Vec<String> = types
        .iter()
        .rev()
        .map(|(t, c)| (c, layout.types.name(*t).unwrap_or("?"), t))
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .rev()
        .take(12)
        .map(|(c, n, t)| format!("{n}({t})={c}"))
        .collect();
    println!("top types: {}", named.join(" "));
    // Objects sized by each variable-size rule (maps with instance size 0).
    let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
    for (t, c) in &types {
        if let Some(rule) = layout.sizes.rule(*t) {
            *by_rule.entry(rule.name.as_str()).or_default() += c;
        }
    }
    println!("objects per size rule: {by_rule:?}");
    let found = heap
        .labs()
        .iter()
        .filter(|k| matches!(k.origin, coroner_v8::LabOrigin::Found { .. }))
        .count();
    println!("LABs found in memory: {found}");

    if let Some(addr) = trace {
        // Every object of the page holding `addr`, with its type name and size.
        if let Some(page) = heap
            .pages()
            .iter()
            .find(|p| p.addr <= addr && addr < p.addr + p.size)
        {
            let mut walk = heap.walk(page);
            for o in walk.by_ref() {
                println!(
                    "  {:#x} {} ({}) size {}",
                    o.addr,
                    layout.types.name(o.instance_type).unwrap_or("?"),
                    o.instance_type,
                    o.size
                );
            }
            println!("  end: {:?}", walk.end());
        }
    }
    let t = Instant::now();
    let mut single = 0u64;
    for page in heap.pages() {
        single += heap.walk(page).count() as u64;
    }
    let one = t.elapsed();
    let t = Instant::now();
    let par: u64 = heap
        .par_map_pages(|_, walk| walk.count() as u64)
        .iter()
        .sum();
    let many = t.elapsed();
    println!(
        "walk of all pages: {single} objects in {one:.2?} on one thread, {par} in {many:.2?} on {} threads",
        rayon::current_num_threads()
    );
    Ok(())
}
