//! Group norm + ReLU (FPN's segmentation blocks) and the squeeze-and-
//! excitation gate against the candle compositions they replace on the CPU,
//! forward + backward.

use std::hint::black_box;

use candle_core::{DType, Device, Tensor, Var};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_models::kernels::{self, Act, composed};

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    // FPN at batch 8, 256²: a 128-channel segmentation block at 64².
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (8, 128, 64, 64), &dev).unwrap()).unwrap();
    let g = Var::from_tensor(&Tensor::ones(128, DType::F32, &dev).unwrap()).unwrap();
    let b = Var::from_tensor(&Tensor::zeros(128, DType::F32, &dev).unwrap()).unwrap();
    let (xt, gt, bt) = (x.as_tensor(), g.as_tensor(), b.as_tensor());
    let mut group = c.benchmark_group("group_norm_relu_8x128x64x64");
    group.sample_size(10);
    group.bench_function("kernel_forward_backward", |bn| {
        bn.iter(|| {
            let y = kernels::group_norm_act(xt, gt, bt, 32, 1e-5, Act::Relu).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("candle_forward_backward", |bn| {
        bn.iter(|| {
            let y = composed::group_norm(xt, gt, bt, 32, 1e-5)
                .unwrap()
                .relu()
                .unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.finish();

    // efficientnet-b0's second stage at batch 8, 256²: 96 channels at 128².
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (8, 96, 128, 128), &dev).unwrap()).unwrap();
    let s = Var::from_tensor(&Tensor::randn(0f32, 1.0, (8, 96, 1, 1), &dev).unwrap()).unwrap();
    let (xt, st) = (x.as_tensor(), s.as_tensor());
    let mut group = c.benchmark_group("se_gate_8x96x128x128");
    group.sample_size(10);
    group.bench_function("kernel_forward_backward", |bn| {
        bn.iter(|| {
            let y = kernels::se_gate(xt, st).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("candle_forward_backward", |bn| {
        bn.iter(|| {
            let y = xt
                .broadcast_mul(&candle_nn::ops::sigmoid(st).unwrap())
                .unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
