//! smp's `SegmentationHead` (conv, optional bilinear upsampling) and
//! `ClassificationHead` (average pool, dropout, linear).

use candle_core::{Result, Tensor};

use crate::layers::Ctx;
use crate::layers::conv::{Bias, Conv2d, ConvSpec, Linear};
use crate::layers::dropout::dropout;
use crate::layers::resample::bilinear_aligned;
use crate::params::{Builder, xavier};

/// Per-pixel logits: `segmentation_head.0` conv, then x`upsampling`.
pub struct SegmentationHead {
    conv: Conv2d,
    upsampling: usize,
}

impl SegmentationHead {
    pub(crate) fn new(
        b: &Builder,
        cin: usize,
        classes: usize,
        kernel: usize,
        upsampling: usize,
    ) -> Result<Self> {
        let spec = ConvSpec::dense(cin, classes, kernel, kernel / 2, Bias::Zero);
        Ok(Self {
            conv: Conv2d::new(&b.pp(0), &spec, xavier)?,
            upsampling,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let y = self.conv.forward(x, ctx)?;
        if self.upsampling > 1 {
            bilinear_aligned(&y, self.upsampling)
        } else {
            Ok(y)
        }
    }
}

/// Image-level logits from the deepest feature (`classification_head.3`).
pub struct ClassificationHead {
    linear: Linear,
    dropout: f64,
}

impl ClassificationHead {
    pub(crate) fn new(b: &Builder, cin: usize, classes: usize, dropout: f64) -> Result<Self> {
        Ok(Self {
            linear: Linear::new(&b.pp(3), cin, classes)?,
            dropout,
        })
    }

    pub(crate) fn forward(&self, deepest: &Tensor, ctx: &Ctx) -> Result<Tensor> {
        let pooled = deepest.mean((2, 3))?;
        self.linear
            .forward(&dropout(&pooled, self.dropout, false, ctx)?, ctx)
    }
}
