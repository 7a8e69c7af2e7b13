//! What the networks expect as input: RGB tiles normalised with the
//! ImageNet mean and standard deviation, as smp's `get_preprocessing_fn`
//! does for EfficientNet encoders. Training and inference both build their
//! batches here, so the two can never disagree.

use candle_core::{Device, Tensor};

use crate::error::ModelError;

/// Per-channel mean of ImageNet, on the 0–1 scale.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// Per-channel standard deviation of ImageNet, on the 0–1 scale.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Writes one `H x W x 3` interleaved RGB tile into `out` (`3 * H * W`
/// floats, channel-major), normalised: `(v / 255 - mean) / std`.
///
/// # Panics
/// When `rgb` is not `3 * H * W` bytes or `out` not the same length.
pub fn normalize_into(rgb: &[u8], out: &mut [f32]) {
    assert_eq!(rgb.len(), out.len(), "normalize_into: length mismatch");
    assert_eq!(rgb.len() % 3, 0, "normalize_into: not RGB");
    let plane = rgb.len() / 3;
    // v * scale + shift == (v / 255 - mean) / std, one fused multiply-add.
    let scale = IMAGENET_STD.map(|s| 1.0 / (255.0 * s));
    let shift: [f32; 3] = std::array::from_fn(|c| -IMAGENET_MEAN[c] / IMAGENET_STD[c]);
    let (r, rest) = out.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        r[i] = px[0] as f32 * scale[0] + shift[0];
        g[i] = px[1] as f32 * scale[1] + shift[1];
        b[i] = px[2] as f32 * scale[2] + shift[2];
    }
}

/// A `(N, 3, H, W)` f32 batch from `N` interleaved RGB tiles of `height x
/// width` pixels each, normalised as [`normalize_into`].
pub fn batch_tensor(
    tiles: &[&[u8]],
    height: usize,
    width: usize,
    device: &Device,
) -> Result<Tensor, ModelError> {
    let len = 3 * height * width;
    let mut data = vec![0f32; tiles.len() * len];
    for (i, (tile, out)) in tiles.iter().zip(data.chunks_exact_mut(len)).enumerate() {
        if tile.len() != len {
            return Err(ModelError::TileLength {
                index: i,
                got: tile.len(),
                expected: len,
                height,
                width,
            });
        }
        normalize_into(tile, out);
    }
    Ok(Tensor::from_vec(
        data,
        (tiles.len(), 3, height, width),
        device,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_textbook_formula() {
        let rgb: Vec<u8> = (0..2 * 3 * 3).map(|i| (i * 14) as u8).collect();
        let t = batch_tensor(&[&rgb[..9], &rgb[9..]], 1, 3, &Device::Cpu).unwrap();
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        for n in 0..2 {
            for c in 0..3 {
                for x in 0..3 {
                    let byte = rgb[n * 9 + x * 3 + c] as f32;
                    let want = (byte / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
                    assert!((v[n * 9 + c * 3 + x] - want).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn wrong_tile_length_is_an_error() {
        assert!(batch_tensor(&[&[0u8; 5]], 1, 3, &Device::Cpu).is_err());
    }
}
