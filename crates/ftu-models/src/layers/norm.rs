//! `nn.BatchNorm2d` (running statistics updated in training with PyTorch's
//! momentum convention) and `nn.GroupNorm`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use candle_core::{D, Result, Tensor, Var};

use super::Ctx;
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
        let c = x.dim(1)?;
        let shape = (1, c, 1, 1);
        if !ctx.train {
            // Eval: one scale and shift per channel.
            let scale =
                (self.weight.as_tensor() / (self.running_var.as_tensor() + self.eps)?.sqrt()?)?;
            let shift = (self.bias.as_tensor() - (self.running_mean.as_tensor() * &scale)?)?;
            return x
                .broadcast_mul(&scale.reshape(shape)?)?
                .broadcast_add(&shift.reshape(shape)?);
        }
        let (n, _, h, w) = x.dims4()?;
        let count = n * h * w;
        let mean = x.mean_keepdim((0, 2, 3))?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim((0, 2, 3))?;
        let y = centred.broadcast_div(&(&var + self.eps)?.sqrt()?)?;
        let y = y
            .broadcast_mul(&self.weight.as_tensor().reshape(shape)?)?
            .broadcast_add(&self.bias.as_tensor().reshape(shape)?)?;
        // Running statistics: detached, unbiased variance as PyTorch keeps it.
        let m = self.momentum;
        let unbias = if count > 1 {
            count as f64 / (count - 1) as f64
        } else {
            1.0
        };
        let mean = mean.detach().flatten_all()?;
        let var = (var.detach().flatten_all()? * unbias)?;
        let rm = ((self.running_mean.as_tensor() * (1.0 - m))? + (mean * m)?)?;
        let rv = ((self.running_var.as_tensor() * (1.0 - m))? + (var * m)?)?;
        self.running_mean.set(&rm)?;
        self.running_var.set(&rv)?;
        self.num_batches_tracked.fetch_add(1, Ordering::Relaxed);
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

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        let g = x.reshape((n, self.groups, (c / self.groups) * h * w))?;
        let mean = g.mean_keepdim(D::Minus1)?;
        let centred = g.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let y = centred
            .broadcast_div(&(var + self.eps)?.sqrt()?)?
            .reshape((n, c, h, w))?;
        y.broadcast_mul(&self.weight.as_tensor().reshape((1, c, 1, 1))?)?
            .broadcast_add(&self.bias.as_tensor().reshape((1, c, 1, 1))?)
    }
}
