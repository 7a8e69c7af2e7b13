//! H&E stain jitter by colour deconvolution (Ruifrok & Johnston 2001; the
//! "HED" augmentation of Tellez et al. 2018).

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use super::map_rgb;
use crate::error::Result;
use crate::transform::{Transform, check_in, check_pair, symmetric};

/// Optical-density vectors of haematoxylin and eosin (Ruifrok & Johnston).
const HAEMATOXYLIN: [f32; 3] = [0.650, 0.704, 0.286];
const EOSIN: [f32; 3] = [0.072, 0.990, 0.105];

fn normalise(v: [f32; 3]) -> [f32; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

/// Rows: H, E and the residual (orthogonal to both) stain vectors.
fn stain_matrix() -> [[f32; 3]; 3] {
    let h = normalise(HAEMATOXYLIN);
    let e = normalise(EOSIN);
    let r = normalise([
        h[1] * e[2] - h[2] * e[1],
        h[2] * e[0] - h[0] * e[2],
        h[0] * e[1] - h[1] * e[0],
    ]);
    [h, e, r]
}

fn invert3(m: [[f32; 3]; 3]) -> [[f32; 3]; 3] {
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let det = m[0][0] * c(1, 1, 2, 2) - m[0][1] * c(1, 0, 2, 2) + m[0][2] * c(1, 0, 2, 1);
    let d = 1.0 / det;
    [
        [c(1, 1, 2, 2) * d, -c(0, 1, 2, 2) * d, c(0, 1, 1, 2) * d],
        [-c(1, 0, 2, 2) * d, c(0, 0, 2, 2) * d, -c(0, 0, 1, 2) * d],
        [c(1, 0, 2, 1) * d, -c(0, 0, 2, 1) * d, c(0, 0, 1, 1) * d],
    ]
}

/// Perturbs stain concentrations: the tile is unmixed into haematoxylin,
/// eosin and residual optical densities, each is scaled by
/// `1 + U(-alpha, alpha)` and shifted by `U(-beta, beta)`, and the tile is
/// mixed back. Mimics scanner and staining variation between slides, which
/// hue shifts only approximate.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StainJitter {
    /// Largest relative change of each stain's concentration.
    pub alpha: f32,
    /// Largest additive change of each stain's optical density.
    pub beta: f32,
}

impl Default for StainJitter {
    /// Tellez et al.'s "HED-light" strength.
    fn default() -> Self {
        Self {
            alpha: 0.05,
            beta: 0.05,
        }
    }
}

impl Transform for StainJitter {
    fn name(&self) -> &'static str {
        "stain_jitter"
    }

    fn validate(&self) -> Result<()> {
        check_in(self.name(), "alpha", self.alpha, 0.0, 1.0)?;
        check_in(self.name(), "beta", self.beta, 0.0, 1.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let m = stain_matrix();
        let minv = invert3(m);
        let a: [f32; 3] = std::array::from_fn(|_| 1.0 + symmetric(rng, self.alpha));
        let b: [f32; 3] = std::array::from_fn(|_| symmetric(rng, self.beta));
        // od' = ((od M^-1) diag(a) + b) M = od T + t, folded into one affine map.
        let mut t_mat = [[0f32; 3]; 3];
        for (i, row) in t_mat.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..3).map(|k| minv[i][k] * a[k] * m[k][j]).sum();
            }
        }
        let t_vec: [f32; 3] = std::array::from_fn(|j| (0..3).map(|k| b[k] * m[k][j]).sum());
        let od_of: [f32; 256] = std::array::from_fn(|v| -((v as f32 + 1.0) / 256.0).ln());
        map_rgb(image, |px| {
            let od = px.map(|v| od_of[v as usize]);
            std::array::from_fn(|j| {
                let d = od[0] * t_mat[0][j] + od[1] * t_mat[1][j] + od[2] * t_mat[2][j] + t_vec[j];
                (256.0 * (-d).exp() - 0.5).clamp(0.0, 255.0) as u8
            })
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn deconvolution_round_trips() {
        let m = stain_matrix();
        let mi = invert3(m);
        for (i, row) in m.iter().enumerate() {
            for j in 0..3 {
                let v: f32 = row.iter().zip(&mi).map(|(a, col)| a * col[j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn zero_jitter_is_identity_and_scaling_keeps_white_white() {
        let mut img =
            Array3::from_shape_fn((4, 4, 3), |(y, x, c)| (40 + 50 * y + 10 * x + 7 * c) as u8);
        img.slice_mut(ndarray::s![0, 0, ..]).fill(255);
        let mut mask = Array2::zeros((4, 4));
        let mut out = img.clone();
        let none = StainJitter {
            alpha: 0.0,
            beta: 0.0,
        };
        none.apply(
            &mut out,
            &mut mask,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
        assert_eq!(out, img);
        // Scaling concentrations leaves zero optical density (white glass) at zero.
        let scale_only = StainJitter {
            alpha: 0.5,
            beta: 0.0,
        };
        let mut out = img.clone();
        scale_only
            .apply(
                &mut out,
                &mut mask,
                &mut rand_chacha::ChaCha8Rng::seed_from_u64(5),
            )
            .unwrap();
        assert_ne!(out, img);
        assert_eq!(out.slice(ndarray::s![0, 0, ..]).to_vec(), [255, 255, 255]);
    }
}
