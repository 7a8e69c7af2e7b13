//! Downscaling tiles: area averaging for images (like OpenCV's INTER_AREA),
//! area then threshold at 0.5 for masks, bilinear for probability patches.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

use crate::error::{Result, TilingError};

fn resize_raw(
    src: &[u8],
    (w, h): (usize, usize),
    (ow, oh): (usize, usize),
    pixel: PixelType,
    alg: ResizeAlg,
) -> Result<Vec<u8>> {
    let invalid = |e: String| TilingError::Invalid(format!("resize {w}x{h} -> {ow}x{oh}: {e}"));
    if w == 0 || h == 0 || ow == 0 || oh == 0 {
        return Err(invalid("empty image".into()));
    }
    let src = ImageRef::new(w as u32, h as u32, src, pixel).map_err(|e| invalid(e.to_string()))?;
    let mut dst = Image::new(ow as u32, oh as u32, pixel);
    Resizer::new()
        .resize(&src, &mut dst, &ResizeOptions::new().resize_alg(alg))
        .map_err(|e| invalid(e.to_string()))?;
    Ok(dst.into_vec())
}

/// Box (area) filter: each output pixel averages the input pixels it covers.
const AREA: ResizeAlg = ResizeAlg::Convolution(FilterType::Box);

/// Resizes an HWC RGB image to `out_h` x `out_w`, averaging areas.
pub fn resize_rgb(image: ArrayView3<u8>, out_h: usize, out_w: usize) -> Result<Array3<u8>> {
    let (h, w, c) = image.dim();
    if c != 3 {
        return Err(TilingError::Invalid(format!(
            "resize_rgb: {c} channels, expected 3"
        )));
    }
    if (h, w) == (out_h, out_w) {
        return Ok(image.to_owned());
    }
    let src = image.as_standard_layout();
    let src = src.as_slice().expect("standard layout is contiguous");
    let out = resize_raw(src, (w, h), (out_w, out_h), PixelType::U8x3, AREA)?;
    Ok(Array3::from_shape_vec((out_h, out_w, 3), out)
        .expect("resizer output has the requested size"))
}

/// Resizes a 0/1 mask: the covered fraction of foreground is computed by area
/// averaging, then thresholded at 0.5, so a thin structure edge is kept where
/// it covers at least half an output pixel. Nonzero input counts as foreground.
pub fn resize_mask(mask: ArrayView2<u8>, out_h: usize, out_w: usize) -> Result<Array2<u8>> {
    let (h, w) = mask.dim();
    if (h, w) == (out_h, out_w) {
        return Ok(mask.mapv(|v| u8::from(v != 0)));
    }
    let src: Vec<u8> = mask.iter().map(|&v| if v != 0 { 255 } else { 0 }).collect();
    let out = resize_raw(&src, (w, h), (out_w, out_h), PixelType::U8, AREA)?;
    let out = out.into_iter().map(|v| u8::from(v >= 128)).collect();
    Ok(Array2::from_shape_vec((out_h, out_w), out).expect("resizer output has the requested size"))
}

/// Resizes a probability map bilinearly (upscaling a model's output patch to
/// full resolution before stitching).
pub fn resize_probs(probs: ArrayView2<f32>, out_h: usize, out_w: usize) -> Result<Array2<f32>> {
    let (h, w) = probs.dim();
    if (h, w) == (out_h, out_w) {
        return Ok(probs.to_owned());
    }
    let bytes: Vec<u8> = probs.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let out = resize_raw(
        &bytes,
        (w, h),
        (out_w, out_h),
        PixelType::F32,
        ResizeAlg::Convolution(FilterType::Bilinear),
    )?;
    let vals = out
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(
        Array2::from_shape_vec((out_h, out_w), vals)
            .expect("resizer output has the requested size"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_factor_area_average_is_the_block_mean() {
        let img = Array3::from_shape_fn((8, 8, 3), |(y, x, c)| (y * 30 + x * 3 + c) as u8);
        let out = resize_rgb(img.view(), 2, 2).unwrap();
        for (ty, tx, c) in [(0, 0, 0), (1, 1, 2), (0, 1, 1)] {
            let block = img.slice(ndarray::s![ty * 4..ty * 4 + 4, tx * 4..tx * 4 + 4, c]);
            let mean = block.iter().map(|&v| f64::from(v)).sum::<f64>() / 16.0;
            assert!(
                (f64::from(out[[ty, tx, c]]) - mean).abs() <= 0.5,
                "{ty} {tx} {c}: {} vs {mean}",
                out[[ty, tx, c]]
            );
        }
    }

    #[test]
    fn masks_keep_half_covered_pixels_only() {
        // A 4x4 block maps to one output pixel: 8 of 16 foreground is kept,
        // 7 of 16 is dropped.
        let mut m = Array2::zeros((8, 8));
        m.slice_mut(ndarray::s![0..2, 0..4]).fill(1); // 8/16 in block (0, 0)
        m.slice_mut(ndarray::s![4..8, 4..5]).fill(7); // 4/16 in block (1, 1)
        let out = resize_mask(m.view(), 2, 2).unwrap();
        assert_eq!(out, ndarray::arr2(&[[1, 0], [0, 0]]));
        assert_eq!(resize_mask(m.view(), 8, 8).unwrap()[[4, 4]], 1);
    }

    #[test]
    fn probabilities_upscale_smoothly() {
        let p = ndarray::arr2(&[[0.0f32, 1.0], [0.0, 1.0]]);
        let out = resize_probs(p.view(), 4, 4).unwrap();
        assert!(out.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(out[[0, 0]] < out[[0, 3]]);
        assert!(resize_rgb(Array3::zeros((4, 4, 1)).view(), 2, 2).is_err());
    }
}
