//! The k-fold training loop: [`train_fold`] trains one held-out fold into
//! `out_dir/fold<k>/`, [`train_folds`] several, then writes `cv.json`.
//!
//! A run directory holds `config.toml` ([`RunConfig`]: the model, the tile
//! geometry, the fold, the training config), `best.safetensors` (model
//! only), `last.safetensors` (see [`crate::checkpoint`]), `metrics.csv`,
//! `curves.png` and, once the fold is over, `report.json`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ftu_models::{ModelConfig, SegmentationModel, Slot};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, BestEpoch, EpochMetrics, TrainerState};
use crate::config::{SelectOn, TrainConfig};
use crate::curves::write_curves;
use crate::cv::{CvSummary, FoldReport, write_json, write_text};
use crate::data::loader::{self, AugmentPlan};
use crate::data::{TileSet, sampler};
use crate::error::TrainError;
use crate::loss::Loss;
use crate::metrics::DiceAccumulator;
use crate::optim::AdamW;
use crate::precise_bn;
use crate::progress::{ProgressMode, Reporter};
use crate::schedule::Per;

/// How a training call behaves (not part of the experiment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrainOptions {
    /// Continue from `last.safetensors` where present; without it an
    /// existing checkpoint is an error (nothing is overwritten).
    pub resume: bool,
    /// Bars, log lines or nothing.
    pub progress: ProgressMode,
}

/// The tile geometry the model was trained on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileGeometry {
    /// Tile side at full slide resolution (manifest `size`).
    pub tile: usize,
    /// Tile side fed to the model.
    pub size: usize,
}

/// A run directory's `config.toml`: enough to rebuild the network
/// (`[model]`) and cut tiles as in training (`[tiles]`) from the run
/// directory alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The held-out fold.
    pub fold: usize,
    /// The tile dataset trained on.
    pub data_dir: PathBuf,
    /// The network.
    pub model: ModelConfig,
    /// Tile geometry.
    pub tiles: TileGeometry,
    /// The resolved training configuration.
    pub train: TrainConfig,
}

impl RunConfig {
    /// Reads a run directory's `config.toml`.
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        toml::from_str(&text).map_err(|e| TrainError::Config {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Trains fold `fold` (held out for validation) into `out_dir/fold<fold>`.
/// With `opts.resume`, a finished fold returns its report without work.
pub fn train_fold(
    data_dir: &Path,
    out_dir: &Path,
    fold: usize,
    cfg: &TrainConfig,
    opts: &TrainOptions,
) -> Result<FoldReport, TrainError> {
    let mut reporter = Reporter::new(opts.progress);
    let report = run_fold(data_dir, out_dir, fold, cfg, opts, &mut reporter);
    reporter.finish();
    report
}

/// Trains `folds` (all folds of the dataset when empty) one after the
/// other, then writes `out_dir/cv.json` over every finished fold found in
/// `out_dir` and returns it.
pub fn train_folds(
    data_dir: &Path,
    out_dir: &Path,
    folds: &[usize],
    cfg: &TrainConfig,
    opts: &TrainOptions,
) -> Result<CvSummary, TrainError> {
    cfg.validate()?;
    let folds: Vec<usize> = if folds.is_empty() {
        TileSet::open(data_dir)?
            .folds(&cfg.train_only_sources)
            .into_iter()
            .collect()
    } else {
        folds.to_vec()
    };
    let mut reporter = Reporter::new(opts.progress);
    reporter.folds(folds.len());
    for &fold in &folds {
        let result = run_fold(data_dir, out_dir, fold, cfg, opts, &mut reporter);
        reporter.fold_end();
        match result {
            Ok(r) => reporter.fold_done(fold, r.best_dice),
            Err(e) => {
                reporter.finish();
                return Err(e);
            }
        }
    }
    reporter.finish();
    let summary = CvSummary::new(finished_reports(out_dir)?);
    write_json(&out_dir.join("cv.json"), &summary)?;
    Ok(summary)
}

/// Every `fold*/report.json` under `out_dir`.
fn finished_reports(out_dir: &Path) -> Result<Vec<FoldReport>, TrainError> {
    let mut reports = Vec::new();
    let entries = std::fs::read_dir(out_dir).map_err(|e| TrainError::io(out_dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| TrainError::io(out_dir, e))?.path();
        let report = path.join("report.json");
        let is_fold = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("fold"));
        if is_fold && report.is_file() {
            let text = std::fs::read_to_string(&report).map_err(|e| TrainError::io(&report, e))?;
            reports.push(serde_json::from_str(&text).map_err(|e| TrainError::Data {
                path: report.clone(),
                message: e.to_string(),
            })?);
        }
    }
    Ok(reports)
}

/// Writes `config.toml`, or checks that an existing one (a resumed run)
/// describes the same experiment.
fn write_run_config(path: &Path, run: &RunConfig, resume: bool) -> Result<(), TrainError> {
    if resume && path.is_file() {
        let old = RunConfig::read(path)?;
        if old != *run {
            return Err(TrainError::Config {
                path: path.to_owned(),
                message: "the run was started with a different configuration; \
                          resume with the same one or use another output folder"
                    .into(),
            });
        }
        return Ok(());
    }
    let text = toml::to_string(run).map_err(|e| TrainError::Config {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    write_text(path, &text)
}

fn write_metrics(path: &Path, history: &[EpochMetrics]) -> Result<(), TrainError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for m in history {
        w.serialize(m).map_err(|e| TrainError::Data {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().expect("writing to memory");
    write_text(
        path,
        &String::from_utf8(bytes).expect("csv of numbers is UTF-8"),
    )
}

/// Reads a run directory's `metrics.csv`.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochMetrics>, TrainError> {
    let bad = |e: csv::Error| TrainError::Data {
        path: path.to_owned(),
        message: e.to_string(),
    };
    csv::Reader::from_path(path)
        .map_err(bad)?
        .deserialize()
        .map(|r| r.map_err(bad))
        .collect()
}

fn report(run_dir: &Path, fold: usize, state: &TrainerState, cfg: &TrainConfig) -> FoldReport {
    let best = state
        .best
        .as_ref()
        .expect("a finished fold has a best epoch");
    let m = &state.history[best.epoch];
    let stopped_early = state.history.len() < cfg.epochs;
    FoldReport {
        fold,
        run_dir: run_dir.to_owned(),
        best_epoch: best.epoch,
        best_dice: best.score,
        best_epoch_dice_at_threshold: m.val_dice,
        best_threshold: m.best_threshold,
        best_threshold_dice: m.best_threshold_dice,
        epochs_run: state.history.len(),
        stopped_early,
        seconds: state.history.iter().map(|m| m.seconds).sum(),
    }
}

/// What the fold loop keeps across epochs.
struct Fold<'a> {
    fold: usize,
    cfg: &'a TrainConfig,
    set: Arc<TileSet>,
    pool: Arc<rayon::ThreadPool>,
    model: SegmentationModel,
    optimizer: AdamW,
    loss: Loss,
    last: PathBuf,
}

impl Fold<'_> {
    fn non_finite(&self, state: &TrainerState, what: &str) -> TrainError {
        TrainError::NonFinite {
            fold: self.fold,
            epoch: state.epoch,
            step: state.step,
            what: what.into(),
        }
    }

    /// Saves `last` unless the weights went bad (then the old one stays).
    fn save_last(&self, state: &mut TrainerState) -> Result<(), TrainError> {
        if !checkpoint::weights_finite(&self.model)? {
            return Err(self.non_finite(state, "a model weight"));
        }
        state.forward_calls = self.model.forward_calls();
        checkpoint::save_last(&self.last, &self.model, &self.optimizer, state)
    }

    /// Validation loss (tile-weighted mean) and Dice counts.
    fn validate(&self, val: &[usize]) -> Result<(f64, DiceAccumulator), TrainError> {
        let v = &self.cfg.validation;
        let mut thresholds = vec![v.threshold];
        thresholds.extend(&v.thresholds);
        let mut acc = DiceAccumulator::new(&thresholds);
        let plan: Vec<Vec<usize>> = val.chunks(v.batch_size).map(<[usize]>::to_vec).collect();
        let (rx, feeder) = loader::spawn(
            self.set.clone(),
            plan,
            0,
            None,
            self.pool.clone(),
            self.cfg.prefetch,
        );
        let mut loss_sum = 0f64;
        for batch in rx {
            let batch = batch?;
            let device = self.model.device();
            let logits = self.model.forward(&batch.images.to_device(device)?)?.mask;
            let n = batch.images.dim(0)?;
            let l = self
                .loss
                .forward(&logits, &batch.masks.to_device(device)?)?
                .to_scalar::<f32>()? as f64;
            loss_sum += l * n as f64;
            let probs = candle_nn::ops::sigmoid(&logits)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            acc.add(&probs, &batch.masks.flatten_all()?.to_vec1::<f32>()?);
        }
        feeder.join().expect("loader thread does not panic");
        Ok((loss_sum / val.len() as f64, acc))
    }
}

fn run_fold(
    data_dir: &Path,
    out_dir: &Path,
    fold: usize,
    cfg: &TrainConfig,
    opts: &TrainOptions,
    reporter: &mut Reporter,
) -> Result<FoldReport, TrainError> {
    cfg.validate()?;
    let run_dir = out_dir.join(format!("fold{fold}"));
    std::fs::create_dir_all(&run_dir).map_err(|e| TrainError::io(&run_dir, e))?;
    let last = run_dir.join("last.safetensors");
    if !opts.resume && last.exists() {
        return Err(TrainError::Checkpoint {
            path: last,
            message: "a checkpoint is already there: resume it, or train into another folder"
                .into(),
        });
    }
    let set = Arc::new(TileSet::open(data_dir)?);
    let split = set.split(fold, &cfg.train_only_sources)?;
    let run = RunConfig {
        fold,
        data_dir: data_dir.to_owned(),
        model: cfg.model.clone(),
        tiles: TileGeometry {
            tile: set.source_side(),
            size: set.side(),
        },
        train: cfg.clone(),
    };
    write_run_config(&run_dir.join("config.toml"), &run, opts.resume)?;

    let model = SegmentationModel::new(&cfg.model, &ftu_models::device::select()?, cfg.seed)?;
    if let Some(weights) = &cfg.encoder_weights {
        model.load_encoder_safetensors(weights)?;
    }
    // A resumed run replaces these with `last.safetensors` below.
    if let Some(weights) = &cfg.init_weights {
        model.load_safetensors(weights)?;
    }
    let params = model
        .entries()
        .iter()
        .filter_map(|e| match &e.slot {
            Slot::Param(v) => Some((e.name.clone(), v.clone())),
            _ => None,
        })
        .collect();
    let optimizer = AdamW::new(params, cfg.optimizer)?;
    let threads = if cfg.loader_threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        cfg.loader_threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ftu-loader-{i}"))
        .build()
        .map_err(|e| TrainError::Invalid(format!("loader threads: {e}")))?;
    let mut f = Fold {
        fold,
        cfg,
        set: set.clone(),
        pool: Arc::new(pool),
        model,
        optimizer,
        loss: Loss(cfg.loss),
        last: last.clone(),
    };
    let mut state = if opts.resume && last.exists() {
        checkpoint::load_last(&last, &f.model, &mut f.optimizer)?
    } else {
        TrainerState::default()
    };
    if state.finished {
        return finish(&run_dir, fold, &state, cfg);
    }

    let positive: Vec<bool> = split
        .train
        .iter()
        .map(|&i| set.rows()[i].has_glomerulus)
        .collect();
    let plan_of = |epoch: usize| {
        sampler::epoch_batches(
            &split.train,
            &positive,
            cfg.sampling,
            cfg.batch_size,
            cfg.steps_per_epoch,
            cfg.seed,
            epoch,
        )
    };
    let steps_per_epoch = plan_of(0).len();
    let per = cfg.schedule.per();
    let total = match per {
        Per::Epoch => cfg.epochs,
        Per::Step => cfg.epochs * steps_per_epoch,
    };
    let pipeline = cfg.pipeline()?.map(Arc::new);
    reporter.fold_start(fold, cfg.epochs, state.epoch, steps_per_epoch);

    while state.epoch < cfg.epochs {
        let epoch = state.epoch;
        let started = Instant::now();
        let before = state.epoch_seconds;
        let plan = plan_of(epoch);
        let augment = pipeline.as_ref().map(|p| AugmentPlan {
            pipeline: p.clone(),
            seed: cfg.seed ^ 0xA06_3E17,
            epoch,
        });
        reporter.epoch_start(state.batch);
        let (rx, feeder) = loader::spawn(
            set.clone(),
            plan.clone(),
            state.batch,
            augment,
            f.pool.clone(),
            cfg.prefetch,
        );
        let mut lr = cfg.schedule.lr(epoch, total);
        for batch in rx {
            let batch = batch?;
            let step_started = Instant::now();
            let t = match per {
                Per::Epoch => epoch,
                Per::Step => state.step as usize,
            };
            lr = cfg.schedule.lr(t, total);
            // The loader builds batches on the CPU (its own threads); moving
            // them is a no-op there.
            let device = f.model.device();
            let images = batch.images.to_device(device)?;
            let logits = f.model.forward_t(&images, true)?.mask;
            let loss = f.loss.forward(&logits, &batch.masks.to_device(device)?)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                return Err(f.non_finite(&state, "the training loss"));
            }
            let grads = loss.backward()?;
            let info = f.optimizer.step(&grads, lr)?;
            if !info.grad_norm.is_finite() {
                return Err(f.non_finite(&state, "the gradient norm"));
            }
            state.step += 1;
            state.batch = batch.index + 1;
            state.loss_sum += value;
            state.loss_count += 1;
            let tiles = batch.images.dim(0)? as f64;
            reporter.batch(value, lr, tiles / step_started.elapsed().as_secs_f64());
            let every = cfg.checkpoint_every;
            if every > 0 && state.step % every as u64 == 0 && state.batch < plan.len() {
                state.epoch_seconds = before + started.elapsed().as_secs_f64();
                f.save_last(&mut state)?;
                reporter.checkpoint(fold, epoch, state.batch, state.step);
            }
        }
        feeder.join().expect("loader thread does not panic");

        let calibration: Vec<_> = f.pool.install(|| {
            plan.iter()
                .take(cfg.validation.precise_bn_batches)
                .enumerate()
                .map(|(i, tiles)| loader::build_batch(&set, tiles, i, None).map(|b| b.images))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let calibration = calibration
            .iter()
            .map(|x| x.to_device(f.model.device()))
            .collect::<candle_core::Result<Vec<_>>>()?;
        precise_bn::recalibrate(&f.model, &calibration)?;
        let (val_loss, acc) = f.validate(&split.val)?;
        if !val_loss.is_finite() {
            return Err(f.non_finite(&state, "the validation loss"));
        }
        let dice = acc.dice();
        let (best_threshold, best_threshold_dice) = {
            // Index 0 is the configured threshold; the grid follows.
            let grid = DiceAccumulator::best_of(&cfg.validation.thresholds, &dice[1..]);
            grid.unwrap_or((cfg.validation.threshold, dice[0]))
        };
        let metrics = EpochMetrics {
            epoch,
            train_loss: state.loss_sum / state.loss_count.max(1) as f64,
            val_loss,
            val_dice: dice[0],
            best_threshold,
            best_threshold_dice,
            lr,
            seconds: before + started.elapsed().as_secs_f64(),
        };
        reporter.epoch_end(fold, &metrics);
        let score = match cfg.validation.select_on {
            SelectOn::Threshold => metrics.val_dice,
            SelectOn::BestThreshold => metrics.best_threshold_dice,
        };
        state.history.push(metrics);
        if state.best.as_ref().is_none_or(|b| score > b.score) {
            if !checkpoint::weights_finite(&f.model)? {
                return Err(f.non_finite(&state, "a model weight"));
            }
            f.model.save_safetensors(run_dir.join("best.safetensors"))?;
            state.best = Some(BestEpoch { epoch, score });
        }
        state.epoch = epoch + 1;
        state.batch = 0;
        state.loss_sum = 0.0;
        state.loss_count = 0;
        state.epoch_seconds = 0.0;
        let since_best = epoch - state.best.as_ref().map_or(epoch, |b| b.epoch);
        let patience_over = cfg.early_stopping_patience.is_some_and(|p| since_best >= p);
        state.finished = patience_over || state.epoch == cfg.epochs;
        f.save_last(&mut state)?;
        if state.finished {
            break;
        }
        write_metrics(&run_dir.join("metrics.csv"), &state.history)?;
        write_curves(&run_dir.join("curves.png"), &state.history)?;
    }
    finish(&run_dir, fold, &state, cfg)
}

/// Writes the finished fold's metrics, curves and report (again, when a
/// resumed run finds the fold over: a kill may have come between them).
fn finish(
    run_dir: &Path,
    fold: usize,
    state: &TrainerState,
    cfg: &TrainConfig,
) -> Result<FoldReport, TrainError> {
    write_metrics(&run_dir.join("metrics.csv"), &state.history)?;
    write_curves(&run_dir.join("curves.png"), &state.history)?;
    let r = report(run_dir, fold, state, cfg);
    write_json(&run_dir.join("report.json"), &r)?;
    Ok(r)
}
