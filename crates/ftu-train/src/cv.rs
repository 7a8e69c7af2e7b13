//! `cv.json`: every finished fold's best score and epoch, with the mean
//! and (population) standard deviation over folds, and the choice of the
//! `k` best folds for ensembling.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// What a fold's training achieved (`fold<k>/report.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldReport {
    /// The held-out fold.
    pub fold: usize,
    /// The run directory (`config.toml`, `best.safetensors`, ...).
    pub run_dir: PathBuf,
    /// 0-based epoch of `best.safetensors`.
    pub best_epoch: usize,
    /// The selection score of that epoch (global validation Dice).
    pub best_dice: f64,
    /// Dice at the configured threshold at that epoch.
    pub best_epoch_dice_at_threshold: f64,
    /// Best grid threshold at that epoch, and its Dice.
    pub best_threshold: f64,
    pub best_threshold_dice: f64,
    /// Epochs trained.
    pub epochs_run: usize,
    /// True when early stopping ended the fold.
    pub stopped_early: bool,
    /// Training time over all epochs (seconds).
    pub seconds: f64,
}

/// The cross-validation summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvSummary {
    /// One report per finished fold, by fold number.
    pub folds: Vec<FoldReport>,
    /// Mean of the folds' `best_dice`.
    pub mean_dice: f64,
    /// Population standard deviation of the folds' `best_dice`.
    pub std_dice: f64,
}

impl CvSummary {
    /// Summarises `reports` (sorted by fold).
    pub fn new(mut reports: Vec<FoldReport>) -> Self {
        reports.sort_by_key(|r| r.fold);
        let n = reports.len().max(1) as f64;
        let mean = reports.iter().map(|r| r.best_dice).sum::<f64>() / n;
        let var = reports
            .iter()
            .map(|r| (r.best_dice - mean).powi(2))
            .sum::<f64>()
            / n;
        Self {
            folds: reports,
            mean_dice: mean,
            std_dice: var.sqrt(),
        }
    }

    /// The `k` folds with the highest best Dice, best first (ties: lower fold first).
    pub fn best_folds(&self, k: usize) -> Vec<usize> {
        let mut order: Vec<&FoldReport> = self.folds.iter().collect();
        order.sort_by(|a, b| {
            b.best_dice
                .total_cmp(&a.best_dice)
                .then(a.fold.cmp(&b.fold))
        });
        order.into_iter().take(k).map(|r| r.fold).collect()
    }

    /// Reads a `cv.json`.
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::Data {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Writes `value` as pretty JSON, atomically.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).expect("plain data serialises");
    write_text(path, &(text + "\n"))
}

/// Writes a text file atomically.
pub(crate) fn write_text(path: &Path, text: &str) -> Result<(), TrainError> {
    use std::io::Write;
    let out = ftu_outfile::AtomicFile::create(path).map_err(|e| TrainError::io(path, e))?;
    out.file()
        .write_all(text.as_bytes())
        .map_err(|e| TrainError::io(path, e))?;
    out.commit().map_err(|e| TrainError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(fold: usize, dice: f64) -> FoldReport {
        FoldReport {
            fold,
            run_dir: PathBuf::from(format!("fold{fold}")),
            best_epoch: 1,
            best_dice: dice,
            best_epoch_dice_at_threshold: dice,
            best_threshold: 0.4,
            best_threshold_dice: dice,
            epochs_run: 2,
            stopped_early: false,
            seconds: 1.0,
        }
    }

    #[test]
    fn mean_std_and_best_folds() {
        let cv = CvSummary::new(vec![
            report(2, 0.9),
            report(0, 0.8),
            report(1, 0.9),
            report(3, 0.6),
        ]);
        assert_eq!(
            cv.folds.iter().map(|r| r.fold).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert!((cv.mean_dice - 0.8).abs() < 1e-12);
        // Deviations .0, .1, .1, -.2: variance (0 + .01 + .01 + .04) / 4.
        assert!((cv.std_dice - 0.015f64.sqrt()).abs() < 1e-12);
        assert_eq!(cv.best_folds(3), vec![1, 2, 0]);
        assert_eq!(cv.best_folds(9).len(), 4);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cv.json");
        write_json(&path, &cv).unwrap();
        let again = CvSummary::read(&path).unwrap();
        assert_eq!(again.folds, cv.folds);
        assert!((again.std_dice - cv.std_dice).abs() < 1e-15);
    }
}
