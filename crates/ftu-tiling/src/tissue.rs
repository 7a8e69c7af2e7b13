//! Tissue detection: a pixel is tissue when its HSV saturation is above a
//! threshold and it is not near-white. Computed once on a slide thumbnail so
//! that background tiles are never decoded at full resolution.

use ndarray::{Array2, ArrayView3};
use serde::{Deserialize, Serialize};

/// Thresholds of the tissue test (OpenCV 0..255 scales).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TissueParams {
    /// A pixel is tissue only if its saturation (max - min) / max * 255 exceeds this.
    pub saturation: u8,
    /// A pixel whose R, G and B all exceed this is glass (near-white).
    pub white: u8,
    /// Tiles with a smaller tissue fraction are background.
    pub min_fraction: f32,
}

impl Default for TissueParams {
    fn default() -> Self {
        TissueParams {
            saturation: 40,
            white: 220,
            min_fraction: 0.05,
        }
    }
}

/// Whether one RGB pixel is tissue.
pub fn is_tissue(px: [u8; 3], params: &TissueParams) -> bool {
    let max = px.iter().copied().max().unwrap_or(0);
    let min = px.iter().copied().min().unwrap_or(0);
    if max == 0 || min > params.white {
        return false;
    }
    // (max - min) / max * 255 > saturation, in integers.
    u32::from(max - min) * 255 > u32::from(params.saturation) * u32::from(max)
}

/// Fraction of tissue pixels in an HWC RGB image.
pub fn tissue_fraction(image: ArrayView3<u8>, params: &TissueParams) -> f32 {
    let n = image.shape()[0] * image.shape()[1];
    if n == 0 {
        return 0.0;
    }
    let count = image
        .outer_iter()
        .flat_map(|row| {
            row.outer_iter()
                .map(|p| is_tissue([p[0], p[1], p[2]], params))
                .collect::<Vec<_>>()
        })
        .filter(|&t| t)
        .count();
    count as f32 / n as f32
}

/// The tissue mask of a slide thumbnail, with a summed-area table so the
/// tissue fraction of any full-resolution window costs O(1).
#[derive(Debug, Clone)]
pub struct TissueMap {
    /// Full-resolution pixels per thumbnail pixel.
    factor: u32,
    /// Summed-area table of the tissue mask, (h + 1) x (w + 1).
    sat: Array2<u32>,
}

impl TissueMap {
    /// Builds the map from a thumbnail made with `Slide::thumbnail(factor)`.
    pub fn new(thumbnail: ArrayView3<u8>, factor: u32, params: &TissueParams) -> TissueMap {
        let (h, w, _) = thumbnail.dim();
        let mut sat = Array2::zeros((h + 1, w + 1));
        for y in 0..h {
            let mut run = 0u32;
            for x in 0..w {
                let p = thumbnail.slice(ndarray::s![y, x, ..]);
                run += u32::from(is_tissue([p[0], p[1], p[2]], params));
                sat[[y + 1, x + 1]] = sat[[y, x + 1]] + run;
            }
        }
        TissueMap {
            factor: factor.max(1),
            sat,
        }
    }

    /// Tissue fraction of the full-resolution window (x, y, w, h), measured on
    /// the thumbnail pixels it overlaps; parts outside the slide count as background.
    pub fn fraction(&self, x: u64, y: u64, w: u64, h: u64) -> f32 {
        let f = u64::from(self.factor);
        let (th, tw) = (self.sat.nrows() as u64 - 1, self.sat.ncols() as u64 - 1);
        let cells =
            (x + w).div_ceil(f).saturating_sub(x / f) * (y + h).div_ceil(f).saturating_sub(y / f);
        if cells == 0 {
            return 0.0;
        }
        let (x0, y0) = ((x / f).min(tw) as usize, (y / f).min(th) as usize);
        let (x1, y1) = (
            (x + w).div_ceil(f).min(tw) as usize,
            (y + h).div_ceil(f).min(th) as usize,
        );
        let s = &self.sat;
        let count = s[[y1, x1]] + s[[y0, x0]] - s[[y0, x1]] - s[[y1, x0]];
        count as f32 / cells as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;

    #[test]
    fn saturation_and_white_rules() {
        let p = TissueParams::default();
        assert!(is_tissue([200, 100, 180], &p)); // pink stain
        assert!(!is_tissue([240, 238, 236], &p)); // glass
        assert!(!is_tissue([120, 120, 120], &p)); // grey, unsaturated
        assert!(!is_tissue([0, 0, 0], &p));
        assert!(!is_tissue([250, 225, 240], &p)); // saturated but near-white
    }

    #[test]
    fn window_fraction_from_the_summed_area_table() {
        let mut thumb = Array3::from_elem((10, 20, 3), 245u8);
        thumb
            .slice_mut(ndarray::s![0..5, 0..10, ..])
            .assign(&ndarray::arr1(&[200u8, 100, 180]));
        let p = TissueParams::default();
        assert!((tissue_fraction(thumb.view(), &p) - 0.25).abs() < 1e-6);
        let map = TissueMap::new(thumb.view(), 16, &p);
        assert_eq!(map.fraction(0, 0, 160, 80), 1.0);
        assert_eq!(map.fraction(160, 0, 160, 160), 0.0);
        assert!((map.fraction(0, 0, 320, 160) - 0.25).abs() < 1e-6);
        // The lower half of this window is glass.
        assert!((map.fraction(0, 0, 160, 160) - 0.5).abs() < 1e-6);
        assert_eq!(map.fraction(0, 320, 160, 160), 0.0);
    }
}
