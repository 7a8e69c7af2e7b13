//! How samples outside the tile are filled by warps and filters.

use serde::Deserialize;

/// Border handling for geometric warps (OpenCV's names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Border {
    /// Mirror including the edge pixel: `cba|abc|cba` (OpenCV `BORDER_REFLECT`),
    /// as the recipe's ShiftScaleRotate used; no black corners in histology.
    #[default]
    Reflect,
    /// Mirror excluding the edge pixel: `dcb|abcd|cba` (OpenCV `BORDER_REFLECT_101`).
    Reflect101,
    /// Fill with zero (black image, background mask).
    Constant,
}

impl Border {
    /// Maps a possibly out-of-range index into `0..n`, or `None` for constant fill.
    #[inline(always)]
    pub(crate) fn index(self, i: isize, n: usize) -> Option<usize> {
        let n = n as isize;
        if (0..n).contains(&i) {
            return Some(i as usize);
        }
        match self {
            Border::Constant => None,
            Border::Reflect => {
                let m = i.rem_euclid(2 * n);
                Some(if m < n { m } else { 2 * n - 1 - m } as usize)
            }
            Border::Reflect101 => {
                if n == 1 {
                    return Some(0);
                }
                let period = 2 * n - 2;
                let m = i.rem_euclid(period);
                Some(if m < n { m } else { period - m } as usize)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_opencv_patterns() {
        let r: Vec<_> = (-3..7)
            .map(|i| Border::Reflect.index(i, 4).unwrap())
            .collect();
        assert_eq!(r, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        let r: Vec<_> = (-3..7)
            .map(|i| Border::Reflect101.index(i, 4).unwrap())
            .collect();
        assert_eq!(r, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(Border::Constant.index(-1, 4), None);
        assert_eq!(Border::Constant.index(2, 4), Some(2));
        assert_eq!(Border::Reflect101.index(-5, 1), Some(0));
        // Far outside still lands inside.
        assert!(Border::Reflect.index(-1000, 3).unwrap() < 3);
    }
}
