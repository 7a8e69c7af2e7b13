//! `nn.BatchNorm2d` (running statistics updated in training with PyTorch's
//! momentum convention) and `nn.GroupNorm`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use candle_core::{D, Result, Tensor, Var};

use super::Ctx;
use crate::ops::batch_norm::{self, Act, batch_norm_train, scale_shift_act};
use crate::ops::group_norm::{self, group_norm_act};
use crate::params::{Builder, Init};

/// Batch normalisation over `(N, H, W)` per channel.
pub(crate) struct BatchNorm2d {
    weight: Var,
    bias: Var,
    running_mean: Var,
    running_var: Var,
    num_batches_tracked: Arc<AtomicI64>,
    eps: f64,
    /// PyTorch's momentum: `running = (1 - m) running + m batch`.
    momentum: f64,
}

impl BatchNorm2d {
    pub(crate) fn new(b: &Builder, channels: usize, eps: f64, momentum: f64) -> Result<Self> {
        Ok(Self {
            weight: b.param("weight", &[channels], Init::Const(1.0))?,
            bias: b.param("bias", &[channels], Init::Const(0.0))?,
            running_mean: b.buffer("running_mean", &[channels], Init::Const(0.0))?,
            running_var: b.buffer("running_var", &[channels], Init::Const(1.0))?,
            num_batches_tracked: b.counter("num_batches_tracked"),
            eps,
            momentum,
        })
    }

    /// PyTorch's defaults (eps 1e-5, momentum 0.1): smp's decoders.
    pub(crate) fn torch(b: &Builder, channels: usize) -> Result<Self> {
        Self::new(b, channels, 1e-5, 0.1)
    }

    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        self.forward_act(x, ctx, Act::Identity)
    }

    /// `act(batch_norm(x))`: one fused kernel on the CPU, candle's ops elsewhere.
    pub(crate) fn forward_act(&self, x: &Tensor, ctx: &Ctx, act: Act) -> Result<Tensor> {
        if !batch_norm::supported(x) {
            return act.candle(&self.forward_candle(x, ctx)?);
        }
        if !ctx.train {
            let (scale, shift) = self.eval_scale_shift(ctx)?;
            return scale_shift_act(x, &scale, &shift, act);
        }
        let (y, stats) = batch_norm_train(
            x,
            self.weight.as_tensor(),
            self.bias.as_tensor(),
            self.eps,
            act,
        )?;
        let count = x.elem_count() / x.dim(1)?.max(1);
        self.update_running(&stats.mean, &stats.var, count)?;
        Ok(y)
    }

    /// Eval mode's per-channel scale and shift from the running statistics.
    fn eval_scale_shift(&self, ctx: &Ctx) -> Result<(Tensor, Tensor)> {
        let p = |v| ctx.param(v);
        let scale = (p(&self.weight) / (p(&self.running_var) + self.eps)?.sqrt()?)?;
        let shift = (p(&self.bias) - (p(&self.running_mean) * &scale)?)?;
        Ok((scale, shift))
    }

    /// PyTorch's running averages from one batch's mean and biased variance
    /// over `count` values per channel (the variance kept unbiased).
    fn update_running(&self, mean: &[f64], var: &[f64], count: usize) -> Result<()> {
        let m = self.momentum;
        let unbias = if count > 1 {
            count as f64 / (count - 1) as f64
        } else {
            1.0
        };
        let blend = |running: &Var, batch: Vec<f64>| -> Result<()> {
            let old = running.as_tensor();
            let batch = Tensor::from_vec(batch, old.dims(), old.device())?.to_dtype(old.dtype())?;
            running.set(&((old * (1.0 - m))? + (batch * m)?)?)
        };
        blend(&self.running_mean, mean.to_vec())?;
        blend(&self.running_var, var.iter().map(|v| v * unbias).collect())?;
        self.num_batches_tracked.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The plain candle composition (any device).
    fn forward_candle(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let c = x.dim(1)?;
        let shape = (1, c, 1, 1);
        if !ctx.train {
            let (scale, shift) = self.eval_scale_shift(ctx)?;
            return x
                .broadcast_mul(&scale.reshape(shape)?)?
                .broadcast_add(&shift.reshape(shape)?);
        }
        let (n, _, h, w) = x.dims4()?;
        let (y, mean, var) =
            batch_norm_composed(x, self.weight.as_tensor(), self.bias.as_tensor(), self.eps)?;
        // Running statistics: detached, as PyTorch keeps them.
        let to_vec = |t: &Tensor| {
            t.detach()
                .flatten_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_vec1::<f64>()
        };
        self.update_running(&to_vec(&mean)?, &to_vec(&var)?, n * h * w)?;
        Ok(y)
    }
}

/// Group normalisation (FPN's `Conv3x3GNReLU` uses 32 groups, eps 1e-5).
pub(crate) struct GroupNorm {
    weight: Var,
    bias: Var,
    groups: usize,
    eps: f64,
}

impl GroupNorm {
    pub(crate) fn new(b: &Builder, groups: usize, channels: usize) -> Result<Self> {
        Ok(Self {
            weight: b.param("weight", &[channels], Init::Const(1.0))?,
            bias: b.param("bias", &[channels], Init::Const(0.0))?,
            groups,
            eps: 1e-5,
        })
    }

    /// `act(group_norm(x))`: one fused kernel on the CPU, candle's ops elsewhere.
    pub(crate) fn forward_act(&self, x: &Tensor, ctx: &Ctx, act: Act) -> Result<Tensor> {
        let (weight, bias) = (ctx.param(&self.weight), ctx.param(&self.bias));
        if group_norm::supported(x) {
            return group_norm_act(x, &weight, &bias, self.groups, self.eps, act);
        }
        act.candle(&group_norm_composed(
            x,
            &weight,
            &bias,
            self.groups,
            self.eps,
        )?)
    }
}

/// Training-mode batch norm as plain candle ops (any device; the reference
/// the fused kernel is tested and benched against): `(y, batch mean, biased
/// batch variance)`, the statistics shaped `(1, C, 1, 1)`.
pub fn batch_norm_composed(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    let shape = (1, x.dim(1)?, 1, 1);
    let mean = x.mean_keepdim((0, 2, 3))?;
    let centred = x.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim((0, 2, 3))?;
    let y = centred
        .broadcast_div(&(&var + eps)?.sqrt()?)?
        .broadcast_mul(&weight.reshape(shape)?)?
        .broadcast_add(&bias.reshape(shape)?)?;
    Ok((y, mean, var))
}

/// Group norm over `groups` channel groups as plain candle ops (any device;
/// the reference the fused kernel is tested and benched against).
pub fn group_norm_composed(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    groups: usize,
    eps: f64,
) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let g = x.reshape((n, groups, (c / groups) * h * w))?;
    let mean = g.mean_keepdim(D::Minus1)?;
    let centred = g.broadcast_sub(&mean)?;
    let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
    centred
        .broadcast_div(&(var + eps)?.sqrt()?)?
        .reshape((n, c, h, w))?
        .broadcast_mul(&weight.reshape((1, c, 1, 1))?)?
        .broadcast_add(&bias.reshape((1, c, 1, 1))?)
}
