//! EfficientNet-B0 … B7 (Tan and Le 2019) exactly as segmentation_models_pytorch
//! builds `efficientnet-bN` encoders from lukemelas' EfficientNet-PyTorch:
//! compound scaling, MBConv blocks with squeeze-and-excitation and swish,
//! TensorFlow "same" padding computed statically for the ImageNet resolution,
//! batch norm with eps 1e-3 and momentum 0.01, drop-connect in training.

use candle_core::{Result, Tensor};

use crate::config::Encoder;
use crate::layers::Ctx;
use crate::layers::conv::{Bias, Conv2d, ConvSpec, static_same_padding};
use crate::layers::dropout::drop_connect;
use crate::layers::norm::BatchNorm2d;
use crate::ops::batch_norm::Act;
use crate::ops::se_gate::se_gate;
use crate::params::{Builder, torch_default};

const BN_EPS: f64 = 1e-3;
/// PyTorch momentum: lukemelas' `1 - batch_norm_momentum` with TF's 0.99.
const BN_MOMENTUM: f64 = 1.0 - 0.99;

/// One stage of the B0 template: repeats, kernel, stride, expansion, in, out.
const B0_STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];

/// Per variant: width and depth multipliers, ImageNet resolution (which
/// fixes the static padding), the block indices whose outputs are smp's
/// stages 2–5, and the channels of the six features.
struct Variant {
    width: f64,
    depth: f64,
    resolution: usize,
    out_indexes: [usize; 4],
    out_channels: [usize; 6],
}

fn variant(e: Encoder) -> Variant {
    let (width, depth, resolution, out_indexes, out_channels) = match e {
        Encoder::B0 => (1.0, 1.0, 224, [2, 4, 8, 15], [3, 32, 24, 40, 112, 320]),
        Encoder::B1 => (1.0, 1.1, 240, [4, 7, 15, 22], [3, 32, 24, 40, 112, 320]),
        Encoder::B2 => (1.1, 1.2, 260, [4, 7, 15, 22], [3, 32, 24, 48, 120, 352]),
        Encoder::B3 => (1.2, 1.4, 300, [4, 7, 17, 25], [3, 40, 32, 48, 136, 384]),
        Encoder::B4 => (1.4, 1.8, 380, [5, 9, 21, 31], [3, 48, 32, 56, 160, 448]),
        Encoder::B5 => (1.6, 2.2, 456, [7, 12, 26, 38], [3, 48, 40, 64, 176, 512]),
        Encoder::B6 => (1.8, 2.6, 528, [8, 14, 30, 44], [3, 56, 40, 72, 200, 576]),
        Encoder::B7 => (2.0, 3.1, 600, [10, 17, 37, 54], [3, 64, 48, 80, 224, 640]),
    };
    Variant {
        width,
        depth,
        resolution,
        out_indexes,
        out_channels,
    }
}

/// lukemelas' `round_filters`: scale, round to a multiple of 8, never more
/// than 10 % below the scaled value.
fn round_filters(filters: usize, width: f64) -> usize {
    let f = filters as f64 * width;
    let mut rounded = (((f + 4.0) as usize) / 8 * 8).max(8);
    if (rounded as f64) < 0.9 * f {
        rounded += 8;
    }
    rounded
}

/// lukemelas' `round_repeats`.
fn round_repeats(repeats: usize, depth: f64) -> usize {
    (depth * repeats as f64).ceil() as usize
}

/// The channels of the six features an encoder returns (input first).
pub fn out_channels(e: Encoder) -> [usize; 6] {
    variant(e).out_channels
}

/// Mobile inverted bottleneck with squeeze-and-excitation (`MBConvBlock`).
struct MbConv {
    expand: Option<(Conv2d, BatchNorm2d)>,
    depthwise: Conv2d,
    bn1: BatchNorm2d,
    se_reduce: Conv2d,
    se_expand: Conv2d,
    project: Conv2d,
    bn2: BatchNorm2d,
    residual: bool,
}

impl MbConv {
    fn new(
        b: &Builder,
        cin: usize,
        cout: usize,
        expand: usize,
        k: usize,
        stride: usize,
        image: usize,
    ) -> Result<Self> {
        let mid = cin * expand;
        let bn = |name: &str, c: usize| BatchNorm2d::new(&b.pp(name), c, BN_EPS, BN_MOMENTUM);
        let pointwise = |name: &str, i: usize, o: usize, bias: Bias| {
            Conv2d::new(
                &b.pp(name),
                &ConvSpec::dense(i, o, 1, 0, bias),
                |fan_in, _| torch_default(fan_in),
            )
        };
        let expand = if expand != 1 {
            Some((
                pointwise("_expand_conv", cin, mid, Bias::None)?,
                bn("_bn0", mid)?,
            ))
        } else {
            None
        };
        let depthwise = Conv2d::new(
            &b.pp("_depthwise_conv"),
            &ConvSpec {
                cin: mid,
                cout: mid,
                kernel: k,
                stride,
                pad: static_same_padding(image, k, stride),
                depthwise: true,
                bias: Bias::None,
            },
            |fan_in, _| torch_default(fan_in),
        )?;
        let bn1 = bn("_bn1", mid)?;
        let squeezed = ((cin as f64 * 0.25) as usize).max(1);
        let se_reduce = pointwise("_se_reduce", mid, squeezed, Bias::TorchDefault)?;
        let se_expand = pointwise("_se_expand", squeezed, mid, Bias::TorchDefault)?;
        let project = pointwise("_project_conv", mid, cout, Bias::None)?;
        let bn2 = bn("_bn2", cout)?;
        Ok(Self {
            expand,
            depthwise,
            bn1,
            se_reduce,
            se_expand,
            project,
            bn2,
            residual: stride == 1 && cin == cout,
        })
    }

    fn forward(&self, inputs: &Tensor, drop_rate: f64, ctx: &Ctx) -> Result<Tensor> {
        let mut x = inputs.clone();
        if let Some((conv, bn)) = &self.expand {
            x = bn.forward_act(&conv.forward(&x, ctx)?, ctx, Act::Silu)?;
        }
        x = self
            .bn1
            .forward_act(&self.depthwise.forward(&x, ctx)?, ctx, Act::Silu)?;
        let squeezed = x.mean_keepdim((2, 3))?;
        let squeezed = self
            .se_expand
            .forward(&self.se_reduce.forward(&squeezed, ctx)?.silu()?, ctx)?;
        x = se_gate(&x, &squeezed)?;
        x = self.bn2.forward(&self.project.forward(&x, ctx)?, ctx)?;
        if self.residual {
            x = (drop_connect(&x, drop_rate, ctx)? + inputs)?;
        }
        Ok(x)
    }
}

/// An EfficientNet encoder under smp's `encoder.` names.
pub struct EfficientNet {
    stem: Conv2d,
    bn0: BatchNorm2d,
    blocks: Vec<MbConv>,
    out_indexes: [usize; 4],
    drop_connect_rate: f64,
}

impl EfficientNet {
    pub(crate) fn new(b: &Builder, e: Encoder, drop_connect_rate: f64) -> Result<Self> {
        let v = variant(e);
        let mut image = v.resolution;
        let stem_out = round_filters(32, v.width);
        let stem = Conv2d::new(
            &b.pp("_conv_stem"),
            &ConvSpec {
                cin: 3,
                cout: stem_out,
                kernel: 3,
                stride: 2,
                pad: static_same_padding(image, 3, 2),
                depthwise: false,
                bias: Bias::None,
            },
            |fan_in, _| torch_default(fan_in),
        )?;
        let bn0 = BatchNorm2d::new(&b.pp("_bn0"), stem_out, BN_EPS, BN_MOMENTUM)?;
        image = image.div_ceil(2);
        let blocks_b = b.pp("_blocks");
        let mut blocks = Vec::new();
        let mut last = stem_out;
        for (repeats, k, stride, expand, cin, cout) in B0_STAGES {
            let (cin, cout) = (round_filters(cin, v.width), round_filters(cout, v.width));
            for r in 0..round_repeats(repeats, v.depth) {
                let (block_in, block_stride) = if r == 0 { (cin, stride) } else { (cout, 1) };
                let bb = blocks_b.pp(blocks.len());
                blocks.push(MbConv::new(
                    &bb,
                    block_in,
                    cout,
                    expand,
                    k,
                    block_stride,
                    image,
                )?);
                if r == 0 {
                    image = image.div_ceil(stride);
                }
            }
            last = cout;
        }
        // The classifier's 1x1 head conv and its batch norm stay in smp's
        // state_dict (and parameter count) although the encoder never uses them.
        let head = round_filters(1280, v.width);
        Conv2d::new(
            &b.pp("_conv_head"),
            &ConvSpec::dense(last, head, 1, 0, Bias::None),
            |fan_in, _| torch_default(fan_in),
        )?;
        BatchNorm2d::new(&b.pp("_bn1"), head, BN_EPS, BN_MOMENTUM)?;
        Ok(Self {
            stem,
            bn0,
            blocks,
            out_indexes: v.out_indexes,
            drop_connect_rate,
        })
    }

    /// The six features: the input, then strides 2, 4, 8, 16 and 32.
    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Vec<Tensor>> {
        let mut features = vec![x.clone()];
        let mut x = self
            .bn0
            .forward_act(&self.stem.forward(x, ctx)?, ctx, Act::Silu)?;
        features.push(x.clone());
        let n = self.blocks.len() as f64;
        let last = self.out_indexes[3];
        for (i, block) in self.blocks.iter().enumerate().take(last + 1) {
            x = block.forward(&x, self.drop_connect_rate * i as f64 / n, ctx)?;
            if self.out_indexes.contains(&i) {
                features.push(x.clone());
            }
        }
        Ok(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_scaling_matches_smp_channels() {
        for e in Encoder::ALL {
            let v = variant(e);
            assert_eq!(round_filters(32, v.width), v.out_channels[1], "{e:?} stem");
            // The last stage's output channels are the deepest feature's.
            assert_eq!(round_filters(320, v.width), v.out_channels[5], "{e:?} head");
            let blocks: usize = B0_STAGES.iter().map(|s| round_repeats(s.0, v.depth)).sum();
            assert_eq!(blocks - 1, v.out_indexes[3], "{e:?} block count");
        }
        assert_eq!(round_filters(1280, 1.4), 1792);
    }
}
