//! Optical (barrel / pincushion) distortion about a jittered centre.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use crate::border::Border;
use crate::error::Result;
use crate::transform::{Transform, check_in, check_pair, symmetric};
use crate::warp::{centre, random_shift, warp_in_place};

/// Radial lens distortion like albumentations' `OpticalDistortion`: a pixel at
/// normalised radius `r` (1 at the middle of each edge) samples from radius
/// `r (1 + k r^2)` with `k` in `±distort_limit`, about a centre shifted by up
/// to `shift_limit` of the tile size.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpticalDistortion {
    /// Largest distortion coefficient `|k|`.
    pub distort_limit: f32,
    /// Largest shift of the centre, as a fraction of width / height.
    pub shift_limit: f32,
    /// Fill for samples outside the tile.
    pub border: Border,
}

impl Default for OpticalDistortion {
    fn default() -> Self {
        Self {
            distort_limit: 0.1,
            shift_limit: 0.05,
            border: Border::Reflect,
        }
    }
}

impl Transform for OpticalDistortion {
    fn name(&self) -> &'static str {
        "optical_distortion"
    }

    fn validate(&self) -> Result<()> {
        check_in(self.name(), "distort_limit", self.distort_limit, 0.0, 1.0)?;
        check_in(self.name(), "shift_limit", self.shift_limit, 0.0, 0.5)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let k = symmetric(rng, self.distort_limit);
        let (dy, dx) = random_shift(rng, self.shift_limit, h, w);
        let (cy, cx) = centre(h, w);
        let (cy, cx) = (cy + dy, cx + dx);
        let (hx, hy) = (w as f32 * 0.5, h as f32 * 0.5);
        warp_in_place(image, mask, self.border, |y, x| {
            let u = (x as f32 - cx) / hx;
            let v = (y as f32 - cy) / hy;
            let f = 1.0 + k * (u * u + v * v);
            (cy + v * f * hy, cx + u * f * hx)
        });
        Ok(())
    }
}
