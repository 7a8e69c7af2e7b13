//! `nn.Conv2d` (with TensorFlow-style static "same" padding where the
//! EfficientNet encoder uses it), `nn.ConvTranspose2d` and `nn.Linear`.

use candle_core::{Result, Tensor, Var};

use super::Ctx;
use crate::ops::conv2d_kernel::{self, conv_transpose2d_kernel, conv2d_kernel};
use crate::ops::depthwise::depthwise_conv2d;
use crate::ops::depthwise_kernel::{self, depthwise_conv2d_kernel};
use crate::params::{Builder, Init};

/// Zero padding as `(top, bottom, left, right)`.
pub(crate) type Pad = [usize; 4];

/// The padding lukemelas' `Conv2dStaticSamePadding` computes for an image of
/// `image_size` (not the actual input!): smp's EfficientNet pads every input
/// as if it were the ImageNet resolution of that model, often asymmetrically.
pub(crate) fn static_same_padding(image_size: usize, kernel: usize, stride: usize) -> Pad {
    let out = image_size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(image_size);
    [total / 2, total - total / 2, total / 2, total - total / 2]
}

/// A 2-d convolution, dense (`groups == 1`) or depthwise (`groups == channels`).
pub(crate) struct Conv2d {
    weight: Var,
    bias: Option<Var>,
    stride: usize,
    pad: Pad,
    depthwise: bool,
}

/// What a [`Conv2d`] looks like.
pub(crate) struct ConvSpec {
    pub(crate) cin: usize,
    pub(crate) cout: usize,
    pub(crate) kernel: usize,
    pub(crate) stride: usize,
    pub(crate) pad: Pad,
    pub(crate) depthwise: bool,
    pub(crate) bias: Bias,
}

/// Whether a convolution has a bias, and how a fresh one is initialised.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bias {
    None,
    /// PyTorch's default (uniform in ±1/sqrt(fan_in)): the encoder.
    TorchDefault,
    /// Zero: smp's decoder and head initialisers.
    Zero,
}

impl ConvSpec {
    /// A dense convolution with symmetric padding `pad`.
    pub(crate) fn dense(cin: usize, cout: usize, kernel: usize, pad: usize, bias: Bias) -> Self {
        Self {
            cin,
            cout,
            kernel,
            stride: 1,
            pad: [pad; 4],
            depthwise: false,
            bias,
        }
    }
}

impl Conv2d {
    /// Registers `weight` (and `bias`) under `b`; `init` gives the weight
    /// initialiser from fan-in and fan-out, biases follow PyTorch's default.
    pub(crate) fn new(
        b: &Builder,
        s: &ConvSpec,
        init: impl Fn(usize, usize) -> Init,
    ) -> Result<Self> {
        let cin_per_group = if s.depthwise { 1 } else { s.cin };
        let fan_in = cin_per_group * s.kernel * s.kernel;
        let fan_out = if s.depthwise {
            s.kernel * s.kernel
        } else {
            s.cout * s.kernel * s.kernel
        };
        let weight = b.param(
            "weight",
            &[s.cout, cin_per_group, s.kernel, s.kernel],
            init(fan_in, fan_out),
        )?;
        let bias = match s.bias {
            Bias::None => None,
            Bias::TorchDefault => {
                Some(b.param("bias", &[s.cout], crate::params::torch_default(fan_in))?)
            }
            Bias::Zero => Some(b.param("bias", &[s.cout], Init::Const(0.0))?),
        };
        Ok(Self {
            weight,
            bias,
            stride: s.stride,
            pad: s.pad,
            depthwise: s.depthwise,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let [t, bo, l, r] = self.pad;
        let weight = &ctx.param(&self.weight);
        let y = if self.depthwise && depthwise_kernel::supported(x) {
            depthwise_conv2d_kernel(x, weight, self.stride, self.pad)?
        } else if self.depthwise {
            depthwise_conv2d(x, weight, self.stride, self.pad)?
        } else if conv2d_kernel::supported(x) {
            conv2d_kernel(x, weight, self.stride, self.pad)?
        } else if t == bo && l == r && t == l {
            x.conv2d(weight, t, self.stride, 1, 1)?
        } else {
            x.pad_with_zeros(2, t, bo)?
                .pad_with_zeros(3, l, r)?
                .conv2d(weight, 0, self.stride, 1, 1)?
        };
        match &self.bias {
            Some(bias) => y.broadcast_add(&ctx.param(bias).reshape((1, (), 1, 1))?),
            None => Ok(y),
        }
    }
}

/// `nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1)`, as in
/// Linknet's `TransposeX2`: doubles height and width.
pub(crate) struct ConvTranspose2x {
    weight: Var,
    bias: Var,
}

impl ConvTranspose2x {
    pub(crate) fn new(b: &Builder, cin: usize, cout: usize) -> Result<Self> {
        // PyTorch computes the transposed conv's fan-in from weight.size(1).
        let bound = 1.0 / ((cout * 16) as f64).sqrt();
        let weight = b.param("weight", &[cin, cout, 4, 4], Init::Uniform(bound))?;
        let bias = b.param("bias", &[cout], Init::Uniform(bound))?;
        Ok(Self { weight, bias })
    }

    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let weight = &ctx.param(&self.weight);
        let y = if conv2d_kernel::supported(x) {
            conv_transpose2d_kernel(x, weight, 2, 1, 0)?
        } else {
            x.conv_transpose2d(weight, 1, 0, 2, 1)?
        };
        y.broadcast_add(&ctx.param(&self.bias).reshape((1, (), 1, 1))?)
    }
}

/// `nn.Linear`: `y = x Wᵀ + b` on `(batch, features)`.
pub(crate) struct Linear {
    weight: Var,
    bias: Var,
}

impl Linear {
    pub(crate) fn new(b: &Builder, cin: usize, cout: usize) -> Result<Self> {
        let weight = b.param("weight", &[cout, cin], crate::params::xavier(cin, cout))?;
        let bias = b.param("bias", &[cout], Init::Const(0.0))?;
        Ok(Self { weight, bias })
    }

    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        x.matmul(&ctx.param(&self.weight).t()?)?
            .broadcast_add(&ctx.param(&self.bias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_matches_lukemelas() {
        // efficientnet-b0 stem: 224, k3 s2 -> pad bottom/right only.
        assert_eq!(static_same_padding(224, 3, 2), [0, 1, 0, 1]);
        // b4 at 95 (odd), k5 s2 -> symmetric 2.
        assert_eq!(static_same_padding(95, 5, 2), [2, 2, 2, 2]);
        // k5 s2 on an even size -> (1, 2).
        assert_eq!(static_same_padding(24, 5, 2), [1, 2, 1, 2]);
        // stride 1: k - 1 split evenly; 1x1: none.
        assert_eq!(static_same_padding(56, 5, 1), [2, 2, 2, 2]);
        assert_eq!(static_same_padding(7, 1, 1), [0, 0, 0, 0]);
    }
}
