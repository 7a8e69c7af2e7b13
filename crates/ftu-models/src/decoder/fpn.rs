//! smp's `FPNDecoder`: a top-down pyramid (256 channels) over strides
//! 32…4, each level turned into 128 segmentation channels by 3x3 conv +
//! GroupNorm(32) + ReLU blocks upsampled bilinearly to stride 4, summed,
//! then channel dropout.

use candle_core::{Result, Tensor};

use crate::layers::Ctx;
use crate::layers::conv::{Bias, Conv2d, ConvSpec};
use crate::layers::dropout::dropout;
use crate::layers::norm::GroupNorm;
use crate::layers::resample::{bilinear_aligned, nearest};
use crate::params::{Builder, kaiming_relu};

pub const PYRAMID_CHANNELS: usize = 256;
pub const SEGMENTATION_CHANNELS: usize = 128;

/// `Conv3x3GNReLU`: names `block.0` (conv) and `block.1` (group norm).
struct Conv3x3GnRelu {
    conv: Conv2d,
    norm: GroupNorm,
    upsample: bool,
}

impl Conv3x3GnRelu {
    fn new(b: &Builder, cin: usize, cout: usize, upsample: bool) -> Result<Self> {
        let b = b.pp("block");
        let spec = ConvSpec::dense(cin, cout, 3, 1, Bias::None);
        Ok(Self {
            conv: Conv2d::new(&b.pp(0), &spec, |fan_in, _| kaiming_relu(fan_in))?,
            norm: GroupNorm::new(&b.pp(1), 32, cout)?,
            upsample,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let y = self.norm.forward_act(
            &self.conv.forward(x, ctx)?,
            ctx,
            crate::ops::batch_norm::Act::Relu,
        )?;
        if self.upsample {
            bilinear_aligned(&y, 2)
        } else {
            Ok(y)
        }
    }
}

/// The FPN decoder under smp's `decoder.` names.
pub struct FpnDecoder {
    p5: Conv2d,
    /// Lateral 1x1 convs of p4, p3, p2 (`decoder.pN.skip_conv`).
    skips: Vec<Conv2d>,
    seg_blocks: Vec<Vec<Conv3x3GnRelu>>,
    dropout: f64,
}

impl FpnDecoder {
    pub(crate) fn new(b: &Builder, encoder_channels: &[usize; 6], dropout: f64) -> Result<Self> {
        let lateral = |b: Builder, cin: usize| {
            Conv2d::new(
                &b,
                &ConvSpec::dense(cin, PYRAMID_CHANNELS, 1, 0, Bias::Zero),
                |fan_in, _| kaiming_relu(fan_in),
            )
        };
        let p5 = lateral(b.pp("p5"), encoder_channels[5])?;
        let skips = (0..3)
            .map(|i| {
                lateral(
                    b.pp(format!("p{}", 4 - i)).pp("skip_conv"),
                    encoder_channels[4 - i],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let mut seg_blocks = Vec::new();
        for (i, n_up) in [3usize, 2, 1, 0].into_iter().enumerate() {
            let sb = b.pp("seg_blocks").pp(i).pp("block");
            let mut level = vec![Conv3x3GnRelu::new(
                &sb.pp(0),
                PYRAMID_CHANNELS,
                SEGMENTATION_CHANNELS,
                n_up > 0,
            )?];
            for j in 1..n_up {
                level.push(Conv3x3GnRelu::new(
                    &sb.pp(j),
                    SEGMENTATION_CHANNELS,
                    SEGMENTATION_CHANNELS,
                    true,
                )?);
            }
            seg_blocks.push(level);
        }
        Ok(Self {
            p5,
            skips,
            seg_blocks,
            dropout,
        })
    }

    pub(crate) fn forward(&self, features: &[Tensor], ctx: &Ctx) -> Result<Tensor> {
        let mut pyramid = vec![self.p5.forward(&features[5], ctx)?];
        for (i, skip) in self.skips.iter().enumerate() {
            let top = pyramid.last().expect("p5 is pushed first");
            let (_, _, h, w) = top.dims4()?;
            let p = (nearest(top, 2 * h, 2 * w)? + skip.forward(&features[4 - i], ctx)?)?;
            pyramid.push(p);
        }
        let mut merged: Option<Tensor> = None;
        for (level, p) in self.seg_blocks.iter().zip(&pyramid) {
            let mut s = p.clone();
            for block in level {
                s = block.forward(&s, ctx)?;
            }
            merged = Some(match merged {
                None => s,
                Some(m) => (m + s)?,
            });
        }
        let merged = merged.expect("four pyramid levels");
        dropout(&merged, self.dropout, true, ctx)
    }
}
