//! Exact symmetries: flips, transpose and right-angle rotations (no resampling).

use ndarray::{Array2, Array3};
use rand::{Rng, RngCore};
use serde::Deserialize;

use crate::error::Result;
use crate::transform::{Transform, check_pair, standardise};
use crate::tta::D4;

/// Copies a row-major `h x w` grid of `C`-element pixels with `g` applied:
/// whole rows (reversed for a left-right flip) when the axes stay, a strided
/// gather when they swap. Pixels move as `[T; C]` arrays, so each copy is a
/// register move rather than a `memcpy` call. Returns the new `(h, w)`.
fn permute<T: Copy + Default, const C: usize>(
    src: &[T],
    h: usize,
    w: usize,
    g: D4,
) -> (Vec<T>, usize, usize) {
    let (inv_h, inv_w, swap) = g.ops();
    let (px, _) = src.as_chunks::<C>();
    let mut out = vec![[T::default(); C]; h * w];
    if !swap {
        for (i, dst) in out.chunks_exact_mut(w).enumerate() {
            let r = if inv_h { h - 1 - i } else { i };
            let row = &px[r * w..(r + 1) * w];
            if inv_w {
                for (d, s) in dst.iter_mut().zip(row.iter().rev()) {
                    *d = *s;
                }
            } else {
                dst.copy_from_slice(row);
            }
        }
        (out.into_flattened(), h, w)
    } else {
        // out[i][j] = src[row j (maybe inverted)][column i (maybe inverted)]
        for (i, dst) in out.chunks_exact_mut(h).enumerate() {
            let col = if inv_w { w - 1 - i } else { i };
            for (j, d) in dst.iter_mut().enumerate() {
                let row = if inv_h { h - 1 - j } else { j };
                *d = px[row * w + col];
            }
        }
        (out.into_flattened(), w, h)
    }
}

/// Applies a D4 element to the spatial axes of both arrays.
pub(crate) fn apply_d4(g: D4, image: &mut Array3<u8>, mask: &mut Array2<u8>) {
    if g == D4::Identity {
        return;
    }
    standardise(image);
    if !mask.is_standard_layout() {
        *mask = mask.as_standard_layout().into_owned();
    }
    let (h, w, _) = image.dim();
    let (img, oh, ow) = permute::<u8, 3>(image.as_slice().expect("standard layout"), h, w, g);
    let (m, _, _) = permute::<u8, 1>(mask.as_slice().expect("standard layout"), h, w, g);
    *image = Array3::from_shape_vec((oh, ow, 3), img).expect("same size");
    *mask = Array2::from_shape_vec((oh, ow), m).expect("same size");
}

macro_rules! d4_transform {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $g:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {}

        impl Transform for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn validate(&self) -> Result<()> {
                Ok(())
            }
            fn apply(
                &self,
                image: &mut Array3<u8>,
                mask: &mut Array2<u8>,
                _rng: &mut dyn RngCore,
            ) -> Result<()> {
                check_pair($name, image, mask)?;
                apply_d4($g, image, mask);
                Ok(())
            }
        }
    };
}

d4_transform!(
    /// Mirrors left-right.
    HorizontalFlip,
    "horizontal_flip",
    D4::HFlip
);
d4_transform!(
    /// Mirrors top-bottom.
    VerticalFlip,
    "vertical_flip",
    D4::VFlip
);
d4_transform!(
    /// Swaps rows and columns (a non-square tile changes shape).
    Transpose,
    "transpose",
    D4::Transpose
);

/// Rotates by 0, 90, 180 or 270 degrees, each equally likely.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomRotate90 {}

impl Transform for RandomRotate90 {
    fn name(&self) -> &'static str {
        "random_rotate90"
    }
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let g = [D4::Identity, D4::Rot90, D4::Rot180, D4::Rot270][rng.random_range(0..4)];
        apply_d4(g, image, mask);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_matches_the_d4_views() {
        for (h, w) in [(3, 5), (4, 4), (6, 1)] {
            let img = Array3::from_shape_fn((h, w, 3), |(y, x, c)| (y * 40 + x * 4 + c) as u8);
            let mask = Array2::from_shape_fn((h, w), |(y, x)| (y * 10 + x) as u8);
            for g in D4::ALL {
                let (mut i, mut m) = (img.clone(), mask.clone());
                apply_d4(g, &mut i, &mut m);
                assert_eq!(i, g.view(&img, 0, 1), "{g} {h}x{w}");
                assert_eq!(m, g.view(&mask, 0, 1), "{g} {h}x{w}");
            }
        }
    }
}
