//! [`TrainConfig`]: the `[train]` table of an experiment TOML. Other tables
//! of the same file (`[preprocess]`, `[infer]`, ...) are ignored here;
//! unknown keys inside `[train]` are errors.

use std::path::{Path, PathBuf};

use ftu_augment::Pipeline;
use ftu_models::ModelConfig;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::schedule::Schedule;

/// Everything a fold's training needs besides the data and output paths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The network (`[train.model]`), an [`ftu_models::ModelConfig`].
    pub model: ModelConfig,
    /// Tile dataset `cargo xtask train` reads (default: the `out_dir` of the
    /// same file's `[preprocess]` table). Library calls pass paths explicitly.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Where `cargo xtask train` writes `fold<k>/` and `cv.json` (default
    /// `runs/train`). Library calls pass paths explicitly.
    #[serde(default)]
    pub out_dir: Option<PathBuf>,
    /// Optional ImageNet encoder weights (smp or lukemelas names) loaded
    /// before training; the decoder keeps its seeded init.
    #[serde(default)]
    pub encoder_weights: Option<PathBuf>,
    /// Optional whole-model weights (an earlier run's `best.safetensors`,
    /// smp names) loaded before training instead of the seeded init; stage 2
    /// uses it to start from stage 1's fold.
    #[serde(default)]
    pub init_weights: Option<PathBuf>,
    /// Seed of the model init, batch order and augmentations.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Maximum number of epochs.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Tiles per training batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Training batches per epoch; default: training tiles / batch size.
    #[serde(default)]
    pub steps_per_epoch: Option<usize>,
    /// Which training tiles make up the batches.
    #[serde(default)]
    pub sampling: Sampling,
    /// Augmentation of training tiles.
    #[serde(default)]
    pub augment: Augment,
    /// The training objective.
    #[serde(default)]
    pub loss: LossConfig,
    /// AdamW and gradient clipping.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Learning rate over time.
    #[serde(default)]
    pub schedule: Schedule,
    /// Validation on the held-out fold after every epoch.
    #[serde(default)]
    pub validation: ValidationConfig,
    /// Stop after this many epochs without a better validation Dice.
    #[serde(default)]
    pub early_stopping_patience: Option<usize>,
    /// Also save `last.safetensors` every this many steps (0: at epoch ends only).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Manifest `source`s whose tiles always train and never validate
    /// (pseudo-labelled tiles in stage 2).
    #[serde(default = "default_train_only")]
    pub train_only_sources: Vec<String>,
    /// Loader threads decoding and augmenting tiles (0: one per core).
    #[serde(default)]
    pub loader_threads: usize,
    /// Batches the loader prepares ahead of the model.
    #[serde(default = "default_prefetch")]
    pub prefetch: usize,
}

fn default_seed() -> u64 {
    42
}
fn default_epochs() -> usize {
    20
}
fn default_batch() -> usize {
    8
}
fn default_checkpoint_every() -> usize {
    50
}
fn default_train_only() -> Vec<String> {
    vec!["pseudo".into()]
}
fn default_prefetch() -> usize {
    2
}

impl TrainConfig {
    /// Defaults around `model`.
    pub fn new(model: ModelConfig) -> Self {
        Self {
            model,
            data_dir: None,
            out_dir: None,
            encoder_weights: None,
            init_weights: None,
            seed: default_seed(),
            epochs: default_epochs(),
            batch_size: default_batch(),
            steps_per_epoch: None,
            sampling: Sampling::default(),
            augment: Augment::default(),
            loss: LossConfig::default(),
            optimizer: OptimizerConfig::default(),
            schedule: Schedule::default(),
            validation: ValidationConfig::default(),
            early_stopping_patience: None,
            checkpoint_every: default_checkpoint_every(),
            train_only_sources: default_train_only(),
            loader_threads: 0,
            prefetch: default_prefetch(),
        }
    }

    /// Parses the `[train]` table of an experiment TOML; `origin` names the
    /// file in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, TrainError> {
        #[derive(Deserialize)]
        struct Doc {
            train: Option<toml::Value>,
        }
        let bad = |message: String| TrainError::Config {
            path: origin.to_owned(),
            message,
        };
        let doc: Doc = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let table = doc.train.ok_or_else(|| bad("no [train] table".into()))?;
        let cfg: TrainConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| bad(format!("[train]: {e}")))?;
        cfg.validate().map_err(|e| bad(e.to_string()))?;
        Ok(cfg)
    }

    /// Reads [`TrainConfig::from_toml`] from a file.
    pub fn from_toml_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Self::from_toml(&text, path)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        self.model
            .validate()
            .map_err(|e| TrainError::Invalid(e.to_string()))?;
        if self.epochs == 0 || self.batch_size == 0 || self.prefetch == 0 {
            return bad("epochs, batch_size and prefetch must be at least 1".into());
        }
        if self.steps_per_epoch == Some(0) {
            return bad("steps_per_epoch must be at least 1".into());
        }
        if let Sampling::Balanced { positive_fraction } = self.sampling
            && !(0.0..=1.0).contains(&positive_fraction)
        {
            return bad(format!(
                "sampling.positive_fraction must be in [0, 1], got {positive_fraction}"
            ));
        }
        let v = &self.validation;
        if v.batch_size == 0 || v.thresholds.is_empty() {
            return bad("validation needs batch_size >= 1 and at least one threshold".into());
        }
        if let Some(t) = std::iter::once(v.threshold)
            .chain(v.thresholds.iter().copied())
            .find(|t| !(0.0..=1.0).contains(t))
        {
            return bad(format!("validation threshold {t} is outside [0, 1]"));
        }
        self.optimizer.validate()?;
        self.schedule.validate()?;
        self.loss.validate()
    }

    /// The augmentation pipeline [`TrainConfig::augment`] names.
    pub fn pipeline(&self) -> Result<Option<Pipeline>, TrainError> {
        match &self.augment {
            Augment::None => Ok(None),
            Augment::Recipe => Ok(Some(Pipeline::recipe())),
            Augment::File(file) => Pipeline::from_toml_file(file)
                .map(Some)
                .map_err(|e| TrainError::Invalid(format!("augment file: {e}"))),
        }
    }
}

/// How training batches are drawn from the training tiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Sampling {
    /// Every training tile once per epoch (when steps allow), shuffled.
    #[default]
    All,
    /// Each batch holds `round(positive_fraction * batch_size)` tiles with
    /// glomeruli and the rest without, each group shuffled and cycled.
    Balanced {
        /// Share of tiles with glomeruli per batch.
        positive_fraction: f64,
    },
}

/// Which augmentation pipeline trains.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Augment {
    /// No augmentation.
    None,
    /// [`ftu_augment::Pipeline::recipe`], the recipe's set.
    #[default]
    Recipe,
    /// An ftu-augment pipeline TOML file (`augment = { file = "aug.toml" }`).
    File(PathBuf),
}

/// Which loss, and its weights.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossConfig {
    /// The objective.
    #[serde(default)]
    pub kind: LossKind,
    /// Weight of BCE in `bce_dice`.
    #[serde(default = "one")]
    pub bce_weight: f64,
    /// Weight of Dice in `bce_dice`.
    #[serde(default = "one")]
    pub dice_weight: f64,
    /// Soft Dice smoothing (added to numerator and denominator).
    #[serde(default = "one")]
    pub smooth: f64,
    /// Focal loss focusing exponent γ.
    #[serde(default = "two")]
    pub focal_gamma: f64,
    /// Focal loss weight α of the positive class (negatives get `1 - α`).
    #[serde(default = "quarter")]
    pub focal_alpha: f64,
}

fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn quarter() -> f64 {
    0.25
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            kind: LossKind::default(),
            bce_weight: 1.0,
            dice_weight: 1.0,
            smooth: 1.0,
            focal_gamma: 2.0,
            focal_alpha: 0.25,
        }
    }
}

impl LossConfig {
    fn validate(&self) -> Result<(), TrainError> {
        if self.smooth < 0.0 || self.focal_gamma < 0.0 || !(0.0..=1.0).contains(&self.focal_alpha) {
            return Err(TrainError::Invalid(format!(
                "loss: smooth {} and focal_gamma {} must be >= 0, focal_alpha {} in [0, 1]",
                self.smooth, self.focal_gamma, self.focal_alpha
            )));
        }
        Ok(())
    }
}

/// The training objective on logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Binary cross-entropy with logits.
    Bce,
    /// `1 -` soft Dice.
    Dice,
    /// `bce_weight * BCE + dice_weight * (1 - soft Dice)`, the recipe's.
    #[default]
    BceDice,
    /// Lovász hinge over the whole batch (Berman et al. 2018).
    Lovasz,
    /// Focal loss (Lin et al. 2017) with `focal_gamma`, `focal_alpha`.
    Focal,
}

/// AdamW with PyTorch's semantics, and gradient clipping.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerConfig {
    /// Adam β₁.
    #[serde(default = "beta1")]
    pub beta1: f64,
    /// Adam β₂.
    #[serde(default = "beta2")]
    pub beta2: f64,
    /// Added to `sqrt(v̂)`.
    #[serde(default = "eps")]
    pub eps: f64,
    /// Decoupled weight decay (PyTorch's AdamW default 0.01).
    #[serde(default = "weight_decay")]
    pub weight_decay: f64,
    /// Clip the global gradient norm to this (none when absent).
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
}

fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn eps() -> f64 {
    1e-8
}
fn weight_decay() -> f64 {
    0.01
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self {
            beta1: beta1(),
            beta2: beta2(),
            eps: eps(),
            weight_decay: weight_decay(),
            clip_grad_norm: None,
        }
    }
}

impl OptimizerConfig {
    fn validate(&self) -> Result<(), TrainError> {
        let ok = (0.0..1.0).contains(&self.beta1)
            && (0.0..1.0).contains(&self.beta2)
            && self.eps > 0.0
            && self.weight_decay >= 0.0
            && self.clip_grad_norm.is_none_or(|c| c > 0.0);
        if ok {
            Ok(())
        } else {
            Err(TrainError::Invalid(format!(
                "optimizer: need betas in [0, 1), eps > 0, weight_decay >= 0, clip_grad_norm > 0; got {self:?}"
            )))
        }
    }
}

/// Validation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationConfig {
    /// The threshold the reported Dice uses (the recipe's 0.4).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// The grid searched for the best threshold.
    #[serde(default = "default_grid")]
    pub thresholds: Vec<f64>,
    /// Tiles per validation batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Which Dice picks `best.safetensors` and drives early stopping.
    #[serde(default)]
    pub select_on: SelectOn,
    /// Before validating, set batch-norm running statistics to the mean
    /// batch statistics of this many un-augmented training batches (the
    /// epoch's first; see [`crate::precise_bn`]). 0 keeps the running
    /// statistics as training left them.
    #[serde(default = "default_precise_bn")]
    pub precise_bn_batches: usize,
}

fn default_precise_bn() -> usize {
    8
}

fn default_threshold() -> f64 {
    0.4
}
fn default_grid() -> Vec<f64> {
    (1..20).map(|i| i as f64 * 0.05).collect()
}

impl Default for ValidationConfig {
    fn default() -> Self {
        Self {
            threshold: default_threshold(),
            thresholds: default_grid(),
            batch_size: default_batch(),
            select_on: SelectOn::default(),
            precise_bn_batches: default_precise_bn(),
        }
    }
}

/// The validation score a fold is judged by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectOn {
    /// Dice at [`ValidationConfig::threshold`].
    #[default]
    Threshold,
    /// Dice at the best threshold of the grid.
    BestThreshold,
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"
[preprocess]
out_dir = "x"
[train]
epochs = 3
sampling = { mode = "balanced", positive_fraction = 0.5 }
augment = { file = "aug.toml" }
schedule = { kind = "custom", lr_start = 1e-5, lr_max = 1e-3, lr_min = 1e-6, ramp_up = 2, sustain = 1, decay = 0.8 }
[train.model]
arch = "linknet"
encoder = "efficientnet-b0"
[infer]
anything = 1
"#;

    #[test]
    fn reads_the_train_table_and_ignores_others() {
        let cfg = TrainConfig::from_toml(DOC, Path::new("exp.toml")).unwrap();
        assert_eq!(cfg.epochs, 3);
        assert_eq!(
            cfg.sampling,
            Sampling::Balanced {
                positive_fraction: 0.5
            }
        );
        assert_eq!(cfg.augment, Augment::File("aug.toml".into()));
        assert_eq!(cfg.train_only_sources, vec!["pseudo".to_string()]);
        // Round trip through TOML.
        let text = toml::to_string(&cfg).unwrap();
        let again: TrainConfig = toml::from_str(&text).unwrap();
        assert_eq!(again, cfg);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_the_file() {
        let typo = DOC.replace("epochs = 3", "epochz = 3");
        let err = TrainConfig::from_toml(&typo, Path::new("exp.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exp.toml") && err.contains("epochz"), "{err}");
        let zero = DOC.replace("epochs = 3", "epochs = 0");
        assert!(TrainConfig::from_toml(&zero, Path::new("e.toml")).is_err());
        let missing = "[preprocess]\nout_dir = \"x\"\n";
        let err = TrainConfig::from_toml(missing, Path::new("e.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no [train] table"), "{err}");
    }
}
