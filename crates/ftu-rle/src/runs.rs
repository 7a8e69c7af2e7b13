//! Parsed runs: validation, whole and windowed decoding.

use std::ops::Range;

use ndarray::{Array2, ArrayViewMut2, s};

use crate::RleError;

/// A validated RLE of a `height` x `width` mask: sorted, disjoint, 0-indexed
/// `(start, length)` runs in column-major pixel order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rle {
    height: usize,
    width: usize,
    runs: Vec<(u64, u64)>,
}

/// Decodes RLE text to a 0/1 mask.
pub fn decode(rle: &str, height: usize, width: usize) -> Result<Array2<u8>, RleError> {
    Ok(Rle::parse(rle, height, width)?.to_mask())
}

/// Decodes only the window `rows` x `cols` of the mask.
pub fn decode_window(
    rle: &str,
    height: usize,
    width: usize,
    rows: Range<usize>,
    cols: Range<usize>,
) -> Result<Array2<u8>, RleError> {
    Rle::parse(rle, height, width)?.window(rows, cols)
}

impl Rle {
    /// Parses and validates RLE text. Each malformed input is an error naming
    /// the 1-based token where it shows: odd count, non-numeric token, zero
    /// length, start < 1, run past `height * width`, overlapping or unsorted
    /// runs. Runs are not required to be maximal (adjacent runs are accepted).
    pub fn parse(text: &str, height: usize, width: usize) -> Result<Self, RleError> {
        let size = height as u64 * width as u64;
        let runs = parse_runs(text, Some(size))?;
        Ok(Self {
            height,
            width,
            runs,
        })
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// Foreground pixel count.
    pub fn area(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum()
    }

    /// The whole mask, 0/1.
    pub fn to_mask(&self) -> Array2<u8> {
        let mut mask = Array2::zeros((self.height, self.width));
        self.fill(mask.view_mut(), 0..self.height, 0..self.width);
        mask
    }

    /// Decodes into a caller's buffer (reused across slides), which is cleared
    /// first. Its shape must be the mask's.
    pub fn decode_into(&self, mut out: ArrayViewMut2<u8>) -> Result<(), RleError> {
        if out.dim() != (self.height, self.width) {
            let (h, w) = out.dim();
            return Err(self.window_error(0..h, 0..w));
        }
        out.fill(0);
        self.fill(out, 0..self.height, 0..self.width);
        Ok(())
    }

    /// The window `rows` x `cols`, 0/1; only runs in those columns are visited.
    pub fn window(&self, rows: Range<usize>, cols: Range<usize>) -> Result<Array2<u8>, RleError> {
        if rows.start > rows.end
            || cols.start > cols.end
            || rows.end > self.height
            || cols.end > self.width
        {
            return Err(self.window_error(rows, cols));
        }
        let mut out = Array2::zeros((rows.len(), cols.len()));
        self.fill(out.view_mut(), rows, cols);
        Ok(out)
    }

    fn window_error(&self, rows: Range<usize>, cols: Range<usize>) -> RleError {
        RleError::Window {
            rows,
            cols,
            height: self.height,
            width: self.width,
        }
    }

    /// Sets window pixels covered by runs to 1; `out` is the window's view.
    fn fill(&self, mut out: ArrayViewMut2<u8>, rows: Range<usize>, cols: Range<usize>) {
        let h = self.height as u64;
        if h == 0 || cols.is_empty() || rows.is_empty() {
            return;
        }
        let lo = cols.start as u64 * h;
        let hi = cols.end as u64 * h;
        let first = self.runs.partition_point(|&(s, l)| s + l <= lo);
        for &(start, len) in &self.runs[first..] {
            if start >= hi {
                break;
            }
            let (mut idx, end) = (start.max(lo), (start + len).min(hi));
            while idx < end {
                let (col, row) = ((idx / h) as usize, (idx % h) as usize);
                let stop = (end - idx).min(h - row as u64) as usize + row;
                let (r0, r1) = (row.max(rows.start), stop.min(rows.end));
                if r0 < r1 {
                    out.slice_mut(s![r0 - rows.start..r1 - rows.start, col - cols.start])
                        .fill(1);
                }
                idx += (stop - row) as u64;
            }
        }
    }
}

/// Parses `start length` pairs into 0-indexed runs, validating order and,
/// when `size` is known, bounds.
pub(crate) fn parse_runs(text: &str, size: Option<u64>) -> Result<Vec<(u64, u64)>, RleError> {
    let mut runs = Vec::new();
    let mut tokens = text.split_ascii_whitespace().enumerate();
    let mut previous_end = 0u64;
    let number = |index: usize, token: &str| -> Result<u64, RleError> {
        token.parse::<u64>().map_err(|_| RleError::NotANumber {
            index: index + 1,
            token: token.to_owned(),
        })
    };
    while let Some((i, s_tok)) = tokens.next() {
        let start = number(i, s_tok)?;
        let Some((j, l_tok)) = tokens.next() else {
            return Err(RleError::OddTokenCount { count: i + 1 });
        };
        let length = number(j, l_tok)?;
        if start < 1 {
            return Err(RleError::StartBelowOne {
                index: i + 1,
                start,
            });
        }
        if length == 0 {
            return Err(RleError::ZeroLength { index: j + 1 });
        }
        let s0 = start - 1;
        if s0 < previous_end {
            return Err(RleError::Unsorted {
                index: i + 1,
                start,
                previous_end,
            });
        }
        let end = s0.saturating_add(length);
        if let Some(size) = size
            && end > size
        {
            return Err(RleError::PastEnd {
                index: i + 1,
                start,
                length,
                size,
            });
        }
        previous_end = end;
        runs.push((s0, length));
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;
    use ndarray::array;
    use proptest::prelude::*;

    fn err(text: &str) -> String {
        Rle::parse(text, 4, 5).unwrap_err().to_string()
    }

    #[test]
    fn rejects_each_malformed_input_with_its_position() {
        assert!(err("1 2 5").contains("odd number of tokens (3)"));
        assert!(err("1 2 x 3").contains("token 3 (\"x\")"));
        assert!(err("1 -2").contains("token 2 (\"-2\")"));
        assert!(err("1 2 5 0").contains("token 4: run length is 0"));
        assert!(err("0 2").contains("token 1: start 0 < 1"));
        assert!(err("1 2 19 3").contains("token 3: run 19 3 ends past the mask's 20 pixels"));
        assert!(err("5 3 6 1").contains("token 3: run starting at 6 overlaps"));
        assert!(err("9 1 2 1").contains("token 3: run starting at 2"));
        assert!(err("1 99999999999999999999").contains("token 2"));
        assert!(
            Rle::parse("", 4, 5)
                .unwrap()
                .to_mask()
                .iter()
                .all(|&v| v == 0)
        );
        // Adjacent, non-maximal runs are fine.
        assert_eq!(Rle::parse("1 2 3 2", 4, 5).unwrap().area(), 4);
    }

    #[test]
    fn window_errors_and_decode_into() {
        let rle = Rle::parse("3 4", 3, 3).unwrap();
        assert!(rle.window(0..4, 0..1).is_err());
        let mut buf = Array2::from_elem((3, 3), 9u8);
        rle.decode_into(buf.view_mut()).unwrap();
        assert_eq!(buf, array![[0, 1, 0], [0, 1, 0], [1, 1, 0]]);
        assert!(rle.decode_into(Array2::zeros((2, 3)).view_mut()).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_random_masks(
            h in 1usize..40, w in 1usize..40, density in 0.0f64..1.0, seed in any::<u64>(),
        ) {
            let mut state = seed | 1;
            let m = Array2::from_shape_fn((h, w), |_| {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                ((state % 1000) as f64 / 1000.0 < density) as u8
            });
            let rle = encode(m.view());
            prop_assert_eq!(decode(&rle, h, w).unwrap(), m.clone());
            // Every window equals the slice of the whole.
            let (r0, c0) = ((seed as usize) % h, (seed as usize / 7) % w);
            let (r1, c1) = (h - (seed as usize / 11) % (h - r0), w - (seed as usize / 13) % (w - c0));
            prop_assert_eq!(
                decode_window(&rle, h, w, r0..r1, c0..c1).unwrap(),
                m.slice(s![r0..r1, c0..c1]).to_owned()
            );
            // Band encoding with uneven bands equals the whole encoding.
            let mut enc = crate::BandEncoder::new(h, w);
            let mut r = 0;
            let mut k = seed as usize;
            while r < h {
                let band = 1 + k % 5;
                k /= 5;
                let end = (r + band).min(h);
                enc.push_band(m.slice(s![r..end, ..])).unwrap();
                r = end;
            }
            prop_assert_eq!(enc.finish().unwrap(), rle);
        }
    }
}
