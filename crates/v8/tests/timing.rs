//! How long walking every page of the largest fixture core takes (the `large` benchmark core of
//! `cargo xtask fixtures --large` when built, else the biggest core file), on one thread and on
//! all of them: printed, not asserted (run with `--nocapture` to see it).

use std::time::Instant;

use coroner_image::{OpenOptions, ProcessImage};
use coroner_v8::Heap;

#[test]
fn walk_of_the_largest_fixture() {
    let largest = coroner_fixtures::largest();
    let options = OpenOptions {
        exe: Some(largest.exe.clone()),
        ..OpenOptions::default()
    };
    let image = ProcessImage::open(&largest.core, &options).expect("the core opens");
    let t = Instant::now();
    let heap = Heap::open(&image).expect("the heap opens");
    let opened = t.elapsed();
    let t = Instant::now();
    let single: usize = heap.pages().iter().map(|p| heap.walk(p).count()).sum();
    let one = t.elapsed();
    let t = Instant::now();
    let parallel: usize = heap.par_map_pages(|_, walk| walk.count()).iter().sum();
    let many = t.elapsed();
    assert_eq!(single, parallel);
    println!(
        "{}: {} pages, {single} objects; Heap::open {opened:.2?}; walk {one:.2?} on one thread, {many:.2?} on {} threads",
        largest.label(),
        heap.pages().len(),
        rayon::current_num_threads()
    );
}
