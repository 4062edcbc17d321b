//! Times the census and the listing of instances on a core, and prints the top of the census:
//! the benchmark of `docs/performance.md`.
//!
//! ```text
//! cargo run --release -p coroner-analysis --example census -- CORE [EXE] [--name NAME] [--top N] [--detailed] [--all]
//! ```
//!
//! Prints the time to open the core (process image, then heap), to build the object index, to
//! take the census (index included, as a first `findjsobjects` pays it), to take it again (index
//! built), to list every instance of NAME (default: the largest row's name), and the peak
//! memory of the process (Linux: `VmHWM`, and `RssAnon`, the memory not backed by the core's
//! mapping).

use std::time::Instant;

use coroner_analysis::{Analysis, CensusOptions, InstancesQuery};
use coroner_heap::HeapModel;
use coroner_image::{OpenOptions, ProcessImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut paths = Vec::new();
    let mut name = None;
    let mut top = 15usize;
    let mut options = CensusOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--name" => name = it.next().cloned(),
            "--top" => top = it.next().and_then(|n| n.parse().ok()).unwrap_or(top),
            "--detailed" => options.detailed = true,
            "--all" => options.all = true,
            p => paths.push(p.to_string()),
        }
    }
    let core = paths
        .first()
        .ok_or("usage: census CORE [EXE] [--name NAME] [--top N] [--detailed] [--all]")?;
    let open = OpenOptions {
        exe: paths.get(1).map(Into::into),
        ..Default::default()
    };
    let t = Instant::now();
    let image = ProcessImage::open(core.as_ref(), &open)?;
    let t_image = t.elapsed();
    let rss_image = rss();
    let t = Instant::now();
    let model = HeapModel::open(&image)?;
    let t_heap = t.elapsed();
    let rss_heap = rss();
    let analysis = Analysis::new(&image, model);

    let t = Instant::now();
    let census = analysis.census(&options);
    let t_census_first = t.elapsed();
    let rss_census = rss();
    let index = analysis.index();
    let t = Instant::now();
    let again = analysis.census(&options);
    let t_census_again = t.elapsed();
    assert_eq!(census, again);
    let name = name.unwrap_or_else(|| {
        census
            .rows
            .first()
            .map(|r| r.name.clone())
            .unwrap_or_default()
    });
    let t = Instant::now();
    let found = analysis.instances(&InstancesQuery {
        name: name.clone(),
        ..Default::default()
    });
    let t_instances = t.elapsed();
    // What `findjsinstances -d` adds: every instance inspected (default options).
    let t = Instant::now();
    let inspect = coroner_heap::InspectOptions::default();
    let decoded = found
        .addresses
        .iter()
        .filter(|&&a| analysis.model().inspect(a, &inspect).is_ok())
        .count();
    let t_inspect = t.elapsed();

    println!("{:>10} {:>14}  Name", "Instances", "Total Size");
    for row in census.rows.iter().take(top) {
        println!("{:>10} {:>14}  {}", row.count, row.size, row.name);
    }
    println!(
        "... {} rows; {} objects, {} bytes in all ({} objects, {} bytes of V8 internals not listed)",
        census.rows.len(),
        census.total.count,
        census.total.size,
        census.hidden.count,
        census.hidden.size
    );
    println!();
    println!(
        "core: {core} ({} MiB)",
        std::fs::metadata(core)?.len() >> 20
    );
    println!("open image:             {t_image:>10.2?}");
    println!("open heap:              {t_heap:>10.2?}");
    println!(
        "census (index + count): {t_census_first:>10.2?}  ({} objects indexed, index {} MiB)",
        index.len(),
        index.memory_bytes() >> 20
    );
    println!("census (index built):   {t_census_again:>10.2?}");
    println!(
        "instances of {name}: {} listed in {t_instances:.2?}",
        found.addresses.len()
    );
    let mib = |kb: Option<(u64, u64)>| match kb {
        Some((anon, file)) => format!(
            "{} MiB anonymous + {} MiB of mapped files",
            anon >> 10,
            file >> 10
        ),
        None => "?".to_string(),
    };
    println!("resident after opening the image: {}", mib(rss_image));
    println!("resident after opening the heap:  {}", mib(rss_heap));
    println!("resident after the census:        {}", mib(rss_census));
    println!("inspect of each of them (one thread): {decoded} in {t_inspect:.2?}");
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if ["VmHWM", "RssAnon", "RssFile"]
                .iter()
                .any(|k| line.starts_with(k))
            {
                println!("{}", line.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    Ok(())
}

/// Resident memory in KiB: (anonymous, file-backed), where the system tells (Linux).
fn rss() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("RssAnon:")?, field("RssFile:")?))
}
