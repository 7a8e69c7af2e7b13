//! A downscaled copy of a mask built from bands as they stream past: each
//! output pixel holds the foreground fraction of its `factor x factor` block
//! (0..=255). Feeds overlays and polygon tracing without the full mask.

use ndarray::{Array2, ArrayView2};

/// See the module docs.
#[derive(Debug)]
pub struct BlockMask {
    factor: usize,
    height: usize,
    width: usize,
    /// Foreground counts of the block row being filled.
    counts: Vec<u32>,
    /// Finished block rows, row-major.
    out: Vec<u8>,
    /// Full-resolution rows consumed.
    rows: usize,
}

impl BlockMask {
    /// For a `height x width` mask, blocks of `factor` pixels a side.
    pub fn new(height: usize, width: usize, factor: usize) -> BlockMask {
        let factor = factor.max(1);
        BlockMask {
            factor,
            height,
            width,
            counts: vec![0; width.div_ceil(factor)],
            out: Vec::with_capacity(height.div_ceil(factor) * width.div_ceil(factor)),
            rows: 0,
        }
    }

    /// Adds the next rows of the mask (nonzero = foreground), top to bottom.
    pub fn push(&mut self, band: ArrayView2<u8>) {
        let f = self.factor;
        for row in band.rows() {
            for (x, &v) in row.iter().enumerate() {
                self.counts[x / f] += u32::from(v != 0);
            }
            self.rows += 1;
            if self.rows.is_multiple_of(f) || self.rows == self.height {
                self.flush_row();
            }
        }
    }

    fn flush_row(&mut self) {
        let f = self.factor;
        let bh = (self.rows - 1) % f + 1;
        for (bx, c) in self.counts.iter_mut().enumerate() {
            let bw = f.min(self.width - bx * f);
            let cells = (bh * bw) as u32;
            self.out.push(((*c * 255 + cells / 2) / cells) as u8);
            *c = 0;
        }
    }

    /// The fraction map, `ceil(h / f) x ceil(w / f)`; rows never pushed are 0.
    pub fn finish(mut self) -> Array2<u8> {
        let (bh, bw) = (
            self.height.div_ceil(self.factor),
            self.width.div_ceil(self.factor),
        );
        self.out.resize(bh * bw, 0);
        Array2::from_shape_vec((bh, bw), self.out).expect("block map has bh x bw values")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_of_blocks_including_edges() {
        // 5 x 5 mask, factor 2: blocks 2x2 except the right / bottom edge.
        let mask = Array2::from_shape_fn((5, 5), |(y, x)| u8::from(x >= 2 && y < 2));
        let mut b = BlockMask::new(5, 5, 2);
        b.push(mask.slice(ndarray::s![0..3, ..]));
        b.push(mask.slice(ndarray::s![3..5, ..]));
        let out = b.finish();
        assert_eq!(out.dim(), (3, 3));
        assert_eq!(out.row(0).to_vec(), vec![0, 255, 255]);
        assert_eq!(out.row(1).to_vec(), vec![0, 0, 0]);
    }
}
