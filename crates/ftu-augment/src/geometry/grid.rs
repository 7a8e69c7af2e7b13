//! Grid distortion: each axis is cut into cells that are stretched or squeezed.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use crate::border::Border;
use crate::error::{AugmentError, Result};
use crate::transform::{Transform, check_in, check_pair, symmetric};
use crate::warp::warp_in_place;

/// Grid distortion, as albumentations' `GridDistortion`: each axis is split
/// into `num_steps` equal cells and each cell's source width is scaled by
/// `1 + U(-distort_limit, distort_limit)`; the cells are then rescaled to
/// cover the whole tile, so nothing falls outside it. The map is separable,
/// so it costs two short lookup tables.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridDistortion {
    /// Cells per axis.
    pub num_steps: usize,
    /// Largest relative change of a cell's width.
    pub distort_limit: f32,
    /// Fill for samples outside the tile (only reached by rounding).
    pub border: Border,
}

impl Default for GridDistortion {
    fn default() -> Self {
        Self {
            num_steps: 5,
            distort_limit: 0.3,
            border: Border::Reflect,
        }
    }
}

/// Source coordinate of every destination index along an axis of length `n`.
fn axis_map(n: usize, steps: usize, limit: f32, rng: &mut dyn RngCore) -> Vec<f32> {
    let widths: Vec<f32> = (0..steps).map(|_| 1.0 + symmetric(rng, limit)).collect();
    let total: f32 = widths.iter().sum();
    let cell = n as f32 / steps as f32;
    // Knots: destination edge i * cell maps to the scaled cumulative width.
    let mut knots = Vec::with_capacity(steps + 1);
    let mut acc = 0.0;
    knots.push(0.0);
    for wd in &widths {
        acc += wd;
        knots.push(acc / total * n as f32);
    }
    (0..n)
        .map(|i| {
            let t = i as f32 + 0.5;
            let k = ((t / cell) as usize).min(steps - 1);
            let f = (t - k as f32 * cell) / cell;
            knots[k] + (knots[k + 1] - knots[k]) * f - 0.5
        })
        .collect()
}

impl Transform for GridDistortion {
    fn name(&self) -> &'static str {
        "grid_distortion"
    }

    fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.num_steps) {
            return Err(AugmentError::InvalidParameter {
                transform: self.name(),
                field: "num_steps",
                reason: format!("is {}, must be in [1, 64]", self.num_steps),
            });
        }
        check_in(self.name(), "distort_limit", self.distort_limit, 0.0, 0.9)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let mx = axis_map(w, self.num_steps, self.distort_limit, rng);
        let my = axis_map(h, self.num_steps, self.distort_limit, rng);
        warp_in_place(image, mask, self.border, |y, x| (my[y], mx[x]));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn axis_map_is_monotone_and_spans_the_tile() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let m = axis_map(100, 5, 0.5, &mut rng);
        assert!(m.windows(2).all(|p| p[1] > p[0]));
        assert!(m[0] > -0.5 && m[0] < 1.0, "{}", m[0]);
        assert!(m[99] > 98.0 && m[99] < 99.5, "{}", m[99]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let id = axis_map(10, 5, 0.0, &mut rng);
        for (i, v) in id.iter().enumerate() {
            assert!((v - i as f32).abs() < 1e-5);
        }
    }
}
