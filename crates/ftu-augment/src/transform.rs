//! The [`Transform`] trait every augmentation implements, and shared checks.

use ndarray::{Array2, Array3};
use rand::RngCore;

use crate::error::{AugmentError, Result};

/// A paired image/mask augmentation.
///
/// Geometric transforms move the RGB image (`H x W x 3`) and its mask
/// (`H x W`) together; pixel transforms touch the image only. All randomness
/// comes from `rng`, so the same RNG state gives the same output. Transforms
/// hold only parameters (no interior state), which makes them `Send + Sync`
/// and safe to share across rayon workers, each with its own RNG.
pub trait Transform: Send + Sync + std::fmt::Debug {
    /// The name used in TOML configs and galleries, e.g. `shift_scale_rotate`.
    fn name(&self) -> &'static str;

    /// Checks the parameters; pipelines call this when a step is added.
    fn validate(&self) -> Result<()>;

    /// Applies the transform in place (size-changing crops replace the arrays).
    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()>;
}

/// Checks that `image` is `H x W x 3` and `mask` is `H x W`; returns `(H, W)`.
pub(crate) fn check_pair(
    transform: &'static str,
    image: &Array3<u8>,
    mask: &Array2<u8>,
) -> Result<(usize, usize)> {
    let (h, w, c) = image.dim();
    if c != 3 {
        return Err(AugmentError::NotRgb {
            transform,
            height: h,
            width: w,
            channels: c,
        });
    }
    let (mh, mw) = mask.dim();
    if (mh, mw) != (h, w) {
        return Err(AugmentError::ShapeMismatch {
            transform,
            image_h: h,
            image_w: w,
            mask_h: mh,
            mask_w: mw,
        });
    }
    if h == 0 || w == 0 {
        return Err(AugmentError::TooSmall {
            transform,
            height: h,
            width: w,
            reason: "the tile is empty".into(),
        });
    }
    Ok((h, w))
}

/// Makes `image` C-contiguous so kernels can work on its raw slice.
pub(crate) fn standardise(image: &mut Array3<u8>) {
    if !image.is_standard_layout() {
        *image = image.as_standard_layout().into_owned();
    }
}

/// Fails unless `lo <= v <= hi` (NaN fails too).
pub(crate) fn check_in(
    transform: &'static str,
    field: &'static str,
    v: f32,
    lo: f32,
    hi: f32,
) -> Result<()> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(AugmentError::InvalidParameter {
            transform,
            field,
            reason: format!("is {v}, must be in [{lo}, {hi}]"),
        })
    }
}

/// Fails unless `range` is ordered and both ends lie in `[lo, hi]`.
pub(crate) fn check_range(
    transform: &'static str,
    field: &'static str,
    range: [f32; 2],
    lo: f32,
    hi: f32,
) -> Result<()> {
    check_in(transform, field, range[0], lo, hi)?;
    check_in(transform, field, range[1], lo, hi)?;
    if range[0] > range[1] {
        return Err(AugmentError::InvalidParameter {
            transform,
            field,
            reason: format!(
                "is [{}, {}]; the low end exceeds the high end",
                range[0], range[1]
            ),
        });
    }
    Ok(())
}

/// Rounds `v` to the nearest integer and saturates it to `0..=255` (NaN
/// gives 0): how every kernel writes a channel value back.
#[inline(always)]
pub(crate) fn round_u8(v: f32) -> u8 {
    (v + 0.5).clamp(0.0, 255.0) as u8
}

/// Draws uniformly from `[range[0], range[1]]` (the low end when they are equal).
pub(crate) fn uniform(rng: &mut dyn RngCore, range: [f32; 2]) -> f32 {
    use rand::Rng;
    let u: f32 = rng.random();
    range[0] + (range[1] - range[0]) * u
}

/// Draws uniformly from `[-limit, limit]`.
pub(crate) fn symmetric(rng: &mut dyn RngCore, limit: f32) -> f32 {
    uniform(rng, [-limit, limit])
}
