//! The library in a dozen lines: open a core, take the census, list one constructor's
//! instances and inspect the first. (docs/library.md walks through it.)
//!
//! `cargo run --release -p coroner-analysis --example list_instances -- CORE Walrus`

use coroner_analysis::{Analysis, CensusOptions, InstancesQuery};
use coroner_heap::InspectOptions;
use coroner_image::{OpenOptions, ProcessImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (core, name) = match (args.next(), args.next()) {
        (Some(core), Some(name)) => (core, name),
        _ => return Err("usage: list_instances CORE CONSTRUCTOR".into()),
    };
    let image = ProcessImage::open(core.as_ref(), &OpenOptions::default())?;
    let analysis = Analysis::open(&image)?;
    for row in analysis
        .census(&CensusOptions::default())
        .rows
        .iter()
        .take(5)
    {
        println!("{:>10} {:>12}  {}", row.count, row.size, row.name);
    }
    let query = InstancesQuery {
        name,
        limit: Some(10),
        ..Default::default()
    };
    let found = analysis.instances(&query);
    println!(
        "{} instances; the first {}:",
        found.total,
        found.addresses.len()
    );
    for addr in &found.addresses {
        println!("  {addr:#x}");
    }
    if let Some(&first) = found.addresses.first() {
        let value = analysis
            .model()
            .inspect(first, &InspectOptions::default())?;
        println!("{}", value.short());
        let properties = value.object().and_then(|o| o.properties.as_deref());
        for p in properties.unwrap_or_default() {
            println!("  {}: {}", p.name, p.value.short());
        }
    }
    Ok(())
}
