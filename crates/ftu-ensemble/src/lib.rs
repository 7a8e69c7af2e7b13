//! Whole-slide inference for ftu: an ensemble of segmentation models, each
//! with test-time augmentation, over a sliding window; Gaussian-weighted
//! stitching band by band; a fixed threshold or DenseCRF per patch; the
//! competition's RLE, a thumbnail overlay and QuPath GeoJSON per slide; and
//! the recipe's ablation table.
//!
//! - [`InferConfig`] is the `[infer]` table of an experiment TOML.
//! - [`TileModel`] is all the window needs from a network (implemented by
//!   [`ftu_models::SegmentationModel`]); members load from a training run
//!   folder or an explicit model + checkpoint ([`load_members`]).
//! - [`predict_slides`] / [`predict_slides_with`] write `rle/`, `overlays/`
//!   and `geojson/` under an output folder; [`write_submission`] writes
//!   `submission.csv`. Memory is bounded by one band of rows (tile height +
//!   stride) x slide width, whatever the slide's height.
//! - [`ablation()`] scores the seven setups of the recipe's table in one
//!   pass per slide.
//!
//! ```
//! use std::sync::Arc;
//! use candle_core::Tensor;
//! use ftu_ensemble::{InferConfig, MemberConfig, PredictOptions, SlideInput, TileModel};
//! use ftu_models::{Arch, Encoder, ModelConfig};
//! use ftu_tiling::{WriteOptions, write_tiff};
//! use ndarray::Array3;
//!
//! /// Calls a pixel foreground when its (normalised) red channel is high.
//! struct RedIsGlomerulus;
//! impl TileModel for RedIsGlomerulus {
//!     fn logits(&self, x: &Tensor) -> ftu_ensemble::Result<Tensor> {
//!         let f = |e| ftu_ensemble::EnsembleError::tensor("oracle", e);
//!         let red = x.narrow(1, 0, 1).map_err(f)?;
//!         Ok(((red - 1.5).map_err(f)? * 20.0).map_err(f)?)
//!     }
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! // Pink tissue with one bright red square: the glomerulus.
//! let img = Array3::from_shape_fn((192, 256, 3), |(y, x, c)| {
//!     let glom = (64..128).contains(&y) && (96..160).contains(&x);
//!     if glom { [250, 30, 60][c] } else { [200, 120, 170][c] }
//! });
//! write_tiff(dir.path().join("s1.tiff"), img.view(), &WriteOptions::default()).unwrap();
//! let truth = ftu_rle::encode(img.map_axis(ndarray::Axis(2), |p| u8::from(p[0] == 250)).view());
//!
//! let member = MemberConfig::explicit(
//!     ModelConfig::new(Arch::Unet, Encoder::B0), "unused.safetensors", 128, 128, 64);
//! let cfg = InferConfig::new(vec![member]);
//! let slides = vec![SlideInput { id: "s1".into(), path: dir.path().join("s1.tiff"), truth: Some(truth) }];
//! let model: Arc<dyn TileModel> = Arc::new(RedIsGlomerulus);
//! let preds = ftu_ensemble::predict_slides_with(
//!     &slides, &cfg, &[model], dir.path(), &PredictOptions::default()).unwrap();
//! assert_eq!(preds[0].dice, Some(1.0));
//! assert_eq!(preds[0].polygons, 1);
//! ftu_ensemble::write_submission(&dir.path().join("submission.csv"), &preds).unwrap();
//! ```

pub mod ablation;
pub mod blocks;
pub mod config;
pub mod contour;
pub mod engine;
pub mod error;
pub mod merge;
pub mod model;
pub mod overlay;
pub mod post;
pub mod predict;
pub mod window;

pub use ablation::{AblationRow, AblationTable, Models, ablation, ablation_with};
pub use config::{Combine, CrfConfig, InferConfig, MemberConfig, PostKind};
pub use engine::{BandSink, Progress, ProgressFn, SlideStats, Variant, run_variants};
pub use error::{EnsembleError, Result};
pub use model::{TileModel, load_member, load_members, logit, member_source, read_run_model};
pub use predict::{
    PredictOptions, SlideInput, SlidePrediction, predict_slide, predict_slides,
    predict_slides_with, stitch_slide, write_submission,
};
pub use window::Geometry;
