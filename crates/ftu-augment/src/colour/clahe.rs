//! Contrast-limited adaptive histogram equalisation on luma.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use crate::error::{AugmentError, Result};
use crate::transform::{Transform, check_pair, check_range, round_u8, standardise, uniform};

/// CLAHE (Zuiderveld 1994, as OpenCV's) on the BT.601 luma of the tile, with
/// the clip limit drawn from `clip_limit`. Albumentations equalises L* of
/// CIELAB; luma is used here because shifting R, G and B by the same amount
/// changes luma alone and leaves the chroma (Cb, Cr) exactly as it was.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Clahe {
    /// Range of the clip limit (OpenCV's units: multiples of the mean bin height).
    pub clip_limit: [f32; 2],
    /// Tiles per side.
    pub tile_grid: usize,
}

impl Default for Clahe {
    fn default() -> Self {
        Self {
            clip_limit: [1.0, 4.0],
            tile_grid: 8,
        }
    }
}

/// Row / column span of tile `i` of `n` over `len` pixels.
fn span(i: usize, n: usize, len: usize) -> (usize, usize) {
    (i * len / n, (i + 1) * len / n)
}

/// Tile index pair and weight of the second, for pixel `p` with `n` tiles over `len`.
#[inline]
fn neighbours(p: usize, n: usize, len: usize) -> (usize, usize, f32) {
    let t = (p as f32 + 0.5) * n as f32 / len as f32 - 0.5;
    if t <= 0.0 {
        return (0, 0, 0.0);
    }
    let t0 = t.floor() as usize;
    if t0 >= n - 1 {
        return (n - 1, n - 1, 0.0);
    }
    (t0, t0 + 1, t - t0 as f32)
}

impl Transform for Clahe {
    fn name(&self) -> &'static str {
        "clahe"
    }

    fn validate(&self) -> Result<()> {
        check_range(self.name(), "clip_limit", self.clip_limit, 0.0, 256.0)?;
        if !(1..=64).contains(&self.tile_grid) {
            return Err(AugmentError::InvalidParameter {
                transform: self.name(),
                field: "tile_grid",
                reason: format!("is {}, must be in [1, 64]", self.tile_grid),
            });
        }
        Ok(())
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let clip = uniform(rng, self.clip_limit);
        standardise(image);
        let data = image.as_slice_mut().expect("standard layout");
        let luma: Vec<u8> = data
            .chunks_exact(3)
            .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32 + 0.5) as u8)
            .collect();
        // Small tiles would be empty; never use more tiles than pixels.
        let (gy, gx) = (self.tile_grid.min(h), self.tile_grid.min(w));
        let mut luts = vec![0f32; gy * gx * 256];
        for ty in 0..gy {
            let (y0, y1) = span(ty, gy, h);
            for tx in 0..gx {
                let (x0, x1) = span(tx, gx, w);
                let mut hist = [0u32; 256];
                for y in y0..y1 {
                    for &v in &luma[y * w + x0..y * w + x1] {
                        hist[v as usize] += 1;
                    }
                }
                let area = ((y1 - y0) * (x1 - x0)) as u32;
                if clip > 0.0 {
                    // Clip each bin and hand the excess out evenly, as OpenCV does.
                    let limit = ((clip * area as f32 / 256.0) as u32).max(1);
                    let mut excess = 0;
                    for b in hist.iter_mut() {
                        if *b > limit {
                            excess += *b - limit;
                            *b = limit;
                        }
                    }
                    let each = excess / 256;
                    let rest = (excess % 256) as usize;
                    hist.iter_mut().for_each(|b| *b += each);
                    if let Some(stride) = 256usize.checked_div(rest) {
                        for b in hist.iter_mut().step_by(stride.max(1)).take(rest) {
                            *b += 1;
                        }
                    }
                }
                let lut = &mut luts[(ty * gx + tx) * 256..][..256];
                let scale = 255.0 / area as f32;
                let mut cdf = 0;
                for (l, &c) in lut.iter_mut().zip(&hist) {
                    cdf += c;
                    *l = cdf as f32 * scale;
                }
            }
        }
        for y in 0..h {
            let (ya, yb, wy) = neighbours(y, gy, h);
            for x in 0..w {
                let (xa, xb, wx) = neighbours(x, gx, w);
                let v = luma[y * w + x] as usize;
                let at = |ty: usize, tx: usize| luts[(ty * gx + tx) * 256 + v];
                let top = at(ya, xa) + (at(ya, xb) - at(ya, xa)) * wx;
                let bot = at(yb, xa) + (at(yb, xb) - at(yb, xa)) * wx;
                let delta = top + (bot - top) * wy - v as f32;
                let p = &mut data[(y * w + x) * 3..][..3];
                for c in p.iter_mut() {
                    *c = round_u8(*c as f32 + delta);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn clahe_stretches_a_low_contrast_ramp_and_keeps_grey_grey() {
        let mut img = Array3::from_shape_fn((32, 32, 3), |(y, x, _)| (100 + (x + y) / 4) as u8);
        let mut mask = Array2::zeros((32, 32));
        let spread = |i: &Array3<u8>| i.iter().max().unwrap() - i.iter().min().unwrap();
        let before = spread(&img);
        let t = Clahe {
            clip_limit: [4.0, 4.0],
            tile_grid: 2,
        };
        t.apply(
            &mut img,
            &mut mask,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
        assert!(spread(&img) > 2 * before, "{} vs {before}", spread(&img));
        assert!(
            img.outer_iter()
                .all(|row| row.outer_iter().all(|p| p[0] == p[1] && p[1] == p[2]))
        );
    }
}
