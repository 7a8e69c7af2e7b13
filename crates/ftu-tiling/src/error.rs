//! The crate's error type: every variant names the file and what is wrong.

use std::path::PathBuf;

/// Errors from reading slides, labels and configurations, and from writing tiles.
#[derive(Debug, thiserror::Error)]
pub enum TilingError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TIFF header or an image directory could not be parsed.
    #[error("{path}: page {page}: invalid TIFF: {source}")]
    Tiff {
        path: PathBuf,
        page: usize,
        #[source]
        source: tiff::TiffError,
    },
    /// One chunk (tile or strip) is missing, truncated or fails to decompress.
    #[error("{path}: page {page}, chunk {chunk} (at x={x}, y={y}): {source}")]
    Chunk {
        path: PathBuf,
        page: usize,
        chunk: u32,
        x: u64,
        y: u64,
        #[source]
        source: tiff::TiffError,
    },
    /// The file is a valid TIFF but stores something this reader does not handle.
    #[error("{path}: unsupported: {what}")]
    Unsupported { path: PathBuf, what: String },
    /// A declared size exceeds a documented limit (decompression-bomb guard).
    #[error("{path}: {what} needs {bytes} bytes, above the limit of {limit} bytes")]
    TooLarge {
        path: PathBuf,
        what: String,
        bytes: u64,
        limit: u64,
    },
    /// The file's contents contradict themselves (e.g. too few chunk offsets).
    #[error("{path}: malformed: {what}")]
    Malformed { path: PathBuf, what: String },
    /// A PNG image or mask could not be decoded or encoded.
    #[error("{path}: PNG: {source}")]
    Png {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    /// A label source (RLE, polygon JSON, CSV) is invalid.
    #[error("{path}: {what}")]
    Label { path: PathBuf, what: String },
    /// Run-length encoding failed (e.g. bands that do not add up to the mask).
    #[error("RLE: {0}")]
    Rle(#[from] ftu_rle::RleError),
    /// A caller passed arguments that cannot work (zero tile size, bad shapes).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl TilingError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TilingError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = TilingError> = std::result::Result<T, E>;
