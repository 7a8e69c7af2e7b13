//! Segmentation losses on logits: binary cross-entropy, soft Dice, their
//! weighted sum (the recipe's objective), the Lovász hinge and the focal
//! loss; [`Loss`] picks one from a [`LossConfig`]. All are differentiable
//! with respect to the logits (checked against finite differences).

use candle_core::{D, DType, Tensor};

use crate::config::{LossConfig, LossKind};
use crate::error::TrainError;

/// The loss a [`LossConfig`] describes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loss(pub LossConfig);

impl Loss {
    /// The scalar loss of `logits` against `target` (both `(N, C, H, W)`).
    pub fn forward(&self, logits: &Tensor, target: &Tensor) -> Result<Tensor, TrainError> {
        check_shapes(logits, target)?;
        let target = target.to_dtype(logits.dtype())?;
        let c = &self.0;
        Ok(match c.kind {
            LossKind::Bce => bce_with_logits(logits, &target)?,
            LossKind::Dice => soft_dice_loss(logits, &target, c.smooth)?,
            LossKind::BceDice => BceDiceLoss {
                bce_weight: c.bce_weight,
                dice_weight: c.dice_weight,
                smooth: c.smooth,
            }
            .forward(logits, &target)?,
            LossKind::Lovasz => lovasz_hinge(logits, &target)?,
            LossKind::Focal => focal_loss(logits, &target, c.focal_gamma, c.focal_alpha)?,
        })
    }
}

fn check_shapes(logits: &Tensor, target: &Tensor) -> Result<(), TrainError> {
    if logits.dims() != target.dims() || logits.rank() != 4 {
        return Err(TrainError::Shape {
            logits: logits.dims().to_vec(),
            target: target.dims().to_vec(),
        });
    }
    Ok(())
}

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
        check_shapes(logits, target)?;
        let target = target.to_dtype(logits.dtype())?;
        let bce = bce_with_logits(logits, &target)?;
        let dice = soft_dice_loss(logits, &target, self.smooth)?;
        Ok(((bce * self.bce_weight)? + (dice * self.dice_weight)?)?)
    }
}

/// Mean of `max(x, 0) - x t + log(1 + exp(-|x|))`: stable for any logit.
pub fn bce_with_logits(logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    bce_elementwise(logits, target)?.mean_all()
}

/// Per-element BCE with logits (PyTorch's `reduction="none"`).
fn bce_elementwise(logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let softplus = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    (logits.relu()? - (logits * target)?)?.add(&softplus)
}

/// Focal loss, mean over elements, as smp's `focal_loss_with_logits`:
/// `(1 - p_t)^γ · BCE`, weighted `α` on positives and `1 - α` on negatives.
pub fn focal_loss(
    logits: &Tensor,
    target: &Tensor,
    gamma: f64,
    alpha: f64,
) -> candle_core::Result<Tensor> {
    let logpt = bce_elementwise(logits, target)?;
    let pt = logpt.neg()?.exp()?;
    let focal = pt.neg()?.affine(1.0, 1.0)?.relu()?.powf(gamma)?;
    let weight = target.affine(2.0 * alpha - 1.0, 1.0 - alpha)?;
    (focal * logpt)?.mul(&weight)?.mean_all()
}

/// Binary Lovász hinge over the whole batch (smp's `LovaszLoss("binary")`,
/// `per_image=False`): errors `1 - x (2t - 1)` sorted in decreasing order,
/// `relu`'d and dotted with the gradient of the Lovász extension of the
/// Jaccard loss at that order. The order and the weights are constants;
/// the gradient flows through the errors.
pub fn lovasz_hinge(logits: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
    let x = logits.flatten_all()?;
    let t = target.flatten_all()?;
    let signs = t.affine(2.0, -1.0)?;
    let errors = (&x * &signs)?.neg()?.affine(1.0, 1.0)?;
    let host: Vec<f64> = errors.to_dtype(DType::F64)?.to_vec1()?;
    let labels: Vec<f64> = t.to_dtype(DType::F64)?.to_vec1()?;
    let mut order: Vec<u32> = (0..host.len() as u32).collect();
    order.sort_by(|&a, &b| host[b as usize].total_cmp(&host[a as usize]));
    let gts: f64 = labels.iter().sum();
    let mut weights = Vec::with_capacity(order.len());
    let (mut cum_pos, mut cum_neg, mut previous) = (0f64, 0f64, 0f64);
    for &i in &order {
        let g = labels[i as usize];
        cum_pos += g;
        cum_neg += 1.0 - g;
        let jaccard = 1.0 - (gts - cum_pos) / (gts + cum_neg);
        weights.push(jaccard - previous);
        previous = jaccard;
    }
    let device = logits.device();
    let index = Tensor::from_vec(order, host.len(), device)?;
    let weights = Tensor::from_vec(weights, host.len(), device)?.to_dtype(logits.dtype())?;
    errors
        .index_select(&index, 0)?
        .relu()?
        .mul(&weights)?
        .sum_all()
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

    /// Central differences of `f` at `x0` against candle's autodiff.
    fn check_gradient(x0: &Tensor, f: &dyn Fn(&Tensor) -> Tensor, tol: f64) {
        let x = Var::from_tensor(x0).unwrap();
        let grads = f(x.as_tensor()).backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap().flatten_all().unwrap();
        let g = g.to_vec1::<f64>().unwrap();
        let base = x0.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let eval = |v: Vec<f64>| {
            let t = Tensor::from_vec(v, x0.dims(), &Device::Cpu).unwrap();
            f(&t).to_scalar::<f64>().unwrap()
        };
        let eps = 1e-6;
        for i in 0..base.len() {
            let (mut plus, mut minus) = (base.clone(), base.clone());
            plus[i] += eps;
            minus[i] -= eps;
            let fd = (eval(plus) - eval(minus)) / (2.0 * eps);
            assert!(
                (fd - g[i]).abs() < tol,
                "element {i}: fd {fd} vs autodiff {}",
                g[i]
            );
        }
    }

    #[test]
    fn every_loss_kind_matches_finite_differences() {
        let x0 = wave((2, 1, 3, 4), 0.91, 2.0);
        let target = wave((2, 1, 3, 4), 0.37, 1.0)
            .ge(0.0)
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap();
        for kind in [
            LossKind::Bce,
            LossKind::Dice,
            LossKind::BceDice,
            LossKind::Lovasz,
            LossKind::Focal,
        ] {
            let loss = Loss(LossConfig {
                kind,
                bce_weight: 0.6,
                dice_weight: 1.4,
                focal_gamma: 2.0,
                focal_alpha: 0.3,
                smooth: 0.5,
            });
            check_gradient(&x0, &|x| loss.forward(x, &target).unwrap(), 1e-7);
        }
    }

    #[test]
    fn lovasz_and_focal_match_closed_forms() {
        // One positive pixel with logit 2 and one negative with logit -1:
        // errors 1 - 2 = -1 and 1 - 1 = 0, relu'd to zero: a perfect margin.
        let x = Tensor::new(&[2f64, -1.0], &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 1, 2))
            .unwrap();
        let t = Tensor::new(&[1f64, 0.0], &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 1, 2))
            .unwrap();
        assert_eq!(
            lovasz_hinge(&x, &t).unwrap().to_scalar::<f64>().unwrap(),
            0.0
        );
        // Both wrong by margin: logits -1 (positive) and 1 (negative): errors 2, 2.
        // Sorted (ties keep order): gt [1, 0]; jaccard 1 - (1-1)/(1+0) = 1, then
        // 1 - 0/(1+1) = 1; weights [1, 0]: loss = 2.
        let x = Tensor::new(&[-1f64, 1.0], &Device::Cpu)
            .unwrap()
            .reshape((1, 1, 1, 2))
            .unwrap();
        assert_eq!(
            lovasz_hinge(&x, &t).unwrap().to_scalar::<f64>().unwrap(),
            2.0
        );
        // Focal at logit 0: p_t = 1/2, BCE = ln 2: mean of alpha and 1 - alpha weights.
        let z = Tensor::zeros((1, 1, 1, 2), DType::F64, &Device::Cpu).unwrap();
        let f = focal_loss(&z, &t, 2.0, 0.25)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap();
        let want = 0.25 * 2f64.ln() * (0.25 + 0.75) / 2.0;
        assert!((f - want).abs() < 1e-12, "{f} vs {want}");
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
