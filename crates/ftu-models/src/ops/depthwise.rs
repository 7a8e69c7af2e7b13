//! Depthwise 2-d convolution as a sum of `k * k` shifted, per-channel-scaled
//! views of the padded input.
//!
//! candle's grouped `conv2d` runs one tiny convolution per channel and
//! concatenates them, which is very slow for EfficientNet's hundreds of
//! depthwise channels. Shifted views keep every step a whole-tensor
//! elementwise op, and the gradient comes from candle's autodiff for free.

use candle_core::{Result, Tensor};

use crate::layers::conv::Pad;

/// `F.conv2d(x, weight, stride=stride, groups=C)` after zero padding `pad`
/// (`top, bottom, left, right`); `weight` is `(C, 1, k, k)`, stride 1 or 2.
pub(crate) fn depthwise_conv2d(
    x: &Tensor,
    weight: &Tensor,
    stride: usize,
    pad: Pad,
) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (wc, one, k, k2) = weight.dims4()?;
    if wc != c || one != 1 || k != k2 {
        candle_core::bail!(
            "depthwise weight {:?} does not fit input {:?}",
            weight.dims(),
            x.dims()
        )
    }
    if !(1..=2).contains(&stride) {
        candle_core::bail!("depthwise stride {stride} unsupported (1 or 2)")
    }
    let [t, b, l, r] = pad;
    let (hp, wp) = (h + t + b, w + l + r);
    if hp < k || wp < k {
        candle_core::bail!("depthwise input {h}x{w} (padded {hp}x{wp}) smaller than kernel {k}")
    }
    let (ho, wo) = ((hp - k) / stride + 1, (wp - k) / stride + 1);
    // For stride 2, pad to even sizes and split each spatial axis into
    // (index / 2, index % 2) so a strided window is a plain narrow + select.
    let (eh, ew) = if stride == 2 {
        (hp % 2, wp % 2)
    } else {
        (0, 0)
    };
    let xp = x
        .pad_with_zeros(2, t, b + eh)?
        .pad_with_zeros(3, l, r + ew)?;
    let taps = weight.reshape((c, k * k))?;
    let mut acc: Option<Tensor> = None;
    for i in 0..k {
        for j in 0..k {
            let view = if stride == 1 {
                xp.narrow(2, i, ho)?.narrow(3, j, wo)?
            } else {
                let (hh, wh) = ((hp + eh) / 2, (wp + ew) / 2);
                xp.reshape((n, c, hh, 2, wh, 2))?
                    .narrow(2, i / 2, ho)?
                    .narrow(3, i % 2, 1)?
                    .narrow(4, j / 2, wo)?
                    .narrow(5, j % 2, 1)?
                    .reshape((n, c, ho, wo))?
            };
            let tap = taps.narrow(1, i * k + j, 1)?.reshape((1, c, 1, 1))?;
            let term = view.broadcast_mul(&tap)?;
            acc = Some(match acc {
                None => term,
                Some(a) => (a + term)?,
            });
        }
    }
    acc.ok_or_else(|| candle_core::Error::Msg("empty depthwise kernel".into()))
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn input(shape: (usize, usize, usize, usize), phase: f32) -> Result<Tensor> {
        let n = shape.0 * shape.1 * shape.2 * shape.3;
        let v: Vec<f32> = (0..n).map(|i| ((i as f32) * 0.37 + phase).sin()).collect();
        Tensor::from_vec(v, shape, &Device::Cpu)
    }

    /// Against candle's grouped conv2d, for every kernel / stride / padding
    /// combination EfficientNet uses (asymmetric same-padding included).
    #[test]
    fn matches_grouped_conv2d() -> Result<()> {
        for (k, stride, pad, size) in [
            (3, 1, [1, 1, 1, 1], 9),
            (5, 1, [2, 2, 2, 2], 8),
            (3, 2, [0, 1, 0, 1], 8),
            (5, 2, [1, 2, 1, 2], 8),
            (5, 2, [2, 2, 2, 2], 7),
            (3, 2, [1, 1, 1, 1], 7),
        ] {
            let x = input((2, 3, size, size), 0.1)?;
            let wt = input((3, 1, k, k), 0.7)?;
            let ours = depthwise_conv2d(&x, &wt, stride, pad)?;
            let [t, b, l, r] = pad;
            let reference = x
                .pad_with_zeros(2, t, b)?
                .pad_with_zeros(3, l, r)?
                .conv2d(&wt, 0, stride, 1, 3)?;
            assert_eq!(ours.dims(), reference.dims(), "k{k} s{stride} {pad:?}");
            let diff = (ours - reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
            assert!(diff < 1e-5, "k{k} s{stride} {pad:?}: diff {diff}");
        }
        Ok(())
    }

    /// Gradients against central finite differences of a weighted sum.
    #[test]
    fn gradient_matches_finite_differences() -> Result<()> {
        let x = Var::from_tensor(&input((1, 2, 6, 6), 0.3)?.to_dtype(candle_core::DType::F64)?)?;
        let w = Var::from_tensor(&input((2, 1, 3, 3), 1.1)?.to_dtype(candle_core::DType::F64)?)?;
        let probe = input((1, 2, 3, 3), 2.0)?.to_dtype(candle_core::DType::F64)?;
        let loss = |x: &Tensor, w: &Tensor| -> Result<f64> {
            (depthwise_conv2d(x, w, 2, [0, 1, 0, 1])? * &probe)?
                .sum_all()?
                .to_scalar::<f64>()
        };
        let out = (depthwise_conv2d(x.as_tensor(), w.as_tensor(), 2, [0, 1, 0, 1])? * &probe)?
            .sum_all()?;
        let grads = out.backward()?;
        for (var, other_is_x) in [(&x, true), (&w, false)] {
            let g = grads
                .get(var.as_tensor())
                .expect("grad")
                .flatten_all()?
                .to_vec1::<f64>()?;
            let base = var.as_tensor().flatten_all()?.to_vec1::<f64>()?;
            let eps = 1e-5;
            for (i, gi) in g.iter().enumerate() {
                let mut plus = base.clone();
                plus[i] += eps;
                let mut minus = base.clone();
                minus[i] -= eps;
                let p = Tensor::from_vec(plus, var.dims(), &Device::Cpu)?;
                let m = Tensor::from_vec(minus, var.dims(), &Device::Cpu)?;
                let (lp, lm) = if other_is_x {
                    (loss(&p, w.as_tensor())?, loss(&m, w.as_tensor())?)
                } else {
                    (loss(x.as_tensor(), &p)?, loss(x.as_tensor(), &m)?)
                };
                let fd = (lp - lm) / (2.0 * eps);
                assert!((fd - gi).abs() < 1e-6, "element {i}: fd {fd} vs {gi}");
            }
        }
        Ok(())
    }
}
