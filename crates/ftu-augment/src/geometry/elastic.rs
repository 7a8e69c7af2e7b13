//! Elastic deformation (Simard et al. 2003): a smooth random displacement field.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use crate::border::Border;
use crate::error::Result;
use crate::filter::{blur_plane, gaussian_kernel};
use crate::transform::{Transform, check_in, check_pair, symmetric};
use crate::warp::warp_in_place;

/// Elastic deformation: every pixel moves by a smooth random field with
/// root-mean-square displacement `alpha` pixels and correlation length `sigma`
/// pixels.
///
/// Unlike albumentations (which blurs full-resolution noise, so the
/// displacement size depends on `sigma` as well as `alpha`), the field is
/// normalised to RMS `alpha`, and it is drawn on a grid `sigma / 2` pixels
/// apart and interpolated bilinearly: Gaussian-smoothed noise has no detail
/// finer than `sigma`, so the coarse grid loses nothing visible and costs
/// `1 / (sigma/2)^2` of the work.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticTransform {
    /// RMS displacement in pixels.
    pub alpha: f32,
    /// Smoothness (Gaussian sigma of the field) in pixels.
    pub sigma: f32,
    /// Fill for samples outside the tile.
    pub border: Border,
}

impl Default for ElasticTransform {
    fn default() -> Self {
        Self {
            alpha: 6.0,
            sigma: 16.0,
            border: Border::Reflect,
        }
    }
}

impl Transform for ElasticTransform {
    fn name(&self) -> &'static str {
        "elastic_transform"
    }

    fn validate(&self) -> Result<()> {
        check_in(self.name(), "alpha", self.alpha, 0.0, 1000.0)?;
        check_in(self.name(), "sigma", self.sigma, 1.0, 1000.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let step = (self.sigma * 0.5).round().max(1.0);
        let inv = 1.0 / step;
        // Same expression as the lookup below, so the last pixel's cell has a right neighbour.
        let gh = ((h - 1) as f32 * inv) as usize + 2;
        let gw = ((w - 1) as f32 * inv) as usize + 2;
        let kernel = gaussian_kernel(self.sigma / step);
        let mut scratch = Vec::new();
        let mut field = |rng: &mut dyn RngCore| {
            let mut f: Vec<f32> = (0..gh * gw).map(|_| symmetric(rng, 1.0)).collect();
            blur_plane(&mut f, gh, gw, &kernel, &mut scratch);
            let rms = (f.iter().map(|v| v * v).sum::<f32>() / f.len() as f32).sqrt();
            let gain = if rms > 0.0 { self.alpha / rms } else { 0.0 };
            f.iter_mut().for_each(|v| *v *= gain);
            f
        };
        let fy = field(rng);
        let fx = field(rng);
        warp_in_place(image, mask, self.border, |y, x| {
            let gy = y as f32 * inv;
            let gx = x as f32 * inv;
            let (iy, ix) = (gy as usize, gx as usize);
            let (ty, tx) = (gy - iy as f32, gx - ix as f32);
            let i = iy * gw + ix;
            let lerp = |f: &[f32]| {
                let top = f[i] + (f[i + 1] - f[i]) * tx;
                let bot = f[i + gw] + (f[i + gw + 1] - f[i + gw]) * tx;
                top + (bot - top) * ty
            };
            (y as f32 + lerp(&fy), x as f32 + lerp(&fx))
        });
        Ok(())
    }
}
