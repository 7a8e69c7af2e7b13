//! Shared helpers of the integration tests: a deterministic reference image
//! and the window of it that `read_region` must return.
#![allow(dead_code)]

use ftu_tiling::FILL;
use ndarray::Array3;

/// A textured RGB image in which neighbouring pixels, rows and channels all
/// differ, so any misplaced chunk, row or channel shows up in a comparison.
pub fn reference(w: usize, h: usize) -> Array3<u8> {
    Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let v = (x as u32).wrapping_mul(2_654_435_761)
            ^ (y as u32).wrapping_mul(40_503)
            ^ (c as u32 * 0x9E37);
        (v >> 13) as u8 ^ (x as u8).wrapping_add((y as u8).wrapping_mul(3))
    })
}

/// The `w` x `h` window at (`x`, `y`) of `img`, padded with [`FILL`].
pub fn reference_window(img: &Array3<u8>, x: i64, y: i64, w: usize, h: usize) -> Array3<u8> {
    let (ih, iw, _) = img.dim();
    Array3::from_shape_fn((h, w, 3), |(r, c, ch)| {
        let (sx, sy) = (x + c as i64, y + r as i64);
        if sx >= 0 && sy >= 0 && (sx as usize) < iw && (sy as usize) < ih {
            img[[sy as usize, sx as usize, ch]]
        } else {
            FILL
        }
    })
}
