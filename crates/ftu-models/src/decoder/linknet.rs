//! smp's `LinknetDecoder`: five blocks of 1x1 conv (to a quarter of the
//! channels), 4x4 stride-2 transposed conv, 1x1 conv, each with BN + ReLU,
//! adding the encoder skip after each; ends at 32 channels, full resolution.

use candle_core::{Result, Tensor};

use super::Conv2dReLU;
use crate::layers::Ctx;
use crate::layers::conv::ConvTranspose2x;
use crate::layers::norm::BatchNorm2d;
use crate::ops::batch_norm::Act;
use crate::params::Builder;

/// Channels of the last decoder block (smp's `prefinal_channels`).
pub const PREFINAL_CHANNELS: usize = 32;

struct Block {
    reduce: Conv2dReLU,
    up: ConvTranspose2x,
    up_bn: BatchNorm2d,
    expand: Conv2dReLU,
}

/// The Linknet decoder under smp's `decoder.` names.
pub struct LinknetDecoder {
    blocks: Vec<Block>,
}

impl LinknetDecoder {
    pub(crate) fn new(b: &Builder, encoder_channels: &[usize; 6]) -> Result<Self> {
        let channels = [
            encoder_channels[5],
            encoder_channels[4],
            encoder_channels[3],
            encoder_channels[2],
            encoder_channels[1],
            PREFINAL_CHANNELS,
        ];
        let mut blocks = Vec::new();
        for i in 0..5 {
            let (cin, cout) = (channels[i], channels[i + 1]);
            let bb = b.pp("blocks").pp(i).pp("block");
            blocks.push(Block {
                reduce: Conv2dReLU::new(&bb.pp(0), cin, cin / 4, 1)?,
                up: ConvTranspose2x::new(&bb.pp(1).pp(0), cin / 4, cin / 4)?,
                up_bn: BatchNorm2d::torch(&bb.pp(1).pp(1), cin / 4)?,
                expand: Conv2dReLU::new(&bb.pp(2), cin / 4, cout, 1)?,
            });
        }
        Ok(Self { blocks })
    }

    pub(crate) fn forward(&self, features: &[Tensor], ctx: &Ctx) -> Result<Tensor> {
        let mut x = features[5].clone();
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.reduce.forward(&x, ctx)?;
            x = block
                .up_bn
                .forward_act(&block.up.forward(&x, ctx)?, ctx, Act::Relu)?;
            x = block.expand.forward(&x, ctx)?;
            if i < 4 {
                x = (x + &features[4 - i])?;
            }
        }
        Ok(x)
    }
}
