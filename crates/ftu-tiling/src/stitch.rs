//! Band-wise weighted stitching of patch predictions into a slide-sized
//! probability map, without ever holding the whole map.
//!
//! Patches arrive top to bottom (non-decreasing `y`, as a row-major
//! [`TileGrid`](crate::TileGrid) yields them). A row is finished once a patch
//! starts below it: it is emitted as part of a [`Band`] and dropped, so memory
//! is bounded by (patch height + vertical stride) x slide width.

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TilingError};

/// Per-pixel weight of a patch's prediction where patches overlap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Weighting {
    /// Every pixel weighs 1: a plain mean of overlapping predictions.
    Uniform,
    /// A Gaussian centred on the patch; `sigma` is a fraction of the patch
    /// side (0.125 is the usual choice). Edge pixels, where models see the
    /// least context, count least. Weights are floored at 1e-3 so a pixel
    /// only one patch covers still gets that patch's value.
    Gaussian { sigma: f32 },
    /// Linear ramp from the patch border over `width` pixels, 1 inside.
    Ramp { width: usize },
}

impl Weighting {
    fn weights(&self, h: usize, w: usize) -> Array2<f32> {
        match *self {
            Weighting::Uniform => Array2::ones((h, w)),
            Weighting::Gaussian { sigma } => {
                let (sy, sx) = ((sigma * h as f32).max(1e-3), (sigma * w as f32).max(1e-3));
                let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
                Array2::from_shape_fn((h, w), |(y, x)| {
                    let dy = (y as f32 - cy) / sy;
                    let dx = (x as f32 - cx) / sx;
                    (-(dy * dy + dx * dx) / 2.0).exp().max(1e-3)
                })
            }
            Weighting::Ramp { width } => Array2::from_shape_fn((h, w), |(y, x)| {
                let d = y.min(h - 1 - y).min(x).min(w - 1 - x);
                ((d + 1) as f32 / (width + 1) as f32).min(1.0)
            }),
        }
    }
}

/// Finished rows of the stitched map: rows `y..y + probs.nrows()`, full width.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub y: usize,
    pub probs: Array2<f32>,
}

/// Accumulates weighted patch predictions; see the module docs.
#[derive(Debug)]
pub struct Stitcher {
    height: usize,
    width: usize,
    weighting: Weighting,
    /// First row still held; rows above it were emitted.
    top: usize,
    /// Weighted running mean and total weight of held rows, row-major.
    mean: Vec<f32>,
    weight: Vec<f32>,
    last_y: i64,
    weight_cache: HashMap<(usize, usize), Array2<f32>>,
}

impl Stitcher {
    /// A stitcher for a `height` x `width` slide.
    pub fn new(height: usize, width: usize, weighting: Weighting) -> Stitcher {
        Stitcher {
            height,
            width,
            weighting,
            top: 0,
            mean: Vec::new(),
            weight: Vec::new(),
            last_y: i64::MIN,
            weight_cache: HashMap::new(),
        }
    }

    /// Rows currently held in memory (for checking the memory bound).
    pub fn held_rows(&self) -> usize {
        self.mean.len() / self.width.max(1)
    }

    /// Adds a full-resolution patch whose top-left pixel is (`x`, `y`); parts
    /// outside the slide are ignored. Returns the rows finished by this patch
    /// (all rows above `y`), if any.
    pub fn add(&mut self, x: i64, y: i64, patch: ArrayView2<f32>) -> Result<Option<Band>> {
        if y < self.last_y {
            return Err(TilingError::Invalid(format!(
                "stitcher: patch at y={y} after a patch at y={}; add patches top to bottom",
                self.last_y
            )));
        }
        if (y.max(0) as usize) < self.top {
            return Err(TilingError::Invalid(format!(
                "stitcher: patch at y={y} touches rows already emitted (up to {})",
                self.top
            )));
        }
        self.last_y = y;
        let band = self.emit_until((y.max(0) as usize).min(self.height));
        let (ph, pw) = patch.dim();
        let y_end = (y.saturating_add(ph as i64).max(0) as usize).min(self.height);
        let held_end = self.top + self.held_rows();
        if y_end > held_end {
            let extra = (y_end - held_end) * self.width;
            self.mean.resize(self.mean.len() + extra, 0.0);
            self.weight.resize(self.weight.len() + extra, 0.0);
        }
        let weighting = self.weighting;
        let weights = self
            .weight_cache
            .entry((ph, pw))
            .or_insert_with(|| weighting.weights(ph, pw));
        let c0 = (-x).max(0) as usize;
        let c1 = ((self.width as i64 - x).max(0) as usize).min(pw);
        let r0 = (-y).max(0) as usize;
        for r in r0..ph {
            let sy = y + r as i64;
            if sy >= self.height as i64 {
                break;
            }
            if c0 >= c1 {
                break;
            }
            let base = (sy as usize - self.top) * self.width;
            let sx0 = (x + c0 as i64) as usize;
            let means = &mut self.mean[base + sx0..base + sx0 + (c1 - c0)];
            let totals = &mut self.weight[base + sx0..base + sx0 + (c1 - c0)];
            let prow = patch.row(r);
            let wrow = weights.row(r);
            for (i, (m, t)) in means.iter_mut().zip(totals.iter_mut()).enumerate() {
                let (v, w) = (prow[c0 + i], wrow[c0 + i]);
                // Incremental weighted mean: exact when all patches agree.
                let total = *t + w;
                *m += (v - *m) * (w / total);
                *t = total;
            }
        }
        Ok(band)
    }

    /// Like [`add`](Self::add) for a patch predicted at a lower scale: it is
    /// resized (bilinear) to `full_h` x `full_w` first.
    pub fn add_scaled(
        &mut self,
        x: i64,
        y: i64,
        full_h: usize,
        full_w: usize,
        patch: ArrayView2<f32>,
    ) -> Result<Option<Band>> {
        let full = crate::resize::resize_probs(patch, full_h, full_w)?;
        self.add(x, y, full.view())
    }

    /// Emits all remaining rows (rows no patch touched are 0).
    pub fn finish(mut self) -> Option<Band> {
        self.emit_until(self.height)
    }

    fn emit_until(&mut self, end: usize) -> Option<Band> {
        if end <= self.top {
            return None;
        }
        let rows = end - self.top;
        let n = rows * self.width;
        let held = self.mean.len().min(n);
        let mut probs = Vec::with_capacity(n);
        probs.extend(self.mean.drain(..held));
        probs.resize(n, 0.0);
        self.weight.drain(..held);
        let band = Band {
            y: self.top,
            probs: Array2::from_shape_vec((rows, self.width), probs)
                .expect("band buffer has rows x width values"),
        };
        self.top = end;
        Some(band)
    }
}

/// A [`Stitcher`] whose finished bands are thresholded and run-length encoded
/// as they come, giving the slide's competition RLE at the end.
pub struct RleStitcher {
    stitcher: Stitcher,
    threshold: f32,
    encoder: ftu_rle::BandEncoder,
}

impl std::fmt::Debug for RleStitcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RleStitcher")
            .field("stitcher", &self.stitcher)
            .field("threshold", &self.threshold)
            .finish_non_exhaustive()
    }
}

impl RleStitcher {
    /// Pixels with stitched probability above `threshold` are foreground.
    pub fn new(height: usize, width: usize, weighting: Weighting, threshold: f32) -> RleStitcher {
        RleStitcher {
            stitcher: Stitcher::new(height, width, weighting),
            threshold,
            encoder: ftu_rle::BandEncoder::new(height, width),
        }
    }

    fn push(&mut self, band: Option<Band>) -> Result<()> {
        if let Some(band) = band {
            let t = self.threshold;
            let mask = band.probs.mapv(|p| u8::from(p > t));
            self.encoder.push_band(mask.view())?;
        }
        Ok(())
    }

    /// See [`Stitcher::add`].
    pub fn add(&mut self, x: i64, y: i64, patch: ArrayView2<f32>) -> Result<()> {
        let band = self.stitcher.add(x, y, patch)?;
        self.push(band)
    }

    /// See [`Stitcher::add_scaled`].
    pub fn add_scaled(
        &mut self,
        x: i64,
        y: i64,
        full_h: usize,
        full_w: usize,
        patch: ArrayView2<f32>,
    ) -> Result<()> {
        let band = self.stitcher.add_scaled(x, y, full_h, full_w, patch)?;
        self.push(band)
    }

    /// Rows currently held by the stitcher.
    pub fn held_rows(&self) -> usize {
        self.stitcher.held_rows()
    }

    /// Flushes the last rows and returns the RLE of the whole mask.
    pub fn finish(mut self) -> Result<String> {
        let stitcher =
            std::mem::replace(&mut self.stitcher, Stitcher::new(0, 0, Weighting::Uniform));
        let band = stitcher.finish();
        self.push(band)?;
        Ok(self.encoder.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_have_the_documented_shape() {
        let g = Weighting::Gaussian { sigma: 0.125 }.weights(9, 9);
        assert!((g[[4, 4]] - 1.0).abs() < 1e-6);
        assert!(g[[0, 0]] >= 1e-3 && g[[0, 0]] < g[[2, 2]]);
        let r = Weighting::Ramp { width: 3 }.weights(10, 10);
        assert_eq!(r[[0, 5]], 0.25);
        assert_eq!(r[[2, 5]], 0.75);
        assert_eq!(r[[5, 5]], 1.0);
    }

    #[test]
    fn overlapping_patches_are_weighted() {
        let mut s = Stitcher::new(1, 4, Weighting::Ramp { width: 1 });
        // Patch A (1 x 3, value 0) then patch B (1 x 3 at x=1, value 1).
        assert!(s.add(0, 0, Array2::zeros((1, 3)).view()).unwrap().is_none());
        assert!(s.add(1, 0, Array2::ones((1, 3)).view()).unwrap().is_none());
        let band = s.finish().unwrap();
        // Ramp weights of a 1-row patch are all 0.5 (every pixel is on the border).
        assert_eq!(band.probs.row(0).to_vec(), vec![0.0, 0.5, 0.5, 1.0]);
    }

    #[test]
    fn out_of_order_patches_are_refused() {
        let mut s = Stitcher::new(10, 10, Weighting::Uniform);
        s.add(0, 5, Array2::zeros((2, 2)).view()).unwrap();
        assert!(s.add(0, 4, Array2::zeros((2, 2)).view()).is_err());
    }
}
