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

use ndarray::Array3;

use crate::transform::standardise;

/// Replaces every RGB pixel `p` of `image` by `f(p)`: the loop shared by the
/// colour transforms that need all three channels at once (a lookup table
/// serves those that map each channel alone, see `lut`).
fn map_rgb(image: &mut Array3<u8>, f: impl Fn([u8; 3]) -> [u8; 3]) {
    standardise(image);
    let (pixels, _) = image
        .as_slice_mut()
        .expect("standard layout")
        .as_chunks_mut::<3>();
    for px in pixels {
        *px = f(*px);
    }
}
