//! Rendering and writing speed: one 512 x 512 tile, one band of a
//! 4096-wide slide (pixels and mask), and a whole 2048 x 2048 slide written
//! as BigTIFF.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ftu_synth::{SlideGenerator, SlideParams, TILE, write_tiff};

fn bench(c: &mut Criterion) {
    let slide = SlideGenerator::new(SlideParams {
        width: 4096,
        height: 4096,
        seed: 1,
        ..Default::default()
    });
    let mut buf = vec![0u8; TILE * TILE * 3];
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    // A tile of tissue (one thread), and a band of tiles (all threads).
    group.bench_function("tile 512x512", |b| {
        b.iter(|| slide.render_into(black_box(1536), 1536, TILE, TILE, &mut buf))
    });
    group.bench_function("band 4096x512", |b| {
        b.iter(|| black_box(slide.region(0, 1536, 4096, TILE)))
    });
    group.bench_function("mask band 4096x512", |b| {
        b.iter(|| black_box(slide.mask_region(0, 1536, 4096, TILE)))
    });
    group.finish();

    let small = SlideGenerator::new(SlideParams {
        width: 2048,
        height: 2048,
        seed: 2,
        ..Default::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("slide.tiff");
    let mut group = c.benchmark_group("write");
    group.sample_size(10);
    group.bench_function("write_tiff 2048x2048", |b| {
        b.iter(|| write_tiff(&small, &path, |_, _| {}).expect("write"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
