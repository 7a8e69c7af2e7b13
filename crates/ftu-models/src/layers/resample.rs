//! Upsampling with gradients: nearest (Unet, FPN) and bilinear with
//! `align_corners=True` (FPN's segmentation blocks and head).
//!
//! Both are written with differentiable candle primitives (broadcast and
//! matmul): candle's own bilinear upsampling has no backward, and its nearest
//! backward overwrites rather than accumulates the input gradient.

use candle_core::{Result, Tensor};

/// `F.interpolate(x, size=(th, tw), mode="nearest")`.
pub(crate) fn nearest(x: &Tensor, th: usize, tw: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if (th, tw) == (h, w) {
        return Ok(x.clone());
    }
    if th.is_multiple_of(h) && tw.is_multiple_of(w) {
        // Integer factors: repeat each pixel by broadcasting (exact, and its
        // gradient is a sum over each block).
        let (fh, fw) = (th / h, tw / w);
        return x
            .reshape((n, c, h, 1, w, 1))?
            .broadcast_as((n, c, h, fh, w, fw))?
            .reshape((n, c, th, tw));
    }
    // Other sizes: PyTorch's `src = floor(dst * in / out)`, by index gathers.
    let rows = index(th, h, x.device())?;
    let cols = index(tw, w, x.device())?;
    x.index_select(&rows, 2)?.index_select(&cols, 3)
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
    let scale = if out > 1 {
        (inp as f64 - 1.0) / (out as f64 - 1.0)
    } else {
        0.0
    };
    for o in 0..out {
        let src = scale * o as f64;
        let i0 = (src.floor() as usize).min(inp - 1);
        let i1 = (i0 + 1).min(inp - 1);
        let l = src - i0 as f64;
        m[o * inp + i0] += 1.0 - l;
        m[o * inp + i1] += l;
    }
    Tensor::from_vec(m, (out, inp), device)
}

/// `F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=True)`.
pub(crate) fn bilinear_aligned(x: &Tensor, factor: usize) -> Result<Tensor> {
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
        let y = bilinear_aligned(x.as_tensor(), 2)?;
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
        Ok(())
    }
}
