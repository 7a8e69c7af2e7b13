//! Segmentation losses on logits: binary cross-entropy plus soft Dice, the
//! recipe's training objective.

use candle_core::{D, Tensor};

use crate::error::TrainError;

/// `bce_weight * BCEWithLogits + dice_weight * (1 - soft Dice)`.
///
/// Soft Dice is computed over the whole batch per class (as smp's binary
/// `DiceLoss`): `1 - (2 Σ p t + smooth) / (Σ p + Σ t + smooth)` with
/// `p = sigmoid(logits)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BceDiceLoss {
    pub bce_weight: f64,
    pub dice_weight: f64,
    /// Added to numerator and denominator: empty masks give a finite loss.
    pub smooth: f64,
}

impl Default for BceDiceLoss {
    fn default() -> Self {
        Self {
            bce_weight: 1.0,
            dice_weight: 1.0,
            smooth: 1.0,
        }
    }
}

impl BceDiceLoss {
    /// The scalar loss of `logits` against `target` (both `(N, C, H, W)`,
    /// target in `[0, 1]`); differentiable with respect to `logits`.
    pub fn forward(&self, logits: &Tensor, target: &Tensor) -> Result<Tensor, TrainError> {
        if logits.dims() != target.dims() || logits.rank() != 4 {
            return Err(TrainError::Shape {
                logits: logits.dims().to_vec(),
                target: target.dims().to_vec(),
            });
        }
        let target = target.to_dtype(logits.dtype())?;
        let bce = bce_with_logits(logits, &target)?;
        let dice = soft_dice_loss(logits, &target, self.smooth)?;
        Ok(((bce * self.bce_weight)? + (dice * self.dice_weight)?)?)
    }
}

/// Mean of `max(x, 0) - x t + log(1 + exp(-|x|))`: stable for any logit.
pub fn bce_with_logits(logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let softplus = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    (logits.relu()? - (logits * target)?)?
        .add(&softplus)?
        .mean_all()
}

/// `1 - (2 Σ p t + s) / (Σ p + Σ t + s)` per class over batch and pixels, averaged over classes.
pub fn soft_dice_loss(
    logits: &Tensor,
    target: &Tensor,
    smooth: f64,
) -> candle_core::Result<Tensor> {
    let (n, c, h, w) = logits.dims4()?;
    let per_class = |t: &Tensor| -> candle_core::Result<Tensor> {
        t.transpose(0, 1)?.reshape((c, n * h * w))?.sum(D::Minus1)
    };
    let p = candle_nn::ops::sigmoid(logits)?;
    let intersection = per_class(&(&p * target)?)?;
    let cardinality = (per_class(&p)? + per_class(target)?)?;
    let dice = ((intersection * 2.0)? + smooth)?.div(&(cardinality + smooth)?)?;
    dice.neg()?.affine(1.0, 1.0)?.mean_all()
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};

    use super::*;

    fn wave(shape: (usize, usize, usize, usize), f: f64, amp: f64) -> Tensor {
        let n = shape.0 * shape.1 * shape.2 * shape.3;
        let v: Vec<f64> = (0..n).map(|i| amp * (i as f64 * f + 0.3).sin()).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn matches_closed_form_values() {
        // Logit 0 everywhere: BCE = ln 2; p = 1/2, with an all-ones target
        // Dice = (2 * n/2 + s) / (n/2 + n + s).
        let logits = Tensor::zeros((1, 1, 4, 4), DType::F64, &Device::Cpu).unwrap();
        let target = Tensor::ones((1, 1, 4, 4), DType::F64, &Device::Cpu).unwrap();
        let loss = BceDiceLoss::default()
            .forward(&logits, &target)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let expected = 2f64.ln() + 1.0 - (16.0 + 1.0) / (8.0 + 16.0 + 1.0);
        assert!((loss - expected).abs() < 1e-12, "{loss} vs {expected}");
        // Huge logits stay finite.
        let big = (Tensor::ones((1, 1, 2, 2), DType::F64, &Device::Cpu).unwrap() * 1e4).unwrap();
        let bce = bce_with_logits(
            &big,
            &target.narrow(2, 0, 2).unwrap().narrow(3, 0, 2).unwrap(),
        )
        .unwrap();
        assert!(bce.to_scalar::<f64>().unwrap().abs() < 1e-12);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x0 = wave((2, 2, 3, 3), 0.91, 2.0);
        let target = wave((2, 2, 3, 3), 0.37, 1.0)
            .ge(0.0)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        let loss = BceDiceLoss {
            bce_weight: 0.7,
            dice_weight: 1.3,
            smooth: 0.5,
        };
        let x = Var::from_tensor(&x0).unwrap();
        let grads = loss
            .forward(x.as_tensor(), &target)
            .unwrap()
            .backward()
            .unwrap();
        let g = grads
            .get(x.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f64>()
            .unwrap();
        let base = x0.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let eval = |v: Vec<f64>| {
            let t = Tensor::from_vec(v, x0.dims(), &Device::Cpu).unwrap();
            loss.forward(&t, &target)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let eps = 1e-6;
        for i in 0..base.len() {
            let mut plus = base.clone();
            plus[i] += eps;
            let mut minus = base.clone();
            minus[i] -= eps;
            let fd = (eval(plus) - eval(minus)) / (2.0 * eps);
            assert!(
                (fd - g[i]).abs() < 1e-8,
                "element {i}: fd {fd} vs autodiff {}",
                g[i]
            );
        }
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let a = Tensor::zeros((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
        let b = Tensor::zeros((1, 1, 4, 5), DType::F32, &Device::Cpu).unwrap();
        let err = BceDiceLoss::default()
            .forward(&a, &b)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("[1, 1, 4, 4]") && err.contains("[1, 1, 4, 5]"),
            "{err}"
        );
    }
}
