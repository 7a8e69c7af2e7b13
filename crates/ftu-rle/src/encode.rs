//! Encoding from row bands: per-column open runs, so memory is one row plus
//! the runs, whatever the slide size.

use ndarray::ArrayView2;

use crate::RleError;

/// Encodes a whole mask (nonzero = foreground).
pub fn encode(mask: ArrayView2<u8>) -> String {
    let (h, w) = mask.dim();
    let mut enc = BandEncoder::new(h, w);
    enc.push_band(mask).expect("a whole mask is one valid band");
    enc.finish().expect("a whole mask completes the encoder")
}

/// Streams a mask as row bands (top to bottom, any band height) and produces
/// its RLE. Rows are compared eight bytes at a time with the previous row, so
/// only pixels where a column changes state cost more than a word compare.
pub struct BandEncoder {
    height: usize,
    width: usize,
    rows_done: usize,
    /// The previous row (raw bytes; compared by foreground state).
    previous: Vec<u8>,
    /// Row where each column's current foreground run began, or `NONE`.
    open: Vec<u32>,
    /// Closed vertical runs: (column, first row, length).
    closed: Vec<(u32, u32, u32)>,
}

const NONE: u32 = u32::MAX;

impl BandEncoder {
    /// An encoder for a `height` x `width` mask.
    pub fn new(height: usize, width: usize) -> Self {
        assert!(
            height < NONE as usize && width < NONE as usize,
            "mask side must be < 2^32 - 1"
        );
        Self {
            height,
            width,
            rows_done: 0,
            previous: vec![0; width],
            open: vec![NONE; width],
            closed: Vec::new(),
        }
    }

    /// Rows pushed so far.
    pub fn rows_done(&self) -> usize {
        self.rows_done
    }

    /// Adds the next band of rows (its width must be the mask's).
    pub fn push_band(&mut self, band: ArrayView2<u8>) -> Result<(), RleError> {
        let (rows, width) = band.dim();
        if width != self.width {
            return Err(RleError::BandWidth {
                expected: self.width,
                got: width,
            });
        }
        if self.rows_done + rows > self.height {
            return Err(RleError::TooManyRows {
                height: self.height,
                got: self.rows_done + rows,
            });
        }
        let mut scratch = Vec::new();
        for row in band.rows() {
            let row = match row.as_slice() {
                Some(s) => s,
                None => {
                    scratch.clear();
                    scratch.extend(row.iter().copied());
                    &scratch
                }
            };
            self.push_row(row);
        }
        Ok(())
    }

    fn push_row(&mut self, row: &[u8]) {
        let r = self.rows_done as u32;
        let mut changed = |c: usize, now_fg: bool| {
            if now_fg {
                self.open[c] = r;
            } else {
                let start = std::mem::replace(&mut self.open[c], NONE);
                self.closed.push((c as u32, start, r - start));
            }
        };
        let words = row.len() / 8 * 8;
        for (i, (new, old)) in row[..words]
            .chunks_exact(8)
            .zip(self.previous[..words].chunks_exact(8))
            .enumerate()
        {
            let a = u64::from_ne_bytes(new.try_into().expect("8 bytes"));
            let b = u64::from_ne_bytes(old.try_into().expect("8 bytes"));
            if a != b {
                for k in 0..8 {
                    if (new[k] != 0) != (old[k] != 0) {
                        changed(i * 8 + k, new[k] != 0);
                    }
                }
            }
        }
        for (c, (&new, &old)) in row.iter().zip(&self.previous).enumerate().skip(words) {
            if (new != 0) != (old != 0) {
                changed(c, new != 0);
            }
        }
        self.previous.copy_from_slice(row);
        self.rows_done += 1;
    }

    /// Closes the runs still open at the bottom and writes the RLE.
    pub fn finish(mut self) -> Result<String, RleError> {
        if self.rows_done != self.height {
            return Err(RleError::Incomplete {
                height: self.height,
                got: self.rows_done,
            });
        }
        let h = self.height as u32;
        for (c, start) in self.open.iter().enumerate() {
            if *start != NONE {
                self.closed.push((c as u32, *start, h - start));
            }
        }
        self.closed.sort_unstable();
        Ok(format_runs(self.closed.iter().map(|&(c, start, len)| {
            (c as u64 * self.height as u64 + start as u64, len as u64)
        })))
    }
}

/// Writes 0-indexed `(start, length)` runs as 1-indexed RLE text, merging a
/// run that ends at a column's bottom with one that starts the next column.
pub(crate) fn format_runs(runs: impl Iterator<Item = (u64, u64)>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut pending: Option<(u64, u64)> = None;
    let mut emit = |(s, l): (u64, u64)| {
        let sep = if out.is_empty() { "" } else { " " };
        write!(out, "{sep}{} {l}", s + 1).expect("writing to a String");
    };
    for (start, len) in runs {
        pending = match pending {
            Some((ps, pl)) if ps + pl == start => Some((ps, pl + len)),
            Some(p) => {
                emit(p);
                Some((start, len))
            }
            None => Some((start, len)),
        };
    }
    if let Some(p) = pending {
        emit(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array, s};

    #[test]
    fn hand_checked_column_major() {
        // 4 rows x 3 cols; column-major indices (1-based):
        // col0: 1..4, col1: 5..8, col2: 9..12
        let m = array![[1u8, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]];
        assert_eq!(encode(m.view()), "1 2 11 2");
        // A run crossing from the bottom of column 0 to the top of column 1.
        let m = array![[0u8, 1], [0, 1], [1, 0]];
        assert_eq!(encode(m.view()), "3 3");
        // Any nonzero value is foreground.
        let m = array![[7u8, 255], [0, 1]];
        assert_eq!(encode(m.view()), "1 1 3 2");
        assert_eq!(encode(Array2::<u8>::zeros((5, 9)).view()), "");
        assert_eq!(encode(Array2::<u8>::ones((2, 2)).view()), "1 4");
    }

    #[test]
    fn wide_rows_use_word_compare_and_tail() {
        let mut m = Array2::<u8>::zeros((5, 21));
        m.slice_mut(s![1..4, 7..18]).fill(200);
        m[[4, 20]] = 1;
        let rle = encode(m.view());
        assert_eq!(
            crate::decode(&rle, 5, 21).unwrap().mapv(|v| v * 200),
            m.mapv(|v| (v != 0) as u8 * 200)
        );
    }

    #[test]
    fn band_errors() {
        let mut e = BandEncoder::new(3, 4);
        let err = e.push_band(Array2::<u8>::zeros((1, 5)).view()).unwrap_err();
        assert!(err.to_string().contains("5 pixels wide"), "{err}");
        e.push_band(Array2::<u8>::zeros((2, 4)).view()).unwrap();
        let err = e.push_band(Array2::<u8>::zeros((2, 4)).view()).unwrap_err();
        assert!(matches!(err, RleError::TooManyRows { height: 3, got: 4 }));
        let err = e.finish().unwrap_err();
        assert!(matches!(err, RleError::Incomplete { height: 3, got: 2 }));
    }

    #[test]
    fn non_contiguous_band_views() {
        let m = array![[1u8, 0, 1, 1], [0, 1, 1, 0]];
        let t = m.t().to_owned();
        let mut e = BandEncoder::new(4, 2);
        e.push_band(m.t()).unwrap();
        assert_eq!(e.finish().unwrap(), encode(t.view()));
    }
}
