//! Inverse-mapping warp shared by every continuous geometric transform:
//! each output pixel asks where it comes from in the source; the image is
//! sampled bilinearly and the mask by nearest neighbour, so labels stay crisp
//! and the two stay aligned.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3};
use rand::RngCore;

use crate::border::Border;
use crate::transform::symmetric;

/// Offset added to coordinates before the fixed-point conversion so that
/// positions down to `-BIAS` pixels floor correctly with a shift.
const BIAS: isize = 1 << 14;

/// `(v + BIAS) * 256` as an integer: truncation is floor because the value is
/// positive. Saturates for NaN (to 0) and huge values, which then fall
/// outside the tile.
#[inline(always)]
fn fixed(v: f32) -> i32 {
    ((v + BIAS as f32) * 256.0) as i32
}

/// An RGB pixel in three 16-bit lanes.
#[inline(always)]
fn widen(p: [u8; 3]) -> u64 {
    p[0] as u64 | (p[1] as u64) << 16 | (p[2] as u64) << 32
}

/// Per-lane `round((a (256 - t) + b t) / 256)` for lanes holding 0..=255 and
/// `t` in 0..=255: each lane's sum stays below 2^16.
#[inline(always)]
fn lerp(a: u64, b: u64, t: u32) -> u64 {
    const LANES: u64 = 0x0000_00ff_00ff_00ff;
    const HALF: u64 = 0x0000_0080_0080_0080;
    let t = t as u64;
    ((a * (256 - t) + b * t + HALF) >> 8) & LANES
}

/// Warps `image` and `mask` into `out_h x out_w` arrays. `map(y, x)` returns the
/// source position `(sy, sx)` of output pixel `(y, x)`, in pixel units with
/// pixel centres at integers.
pub(crate) fn remap<F>(
    image: ArrayView3<u8>,
    mask: ArrayView2<u8>,
    out_h: usize,
    out_w: usize,
    border: Border,
    map: F,
) -> (Array3<u8>, Array2<u8>)
where
    F: Fn(usize, usize) -> (f32, f32),
{
    let image = image.as_standard_layout();
    let mask = mask.as_standard_layout();
    let (h, w, _) = image.dim();
    let (src, _) = image.as_slice().expect("standard layout").as_chunks::<3>();
    let msrc = mask.as_slice().expect("standard layout");
    let mut out = vec![[0u8; 3]; out_h * out_w];
    let mut mout = vec![0u8; out_h * out_w];
    let (hi, wi) = (h as isize, w as isize);
    // Coordinates in 8-bit fixed point, biased positive so a shift floors:
    // one conversion gives the cell, the bilinear weight and the nearest
    // pixel. NaN and far-away positions saturate and take the border path.
    // A row's coordinates are computed first, in a tight loop the compiler
    // can vectorise, then the gather runs with fewer live registers.
    let mut coords = vec![(0i32, 0i32); out_w];
    let rows = out
        .chunks_exact_mut(out_w)
        .zip(mout.chunks_exact_mut(out_w));
    for (y, (orow, mrow)) in rows.enumerate() {
        for (x, q) in coords.iter_mut().enumerate() {
            let (sy, sx) = map(y, x);
            *q = (fixed(sy), fixed(sx));
        }
        for ((px, mv), &(qy, qx)) in orow.iter_mut().zip(mrow.iter_mut()).zip(&coords) {
            let (qy, qx) = (qy as isize, qx as isize);
            let y0 = (qy >> 8) - BIAS;
            let x0 = (qx >> 8) - BIAS;
            let fy = (qy & 255) as u32;
            let fx = (qx & 255) as u32;
            if y0 >= 0 && x0 >= 0 && y0 < hi - 1 && x0 < wi - 1 {
                let a = y0 as usize * w + x0 as usize;
                // Horizontal then vertical lerp with 8-bit weights, the three
                // channels in 16-bit lanes of one u64 (no lane can carry).
                let top = lerp(widen(src[a]), widen(src[a + 1]), fx);
                let bot = lerp(widen(src[a + w]), widen(src[a + w + 1]), fx);
                let v = lerp(top, bot, fy);
                *px = [v as u8, (v >> 16) as u8, (v >> 32) as u8];
                let (my, mx) = (
                    y0 as usize + (fy >= 128) as usize,
                    x0 as usize + (fx >= 128) as usize,
                );
                *mv = msrc[my * w + mx];
            } else {
                let ya = border.index(y0, h);
                let yb = border.index(y0 + 1, h);
                let xa = border.index(x0, w);
                let xb = border.index(x0 + 1, w);
                let at = |yy: Option<usize>, xx: Option<usize>, ch: usize| -> u32 {
                    match (yy, xx) {
                        (Some(yy), Some(xx)) => src[yy * w + xx][ch] as u32,
                        _ => 0,
                    }
                };
                for (ch, v) in px.iter_mut().enumerate() {
                    let s = (256 - fx) * (256 - fy) * at(ya, xa, ch)
                        + fx * (256 - fy) * at(ya, xb, ch)
                        + (256 - fx) * fy * at(yb, xa, ch)
                        + fx * fy * at(yb, xb, ch);
                    *v = ((s + 32768) >> 16) as u8;
                }
                let my = if fy >= 128 { yb } else { ya };
                let mx = if fx >= 128 { xb } else { xa };
                *mv = match (my, mx) {
                    (Some(yy), Some(xx)) => msrc[yy * w + xx],
                    _ => 0,
                };
            }
        }
    }
    let out = out.into_flattened();
    (
        Array3::from_shape_vec((out_h, out_w, 3), out).expect("sized above"),
        Array2::from_shape_vec((out_h, out_w), mout).expect("sized above"),
    )
}

/// Warps `image` and `mask` in place, keeping their size; `map` is as for
/// [`remap`].
pub(crate) fn warp_in_place<F>(
    image: &mut Array3<u8>,
    mask: &mut Array2<u8>,
    border: Border,
    map: F,
) where
    F: Fn(usize, usize) -> (f32, f32),
{
    let (h, w, _) = image.dim();
    let (img, m) = remap(image.view(), mask.view(), h, w, border, map);
    *image = img;
    *mask = m;
}

/// The centre `(cy, cx)` of an `h x w` tile, in the pixel units of [`remap`].
pub(crate) fn centre(h: usize, w: usize) -> (f32, f32) {
    ((h as f32 - 1.0) * 0.5, (w as f32 - 1.0) * 0.5)
}

/// A random shift `(dy, dx)` of up to `limit` of the tile's height / width
/// (albumentations' `shift_limit`); `dx` is drawn first.
pub(crate) fn random_shift(rng: &mut dyn RngCore, limit: f32, h: usize, w: usize) -> (f32, f32) {
    let dx = symmetric(rng, limit) * w as f32;
    let dy = symmetric(rng, limit) * h as f32;
    (dy, dx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_map_is_exact() {
        let img = Array3::from_shape_fn((5, 7, 3), |(y, x, c)| (y * 31 + x * 7 + c * 3) as u8);
        let m = Array2::from_shape_fn((5, 7), |(y, x)| ((y + x) % 2) as u8);
        let (i2, m2) = remap(img.view(), m.view(), 5, 7, Border::Reflect, |y, x| {
            (y as f32, x as f32)
        });
        assert_eq!(i2, img);
        assert_eq!(m2, m);
    }

    #[test]
    fn half_pixel_shift_averages_neighbours() {
        let img = Array3::from_shape_fn((1, 2, 3), |(_, x, _)| if x == 0 { 10 } else { 20 });
        let m = Array2::zeros((1, 2));
        let (i2, _) = remap(img.view(), m.view(), 1, 1, Border::Reflect, |_, _| {
            (0.0, 0.5)
        });
        assert_eq!(i2[[0, 0, 0]], 15);
    }

    #[test]
    fn constant_border_fills_zero() {
        let img = Array3::from_elem((3, 3, 3), 200u8);
        let m = Array2::from_elem((3, 3), 1u8);
        let (i2, m2) = remap(img.view(), m.view(), 3, 3, Border::Constant, |y, x| {
            (y as f32 + 10.0, x as f32)
        });
        assert!(i2.iter().all(|&v| v == 0));
        assert!(m2.iter().all(|&v| v == 0));
    }
}
