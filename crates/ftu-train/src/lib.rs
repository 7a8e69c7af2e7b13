//! k-fold training of ftu's segmentation models on the tile dataset that
//! `cargo xtask preprocess` writes.
//!
//! * [`TrainConfig`] is the `[train]` table of an experiment TOML (model
//!   under `[train.model]`); [`train_folds`] / [`train_fold`] train into
//!   `out_dir/fold<k>/` (see [`fold`] for the run directory) and write
//!   `cv.json` ([`CvSummary`]).
//! * Data: [`data::TileSet`] (manifest, fold splits, train-only sources),
//!   [`data::sampler`] (batches a pure function of seed, epoch and index:
//!   all tiles or a balanced share of tiles with glomeruli),
//!   [`data::loader`] (rayon workers decode, augment with ftu-augment and
//!   normalise ahead of the model through a bounded channel).
//! * Optimisation: [`loss`] (BCE, soft Dice, BCE + Dice, Lovász hinge,
//!   focal), [`optim::AdamW`] (PyTorch semantics, global-norm clipping),
//!   [`schedule::Schedule`] (constant, warm-up + cosine, step, the Kaggle
//!   TPU-style ramp/sustain/decay; per step or epoch).
//! * Validation: [`metrics`] — global Dice over all validation pixels at
//!   the configured threshold and over a threshold grid; early stopping;
//!   batch-norm statistics made precise first ([`precise_bn`]).
//! * Runs: [`checkpoint`] (atomic `best` and resumable `last`; a killed
//!   run resumes to the same result), [`curves`] (`curves.png`), progress
//!   bars or log lines ([`ProgressMode`]). NaN or Inf in the loss, the
//!   gradients or the weights stops the fold, keeping the last good
//!   checkpoint.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use ftu_train::{BceDiceLoss, CvSummary, TrainConfig, schedule::Schedule};
//!
//! // The loss: ln 2 from BCE plus 1 - (2 * 64 + 1) / (64 + 128 + 1) from Dice (p = 1/2).
//! let logits = Tensor::zeros((2, 1, 8, 8), DType::F32, &Device::Cpu)?;
//! let target = Tensor::ones((2, 1, 8, 8), DType::F32, &Device::Cpu)?;
//! let loss = BceDiceLoss::default().forward(&logits, &target)?.to_scalar::<f32>()?;
//! assert!((loss - (2f32.ln() + 1.0 - 129.0 / 193.0)).abs() < 1e-6);
//!
//! // A config: the [train] table of an experiment file; other tables are ignored.
//! let text = r#"
//!     [train]
//!     epochs = 30
//!     schedule = { kind = "custom", lr_start = 1e-5, lr_max = 1e-3, lr_min = 1e-6, ramp_up = 5, sustain = 0, decay = 0.8 }
//!     [train.model]
//!     arch = "unet"
//!     encoder = "efficientnet-b0"
//!     [infer]
//!     tta = "d4"
//! "#;
//! let cfg = TrainConfig::from_toml(text, std::path::Path::new("exp.toml"))?;
//! assert_eq!(cfg.batch_size, 8);
//! // Epoch 5 is the end of the ramp.
//! assert_eq!(cfg.schedule.lr(5, cfg.epochs), 1e-3);
//! # let _ = Schedule::default();
//! # let _: Option<CvSummary> = None;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checkpoint;
pub mod config;
pub mod curves;
pub mod cv;
pub mod data;
pub mod error;
pub mod fold;
pub mod loss;
pub mod metrics;
pub mod optim;
pub mod precise_bn;
pub mod progress;
pub mod schedule;

pub use config::{Augment, LossConfig, LossKind, OptimizerConfig, Sampling, TrainConfig};
pub use cv::{CvSummary, FoldReport};
pub use error::TrainError;
pub use fold::{RunConfig, TileGeometry, TrainOptions, train_fold, train_folds};
pub use loss::{BceDiceLoss, Loss, bce_with_logits, focal_loss, lovasz_hinge, soft_dice_loss};
pub use progress::ProgressMode;
