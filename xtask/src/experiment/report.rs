//! `report.md` per stage and `compare.md` (stage 1 vs stage 2).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::config::ExperimentConfig;
use super::stage::{Stage, StageOutcome};

/// A stage's report: config, CV table, selected folds, ablation, links.
pub fn write_stage(
    path: &Path,
    cfg: &ExperimentConfig,
    stage: Stage,
    outcome: &StageOutcome,
) -> Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "# {} report\n", stage.dir_name());
    let _ = writeln!(md, "## Cross-validation (validation Dice per fold)\n");
    let _ = writeln!(md, "| model | fold | Dice | curves |\n|---|---|---|---|");
    for (model, folds) in &outcome.cv {
        for (fold, dice) in folds {
            let _ = writeln!(
                md,
                "| {model} | {fold} | {dice:.4} | [curves](models/{model}/fold{fold}/curves.png) |"
            );
        }
        let d: Vec<f64> = folds.iter().map(|f| f.1).collect();
        let (mean, std) = mean_std(&d);
        let _ = writeln!(md, "| {model} | mean ± std | {mean:.4} ± {std:.4} | |");
    }
    let _ = writeln!(md, "\n## Ensemble members\n");
    let _ = writeln!(
        md,
        "| model | fold | CV Dice | holdout Dice | score |\n|---|---|---|---|---|"
    );
    for s in &outcome.selected {
        let holdout = s.holdout_dice.map_or("—".into(), |d| format!("{d:.4}"));
        let _ = writeln!(
            md,
            "| {} | {} | {:.4} | {holdout} | {:.4} |",
            s.model, s.fold, s.cv_dice, s.score
        );
    }
    let _ = writeln!(md, "\n## Test slides\n");
    let _ = writeln!(
        md,
        "Submission: [`infer/submission.csv`](infer/submission.csv); QuPath polygons in `infer/geojson/`."
    );
    if let Some(d) = outcome.test_dice {
        let _ = writeln!(md, "\nEnsemble Dice on the test slides: **{d:.4}**");
    }
    // Overlays: green true positive, magenta false positive, blue false
    // negative when the truth is known; the prediction (yellow) otherwise.
    if let Some(dir) = path.parent() {
        let mut overlays: Vec<String> = std::fs::read_dir(dir.join("infer").join("overlays"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".png"))
            .collect();
        overlays.sort();
        for name in overlays {
            let _ = writeln!(md, "\n![{name}](infer/overlays/{name})");
        }
    }
    if !outcome.ablation.is_empty() {
        let _ = writeln!(md, "\n## Ablation\n\n| Inference setup | Dice |\n|---|---|");
        for (row, dice) in &outcome.ablation {
            let _ = writeln!(md, "| {row} | {dice:.4} |");
        }
    }
    let _ = writeln!(
        md,
        "\n## Configuration\n\n```toml\n{}```",
        toml::to_string(cfg)?
    );
    crate::io::write_atomic(path, |f| std::io::Write::write_all(f, md.as_bytes()))
}

/// The recipe's stage 1 vs stage 2 table, as markdown.
pub fn comparison_table(one: &StageOutcome, two: &StageOutcome) -> String {
    let mut md = String::from("| Inference setup | Stage 1 | Stage 2 |\n|---|---|---|\n");
    for (row, d1) in &one.ablation {
        let d2 = two
            .ablation
            .iter()
            .find(|(r, _)| r == row)
            .map_or("—".into(), |(_, d)| format!("{d:.4}"));
        let _ = writeln!(md, "| {row} | {d1:.4} | {d2} |");
    }
    if let (Some(a), Some(b)) = (one.test_dice, two.test_dice) {
        let _ = writeln!(md, "| Submission (configured setup) | {a:.4} | {b:.4} |");
    }
    md
}

pub fn write_comparison(path: &Path, one: &StageOutcome, two: &StageOutcome) -> Result<()> {
    let md = format!(
        "# Stage 1 vs stage 2 (mean Dice on the test slides)\n\n{}",
        comparison_table(one, two)
    );
    crate::io::write_atomic(path, |f| std::io::Write::write_all(f, md.as_bytes()))
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    (mean, var.sqrt())
}
