//! Squeeze-and-excitation gating `x · sigmoid(s)` (`x` NCHW, `s` one logit
//! per image and channel) as a candle `CustomOp2` with its own backward.
//!
//! As candle ops the backward of the broadcast product materialises
//! `grad · x` at full size before summing it per plane; fused, each gradient
//! is one pass. CPU, f32 / f64, contiguous; other devices use the candle
//! composition (see [`supported`]).

use std::sync::Mutex;

use super::cpu::{Float, float_kernel};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

fn plane(l: &Layout) -> Result<usize> {
    match l.dims() {
        [_, _, h, w] => Ok(h * w),
        d => candle_core::bail!("se gate expects NCHW, got {d:?}"),
    }
}

/// `(x, s) -> x · sigmoid(s)`.
struct GateOp;

impl GateOp {
    fn run<T: Float>(x: &[T], s: &[T], plane: usize) -> Vec<T> {
        let mut y = vec![T::default(); x.len()];
        y.par_chunks_mut(plane.max(1))
            .zip(x.par_chunks(plane.max(1)))
            .zip(s.par_iter())
            .for_each(|((ys, xs), &sv)| {
                let g = sigmoid(sv.f64());
                for (o, &v) in ys.iter_mut().zip(xs) {
                    *o = T::from(v.f64() * g);
                }
            });
        y
    }
}

impl CustomOp2 for GateOp {
    fn name(&self) -> &'static str {
        "se-gate"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let p = plane(l1)?;
        let storage = float_kernel!("se-gate", [(x, s1, l1), (s, s2, l2)], Self::run(x, s, p));
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        s: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let logits = s
            .to_dtype(candle_core::DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let op = GradOp {
            logits,
            sums: Mutex::new(None),
        };
        let gx = grad.contiguous()?.apply_op2_no_bwd(x, &op)?;
        let sums = op
            .sums
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| candle_core::Error::Msg("se-gate gradient sums missing".into()))?;
        let gs = Tensor::from_vec(sums, s.shape(), s.device())?.to_dtype(s.dtype())?;
        Ok((Some(gx), Some(gs)))
    }
}

/// `(grad_y, x) -> grad_x = grad_y · sigmoid(s)`; on the side, per plane,
/// `grad_s = sigmoid'(s) · Σ grad_y · x`.
struct GradOp {
    logits: Vec<f64>,
    sums: Mutex<Option<Vec<f64>>>,
}

impl GradOp {
    fn run<T: Float>(&self, dy: &[T], x: &[T], plane: usize) -> Vec<T> {
        let mut gx = vec![T::default(); x.len()];
        let gs: Vec<f64> = gx
            .par_chunks_mut(plane.max(1))
            .zip(dy.par_chunks(plane.max(1)).zip(x.par_chunks(plane.max(1))))
            .zip(self.logits.par_iter())
            .map(|((gs, (ds, xs)), &logit)| {
                let g = sigmoid(logit);
                let mut acc = 0.0;
                for ((o, &d), &v) in gs.iter_mut().zip(ds).zip(xs) {
                    let d = d.f64();
                    acc += d * v.f64();
                    *o = T::from(d * g);
                }
                acc * g * (1.0 - g)
            })
            .collect();
        *self.sums.lock().unwrap_or_else(|e| e.into_inner()) = Some(gs);
        gx
    }
}

impl CustomOp2 for GradOp {
    fn name(&self) -> &'static str {
        "se-gate-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let p = plane(l1)?;
        let storage = float_kernel!("se-gate", [(d, s1, l1), (x, s2, l2)], self.run(d, x, p));
        Ok((storage, l1.shape().clone()))
    }
}

/// Whether [`se_gate`] runs the kernel for this input.
pub fn supported(x: &Tensor) -> bool {
    x.device().is_cpu()
        && x.rank() == 4
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
}

/// `x · sigmoid(s)` with `x` `(n, c, h, w)` and `s` `(n, c, 1, 1)`; candle's
/// ops where the kernel does not apply.
pub fn se_gate(x: &Tensor, s: &Tensor) -> Result<Tensor> {
    let (n, c, _, _) = x.dims4()?;
    if s.dims() != [n, c, 1, 1] {
        candle_core::bail!("se gate {:?} does not fit input {:?}", s.dims(), x.dims())
    }
    if !supported(x) || s.dtype() != x.dtype() {
        return x.broadcast_mul(&candle_nn::ops::sigmoid(s)?);
    }
    x.contiguous()?.apply_op2(&s.contiguous()?, GateOp)
}

#[cfg(test)]
mod tests {
    use candle_core::Var;

    use super::super::testing::{assert_gradients, assert_same_gradients, max_diff, wave_with};
    use super::*;

    fn wave(shape: &[usize], f: f64, phase: f64) -> Tensor {
        wave_with(shape, f, phase, 1.5, 0.0)
    }

    #[test]
    fn matches_candle_forward_and_backward() {
        let x = Var::from_tensor(&wave(&[2, 3, 4, 5], 0.37, 0.1)).unwrap();
        let s = Var::from_tensor(&wave(&[2, 3, 1, 1], 0.9, 0.4)).unwrap();
        let ours = se_gate(x.as_tensor(), s.as_tensor()).unwrap();
        let theirs = x
            .as_tensor()
            .broadcast_mul(&candle_nn::ops::sigmoid(s.as_tensor()).unwrap())
            .unwrap();
        assert!(max_diff(&ours, &theirs) < 1e-12);
        let probe = wave(&[2, 3, 4, 5], 0.13, 2.0);
        assert_same_gradients(ours, theirs, &probe, &[&x, &s], 1e-12, "se gate");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let probe = wave(&[1, 2, 2, 3], 0.29, 2.0);
        assert_gradients(
            |t| {
                (se_gate(&t[0], &t[1]).unwrap() * &probe)
                    .and_then(|y| y.sum_all())
                    .unwrap()
            },
            &[
                wave(&[1, 2, 2, 3], 0.53, 0.3),
                wave(&[1, 2, 1, 1], 0.91, 1.1),
            ],
            1e-6,
            1e-7,
        );
    }
}
