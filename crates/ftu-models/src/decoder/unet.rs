//! smp's `UnetDecoder`: five blocks (256, 128, 64, 32, 16 channels), each
//! nearest-upsampling to the next feature's size, concatenating the skip,
//! then two 3x3 conv + BN + ReLU, with optional scSE attention.

use candle_core::{Result, Tensor};

use super::Conv2dReLU;
use crate::config::Attention;
use crate::layers::Ctx;
use crate::layers::conv::{Bias, Conv2d, ConvSpec};
use crate::layers::resample::nearest;
use crate::params::{Builder, kaiming_relu};

/// smp's decoder widths for Unet.
pub const DECODER_CHANNELS: [usize; 5] = [256, 128, 64, 32, 16];

/// Concurrent spatial and channel squeeze-and-excitation (`SCSEModule`,
/// reduction 16): `x * cSE(x) + x * sSE(x)`.
struct Scse {
    c_reduce: Conv2d,
    c_expand: Conv2d,
    spatial: Conv2d,
}

impl Scse {
    fn new(b: &Builder, c: usize) -> Result<Self> {
        let conv = |b: Builder, i: usize, o: usize| {
            Conv2d::new(&b, &ConvSpec::dense(i, o, 1, 0, Bias::Zero), |fan_in, _| {
                kaiming_relu(fan_in)
            })
        };
        let b = b.pp("attention");
        Ok(Self {
            c_reduce: conv(b.pp("cSE").pp(1), c, c / 16)?,
            c_expand: conv(b.pp("cSE").pp(3), c / 16, c)?,
            spatial: conv(b.pp("sSE").pp(0), c, 1)?,
        })
    }

    fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let pooled = x.mean_keepdim((2, 3))?;
        let reduced = self.c_reduce.forward(&pooled, ctx)?.relu()?;
        let channel = candle_nn::ops::sigmoid(&self.c_expand.forward(&reduced, ctx)?)?;
        let spatial = candle_nn::ops::sigmoid(&self.spatial.forward(x, ctx)?)?;
        x.broadcast_mul(&channel)? + x.broadcast_mul(&spatial)?
    }
}

struct Block {
    conv1: Conv2dReLU,
    conv2: Conv2dReLU,
    attention1: Option<Scse>,
    attention2: Option<Scse>,
}

/// The Unet decoder under smp's `decoder.` names.
pub struct UnetDecoder {
    blocks: Vec<Block>,
}

impl UnetDecoder {
    pub(crate) fn new(
        b: &Builder,
        encoder_channels: &[usize; 6],
        attention: Option<Attention>,
    ) -> Result<Self> {
        let head = encoder_channels[5];
        let mut blocks = Vec::new();
        for (i, &out) in DECODER_CHANNELS.iter().enumerate() {
            let cin = if i == 0 {
                head
            } else {
                DECODER_CHANNELS[i - 1]
            };
            // Skips: strides 16, 8, 4, 2, then none.
            let skip = if i < 4 { encoder_channels[4 - i] } else { 0 };
            let bb = b.pp("blocks").pp(i);
            let conv1 = Conv2dReLU::new(&bb.pp("conv1"), cin + skip, out, 3)?;
            // smp registers attention1 before conv2 even for the skip-less block.
            let attention1 = attention
                .map(|_| Scse::new(&bb.pp("attention1"), cin + skip))
                .transpose()?;
            let conv2 = Conv2dReLU::new(&bb.pp("conv2"), out, out, 3)?;
            let attention2 = attention
                .map(|_| Scse::new(&bb.pp("attention2"), out))
                .transpose()?;
            blocks.push(Block {
                conv1,
                conv2,
                attention1,
                attention2,
            });
        }
        Ok(Self { blocks })
    }

    pub(crate) fn forward(&self, features: &[Tensor], ctx: &Ctx) -> Result<Tensor> {
        let mut x = features[5].clone();
        for (i, block) in self.blocks.iter().enumerate() {
            let target = &features[4 - i];
            let (_, _, h, w) = target.dims4()?;
            x = nearest(&x, h, w)?;
            if i < 4 {
                x = Tensor::cat(&[&x, target], 1)?;
                if let Some(att) = &block.attention1 {
                    x = att.forward(&x, ctx)?;
                }
            }
            x = block.conv2.forward(&block.conv1.forward(&x, ctx)?, ctx)?;
            if let Some(att) = &block.attention2 {
                x = att.forward(&x, ctx)?;
            }
        }
        Ok(x)
    }
}
