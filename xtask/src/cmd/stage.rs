//! `cargo xtask stage1 --config CFG`, `cargo xtask stage2 --config CFG` and
//! `cargo xtask demo [--out DIR]`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::experiment::config::ExperimentConfig;
use crate::experiment::stage::{self, Stage, StageOptions};

#[derive(Args)]
pub struct StageArgs {
    /// Experiment file (see docs/config.md and configs/).
    #[arg(long)]
    config: PathBuf,
    /// Redo finished steps instead of skipping them.
    #[arg(long)]
    force: bool,
    /// Log lines instead of progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
pub struct DemoArgs {
    /// Output folder.
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    /// Redo finished steps instead of skipping them.
    #[arg(long)]
    force: bool,
    /// Log lines instead of progress bars.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: StageArgs, which: Stage) -> Result<()> {
    let cfg = ExperimentConfig::load(&args.config)?;
    let opts = StageOptions {
        force: args.force,
        quiet: args.quiet,
    };
    let outcome = stage::run(&cfg, which, opts)?;
    let dir = cfg.experiment.out_dir.join(which.dir_name());
    println!("report={}", dir.join("report.md").display());
    println!("submission={}", outcome.submission.display());
    // Last, as `eval` prints it, when the test truth is known.
    if let Some(d) = outcome.test_dice {
        println!("mean_dice={d:.6}");
    }
    Ok(())
}

pub fn demo(args: DemoArgs) -> Result<()> {
    let opts = StageOptions {
        force: args.force,
        quiet: args.quiet,
    };
    let dice = crate::experiment::demo::run(&args.out, opts)?;
    println!("mean_dice={dice:.6}");
    Ok(())
}
