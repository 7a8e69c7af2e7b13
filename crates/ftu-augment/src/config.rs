//! Pipelines as data: a serde model of a TOML pipeline. Unknown keys and
//! unknown transform kinds are errors, so a typo never silently disables an
//! augmentation.
//!
//! ```toml
//! [[steps]]
//! p = 0.5
//! transform = { kind = "horizontal_flip" }
//!
//! [[steps]]
//! p = 0.3
//! [steps.transform]
//! kind = "one_of"
//! choices = [
//!     { kind = "elastic_transform", alpha = 6.0, sigma = 16.0 },
//!     { kind = "grid_distortion" },
//! ]
//! ```
//!
//! Every `kind` is a transform's snake-case name; its other keys are that
//! transform's public fields, each optional with the documented default
//! (crops need `height` and `width`).

use std::path::Path;

use serde::Deserialize;

use crate::colour::{
    Clahe, HueSaturationValue, RandomBrightnessContrast, RandomGamma, StainJitter,
};
use crate::error::{AugmentError, Result};
use crate::geometry::{
    CropNonEmptyMaskIfExists, ElasticTransform, GridDistortion, HorizontalFlip, OpticalDistortion,
    RandomResizedCrop, RandomRotate90, ShiftScaleRotate, Transpose, VerticalFlip,
};
use crate::pipeline::{OneOf, Pipeline};
use crate::pixel::{Blur, CoarseDropout, GaussNoise, GaussianBlur, MedianBlur, MotionBlur};
use crate::transform::Transform;

/// The recipe's default training pipeline as TOML (see [`Pipeline::recipe`]).
pub const RECIPE_TOML: &str = include_str!("../recipe.toml");

/// A whole pipeline: `[[steps]]` in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// The steps, applied in order.
    pub steps: Vec<StepConfig>,
}

fn one() -> f64 {
    1.0
}

/// One step: a transform and its probability (1 when omitted).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// Probability that the step runs.
    #[serde(default = "one")]
    pub p: f64,
    /// The transform, tagged by `kind`.
    pub transform: TransformConfig,
}

/// Any transform, tagged by `kind`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[allow(missing_docs)]
pub enum TransformConfig {
    HorizontalFlip(HorizontalFlip),
    VerticalFlip(VerticalFlip),
    Transpose(Transpose),
    RandomRotate90(RandomRotate90),
    ShiftScaleRotate(ShiftScaleRotate),
    ElasticTransform(ElasticTransform),
    GridDistortion(GridDistortion),
    OpticalDistortion(OpticalDistortion),
    RandomResizedCrop(RandomResizedCrop),
    CropNonEmptyMaskIfExists(CropNonEmptyMaskIfExists),
    HueSaturationValue(HueSaturationValue),
    RandomBrightnessContrast(RandomBrightnessContrast),
    RandomGamma(RandomGamma),
    Clahe(Clahe),
    StainJitter(StainJitter),
    GaussNoise(GaussNoise),
    Blur(Blur),
    GaussianBlur(GaussianBlur),
    MedianBlur(MedianBlur),
    MotionBlur(MotionBlur),
    CoarseDropout(CoarseDropout),
    /// Picks one of `choices`, with optional `weights` (equal by default).
    OneOf {
        choices: Vec<TransformConfig>,
        #[serde(default)]
        weights: Option<Vec<f64>>,
    },
}

impl TransformConfig {
    /// The transform this config describes (validated when added to a pipeline).
    pub fn build(self) -> Box<dyn Transform> {
        match self {
            TransformConfig::HorizontalFlip(t) => Box::new(t),
            TransformConfig::VerticalFlip(t) => Box::new(t),
            TransformConfig::Transpose(t) => Box::new(t),
            TransformConfig::RandomRotate90(t) => Box::new(t),
            TransformConfig::ShiftScaleRotate(t) => Box::new(t),
            TransformConfig::ElasticTransform(t) => Box::new(t),
            TransformConfig::GridDistortion(t) => Box::new(t),
            TransformConfig::OpticalDistortion(t) => Box::new(t),
            TransformConfig::RandomResizedCrop(t) => Box::new(t),
            TransformConfig::CropNonEmptyMaskIfExists(t) => Box::new(t),
            TransformConfig::HueSaturationValue(t) => Box::new(t),
            TransformConfig::RandomBrightnessContrast(t) => Box::new(t),
            TransformConfig::RandomGamma(t) => Box::new(t),
            TransformConfig::Clahe(t) => Box::new(t),
            TransformConfig::StainJitter(t) => Box::new(t),
            TransformConfig::GaussNoise(t) => Box::new(t),
            TransformConfig::Blur(t) => Box::new(t),
            TransformConfig::GaussianBlur(t) => Box::new(t),
            TransformConfig::MedianBlur(t) => Box::new(t),
            TransformConfig::MotionBlur(t) => Box::new(t),
            TransformConfig::CoarseDropout(t) => Box::new(t),
            TransformConfig::OneOf { choices, weights } => {
                let choices: Vec<_> = choices.into_iter().map(TransformConfig::build).collect();
                match weights {
                    Some(w) => Box::new(OneOf::with_weights(choices, w)),
                    None => Box::new(OneOf::new(choices)),
                }
            }
        }
    }
}

impl PipelineConfig {
    /// Parses TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| AugmentError::Config {
            origin: None,
            source: Box::new(e),
        })
    }

    /// Reads and parses a TOML file; errors name the file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| AugmentError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| AugmentError::Config {
            origin: Some(path.to_path_buf()),
            source: Box::new(e),
        })
    }

    /// Builds and validates the pipeline.
    pub fn build(self) -> Result<Pipeline> {
        let mut pipeline = Pipeline::new();
        for step in self.steps {
            pipeline.push(step.p, step.transform.build())?;
        }
        Ok(pipeline)
    }
}
