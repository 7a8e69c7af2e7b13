//! Errors of the training crate.

/// What can go wrong while computing a loss or taking a step.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("logits {logits:?} and target {target:?} must both be (N, C, H, W) of the same shape")]
    Shape {
        logits: Vec<usize>,
        target: Vec<usize>,
    },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
