//! Noise, blur and dropout: they change the image only.

mod blur;
mod dropout;
mod noise;

pub use blur::{Blur, GaussianBlur, MedianBlur, MotionBlur};
pub use dropout::CoarseDropout;
pub use noise::GaussNoise;
