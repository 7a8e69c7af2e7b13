//! Group normalisation fused with the activation after it (FPN's
//! `Conv3x3GNReLU`), as a candle `CustomOp3` with its own backward.
//!
//! A group of one image is one contiguous run of NCHW memory, so statistics
//! and both gradient passes are a loop per `(image, group)`, in parallel. The
//! candle composition costs about ten whole-tensor passes forward and three
//! times that backward. CPU, f32 / f64; other devices keep the composition in
//! `layers::norm` (see [`supported`]).

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::batch_norm::Act;
use super::cpu::{Float, float_kernel};

/// `(channels, plane)` of an NCHW layout, checked against the group count.
fn geometry(l: &Layout, groups: usize) -> Result<(usize, usize)> {
    match l.dims() {
        [_, c, h, w] if groups > 0 && c % groups == 0 => Ok((*c, h * w)),
        d => candle_core::bail!("group norm with {groups} groups does not fit {d:?}"),
    }
}

/// Mean and `1 / sqrt(var + eps)` of one group's values.
fn moments<T: Float>(xs: &[T], eps: f64) -> (f64, f64) {
    let m = xs.len().max(1) as f64;
    let mean = xs.iter().map(|v| v.f64()).sum::<f64>() / m;
    let var = xs.iter().map(|v| (v.f64() - mean).powi(2)).sum::<f64>() / m;
    (mean, 1.0 / (var + eps).sqrt())
}

/// `(x, weight, bias) -> act(group_norm(x))`.
struct GroupNormOp {
    groups: usize,
    eps: f64,
    act: Act,
}

impl GroupNormOp {
    fn run<T: Float>(&self, x: &[T], g: &[T], b: &[T], c: usize, plane: usize) -> Vec<T> {
        let per_group = (c / self.groups) * plane;
        let mut y = vec![T::default(); x.len()];
        y.par_chunks_mut(per_group.max(1))
            .zip(x.par_chunks(per_group.max(1)))
            .enumerate()
            .for_each(|(k, (ys, xs))| {
                let (mean, inv) = moments(xs, self.eps);
                let first = (k % self.groups) * (c / self.groups);
                for (j, (yc, xc)) in ys
                    .chunks_mut(plane.max(1))
                    .zip(xs.chunks(plane.max(1)))
                    .enumerate()
                {
                    let scale = g[first + j].f64() * inv;
                    let shift = b[first + j].f64() - mean * scale;
                    for (o, &v) in yc.iter_mut().zip(xc) {
                        *o = T::from(self.act.apply(v.f64() * scale + shift));
                    }
                }
            });
        y
    }
}

impl CustomOp3 for GroupNormOp {
    fn name(&self) -> &'static str {
        "group-norm-act"
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
        let (c, plane) = geometry(l1, self.groups)?;
        let storage = float_kernel!(
            "group-norm",
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
        let f64s = |t: &Tensor| t.to_dtype(candle_core::DType::F64)?.to_vec1::<f64>();
        let op = GradOp {
            groups: self.groups,
            eps: self.eps,
            act: self.act,
            weight: f64s(weight)?,
            bias: f64s(bias)?,
            sums: Mutex::new(None),
        };
        let gx = x.apply_op2_no_bwd(&grad.contiguous()?, &op)?;
        let (dw, db) = op
            .sums
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| candle_core::Error::Msg("group-norm gradient sums missing".into()))?;
        let c = x.dim(1)?;
        let to = |v: Vec<f64>| Tensor::from_vec(v, c, x.device())?.to_dtype(x.dtype());
        Ok((Some(gx), Some(to(dw)?), Some(to(db)?)))
    }
}

/// `(x, grad_y) -> grad_x`; on the side the weight and bias gradients.
struct GradOp {
    groups: usize,
    eps: f64,
    act: Act,
    weight: Vec<f64>,
    bias: Vec<f64>,
    sums: Mutex<Option<(Vec<f64>, Vec<f64>)>>,
}

impl GradOp {
    fn run<T: Float>(&self, x: &[T], dy: &[T], c: usize, plane: usize) -> Vec<T> {
        let cg = c / self.groups;
        let per_group = cg * plane;
        let mut gx = vec![T::default(); x.len()];
        // Per group: dz = dy · act'(z) into gx, per-channel Σ dz·xhat and Σ dz,
        // then dx = inv · (dxhat - mean(dxhat) - xhat · mean(dxhat · xhat))
        // with dxhat = dz · weight.
        let per_channel: Vec<Vec<(f64, f64)>> = gx
            .par_chunks_mut(per_group.max(1))
            .zip(
                x.par_chunks(per_group.max(1))
                    .zip(dy.par_chunks(per_group.max(1))),
            )
            .enumerate()
            .map(|(k, (gs, (xs, ds)))| {
                let (mean, inv) = moments(xs, self.eps);
                let first = (k % self.groups) * cg;
                let mut sums = Vec::with_capacity(cg);
                let (mut s_dxhat, mut s_dxhat_xhat) = (0.0, 0.0);
                for (j, ((gc, xc), dc)) in gs
                    .chunks_mut(plane.max(1))
                    .zip(xs.chunks(plane.max(1)))
                    .zip(ds.chunks(plane.max(1)))
                    .enumerate()
                {
                    let w = self.weight[first + j];
                    let (scale, shift) = (w * inv, self.bias[first + j] - mean * w * inv);
                    let (mut s_dz_xhat, mut s_dz) = (0.0, 0.0);
                    for ((o, &xv), &dv) in gc.iter_mut().zip(xc).zip(dc) {
                        let xv = xv.f64();
                        let dz = dv.f64() * self.act.slope(xv * scale + shift);
                        let xhat = (xv - mean) * inv;
                        s_dz_xhat += dz * xhat;
                        s_dz += dz;
                        *o = T::from(dz);
                    }
                    s_dxhat += s_dz * w;
                    s_dxhat_xhat += s_dz_xhat * w;
                    sums.push((s_dz_xhat, s_dz));
                }
                let m = xs.len().max(1) as f64;
                let (a, b) = (s_dxhat / m, s_dxhat_xhat / m);
                for (j, (gc, xc)) in gs
                    .chunks_mut(plane.max(1))
                    .zip(xs.chunks(plane.max(1)))
                    .enumerate()
                {
                    let w = self.weight[first + j];
                    for (o, &xv) in gc.iter_mut().zip(xc) {
                        let xhat = (xv.f64() - mean) * inv;
                        *o = T::from(inv * (o.f64() * w - a - xhat * b));
                    }
                }
                sums
            })
            .collect();
        let (mut dw, mut db) = (vec![0.0; c], vec![0.0; c]);
        for (k, sums) in per_channel.iter().enumerate() {
            let first = (k % self.groups) * cg;
            for (j, (a, b)) in sums.iter().enumerate() {
                dw[first + j] += a;
                db[first + j] += b;
            }
        }
        *self.sums.lock().unwrap_or_else(|e| e.into_inner()) = Some((dw, db));
        gx
    }
}

impl CustomOp2 for GradOp {
    fn name(&self) -> &'static str {
        "group-norm-act-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (c, plane) = geometry(l1, self.groups)?;
        let storage = float_kernel!(
            "group-norm",
            [(x, s1, l1), (d, s2, l2)],
            self.run(x, d, c, plane)
        );
        Ok((storage, l1.shape().clone()))
    }
}

/// Whether [`group_norm_act`] handles this input (CPU, f32 or f64, NCHW).
pub fn supported(x: &Tensor) -> bool {
    super::batch_norm::supported(x)
}

/// `act(group_norm(x))` over `groups` groups, per-channel `weight` and `bias`.
pub fn group_norm_act(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    groups: usize,
    eps: f64,
    act: Act,
) -> Result<Tensor> {
    x.contiguous()?.apply_op3(
        &weight.contiguous()?,
        &bias.contiguous()?,
        GroupNormOp { groups, eps, act },
    )
}

#[cfg(test)]
mod tests {
    use candle_core::Var;

    use super::super::testing::{assert_gradients, assert_same_gradients, max_diff, wave_with};
    use super::*;

    fn wave(shape: &[usize], f: f64, phase: f64) -> Tensor {
        wave_with(shape, f, phase, 1.5, 0.2)
    }

    fn reference(x: &Tensor, g: &Tensor, b: &Tensor, groups: usize, act: Act) -> Tensor {
        let y = crate::kernels::composed::group_norm(x, g, b, groups, 1e-5).unwrap();
        act.candle(&y).unwrap()
    }

    #[test]
    fn matches_candle_forward_and_backward() {
        for act in [Act::Identity, Act::Relu, Act::Silu] {
            let x = Var::from_tensor(&wave(&[2, 6, 3, 4], 0.37, 0.1)).unwrap();
            let g = Var::from_tensor(&wave(&[6], 0.9, 0.4)).unwrap();
            let b = Var::from_tensor(&wave(&[6], 1.3, 0.7)).unwrap();
            let (xt, gt, bt) = (x.as_tensor(), g.as_tensor(), b.as_tensor());
            let ours = group_norm_act(xt, gt, bt, 3, 1e-5, act).unwrap();
            let theirs = reference(xt, gt, bt, 3, act);
            assert!(max_diff(&ours, &theirs) < 1e-12, "{act:?} forward");
            let probe = wave(&[2, 6, 3, 4], 0.13, 2.0);
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
    fn gradients_match_finite_differences() {
        let shapes: [&[usize]; 3] = [&[1, 4, 2, 3], &[4], &[4]];
        let base: Vec<Tensor> = shapes
            .iter()
            .enumerate()
            .map(|(i, s)| wave(s, 0.61 + i as f64 * 0.2, 0.3 * i as f64))
            .collect();
        let probe = wave(&[1, 4, 2, 3], 0.29, 2.0);
        assert_gradients(
            |t| {
                let y = group_norm_act(&t[0], &t[1], &t[2], 2, 1e-5, Act::Silu).unwrap();
                (y * &probe).unwrap().sum_all().unwrap()
            },
            &base,
            1e-6,
            1e-6,
        );
    }
}
