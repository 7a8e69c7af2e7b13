//! Keeping stitched bands small and averaging bands across window geometries.

use std::collections::VecDeque;

use ftu_tiling::{Band, Stitcher, Weighting};
use ndarray::{Array2, ArrayView2};

use crate::error::Result;

/// Rows emitted at most at once when skipping rows no patch touches, so a
/// slide with a large empty region never allocates a huge band.
pub const STEP_ROWS: usize = 256;

/// A [`Stitcher`] fed patches top to bottom, whose bands stay at most
/// max(STEP_ROWS, vertical stride) rows high.
pub struct StitchStream {
    stitcher: Stitcher,
    height: usize,
    top: usize,
}

impl StitchStream {
    pub fn new(height: usize, width: usize, weighting: Weighting) -> StitchStream {
        StitchStream {
            stitcher: Stitcher::new(height, width, weighting),
            height,
            top: 0,
        }
    }

    /// Emits the rows above `y` (no later patch may start above `y`) to
    /// `emit`, at most STEP_ROWS at a time: an empty patch only advances the
    /// stitcher, and each band is handed on before the next is made.
    pub fn advance_to(&mut self, y: usize, emit: &mut dyn FnMut(Band) -> Result<()>) -> Result<()> {
        let empty = Array2::<f32>::zeros((0, 0));
        let y = y.min(self.height);
        while self.top < y {
            self.top = (self.top + STEP_ROWS).min(y);
            if let Some(b) = self.stitcher.add(0, self.top as i64, empty.view())? {
                emit(b)?;
            }
        }
        Ok(())
    }

    /// Adds a patch predicted at `patch`'s resolution over the full-resolution
    /// square window (`x`, `y`, `tile`); finished bands go to `emit`.
    pub fn add(
        &mut self,
        x: usize,
        y: usize,
        tile: usize,
        patch: ArrayView2<f32>,
        emit: &mut dyn FnMut(Band) -> Result<()>,
    ) -> Result<()> {
        self.advance_to(y, emit)?;
        if let Some(b) = self
            .stitcher
            .add_scaled(x as i64, y as i64, tile, tile, patch)?
        {
            emit(b)?;
        }
        Ok(())
    }

    /// Emits the remaining rows.
    pub fn finish(mut self, emit: &mut dyn FnMut(Band) -> Result<()>) -> Result<()> {
        self.advance_to(self.height, emit)?;
        if let Some(b) = self.stitcher.finish() {
            emit(b)?;
        }
        Ok(())
    }
}

/// Averages the stitched maps of several window geometries, weighted by how
/// many members each holds, as their bands arrive (in any interleaving).
pub struct Merger {
    width: usize,
    weights: Vec<f32>,
    /// Per source: first row held and the held rows, row-major.
    queues: Vec<(usize, VecDeque<f32>)>,
    top: usize,
}

impl Merger {
    pub fn new(width: usize, weights: Vec<f32>) -> Merger {
        let queues = weights.iter().map(|_| (0, VecDeque::new())).collect();
        Merger {
            width,
            weights,
            queues,
            top: 0,
        }
    }

    /// Adds a band of source `s`; returns the merged rows now complete.
    pub fn push(&mut self, s: usize, band: Band) -> Option<Band> {
        if self.weights.len() == 1 {
            self.top = band.y + band.probs.nrows();
            return Some(band);
        }
        let q = &mut self.queues[s];
        debug_assert_eq!(q.0 + q.1.len() / self.width.max(1), band.y);
        q.1.extend(band.probs.iter());
        let end = self
            .queues
            .iter()
            .map(|(start, rows)| start + rows.len() / self.width.max(1))
            .min()
            .unwrap_or(0);
        if end <= self.top {
            return None;
        }
        let n = (end - self.top) * self.width;
        let total: f32 = self.weights.iter().sum();
        let mut acc = vec![0f32; n];
        for ((start, rows), &w) in self.queues.iter_mut().zip(&self.weights) {
            for (a, v) in acc.iter_mut().zip(rows.drain(..n)) {
                *a += v * (w / total);
            }
            *start = end;
        }
        let band = Band {
            y: self.top,
            probs: Array2::from_shape_vec((end - self.top, self.width), acc)
                .expect("merged band has rows x width values"),
        };
        self.top = end;
        Some(band)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_keeps_bands_small_and_covers_every_row() {
        let mut s = StitchStream::new(2000, 10, Weighting::Uniform);
        let mut bands = Vec::new();
        let mut keep = |b: Band| {
            bands.push(b);
            Ok(())
        };
        s.add(0, 1500, 10, Array2::ones((10, 10)).view(), &mut keep)
            .unwrap();
        s.finish(&mut keep).unwrap();
        assert!(bands.iter().all(|b| b.probs.nrows() <= STEP_ROWS));
        let rows: usize = bands.iter().map(|b| b.probs.nrows()).sum();
        assert_eq!(rows, 2000);
        let at = |y: usize| {
            let b = bands
                .iter()
                .find(|b| b.y <= y && y < b.y + b.probs.nrows())
                .unwrap();
            b.probs[[y - b.y, 3]]
        };
        assert_eq!(at(1499), 0.0);
        assert_eq!(at(1505), 1.0);
        assert_eq!(at(1510), 0.0);
    }

    #[test]
    fn merger_weights_sources() {
        let mut m = Merger::new(2, vec![1.0, 3.0]);
        let band = |y, v: f32, rows| Band {
            y,
            probs: Array2::from_elem((rows, 2), v),
        };
        assert!(m.push(0, band(0, 1.0, 3)).is_none());
        let out = m.push(1, band(0, 0.0, 2)).unwrap();
        assert_eq!((out.y, out.probs.nrows()), (0, 2));
        assert_eq!(out.probs[[0, 0]], 0.25);
        let out = m.push(1, band(2, 1.0, 1)).unwrap();
        assert_eq!((out.y, out.probs[[0, 1]]), (2, 1.0));
    }
}
