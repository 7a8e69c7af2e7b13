//! `cargo xtask eval --truth TRUTH.csv --pred PRED.csv`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Args)]
pub struct EvalArgs {
    /// Truth as `id,encoding` (train.csv or test_truth.csv).
    #[arg(long)]
    truth: PathBuf,
    /// Predictions as `id,predicted` (a submission).
    #[arg(long)]
    pred: PathBuf,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let scores = score(&args.truth, &args.pred)?;
    for (id, d) in &scores {
        println!("{id} {d:.6}");
    }
    let dice: Vec<f64> = scores.iter().map(|(_, d)| *d).collect();
    println!("mean_dice={:.6}", ftu_rle::mean_dice(&dice));
    Ok(())
}

/// Dice per truth id (in the truth file's order) of a submission: what
/// `cargo xtask eval` prints, for the stages to reuse.
pub fn score(truth_path: &Path, pred_path: &Path) -> Result<Vec<(String, f64)>> {
    let truth = ftu_rle::csv::read_encodings(truth_path)?;
    let pred: HashMap<String, String> = ftu_rle::csv::read_encodings(pred_path)?
        .into_iter()
        .collect();
    if let Some(unknown) = pred.keys().find(|id| !truth.iter().any(|(t, _)| t == *id)) {
        bail!(
            "{}: id {unknown} is not in {}",
            pred_path.display(),
            truth_path.display()
        );
    }
    let mut scores = Vec::with_capacity(truth.len());
    for (id, t) in &truth {
        // Ids missing from the prediction score as empty predictions.
        let p = pred.get(id).map_or("", String::as_str);
        // Validate each side on its own so the error names the right file.
        ftu_rle::dice_rle(t, "").with_context(|| format!("{}: id {id}", truth_path.display()))?;
        ftu_rle::dice_rle(p, "").with_context(|| format!("{}: id {id}", pred_path.display()))?;
        scores.push((id.clone(), ftu_rle::dice_rle(t, p)?));
    }
    Ok(scores)
}

/// The mean of [`score`].
pub fn mean_dice(truth_path: &Path, pred_path: &Path) -> Result<f64> {
    let dice: Vec<f64> = score(truth_path, pred_path)?
        .into_iter()
        .map(|(_, d)| d)
        .collect();
    Ok(ftu_rle::mean_dice(&dice))
}
