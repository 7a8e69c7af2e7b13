//! The `[infer]` table of an experiment TOML: members, TTA, how predictions
//! are combined, post-processed and stitched, and where slides come from.

use std::path::{Path, PathBuf};

use ftu_augment::TtaSet;
use ftu_crf::BinaryCrfParams;
use ftu_models::ModelConfig;
use ftu_tiling::{TissueParams, Weighting};
use serde::{Deserialize, Serialize};

use crate::error::{EnsembleError, Result};

/// Inference settings. Every field has a default except `members`.
///
/// ```
/// let cfg = ftu_ensemble::InferConfig::from_toml_str(r#"
///     [train]            # other tables of the experiment file are ignored
///     epochs = 3
///     [infer]
///     tta = "flips"
///     [[infer.members]]
///     run = "runs/unet-b0/fold0"
///     tile = 1024
///     size = 256
///     overlap = 512
/// "#).unwrap();
/// assert_eq!(cfg.members.len(), 1);
/// assert_eq!(cfg.threshold, 0.4);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferConfig {
    /// The models of the ensemble; at least one.
    pub members: Vec<MemberConfig>,
    /// Test-time augmentation: `none`, `flips` (identity, h-flip, v-flip,
    /// transpose: the recipe's TTA) or `d4` (all eight symmetries).
    #[serde(default = "default_tta", with = "tta_serde")]
    pub tta: TtaSet,
    /// How member x TTA predictions of a patch are averaged.
    #[serde(default)]
    pub combine: Combine,
    /// What turns a patch's probabilities into what is stitched.
    #[serde(default)]
    pub post: PostKind,
    /// Stitched probability above this is glomerulus (`post = "threshold"`).
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    /// DenseCRF settings (`post = "crf"`).
    #[serde(default)]
    pub crf: CrfConfig,
    /// Weights of overlapping patches when stitching.
    #[serde(default = "default_weighting")]
    pub weighting: Weighting,
    /// Tiles per forward pass.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Threads reading and resizing tiles ahead of the models (0 = rayon's pool).
    #[serde(default)]
    pub reader_threads: usize,
    /// Tissue filter: tiles with less tissue are skipped and predicted empty.
    #[serde(default)]
    pub tissue: TissueParams,
    /// Full-resolution pixels per thumbnail pixel: the tissue map and the
    /// overlay PNG are made at this scale.
    #[serde(default = "default_thumbnail")]
    pub thumbnail_factor: u32,
    /// GeoJSON polygons are traced on the mask downscaled by this factor, so
    /// vertices lie on a grid of this many full-resolution pixels.
    #[serde(default = "default_polygon_factor")]
    pub polygon_factor: u32,
    /// Predicted regions smaller than this (full-resolution pixels) get no polygon.
    #[serde(default = "default_min_polygon_area")]
    pub min_polygon_area: f64,
    /// For `cargo xtask infer` / `ablation`: folder of `*.tiff` slides.
    #[serde(default)]
    pub slides: Option<PathBuf>,
    /// Optional truth CSV (`id,encoding` or `id,predicted`): overlays show
    /// TP / FP / FN and the ablation scores against it.
    #[serde(default)]
    pub truth: Option<PathBuf>,
    /// Where the submission, overlays and GeoJSON go.
    #[serde(default = "default_out_dir")]
    pub out_dir: PathBuf,
}

/// One model of the ensemble and the window it sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// A training run folder: its `config.toml` `[model]` table and its
    /// `best.safetensors` define the model. Exclusive with `model`/`checkpoint`.
    #[serde(default)]
    pub run: Option<PathBuf>,
    /// Explicit architecture (with `checkpoint`), instead of `run`.
    #[serde(default)]
    pub model: Option<ModelConfig>,
    /// Weights (`.safetensors`, smp names) for `model`.
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Side of the full-resolution window read for one patch.
    pub tile: usize,
    /// Side the window is resized to for the model (a multiple of 32).
    pub size: usize,
    /// Overlap of neighbouring windows, full-resolution pixels.
    pub overlap: usize,
}

/// How the predictions of members and TTA views are averaged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Mean of sigmoid probabilities (the recipe's choice).
    #[default]
    Probability,
    /// Sigmoid of the mean logit. Members with different windows are still
    /// averaged as probabilities after stitching.
    Logit,
}

/// Post-processing of each patch before stitching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    /// Stitch probabilities; threshold the stitched map at `threshold`.
    #[default]
    Threshold,
    /// DenseCRF on each patch (its own resized RGB); stitch the CRF's
    /// foreground marginals; threshold at `crf.threshold`.
    Crf,
}

/// DenseCRF parameters (ftu-crf's `BinaryCrfParams`; defaults are pydensecrf's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrfConfig {
    /// Smoothness kernel width, patch pixels.
    pub gaussian_sxy: f32,
    /// Smoothness Potts weight.
    pub gaussian_compat: f32,
    /// Appearance kernel spatial width, patch pixels.
    pub bilateral_sxy: f32,
    /// Appearance kernel colour width, 8-bit units.
    pub bilateral_srgb: f32,
    /// Appearance Potts weight.
    pub bilateral_compat: f32,
    /// Mean-field iterations.
    pub iterations: usize,
    /// Stitched CRF marginal above this is glomerulus.
    pub threshold: f32,
}

impl Default for CrfConfig {
    fn default() -> Self {
        let p = BinaryCrfParams::default();
        CrfConfig {
            gaussian_sxy: p.gaussian_sxy,
            gaussian_compat: p.gaussian_compat,
            bilateral_sxy: p.bilateral_sxy,
            bilateral_srgb: p.bilateral_srgb,
            bilateral_compat: p.bilateral_compat,
            iterations: p.iterations,
            threshold: 0.5,
        }
    }
}

impl CrfConfig {
    /// The ftu-crf parameters.
    pub fn params(&self) -> BinaryCrfParams {
        BinaryCrfParams {
            gaussian_sxy: self.gaussian_sxy,
            gaussian_compat: self.gaussian_compat,
            bilateral_sxy: self.bilateral_sxy,
            bilateral_srgb: self.bilateral_srgb,
            bilateral_compat: self.bilateral_compat,
            iterations: self.iterations,
            ..BinaryCrfParams::default()
        }
    }
}

fn default_tta() -> TtaSet {
    TtaSet::Flips
}
fn default_threshold() -> f32 {
    0.4
}
fn default_weighting() -> Weighting {
    Weighting::Gaussian { sigma: 0.125 }
}
fn default_batch() -> usize {
    8
}
fn default_thumbnail() -> u32 {
    16
}
fn default_polygon_factor() -> u32 {
    4
}
fn default_min_polygon_area() -> f64 {
    256.0
}
fn default_out_dir() -> PathBuf {
    PathBuf::from("out/infer")
}

mod tta_serde {
    use ftu_augment::TtaSet;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &TtaSet, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TtaSet, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The experiment file: only `[infer]` is read here.
#[derive(Deserialize)]
struct Experiment {
    infer: Option<InferConfig>,
}

impl InferConfig {
    /// A config with these members and every default.
    pub fn new(members: Vec<MemberConfig>) -> InferConfig {
        InferConfig {
            members,
            tta: default_tta(),
            combine: Combine::default(),
            post: PostKind::default(),
            threshold: default_threshold(),
            crf: CrfConfig::default(),
            weighting: default_weighting(),
            batch_size: default_batch(),
            reader_threads: 0,
            tissue: TissueParams::default(),
            thumbnail_factor: default_thumbnail(),
            polygon_factor: default_polygon_factor(),
            min_polygon_area: default_min_polygon_area(),
            slides: None,
            truth: None,
            out_dir: default_out_dir(),
        }
    }

    /// Parses the `[infer]` table of an experiment TOML (other tables are ignored).
    pub fn from_toml_str(text: &str) -> Result<InferConfig> {
        let exp: Experiment =
            toml::from_str(text).map_err(|e| EnsembleError::Config(e.to_string()))?;
        let cfg = exp
            .infer
            .ok_or_else(|| EnsembleError::Config("no [infer] table".into()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads the `[infer]` table of `path`; relative paths inside (members'
    /// `run` / `checkpoint`, `slides`, `truth`, `out_dir`) stay as written,
    /// i.e. relative to the working directory.
    pub fn from_file(path: &Path) -> Result<InferConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| EnsembleError::ConfigFile {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        InferConfig::from_toml_str(&text).map_err(|e| EnsembleError::ConfigFile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Checks ranges and member definitions.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EnsembleError::Config(m));
        if self.members.is_empty() {
            return bad("members: need at least one member".into());
        }
        for (i, m) in self.members.iter().enumerate() {
            match (&m.run, &m.model, &m.checkpoint) {
                (Some(_), None, None) | (None, Some(_), Some(_)) => {}
                _ => {
                    return bad(format!(
                        "members[{i}]: give either `run` or both `model` and `checkpoint`"
                    ));
                }
            }
            if m.size == 0 || m.size % 32 != 0 {
                return bad(format!(
                    "members[{i}]: size {} must be a positive multiple of 32",
                    m.size
                ));
            }
            if m.tile < m.size || m.overlap >= m.tile {
                return bad(format!(
                    "members[{i}]: need tile >= size and overlap < tile (tile {}, size {}, overlap {})",
                    m.tile, m.size, m.overlap
                ));
            }
        }
        if !(0.0..1.0).contains(&self.threshold) {
            return bad(format!("threshold {} must be in [0, 1)", self.threshold));
        }
        if !(0.0..1.0).contains(&self.crf.threshold) {
            return bad(format!(
                "crf.threshold {} must be in [0, 1)",
                self.crf.threshold
            ));
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if self.thumbnail_factor == 0 || self.polygon_factor == 0 {
            return bad("thumbnail_factor and polygon_factor must be at least 1".into());
        }
        if let Weighting::Gaussian { sigma } = self.weighting
            && (sigma.is_nan() || sigma <= 0.0)
        {
            return bad(format!("weighting.sigma {sigma} must be > 0"));
        }
        Ok(())
    }

    /// The threshold applied to the stitched map for this post-processing.
    pub fn final_threshold(&self, post: PostKind) -> f32 {
        match post {
            PostKind::Threshold => self.threshold,
            PostKind::Crf => self.crf.threshold,
        }
    }
}

impl MemberConfig {
    /// A member from an explicit model and checkpoint.
    pub fn explicit(
        model: ModelConfig,
        checkpoint: impl Into<PathBuf>,
        tile: usize,
        size: usize,
        overlap: usize,
    ) -> MemberConfig {
        MemberConfig {
            run: None,
            model: Some(model),
            checkpoint: Some(checkpoint.into()),
            tile,
            size,
            overlap,
        }
    }

    /// The sliding-window geometry `(tile, size, overlap)`.
    pub fn geometry(&self) -> (usize, usize, usize) {
        (self.tile, self.size, self.overlap)
    }

    /// A short human name: the run folder or the checkpoint file.
    pub fn name(&self) -> String {
        self.run
            .as_ref()
            .or(self.checkpoint.as_ref())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "member".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_bad_members_are_refused() {
        let base =
            "[infer]\n[[infer.members]]\nrun = \"r\"\ntile = 512\nsize = 256\noverlap = 64\n";
        assert!(InferConfig::from_toml_str(base).is_ok());
        assert!(InferConfig::from_toml_str(&format!("{base}bogus = 1\n")).is_err());
        let bad_size = base.replace("size = 256", "size = 250");
        assert!(InferConfig::from_toml_str(&bad_size).is_err());
        let both = format!("{base}checkpoint = \"w.safetensors\"\n");
        assert!(InferConfig::from_toml_str(&both).is_err());
        assert!(InferConfig::from_toml_str("[train]\nx = 1\n").is_err());
    }

    #[test]
    fn post_weighting_and_tta_parse() {
        let text = r#"
            [infer]
            tta = "d4"
            combine = "logit"
            post = "crf"
            weighting = { kind = "uniform" }
            crf = { iterations = 3 }
            [[infer.members]]
            model = { arch = "unet", encoder = "efficientnet-b0" }
            checkpoint = "w.safetensors"
            tile = 256
            size = 256
            overlap = 32
        "#;
        let cfg = InferConfig::from_toml_str(text).unwrap();
        assert_eq!(cfg.tta, TtaSet::D4);
        assert_eq!(cfg.combine, Combine::Logit);
        assert_eq!(cfg.post, PostKind::Crf);
        assert_eq!(cfg.weighting, Weighting::Uniform);
        assert_eq!(cfg.crf.iterations, 3);
        assert_eq!(cfg.final_threshold(PostKind::Crf), 0.5);
        let back = toml::to_string(&cfg).unwrap();
        assert!(back.contains("tta = \"d4\""));
    }
}
