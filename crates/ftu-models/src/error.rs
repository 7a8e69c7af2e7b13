//! Errors of model construction, forward passes and weight files.

use std::path::PathBuf;

/// A tensor whose shape in a file differs from the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    pub name: String,
    pub expected: Vec<usize>,
    pub found: Vec<usize>,
}

/// Everything that can go wrong in ftu-models.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid model config: {0}")]
    Config(String),
    #[error(
        "input height {height} and width {width} must be multiples of 32 (the encoder's output stride); \
         pad to {padded_height}x{padded_width} or set `pad_input`"
    )]
    InputSize {
        height: usize,
        width: usize,
        padded_height: usize,
        padded_width: usize,
    },
    #[error("input must be NCHW with 3 channels, got shape {0:?}")]
    InputShape(Vec<usize>),
    #[error("tile {index} holds {got} bytes, expected {expected} (RGB, {height} x {width})")]
    TileLength {
        index: usize,
        got: usize,
        expected: usize,
        height: usize,
        width: usize,
    },
    #[error("{path}: weights do not match the model:{}", list_problems(.missing, .unexpected, .mismatched))]
    WeightsMismatch {
        path: PathBuf,
        missing: Vec<String>,
        unexpected: Vec<String>,
        mismatched: Vec<ShapeMismatch>,
    },
    #[error("{path}: {message}")]
    WeightsFile { path: PathBuf, message: String },
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

fn list_problems(
    missing: &[String],
    unexpected: &[String],
    mismatched: &[ShapeMismatch],
) -> String {
    const SHOW: usize = 20;
    let mut out = String::new();
    let mut section = |title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        out.push_str(&format!("\n  {} {title}:", items.len()));
        for item in items.iter().take(SHOW) {
            out.push_str(&format!("\n    {item}"));
        }
        if items.len() > SHOW {
            out.push_str(&format!("\n    … and {} more", items.len() - SHOW));
        }
    };
    section("missing", missing.to_vec());
    section("unexpected", unexpected.to_vec());
    section(
        "with the wrong shape",
        mismatched
            .iter()
            .map(|m| format!("{}: model {:?}, file {:?}", m.name, m.expected, m.found))
            .collect(),
    );
    out
}
