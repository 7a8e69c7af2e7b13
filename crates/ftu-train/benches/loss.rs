//! BCE + Dice on a training batch of logits (8 x 1 x 256 x 256).

use std::hint::black_box;

use candle_core::{Device, Tensor, Var};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_train::BceDiceLoss;

fn bench(c: &mut Criterion) {
    let logits =
        Var::from_tensor(&Tensor::randn(0f32, 2.0, (8, 1, 256, 256), &Device::Cpu).unwrap())
            .unwrap();
    let target = Tensor::rand(0f32, 1.0, (8, 1, 256, 256), &Device::Cpu)
        .unwrap()
        .ge(0.5)
        .unwrap();
    let loss = BceDiceLoss::default();
    c.bench_function("bce_dice_forward_backward_8x256x256", |b| {
        b.iter(|| {
            let l = loss
                .forward(black_box(logits.as_tensor()), &target)
                .unwrap();
            black_box(l.backward().unwrap());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
