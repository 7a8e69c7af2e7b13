//! Upsampling with gradients: nearest (Unet, FPN) and bilinear with
//! `align_corners=True` (FPN's segmentation blocks and head).
//!
//! On the CPU both run as kernels with their own backward
//! ([`crate::ops::upsample`]). Elsewhere they are compositions of
//! differentiable candle primitives (broadcast and matmul): candle's own
//! bilinear upsampling has no backward, and its nearest backward overwrites
//! rather than accumulates the input gradient.

use candle_core::{Result, Tensor};

use crate::ops::upsample::{self, taps};

/// `F.interpolate(x, size=(th, tw), mode="nearest")`.
pub(crate) fn nearest(x: &Tensor, th: usize, tw: usize) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    if (th, tw) == (h, w) {
        return Ok(x.clone());
    }
    if th.is_multiple_of(h) && tw.is_multiple_of(w) {
        if upsample::supported(x) {
            return upsample::upsample_nearest(x, th / h, tw / w);
        }
        return nearest_composed(x, th / h, tw / w);
    }
    // Other sizes: PyTorch's `src = floor(dst * in / out)`, by index gathers.
    let rows = index(th, h, x.device())?;
    let cols = index(tw, w, x.device())?;
    x.index_select(&rows, 2)?.index_select(&cols, 3)
}

/// Nearest upsampling by integer factors as candle ops: repeat each pixel by
/// broadcasting (exact, and its gradient is a sum over each block).
pub fn nearest_composed(x: &Tensor, fh: usize, fw: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    x.reshape((n, c, h, 1, w, 1))?
        .broadcast_as((n, c, h, fh, w, fw))?
        .reshape((n, c, h * fh, w * fw))
}

fn index(out: usize, inp: usize, device: &candle_core::Device) -> Result<Tensor> {
    let scale = inp as f32 / out as f32;
    let idx: Vec<u32> = (0..out)
        .map(|o| ((o as f32 * scale).floor() as usize).min(inp - 1) as u32)
        .collect();
    Tensor::from_vec(idx, out, device)
}

/// The `(out, inp)` interpolation matrix of bilinear resampling with aligned corners.
fn bilinear_matrix(out: usize, inp: usize, device: &candle_core::Device) -> Result<Tensor> {
    let mut m = vec![0f64; out * inp];
    for (o, (i0, i1, l)) in taps(out, inp).into_iter().enumerate() {
        m[o * inp + i0] += 1.0 - l;
        m[o * inp + i1] += l;
    }
    Tensor::from_vec(m, (out, inp), device)
}

/// `F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=True)`.
pub(crate) fn bilinear_aligned(x: &Tensor, factor: usize) -> Result<Tensor> {
    if upsample::supported(x) {
        return upsample::upsample_bilinear_aligned(x, factor);
    }
    bilinear_composed(x, factor)
}

/// Bilinear upsampling as two matmuls by the interpolation matrices.
pub fn bilinear_composed(x: &Tensor, factor: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (th, tw) = (h * factor, w * factor);
    let mw = bilinear_matrix(tw, w, x.device())?
        .to_dtype(x.dtype())?
        .t()?;
    let mh = bilinear_matrix(th, h, x.device())?.to_dtype(x.dtype())?;
    // Width: (n c h, w) x (w, tw).
    let y = x
        .reshape((n * c * h, w))?
        .matmul(&mw)?
        .reshape((n * c, h, tw))?;
    // Height: (th, h) x (h, tw) per map.
    mh.broadcast_left(n * c)?
        .contiguous()?
        .matmul(&y)?
        .reshape((n, c, th, tw))
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn nearest_repeats_and_matches_candle() -> Result<()> {
        let x = Tensor::arange(0f32, 24.0, &Device::Cpu)?.reshape((1, 2, 3, 4))?;
        let y = nearest(&x, 6, 8)?;
        let r = x.upsample_nearest2d(6, 8)?;
        assert_eq!(
            y.flatten_all()?.to_vec1::<f32>()?,
            r.flatten_all()?.to_vec1::<f32>()?
        );
        let z = nearest(&x, 5, 7)?;
        assert_eq!(z.dims(), &[1, 2, 5, 7]);
        // floor(dst * 3 / 5): rows 0,0,1,1,2.
        assert_eq!(z.get(0)?.get(0)?.get(3)?.get(0)?.to_scalar::<f32>()?, 4.0);
        Ok(())
    }

    #[test]
    fn bilinear_corners_and_gradient() -> Result<()> {
        let x =
            Var::from_tensor(&Tensor::arange(0f32, 16.0, &Device::Cpu)?.reshape((1, 1, 4, 4))?)?;
        // The CPU kernel and the composition used on other devices.
        for y in [
            bilinear_aligned(x.as_tensor(), 2)?,
            bilinear_composed(x.as_tensor(), 2)?,
        ] {
            let reference = x.as_tensor().upsample_bilinear2d(8, 8, true)?;
            let diff = (&y - &reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "diff {diff}");
            // Each input pixel's weights over the output sum to (8/4)^2 on average.
            let grads = y.sum_all()?.backward()?;
            let g = grads
                .get(x.as_tensor())
                .expect("gradient")
                .sum_all()?
                .to_scalar::<f32>()?;
            assert!((g - 64.0).abs() < 1e-3, "grad sum {g}");
        }
        Ok(())
    }

    #[test]
    fn composed_nearest_matches_candle() -> Result<()> {
        let x = Tensor::arange(0f32, 24.0, &Device::Cpu)?.reshape((1, 2, 3, 4))?;
        let y = nearest_composed(&x, 2, 3)?;
        let r = x.upsample_nearest2d(6, 12)?;
        assert_eq!(
            y.flatten_all()?.to_vec1::<f32>()?,
            r.flatten_all()?.to_vec1::<f32>()?
        );
        Ok(())
    }
}
