//! Times the reverse-reference index and the queries behind `findrefs` and `retainers` on a
//! core: the benchmark of `docs/performance.md` for "who holds it".
//!
//! ```text
//! cargo run --release -p coroner-analysis --example refs -- CORE [EXE] [--name NAME] [--queries N] [--retainers N]
//! ```
//!
//! Prints the time to open the core and build the object index, to build the reverse index
//! (and its size), then the latency of `findrefs` on N instances of NAME (default: the largest
//! row of the census that is not a V8 internal), the slowest and the median, and of `retainers`
//! on a few of them (the stacks unwound and the roots found once first), and the peak memory of the
//! process (Linux: `VmHWM`, `RssAnon`).

use std::time::{Duration, Instant};

use coroner_analysis::{Analysis, CensusOptions, InstancesQuery, RetainerOptions};
use coroner_image::{OpenOptions, ProcessImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut paths = Vec::new();
    let mut name = None;
    let mut queries = 1000usize;
    let mut retainer_queries = 10usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--name" => name = it.next().cloned(),
            "--queries" => queries = it.next().and_then(|n| n.parse().ok()).unwrap_or(queries),
            "--retainers" => {
                retainer_queries = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(retainer_queries)
            }
            p => paths.push(p.to_string()),
        }
    }
    let core = paths
        .first()
        .ok_or("usage: refs CORE [EXE] [--name NAME] [--queries N] [--retainers N]")?;
    let open = OpenOptions {
        exe: paths.get(1).map(Into::into),
        ..Default::default()
    };
    let t = Instant::now();
    let image = ProcessImage::open(core.as_ref(), &open)?;
    let analysis = Analysis::open(&image)?;
    let t_open = t.elapsed();
    let t = Instant::now();
    let index = analysis.index();
    let t_index = t.elapsed();
    let t = Instant::now();
    let refs = analysis.refs();
    let t_refs = t.elapsed();
    let name = name.unwrap_or_else(|| {
        analysis
            .census(&CensusOptions::default())
            .rows
            .iter()
            .find(|r| !r.name.starts_with('('))
            .map(|r| r.name.clone())
            .unwrap_or_default()
    });
    let found = analysis.instances(&InstancesQuery {
        name: name.clone(),
        limit: Some(queries),
        ..Default::default()
    });
    let mut times: Vec<Duration> = Vec::new();
    let mut named = 0usize;
    for &a in &found.addresses {
        let t = Instant::now();
        let r = analysis.references(a)?;
        times.push(t.elapsed());
        named += r.references.len();
    }
    times.sort_unstable();
    let t = Instant::now();
    let threads = analysis.stacks().len();
    let t_stacks = t.elapsed();
    let t = Instant::now();
    let roots = analysis.roots();
    let t_roots = t.elapsed();
    let mut r_times: Vec<(Duration, usize, Option<String>)> = Vec::new();
    for &a in found.addresses.iter().take(retainer_queries) {
        let t = Instant::now();
        let r = analysis.retainers(a, &RetainerOptions::default())?;
        r_times.push((t.elapsed(), r.visited, r.paths.first().map(|p| p.text())));
    }

    println!(
        "core: {core} ({} MiB)",
        std::fs::metadata(core)?.len() >> 20
    );
    println!("open image and heap:    {t_open:>10.2?}");
    println!(
        "object index:           {t_index:>10.2?}  ({} objects, {} MiB)",
        index.len(),
        index.memory_bytes() >> 20
    );
    println!(
        "reverse index:          {t_refs:>10.2?}  ({} references, {:.1} MiB)",
        refs.len(),
        refs.memory_bytes() as f64 / (1 << 20) as f64
    );
    if let (Some(first), Some(last)) = (times.first(), times.last()) {
        println!(
            "findrefs of {} {name}: median {:.2?}, fastest {first:.2?}, slowest {last:.2?} ({named} references named)",
            times.len(),
            times[times.len() / 2]
        );
    }
    println!("stacks:                 {t_stacks:>10.2?}  ({threads} threads)");
    println!(
        "roots:                  {t_roots:>10.2?}  ({} objects: {:?})",
        roots.len(),
        roots.counts()
    );
    for (t, visited, path) in &r_times {
        println!(
            "retainers: {t:>10.2?}, {visited} visited: {}",
            path.as_deref().unwrap_or("(no path)")
        );
    }
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
