//! Errors: every malformed input names where it is.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RleError {
    #[error("odd number of tokens ({count}): the last start has no length")]
    OddTokenCount { count: usize },
    #[error("token {index} ({token:?}) is not a non-negative integer")]
    NotANumber { index: usize, token: String },
    #[error("token {index}: run length is 0")]
    ZeroLength { index: usize },
    #[error("token {index}: start {start} < 1 (starts are 1-indexed)")]
    StartBelowOne { index: usize, start: u64 },
    #[error("token {index}: run {start} {length} ends past the mask's {size} pixels")]
    PastEnd {
        index: usize,
        start: u64,
        length: u64,
        size: u64,
    },
    #[error(
        "token {index}: run starting at {start} overlaps or precedes the previous run, which ends at {previous_end}"
    )]
    Unsorted {
        index: usize,
        start: u64,
        previous_end: u64,
    },
    #[error("band is {got} pixels wide, the mask is {expected}")]
    BandWidth { expected: usize, got: usize },
    #[error("bands hold {got} rows, more than the mask's height {height}")]
    TooManyRows { height: usize, got: usize },
    #[error("bands ended after {got} of the mask's {height} rows")]
    Incomplete { height: usize, got: usize },
    #[error("window rows {rows:?} x cols {cols:?} is outside the {height} x {width} mask")]
    Window {
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
        height: usize,
        width: usize,
    },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },
}
