//! The experiment file: one TOML per experiment, read by `stage1`, `stage2`
//! and `demo`. Every field is documented in `docs/config.md`; unknown fields
//! are an error. The `[models.train]` and `[infer]` tables are the libraries'
//! own configs (`ftu_train::TrainConfig`, `ftu_ensemble::InferConfig`) and are
//! checked by them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ftu_tiling::preprocess::{CompetitionLabels, FoldConfig, TissueFrom};
use ftu_tiling::{PreprocessConfig, SourceConfig, TissueParams};
use serde::{Deserialize, Serialize};

/// A whole experiment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    pub experiment: ExperimentSection,
    pub data: DataSection,
    #[serde(default)]
    pub tiling: TilingSection,
    /// One entry per architecture; each is trained on k folds.
    pub models: Vec<ModelSection>,
    #[serde(default)]
    pub selection: SelectionSection,
    /// `ftu_ensemble::InferConfig` without `members` (filled in from the
    /// selected folds) and without slide paths (from `[data]`).
    #[serde(default)]
    pub infer: toml::Table,
    #[serde(default)]
    pub stage2: Stage2Section,
}

/// Where results go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// Folder for every output (`stage1/`, `stage2/`, `state.json`).
    pub out_dir: PathBuf,
}

/// Inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Labelled slides in the competition layout (`train/<id>.tiff` with
    /// `train.csv` or `train/<id>.json`).
    #[serde(default)]
    pub competition: Vec<CompetitionData>,
    /// External tile sets: `images/*.png` with `masks/*.png` of the same name.
    #[serde(default)]
    pub external_tiles: Vec<PathBuf>,
    /// Slides the submission is made for (`<dir>/*.tiff`).
    pub test_slides: PathBuf,
    /// Their truth (`id,encoding` or `id,predicted`), when known: the
    /// submission is then scored and the ablation table computed.
    #[serde(default)]
    pub test_truth: Option<PathBuf>,
    /// Unlabelled slide folders (`<dir>/*.tiff`) for stage 2's pseudo labels.
    #[serde(default)]
    pub extra_slides: Vec<PathBuf>,
    /// Labelled slides never trained on, for fold selection (the role the
    /// public leaderboard played in the recipe).
    #[serde(default)]
    pub holdout: Option<Holdout>,
}

/// One labelled competition-layout folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompetitionData {
    pub dir: PathBuf,
    /// `csv` (train.csv) or `json` (polygons).
    #[serde(default)]
    pub labels: CompetitionLabels,
}

/// Slides with known truth used only to rank folds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holdout {
    /// `<dir>/*.tiff`.
    pub slides: PathBuf,
    /// `id,encoding` CSV.
    pub truth: PathBuf,
}

/// Tiling settings shared by every model (each model sets its own tile size).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TilingSection {
    pub thumbnail_factor: u32,
    pub tissue_from: TissueFrom,
    pub tissue: TissueParams,
    pub folds: FoldConfig,
}

impl Default for TilingSection {
    fn default() -> Self {
        TilingSection {
            thumbnail_factor: 32,
            tissue_from: TissueFrom::default(),
            tissue: TissueParams::default(),
            folds: FoldConfig::default(),
        }
    }
}

/// One architecture of the ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Short name, used for folders (`stage1/models/<name>/fold<k>`).
    pub name: String,
    /// Tile side at full resolution (e.g. 1024 or 2560).
    pub tile: usize,
    /// Side the tile is resized to for the network (e.g. 256 or 1280); a
    /// multiple of 32.
    pub size: usize,
    /// Overlap of training tiles at full resolution.
    #[serde(default)]
    pub overlap: usize,
    /// Overlap of inference windows at full resolution (e.g. 512).
    #[serde(default)]
    pub infer_overlap: usize,
    /// `ftu_train::TrainConfig`, including `[models.train.model]`.
    pub train: toml::Table,
}

/// Which folds make the ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SelectionSection {
    /// Folds kept per model (the best by the ranking below); 0 keeps all.
    pub keep: usize,
    /// `cv` ranks folds by their validation Dice; `cv_holdout` by the mean of
    /// validation Dice and Dice on `[data.holdout]`.
    pub by: SelectBy,
    /// Folds to train (default: all `tiling.folds.k`).
    pub train_folds: Option<Vec<usize>>,
}

impl Default for SelectionSection {
    fn default() -> Self {
        SelectionSection {
            keep: 0,
            by: SelectBy::Cv,
            train_folds: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectBy {
    Cv,
    CvHoldout,
}

/// Stage 2: pseudo-labelling.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stage2Section {
    /// What the stage-1 ensemble labels: `test` (the test slides) and/or
    /// `extra` (`data.extra_slides`).
    pub sources: Vec<PseudoSource>,
    /// How pseudo masks are made from the ensemble's probabilities.
    pub post: PseudoPost,
    /// A pseudo-labelled slide is used only if at least this share of its
    /// predicted glomerulus pixels are confident (probability above
    /// `confident_probability`); slides the ensemble is unsure of are left out.
    pub min_confidence: f32,
    /// Probability above which a foreground pixel counts as confident.
    pub confident_probability: f32,
    /// Where stage 2's folds start: `scratch` (the seeded init, as the
    /// recipe retrained from ImageNet weights) or `stage1` (stage 1's model
    /// of the same fold: fine-tuning, far fewer steps on a CPU).
    pub init: Stage2Init,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage2Init {
    Scratch,
    Stage1,
}

impl Default for Stage2Section {
    fn default() -> Self {
        Stage2Section {
            sources: vec![PseudoSource::Test, PseudoSource::Extra],
            post: PseudoPost::Threshold,
            min_confidence: 0.0,
            confident_probability: 0.7,
            init: Stage2Init::Scratch,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PseudoSource {
    Test,
    Extra,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PseudoPost {
    Threshold,
    Crf,
}

impl ExperimentConfig {
    /// Reads and checks a file; relative paths in it stay relative to the
    /// directory the command runs in (as every ftu config).
    pub fn load(path: &Path) -> Result<ExperimentConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        let cfg: ExperimentConfig =
            toml::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))?;
        cfg.check_shape()
            .with_context(|| format!("{}: invalid config", path.display()))?;
        Ok(cfg)
    }

    /// Checks that need no file system: sizes, names, selections.
    pub fn check_shape(&self) -> Result<()> {
        if self.models.is_empty() {
            bail!("no [[models]]");
        }
        if self.data.competition.is_empty() && self.data.external_tiles.is_empty() {
            bail!("[data] names no labelled data (competition or external_tiles)");
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.models {
            if m.name.is_empty()
                || !m
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "model name `{}`: use letters, digits, - and _ (it names folders)",
                    m.name
                );
            }
            if !names.insert(&m.name) {
                bail!("two models are named `{}`", m.name);
            }
            if m.size == 0 || m.size % ftu_models::OUTPUT_STRIDE != 0 {
                bail!(
                    "model `{}`: size {} (tile {} scaled) is not a multiple of {}",
                    m.name,
                    m.size,
                    m.tile,
                    ftu_models::OUTPUT_STRIDE
                );
            }
            if m.tile < m.size / 4 || m.overlap >= m.tile || m.infer_overlap >= m.tile {
                bail!(
                    "model `{}`: tile {}, overlap {}, infer_overlap {}: overlaps must be smaller than the tile",
                    m.name,
                    m.tile,
                    m.overlap,
                    m.infer_overlap
                );
            }
        }
        let k = self.tiling.folds.k;
        if let Some(folds) = &self.selection.train_folds {
            if folds.is_empty() {
                bail!("selection.train_folds is empty");
            }
            if let Some(bad) = folds.iter().find(|&&f| f >= k) {
                bail!("selection.train_folds names fold {bad}, but tiling.folds.k = {k}");
            }
        }
        if self.selection.by == SelectBy::CvHoldout && self.data.holdout.is_none() {
            bail!("selection.by = \"cv_holdout\" needs a [data.holdout]");
        }
        if !(0.0..=1.0).contains(&self.stage2.min_confidence)
            || !(0.0..1.0).contains(&self.stage2.confident_probability)
        {
            bail!("stage2.min_confidence must be in 0..=1 and confident_probability in 0..1");
        }
        Ok(())
    }

    /// The folds each model trains.
    pub fn train_folds(&self) -> Vec<usize> {
        self.selection
            .train_folds
            .clone()
            .unwrap_or_else(|| (0..self.tiling.folds.k).collect())
    }

    /// The `[preprocess]` config that cuts `model`'s tiles into `out_dir`
    /// from the labelled sources plus `extra` ones (stage 2's pseudo labels).
    pub fn preprocess_config(
        &self,
        model: &ModelSection,
        out_dir: PathBuf,
        extra: Vec<SourceConfig>,
    ) -> PreprocessConfig {
        let mut sources: Vec<SourceConfig> = self
            .data
            .competition
            .iter()
            .enumerate()
            .map(|(i, c)| SourceConfig::Competition {
                dir: c.dir.clone(),
                labels: c.labels,
                name: Some(format!("competition{i}")),
            })
            .collect();
        sources.extend(self.data.external_tiles.iter().enumerate().map(|(i, dir)| {
            SourceConfig::Tiles {
                dir: dir.clone(),
                name: Some(format!("external{i}")),
            }
        }));
        sources.extend(extra);
        PreprocessConfig {
            out_dir,
            tile: model.tile,
            out_size: model.size,
            overlap: model.overlap,
            thumbnail_factor: self.tiling.thumbnail_factor,
            tissue_from: self.tiling.tissue_from,
            tissue: self.tiling.tissue,
            folds: self.tiling.folds,
            sources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every experiment file in configs/ parses, passes the shape checks and
    /// its `[models.train]` / `[infer]` tables satisfy the libraries.
    #[test]
    fn shipped_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.contains("[experiment]") {
                continue;
            }
            let cfg = if text.contains("[demo") {
                crate::experiment::demo::demo_config(&text, Path::new("runs/x"))
                    .unwrap()
                    .1
            } else {
                ExperimentConfig::load(&path).unwrap()
            };
            for m in &cfg.models {
                crate::experiment::adapters::check_train(&m.train)
                    .unwrap_or_else(|e| panic!("{}: {}: {e:#}", path.display(), m.name));
            }
            crate::experiment::adapters::check_infer(&cfg.infer)
                .unwrap_or_else(|e| panic!("{}: [infer]: {e:#}", path.display()));
            checked += 1;
        }
        assert!(checked >= 4, "only {checked} experiment files");
    }

    /// The standalone preprocess + train file parses for both commands.
    #[test]
    fn train_synth_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/train-synth.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        PreprocessConfig::from_toml(&text, &path).unwrap();
        ftu_train::TrainConfig::from_toml(&text, &path).unwrap();
    }

    #[test]
    fn shape_mistakes_are_named() {
        let (_, mut cfg) = crate::experiment::demo::demo_config(
            crate::experiment::demo::DEMO_TOML,
            Path::new("runs/x"),
        )
        .unwrap();
        cfg.models[0].size = 100;
        let err = cfg.check_shape().unwrap_err().to_string();
        assert!(err.contains("multiple of 32"), "{err}");
        cfg.models[0].size = 128;
        cfg.selection.train_folds = Some(vec![cfg.tiling.folds.k]);
        let err = cfg.check_shape().unwrap_err().to_string();
        assert!(err.contains("train_folds"), "{err}");
    }
}
