//! `cargo xtask demo`: the whole recipe on synthetic slides. The embedded
//! `configs/demo.toml` holds a `[demo]` table (what to synthesise) and an
//! ordinary experiment whose paths start with `runs/demo`; `--out DIR`
//! replaces that prefix.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::config::ExperimentConfig;
use super::report::comparison_table;
use super::stage::{self, Stage, StageOptions};
use super::state::Steps;

/// The embedded default.
pub const DEMO_TOML: &str = include_str!("../../../configs/demo.toml");
/// The output folder `configs/demo.toml` names.
const DEFAULT_OUT: &str = "runs/demo";

/// The `[demo]` table: synthetic data sets to write before stage 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoData {
    /// Labelled training slides, held-out test slides (truth known, never
    /// trained on) and their size; written to `<out>/data/synth`.
    pub synth: ftu_synth::DatasetParams,
    /// Unlabelled slides for stage 2's pseudo labels, written to
    /// `<out>/data/extra/test` (their truth is not used).
    pub extra: ftu_synth::DatasetParams,
}

/// Splits the demo file into its synthetic data and the experiment, with
/// every `runs/demo` path moved under `out`.
pub fn demo_config(text: &str, out: &Path) -> Result<(DemoData, ExperimentConfig)> {
    let mut table: toml::Table = toml::from_str(text).context("configs/demo.toml")?;
    let demo = table
        .remove("demo")
        .context("configs/demo.toml: no [demo] table")?;
    let demo: DemoData = demo.try_into().context("configs/demo.toml: [demo]")?;
    let mut cfg: ExperimentConfig = toml::Value::Table(table)
        .try_into()
        .context("configs/demo.toml")?;
    let move_path = |p: &mut PathBuf| {
        if let Ok(rest) = p.strip_prefix(DEFAULT_OUT) {
            *p = out.join(rest);
        }
    };
    move_path(&mut cfg.experiment.out_dir);
    for c in &mut cfg.data.competition {
        move_path(&mut c.dir);
    }
    cfg.data.external_tiles.iter_mut().for_each(move_path);
    move_path(&mut cfg.data.test_slides);
    if let Some(t) = &mut cfg.data.test_truth {
        move_path(t);
    }
    cfg.data.extra_slides.iter_mut().for_each(move_path);
    cfg.check_shape().context("configs/demo.toml")?;
    Ok((demo, cfg))
}

/// Runs the demo; returns the stage-2 ensemble's mean Dice on the held-out
/// slides.
pub fn run(out: &Path, opts: StageOptions) -> Result<f64> {
    let start = Instant::now();
    let (demo, cfg) = demo_config(DEMO_TOML, out)?;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut steps = Steps::open(out, opts.force)?;
    for (name, params) in [("synth", &demo.synth), ("extra", &demo.extra)] {
        let dir = out.join("data").join(name);
        steps.run(&format!("demo/{name}"), params, &[&dir], |_| {
            ftu_synth::write_dataset(&dir, params)
                .map(|_| ())
                .with_context(|| format!("synth into {}", dir.display()))
        })?;
    }
    drop(steps);
    let two = stage::run(&cfg, Stage::Two, opts)?;
    let one: stage::StageOutcome =
        stage::read_json(&cfg.experiment.out_dir.join("stage1").join("outcome.json"))?;
    println!("\n{}", comparison_table(&one, &two));
    println!(
        "demo finished in {:.1} min; reports: {}/stage1/report.md, {}/stage2/report.md",
        start.elapsed().as_secs_f64() / 60.0,
        out.display(),
        out.display()
    );
    two.test_dice
        .context("configs/demo.toml: the demo needs [data] test_truth to score")
}
