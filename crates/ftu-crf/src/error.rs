//! The one error type of the crate.

use thiserror::Error;

/// Everything that can go wrong when setting up or running the CRF.
///
/// Each variant names the input and, where there is one, the position of the
/// offending value, so a caller can say which file or pixel was at fault.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CrfError {
    /// An array does not have the shape the model was created with.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// Which input (e.g. "bilateral image", "unary energy").
        what: &'static str,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape that was given.
        found: Vec<usize>,
    },
    /// A parameter is out of its valid range.
    #[error("parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name as in the API (e.g. "sxy", "gt_prob").
        name: &'static str,
        /// The value given.
        value: f64,
        /// What the valid range is.
        reason: &'static str,
    },
    /// A value is NaN or infinite where a finite one is needed.
    #[error("{what} at (label {label}, row {row}, col {col}) is not finite ({value})")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Label (channel) index.
        label: usize,
        /// Pixel row.
        row: usize,
        /// Pixel column.
        col: usize,
        /// The value found.
        value: f32,
    },
    /// A hard label is outside `0..n_labels` (or `0..=n_labels` with `zero_unsure`).
    #[error("label {label} at (row {row}, col {col}) is out of range for {n_labels} labels")]
    LabelOutOfRange {
        /// The label found.
        label: u32,
        /// Pixel row.
        row: usize,
        /// Pixel column.
        col: usize,
        /// Number of labels of the model.
        n_labels: usize,
    },
    /// `inference` was called before a unary energy was set.
    #[error("no unary energy set: call set_unary_energy before inference")]
    MissingUnary,
    /// Feature coordinates are too large for the lattice keys; use tiled inference.
    #[error(
        "pixel (row {row}, col {col}) has lattice coordinate {coordinate}, beyond the key range \
         ±{limit}; use a larger sxy/srgb or tiled inference"
    )]
    FeatureRange {
        /// Pixel row.
        row: usize,
        /// Pixel column.
        col: usize,
        /// The offending lattice coordinate.
        coordinate: i64,
        /// The largest magnitude a key coordinate may have.
        limit: i64,
    },
    /// The problem has more lattice vertices than 32-bit indices can address.
    #[error("{what} needs {count} entries, more than 32-bit indices allow; use tiled inference")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// How many entries were needed.
        count: usize,
    },
}
