//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while building or running augmentations.
#[derive(Debug, thiserror::Error)]
pub enum AugmentError {
    /// A transform parameter is out of its valid range.
    #[error("{transform}: parameter `{field}` {reason}")]
    InvalidParameter {
        /// Transform name, as used in configs (e.g. `shift_scale_rotate`).
        transform: &'static str,
        /// The offending field.
        field: &'static str,
        /// What is wrong with it, including the value.
        reason: String,
    },
    /// A pipeline step probability outside `[0, 1]` (or NaN).
    #[error("pipeline step {step} ({transform}): probability {p} is not in [0, 1]")]
    InvalidProbability {
        /// Zero-based step index.
        step: usize,
        /// Transform name of that step.
        transform: &'static str,
        /// The probability given.
        p: f64,
    },
    /// The image is not an RGB `H x W x 3` array.
    #[error("{transform}: image must be H x W x 3 (RGB), got {height} x {width} x {channels}")]
    NotRgb {
        /// Transform that saw it.
        transform: &'static str,
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// Number of channels found.
        channels: usize,
    },
    /// Image and mask sizes differ.
    #[error(
        "{transform}: image is {image_h} x {image_w} but mask is {mask_h} x {mask_w}; they must match"
    )]
    ShapeMismatch {
        /// Transform that saw it.
        transform: &'static str,
        /// Image height.
        image_h: usize,
        /// Image width.
        image_w: usize,
        /// Mask height.
        mask_h: usize,
        /// Mask width.
        mask_w: usize,
    },
    /// The tile is smaller than a crop asks for, or empty.
    #[error("{transform}: tile {height} x {width} is too small ({reason})")]
    TooSmall {
        /// Transform that saw it.
        transform: &'static str,
        /// Tile height.
        height: usize,
        /// Tile width.
        width: usize,
        /// What size was needed.
        reason: String,
    },
    /// A pipeline config could not be parsed (the message carries line and column).
    #[error("pipeline config {}: {source}", origin.as_ref().map_or("<string>".to_string(), |p| p.display().to_string()))]
    Config {
        /// File the config came from, if any.
        origin: Option<PathBuf>,
        /// The TOML error, which names the line, column and field.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A pipeline config file could not be read.
    #[error("reading pipeline config {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An unknown TTA set name.
    #[error("unknown TTA set `{0}`; expected one of `none`, `flips`, `d4`")]
    UnknownTtaSet(String),
    /// A TTA batch of the wrong rank.
    #[error("TTA expects an NCHW batch (rank 4), got rank {0}")]
    TtaRank(usize),
    /// An error from candle while transforming a tensor.
    #[cfg(feature = "candle")]
    #[error("TTA on a candle tensor: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Shorthand for results in this crate.
pub type Result<T, E = AugmentError> = std::result::Result<T, E>;
