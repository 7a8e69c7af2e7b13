//! Errors: each names the file and what went wrong with it.
//!
//! The underlying error is part of the message and deliberately not exposed
//! as `source()`: the xtask prints the whole chain on one line, and a
//! source would repeat it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: TIFF encoding failed: {error}")]
    Tiff {
        path: PathBuf,
        error: tiff::TiffError,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: run-length encoding of its mask failed: {error}")]
    Rle {
        path: PathBuf,
        error: ftu_rle::RleError,
    },
    /// Writing a CSV of encodings (the error names the file).
    #[error(transparent)]
    RleFile(ftu_rle::RleError),
    #[error(transparent)]
    Polygon(#[from] ftu_polygon::PolygonError),
    #[error("{path}: CSV writing failed: {error}")]
    Csv { path: PathBuf, error: csv::Error },
}
