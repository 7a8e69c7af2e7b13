//! Separable and sparse convolution kernels shared by blurs and the elastic field.
//! Borders mirror without repeating the edge (OpenCV's default for filters).

use ndarray::Array3;

use crate::border::Border;
use crate::transform::round_u8;

/// Normalised Gaussian taps with radius `ceil(3 sigma)` (at least 1).
pub(crate) fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as isize;
    let mut k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k
}

/// Blurs a row-major `h x w` plane in place with `kernel` along both axes;
/// `scratch` is resized to the plane's size and reused.
pub(crate) fn blur_plane(
    data: &mut [f32],
    h: usize,
    w: usize,
    kernel: &[f32],
    scratch: &mut Vec<f32>,
) {
    let r = (kernel.len() / 2) as isize;
    scratch.clear();
    scratch.resize(h * w, 0.0);
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        for x in 0..w {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let xx = Border::Reflect101
                    .index(x as isize + k as isize - r, w)
                    .unwrap_or(0);
                acc += row[xx] * kv;
            }
            scratch[y * w + x] = acc;
        }
    }
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (k, &kv) in kernel.iter().enumerate() {
                let yy = Border::Reflect101
                    .index(y as isize + k as isize - r, h)
                    .unwrap_or(0);
                acc += scratch[yy * w + x] * kv;
            }
            data[y * w + x] = acc;
        }
    }
}

/// Convolves an RGB image (standard layout) with `kx` along rows then `ky`
/// along columns. One f32 scratch image per call; nothing per pixel.
pub(crate) fn separable_rgb(image: &mut Array3<u8>, kx: &[f32], ky: &[f32]) {
    let (h, w, _) = image.dim();
    let data = image.as_slice_mut().expect("standard layout");
    let row_len = w * 3;
    let mut tmp = vec![0f32; h * row_len];
    let rx = (kx.len() / 2) as isize;
    for y in 0..h {
        let src = &data[y * row_len..(y + 1) * row_len];
        let dst = &mut tmp[y * row_len..(y + 1) * row_len];
        for x in 0..w {
            let mut acc = [0f32; 3];
            let lo = x as isize - rx;
            let hi = x as isize + rx;
            if lo >= 0 && (hi as usize) < w {
                let base = lo as usize * 3;
                for (k, &kv) in kx.iter().enumerate() {
                    let p = base + k * 3;
                    acc[0] += src[p] as f32 * kv;
                    acc[1] += src[p + 1] as f32 * kv;
                    acc[2] += src[p + 2] as f32 * kv;
                }
            } else {
                for (k, &kv) in kx.iter().enumerate() {
                    let xx = Border::Reflect101.index(lo + k as isize, w).unwrap_or(0);
                    for c in 0..3 {
                        acc[c] += src[xx * 3 + c] as f32 * kv;
                    }
                }
            }
            dst[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    // Column pass: accumulate whole rows so the inner loop runs over contiguous memory.
    let ry = (ky.len() / 2) as isize;
    let mut acc = vec![0f32; row_len];
    for y in 0..h {
        acc.iter_mut().for_each(|v| *v = 0.0);
        for (k, &kv) in ky.iter().enumerate() {
            let yy = Border::Reflect101
                .index(y as isize + k as isize - ry, h)
                .unwrap_or(0);
            let src = &tmp[yy * row_len..(yy + 1) * row_len];
            for (a, &s) in acc.iter_mut().zip(src) {
                *a += s * kv;
            }
        }
        let dst = &mut data[y * row_len..(y + 1) * row_len];
        for (d, &a) in dst.iter_mut().zip(&acc) {
            *d = round_u8(a);
        }
    }
}

/// A copy of the row-major RGB buffer `src` (`h x w`) with an `r`-pixel
/// mirrored border (`Reflect101`) on every side, so a filter's inner loop needs
/// no bounds logic. Its row length is `(w + 2r) * 3`.
pub(crate) fn pad_rgb(src: &[u8], h: usize, w: usize, r: usize) -> Vec<u8> {
    let (ph, pw) = (h + 2 * r, w + 2 * r);
    let mut out = Vec::with_capacity(ph * pw * 3);
    let ri = r as isize;
    for py in 0..ph {
        let y = Border::Reflect101.index(py as isize - ri, h).unwrap_or(0);
        let row = &src[y * w * 3..(y + 1) * w * 3];
        for px in 0..r {
            let x = Border::Reflect101.index(px as isize - ri, w).unwrap_or(0);
            out.extend_from_slice(&row[x * 3..x * 3 + 3]);
        }
        out.extend_from_slice(row);
        for px in 0..r {
            let x = Border::Reflect101.index((w + px) as isize, w).unwrap_or(0);
            out.extend_from_slice(&row[x * 3..x * 3 + 3]);
        }
    }
    out
}

/// Convolves an RGB image with sparse 2-D taps `(dy, dx, weight)`; used by
/// motion blur, whose line kernel has few non-zero entries.
pub(crate) fn sparse_rgb(image: &mut Array3<u8>, taps: &[(isize, isize, f32)]) {
    let (h, w, _) = image.dim();
    let r = taps
        .iter()
        .map(|t| t.0.unsigned_abs().max(t.1.unsigned_abs()))
        .max()
        .unwrap_or(0);
    let data = image.as_slice_mut().expect("standard layout");
    let pad = pad_rgb(data, h, w, r);
    let prow = (w + 2 * r) * 3;
    // Tap offsets into the padded buffer, relative to the output pixel's corner.
    let offs: Vec<(usize, f32)> = taps
        .iter()
        .map(|&(dy, dx, kv)| {
            let o = (dy + r as isize) as usize * prow + (dx + r as isize) as usize * 3;
            (o, kv)
        })
        .collect();
    for (y, row) in data.chunks_exact_mut(w * 3).enumerate() {
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let base = y * prow + x * 3;
            let mut acc = [0f32; 3];
            for &(o, kv) in &offs {
                let p = &pad[base + o..base + o + 3];
                acc[0] += p[0] as f32 * kv;
                acc[1] += p[1] as f32 * kv;
                acc[2] += p[2] as f32 * kv;
            }
            for (v, a) in px.iter_mut().zip(acc) {
                *v = round_u8(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_sum_to_one_and_blur_keeps_constants() {
        let k = gaussian_kernel(1.5);
        assert_eq!(k.len(), 11);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        let mut img = Array3::from_elem((6, 5, 3), 77u8);
        separable_rgb(&mut img, &k, &k);
        assert!(img.iter().all(|&v| v == 77));
        sparse_rgb(&mut img, &[(0, -1, 0.5), (0, 1, 0.5)]);
        assert!(img.iter().all(|&v| v == 77));
    }

    #[test]
    fn padding_mirrors_without_repeating_the_edge() {
        let src: Vec<u8> = (0..4u8).flat_map(|x| [x, 10 + x, 20 + x]).collect();
        let pad = pad_rgb(&src, 1, 4, 2);
        // One row, width 4 + 2 * 2, padded above and below by copies of itself.
        assert_eq!(pad.len(), 5 * 8 * 3);
        let reds: Vec<u8> = pad[..24].chunks(3).map(|p| p[0]).collect();
        assert_eq!(reds, [2, 1, 0, 1, 2, 3, 2, 1]);
    }

    #[test]
    fn box_filter_averages_a_step() {
        let mut img = Array3::from_shape_fn((1, 4, 3), |(_, x, _)| if x < 2 { 0 } else { 90 });
        let k = [1.0 / 3.0; 3];
        separable_rgb(&mut img, &k, &[1.0]);
        let row: Vec<u8> = (0..4).map(|x| img[[0, x, 0]]).collect();
        assert_eq!(row, [0, 30, 60, 90]);
    }

    #[test]
    fn plane_blur_spreads_an_impulse_symmetrically() {
        let mut p = vec![0f32; 49];
        p[24] = 1.0;
        let mut scratch = Vec::new();
        blur_plane(&mut p, 7, 7, &gaussian_kernel(1.0), &mut scratch);
        assert!((p[23] - p[25]).abs() < 1e-7 && (p[17] - p[31]).abs() < 1e-7);
        assert!(p[24] > p[23] && p[23] > p[22]);
    }
}
