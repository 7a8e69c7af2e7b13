//! `cargo xtask infer --config CFG.toml [--out submission.csv]`: predict every
//! slide of the `[infer]` table's `slides` folder with its ensemble; write the
//! submission, an overlay PNG and a QuPath GeoJSON per slide.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ftu_ensemble::{InferConfig, PredictOptions, Progress, SlideInput};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct InferArgs {
    /// Experiment TOML with an `[infer]` table (see configs/infer-example.toml).
    #[arg(long)]
    config: PathBuf,
    /// Submission CSV (`id,predicted`); default `<out_dir>/submission.csv`.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A tiles bar that follows the slide being predicted.
pub fn tile_bar() -> Result<ProgressBar> {
    Ok(ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} tiles ({per_sec}, eta {eta})")
            .context("progress bar template")?
            .progress_chars("=> "),
    ))
}

/// Moves `bar` to a progress report, restarting it when a new slide begins.
pub fn show(bar: &ProgressBar, p: Progress<'_>) {
    if bar.message() != p.slide {
        bar.reset();
        bar.set_message(p.slide.to_owned());
    }
    bar.set_length(p.total as u64);
    bar.set_position(p.done as u64);
}

/// The config and its slides (with truth when the config names a CSV).
pub fn load(config: &std::path::Path) -> Result<(InferConfig, Vec<SlideInput>)> {
    let cfg = InferConfig::from_file(config)?;
    let dir = cfg.slides.clone().with_context(|| {
        format!(
            "{}: [infer] needs `slides = \"DIR\"` (a folder of *.tiff)",
            config.display()
        )
    })?;
    let slides = SlideInput::list(&dir, cfg.truth.as_deref())?;
    Ok((cfg, slides))
}

pub fn run(args: InferArgs) -> Result<()> {
    let (cfg, slides) = load(&args.config)?;
    let out = args
        .out
        .unwrap_or_else(|| cfg.out_dir.join("submission.csv"));
    let bar = tile_bar()?;
    let progress = |p: Progress<'_>| show(&bar, p);
    let opts = PredictOptions {
        progress: Some(&progress),
        ..PredictOptions::default()
    };
    let models = ftu_ensemble::load_members(&cfg.members)?;
    let mut preds = Vec::with_capacity(slides.len());
    for slide in &slides {
        let p = ftu_ensemble::predict_slide(slide, &cfg, &models, &cfg.out_dir, &opts)?;
        bar.suspend(|| {
            let dice = p.dice.map_or("-".into(), |d| format!("{d:.4}"));
            let (tiles, secs) = p.stats.map_or(("resumed".into(), String::new()), |s| {
                let mpx = (s.width * s.height) as f64 / 1e6;
                (
                    format!("{}/{}", s.tiles, s.tiles_total),
                    format!(" seconds={:.1} mpx_per_s={:.2}", s.seconds, mpx / s.seconds),
                )
            });
            println!(
                "{} {}x{} dice={dice} tiles={tiles} polygons={}{secs}",
                p.id, p.width, p.height, p.polygons
            );
        });
        preds.push(p);
    }
    bar.finish_and_clear();
    ftu_ensemble::write_submission(&out, &preds)?;
    let scores: Vec<f64> = preds.iter().filter_map(|p| p.dice).collect();
    if !scores.is_empty() {
        println!("mean_dice={:.6}", ftu_rle::mean_dice(&scores));
    }
    println!("submission={}", out.display());
    Ok(())
}
