//! Additive Gaussian noise.

use ndarray::{Array2, Array3};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};
use serde::Deserialize;

use crate::error::Result;
use crate::transform::{Transform, check_pair, check_range, round_u8, uniform};

/// Adds zero-mean Gaussian noise whose standard deviation is drawn from
/// `std_limit` (0..255 units); independent per channel unless
/// `per_channel = false`. Albumentations 2 gives `std_range` as a fraction
/// of 255: its `(0.01, 0.05)` is `[2.55, 12.75]` here.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussNoise {
    /// Range of the noise standard deviation, in 0..255 units.
    pub std_limit: [f32; 2],
    /// Independent noise per channel (else one value per pixel, grey noise).
    pub per_channel: bool,
}

impl Default for GaussNoise {
    fn default() -> Self {
        Self {
            std_limit: [3.0, 12.0],
            per_channel: true,
        }
    }
}

impl Transform for GaussNoise {
    fn name(&self) -> &'static str {
        "gauss_noise"
    }

    fn validate(&self) -> Result<()> {
        check_range(self.name(), "std_limit", self.std_limit, 0.0, 255.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let std = uniform(rng, self.std_limit);
        let add = |v: u8, n: f32| round_u8(v as f32 + n * std);
        if self.per_channel {
            for v in image.iter_mut() {
                let n: f32 = StandardNormal.sample(rng);
                *v = add(*v, n);
            }
        } else {
            for mut px in image.rows_mut() {
                let n: f32 = StandardNormal.sample(rng);
                px.mapv_inplace(|v| add(v, n));
            }
        }
        Ok(())
    }
}
