//! The sliding window minus the network: reading and resizing tiles,
//! combining 4 TTA views, Gaussian stitching, threshold, RLE — on a
//! 2048 x 2048 tissue slide, 1024 -> 256 tiles with 512 overlap, and a model
//! that costs nothing (so the figure is the pipeline's own overhead).

use std::sync::Arc;

use candle_core::Tensor;
use criterion::{Criterion, criterion_group, criterion_main};
use ftu_ensemble::{BandSink, InferConfig, MemberConfig, TileModel, stitch_slide};
use ftu_models::{Arch, Encoder, ModelConfig};
use ftu_tiling::{WriteOptions, write_tiff};
use ndarray::{Array3, ArrayView2};

/// Logits = the normalised green channel (cheap, not constant).
struct Green;
impl TileModel for Green {
    fn logits(&self, x: &Tensor) -> ftu_ensemble::Result<Tensor> {
        x.narrow(1, 1, 1)
            .and_then(|t| t.contiguous())
            .map_err(|source| ftu_ensemble::EnsembleError::tensor("bench model", source))
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.tiff");
    let img = Array3::from_shape_fn((2048, 2048, 3), |(y, x, ch)| {
        [200u8, (100 + (x / 7 + y / 5) % 60) as u8, 170][ch]
    });
    write_tiff(&path, img.view(), &WriteOptions::default()).unwrap();
    let member = MemberConfig::explicit(
        ModelConfig::new(Arch::Unet, Encoder::B0),
        "unused.safetensors",
        1024,
        256,
        512,
    );
    let cfg = InferConfig::new(vec![member]);
    let models: Vec<Arc<dyn TileModel>> = vec![Arc::new(Green)];
    c.bench_function("window_2048_flips_no_model", |b| {
        b.iter(|| {
            let mut fg = 0usize;
            let mut sink = |_: usize, p: ArrayView2<f32>| {
                fg += p.iter().filter(|&&v| v > 0.4).count();
                Ok(())
            };
            stitch_slide(&path, &cfg, &models, &mut sink as &mut dyn BandSink).unwrap();
            fg
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
