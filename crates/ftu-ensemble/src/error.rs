//! Errors of slide inference.

use std::path::PathBuf;

/// Everything that can go wrong in [`predict_slides`](crate::predict_slides)
/// and [`ablation`](crate::ablation()); each names the file or setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    /// The configuration is inconsistent (message says which field and why).
    #[error("config: {0}")]
    Config(String),
    /// A config file could not be read or parsed.
    #[error("{path}: {message}")]
    ConfigFile { path: PathBuf, message: String },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A slide could not be read, resized or stitched.
    #[error(transparent)]
    Tiling(Box<ftu_tiling::TilingError>),
    /// A model failed to build, load weights or run.
    #[error("{context}: {source}")]
    Model {
        context: String,
        #[source]
        source: Box<ftu_models::ModelError>,
    },
    /// A tensor operation failed (shape or dtype of a model's output).
    #[error("{context}: {source}")]
    Tensor {
        context: String,
        #[source]
        source: Box<candle_core::Error>,
    },
    /// A TTA transform failed.
    #[error(transparent)]
    Tta(Box<ftu_augment::AugmentError>),
    /// The DenseCRF refinement failed.
    #[error("slide {slide}: DenseCRF: {source}")]
    Crf {
        slide: String,
        #[source]
        source: Box<ftu_crf::CrfError>,
    },
    /// RLE encoding, decoding or CSV I/O failed.
    #[error(transparent)]
    Rle(Box<ftu_rle::RleError>),
    /// GeoJSON output failed.
    #[error(transparent)]
    Polygon(Box<ftu_polygon::PolygonError>),
    /// Truth for a slide is malformed (e.g. RLE beyond the slide).
    #[error("truth for slide {slide}: {message}")]
    Truth { slide: String, message: String },
    /// An image could not be encoded.
    #[error("{path}: {message}")]
    Image { path: PathBuf, message: String },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, EnsembleError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EnsembleError {
    let path = path.into();
    move |source| EnsembleError::Io { path, source }
}

macro_rules! boxed_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for EnsembleError {
            fn from(e: $t) -> Self {
                EnsembleError::$v(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    ftu_tiling::TilingError => Tiling,
    ftu_augment::AugmentError => Tta,
    ftu_rle::RleError => Rle,
    ftu_polygon::PolygonError => Polygon
);

impl EnsembleError {
    /// A tensor error with what was being done.
    pub fn tensor(context: impl Into<String>, source: candle_core::Error) -> Self {
        EnsembleError::Tensor {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// A model error with what was being done.
    pub fn model(context: impl Into<String>, source: ftu_models::ModelError) -> Self {
        EnsembleError::Model {
            context: context.into(),
            source: Box::new(source),
        }
    }
}
