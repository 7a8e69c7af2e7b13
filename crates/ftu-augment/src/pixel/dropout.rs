//! Coarse dropout: blank rectangles in the image.

use ndarray::{Array2, Array3, s};
use rand::{Rng, RngCore};
use serde::Deserialize;

use crate::error::{AugmentError, Result};
use crate::transform::{Transform, check_pair, check_range, uniform};

/// Fills between `holes[0]` and `holes[1]` rectangles with `fill`; each side
/// is a fraction (drawn from `size`) of the tile's side. The mask is left as
/// is (albumentations' default), so the model learns to see a glomerulus
/// through an occlusion.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoarseDropout {
    /// Range of the number of holes.
    pub holes: [usize; 2],
    /// Range of a hole's side, as a fraction of the tile's side.
    pub size: [f32; 2],
    /// Fill value for every channel.
    pub fill: u8,
}

impl Default for CoarseDropout {
    fn default() -> Self {
        Self {
            holes: [1, 8],
            size: [0.03, 0.1],
            fill: 0,
        }
    }
}

impl Transform for CoarseDropout {
    fn name(&self) -> &'static str {
        "coarse_dropout"
    }

    fn validate(&self) -> Result<()> {
        if self.holes[0] > self.holes[1] || self.holes[1] > 1024 {
            return Err(AugmentError::InvalidParameter {
                transform: self.name(),
                field: "holes",
                reason: format!(
                    "is [{}, {}], must be ordered and at most 1024",
                    self.holes[0], self.holes[1]
                ),
            });
        }
        check_range(self.name(), "size", self.size, 0.0, 1.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let n = rng.random_range(self.holes[0]..=self.holes[1]);
        for _ in 0..n {
            let hh = ((uniform(rng, self.size) * h as f32).round() as usize).clamp(1, h);
            let hw = ((uniform(rng, self.size) * w as f32).round() as usize).clamp(1, w);
            let y0 = rng.random_range(0..=h - hh);
            let x0 = rng.random_range(0..=w - hw);
            image
                .slice_mut(s![y0..y0 + hh, x0..x0 + hw, ..])
                .fill(self.fill);
        }
        Ok(())
    }
}
