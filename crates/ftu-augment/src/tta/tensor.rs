//! D4 on candle NCHW tensors (feature `candle`). Flips and transposes are
//! index permutations in candle too, so inverses are exact for every dtype.

use candle_core::Tensor;

use super::D4;
use crate::error::{AugmentError, Result};

/// Applies `g` to dims 2 and 3 (H, W) of an NCHW tensor; the result is contiguous.
pub fn forward_tensor(t: &Tensor, g: D4) -> Result<Tensor> {
    let rank = t.rank();
    if rank != 4 {
        return Err(AugmentError::TtaRank(rank));
    }
    let out = match g {
        D4::Identity => t.clone(),
        D4::Rot90 => t.flip(&[3])?.transpose(2, 3)?,
        D4::Rot180 => t.flip(&[2, 3])?,
        D4::Rot270 => t.flip(&[2])?.transpose(2, 3)?,
        D4::HFlip => t.flip(&[3])?,
        D4::VFlip => t.flip(&[2])?,
        D4::Transpose => t.transpose(2, 3)?,
        D4::AntiTranspose => t.flip(&[2, 3])?.transpose(2, 3)?,
    };
    Ok(out.contiguous()?)
}

/// Maps a prediction made on `forward_tensor(x, g)` back onto the grid of `x`.
pub fn inverse_tensor(t: &Tensor, g: D4) -> Result<Tensor> {
    forward_tensor(t, g.inverse())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};
    use ndarray::Array4;

    #[test]
    fn tensor_matches_ndarray_and_inverts_exactly() {
        for (h, w) in [(4, 6), (5, 3), (7, 7)] {
            let x = Array4::from_shape_fn((2, 3, h, w), |(n, c, y, xx)| {
                (n * 1000 + c * 100 + y * 10 + xx) as f32
            });
            let t = Tensor::from_vec(x.as_slice().unwrap().to_vec(), (2, 3, h, w), &Device::Cpu)
                .unwrap();
            for g in D4::ALL {
                let f = forward_tensor(&t, g).unwrap();
                let want = super::super::forward(&x, g).unwrap();
                assert_eq!(f.dims(), want.shape(), "{g}");
                let got: Vec<f32> = f.flatten_all().unwrap().to_vec1().unwrap();
                assert_eq!(got, want.as_slice().unwrap(), "{g} {h}x{w}");
                let back = inverse_tensor(&f, g).unwrap();
                let diff = (back - &t).unwrap().abs().unwrap().sum_all().unwrap();
                assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0, "{g}");
            }
        }
        let u8s = Tensor::zeros((1, 1, 3, 2), DType::U8, &Device::Cpu).unwrap();
        assert_eq!(
            forward_tensor(&u8s, D4::Rot90).unwrap().dims(),
            &[1, 1, 2, 3]
        );
        let r3 = Tensor::zeros((1, 3, 2), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(
            forward_tensor(&r3, D4::HFlip),
            Err(AugmentError::TtaRank(3))
        ));
    }
}
