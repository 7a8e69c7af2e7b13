//! End-to-end training on a tiny generated tile dataset: NaN handling
//! keeps the last good checkpoint, resuming a finished fold is a no-op,
//! an existing run is never overwritten without `resume`, cv.json.

use std::path::Path;

use candle_core::Device;
use ftu_models::{Arch, Encoder, ModelConfig, SegmentationModel};
use ftu_tiling::ManifestRow;
use ftu_train::checkpoint::{load_last, weights_finite};
use ftu_train::optim::AdamW;
use ftu_train::schedule::{Per, Schedule};
use ftu_train::{Augment, ProgressMode, TrainConfig, TrainError, TrainOptions};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};

const SIDE: usize = 32;

/// `n` tiles: noisy pale background, and in every other tile a dark
/// magenta disc that is the mask; folds alternate in pairs.
fn write_tiles(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("masks")).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut rows = Vec::new();
    for i in 0..n {
        let (cy, cx, r) = (
            rng.random_range(8..24) as f64,
            rng.random_range(8..24) as f64,
            rng.random_range(4..8) as f64,
        );
        let has = i % 2 == 0;
        let mask = Array2::from_shape_fn((SIDE, SIDE), |(y, x)| {
            u8::from(has && (y as f64 - cy).hypot(x as f64 - cx) < r)
        });
        let mut image = Array3::from_shape_fn((SIDE, SIDE, 3), |(_, _, c)| [225u8, 200, 215][c]);
        for ((y, x, c), v) in image.indexed_iter_mut() {
            let noise: i16 = rng.random_range(-20..20);
            let base = if mask[[y, x]] == 1 {
                [150i16, 60, 130][c]
            } else {
                *v as i16
            };
            *v = (base + noise).clamp(0, 255) as u8;
        }
        let id = format!("t{i:03}");
        ftu_tiling::png::write_rgb(&dir.join("images").join(format!("{id}.png")), image.view())
            .unwrap();
        ftu_tiling::png::write_mask(&dir.join("masks").join(format!("{id}.png")), mask.view())
            .unwrap();
        rows.push(ManifestRow {
            tile_id: id,
            source: "competition".into(),
            slide_id: format!("s{}", i % 4),
            x: 0,
            y: 0,
            size: 256,
            glomerulus_fraction: mask.iter().map(|&v| v as f64).sum::<f64>() / (SIDE * SIDE) as f64,
            has_glomerulus: has,
            fold: (i / 2) % 2,
        });
    }
    ftu_tiling::preprocess::write_manifest(&dir.join("manifest.csv"), &rows).unwrap();
}

fn tiny_config() -> TrainConfig {
    let mut cfg = TrainConfig::new(ModelConfig::new(Arch::Linknet, Encoder::B0));
    cfg.epochs = 2;
    cfg.batch_size = 4;
    cfg.steps_per_epoch = Some(2);
    cfg.validation.precise_bn_batches = 1;
    cfg.augment = Augment::None;
    cfg.checkpoint_every = 1;
    cfg.loader_threads = 1;
    cfg
}

fn silent(resume: bool) -> TrainOptions {
    TrainOptions {
        resume,
        progress: ProgressMode::Silent,
    }
}

#[test]
fn non_finite_training_stops_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiles");
    write_tiles(&data, 16);
    let mut cfg = tiny_config();
    cfg.optimizer.weight_decay = 0.0;
    // Two sane steps, then a learning rate that blows the weights up.
    cfg.schedule = Schedule::Step {
        lr: 1e-3,
        step_size: 2,
        gamma: 1e38,
        per: Per::Step,
    };
    let out = dir.path().join("runs");
    let err = ftu_train::train_fold(&data, &out, 0, &cfg, &silent(false)).unwrap_err();
    let TrainError::NonFinite { step, .. } = err else {
        panic!("expected a non-finite error, got {err}");
    };
    assert!(err.to_string().contains("not finite"), "{err}");
    // The checkpoint on disk is from before the failure and loads cleanly.
    let model = SegmentationModel::new(&cfg.model, &Device::Cpu, 0).unwrap();
    let params = model
        .entries()
        .iter()
        .filter_map(|e| match &e.slot {
            ftu_models::Slot::Param(v) => Some((e.name.clone(), v.clone())),
            _ => None,
        })
        .collect();
    let mut opt = AdamW::new(params, cfg.optimizer).unwrap();
    let state = load_last(&out.join("fold0/last.safetensors"), &model, &mut opt).unwrap();
    assert!(
        state.step >= 2 && state.step <= step,
        "saved {} failed {step}",
        state.step
    );
    assert!(weights_finite(&model).unwrap());
    assert!(!state.finished);
}

#[test]
fn trains_resumes_as_a_no_op_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tiles");
    write_tiles(&data, 16);
    let mut cfg = tiny_config();
    cfg.augment = Augment::Recipe;
    cfg.early_stopping_patience = Some(5);
    let out = dir.path().join("runs");
    let cv = ftu_train::train_folds(&data, &out, &[], &cfg, &silent(false)).unwrap();
    assert_eq!(cv.folds.iter().map(|r| r.fold).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(cv.best_folds(1).len(), 1);
    let fold0 = out.join("fold0");
    for f in [
        "config.toml",
        "best.safetensors",
        "last.safetensors",
        "metrics.csv",
        "curves.png",
        "report.json",
    ] {
        assert!(fold0.join(f).is_file(), "{f} missing");
    }
    assert!(out.join("cv.json").is_file());
    let metrics = ftu_train::fold::read_metrics(&fold0.join("metrics.csv")).unwrap();
    assert_eq!(metrics.len(), 2);
    assert!(
        metrics
            .iter()
            .all(|m| m.train_loss.is_finite() && (0.0..=1.0).contains(&m.val_dice))
    );
    // The run dir alone rebuilds the network, and best loads strictly.
    let run = ftu_train::RunConfig::read(&fold0.join("config.toml")).unwrap();
    assert_eq!(run.tiles.size, SIDE);
    assert_eq!(run.tiles.tile, 256);
    let model = SegmentationModel::new(&run.model, &Device::Cpu, 1).unwrap();
    model
        .load_safetensors(fold0.join("best.safetensors"))
        .unwrap();
    // Finished: resuming returns the same report without training.
    let before = std::fs::metadata(fold0.join("last.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    let again = ftu_train::train_fold(&data, &out, 0, &cfg, &silent(true)).unwrap();
    assert_eq!(again, cv.folds[0]);
    let after = std::fs::metadata(fold0.join("last.safetensors"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
    // Without resume an existing run is an error, and a changed config is refused.
    let err = ftu_train::train_fold(&data, &out, 0, &cfg, &silent(false)).unwrap_err();
    assert!(err.to_string().contains("last.safetensors"), "{err}");
    let mut other = cfg.clone();
    other.seed += 1;
    let err = ftu_train::train_fold(&data, &out, 0, &other, &silent(true)).unwrap_err();
    assert!(err.to_string().contains("different configuration"), "{err}");
    // A fold that does not exist names the folds there are.
    let err = ftu_train::train_fold(&data, &out, 7, &cfg, &silent(false)).unwrap_err();
    assert!(err.to_string().contains("fold 7"), "{err}");
}
