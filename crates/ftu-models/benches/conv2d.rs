//! The im2col + gemm convolution kernel against candle's `conv2d` /
//! `conv_transpose2d`, forward and forward + backward, on shapes from the
//! batch-8 256² efficientnet-b0 models (smaller batch to keep the bench short).

use std::hint::black_box;

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_models::kernels;

/// `(name, batch, cin, cout, kernel, stride, pad, size)`
type Case = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);
const CASES: [Case; 3] = [
    ("1x1_96to24_64px", 2, 96, 24, 1, 1, 0, 64),
    ("3x3_64to32_64px", 2, 64, 32, 3, 1, 1, 64),
    ("stem_3x3s2_3to32_128px", 2, 3, 32, 3, 2, 1, 128),
];

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let mut group = c.benchmark_group("conv2d");
    group.sample_size(10);
    for (name, n, cin, cout, k, stride, pad, size) in CASES {
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (n, cin, size, size), &dev).unwrap())
            .unwrap();
        let w =
            Var::from_tensor(&Tensor::randn(0f32, 0.1, (cout, cin, k, k), &dev).unwrap()).unwrap();
        let ours = || kernels::conv2d(x.as_tensor(), w.as_tensor(), stride, [pad; 4]).unwrap();
        let candle = || {
            x.as_tensor()
                .conv2d(w.as_tensor(), pad, stride, 1, 1)
                .unwrap()
        };
        group.bench_function(format!("{name}/kernel_forward"), |b| {
            b.iter(|| black_box(ours()))
        });
        group.bench_function(format!("{name}/candle_forward"), |b| {
            b.iter(|| black_box(candle()))
        });
        group.bench_function(format!("{name}/kernel_forward_backward"), |b| {
            b.iter(|| black_box(ours().sum_all().unwrap().backward().unwrap()))
        });
        group.bench_function(format!("{name}/candle_forward_backward"), |b| {
            b.iter(|| black_box(candle().sum_all().unwrap().backward().unwrap()))
        });
    }
    // Linknet's TransposeX2 (k4 s2 p1).
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 16, 32, 32), &dev).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::randn(0f32, 0.1, (16, 16, 4, 4), &dev).unwrap()).unwrap();
    let ours = || kernels::conv_transpose2d(x.as_tensor(), w.as_tensor(), 2, 1, 0).unwrap();
    let candle = || {
        x.as_tensor()
            .conv_transpose2d(w.as_tensor(), 1, 0, 2, 1)
            .unwrap()
    };
    group.bench_function("transpose_4x4s2_16to16_32px/kernel_forward_backward", |b| {
        b.iter(|| black_box(ours().sum_all().unwrap().backward().unwrap()))
    });
    group.bench_function("transpose_4x4s2_16to16_32px/candle_forward_backward", |b| {
        b.iter(|| black_box(candle().sum_all().unwrap().backward().unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
