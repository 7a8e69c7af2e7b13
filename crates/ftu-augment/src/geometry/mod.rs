//! Geometric transforms: they move the image and the mask together.

mod affine;
mod crop;
mod elastic;
mod flip;
mod grid;
mod optical;

pub use affine::ShiftScaleRotate;
pub use crop::{CropNonEmptyMaskIfExists, RandomResizedCrop};
pub use elastic::ElasticTransform;
pub use flip::{HorizontalFlip, RandomRotate90, Transpose, VerticalFlip};
pub use grid::GridDistortion;
pub use optical::OpticalDistortion;
