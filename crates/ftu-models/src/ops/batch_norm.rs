//! Batch normalisation fused with the activation that follows it (none,
//! swish or ReLU), as candle `CustomOp3`s with their own backward.
//!
//! As a chain of candle ops a training-mode batch norm plus swish is about ten
//! whole-tensor passes forward and thirty backward, each allocating. Fused,
//! the forward is three passes over `x` (mean, variance, output) and the
//! backward two (per-channel sums, input gradient). Statistics accumulate in
//! f64.
//!
//! Two ops: [`batch_norm_train`] (batch statistics; returns them for the
//! running averages) and [`scale_shift_act`] (eval: `act(x · scale + shift)`
//! per channel, differentiable in all three). CPU, f32 / f64, contiguous
//! NCHW; other devices use the plain candle composition in
//! `layers::norm` (see [`supported`]).

use std::sync::{Arc, Mutex};

use super::cpu::{Float, float_kernel};
use super::vector_act::lane_sum;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// The activation applied after the normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// No activation: plain batch norm.
    Identity,
    /// `z · sigmoid(z)` (EfficientNet's swish / SiLU).
    Silu,
    /// `max(z, 0)`.
    Relu,
}

impl Act {
    pub(crate) fn apply(self, z: f64) -> f64 {
        match self {
            Act::Identity => z,
            Act::Silu => z / (1.0 + (-z).exp()),
            Act::Relu => z.max(0.0),
        }
    }

    /// `d act / d z` at `z`.
    pub(crate) fn slope(self, z: f64) -> f64 {
        match self {
            Act::Identity => 1.0,
            Act::Silu => {
                let s = 1.0 / (1.0 + (-z).exp());
                s * (1.0 + z * (1.0 - s))
            }
            Act::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// Candle's composition of the same activation (other devices).
    pub(crate) fn candle(self, z: &Tensor) -> Result<Tensor> {
        match self {
            Act::Identity => Ok(z.clone()),
            Act::Silu => z.silu(),
            Act::Relu => z.relu(),
        }
    }
}

/// The float types the kernels handle, widened to f64 for the arithmetic.
/// Per-channel sums over `(n, h, w)` of `f(channel, value)` for NCHW `x`.
fn channel_sums<T: Float>(
    x: &[T],
    c: usize,
    plane: usize,
    f: impl Fn(usize, T) -> f64 + Sync,
) -> Vec<f64> {
    let per_plane: Vec<f64> = x
        .par_chunks(plane.max(1))
        .enumerate()
        .map(|(p, xs)| lane_sum(xs, |v| f(p % c, v)))
        .collect();
    let mut sums = vec![0.0; c];
    for (p, s) in per_plane.iter().enumerate() {
        sums[p % c] += s;
    }
    sums
}

/// Batch statistics shared by the training op's forward and backward.
#[derive(Clone, Debug)]
struct Stats {
    mean: Vec<f64>,
    /// Biased (population) variance, as normalisation uses it.
    var: Vec<f64>,
}

/// Shape of a contiguous NCHW tensor as `(channels, plane size)`.
fn geometry(l: &Layout) -> Result<(usize, usize)> {
    match l.dims() {
        [_, c, h, w] => Ok((*c, h * w)),
        d => candle_core::bail!("batch norm expects NCHW, got {d:?}"),
    }
}

/// Training-mode batch norm + activation: `(x, weight, bias) -> y`.
struct TrainOp {
    eps: f64,
    act: Act,
    /// Written by the forward; read by the caller (running averages) and the backward.
    stats: Arc<Mutex<Option<Stats>>>,
}

impl TrainOp {
    fn run<T: Float>(&self, x: &[T], g: &[T], b: &[T], c: usize, plane: usize) -> Vec<T> {
        let count = (x.len() / c.max(1)) as f64;
        let mean: Vec<f64> = channel_sums(x, c, plane, |_, v| v.f64())
            .into_iter()
            .map(|s| s / count)
            .collect();
        let var: Vec<f64> = channel_sums(x, c, plane, |ch, v| (v.f64() - mean[ch]).powi(2))
            .into_iter()
            .map(|s| s / count)
            .collect();
        let mut y = vec![T::default(); x.len()];
        y.par_chunks_mut(plane.max(1))
            .zip(x.par_chunks(plane.max(1)))
            .enumerate()
            .for_each(|(p, (ys, xs))| {
                let ch = p % c;
                let scale = g[ch].f64() / (var[ch] + self.eps).sqrt();
                let shift = b[ch].f64() - mean[ch] * scale;
                T::scale_shift_act(xs, scale, shift, self.act, ys);
            });
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = Some(Stats { mean, var });
        y
    }
}

impl CustomOp3 for TrainOp {
    fn name(&self) -> &'static str {
        "batch-norm-train-act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (c, plane) = geometry(l1)?;
        let storage = float_kernel!(
            "batch-norm",
            [(x, s1, l1), (g, s2, l2), (b, s3, l3)],
            self.run(x, g, b, c, plane)
        );
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let stats = self
            .stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| candle_core::Error::Msg("batch-norm backward before forward".into()))?;
        let c = x.dim(1)?;
        let scale: Vec<f64> = weight
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?
            .iter()
            .zip(&stats.var)
            .map(|(g, v)| g / (v + self.eps).sqrt())
            .collect();
        let shift: Vec<f64> = bias
            .to_dtype(candle_core::DType::F64)?
            .to_vec1::<f64>()?
            .iter()
            .zip(stats.mean.iter().zip(&scale))
            .map(|(b, (m, s))| b - m * s)
            .collect();
        let op = GradOp {
            act: self.act,
            eps: self.eps,
            scale,
            shift,
            train: Some(stats),
            sums: Mutex::new(None),
        };
        let gx = x.apply_op2_no_bwd(&grad.contiguous()?, &op)?;
        let (dscale_sum, dshift) = op.take_sums()?;
        // d y / d weight = xhat · act' = (x - mean) / std · act'.
        let inv_std: Vec<f64> = op
            .train
            .as_ref()
            .map(|s| s.var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect())
            .unwrap_or_default();
        let dweight: Vec<f64> = dscale_sum
            .iter()
            .zip(&inv_std)
            .map(|(d, i)| d * i)
            .collect();
        let to = |v: Vec<f64>| Tensor::from_vec(v, c, x.device())?.to_dtype(x.dtype());
        Ok((Some(gx), Some(to(dweight)?), Some(to(dshift)?)))
    }
}

/// The input gradient (and, on the side, the per-channel sums the parameter
/// gradients need) of `act(x · scale + shift)`, optionally with batch
/// statistics (training), as a no-backward `(x, grad_y) -> grad_x` op.
struct GradOp {
    act: Act,
    eps: f64,
    scale: Vec<f64>,
    shift: Vec<f64>,
    /// Training mode: the batch statistics, whose dependence on `x` adds the
    /// two mean terms to the input gradient.
    train: Option<Stats>,
    /// `(Σ dz · (x - mean), Σ dz)` per channel, `mean` 0 in eval mode.
    sums: Mutex<Option<(Vec<f64>, Vec<f64>)>>,
}

impl GradOp {
    fn take_sums(&self) -> Result<(Vec<f64>, Vec<f64>)> {
        self.sums
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| candle_core::Error::Msg("batch-norm gradient sums missing".into()))
    }

    fn run<T: Float>(&self, x: &[T], dy: &[T], c: usize, plane: usize) -> Vec<T> {
        let plane = plane.max(1);
        let (scale, shift, act) = (&self.scale, &self.shift, self.act);
        let centre = |ch: usize| self.train.as_ref().map_or(0.0, |s| s.mean[ch]);
        // Pass 1: dz = dy · act'(z) into the output buffer, per-plane sums.
        let mut gx = vec![T::default(); x.len()];
        let per_plane: Vec<(f64, f64)> = gx
            .par_chunks_mut(plane)
            .zip(x.par_chunks(plane).zip(dy.par_chunks(plane)))
            .enumerate()
            .map(|(p, (gs, (xs, ds)))| {
                let ch = p % c;
                T::act_grad(xs, ds, (scale[ch], shift[ch], centre(ch)), act, gs)
            })
            .collect();
        let (mut s_xc, mut s_dz) = (vec![0.0; c], vec![0.0; c]);
        for (p, (a, b)) in per_plane.iter().enumerate() {
            s_xc[p % c] += a;
            s_dz[p % c] += b;
        }
        // Pass 2: dx = scale · (dz - mean(dz) - xhat · mean(dz · xhat)) in
        // training (the batch statistics depend on x); scale · dz in eval.
        let count = (x.len() / c.max(1)) as f64;
        gx.par_chunks_mut(plane)
            .zip(x.par_chunks(plane))
            .enumerate()
            .for_each(|(p, (gs, xs))| {
                let ch = p % c;
                let sc = scale[ch];
                match &self.train {
                    None => gs.iter_mut().for_each(|g| *g = T::from(g.f64() * sc)),
                    Some(stats) => {
                        let (m, var) = (stats.mean[ch], stats.var[ch]);
                        let a = s_dz[ch] / count;
                        // xhat · mean(dz · xhat) = (x - m) · Σ dz (x - m) / (count (var + eps)).
                        let b = s_xc[ch] / (count * (var + self.eps));
                        for (g, &xv) in gs.iter_mut().zip(xs) {
                            *g = T::from(sc * (g.f64() - a - (xv.f64() - m) * b));
                        }
                    }
                }
            });
        *self.sums.lock().unwrap_or_else(|e| e.into_inner()) = Some((s_xc, s_dz));
        gx
    }
}

impl CustomOp2 for GradOp {
    fn name(&self) -> &'static str {
        "batch-norm-act-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (c, plane) = geometry(l1)?;
        let storage = float_kernel!(
            "batch-norm",
            [(x, s1, l1), (d, s2, l2)],
            self.run(x, d, c, plane)
        );
        Ok((storage, l1.shape().clone()))
    }
}

/// Eval-mode batch norm (or any per-channel affine map) + activation:
/// `(x, scale, shift) -> act(x · scale + shift)`.
struct ScaleShiftOp {
    act: Act,
}

impl ScaleShiftOp {
    fn run<T: Float>(&self, x: &[T], sc: &[T], sh: &[T], c: usize, plane: usize) -> Vec<T> {
        let mut y = vec![T::default(); x.len()];
        y.par_chunks_mut(plane.max(1))
            .zip(x.par_chunks(plane.max(1)))
            .enumerate()
            .for_each(|(p, (ys, xs))| {
                T::scale_shift_act(xs, sc[p % c].f64(), sh[p % c].f64(), self.act, ys);
            });
        y
    }
}

impl CustomOp3 for ScaleShiftOp {
    fn name(&self) -> &'static str {
        "scale-shift-act"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (c, plane) = geometry(l1)?;
        let storage = float_kernel!(
            "scale-shift",
            [(x, s1, l1), (a, s2, l2), (b, s3, l3)],
            self.run(x, a, b, c, plane)
        );
        Ok((storage, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        scale: &Tensor,
        shift: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let f64s = |t: &Tensor| t.to_dtype(candle_core::DType::F64)?.to_vec1::<f64>();
        let op = GradOp {
            act: self.act,
            eps: 0.0,
            scale: f64s(scale)?,
            shift: f64s(shift)?,
            train: None,
            sums: Mutex::new(None),
        };
        let gx = x.apply_op2_no_bwd(&grad.contiguous()?, &op)?;
        let (dscale, dshift) = op.take_sums()?;
        let c = x.dim(1)?;
        let to = |v: Vec<f64>| Tensor::from_vec(v, c, x.device())?.to_dtype(x.dtype());
        Ok((Some(gx), Some(to(dscale)?), Some(to(dshift)?)))
    }
}

/// Whether the fused kernels handle this input (CPU, f32 or f64, NCHW).
pub fn supported(x: &Tensor) -> bool {
    x.device().is_cpu()
        && x.rank() == 4
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
}

/// Batch statistics of one training-mode call: per-channel mean and biased
/// variance, for the running averages.
pub struct BatchStats {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

/// `act(batch_norm(x))` with batch statistics; `weight` and `bias` are `(C,)`.
pub fn batch_norm_train(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    act: Act,
) -> Result<(Tensor, BatchStats)> {
    let shared = Arc::new(Mutex::new(None));
    let op = TrainOp {
        eps,
        act,
        stats: shared.clone(),
    };
    let y = x
        .contiguous()?
        .apply_op3(&weight.contiguous()?, &bias.contiguous()?, op)?;
    let stats = shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(|| candle_core::Error::Msg("batch-norm forward left no statistics".into()))?;
    Ok((
        y,
        BatchStats {
            mean: stats.mean,
            var: stats.var,
        },
    ))
}

/// `act(x · scale + shift)` with per-channel `scale` and `shift` of shape `(C,)`.
pub fn scale_shift_act(x: &Tensor, scale: &Tensor, shift: &Tensor, act: Act) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &scale.contiguous()?,
        &shift.contiguous()?,
        ScaleShiftOp { act },
    )
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Device, Var};

    use super::super::testing::{assert_gradients, assert_same_gradients, max_diff, wave_with};
    use super::*;

    fn wave(shape: &[usize], f: f64, phase: f64) -> Tensor {
        wave_with(shape, f, phase, 1.5, 0.2)
    }

    /// The plain candle composition: batch statistics, then the activation.
    fn reference(x: &Tensor, g: &Tensor, b: &Tensor, eps: f64, act: Act) -> Tensor {
        let (y, _, _) = crate::kernels::composed::batch_norm(x, g, b, eps).unwrap();
        act.candle(&y).unwrap()
    }

    #[test]
    fn train_matches_candle_forward_backward_and_stats() {
        for act in [Act::Identity, Act::Silu, Act::Relu] {
            let x = Var::from_tensor(&wave(&[3, 4, 5, 6], 0.37, 0.1)).unwrap();
            let g = Var::from_tensor(&wave(&[4], 0.9, 0.4)).unwrap();
            let b = Var::from_tensor(&wave(&[4], 1.3, 0.7)).unwrap();
            let (ours, stats) =
                batch_norm_train(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-3, act).unwrap();
            let theirs = reference(x.as_tensor(), g.as_tensor(), b.as_tensor(), 1e-3, act);
            assert!(max_diff(&ours, &theirs) < 1e-12, "{act:?} forward");
            let mean = x
                .as_tensor()
                .mean_keepdim((0, 2, 3))
                .unwrap()
                .flatten_all()
                .unwrap();
            let got = Tensor::new(stats.mean.as_slice(), &Device::Cpu).unwrap();
            assert!(max_diff(&got, &mean) < 1e-12, "{act:?} mean");
            let probe = wave(&[3, 4, 5, 6], 0.13, 2.0);
            assert_same_gradients(
                ours,
                theirs,
                &probe,
                &[&x, &g, &b],
                1e-10,
                &format!("{act:?}"),
            );
        }
    }

    #[test]
    fn scale_shift_matches_candle_forward_and_backward() {
        for act in [Act::Identity, Act::Silu, Act::Relu] {
            let x = Var::from_tensor(&wave(&[2, 3, 4, 5], 0.37, 0.1)).unwrap();
            let a = Var::from_tensor(&wave(&[3], 0.9, 0.4)).unwrap();
            let b = Var::from_tensor(&wave(&[3], 1.3, 0.7)).unwrap();
            let ours = scale_shift_act(x.as_tensor(), a.as_tensor(), b.as_tensor(), act).unwrap();
            let z = x
                .as_tensor()
                .broadcast_mul(&a.as_tensor().reshape((1, 3, 1, 1)).unwrap())
                .unwrap()
                .broadcast_add(&b.as_tensor().reshape((1, 3, 1, 1)).unwrap())
                .unwrap();
            let theirs = act.candle(&z).unwrap();
            assert!(max_diff(&ours, &theirs) < 1e-12, "{act:?} forward");
            let probe = wave(&[2, 3, 4, 5], 0.13, 2.0);
            assert_same_gradients(
                ours,
                theirs,
                &probe,
                &[&x, &a, &b],
                1e-11,
                &format!("{act:?}"),
            );
        }
    }

    /// Central finite differences of a probe-weighted sum, for every input.
    #[test]
    fn gradients_match_finite_differences() {
        let shapes: [&[usize]; 3] = [&[2, 3, 2, 3], &[3], &[3]];
        let base: Vec<Tensor> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| wave(s, 0.61 + i as f64 * 0.2, 0.3 * i as f64))
            .collect();
        let probe = wave(&[2, 3, 2, 3], 0.29, 2.0);
        for train in [true, false] {
            assert_gradients(
                |t| {
                    let y = if train {
                        batch_norm_train(&t[0], &t[1], &t[2], 1e-3, Act::Silu)
                            .unwrap()
                            .0
                    } else {
                        scale_shift_act(&t[0], &t[1], &t[2], Act::Silu).unwrap()
                    };
                    (y * &probe).unwrap().sum_all().unwrap()
                },
                &base,
                1e-6,
                1e-6,
            );
        }
    }

    #[test]
    fn f32_forward_is_close_to_f64() {
        let x = wave(&[2, 3, 4, 5], 0.37, 0.1);
        let (g, b) = (wave(&[3], 0.9, 0.4), wave(&[3], 1.3, 0.7));
        let y64 = batch_norm_train(&x, &g, &b, 1e-5, Act::Silu).unwrap().0;
        let f = |t: &Tensor| t.to_dtype(DType::F32).unwrap();
        let y32 = batch_norm_train(&f(&x), &f(&g), &f(&b), 1e-5, Act::Silu)
            .unwrap()
            .0;
        assert!(max_diff(&y64, &y32.to_dtype(DType::F64).unwrap()) < 1e-5);
    }
}
