//! The default training pipeline (`Pipeline::recipe`) on 256² and 512² tiles,
//! one thread. Each iteration augments a fresh copy with a new sample index,
//! so the mix of transforms follows the pipeline's probabilities.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ftu_augment::Pipeline;

mod synthetic;
use synthetic::tile;

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
