//! End-to-end binary CRF (unary, both lattices, 5 mean-field iterations) at
//! 512², 1024² and 2048², on the synthetic scene that
//! `scripts/crf_reference.py` times pydensecrf on (same integer formula).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ftu_crf::{BinaryCrfParams, refine_foreground};
use ndarray::{Array2, Array3};

// As in the xtask binary: freed pages stay with the process (this VM's host
// reclaims freed pages, and faulting them in again dominates large calls).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Discs on a 128-pixel grid with integer texture; mirrors `scene()` in
/// `scripts/crf_reference.py`.
fn scene(size: usize) -> (Array3<u8>, Array2<f32>) {
    let noise = |y: usize, x: usize| (x * 37 + y * 91 + (x * y) % 17) % 32;
    let inside = |y: usize, x: usize| {
        let (cx, cy) = ((x / 128) * 128 + 64, (y / 128) * 128 + 64);
        let r = 40 + ((x / 128) * 7 + (y / 128) * 13) % 20;
        let (dx, dy) = (x as i64 - cx as i64, y as i64 - cy as i64);
        dx * dx + dy * dy < (r * r) as i64
    };
    let image = Array3::from_shape_fn((size, size, 3), |(y, x, c)| {
        let n = noise(y, x);
        let rgb = if inside(y, x) {
            [190 - n, 70 + n, 130]
        } else {
            [220 + n / 4, 200 - n, 215]
        };
        rgb[c] as u8
    });
    let prob = Array2::from_shape_fn((size, size), |(y, x)| {
        let base = if inside(y, x) { 180 } else { 70 };
        (base + (noise(y, x) * 5) % 61 - 30) as f32 / 255.0
    });
    (image, prob)
}

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
