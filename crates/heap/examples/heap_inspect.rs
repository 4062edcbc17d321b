//! Inspects heap objects of a core from the command line (a development aid; the `coroner`
//! binary's `inspect` and `findjsinstances` are the user's tools).
//!
//! ```text
//! cargo run --release -p coroner-heap --example heap_inspect -- CORE EXE find NAME [N]
//! cargo run --release -p coroner-heap --example heap_inspect -- CORE EXE inspect ADDR [DEPTH] [-F] [-m] [-s] [-l N]
//! ```
//!
//! `find` lists the first N (default 10) objects whose census name is NAME; `inspect` prints the
//! value tree in Rust's debug form (`coroner CORE -c 'inspect ADDR' --json` writes its JSON).

use coroner_heap::{HeapModel, InspectOptions};
use coroner_image::{OpenOptions, ProcessImage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: heap_inspect CORE EXE (find NAME [N] | inspect ADDR [DEPTH] [-F] [-m] [-s] [-l N])";
    let (core, exe, cmd) = match args.as_slice() {
        [core, exe, cmd, ..] => (core, exe, cmd),
        _ => return Err(usage.into()),
    };
    let options = OpenOptions {
        exe: Some(exe.into()),
        ..Default::default()
    };
    let image = ProcessImage::open(core.as_ref(), &options)?;
    let model = HeapModel::open(&image)?;
    let rest = &args[3..];
    match cmd.as_str() {
        "find" => {
            let name = rest.first().ok_or(usage)?;
            let n: usize = rest.get(1).and_then(|n| n.parse().ok()).unwrap_or(10);
            let mut found = 0;
            for page in model.pages() {
                for o in model.walk(page) {
                    if &*model.map_facts(o.map).census_name == name.as_str() {
                        found += 1;
                        if found <= n {
                            let isolate = model.isolate_of(o.addr);
                            println!(
                                "{:#x} {} isolate {isolate:?}",
                                o.addr,
                                model.short_object(o.addr)
                            );
                        }
                    }
                }
            }
            println!("{found} found");
        }
        "inspect" => {
            let addr = rest.first().ok_or(usage)?;
            let addr = u64::from_str_radix(addr.trim_start_matches("0x"), 16)?;
            let mut o = InspectOptions::default();
            let mut it = rest[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "-F" => o.full_strings = true,
                    "-m" => o.show_map = true,
                    "-s" => o.function_source = true,
                    "-l" => o.limit = it.next().and_then(|n| n.parse().ok()).unwrap_or(16),
                    d => o.depth = d.parse()?,
                }
            }
            match model.inspect(addr, &o) {
                Ok(v) => println!("{v:#?}"),
                Err(e) => println!("error: {e}"),
            }
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}
