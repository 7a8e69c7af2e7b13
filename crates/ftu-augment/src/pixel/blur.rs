//! Blurs: box, Gaussian, median and motion.

use ndarray::{Array2, Array3};
use rand::{Rng, RngCore};
use serde::Deserialize;

use crate::error::{AugmentError, Result};
use crate::filter::{gaussian_kernel, pad_rgb, separable_rgb, sparse_rgb};
use crate::transform::{Transform, check_pair, check_range, standardise, uniform};

/// Checks an odd kernel-size range `[lo, hi]` within `3..=max`.
fn check_ksize(transform: &'static str, r: [usize; 2], max: usize) -> Result<()> {
    if r[0] < 3 || r[1] > max || r[0] > r[1] || r[0].is_multiple_of(2) || r[1].is_multiple_of(2) {
        return Err(AugmentError::InvalidParameter {
            transform,
            field: "blur_limit",
            reason: format!(
                "is [{}, {}], must be odd sizes with 3 <= low <= high <= {max}",
                r[0], r[1]
            ),
        });
    }
    Ok(())
}

/// An odd kernel size drawn uniformly from the odd values in `r`.
fn draw_ksize(rng: &mut dyn RngCore, r: [usize; 2]) -> usize {
    r[0] + 2 * rng.random_range(0..=(r[1] - r[0]) / 2)
}

/// Box (mean) blur with an odd kernel size drawn from `blur_limit`
/// (albumentations' `Blur`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Blur {
    /// Range of odd kernel sizes.
    pub blur_limit: [usize; 2],
}

impl Default for Blur {
    fn default() -> Self {
        Self { blur_limit: [3, 7] }
    }
}

impl Transform for Blur {
    fn name(&self) -> &'static str {
        "blur"
    }

    fn validate(&self) -> Result<()> {
        check_ksize(self.name(), self.blur_limit, 31)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let k = draw_ksize(rng, self.blur_limit);
        let kernel = vec![1.0 / k as f32; k];
        standardise(image);
        separable_rgb(image, &kernel, &kernel);
        Ok(())
    }
}

/// Gaussian blur with sigma drawn from `sigma_limit` (pixels); the kernel
/// radius is `ceil(3 sigma)`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaussianBlur {
    /// Range of sigma, in pixels.
    pub sigma_limit: [f32; 2],
}

impl Default for GaussianBlur {
    fn default() -> Self {
        Self {
            sigma_limit: [0.5, 1.5],
        }
    }
}

impl Transform for GaussianBlur {
    fn name(&self) -> &'static str {
        "gaussian_blur"
    }

    fn validate(&self) -> Result<()> {
        check_range(self.name(), "sigma_limit", self.sigma_limit, 0.1, 20.0)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let kernel = gaussian_kernel(uniform(rng, self.sigma_limit));
        standardise(image);
        separable_rgb(image, &kernel, &kernel);
        Ok(())
    }
}

/// Median filter per channel with an odd kernel size drawn from `blur_limit`
/// (at most 7). Removes speckle while keeping edges.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MedianBlur {
    /// Range of odd kernel sizes, within `3..=7`.
    pub blur_limit: [usize; 2],
}

impl Default for MedianBlur {
    fn default() -> Self {
        Self { blur_limit: [3, 5] }
    }
}

impl Transform for MedianBlur {
    fn name(&self) -> &'static str {
        "median_blur"
    }

    fn validate(&self) -> Result<()> {
        check_ksize(self.name(), self.blur_limit, 7)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        let (h, w) = check_pair(self.name(), image, mask)?;
        let k = draw_ksize(rng, self.blur_limit);
        let r = k / 2;
        standardise(image);
        let dst = image.as_slice_mut().expect("standard layout");
        let pad = pad_rgb(dst, h, w, r);
        let prow = (w + 2 * r) * 3;
        let n = k * k;
        // The window lives on the stack: 7 x 7 is the largest size allowed.
        let mut win = [0u8; 49];
        for (y, row) in dst.chunks_exact_mut(w * 3).enumerate() {
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                for (c, v) in px.iter_mut().enumerate() {
                    let base = y * prow + x * 3 + c;
                    if k == 3 {
                        let at = |dy: usize, dx: usize| pad[base + dy * prow + dx * 3];
                        *v = median9([
                            at(0, 0),
                            at(0, 1),
                            at(0, 2),
                            at(1, 0),
                            at(1, 1),
                            at(1, 2),
                            at(2, 0),
                            at(2, 1),
                            at(2, 2),
                        ]);
                    } else {
                        for dy in 0..k {
                            for dx in 0..k {
                                win[dy * k + dx] = pad[base + dy * prow + dx * 3];
                            }
                        }
                        let (_, m, _) = win[..n].select_nth_unstable(n / 2);
                        *v = *m;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Median of nine by a 19-exchange sorting network (Paeth, Graphics Gems;
/// as Devillard's `opt_med9`): branch-free, far faster than a general select.
#[inline(always)]
fn median9(mut p: [u8; 9]) -> u8 {
    let mut s = |a: usize, b: usize| {
        let (lo, hi) = (p[a].min(p[b]), p[a].max(p[b]));
        p[a] = lo;
        p[b] = hi;
    };
    s(1, 2);
    s(4, 5);
    s(7, 8);
    s(0, 1);
    s(3, 4);
    s(6, 7);
    s(1, 2);
    s(4, 5);
    s(7, 8);
    s(0, 3);
    s(5, 8);
    s(4, 7);
    s(3, 6);
    s(1, 4);
    s(2, 5);
    s(4, 7);
    s(4, 2);
    s(6, 4);
    s(4, 2);
    p[4]
}

/// Motion blur: the mean along a line of odd length drawn from `blur_limit`,
/// through the pixel, at a uniformly random angle.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MotionBlur {
    /// Range of odd line lengths.
    pub blur_limit: [usize; 2],
}

impl Default for MotionBlur {
    fn default() -> Self {
        Self { blur_limit: [3, 7] }
    }
}

impl Transform for MotionBlur {
    fn name(&self) -> &'static str {
        "motion_blur"
    }

    fn validate(&self) -> Result<()> {
        check_ksize(self.name(), self.blur_limit, 31)
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let k = draw_ksize(rng, self.blur_limit);
        let angle = uniform(rng, [0.0, std::f32::consts::PI]);
        let (s, c) = angle.sin_cos();
        let r = (k / 2) as isize;
        let mut taps: Vec<(isize, isize, f32)> = Vec::with_capacity(k);
        for t in -r..=r {
            let tap = (
                (t as f32 * s).round() as isize,
                (t as f32 * c).round() as isize,
                0.0,
            );
            if !taps.iter().any(|p| (p.0, p.1) == (tap.0, tap.1)) {
                taps.push(tap);
            }
        }
        let wgt = 1.0 / taps.len() as f32;
        taps.iter_mut().for_each(|t| t.2 = wgt);
        standardise(image);
        sparse_rgb(image, &taps);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn median9_network_agrees_with_sorting() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        for _ in 0..20_000 {
            // Few distinct values, so ties are common.
            let p: [u8; 9] = std::array::from_fn(|_| rng.random_range(0..6u8) * 40);
            let mut sorted = p;
            sorted.sort_unstable();
            assert_eq!(median9(p), sorted[4], "{p:?}");
        }
    }

    #[test]
    fn median5_matches_a_direct_computation() {
        let img = Array3::from_shape_fn((6, 7, 3), |(y, x, c)| {
            ((y * 37 + x * 91 + c * 13) % 256) as u8
        });
        let mut out = img.clone();
        let mut mask = Array2::zeros((6, 7));
        MedianBlur { blur_limit: [5, 5] }
            .apply(
                &mut out,
                &mut mask,
                &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
            )
            .unwrap();
        let (y, x, c) = (3, 2, 1);
        let mut win: Vec<u8> = (1..6)
            .flat_map(|yy| (0..5).map(move |xx| (yy, xx)))
            .map(|(yy, xx)| img[[yy, xx, c]])
            .collect();
        win.sort_unstable();
        assert_eq!(out[[y, x, c]], win[12]);
    }

    #[test]
    fn median_removes_salt_noise() {
        let mut img = Array3::from_elem((9, 9, 3), 50u8);
        img[[4, 4, 1]] = 255;
        img[[0, 0, 0]] = 0;
        let mut mask = Array2::zeros((9, 9));
        let t = MedianBlur { blur_limit: [3, 3] };
        t.apply(
            &mut img,
            &mut mask,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
        assert!(img.iter().all(|&v| v == 50));
    }

    #[test]
    fn kernel_size_ranges_are_checked_and_drawn_odd() {
        assert!(Blur { blur_limit: [4, 7] }.validate().is_err());
        assert!(MedianBlur { blur_limit: [3, 9] }.validate().is_err());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut seen = [false; 8];
        for _ in 0..200 {
            let k = draw_ksize(&mut rng, [3, 7]);
            assert!(k % 2 == 1 && (3..=7).contains(&k));
            seen[k] = true;
        }
        assert!(seen[3] && seen[5] && seen[7]);
    }

    #[test]
    fn motion_blur_smears_a_dot_along_a_line() {
        let mut img = Array3::zeros((15, 15, 3));
        img[[7, 7, 0]] = 240;
        let mut mask = Array2::zeros((15, 15));
        let t = MotionBlur { blur_limit: [7, 7] };
        t.apply(
            &mut img,
            &mut mask,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(4),
        )
        .unwrap();
        let lit = img.iter().filter(|&&v| v > 0).count();
        assert!((3..=7).contains(&lit), "{lit} pixels lit");
        assert_eq!(img[[7, 7, 1]], 0);
    }
}
