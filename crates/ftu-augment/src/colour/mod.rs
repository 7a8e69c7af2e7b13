//! Colour transforms: they change the image only and leave the mask untouched.

mod brightness;
mod clahe;
mod hsv;
mod lut;
mod stain;

pub use brightness::{RandomBrightnessContrast, RandomGamma};
pub use clahe::Clahe;
pub use hsv::HueSaturationValue;
pub use stain::StainJitter;
