//! The whole path on small synthetic slides: tiling, models x TTA,
//! stitching, threshold / CRF, RLE, Dice, overlays, GeoJSON, ablation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Tensor;
use ftu_augment::TtaSet;
use ftu_ensemble::{
    BandSink, Combine, EnsembleError, InferConfig, MemberConfig, PostKind, PredictOptions,
    SlideInput, TileModel, predict_slides_with, stitch_slide, write_submission,
};
use ftu_models::{Arch, Encoder, ModelConfig};
use ftu_tiling::{Weighting, WriteOptions, write_tiff};
use ndarray::{Array2, Array3, ArrayView2, Axis};
use rand::{Rng, SeedableRng};

fn terr(source: candle_core::Error) -> EnsembleError {
    EnsembleError::tensor("test model", source)
}

/// Foreground where the normalised red channel is high and green low: on
/// the test slides exactly the glomeruli, so this model "returns the truth".
struct Oracle;
impl TileModel for Oracle {
    fn logits(&self, x: &Tensor) -> ftu_ensemble::Result<Tensor> {
        let red = x
            .narrow(1, 0, 1)
            .and_then(|t| t.affine(1.0, -1.8))
            .map_err(terr)?;
        let green = x
            .narrow(1, 1, 1)
            .and_then(|t| t.affine(-1.0, -0.9))
            .map_err(terr)?;
        red.minimum(&green)
            .and_then(|t| t.affine(20.0, 0.0))
            .map_err(terr)
    }
}

/// The same logit everywhere.
struct Constant(f32);
impl TileModel for Constant {
    fn logits(&self, x: &Tensor) -> ftu_ensemble::Result<Tensor> {
        let red = x.narrow(1, 0, 1).map_err(terr)?;
        (red.zeros_like().map_err(terr)? + f64::from(self.0)).map_err(terr)
    }
}

/// A 1x1 convolution: pointwise, so it commutes with flips and transposes.
struct Conv1x1([f64; 3], f64);
impl TileModel for Conv1x1 {
    fn logits(&self, x: &Tensor) -> ftu_ensemble::Result<Tensor> {
        let mut acc = (x.narrow(1, 0, 1).map_err(terr)? * self.0[0]).map_err(terr)?;
        for c in 1..3 {
            let t = (x.narrow(1, c, 1).map_err(terr)? * self.0[c]).map_err(terr)?;
            acc = (acc + t).map_err(terr)?;
        }
        (acc + self.1).map_err(terr)
    }
}

/// A 768 x 1024 slide: textured pink tissue, red glomeruli (discs), and a
/// glass corner with nothing in it. Returns the RGB and the truth mask.
fn slide_pixels(seed: u64) -> (Array3<u8>, Array2<u8>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (h, w) = (768usize, 1024usize);
    let discs: Vec<(f64, f64, f64)> = (0..7)
        .map(|_| {
            (
                rng.random_range(60.0..700.0),
                rng.random_range(60.0..700.0),
                rng.random_range(20.0..55.0),
            )
        })
        .collect();
    let noise: Vec<u8> = (0..h * w).map(|_| rng.random_range(0..40)).collect();
    let truth = Array2::from_shape_fn((h, w), |(y, x)| {
        let inside = discs.iter().any(|&(cy, cx, r)| {
            let (dy, dx) = (y as f64 + 0.5 - cy, x as f64 + 0.5 - cx);
            dy * dy + dx * dx < r * r
        });
        u8::from(inside)
    });
    let img = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        if truth[[y, x]] == 1 {
            [250, 20 + noise[y * w + x] / 2, 50][c]
        } else if x >= 768 && y < 256 {
            [245, 245, 245][c]
        } else {
            [170 + noise[y * w + x], 90 + noise[y * w + x], 160][c]
        }
    });
    (img, truth)
}

fn write_slide(dir: &Path, id: &str, seed: u64) -> SlideInput {
    let (img, truth) = slide_pixels(seed);
    let path = dir.join(format!("{id}.tiff"));
    write_tiff(&path, img.view(), &WriteOptions::default()).unwrap();
    SlideInput {
        id: id.into(),
        path,
        truth: Some(ftu_rle::encode(truth.view())),
    }
}

fn member(tile: usize, size: usize, overlap: usize) -> MemberConfig {
    MemberConfig::explicit(
        ModelConfig::new(Arch::Unet, Encoder::B0),
        "unused.safetensors",
        tile,
        size,
        overlap,
    )
}

fn config(members: Vec<MemberConfig>) -> InferConfig {
    let mut cfg = InferConfig::new(members);
    cfg.batch_size = 4;
    cfg.thumbnail_factor = 8;
    cfg
}

/// The full stitched map of a slide.
fn stitched(path: &Path, cfg: &InferConfig, models: &[Arc<dyn TileModel>]) -> Array2<f32> {
    let slide = ftu_tiling::Slide::open(path).unwrap();
    let mut map = Array2::<f32>::from_elem((slide.height() as usize, slide.width() as usize), -1.0);
    let mut sink = |y: usize, p: ArrayView2<f32>| {
        map.slice_mut(ndarray::s![y..y + p.nrows(), ..]).assign(&p);
        Ok(())
    };
    stitch_slide(path, cfg, models, &mut sink as &mut dyn BandSink).unwrap();
    assert!(map.iter().all(|&v| v >= 0.0), "every row is emitted once");
    map
}

fn opts() -> PredictOptions<'static> {
    PredictOptions {
        resume: false,
        ..PredictOptions::default()
    }
}

#[test]
fn oracle_gives_dice_one_through_the_whole_path() {
    let dir = tempfile::tempdir().unwrap();
    let slides = vec![
        write_slide(dir.path(), "a", 1),
        write_slide(dir.path(), "b", 2),
    ];
    let cfg = config(vec![member(256, 256, 64)]);
    let models: Vec<Arc<dyn TileModel>> = vec![Arc::new(Oracle)];
    let out = dir.path().join("out");
    let preds = predict_slides_with(&slides, &cfg, &models, &out, &opts()).unwrap();
    let stats = preds[0].stats.unwrap();
    assert!(
        stats.tiles < stats.tiles_total,
        "the glass corner is skipped"
    );
    // Score the written submission like `cargo xtask eval` does.
    let sub = out.join("submission.csv");
    write_submission(&sub, &preds).unwrap();
    let rows = ftu_rle::csv::read_encodings(&sub).unwrap();
    for (s, (id, rle)) in slides.iter().zip(&rows) {
        assert_eq!(id, &s.id);
        assert_eq!(
            ftu_rle::dice_rle(s.truth.as_ref().unwrap(), rle).unwrap(),
            1.0
        );
    }
    // Overlay: thumbnail size, and true positives only (green blend).
    let overlay = image::open(preds[0].overlay.as_ref().unwrap())
        .unwrap()
        .into_rgb8();
    assert_eq!(overlay.dimensions(), (128, 96));
    // GeoJSON: one polygon per connected glomerulus region, readable back.
    let anns = ftu_polygon::read_geojson(preds[0].geojson.as_ref().unwrap()).unwrap();
    assert_eq!(anns.len(), preds[0].polygons);
    assert!(!anns.is_empty());
    let polys: Vec<_> = anns.into_iter().flat_map(|a| a.polygons).collect();
    let back = ftu_polygon::rasterize(&polys, 0, 0, 1024, 768);
    let truth = ftu_rle::decode(slides[0].truth.as_ref().unwrap(), 768, 1024).unwrap();
    // Traced at 4-pixel precision: the polygons still match the truth closely.
    assert!(ftu_rle::dice_masks(back.view(), truth.view()) > 0.95);
}

#[test]
fn oracle_at_a_quarter_scale_and_mixed_geometries_stay_close() {
    let dir = tempfile::tempdir().unwrap();
    let slides = vec![write_slide(dir.path(), "c", 3)];
    let models: Vec<Arc<dyn TileModel>> = vec![Arc::new(Oracle), Arc::new(Oracle)];
    // 512 -> 128 and 256 -> 256: two window geometries merged band by band.
    let cfg = config(vec![member(512, 128, 128), member(256, 256, 64)]);
    let preds = predict_slides_with(&slides, &cfg, &models, dir.path(), &opts()).unwrap();
    let dice = preds[0].dice.unwrap();
    assert!(dice > 0.97, "dice {dice}");
}

#[test]
fn ensemble_of_identical_members_equals_one_member() {
    let dir = tempfile::tempdir().unwrap();
    let s = write_slide(dir.path(), "d", 4);
    let m: Arc<dyn TileModel> = Arc::new(Conv1x1([0.8, -1.1, 0.3], 0.2));
    for combine in [Combine::Probability, Combine::Logit] {
        let mut one = config(vec![member(256, 128, 96)]);
        one.combine = combine;
        let mut three = config(vec![member(256, 128, 96); 3]);
        three.combine = combine;
        let a = stitched(&s.path, &one, std::slice::from_ref(&m));
        let b = stitched(&s.path, &three, &[m.clone(), m.clone(), m.clone()]);
        let diff = (&a - &b).mapv(f32::abs).fold(0f32, |x, &y| x.max(y));
        assert!(diff < 1e-6, "{combine:?}: max diff {diff}");
    }
}

#[test]
fn tta_with_an_equivariant_model_equals_no_tta() {
    let dir = tempfile::tempdir().unwrap();
    let s = write_slide(dir.path(), "e", 5);
    let m: Arc<dyn TileModel> = Arc::new(Conv1x1([1.3, -0.7, 0.4], -0.5));
    let models = [m];
    let mut none = config(vec![member(256, 128, 64)]);
    none.tta = TtaSet::None;
    let base = stitched(&s.path, &none, &models);
    for tta in [TtaSet::Flips, TtaSet::D4] {
        let mut cfg = none.clone();
        cfg.tta = tta;
        let with = stitched(&s.path, &cfg, &models);
        let diff = (&base - &with).mapv(f32::abs).fold(0f32, |x, &y| x.max(y));
        assert!(diff < 1e-5, "{tta:?}: max diff {diff}");
    }
    // A model that is not equivariant does change under TTA (the test can fail).
    struct Ramp;
    impl TileModel for Ramp {
        fn logits(&self, x: &Tensor) -> ftu_ensemble::Result<Tensor> {
            let (n, _, h, w) = x.dims4().map_err(terr)?;
            let col = Tensor::arange(0f32, w as f32, x.device())
                .and_then(|t| t.reshape((1, 1, 1, w)))
                .and_then(|t| t.broadcast_as((n, 1, h, w)))
                .and_then(|t| t.affine(4.0 / w as f64, -2.0))
                .map_err(terr)?;
            col.contiguous().map_err(terr)
        }
    }
    let ramp: [Arc<dyn TileModel>; 1] = [Arc::new(Ramp)];
    let mut flips = none.clone();
    flips.tta = TtaSet::Flips;
    let d = &stitched(&s.path, &none, &ramp) - &stitched(&s.path, &flips, &ramp);
    assert!(d.mapv(f32::abs).fold(0f32, |x, &y| x.max(y)) > 0.1);
}

#[test]
fn gaussian_overlap_has_no_seams_on_a_constant_model() {
    let dir = tempfile::tempdir().unwrap();
    // All tissue, so every tile is predicted.
    let img = Array3::from_shape_fn((768, 1024, 3), |(y, x, c)| {
        [180 + ((x * 7 + y * 3) % 50) as u8, 100, 160][c]
    });
    let path: PathBuf = dir.path().join("flat.tiff");
    write_tiff(&path, img.view(), &WriteOptions::default()).unwrap();
    let p = 0.7f32;
    let models: [Arc<dyn TileModel>; 1] = [Arc::new(Constant(ftu_ensemble::logit(p)))];
    for (tile, size, overlap) in [(256, 256, 128), (384, 128, 96), (300, 96, 50)] {
        let mut cfg = config(vec![member(tile, size, overlap)]);
        cfg.weighting = Weighting::Gaussian { sigma: 0.125 };
        let map = stitched(&path, &cfg, &models);
        let (lo, hi) = map
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(
            hi - lo < 1e-5 && (lo - p).abs() < 1e-5,
            "{tile}: [{lo}, {hi}]"
        );
        // The tile borders in particular: no dip where windows meet.
        let col = map.index_axis(Axis(1), tile - 1);
        assert!(col.iter().all(|&v| (v - p).abs() < 1e-5));
    }
}

#[test]
fn crf_post_processing_keeps_an_oracle_close() {
    let dir = tempfile::tempdir().unwrap();
    let slides = vec![write_slide(dir.path(), "f", 6)];
    let mut cfg = config(vec![member(256, 128, 64)]);
    cfg.post = PostKind::Crf;
    cfg.tta = TtaSet::None;
    let models: [Arc<dyn TileModel>; 1] = [Arc::new(Oracle)];
    let preds = predict_slides_with(&slides, &cfg, &models, dir.path(), &opts()).unwrap();
    let dice = preds[0].dice.unwrap();
    assert!(dice > 0.95, "dice {dice}");
}

#[test]
fn resume_reuses_finished_slides_and_a_new_config_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let slides = vec![write_slide(dir.path(), "g", 7)];
    let mut cfg = config(vec![member(256, 256, 32)]);
    cfg.tta = TtaSet::None;
    let models: [Arc<dyn TileModel>; 1] = [Arc::new(Oracle)];
    let resume = PredictOptions::default();
    let first = predict_slides_with(&slides, &cfg, &models, dir.path(), &resume).unwrap();
    let again = predict_slides_with(&slides, &cfg, &models, dir.path(), &resume).unwrap();
    assert!(first[0].stats.is_some() && again[0].stats.is_none());
    assert_eq!(first[0].rle, again[0].rle);
    assert_eq!(again[0].dice, Some(1.0));
    cfg.threshold = 0.3;
    let changed = predict_slides_with(&slides, &cfg, &models, dir.path(), &resume).unwrap();
    assert!(changed[0].stats.is_some());
}

#[test]
fn ablation_scores_seven_rows_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let slides = vec![
        write_slide(dir.path(), "h", 8),
        write_slide(dir.path(), "i", 9),
    ];
    let mut cfg = config(vec![member(256, 256, 64); 2]);
    cfg.crf.iterations = 2;
    // One perfect member and one that says 0.3 everywhere (below the
    // threshold: an empty mask): singles average 0.5, the ensemble (0.65 on
    // glomeruli, 0.15 elsewhere) is perfect.
    let models: Vec<Arc<dyn TileModel>> = vec![
        Arc::new(Oracle),
        Arc::new(Constant(ftu_ensemble::logit(0.3))),
    ];
    let out = dir.path().join("abl");
    let table = ftu_ensemble::ablation_with(&slides, &cfg, &models, &out, None).unwrap();
    assert_eq!(table.rows.len(), 7);
    assert!(
        (table.rows[0].dice - 0.5).abs() < 1e-9,
        "{}",
        table.rows[0].dice
    );
    assert_eq!(table.rows[3].dice, 1.0);
    assert_eq!(table.rows[4].dice, 1.0);
    assert!(table.rows[2].dice < 0.55 && table.rows[2].dice > 0.45);
    assert!(table.rows[6].dice > 0.9, "{}", table.rows[6].dice);
    let md = std::fs::read_to_string(out.join("ablation.md")).unwrap();
    assert!(
        md.contains("| Ensemble (2 folds) – TTA – DenseCRF |"),
        "{md}"
    );
    let csv = std::fs::read_to_string(out.join("ablation.csv")).unwrap();
    assert_eq!(csv.lines().count(), 8);
    // Without truth the ablation refuses, naming the slide.
    let mut no_truth = slides.clone();
    no_truth[1].truth = None;
    let err = ftu_ensemble::ablation_with(&no_truth, &cfg, &models, &out, None).unwrap_err();
    assert!(err.to_string().contains('i'));
}

#[test]
fn list_reads_slides_and_truth() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_slide(dir.path(), "j", 10);
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let csv = dir.path().join("truth.csv");
    ftu_rle::csv::write_encodings(&csv, "encoding", &[("j".into(), a.truth.clone().unwrap())])
        .unwrap();
    let listed = SlideInput::list(dir.path(), Some(&csv)).unwrap();
    assert_eq!(listed, vec![a]);
    assert!(SlideInput::list(&dir.path().join("missing"), None).is_err());
}

#[test]
fn bands_stay_small_across_long_empty_stretches() {
    let dir = tempfile::tempdir().unwrap();
    // 3000 rows of glass above a tissue strip: no band may span the glass at once.
    let img = Array3::from_shape_fn((3400, 96, 3), |(y, x, c)| {
        if y < 3000 {
            245
        } else {
            [180 + (x % 40) as u8, 100, 160][c]
        }
    });
    let path = dir.path().join("tall.tiff");
    write_tiff(&path, img.view(), &WriteOptions::default()).unwrap();
    let cfg = config(vec![member(256, 128, 64)]);
    let models: [Arc<dyn TileModel>; 1] = [Arc::new(Constant(2.0))];
    let (mut rows, mut tallest) = (0, 0);
    let mut sink = |_: usize, p: ArrayView2<f32>| {
        rows += p.nrows();
        tallest = tallest.max(p.nrows());
        Ok(())
    };
    stitch_slide(&path, &cfg, &models, &mut sink as &mut dyn BandSink).unwrap();
    assert_eq!(rows, 3400);
    assert!(
        tallest <= ftu_ensemble::merge::STEP_ROWS,
        "a band of {tallest} rows"
    );
}
