//! Errors of the training crate.

use std::path::{Path, PathBuf};

/// What can go wrong while configuring, loading data, or training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("logits {logits:?} and target {target:?} must both be (N, C, H, W) of the same shape")]
    Shape {
        logits: Vec<usize>,
        target: Vec<usize>,
    },
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error("invalid training configuration: {0}")]
    Invalid(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Data { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },
    #[error(
        "fold {fold}: {what} is not finite at epoch {epoch}, step {step}; stopped (the last good checkpoint is kept)"
    )]
    NonFinite {
        fold: usize,
        epoch: usize,
        step: u64,
        what: String,
    },
    #[error(transparent)]
    Model(#[from] ftu_models::ModelError),
    #[error(transparent)]
    Tiling(#[from] ftu_tiling::TilingError),
    #[error(transparent)]
    Augment(#[from] ftu_augment::AugmentError),
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl TrainError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
