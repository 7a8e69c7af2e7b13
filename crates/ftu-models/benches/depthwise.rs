//! The depthwise convolution kernel against the shifted-view composition
//! (which candle differentiates), forward + backward, on an efficientnet-b0
//! 5x5 stride-2 depthwise layer.

use std::hint::black_box;

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_models::kernels;

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 144, 64, 64), &dev).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::randn(0f32, 0.1, (144, 1, 5, 5), &dev).unwrap()).unwrap();
    let mut group = c.benchmark_group("depthwise_5x5s2_2x144x64x64");
    group.sample_size(10);
    group.bench_function("kernel_forward_backward", |b| {
        b.iter(|| {
            let y =
                kernels::depthwise_conv2d(x.as_tensor(), w.as_tensor(), 2, [1, 2, 1, 2]).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("candle_grouped_conv_forward", |b| {
        b.iter(|| {
            let xp = x
                .as_tensor()
                .pad_with_zeros(2, 1, 2)
                .unwrap()
                .pad_with_zeros(3, 1, 2)
                .unwrap();
            black_box(xp.conv2d(w.as_tensor(), 0, 2, 1, 144).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
