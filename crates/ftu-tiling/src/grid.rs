//! A tile grid over a slide: fixed-size full-resolution tiles with overlap,
//! covering every pixel, in row-major order.

use crate::error::{Result, TilingError};

/// One tile of a [`TileGrid`], in full-resolution slide coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    /// Position in the grid's row-major order.
    pub index: usize,
    pub row: usize,
    pub col: usize,
    pub x: u64,
    pub y: u64,
    /// Side of the tile at full resolution.
    pub size: usize,
}

/// Tiles of `size` x `size` pixels, neighbours overlapping by at least
/// `overlap` pixels. The first tile of each axis starts at 0 and the last
/// ends at the slide edge, so every pixel is covered and no tile needs padding
/// unless the slide is smaller than one tile; tiles between are spaced evenly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileGrid {
    xs: Vec<u64>,
    ys: Vec<u64>,
    size: usize,
}

/// Starts of tiles along one axis of `len` pixels.
fn starts(len: u64, size: u64, overlap: u64) -> Vec<u64> {
    if len <= size {
        return vec![0];
    }
    let stride = size - overlap;
    let span = len - size;
    let n = span.div_ceil(stride) + 1;
    // Spread the n starts evenly over [0, span]; consecutive starts differ by
    // at most `stride`, so overlaps are at least `overlap`.
    (0..n).map(|i| (i * span + (n - 1) / 2) / (n - 1)).collect()
}

impl TileGrid {
    /// A grid of `size`-pixel tiles overlapping by `overlap` pixels over a
    /// `width` x `height` slide.
    pub fn new(width: u64, height: u64, size: usize, overlap: usize) -> Result<TileGrid> {
        if size == 0 || overlap >= size {
            return Err(TilingError::Invalid(format!(
                "tile size {size} with overlap {overlap}: need size > overlap >= 0"
            )));
        }
        if width == 0 || height == 0 {
            return Err(TilingError::Invalid(format!(
                "empty slide {width} x {height}"
            )));
        }
        Ok(TileGrid {
            xs: starts(width, size as u64, overlap as u64),
            ys: starts(height, size as u64, overlap as u64),
            size,
        })
    }

    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.xs.len() * self.ys.len()
    }

    /// Whether the grid has no tiles (never true for a grid made by `new`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tiles across and down.
    pub fn shape(&self) -> (usize, usize) {
        (self.xs.len(), self.ys.len())
    }

    /// The tile at row-major `index`.
    pub fn tile(&self, index: usize) -> Option<Tile> {
        if index >= self.len() {
            return None;
        }
        let (row, col) = (index / self.xs.len(), index % self.xs.len());
        Some(Tile {
            index,
            row,
            col,
            x: self.xs[col],
            y: self.ys[row],
            size: self.size,
        })
    }

    /// All tiles in row-major order (top to bottom, left to right).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Tile> + '_ {
        (0..self.len()).map(|i| self.tile(i).expect("index below len"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_pixel_with_the_overlap() {
        for (len, size, overlap) in [
            (1000, 256, 64),
            (256, 256, 0),
            (257, 256, 0),
            (100, 256, 32),
            (5000, 1024, 512),
        ] {
            let s = starts(len, size, overlap);
            assert_eq!(s[0], 0);
            assert!(
                len <= size || *s.last().unwrap() + size == len,
                "{len} {size}"
            );
            for w in s.windows(2) {
                assert!(w[1] > w[0] && w[1] - w[0] <= size - overlap, "{s:?}");
            }
        }
    }

    #[test]
    fn row_major_and_deterministic() {
        let g = TileGrid::new(3000, 2000, 1024, 256).unwrap();
        let tiles: Vec<Tile> = g.iter().collect();
        assert_eq!(tiles.len(), g.len());
        assert_eq!(g.shape(), (4, 3));
        assert!(
            tiles
                .windows(2)
                .all(|t| (t[0].y, t[0].x) < (t[1].y, t[1].x))
        );
        assert_eq!(tiles[5], g.tile(5).unwrap());
        assert_eq!((tiles[5].row, tiles[5].col), (1, 1));
        assert!(TileGrid::new(10, 10, 8, 8).is_err());
        assert!(TileGrid::new(0, 10, 8, 0).is_err());
    }
}
