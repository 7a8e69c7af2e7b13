//! Paired image/mask augmentations for histology tiles, and test-time
//! augmentation (TTA) with exact inverses.
//!
//! * **Geometry** ([`geometry`]) moves an RGB tile (`Array3<u8>`, HWC) and its
//!   mask (`Array2<u8>`) together: flips, transpose, rotate-90,
//!   shift-scale-rotate, elastic, grid and optical distortion, random resized
//!   crop, crop-non-empty-mask-if-exists. Images are sampled bilinearly,
//!   masks by nearest neighbour, borders reflected.
//! * **Colour** ([`colour`]) and **noise / blur / dropout** ([`pixel`]) touch
//!   the image only: HSV shift, brightness-contrast, gamma, CLAHE, an H&E
//!   [`StainJitter`] by colour deconvolution, Gaussian noise, box / Gaussian /
//!   median / motion blur and coarse dropout. Results are clamped to `0..=255`.
//! * A [`Pipeline`] applies steps with probabilities, built in code or from
//!   TOML ([`config`], unknown keys are errors). Every random draw comes from
//!   the RNG passed in: [`Pipeline::apply_seeded`] gives each sample its own
//!   ChaCha8 stream, so results do not depend on order or thread count.
//!   Transforms hold parameters only, so they are `Send + Sync`; work is
//!   per-tile buffers, never an allocation per pixel.
//! * [`Pipeline::recipe`] is the default training pipeline (the recipe's
//!   albumentations set; its table of probabilities is there, and the same
//!   pipeline as TOML is [`config::RECIPE_TOML`]).
//! * [`tta`]: the D4 group on NCHW batches (`ndarray`, and candle tensors with
//!   the default `candle` feature), each element with its exact inverse, and
//!   the named sets `none`, `flips`, `d4`.
//!
//! ```
//! use ftu_augment::{Pipeline, geometry::HorizontalFlip, colour::StainJitter};
//! use ndarray::{Array2, Array3};
//!
//! let tile = Array3::from_shape_fn((64, 48, 3), |(y, x, c)| (y + 2 * x + 40 * c) as u8);
//! let mut mask = Array2::<u8>::zeros((64, 48));
//! mask[[10, 5]] = 1;
//!
//! // Built in code: always flip, then stain jitter half the time.
//! let pipeline = Pipeline::new()
//!     .then(1.0, HorizontalFlip::default())?
//!     .then(0.5, StainJitter::default())?;
//! let (mut a, mut ma) = (tile.clone(), mask.clone());
//! pipeline.apply_seeded(&mut a, &mut ma, 42, 0)?;
//! assert_eq!(ma[[10, 48 - 1 - 5]], 1); // the label moved with the image
//!
//! // Same seed and sample index: same result.
//! let (mut b, mut mb) = (tile.clone(), mask.clone());
//! pipeline.apply_seeded(&mut b, &mut mb, 42, 0)?;
//! assert_eq!((a, ma), (b, mb));
//!
//! // The default training pipeline; tiles keep their size.
//! let recipe = Pipeline::recipe();
//! let (mut c, mut mc) = (tile.clone(), mask.clone());
//! recipe.apply_seeded(&mut c, &mut mc, 7, 3)?;
//! assert_eq!(c.dim(), (64, 48, 3));
//! # Ok::<(), ftu_augment::AugmentError>(())
//! ```
//!
//! # Gallery
//!
//! `cargo run --release --example gallery -p ftu-augment -- [OUT_DIR]` applies
//! every transform to a real HuBMAP kidney tile
//! (`shared/data/hubmap-kidney-tiles/patches/0486052bb_positive_000096_*`,
//! looked up next to the checkout or inside it and read by path; the example
//! says so and exits if it is absent) and writes
//! one PNG per transform, with the mask outline drawn in green, plus
//! `index.html` to look at them, to `OUT_DIR` (default `target/gallery`).
//! The images derive from data of unclear licence, so they are generated,
//! never committed.
//!
//! # Speed
//!
//! `cargo bench -p ftu-augment` runs the default pipeline on 256² and 512²
//! tiles on one thread; `cargo run --release --example throughput -p
//! ftu-augment` reports the same in wall-clock and on-CPU time, to compare
//! with `scripts/augment_reference.py` (albumentations). Figures are in
//! `docs/PERFORMANCE.md`.

#![warn(missing_docs)]

mod border;
pub mod colour;
pub mod config;
mod error;
mod filter;
pub mod geometry;
mod pipeline;
pub mod pixel;
mod transform;
pub mod tta;
mod warp;

pub use border::Border;
pub use colour::StainJitter;
pub use config::{PipelineConfig, StepConfig, TransformConfig};
pub use error::{AugmentError, Result};
pub use pipeline::{OneOf, Pipeline, Step};
pub use transform::Transform;
pub use tta::{D4, TtaSet};
