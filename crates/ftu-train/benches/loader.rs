//! The loader's hot path: one batch of 8 tiles of 256 x 256 decoded from
//! PNG, augmented with the recipe pipeline and normalised into tensors.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ftu_augment::Pipeline;
use ftu_tiling::ManifestRow;
use ftu_train::data::TileSet;
use ftu_train::data::loader::{AugmentPlan, build_batch};
use ndarray::{Array2, Array3};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("images")).unwrap();
    std::fs::create_dir_all(d.join("masks")).unwrap();
    let mut rows = Vec::new();
    for i in 0..8 {
        let image = Array3::from_shape_fn((256, 256, 3), |(y, x, ch)| {
            ((x * 7 + y * 3 + ch * 50 + i * 11) % 256) as u8
        });
        let mask = Array2::from_shape_fn((256, 256), |(y, x)| {
            u8::from((y as i32 - 128).pow(2) + (x as i32 - 100).pow(2) < 900)
        });
        let id = format!("t{i}");
        ftu_tiling::png::write_rgb(&d.join(format!("images/{id}.png")), image.view()).unwrap();
        ftu_tiling::png::write_mask(&d.join(format!("masks/{id}.png")), mask.view()).unwrap();
        rows.push(ManifestRow {
            tile_id: id,
            source: "competition".into(),
            slide_id: "s".into(),
            x: 0,
            y: 0,
            size: 1024,
            glomerulus_fraction: 0.04,
            has_glomerulus: true,
            fold: i % 2,
        });
    }
    ftu_tiling::preprocess::write_manifest(&d.join("manifest.csv"), &rows).unwrap();
    let set = TileSet::open(d).unwrap();
    let tiles: Vec<usize> = (0..8).collect();
    let plan = AugmentPlan {
        pipeline: Arc::new(Pipeline::recipe()),
        seed: 1,
        epoch: 0,
    };
    let mut index = 0;
    c.bench_function("batch_8x256x256_decode_augment_normalise", |b| {
        b.iter(|| {
            index += 1;
            black_box(build_batch(&set, &tiles, index, Some(&plan)).unwrap())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
