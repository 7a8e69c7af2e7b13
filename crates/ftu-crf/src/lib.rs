//! Fully connected CRF with Gaussian edge potentials (Krähenbühl & Koltun,
//! NeurIPS 2011): mean-field inference where each message pass is a
//! high-dimensional Gaussian filter on the permutohedral lattice (Adams,
//! Baek & Davis, Eurographics 2010). It follows pydensecrf (Krähenbühl's
//! DenseCRF v2) step for step — same lattice, Potts compatibility, symmetric
//! normalisation (`NORMALIZE_SYMMETRIC`, `DIAG_KERNEL`) — and agrees with it
//! to float rounding.
//!
//! Beyond pydensecrf:
//! - a two-label fast path that filters one channel per term;
//! - multi-threaded with rayon, and bit-identical whatever the thread count
//!   (work is cut into fixed chunks and every sum has one fixed order);
//! - memory linear in pixels, 32-bit lattice keys that do not overflow on
//!   large images, and [`DenseCrf2d::inference_tiled`] for any size.
//!
//! Arrays follow pydensecrf: unaries and marginals are `(labels, height,
//! width)`, images `(height, width, 3)` RGB.
//!
//! # Example: refine a foreground probability map
//!
//! ```
//! use ftu_crf::{DenseCrf2d, argmax, unary_from_foreground};
//! use ndarray::{Array2, Array3};
//!
//! // A red disc on a light background, and a noisy probability map of it.
//! let (w, h) = (64, 48);
//! let inside = |y: usize, x: usize| (x as f32 - 32.0).hypot(y as f32 - 24.0) < 15.0;
//! let image = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
//!     if inside(y, x) { [200u8, 40, 60][c] } else { [235u8, 225, 230][c] }
//! });
//! let prob = Array2::from_shape_fn((h, w), |(y, x)| {
//!     let flip = (x * 7 + y * 3) % 10 == 0; // 10% of pixels wrong
//!     if inside(y, x) != flip { 0.65 } else { 0.35 }
//! });
//!
//! let mut crf = DenseCrf2d::new(w, h, 2)?;
//! crf.set_unary_energy(unary_from_foreground(prob.view(), Some(1e-5))?.view())?;
//! crf.add_pairwise_gaussian(3.0, 3.0)?;
//! crf.add_pairwise_bilateral(80.0, 13.0, image.view(), 10.0)?;
//! let q = crf.inference(5)?; // (2, h, w) marginals
//! let labels = argmax(&q);
//!
//! let wrong = |m: &dyn Fn(usize, usize) -> bool| {
//!     (0..h).flat_map(|y| (0..w).map(move |x| (y, x))).filter(|&(y, x)| m(y, x) != inside(y, x)).count()
//! };
//! let before = wrong(&|y, x| prob[[y, x]] > 0.5);
//! let after = wrong(&|y, x| labels[[y, x]] == 1);
//! assert!(before > 250 && after < 10, "{before} -> {after} wrong pixels");
//! # Ok::<(), ftu_crf::CrfError>(())
//! ```
//!
//! [`refine_foreground`] does the same in one call with
//! [`BinaryCrfParams::default`] settings.

mod binary;
mod crf;
mod error;
mod lattice;
mod pairwise;
mod unary;

pub use binary::{BinaryCrfParams, refine_foreground};
pub use crf::{DenseCrf2d, Tiling, argmax};
pub use error::CrfError;
pub use unary::{DEFAULT_CLIP, unary_from_foreground, unary_from_labels, unary_from_softmax};
