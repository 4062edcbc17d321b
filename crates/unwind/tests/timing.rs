//! How long unwinding every thread of the largest fixture core takes (the `large` benchmark
//! core of `cargo xtask fixtures --large` when built, else the biggest core file): the first
//! walk (which parses each module's call frame information) and a second one. Printed, not
//! asserted (run with `--nocapture` to see it).

use std::time::Instant;

use coroner_image::{OpenOptions, ProcessImage};
use coroner_unwind::Unwinder;
use coroner_v8::Heap;

#[test]
fn unwinding_the_largest_fixture() {
    let largest = coroner_fixtures::largest();
    let t = Instant::now();
    let image = ProcessImage::open(&largest.core, &OpenOptions::with_exe(largest.exe.clone()))
        .expect("the core opens");
    let image_took = t.elapsed();
    let t = Instant::now();
    let heap = Heap::open(&image).expect("the heap opens");
    let heap_took = t.elapsed();
    let unwinder = Unwinder::from_heap(&image, &heap);
    let t = Instant::now();
    let first = unwinder.backtraces();
    let first_took = t.elapsed();
    let t = Instant::now();
    let second = unwinder.backtraces();
    let second_took = t.elapsed();
    assert_eq!(first, second);
    let frames: usize = first.iter().map(|b| b.frames.len()).sum();
    let native = Unwinder::new(&image);
    let t = Instant::now();
    let native_frames: usize = native.backtraces().iter().map(|b| b.frames.len()).sum();
    let native_took = t.elapsed();
    println!(
        "{}: {} threads, {frames} frames: unwound in {first_took:.2?} (first walk, parsing call \
         frame information), {second_took:.2?} (again); native-only unwinder {native_took:.2?} \
         ({native_frames} frames); ProcessImage::open {image_took:.2?}, Heap::open {heap_took:.2?}",
        largest.label(),
        first.len(),
    );
}
