//! Crops: random-resized crop and a crop that prefers labelled pixels.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, s};
use rand::{Rng, RngCore};
use serde::Deserialize;

use crate::border::Border;
use crate::error::{AugmentError, Result};
use crate::transform::{Transform, check_pair, check_range, uniform};
use crate::warp::remap;

/// Resizes a crop to `out_h x out_w` (image bilinear, mask nearest), with
/// pixel centres aligned as OpenCV's `resize` does.
fn resize(
    image: ArrayView3<u8>,
    mask: ArrayView2<u8>,
    out_h: usize,
    out_w: usize,
) -> (Array3<u8>, Array2<u8>) {
    let (h, w, _) = image.dim();
    let (sy, sx) = (h as f32 / out_h as f32, w as f32 / out_w as f32);
    remap(image, mask, out_h, out_w, Border::Reflect, |y, x| {
        ((y as f32 + 0.5) * sy - 0.5, (x as f32 + 0.5) * sx - 0.5)
    })
}

fn check_size(transform: &'static str, height: usize, width: usize) -> Result<()> {
    if height == 0 || width == 0 {
        return Err(AugmentError::InvalidParameter {
            transform,
            field: "height/width",
            reason: format!("is {height} x {width}, must be non-zero"),
        });
    }
    Ok(())
}

fn default_scale() -> [f32; 2] {
    [0.08, 1.0]
}

fn default_ratio() -> [f32; 2] {
    [0.75, 4.0 / 3.0]
}

/// Crops a random region of random area and aspect ratio, then resizes it to
/// `height x width` (torchvision / albumentations `RandomResizedCrop`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomResizedCrop {
    /// Output height.
    pub height: usize,
    /// Output width.
    pub width: usize,
    /// Range of the crop's area as a fraction of the tile's.
    #[serde(default = "default_scale")]
    pub scale: [f32; 2],
    /// Range of the crop's width / height ratio.
    #[serde(default = "default_ratio")]
    pub ratio: [f32; 2],
}

impl RandomResizedCrop {
    /// A crop to `height x width` with the usual scale `[0.08, 1]` and ratio `[3/4, 4/3]`.
    pub fn new(height: usize, width: usize) -> Self {
        Self {
            height,
            width,
            scale: default_scale(),
            ratio: default_ratio(),
        }
    }
}

impl Transform for RandomResizedCrop {
    fn name(&self) -> &'static str {
        "random_resized_crop"
    }

    fn validate(&self) -> Result<()> {
        check_size(self.name(), self.height, self.width)?;
        check_range(self.name(), "scale", self.scale, 1e-4, 1.0)?;
        check_range(self.name(), "ratio", self.ratio, 1e-2, 1e2)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let area = (h * w) as f32;
        let log_ratio = [self.ratio[0].ln(), self.ratio[1].ln()];
        // Ten tries as torchvision; then fall back to the largest centred crop
        // whose ratio lies in range.
        let mut region = None;
        for _ in 0..10 {
            let a = area * uniform(rng, self.scale);
            let r = uniform(rng, log_ratio).exp();
            let cw = (a * r).sqrt().round() as usize;
            let ch = (a / r).sqrt().round() as usize;
            if (1..=w).contains(&cw) && (1..=h).contains(&ch) {
                let y0 = rng.random_range(0..=h - ch);
                let x0 = rng.random_range(0..=w - cw);
                region = Some((y0, x0, ch, cw));
                break;
            }
        }
        let (y0, x0, ch, cw) = region.unwrap_or_else(|| {
            let r = w as f32 / h as f32;
            let (ch, cw) = if r < self.ratio[0] {
                (((w as f32 / self.ratio[0]).round() as usize).clamp(1, h), w)
            } else if r > self.ratio[1] {
                (h, ((h as f32 * self.ratio[1]).round() as usize).clamp(1, w))
            } else {
                (h, w)
            };
            ((h - ch) / 2, (w - cw) / 2, ch, cw)
        });
        let (img, m) = resize(
            image.slice(s![y0..y0 + ch, x0..x0 + cw, ..]),
            mask.slice(s![y0..y0 + ch, x0..x0 + cw]),
            self.height,
            self.width,
        );
        *image = img;
        *mask = m;
        Ok(())
    }
}

/// Crops `height x width` around a random labelled (non-zero) mask pixel when
/// the mask has one, else anywhere (albumentations'
/// `CropNonEmptyMaskIfExists`): it keeps glomeruli in most training crops.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropNonEmptyMaskIfExists {
    /// Crop height.
    pub height: usize,
    /// Crop width.
    pub width: usize,
}

impl Transform for CropNonEmptyMaskIfExists {
    fn name(&self) -> &'static str {
        "crop_non_empty_mask_if_exists"
    }

    fn validate(&self) -> Result<()> {
        check_size(self.name(), self.height, self.width)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let (ch, cw) = (self.height, self.width);
        if ch > h || cw > w {
            return Err(AugmentError::TooSmall {
                transform: self.name(),
                height: h,
                width: w,
                reason: format!("the crop is {ch} x {cw}"),
            });
        }
        let labelled = mask.iter().filter(|&&v| v != 0).count();
        let (y0, x0) = if labelled > 0 {
            // Pick the k-th labelled pixel in raster order; no index list is built.
            let k = rng.random_range(0..labelled);
            let (idx, _) = mask
                .indexed_iter()
                .filter(|(_, v)| **v != 0)
                .nth(k)
                .expect("k < labelled");
            let (py, px) = idx;
            let y0 = rng.random_range(py.saturating_sub(ch - 1)..=py.min(h - ch));
            let x0 = rng.random_range(px.saturating_sub(cw - 1)..=px.min(w - cw));
            (y0, x0)
        } else {
            (rng.random_range(0..=h - ch), rng.random_range(0..=w - cw))
        };
        let img = image.slice(s![y0..y0 + ch, x0..x0 + cw, ..]).to_owned();
        let m = mask.slice(s![y0..y0 + ch, x0..x0 + cw]).to_owned();
        *image = img;
        *mask = m;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn non_empty_crop_always_contains_a_label() {
        let mut mask = Array2::<u8>::zeros((64, 64));
        mask[[60, 3]] = 1;
        let t = CropNonEmptyMaskIfExists {
            height: 16,
            width: 16,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for _ in 0..50 {
            let mut i = Array3::<u8>::zeros((64, 64, 3));
            let mut m = mask.clone();
            t.apply(&mut i, &mut m, &mut rng).unwrap();
            assert_eq!(m.dim(), (16, 16));
            assert_eq!(m.iter().filter(|&&v| v == 1).count(), 1);
        }
        let mut i = Array3::<u8>::zeros((8, 64, 3));
        let mut m = Array2::<u8>::zeros((8, 64));
        let err = t.apply(&mut i, &mut m, &mut rng).unwrap_err().to_string();
        assert!(err.contains("8 x 64") && err.contains("16 x 16"), "{err}");
    }

    #[test]
    fn resized_crop_has_the_requested_size() {
        let t = RandomResizedCrop::new(24, 40);
        t.validate().unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for (h, w) in [(50, 50), (7, 90), (90, 7)] {
            let mut i = Array3::<u8>::from_elem((h, w, 3), 9);
            let mut m = Array2::<u8>::from_elem((h, w), 1);
            t.apply(&mut i, &mut m, &mut rng).unwrap();
            assert_eq!(i.dim(), (24, 40, 3));
            assert!(i.iter().all(|&v| v == 9) && m.iter().all(|&v| v == 1));
        }
        let bad = RandomResizedCrop {
            scale: [0.9, 0.2],
            ..RandomResizedCrop::new(4, 4)
        };
        assert!(bad.validate().unwrap_err().to_string().contains("scale"));
    }
}
