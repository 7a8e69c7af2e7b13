//! Forward passes (eval) and a forward + backward (training mode) of the
//! recipe's models on one 128x128 tile; `cargo xtask bench-model` times the
//! full batch-8 256² workload.

use std::hint::black_box;

use candle_core::{Device, Tensor};
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_models::{Arch, Encoder, ModelConfig, SegmentationModel};

fn bench(c: &mut Criterion) {
    let x = Tensor::randn(0f32, 1.0, (1, 3, 128, 128), &Device::Cpu).unwrap();
    let mut group = c.benchmark_group("ftu_models_1x128x128");
    group.sample_size(10);
    for arch in Arch::ALL {
        let model =
            SegmentationModel::new(&ModelConfig::new(arch, Encoder::B0), &Device::Cpu, 0).unwrap();
        group.bench_function(format!("{}_b0_forward", arch.name()), |b| {
            b.iter(|| black_box(model.forward(black_box(&x)).unwrap().mask.detach()))
        });
        group.bench_function(format!("{}_b0_forward_backward", arch.name()), |b| {
            b.iter(|| {
                let out = model.forward_t(black_box(&x), true).unwrap().mask;
                black_box(out.sqr().unwrap().mean_all().unwrap().backward().unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
