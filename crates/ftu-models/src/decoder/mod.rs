//! Decoders: turn the encoder's six features into a full-resolution map.

pub mod fpn;
pub mod linknet;
pub mod unet;

use candle_core::{Result, Tensor};

use crate::layers::Ctx;
use crate::layers::conv::{Bias, Conv2d, ConvSpec};
use crate::layers::norm::BatchNorm2d;
use crate::params::{Builder, kaiming_relu};

/// smp's `Conv2dReLU` with batch norm: `.0` conv (no bias), `.1` norm, ReLU.
pub(crate) struct Conv2dReLU {
    conv: Conv2d,
    bn: BatchNorm2d,
}

impl Conv2dReLU {
    pub(crate) fn new(b: &Builder, cin: usize, cout: usize, kernel: usize) -> Result<Self> {
        let spec = ConvSpec::dense(cin, cout, kernel, kernel / 2, Bias::None);
        Ok(Self {
            conv: Conv2d::new(&b.pp(0), &spec, |fan_in, _| kaiming_relu(fan_in))?,
            bn: BatchNorm2d::torch(&b.pp(1), cout)?,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        self.bn.forward_act(
            &self.conv.forward(x, ctx)?,
            ctx,
            crate::ops::batch_norm::Act::Relu,
        )
    }
}
