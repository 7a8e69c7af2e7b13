//! End-to-end binary CRF (unary, both lattices, 5 mean-field iterations) at
//! 512², 1024² and 2048², on the synthetic scene that
//! `scripts/crf_reference.py` times pydensecrf on (same integer formula).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ftu_crf::{BinaryCrfParams, refine_foreground};

// As in the xtask binary: freed pages stay with the process (this VM's host
// reclaims freed pages, and faulting them in again dominates large calls).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod scene;
use scene::scene;

fn bench_crf(c: &mut Criterion) {
    let mut group = c.benchmark_group("crf_binary_5iter");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    let params = BinaryCrfParams::default();
    for size in [512usize, 1024, 2048] {
        let (image, prob) = scene(size);
        group.bench_function(format!("{size}x{size}"), |b| {
            b.iter(|| {
                refine_foreground(black_box(image.view()), black_box(prob.view()), &params).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_crf);
criterion_main!(benches);
