//! `cargo xtask train --config CFG.toml [--folds 0,2] [--resume] [--quiet]`:
//! k-fold training as the `[train]` table of the config says; the tile
//! dataset defaults to the `[preprocess]` table's `out_dir`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ftu_train::{ProgressMode, TrainConfig, TrainOptions};

#[derive(Args)]
pub struct TrainArgs {
    /// Experiment TOML with a `[train]` table (see configs/train-synth.toml).
    #[arg(long)]
    config: PathBuf,
    /// Folds to train, comma-separated (default: every fold of the dataset).
    #[arg(long, value_delimiter = ',')]
    folds: Vec<usize>,
    /// Continue from each fold's last.safetensors; finished folds are skipped.
    #[arg(long)]
    resume: bool,
    /// Plain log lines instead of progress bars.
    #[arg(long)]
    quiet: bool,
}

/// The dataset folder: `[train] data_dir`, else `[preprocess] out_dir`.
fn data_dir(cfg: &TrainConfig, text: &str, origin: &Path) -> Result<PathBuf> {
    if let Some(d) = &cfg.data_dir {
        return Ok(d.clone());
    }
    let doc: toml::Table =
        toml::from_str(text).with_context(|| format!("{}: not TOML", origin.display()))?;
    match doc
        .get("preprocess")
        .and_then(|p| p.get("out_dir"))
        .and_then(|d| d.as_str())
    {
        Some(d) => Ok(PathBuf::from(d)),
        None => bail!(
            "{}: no [train] data_dir and no [preprocess] out_dir: where are the tiles?",
            origin.display()
        ),
    }
}

pub fn run(args: TrainArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("{}: cannot read", args.config.display()))?;
    let cfg = TrainConfig::from_toml(&text, &args.config)?;
    let data = data_dir(&cfg, &text, &args.config)?;
    let out = cfg
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/train"));
    std::fs::create_dir_all(&out).with_context(|| format!("{}: cannot create", out.display()))?;
    let opts = TrainOptions {
        resume: args.resume,
        progress: if args.quiet {
            ProgressMode::Log
        } else {
            ProgressMode::Bars
        },
    };
    let cv = ftu_train::train_folds(&data, &out, &args.folds, &cfg, &opts)
        .with_context(|| format!("training from {} into {}", data.display(), out.display()))?;
    for r in &cv.folds {
        println!(
            "fold={} best_dice={:.4} best_epoch={} best_threshold={:.2} best_threshold_dice={:.4} epochs={} seconds={:.1}",
            r.fold,
            r.best_dice,
            r.best_epoch,
            r.best_threshold,
            r.best_threshold_dice,
            r.epochs_run,
            r.seconds
        );
    }
    println!(
        "mean_dice={:.4} std_dice={:.4} cv={}",
        cv.mean_dice,
        cv.std_dice,
        out.join("cv.json").display()
    );
    Ok(())
}
