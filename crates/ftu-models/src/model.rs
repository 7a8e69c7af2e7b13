//! [`SegmentationModel`]: encoder + decoder + heads, built from a [`ModelConfig`].

use std::sync::atomic::{AtomicU64, Ordering};

use candle_core::{DType, Device, Tensor, Var};

use crate::config::{Arch, ModelConfig};
use crate::decoder::fpn::{FpnDecoder, SEGMENTATION_CHANNELS};
use crate::decoder::linknet::{LinknetDecoder, PREFINAL_CHANNELS};
use crate::decoder::unet::{DECODER_CHANNELS, UnetDecoder};
use crate::encoder::efficientnet::{EfficientNet, out_channels};
use crate::error::ModelError;
use crate::head::{ClassificationHead, SegmentationHead};
use crate::layers::Ctx;
use crate::params::{Builder, Entry, Slot};
use crate::rng::SplitMix64;

/// The encoder's output stride: inputs must be multiples of it.
pub const OUTPUT_STRIDE: usize = 32;

enum Decoder {
    Unet(UnetDecoder),
    Fpn(FpnDecoder),
    Linknet(LinknetDecoder),
}

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// Segmentation logits, `(N, classes, H, W)`.
    pub mask: Tensor,
    /// Classification logits `(N, aux classes)` when the config has an aux head.
    pub label: Option<Tensor>,
}

/// A segmentation network whose tensors carry smp's `state_dict()` names.
pub struct SegmentationModel {
    config: ModelConfig,
    encoder: EfficientNet,
    decoder: Decoder,
    segmentation_head: SegmentationHead,
    classification_head: Option<ClassificationHead>,
    entries: Vec<Entry>,
    device: Device,
    seed: u64,
    /// Counts forward passes so each draws fresh, reproducible masks.
    calls: AtomicU64,
}

fn build(config: &ModelConfig, b: &Builder) -> Result<Parts, ModelError> {
    config.validate()?;
    let channels = out_channels(config.encoder);
    let encoder = EfficientNet::new(&b.pp("encoder"), config.encoder, config.drop_connect_rate)?;
    let db = b.pp("decoder");
    let (decoder, head_in, kernel, upsampling) = match config.arch {
        Arch::Unet => (
            Decoder::Unet(UnetDecoder::new(&db, &channels, config.decoder_attention)?),
            DECODER_CHANNELS[4],
            3,
            1,
        ),
        Arch::Fpn => (
            Decoder::Fpn(FpnDecoder::new(&db, &channels, config.decoder_dropout)?),
            SEGMENTATION_CHANNELS,
            1,
            4,
        ),
        Arch::Linknet => (
            Decoder::Linknet(LinknetDecoder::new(&db, &channels)?),
            PREFINAL_CHANNELS,
            1,
            1,
        ),
    };
    let segmentation_head = SegmentationHead::new(
        &b.pp("segmentation_head"),
        head_in,
        config.classes,
        kernel,
        upsampling,
    )?;
    let classification_head = config
        .aux
        .as_ref()
        .map(|aux| {
            ClassificationHead::new(
                &b.pp("classification_head"),
                channels[5],
                aux.classes,
                aux.dropout,
            )
        })
        .transpose()?;
    Ok(Parts {
        encoder,
        decoder,
        segmentation_head,
        classification_head,
    })
}

struct Parts {
    encoder: EfficientNet,
    decoder: Decoder,
    segmentation_head: SegmentationHead,
    classification_head: Option<ClassificationHead>,
}

impl ModelConfig {
    /// smp's `state_dict()` keys and shapes for this config, in smp's order
    /// (no allocation: cheap even for B7).
    pub fn state_dict_shapes(&self) -> Result<Vec<(String, Vec<usize>)>, ModelError> {
        let b = Builder::shapes_only();
        build(self, &b)?;
        Ok(b.into_entries()
            .into_iter()
            .map(|e| (e.name, e.shape))
            .collect())
    }

    /// Trainable parameters, as `sum(p.numel() for p in model.parameters())` in smp.
    pub fn parameter_count(&self) -> Result<usize, ModelError> {
        let b = Builder::shapes_only();
        build(self, &b)?;
        Ok(b.into_entries()
            .iter()
            .filter(|e| matches!(e.slot, Slot::Param(_)))
            .map(|e| e.shape.iter().product::<usize>())
            .sum())
    }
}

impl SegmentationModel {
    /// Builds a freshly initialised `f32` model (smp's initialisers, drawn from `seed`).
    pub fn new(config: &ModelConfig, device: &Device, seed: u64) -> Result<Self, ModelError> {
        Self::with_dtype(config, device, DType::F32, seed)
    }

    /// As [`Self::new`] with parameters of `dtype` (inputs must match it);
    /// `F64` gives reference-grade gradients.
    pub fn with_dtype(
        config: &ModelConfig,
        device: &Device,
        dtype: DType,
        seed: u64,
    ) -> Result<Self, ModelError> {
        let b = Builder::new(device, dtype, seed);
        let parts = build(config, &b)?;
        Ok(Self {
            config: config.clone(),
            encoder: parts.encoder,
            decoder: parts.decoder,
            segmentation_head: parts.segmentation_head,
            classification_head: parts.classification_head,
            entries: b.into_entries(),
            device: device.clone(),
            seed,
            calls: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Every named tensor, in smp's `state_dict()` order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The trainable parameters (for an optimiser), in `state_dict()` order.
    pub fn trainable_vars(&self) -> Vec<Var> {
        self.entries
            .iter()
            .filter_map(|e| match &e.slot {
                Slot::Param(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }

    /// A named parameter or buffer (e.g. `segmentation_head.0.weight`).
    pub fn var(&self, name: &str) -> Option<&Var> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| match &e.slot {
                Slot::Param(v) | Slot::Buffer(v) => Some(v),
                Slot::Counter(_) => None,
            })
    }

    /// How many forward passes this model has run: with the seed it fixes
    /// the dropout and drop-connect masks of the next pass. A trainer saves
    /// it in its checkpoint so a resumed run draws the same masks.
    pub fn forward_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Restores the count [`forward_calls`](Self::forward_calls) returned.
    pub fn set_forward_calls(&self, calls: u64) {
        self.calls.store(calls, Ordering::Relaxed);
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&self) -> usize {
        self.trainable_vars().iter().map(|v| v.elem_count()).sum()
    }

    /// Eval-mode forward pass (running batch-norm statistics, no dropout).
    /// It records no autograd graph (the weights enter detached), so each
    /// activation is freed as soon as the next layer has read it; use
    /// [`Self::forward_t`] with `train == true` for gradients.
    pub fn forward(&self, x: &Tensor) -> Result<ModelOutput, ModelError> {
        self.forward_t(x, false)
    }

    /// Forward pass in training (`train == true`: batch statistics, running
    /// stats updated, dropout and drop-connect; differentiable in every
    /// weight) or evaluation mode (as [`Self::forward`]: no graph).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<ModelOutput, ModelError> {
        let dims = x.dims().to_vec();
        if dims.len() != 4 || dims[1] != 3 {
            return Err(ModelError::InputShape(dims));
        }
        let (h, w) = (dims[2], dims[3]);
        let (ph, pw) = (
            h.div_ceil(OUTPUT_STRIDE) * OUTPUT_STRIDE,
            w.div_ceil(OUTPUT_STRIDE) * OUTPUT_STRIDE,
        );
        let padded = (ph, pw) != (h, w);
        if padded && !self.config.pad_input {
            return Err(ModelError::InputSize {
                height: h,
                width: w,
                padded_height: ph,
                padded_width: pw,
            });
        }
        let x = if padded {
            x.pad_with_zeros(2, 0, ph - h)?
                .pad_with_zeros(3, 0, pw - w)?
        } else {
            x.clone()
        };
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let ctx = Ctx::new(
            train,
            SplitMix64::new(self.seed ^ call.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64(),
        );
        let features = self.encoder.forward(&x, &ctx)?;
        let decoded = match &self.decoder {
            Decoder::Unet(d) => d.forward(&features, &ctx)?,
            Decoder::Fpn(d) => d.forward(&features, &ctx)?,
            Decoder::Linknet(d) => d.forward(&features, &ctx)?,
        };
        let mut mask = self.segmentation_head.forward(&decoded, &ctx)?;
        if padded {
            mask = mask.narrow(2, 0, h)?.narrow(3, 0, w)?;
        }
        let label = self
            .classification_head
            .as_ref()
            .map(|head| head.forward(&features[5], &ctx))
            .transpose()?;
        Ok(ModelOutput { mask, label })
    }
}
