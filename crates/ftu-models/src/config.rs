//! [`ModelConfig`]: which architecture, encoder and options to build.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Decoder architecture, as smp names the model classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// `smp.Unet`: decoder channels 256, 128, 64, 32, 16; nearest upsampling.
    Unet,
    /// `smp.FPN`: pyramid 256, segmentation 128, add merge, x4 bilinear head.
    Fpn,
    /// `smp.Linknet`: 1x1 / transposed conv / 1x1 blocks with additive skips.
    Linknet,
}

impl Arch {
    /// Every architecture.
    pub const ALL: [Arch; 3] = [Arch::Unet, Arch::Fpn, Arch::Linknet];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Unet => "unet",
            Arch::Fpn => "fpn",
            Arch::Linknet => "linknet",
        }
    }
}

impl std::str::FromStr for Arch {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown arch {s:?} (expected unet, fpn or linknet)"
                ))
            })
    }
}

/// EfficientNet variant, as smp names the encoders (`efficientnet-b0` …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoder {
    #[serde(rename = "efficientnet-b0")]
    B0,
    #[serde(rename = "efficientnet-b1")]
    B1,
    #[serde(rename = "efficientnet-b2")]
    B2,
    #[serde(rename = "efficientnet-b3")]
    B3,
    #[serde(rename = "efficientnet-b4")]
    B4,
    #[serde(rename = "efficientnet-b5")]
    B5,
    #[serde(rename = "efficientnet-b6")]
    B6,
    #[serde(rename = "efficientnet-b7")]
    B7,
}

impl Encoder {
    /// Every variant, smallest first.
    pub const ALL: [Encoder; 8] = [
        Encoder::B0,
        Encoder::B1,
        Encoder::B2,
        Encoder::B3,
        Encoder::B4,
        Encoder::B5,
        Encoder::B6,
        Encoder::B7,
    ];

    /// 0 for B0 … 7 for B7.
    pub fn index(self) -> usize {
        Encoder::ALL.iter().position(|&e| e == self).unwrap_or(0)
    }

    /// smp's encoder name, e.g. `efficientnet-b4`.
    pub fn name(self) -> String {
        format!("efficientnet-b{}", self.index())
    }
}

impl std::str::FromStr for Encoder {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Encoder::ALL
            .into_iter()
            .find(|e| e.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                ModelError::Config(format!(
                    "unknown encoder {s:?} (expected efficientnet-b0 … b7)"
                ))
            })
    }
}

/// Attention in Unet decoder blocks (smp's `decoder_attention_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    /// Concurrent spatial and channel squeeze-and-excitation.
    Scse,
}

/// smp's `aux_params`: a classification head on the deepest encoder feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuxHead {
    /// Number of outputs (1: "this tile holds a glomerulus").
    pub classes: usize,
    /// Dropout before the linear layer (smp's default 0.2).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
}

fn default_classes() -> usize {
    1
}
fn default_dropout() -> f64 {
    0.2
}

/// Everything needed to build a model; serialised next to checkpoints.
///
/// ```
/// use ftu_models::{Arch, ModelConfig};
/// let cfg: ModelConfig = serde_json::from_str(r#"{"arch": "fpn", "encoder": "efficientnet-b4"}"#).unwrap();
/// assert_eq!(cfg.arch, Arch::Fpn);
/// assert_eq!(cfg.classes, 1);
/// assert!(serde_json::from_str::<ModelConfig>(r#"{"arch": "fpn", "encoder": "efficientnet-b4", "clases": 2}"#).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub arch: Arch,
    pub encoder: Encoder,
    /// Output channels of the segmentation head.
    #[serde(default = "default_classes")]
    pub classes: usize,
    /// Unet only: attention after each decoder block's concat and convs.
    #[serde(default)]
    pub decoder_attention: Option<Attention>,
    /// FPN only: channel dropout before the head (smp's `decoder_dropout`).
    #[serde(default = "default_dropout")]
    pub decoder_dropout: f64,
    /// Optional auxiliary classification head.
    #[serde(default)]
    pub aux: Option<AuxHead>,
    /// Encoder stochastic depth; block `i` of `n` drops with `rate * i / n`.
    #[serde(default = "default_dropout")]
    pub drop_connect_rate: f64,
    /// Pad inputs whose height or width is not a multiple of 32 (bottom and
    /// right, zeros) and crop the logits back, instead of failing.
    #[serde(default)]
    pub pad_input: bool,
}

impl ModelConfig {
    /// smp's defaults for `arch` on `encoder`, one class, no extras.
    pub fn new(arch: Arch, encoder: Encoder) -> Self {
        Self {
            arch,
            encoder,
            classes: 1,
            decoder_attention: None,
            decoder_dropout: 0.2,
            aux: None,
            drop_connect_rate: 0.2,
            pad_input: false,
        }
    }

    /// Checks option ranges and combinations.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Config(m));
        if self.classes == 0 {
            return bad("classes must be at least 1".into());
        }
        if self.decoder_attention.is_some() && self.arch != Arch::Unet {
            return bad(format!(
                "decoder_attention is a Unet option, not {}",
                self.arch.name()
            ));
        }
        for (name, p) in [
            ("decoder_dropout", self.decoder_dropout),
            ("drop_connect_rate", self.drop_connect_rate),
        ] {
            if !(0.0..1.0).contains(&p) {
                return bad(format!("{name} must be in [0, 1), got {p}"));
            }
        }
        if let Some(aux) = &self.aux
            && (aux.classes == 0 || !(0.0..1.0).contains(&aux.dropout))
        {
            return bad(format!(
                "aux head needs classes >= 1 and dropout in [0, 1), got {aux:?}"
            ));
        }
        Ok(())
    }
}
