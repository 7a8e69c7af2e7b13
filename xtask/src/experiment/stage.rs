//! Stage 1 and stage 2, as steps over one experiment folder:
//!
//! ```text
//! stage1/tiles/<model>/            preprocess (labelled sources)
//! stage1/models/<model>/fold<k>/   train folds; cv.json per model
//! stage1/selection.json            folds kept for the ensemble
//! stage1/infer/submission.csv      test slides, + overlays and GeoJSON
//! stage1/ablation.{md,csv}         when the test truth is known
//! stage1/report.md
//! stage2/pseudo/<source>.csv       stage-1 ensemble on the pseudo sources
//! stage2/...                       as stage 1, with the pseudo tiles added
//! stage2/compare.md                stage 1 vs stage 2
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::adapters::{self, Member};
use super::config::{ExperimentConfig, PseudoSource, SelectBy, Stage2Init};
use super::report;
use super::state::Steps;
use ftu_ensemble::SlideInput;

/// Options of `stage1`, `stage2` and `demo`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageOptions {
    /// Redo finished steps.
    pub force: bool,
    /// Log lines instead of progress bars.
    pub quiet: bool,
}

/// Which stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    One,
    Two,
}

impl Stage {
    pub fn dir_name(self) -> &'static str {
        match self {
            Stage::One => "stage1",
            Stage::Two => "stage2",
        }
    }
}

/// A fold kept for the ensemble.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelectedFold {
    pub model: String,
    pub fold: usize,
    pub run: PathBuf,
    pub cv_dice: f64,
    pub holdout_dice: Option<f64>,
    pub score: f64,
}

/// What a stage produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageOutcome {
    pub submission: PathBuf,
    /// Mean Dice of the submission over the test slides, when truth is known.
    pub test_dice: Option<f64>,
    /// Ablation rows (setup, mean Dice), when truth is known.
    pub ablation: Vec<(String, f64)>,
    pub selected: Vec<SelectedFold>,
    /// Per model, per trained fold: validation Dice.
    pub cv: Vec<(String, Vec<(usize, f64)>)>,
}

/// Runs one stage (stage 2 runs stage 1's steps first; finished ones are
/// skipped).
pub fn run(cfg: &ExperimentConfig, stage: Stage, opts: StageOptions) -> Result<StageOutcome> {
    super::preflight::check(cfg)?;
    let out = &cfg.experiment.out_dir;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut steps = Steps::open(out, opts.force)?;
    let one = run_stage(cfg, Stage::One, &mut steps, opts, Vec::new())?;
    if stage == Stage::One {
        return Ok(one);
    }
    let pseudo = pseudo_label(cfg, &one, &mut steps, opts)?;
    let two = run_stage(cfg, Stage::Two, &mut steps, opts, pseudo)?;
    report::write_comparison(&out.join("stage2").join("compare.md"), &one, &two)?;
    Ok(two)
}

/// The `*.tiff` slides of `dir`, sorted by id, without truth.
pub fn slides_in(dir: &Path) -> Result<Vec<SlideInput>> {
    adapters::slides(dir, None)
}

fn run_stage(
    cfg: &ExperimentConfig,
    stage: Stage,
    steps: &mut Steps,
    opts: StageOptions,
    extra_sources: Vec<ftu_tiling::SourceConfig>,
) -> Result<StageOutcome> {
    let dir = cfg.experiment.out_dir.join(stage.dir_name());
    let s = stage.dir_name();
    let folds = cfg.train_folds();
    let mut cv = Vec::new();
    for model in &cfg.models {
        let tiles = dir.join("tiles").join(&model.name);
        let pre = cfg.preprocess_config(model, tiles.clone(), extra_sources.clone());
        steps.run(
            &format!("{s}/preprocess/{}", model.name),
            &pre,
            &[&tiles],
            |_| adapters::preprocess(&pre, opts.quiet),
        )?;
        let runs = dir.join("models").join(&model.name);
        let init_from = (stage == Stage::Two && cfg.stage2.init == Stage2Init::Stage1).then(|| {
            cfg.experiment
                .out_dir
                .join(Stage::One.dir_name())
                .join("models")
                .join(&model.name)
        });
        let inputs = (&model.train, &folds, &init_from);
        steps.run(
            &format!("{s}/train/{}", model.name),
            &inputs,
            &[&runs],
            |_| {
                adapters::train(
                    &tiles,
                    &runs,
                    &folds,
                    &model.train,
                    init_from.as_deref(),
                    opts.quiet,
                )
            },
        )?;
        // Reading cv.json is cheap; do it whether training ran or not.
        cv.push((model.name.clone(), adapters::cv_scores(&runs)?));
    }

    let selection_path = dir.join("selection.json");
    steps.run(
        &format!("{s}/select"),
        &cfg.selection,
        &[&selection_path],
        |_| {
            let selected = select_folds(cfg, &dir, &cv, opts)?;
            write_json(&selection_path, &selected)
        },
    )?;
    let selected: Vec<SelectedFold> = read_json(&selection_path)?;
    let members = members_of(cfg, &selected);

    let test = adapters::slides(&cfg.data.test_slides, cfg.data.test_truth.as_deref())?;
    let infer_dir = dir.join("infer");
    let submission = infer_dir.join("submission.csv");
    let inputs = (
        &cfg.infer,
        &members,
        &cfg.data.test_slides,
        &cfg.data.test_truth,
    );
    steps.run(&format!("{s}/infer"), &inputs, &[&infer_dir], |_| {
        adapters::predict(&test, &cfg.infer, &members, &infer_dir, opts.quiet).map(|_| ())
    })?;
    let test_dice = match &cfg.data.test_truth {
        Some(truth) => Some(crate::cmd::eval::mean_dice(truth, &submission)?),
        None => None,
    };

    let mut ablation = Vec::new();
    if cfg.data.test_truth.is_some() {
        let ablation_dir = dir.join("ablation");
        steps.run(&format!("{s}/ablation"), &inputs, &[&ablation_dir], |_| {
            adapters::ablation(&test, &cfg.infer, &members, &ablation_dir, opts.quiet)
        })?;
        ablation = adapters::read_ablation(&ablation_dir)?;
    }
    let outcome = StageOutcome {
        submission,
        test_dice,
        ablation,
        selected,
        cv,
    };
    report::write_stage(&dir.join("report.md"), cfg, stage, &outcome)?;
    write_json(&dir.join("outcome.json"), &outcome)?;
    Ok(outcome)
}

/// Ranks each model's folds and keeps the best `selection.keep`.
fn select_folds(
    cfg: &ExperimentConfig,
    dir: &Path,
    cv: &[(String, Vec<(usize, f64)>)],
    opts: StageOptions,
) -> Result<Vec<SelectedFold>> {
    let mut selected = Vec::new();
    for (model, folds) in cv {
        let section = cfg
            .models
            .iter()
            .find(|m| &m.name == model)
            .expect("cv comes from the configured models");
        let mut ranked = Vec::new();
        for &(fold, cv_dice) in folds {
            let run = dir.join("models").join(model).join(format!("fold{fold}"));
            let holdout_dice = match (&cfg.data.holdout, cfg.selection.by) {
                (Some(h), SelectBy::CvHoldout) => {
                    let slides = adapters::slides(&h.slides, Some(&h.truth))?;
                    let member = Member::from_run(section, &run);
                    let pred_dir = dir.join("holdout").join(format!("{model}-fold{fold}"));
                    adapters::predict(
                        &slides,
                        &cfg.infer,
                        std::slice::from_ref(&member),
                        &pred_dir,
                        opts.quiet,
                    )?;
                    Some(crate::cmd::eval::mean_dice(
                        &h.truth,
                        &pred_dir.join("submission.csv"),
                    )?)
                }
                _ => None,
            };
            let score = holdout_dice.map_or(cv_dice, |h| (cv_dice + h) / 2.0);
            ranked.push(SelectedFold {
                model: model.clone(),
                fold,
                run,
                cv_dice,
                holdout_dice,
                score,
            });
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.fold.cmp(&b.fold)));
        if cfg.selection.keep > 0 {
            ranked.truncate(cfg.selection.keep);
        }
        selected.extend(ranked);
    }
    Ok(selected)
}

fn members_of(cfg: &ExperimentConfig, selected: &[SelectedFold]) -> Vec<Member> {
    selected
        .iter()
        .map(|s| {
            let section = cfg
                .models
                .iter()
                .find(|m| m.name == s.model)
                .expect("selection comes from the configured models");
            Member::from_run(section, &s.run)
        })
        .collect()
}

/// Stage 2's first step: the stage-1 ensemble labels the pseudo sources.
/// Returns them as preprocess sources.
fn pseudo_label(
    cfg: &ExperimentConfig,
    one: &StageOutcome,
    steps: &mut Steps,
    opts: StageOptions,
) -> Result<Vec<ftu_tiling::SourceConfig>> {
    let dir = cfg.experiment.out_dir.join("stage2").join("pseudo");
    let members = members_of(cfg, &one.selected);
    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    for source in &cfg.stage2.sources {
        match source {
            PseudoSource::Test => dirs.push(("test".into(), cfg.data.test_slides.clone())),
            PseudoSource::Extra => {
                for (i, d) in cfg.data.extra_slides.iter().enumerate() {
                    dirs.push((format!("extra{i}"), d.clone()));
                }
            }
        }
    }
    let mut sources = Vec::new();
    for (name, slides_dir) in dirs {
        let out = dir.join(&name);
        let csv = dir.join(format!("{name}.csv"));
        let inputs = (&cfg.infer, &members, &cfg.stage2, &slides_dir);
        steps.run(
            &format!("stage2/pseudo/{name}"),
            &inputs,
            &[&out, &csv],
            |_| {
                let slides = slides_in(&slides_dir)?;
                adapters::pseudo_label(
                    &slides,
                    &cfg.infer,
                    &members,
                    &cfg.stage2,
                    &out,
                    &csv,
                    opts.quiet,
                )
                .map(|_| ())
            },
        )?;
        sources.push(ftu_tiling::SourceConfig::Pseudo {
            slides: slides_dir,
            csv,
            name: Some(adapters::PSEUDO_SOURCE.into()),
        });
    }
    Ok(sources)
}

pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("json")?;
    crate::io::write_atomic(path, |f| std::io::Write::write_all(f, text.as_bytes()))
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid", path.display()))
}
