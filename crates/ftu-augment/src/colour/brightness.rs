//! Brightness / contrast and gamma: point operations through a lookup table.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use super::lut::{apply_lut, build_lut};
use crate::error::Result;
use crate::transform::{Transform, check_in, check_pair, check_range, symmetric, uniform};

/// `v * (1 + c) + 255 * b` with `c` in `±contrast_limit` and `b` in
/// `±brightness_limit` (albumentations' `RandomBrightnessContrast`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomBrightnessContrast {
    /// Largest brightness offset, as a fraction of 255.
    pub brightness_limit: f32,
    /// Largest relative contrast change.
    pub contrast_limit: f32,
}

impl Default for RandomBrightnessContrast {
    fn default() -> Self {
        Self {
            brightness_limit: 0.2,
            contrast_limit: 0.2,
        }
    }
}

impl Transform for RandomBrightnessContrast {
    fn name(&self) -> &'static str {
        "random_brightness_contrast"
    }

    fn validate(&self) -> Result<()> {
        check_in(
            self.name(),
            "brightness_limit",
            self.brightness_limit,
            0.0,
            1.0,
        )?;
        check_in(self.name(), "contrast_limit", self.contrast_limit, 0.0, 1.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let alpha = 1.0 + symmetric(rng, self.contrast_limit);
        let beta = symmetric(rng, self.brightness_limit) * 255.0;
        apply_lut(image, &build_lut(|v| v * alpha + beta));
        Ok(())
    }
}

/// `255 (v / 255)^g` with `g` drawn from `gamma_limit / 100` (albumentations'
/// `RandomGamma`, whose limits are in percent).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RandomGamma {
    /// Range of the gamma exponent, in percent.
    pub gamma_limit: [f32; 2],
}

impl Default for RandomGamma {
    fn default() -> Self {
        Self {
            gamma_limit: [80.0, 120.0],
        }
    }
}

impl Transform for RandomGamma {
    fn name(&self) -> &'static str {
        "random_gamma"
    }

    fn validate(&self) -> Result<()> {
        check_range(self.name(), "gamma_limit", self.gamma_limit, 1.0, 1000.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let g = uniform(rng, self.gamma_limit) / 100.0;
        apply_lut(image, &build_lut(|v| 255.0 * (v / 255.0).powf(g)));
        Ok(())
    }
}
