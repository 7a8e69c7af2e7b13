//! Dropout masks drawn from the forward pass's seeded generator.

use candle_core::{Result, Tensor};

use super::Ctx;

/// `nn.Dropout` (`per_channel == false`) or `nn.Dropout2d` (whole channels),
/// identity in eval mode or when `p == 0`.
pub(crate) fn dropout(x: &Tensor, p: f64, per_channel: bool, ctx: &Ctx) -> Result<Tensor> {
    if !ctx.train || p <= 0.0 {
        return Ok(x.clone());
    }
    let dims = x.dims();
    let mask_shape: Vec<usize> = if per_channel {
        dims.iter()
            .enumerate()
            .map(|(i, &d)| if i < 2 { d } else { 1 })
            .collect()
    } else {
        dims.to_vec()
    };
    let n: usize = mask_shape.iter().product();
    let keep = 1.0 - p;
    let mask: Vec<f32> = ctx
        .uniform(n)
        .into_iter()
        .map(|u| if u < keep { (1.0 / keep) as f32 } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(mask, mask_shape, x.device())?.to_dtype(x.dtype())?;
    x.broadcast_mul(&mask)
}

/// Drop-connect (stochastic depth) of lukemelas' EfficientNet: each sample's
/// residual branch is kept with probability `1 - p` and scaled by `1 / (1 - p)`.
pub(crate) fn drop_connect(x: &Tensor, p: f64, ctx: &Ctx) -> Result<Tensor> {
    if !ctx.train || p <= 0.0 {
        return Ok(x.clone());
    }
    let n = x.dim(0)?;
    let keep = 1.0 - p;
    let mask: Vec<f32> = ctx
        .uniform(n)
        .into_iter()
        .map(|u| ((keep + u).floor() / keep) as f32)
        .collect();
    let mask = Tensor::from_vec(mask, (n, 1, 1, 1), x.device())?.to_dtype(x.dtype())?;
    x.broadcast_mul(&mask)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn dropout_keeps_expectation_and_is_identity_in_eval() -> Result<()> {
        let x = Tensor::ones((4, 16, 8, 8), candle_core::DType::F32, &Device::Cpu)?;
        let eval = Ctx::new(false, 1);
        assert_eq!(
            dropout(&x, 0.5, true, &eval)?
                .sum_all()?
                .to_scalar::<f32>()?,
            4096.0
        );
        let train = Ctx::new(true, 1);
        let y = dropout(&x, 0.2, false, &train)?;
        let mean = y.mean_all()?.to_scalar::<f32>()?;
        assert!((mean - 1.0).abs() < 0.1, "mean {mean}");
        // Per-channel: every channel map is constant.
        let y = dropout(&x, 0.5, true, &train)?;
        let spread = (y.max_keepdim(3)?.max_keepdim(2)? - y.min_keepdim(3)?.min_keepdim(2)?)?;
        assert_eq!(spread.abs()?.sum_all()?.to_scalar::<f32>()?, 0.0);
        let z = drop_connect(&x, 0.5, &train)?;
        let per_sample = z.mean_keepdim((1, 2, 3))?.flatten_all()?.to_vec1::<f32>()?;
        assert!(
            per_sample.iter().all(|&v| v == 0.0 || v == 2.0),
            "{per_sample:?}"
        );
        Ok(())
    }
}
