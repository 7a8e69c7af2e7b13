//! Pipelines: transforms applied in order, each with a probability, and
//! [`OneOf`] for picking one of several.

use std::path::Path;

use ndarray::{Array2, Array3};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::colour::{HueSaturationValue, RandomBrightnessContrast};
use crate::config::PipelineConfig;
use crate::error::{AugmentError, Result};
use crate::geometry::{
    ElasticTransform, GridDistortion, HorizontalFlip, OpticalDistortion, RandomRotate90,
    ShiftScaleRotate, VerticalFlip,
};
use crate::pixel::{Blur, GaussNoise, MedianBlur};
use crate::transform::Transform;

/// One pipeline step: a transform applied with probability `p`.
#[derive(Debug)]
pub struct Step {
    p: f64,
    transform: Box<dyn Transform>,
}

impl Step {
    /// The probability that the step runs.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The step's transform.
    pub fn transform(&self) -> &dyn Transform {
        self.transform.as_ref()
    }
}

/// Transforms applied in order, each with its probability.
///
/// Every step draws one uniform number for its probability whether or not it
/// runs, then the transform draws its own parameters; so a given RNG state
/// always yields the same output.
#[derive(Debug, Default)]
pub struct Pipeline {
    steps: Vec<Step>,
}

impl Pipeline {
    /// An empty pipeline (the identity).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `transform` with probability `p`, checking both.
    pub fn then(mut self, p: f64, transform: impl Transform + 'static) -> Result<Self> {
        self.push(p, Box::new(transform))?;
        Ok(self)
    }

    /// Appends a boxed transform with probability `p`, checking both.
    pub fn push(&mut self, p: f64, transform: Box<dyn Transform>) -> Result<()> {
        if !(0.0..=1.0).contains(&p) {
            return Err(AugmentError::InvalidProbability {
                step: self.steps.len(),
                transform: transform.name(),
                p,
            });
        }
        transform.validate()?;
        self.steps.push(Step { p, transform });
        Ok(())
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The RNG for sample `sample` of a run seeded with `seed`: one ChaCha8
    /// stream per sample, so samples can be augmented in any order or in
    /// parallel and still give the same result.
    pub fn rng_for(seed: u64, sample: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(sample);
        rng
    }

    /// Runs the pipeline on one image/mask pair.
    pub fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        for step in &self.steps {
            let u: f64 = rng.random();
            if u < step.p {
                step.transform.apply(image, mask, rng)?;
            }
        }
        Ok(())
    }

    /// Runs the pipeline with [`Pipeline::rng_for`]`(seed, sample)`.
    pub fn apply_seeded(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        seed: u64,
        sample: u64,
    ) -> Result<()> {
        self.apply(image, mask, &mut Self::rng_for(seed, sample))
    }

    /// Parses a TOML pipeline (see [`PipelineConfig`] for the format).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        PipelineConfig::from_toml_str(text)?.build()
    }

    /// Reads and parses a TOML pipeline file; errors name the file.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        PipelineConfig::from_toml_file(path)?.build()
    }

    /// The default training pipeline, after the recipe's albumentations set:
    ///
    /// | p    | transform |
    /// |------|-----------|
    /// | 0.5  | horizontal flip |
    /// | 0.5  | vertical flip |
    /// | 0.5  | random rotate 90 (0/90/180/270 each 1/4) |
    /// | 0.75 | shift-scale-rotate: 6.25 % shift, ±20 % scale, ±15°, reflect |
    /// | 0.3  | one of: elastic (6 px RMS, σ 16 px), grid distortion (5 cells, ±0.3), optical distortion (k ±0.1) |
    /// | 0.5  | hue-saturation-value: hue ±20°, saturation ±15, value ±10 |
    /// | 0.5  | brightness-contrast: ±0.2, ±0.2 |
    /// | 0.25 | one of: box blur 3 or 5, median blur 3, Gaussian noise σ 3–12 |
    ///
    /// Flips and rotations at 0.5 make all eight D4 orientations equally
    /// likely, matching the D4 symmetry of histology. Warps are frequent but
    /// mild; the recipe's `OneOf` of distortions ran at 0.3. Colour jitter at
    /// the albumentations default p = 0.5 covers stain and scanner variation
    /// between slides; blur and noise are rarer because they destroy the
    /// fine texture the model needs. The same pipeline as TOML is
    /// `crates/ftu-augment/recipe.toml`.
    pub fn recipe() -> Self {
        let build = || -> Result<Self> {
            let distort = OneOf::new(vec![
                Box::new(ElasticTransform::default()),
                Box::new(GridDistortion::default()),
                Box::new(OpticalDistortion::default()),
            ]);
            let degrade = OneOf::new(vec![
                Box::new(Blur { blur_limit: [3, 5] }),
                Box::new(MedianBlur { blur_limit: [3, 3] }),
                Box::new(GaussNoise::default()),
            ]);
            Pipeline::new()
                .then(0.5, HorizontalFlip::default())?
                .then(0.5, VerticalFlip::default())?
                .then(0.5, RandomRotate90::default())?
                .then(0.75, ShiftScaleRotate::default())?
                .then(0.3, distort)?
                .then(0.5, HueSaturationValue::default())?
                .then(0.5, RandomBrightnessContrast::default())?
                .then(0.25, degrade)
        };
        build().expect("the recipe's parameters are valid")
    }
}

impl Transform for Pipeline {
    fn name(&self) -> &'static str {
        "pipeline"
    }

    fn validate(&self) -> Result<()> {
        self.steps.iter().try_for_each(|s| s.transform.validate())
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        Pipeline::apply(self, image, mask, rng)
    }
}

/// Applies exactly one of its transforms, picked with the given weights
/// (equal by default).
#[derive(Debug)]
pub struct OneOf {
    choices: Vec<Box<dyn Transform>>,
    weights: Vec<f64>,
}

impl OneOf {
    /// Equal weights.
    pub fn new(choices: Vec<Box<dyn Transform>>) -> Self {
        let weights = vec![1.0; choices.len()];
        Self { choices, weights }
    }

    /// Explicit weights, one per choice; checked by [`Transform::validate`].
    pub fn with_weights(choices: Vec<Box<dyn Transform>>, weights: Vec<f64>) -> Self {
        Self { choices, weights }
    }

    /// The choices, in order.
    pub fn choices(&self) -> &[Box<dyn Transform>] {
        &self.choices
    }
}

impl Transform for OneOf {
    fn name(&self) -> &'static str {
        "one_of"
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: String| AugmentError::InvalidParameter {
            transform: "one_of",
            field: "weights",
            reason,
        };
        if self.choices.is_empty() {
            return Err(AugmentError::InvalidParameter {
                transform: "one_of",
                field: "choices",
                reason: "is empty".into(),
            });
        }
        if self.weights.len() != self.choices.len() {
            return Err(bad(format!(
                "has {} entries for {} choices",
                self.weights.len(),
                self.choices.len()
            )));
        }
        if self.weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
            || self.weights.iter().sum::<f64>() <= 0.0
        {
            return Err(bad(format!(
                "is {:?}; weights must be finite, non-negative and not all zero",
                self.weights
            )));
        }
        self.choices.iter().try_for_each(|c| c.validate())
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let total: f64 = self.weights.iter().sum();
        let mut u = rng.random::<f64>() * total;
        // Float rounding can leave u just above the last bucket: fall back to
        // the last choice that has weight.
        let mut pick = self.weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
        for (i, w) in self.weights.iter().enumerate() {
            if u < *w {
                pick = i;
                break;
            }
            u -= w;
        }
        self.choices[pick].apply(image, mask, rng)
    }
}
