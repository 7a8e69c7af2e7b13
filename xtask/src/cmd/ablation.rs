//! `cargo xtask ablation --config CFG.toml`: the recipe's inference ablation
//! table (single models vs ensemble, TTA, threshold vs DenseCRF) on slides
//! with known truth; writes `ablation.md` and `ablation.csv` to `out_dir`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ftu_ensemble::Progress;

use super::infer::{load, show, tile_bar};

#[derive(Args)]
pub struct AblationArgs {
    /// Experiment TOML with an `[infer]` table naming `slides` and `truth`.
    #[arg(long)]
    config: PathBuf,
}

pub fn run(args: AblationArgs) -> Result<()> {
    let (cfg, slides) = load(&args.config)?;
    let bar = tile_bar()?;
    let progress = |p: Progress<'_>| show(&bar, p);
    let table = ftu_ensemble::ablation(&slides, &cfg, &cfg.out_dir, Some(&progress))?;
    bar.finish_and_clear();
    print!("{}", table.to_markdown());
    println!(
        "ablation={} csv={}",
        cfg.out_dir.join("ablation.md").display(),
        cfg.out_dir.join("ablation.csv").display()
    );
    Ok(())
}
