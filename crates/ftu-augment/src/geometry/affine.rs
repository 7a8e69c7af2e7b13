//! Shift-scale-rotate: a random similarity transform about the tile centre.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use crate::border::Border;
use crate::error::Result;
use crate::transform::{Transform, check_in, check_pair, symmetric};
use crate::warp::{centre, random_shift, warp_in_place};

/// Random shift, scale and rotation, as albumentations' `ShiftScaleRotate`:
/// angle in `±rotate_limit` degrees, scale in `1 ± scale_limit`, shift in
/// `±shift_limit` of the tile size. Image bilinear, mask nearest.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShiftScaleRotate {
    /// Largest shift, as a fraction of width / height.
    pub shift_limit: f32,
    /// Largest relative scale change.
    pub scale_limit: f32,
    /// Largest rotation, in degrees.
    pub rotate_limit: f32,
    /// Fill for samples outside the tile.
    pub border: Border,
}

impl Default for ShiftScaleRotate {
    /// The recipe's values: 6.25% shift, ±20% scale, ±15°, reflect border.
    fn default() -> Self {
        Self {
            shift_limit: 0.0625,
            scale_limit: 0.2,
            rotate_limit: 15.0,
            border: Border::Reflect,
        }
    }
}

impl Transform for ShiftScaleRotate {
    fn name(&self) -> &'static str {
        "shift_scale_rotate"
    }

    fn validate(&self) -> Result<()> {
        check_in(self.name(), "shift_limit", self.shift_limit, 0.0, 1.0)?;
        check_in(self.name(), "scale_limit", self.scale_limit, 0.0, 0.9)?;
        check_in(self.name(), "rotate_limit", self.rotate_limit, 0.0, 180.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let angle = symmetric(rng, self.rotate_limit).to_radians();
        let scale = 1.0 + symmetric(rng, self.scale_limit);
        let (dy, dx) = random_shift(rng, self.shift_limit, h, w);
        let (cy, cx) = centre(h, w);
        // Inverse map of dst = s R (src - c) + c + d: src = R^-1 (dst - c - d) / s + c.
        // The angle is symmetric about zero, so the rotation's sense is immaterial.
        let (sin, cos) = angle.sin_cos();
        let (a, b) = (cos / scale, sin / scale);
        warp_in_place(image, mask, self.border, |y, x| {
            let u = x as f32 - cx - dx;
            let v = y as f32 - cy - dy;
            (cy - b * u + a * v, cx + a * u + b * v)
        });
        Ok(())
    }
}
