//! Point operations through a 256-entry lookup table.

use ndarray::Array3;

use crate::transform::round_u8;

/// Replaces every channel value `v` by `lut[v]`.
pub(crate) fn apply_lut(image: &mut Array3<u8>, lut: &[u8; 256]) {
    image.mapv_inplace(|v| lut[v as usize]);
}

/// Builds a table from `f`, rounding and clamping to `[0, 255]`.
pub(crate) fn build_lut(f: impl Fn(f32) -> f32) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (i, v) in lut.iter_mut().enumerate() {
        *v = round_u8(f(i as f32));
    }
    lut
}
