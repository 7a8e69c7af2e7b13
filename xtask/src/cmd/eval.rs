//! `cargo xtask eval --truth TRUTH.csv --pred PRED.csv`.

use std::collections::HashMap;
use std::path::PathBuf;

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
    let truth = ftu_rle::csv::read_encodings(&args.truth)?;
    let pred: HashMap<String, String> = ftu_rle::csv::read_encodings(&args.pred)?
        .into_iter()
        .collect();
    if let Some(unknown) = pred.keys().find(|id| !truth.iter().any(|(t, _)| t == *id)) {
        bail!(
            "{}: id {unknown} is not in {}",
            args.pred.display(),
            args.truth.display()
        );
    }
    let mut scores = Vec::with_capacity(truth.len());
    for (id, t) in &truth {
        // Ids missing from the prediction score as empty predictions.
        let p = pred.get(id).map_or("", String::as_str);
        // Validate each side on its own so the error names the right file.
        ftu_rle::dice_rle(t, "").with_context(|| format!("{}: id {id}", args.truth.display()))?;
        ftu_rle::dice_rle(p, "").with_context(|| format!("{}: id {id}", args.pred.display()))?;
        let d = ftu_rle::dice_rle(t, p)?;
        println!("{id} {d:.6}");
        scores.push(d);
    }
    println!("mean_dice={:.6}", ftu_rle::mean_dice(&scores));
    Ok(())
}
