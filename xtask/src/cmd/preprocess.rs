//! `cargo xtask preprocess --config CFG.toml`: cut slides and tile sets into
//! a tile dataset (`images/`, `masks/`, `manifest.csv`) as the `[preprocess]`
//! table of the config says.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ftu_tiling::PreprocessConfig;
use ftu_tiling::preprocess::Progress;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args)]
pub struct PreprocessArgs {
    /// TOML file with a `[preprocess]` table (see configs/preprocess-example.toml).
    #[arg(long)]
    config: PathBuf,
}

/// One bar per slide, redrawn as tiles finish.
pub struct Bar(pub ProgressBar);

impl Progress for Bar {
    fn start(&self, slide: &str, tiles: usize) {
        self.0.set_position(0);
        self.0.set_length(tiles as u64);
        self.0.set_message(slide.to_owned());
    }

    fn tile_done(&self) {
        self.0.inc(1);
    }
}

/// The tiles bar `preprocess` draws.
pub fn tile_bar() -> Result<ProgressBar> {
    Ok(ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} tiles ({per_sec}, eta {eta})")
            .context("progress bar template")?
            .progress_chars("=> "),
    ))
}

pub fn run(args: PreprocessArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("{}: cannot read", args.config.display()))?;
    let cfg = PreprocessConfig::from_toml(&text, &args.config)?;
    let bar = tile_bar()?;
    let (rows, summary) = ftu_tiling::preprocess(&cfg, &Bar(bar.clone()))?;
    bar.finish_and_clear();
    let positive = rows.iter().filter(|r| r.has_glomerulus).count();
    println!(
        "tiles={} written={} reused={} background_skipped={} with_glomerulus={} manifest={}",
        rows.len(),
        summary.written,
        summary.reused,
        summary.background,
        positive,
        cfg.out_dir.join("manifest.csv").display()
    );
    Ok(())
}
