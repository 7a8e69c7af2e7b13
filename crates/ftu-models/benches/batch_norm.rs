//! Fused batch norm + swish against candle's composition (training mode,
//! forward + backward; eval-mode scale-shift forward), on an expanded
//! efficientnet-b0 feature map.

use std::hint::black_box;

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_models::kernels::{self, Act};

/// `silu(batch_norm(x))` as candle ops, the training-mode path off the CPU.
fn composed(x: &Tensor, g: &Tensor, b: &Tensor) -> Tensor {
    let (y, _, _) = kernels::composed::batch_norm(x, g, b, 1e-3).unwrap();
    y.silu().unwrap()
}

fn bench(c: &mut Criterion) {
    let dev = Device::Cpu;
    let (n, ch, size) = (2, 96, 64);
    let x =
        Var::from_tensor(&Tensor::randn(0f32, 1.0, (n, ch, size, size), &dev).unwrap()).unwrap();
    let g = Var::from_tensor(&Tensor::ones(ch, candle_core::DType::F32, &dev).unwrap()).unwrap();
    let b = Var::from_tensor(&Tensor::zeros(ch, candle_core::DType::F32, &dev).unwrap()).unwrap();
    let (xt, gt, bt) = (x.as_tensor(), g.as_tensor(), b.as_tensor());
    let mut group = c.benchmark_group("batch_norm_silu_2x96x64x64");
    group.sample_size(10);
    group.bench_function("train/kernel_forward_backward", |bn| {
        bn.iter(|| {
            let (y, _) = kernels::batch_norm_train(xt, gt, bt, 1e-3, Act::Silu).unwrap();
            black_box(y.sum_all().unwrap().backward().unwrap())
        })
    });
    group.bench_function("train/candle_forward_backward", |bn| {
        bn.iter(|| black_box(composed(xt, gt, bt).sum_all().unwrap().backward().unwrap()))
    });
    group.bench_function("eval/kernel_forward", |bn| {
        bn.iter(|| black_box(kernels::scale_shift_act(xt, gt, bt, Act::Silu).unwrap()))
    });
    group.bench_function("eval/candle_forward", |bn| {
        bn.iter(|| {
            let shape = (1, ch, 1, 1);
            black_box(
                xt.broadcast_mul(&gt.reshape(shape).unwrap())
                    .unwrap()
                    .broadcast_add(&bt.reshape(shape).unwrap())
                    .unwrap()
                    .silu()
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
