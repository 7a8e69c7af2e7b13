//! Upsampling kernels against the candle compositions they replace on the
//! CPU, forward + backward: nearest x2 on a Unet decoder map and bilinear x2
//! (aligned corners) on an FPN segmentation-block map.

use std::hint::black_box;

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_models::kernels::{self, composed};

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    // Unet, batch 8 at 256²: block 2 upsamples 128 channels from 32² to 64².
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (8, 128, 32, 32), &dev).unwrap()).unwrap();
    let xt = x.as_tensor();
    let mut group = c.benchmark_group("upsample_8x128x32x32_x2");
    group.sample_size(10);
    group.bench_function("nearest/kernel_forward_backward", |b| {
        b.iter(|| {
            let y = kernels::upsample_nearest(xt, 2, 2).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("nearest/candle_forward_backward", |b| {
        b.iter(|| {
            let y = composed::nearest(xt, 2, 2).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("bilinear/kernel_forward_backward", |b| {
        b.iter(|| {
            let y = kernels::upsample_bilinear_aligned(xt, 2).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("bilinear/candle_forward_backward", |b| {
        b.iter(|| {
            let y = composed::bilinear_aligned(xt, 2).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
