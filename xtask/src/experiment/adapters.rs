//! The calls into the library crates the stages make, in one place: the
//! experiment's tables become `ftu_train` / `ftu_ensemble` configs here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ftu_ensemble::{InferConfig, MemberConfig, PostKind, PredictOptions, SlideInput};
use ftu_train::{ProgressMode, TrainConfig, TrainOptions};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use super::config::{ModelSection, PseudoPost, Stage2Section};
use crate::cmd::infer::{show, tile_bar};

/// Manifest source name of pseudo-labelled tiles: they train, never validate.
pub const PSEUDO_SOURCE: &str = "pseudo";

/// An ensemble member: a training run and its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub run: PathBuf,
    pub tile: usize,
    pub size: usize,
    pub overlap: usize,
}

impl Member {
    pub fn from_run(model: &ModelSection, run: &Path) -> Member {
        Member {
            run: run.to_owned(),
            tile: model.tile,
            size: model.size,
            overlap: model.infer_overlap,
        }
    }

    fn config(&self) -> MemberConfig {
        MemberConfig {
            run: Some(self.run.clone()),
            model: None,
            checkpoint: None,
            tile: self.tile,
            size: self.size,
            overlap: self.overlap,
        }
    }
}

pub fn preprocess(cfg: &ftu_tiling::PreprocessConfig, quiet: bool) -> Result<()> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        crate::cmd::preprocess::tile_bar()?
    };
    let (rows, summary) = ftu_tiling::preprocess(cfg, &crate::cmd::preprocess::Bar(bar.clone()))?;
    bar.finish_and_clear();
    println!(
        "preprocess {}: tiles={} written={} reused={} background_skipped={}",
        cfg.out_dir.display(),
        rows.len(),
        summary.written,
        summary.reused,
        summary.background
    );
    Ok(())
}

/// The model's `[models.train]` table as the trainer's config, with pseudo
/// tiles always train-only.
pub fn train_config(table: &toml::Table) -> Result<TrainConfig> {
    let mut cfg: TrainConfig = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))?;
    if !cfg.train_only_sources.iter().any(|s| s == PSEUDO_SOURCE) {
        cfg.train_only_sources.push(PSEUDO_SOURCE.into());
    }
    cfg.validate()?;
    Ok(cfg)
}

pub fn check_train(table: &toml::Table) -> Result<()> {
    let cfg = train_config(table)?;
    if cfg.data_dir.is_some() || cfg.out_dir.is_some() {
        bail!(
            "data_dir and out_dir are set by the stages (stageN/tiles, stageN/models): remove them"
        );
    }
    Ok(())
}

/// The `[infer]` table with these members.
pub fn infer_config(table: &toml::Table, members: &[Member]) -> Result<InferConfig> {
    let mut table = table.clone();
    for key in ["members", "slides", "truth", "out_dir"] {
        if table.contains_key(key) {
            bail!("`{key}` is set by the stages (selected folds, [data], stageN/): remove it");
        }
    }
    table.insert("members".into(), toml::Value::Array(Vec::new()));
    let mut cfg: InferConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))?;
    cfg.members = members.iter().map(Member::config).collect();
    Ok(cfg)
}

pub fn check_infer(table: &toml::Table) -> Result<()> {
    let probe = Member {
        run: PathBuf::from("run"),
        tile: 1024,
        size: 256,
        overlap: 0,
    };
    infer_config(table, &[probe])?.validate()?;
    Ok(())
}

/// Trains `folds` into `runs`; with `init_from` (stage 1's runs of the same
/// model) each fold starts from that run's fold of the same number, so its
/// validation slides stay unseen.
pub fn train(
    tiles: &Path,
    runs: &Path,
    folds: &[usize],
    table: &toml::Table,
    init_from: Option<&Path>,
    quiet: bool,
) -> Result<()> {
    let cfg = train_config(table)?;
    std::fs::create_dir_all(runs).with_context(|| format!("{}: cannot create", runs.display()))?;
    // Always resume: a fresh step has had its folder removed first.
    let opts = TrainOptions {
        resume: true,
        progress: if quiet {
            ProgressMode::Log
        } else {
            ProgressMode::Bars
        },
    };
    let context = || format!("training from {} into {}", tiles.display(), runs.display());
    let cv = match init_from {
        None => ftu_train::train_folds(tiles, runs, folds, &cfg, &opts).with_context(context)?,
        Some(init) => {
            let mut cv = None;
            for &fold in folds {
                let mut cfg = cfg.clone();
                let weights = init.join(format!("fold{fold}")).join("best.safetensors");
                if !weights.is_file() {
                    bail!(
                        "{}: missing (stage 1 did not train fold {fold})",
                        weights.display()
                    );
                }
                cfg.init_weights = Some(weights);
                cv = Some(
                    ftu_train::train_folds(tiles, runs, &[fold], &cfg, &opts)
                        .with_context(context)?,
                );
            }
            cv.context("no folds to train")?
        }
    };
    for r in &cv.folds {
        println!(
            "{} fold={} best_dice={:.4} best_epoch={} seconds={:.1}",
            runs.display(),
            r.fold,
            r.best_dice,
            r.best_epoch,
            r.seconds
        );
    }
    Ok(())
}

/// Validation Dice per fold from `runs/cv.json`.
pub fn cv_scores(runs: &Path) -> Result<Vec<(usize, f64)>> {
    let cv = ftu_train::CvSummary::read(&runs.join("cv.json"))?;
    Ok(cv.folds.iter().map(|r| (r.fold, r.best_dice)).collect())
}

/// The test (or holdout) slides, with truth when known.
pub fn slides(dir: &Path, truth: Option<&Path>) -> Result<Vec<SlideInput>> {
    Ok(SlideInput::list(dir, truth)?)
}

/// Predicts `slides` into `out/submission.csv` (+ overlays, GeoJSON).
pub fn predict(
    slides: &[SlideInput],
    table: &toml::Table,
    members: &[Member],
    out: &Path,
    quiet: bool,
) -> Result<Vec<(String, String)>> {
    let cfg = infer_config(table, members)?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        tile_bar()?
    };
    let progress = |p: ftu_ensemble::Progress<'_>| show(&bar, p);
    let opts = PredictOptions {
        progress: Some(&progress),
        ..PredictOptions::default()
    };
    let preds = ftu_ensemble::predict_slides(slides, &cfg, out, &opts)?;
    bar.finish_and_clear();
    ftu_ensemble::write_submission(&out.join("submission.csv"), &preds)?;
    for p in &preds {
        let dice = p.dice.map_or("-".into(), |d| format!("{d:.4}"));
        println!(
            "{} {} dice={dice} polygons={}",
            out.display(),
            p.id,
            p.polygons
        );
    }
    Ok(preds.into_iter().map(|p| (p.id, p.rle)).collect())
}

/// The ablation table on slides with truth; writes `out/ablation.{md,csv}`.
pub fn ablation(
    slides: &[SlideInput],
    table: &toml::Table,
    members: &[Member],
    out: &Path,
    quiet: bool,
) -> Result<()> {
    let cfg = infer_config(table, members)?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        tile_bar()?
    };
    let progress = |p: ftu_ensemble::Progress<'_>| show(&bar, p);
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    ftu_ensemble::ablation(slides, &cfg, out, Some(&progress))?;
    bar.finish_and_clear();
    Ok(())
}

/// Rows of `dir/ablation.csv` as (setup, mean Dice).
pub fn read_ablation(dir: &Path) -> Result<Vec<(String, f64)>> {
    let path = dir.join("ablation.csv");
    let mut reader = csv::Reader::from_path(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no `{name}` column", path.display()))
    };
    let (setup, dice) = (col("setup")?, col("dice")?);
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.with_context(|| format!("{}: bad row", path.display()))?;
        let d: f64 = rec[dice]
            .parse()
            .with_context(|| format!("{}: dice `{}`", path.display(), &rec[dice]))?;
        rows.push((rec[setup].to_owned(), d));
    }
    Ok(rows)
}

/// What the pseudo-labelling of one slide gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PseudoSlide {
    pub id: String,
    /// Predicted glomerulus pixels.
    pub foreground: u64,
    /// Share of them above `confident_probability`.
    pub confidence: f64,
    /// Whether the slide passed `min_confidence` and is in the CSV.
    pub used: bool,
}

/// Predicts `slides` with the stage-1 ensemble and writes the masks of the
/// confident ones to `csv` (`id,predicted`) and a summary to
/// `out/pseudo.json`.
pub fn pseudo_label(
    slides: &[SlideInput],
    table: &toml::Table,
    members: &[Member],
    stage2: &Stage2Section,
    out: &Path,
    csv: &Path,
    quiet: bool,
) -> Result<Vec<PseudoSlide>> {
    let mut cfg = infer_config(table, members)?;
    cfg.post = match stage2.post {
        PseudoPost::Threshold => PostKind::Threshold,
        PseudoPost::Crf => PostKind::Crf,
    };
    let threshold = cfg.final_threshold(cfg.post);
    let models = ftu_ensemble::load_members(&cfg.members)?;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for slide in slides {
        let s = ftu_tiling::Slide::open(&slide.path)?;
        let (w, h) = (s.width() as usize, s.height() as usize);
        drop(s);
        let mut encoder = ftu_rle::BandEncoder::new(h, w);
        let (mut foreground, mut confident) = (0u64, 0u64);
        let mut sink = |_y: usize, probs: ndarray::ArrayView2<f32>| -> ftu_ensemble::Result<()> {
            let mask = probs.mapv(|p| {
                if p > threshold {
                    foreground += 1;
                    confident += (p > stage2.confident_probability) as u64;
                    1u8
                } else {
                    0
                }
            });
            encoder.push_band(mask.view())?;
            Ok(())
        };
        if !quiet {
            println!("pseudo-labelling {}", slide.id);
        }
        ftu_ensemble::stitch_slide(&slide.path, &cfg, &models, &mut sink)?;
        let rle = encoder.finish()?;
        let confidence = if foreground == 0 {
            0.0
        } else {
            confident as f64 / foreground as f64
        };
        let used = foreground > 0 && confidence >= stage2.min_confidence as f64;
        if used {
            rows.push((slide.id.clone(), rle));
        }
        summary.push(PseudoSlide {
            id: slide.id.clone(),
            foreground,
            confidence,
            used,
        });
    }
    ftu_rle::csv::write_encodings(csv, "predicted", &rows)?;
    super::stage::write_json(&out.join("pseudo.json"), &summary)?;
    Ok(summary)
}
