//! The default training pipeline (`Pipeline::recipe`) on 256² and 512² tiles,
//! one thread. Each iteration augments a fresh copy with a new sample index,
//! so the mix of transforms follows the pipeline's probabilities.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ftu_augment::Pipeline;
use ndarray::{Array2, Array3};

/// A tissue-like synthetic tile: pink background, purple blobs, a round label.
fn tile(n: usize) -> (Array3<u8>, Array2<u8>) {
    let c = n as f32 / 2.0;
    let mask = Array2::from_shape_fn((n, n), |(y, x)| {
        u8::from((y as f32 - c).hypot(x as f32 - c) < n as f32 / 5.0)
    });
    let image = Array3::from_shape_fn((n, n, 3), |(y, x, ch)| {
        let t = ((x * 7 + y * 3) % 23) as f32 / 23.0;
        let blob = ((x / 9 + y / 11) % 5 == 0) as u8 as f32;
        let base = [230.0, 180.0, 210.0][ch] - blob * [90.0, 100.0, 40.0][ch];
        (base - 20.0 * t) as u8
    });
    (image, mask)
}

fn bench(c: &mut Criterion) {
    let pipeline = Pipeline::recipe();
    let mut group = c.benchmark_group("recipe_pipeline");
    group.throughput(Throughput::Elements(1));
    for n in [256usize, 512] {
        let (image, mask) = tile(n);
        let mut sample = 0u64;
        group.bench_function(format!("{n}x{n}"), |b| {
            b.iter_batched(
                || {
                    sample += 1;
                    (image.clone(), mask.clone(), sample)
                },
                |(mut i, mut m, s)| {
                    pipeline.apply_seeded(&mut i, &mut m, 0, s).unwrap();
                    black_box((i, m))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
