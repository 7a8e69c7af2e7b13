//! The model: unary energies, pairwise terms, mean-field inference.

use ndarray::{Array2, Array3, ArrayView3, Axis};
use rayon::prelude::*;

use crate::error::CrfError;
use crate::pairwise::{Features, Kernel, PairwiseTerm, Window};

/// Pixels per parallel work item in the per-pixel passes (fixed, so the
/// work split never depends on the thread count; these passes have no
/// cross-pixel sums anyway).
const PIXEL_BLOCK: usize = 1 << 14;

/// Tiled inference: the image is cut into `tile x tile` cores, each solved
/// with `overlap` pixels of context on every side (clipped at the border).
/// Memory then depends on the tile size, not the image size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Core tile side in pixels (> 0).
    pub tile: usize,
    /// Context margin in pixels around each core.
    pub overlap: usize,
}

impl Default for Tiling {
    /// 1024-pixel cores with 128 pixels of context (1.6 widths of the
    /// default bilateral sxy of 80).
    fn default() -> Self {
        Self {
            tile: 1024,
            overlap: 128,
        }
    }
}

/// A fully connected CRF over a `width x height` image with `labels` labels
/// (pydensecrf's `DenseCRF2D`).
///
/// Set a unary with [`set_unary_energy`](Self::set_unary_energy), add any
/// number of pairwise terms, then call [`inference`](Self::inference). The
/// permutohedral lattices are built inside `inference`, per window in tiled
/// mode, so adding terms is cheap and validation happens up front.
#[derive(Clone, Debug)]
pub struct DenseCrf2d {
    width: usize,
    height: usize,
    labels: usize,
    /// Pixel-major `height * width * labels`.
    unary: Option<Vec<f32>>,
    terms: Vec<PairwiseTerm>,
}

fn check_positive(name: &'static str, value: f32) -> Result<(), CrfError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(CrfError::InvalidParameter {
            name,
            value: value as f64,
            reason: "must be finite and > 0",
        })
    }
}

fn check_finite(name: &'static str, value: f32) -> Result<(), CrfError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(CrfError::InvalidParameter {
            name,
            value: value as f64,
            reason: "must be finite",
        })
    }
}

impl DenseCrf2d {
    /// A model for a `width x height` image and `labels` labels (>= 1).
    pub fn new(width: usize, height: usize, labels: usize) -> Result<Self, CrfError> {
        if width == 0 || height == 0 {
            return Err(CrfError::InvalidParameter {
                name: if width == 0 { "width" } else { "height" },
                value: 0.0,
                reason: "must be > 0",
            });
        }
        if labels == 0 {
            return Err(CrfError::InvalidParameter {
                name: "labels",
                value: 0.0,
                reason: "must be > 0",
            });
        }
        Ok(Self {
            width,
            height,
            labels,
            unary: None,
            terms: Vec::new(),
        })
    }

    /// Image width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Image height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Number of labels.
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// Sets the unary energy (`-ln p` per label), shape `(labels, height, width)`
    /// as made by [`unary_from_softmax`](crate::unary_from_softmax) or
    /// [`unary_from_labels`](crate::unary_from_labels). Energies must be finite.
    pub fn set_unary_energy(&mut self, energy: ArrayView3<f32>) -> Result<(), CrfError> {
        let expected = (self.labels, self.height, self.width);
        if energy.dim() != expected {
            return Err(CrfError::ShapeMismatch {
                what: "unary energy",
                expected: vec![expected.0, expected.1, expected.2],
                found: energy.shape().to_vec(),
            });
        }
        let mut unary = vec![0.0f32; self.labels * self.height * self.width];
        for ((label, row, col), &value) in energy.indexed_iter() {
            if !value.is_finite() {
                return Err(CrfError::NonFinite {
                    what: "unary energy",
                    label,
                    row,
                    col,
                    value,
                });
            }
            unary[(row * self.width + col) * self.labels + label] = value;
        }
        self.unary = Some(unary);
        Ok(())
    }

    /// Adds a Gaussian smoothness term over pixel position with width `sxy`
    /// and Potts weight `compat` (pydensecrf's `addPairwiseGaussian`).
    pub fn add_pairwise_gaussian(&mut self, sxy: f32, compat: f32) -> Result<(), CrfError> {
        check_positive("sxy", sxy)?;
        check_finite("compat", compat)?;
        self.terms.push(PairwiseTerm {
            features: Features::Gaussian { sxy },
            compat,
        });
        Ok(())
    }

    /// Adds an appearance term over position (`sxy`) and colour (`srgb`) of
    /// an RGB `image` of shape `(height, width, 3)`, with Potts weight
    /// `compat` (pydensecrf's `addPairwiseBilateral`).
    pub fn add_pairwise_bilateral(
        &mut self,
        sxy: f32,
        srgb: f32,
        image: ArrayView3<u8>,
        compat: f32,
    ) -> Result<(), CrfError> {
        check_positive("sxy", sxy)?;
        check_positive("srgb", srgb)?;
        check_finite("compat", compat)?;
        let expected = (self.height, self.width, 3);
        if image.dim() != expected {
            return Err(CrfError::ShapeMismatch {
                what: "bilateral image",
                expected: vec![expected.0, expected.1, expected.2],
                found: image.shape().to_vec(),
            });
        }
        self.terms.push(PairwiseTerm {
            features: Features::Bilateral {
                sxy,
                srgb,
                rgb: image.iter().copied().collect(),
                image_width: self.width,
            },
            compat,
        });
        Ok(())
    }

    /// Runs `iterations` mean-field updates and returns the marginals `Q`,
    /// shape `(labels, height, width)`, each pixel summing to 1.
    ///
    /// Two labels take a fast path that filters one channel per term
    /// (`K q_0 - K q_1 = K (q_0 - q_1)`); more labels filter all channels together.
    pub fn inference(&self, iterations: usize) -> Result<Array3<f32>, CrfError> {
        let q = self.solve_window(self.full_window(), iterations, false)?;
        Ok(self.to_label_major(&q))
    }

    /// Like [`inference`](Self::inference), but solved tile by tile with
    /// context margins: for inputs too large to hold one lattice. Each output
    /// pixel comes from the tile whose core contains it.
    pub fn inference_tiled(
        &self,
        iterations: usize,
        tiling: Tiling,
    ) -> Result<Array3<f32>, CrfError> {
        if tiling.tile == 0 {
            return Err(CrfError::InvalidParameter {
                name: "tile",
                value: 0.0,
                reason: "must be > 0",
            });
        }
        let (w, h, l) = (self.width, self.height, self.labels);
        let mut q = vec![0.0f32; w * h * l];
        for ty in (0..h).step_by(tiling.tile) {
            for tx in (0..w).step_by(tiling.tile) {
                let core_w = tiling.tile.min(w - tx);
                let core_h = tiling.tile.min(h - ty);
                let x0 = tx.saturating_sub(tiling.overlap);
                let y0 = ty.saturating_sub(tiling.overlap);
                let x1 = (tx + core_w + tiling.overlap).min(w);
                let y1 = (ty + core_h + tiling.overlap).min(h);
                let window = Window {
                    x0,
                    y0,
                    width: x1 - x0,
                    height: y1 - y0,
                };
                let tile_q = self.solve_window(window, iterations, false)?;
                for y in ty..ty + core_h {
                    let src = ((y - y0) * window.width + (tx - x0)) * l;
                    let dst = (y * w + tx) * l;
                    q[dst..dst + core_w * l].copy_from_slice(&tile_q[src..src + core_w * l]);
                }
            }
        }
        Ok(self.to_label_major(&q))
    }

    /// The most likely label per pixel after `iterations` mean-field updates
    /// (pydensecrf's `map`).
    pub fn map(&self, iterations: usize) -> Result<Array2<u32>, CrfError> {
        Ok(argmax(&self.inference(iterations)?))
    }

    fn full_window(&self) -> Window {
        Window {
            x0: 0,
            y0: 0,
            width: self.width,
            height: self.height,
        }
    }

    fn to_label_major(&self, q: &[f32]) -> Array3<f32> {
        let (w, h, l) = (self.width, self.height, self.labels);
        Array3::from_shape_fn((l, h, w), |(label, y, x)| q[(y * w + x) * l + label])
    }

    /// Mean field on one window; returns pixel-major marginals of the window.
    /// `generic` forces the all-channel path (to test the two-label one).
    pub(crate) fn solve_window(
        &self,
        window: Window,
        iterations: usize,
        generic: bool,
    ) -> Result<Vec<f32>, CrfError> {
        let unary_full = self.unary.as_ref().ok_or(CrfError::MissingUnary)?;
        let l = self.labels;
        let n = window.pixels();
        // The whole image borrows the unary; a tile copies its rows.
        let unary: std::borrow::Cow<[f32]> = if n == self.width * self.height {
            std::borrow::Cow::Borrowed(unary_full)
        } else {
            let mut rows = Vec::with_capacity(n * l);
            for y in window.y0..window.y0 + window.height {
                let start = (y * self.width + window.x0) * l;
                rows.extend_from_slice(&unary_full[start..start + window.width * l]);
            }
            std::borrow::Cow::Owned(rows)
        };
        let mut kernels = if iterations == 0 {
            Vec::new()
        } else {
            self.terms
                .iter()
                .map(|t| t.build(window))
                .collect::<Result<Vec<Kernel>, _>>()?
        };
        Ok(if l == 2 && !generic {
            mean_field_binary(&unary, &mut kernels, iterations)
        } else {
            mean_field(&unary, l, &mut kernels, iterations)
        })
    }
}

/// `Q = softmax(-U)` then repeatedly `Q = softmax(-U + sum_k w_k K_k Q)`
/// (DenseCRF's `inference` with Potts compatibilities), all labels at once.
fn mean_field(unary: &[f32], l: usize, kernels: &mut [Kernel], iterations: usize) -> Vec<f32> {
    let mut q = vec![0.0f32; unary.len()];
    let mut logits: Vec<f32> = unary.iter().map(|u| -u).collect();
    softmax_rows(&logits, l, &mut q);
    let mut message = vec![0.0f32; unary.len()];
    for _ in 0..iterations {
        logits.par_iter_mut().zip(unary).for_each(|(t, u)| *t = -u);
        for kernel in kernels.iter_mut() {
            kernel.apply(&q, l, &mut message);
            let w = kernel.compat;
            // DenseCRF: tmp -= (-w * KQ).
            logits
                .par_chunks_mut(PIXEL_BLOCK)
                .zip(message.par_chunks(PIXEL_BLOCK))
                .for_each(|(t, m)| t.iter_mut().zip(m).for_each(|(t, m)| *t -= -w * m));
        }
        softmax_rows(&logits, l, &mut q);
    }
    q
}

fn softmax_rows(logits: &[f32], l: usize, q: &mut [f32]) {
    q.par_chunks_mut(PIXEL_BLOCK * l)
        .zip(logits.par_chunks(PIXEL_BLOCK * l))
        .for_each(|(q, logits)| {
            for (q, x) in q.chunks_exact_mut(l).zip(logits.chunks_exact(l)) {
                let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for (q, &x) in q.iter_mut().zip(x) {
                    *q = (x - max).exp();
                    sum += *q;
                }
                for q in q.iter_mut() {
                    *q /= sum;
                }
            }
        });
}

/// The stable pair `(q0, q1) = softmax(a, 0)`.
#[inline(always)]
fn binary_pair(a: f32) -> (f32, f32) {
    let e = (-a.abs()).exp();
    let (big, small) = (1.0 / (1.0 + e), e / (1.0 + e));
    if a >= 0.0 { (big, small) } else { (small, big) }
}

/// The two-label specialisation. Only the logit difference
/// `a = l_0 - l_1` matters, and by linearity of the filter the difference of
/// the two Potts messages is `w * K(q_0 - q_1)`: each term filters the one
/// channel `s = q_0 - q_1` instead of two.
fn mean_field_binary(unary: &[f32], kernels: &mut [Kernel], iterations: usize) -> Vec<f32> {
    let n = unary.len() / 2;
    // -(U_0 - U_1): the unary part of the logit difference.
    let base: Vec<f32> = unary.chunks_exact(2).map(|u| u[1] - u[0]).collect();
    let mut diff = base.clone();
    let mut s = vec![0.0f32; n];
    let mut message = vec![0.0f32; n];
    for _ in 0..iterations {
        s.par_chunks_mut(PIXEL_BLOCK)
            .zip(diff.par_chunks(PIXEL_BLOCK))
            .for_each(|(s, a)| {
                for (s, &a) in s.iter_mut().zip(a) {
                    let (q0, q1) = binary_pair(a);
                    *s = q0 - q1;
                }
            });
        diff.copy_from_slice(&base);
        for kernel in kernels.iter_mut() {
            kernel.apply(&s, 1, &mut message);
            let w = kernel.compat;
            diff.par_chunks_mut(PIXEL_BLOCK)
                .zip(message.par_chunks(PIXEL_BLOCK))
                .for_each(|(d, m)| {
                    for (d, &m) in d.iter_mut().zip(m) {
                        *d += w * m;
                    }
                });
        }
    }
    let mut q = vec![0.0f32; 2 * n];
    q.par_chunks_mut(2 * PIXEL_BLOCK)
        .zip(diff.par_chunks(PIXEL_BLOCK))
        .for_each(|(q, a)| {
            for (q, &a) in q.chunks_exact_mut(2).zip(a) {
                (q[0], q[1]) = binary_pair(a);
            }
        });
    q
}

/// The index of the largest marginal per pixel (the first on ties, as
/// `numpy.argmax`), from `Q` of shape `(labels, height, width)`.
pub fn argmax(q: &Array3<f32>) -> Array2<u32> {
    let (_, h, w) = q.dim();
    let mut best = Array2::<u32>::zeros((h, w));
    let mut best_value = q.index_axis(Axis(0), 0).to_owned();
    for (label, plane) in q.axis_iter(Axis(0)).enumerate().skip(1) {
        ndarray::Zip::from(&mut best)
            .and(&mut best_value)
            .and(&plane)
            .for_each(|b, bv, &v| {
                if v > *bv {
                    *bv = v;
                    *b = label as u32;
                }
            });
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unary::{DEFAULT_CLIP, unary_from_foreground, unary_from_softmax};
    use ndarray::Array2;

    fn scene(w: usize, h: usize) -> (Array3<u8>, Array2<f32>) {
        let image = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
            let inside =
                (x as f32 - w as f32 / 2.0).hypot(y as f32 - h as f32 / 2.0) < h as f32 / 3.0;
            let base = if inside {
                [200u8, 60, 120]
            } else {
                [230, 210, 220]
            };
            base[c].wrapping_add(((x * 7 + y * 13) % 11) as u8)
        });
        let prob = Array2::from_shape_fn((h, w), |(y, x)| {
            let inside =
                (x as f32 - w as f32 / 2.0).hypot(y as f32 - h as f32 / 2.0) < h as f32 / 3.0;
            let noise = ((x * 31 + y * 17) % 23) as f32 / 23.0 - 0.5;
            (if inside { 0.7 } else { 0.3 } + 0.5 * noise).clamp(0.0, 1.0)
        });
        (image, prob)
    }

    fn binary_model(image: &Array3<u8>, prob: &Array2<f32>) -> DenseCrf2d {
        let (h, w) = prob.dim();
        let mut crf = DenseCrf2d::new(w, h, 2).unwrap();
        let u = unary_from_foreground(prob.view(), Some(DEFAULT_CLIP)).unwrap();
        crf.set_unary_energy(u.view()).unwrap();
        crf.add_pairwise_gaussian(3.0, 3.0).unwrap();
        crf.add_pairwise_bilateral(20.0, 13.0, image.view(), 10.0)
            .unwrap();
        crf
    }

    #[test]
    fn binary_fast_path_matches_generic_path() {
        let (image, prob) = scene(64, 48);
        let crf = binary_model(&image, &prob);
        let window = crf.full_window();
        let fast = crf.solve_window(window, 5, false).unwrap();
        let generic = crf.solve_window(window, 5, true).unwrap();
        let worst = fast
            .iter()
            .zip(&generic)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "fast vs generic: {worst}");
    }

    #[test]
    fn smoothing_removes_noise_inside_the_disc() {
        let (image, prob) = scene(64, 48);
        let crf = binary_model(&image, &prob);
        let map = crf.map(5).unwrap();
        let noisy = prob.mapv(|p| u32::from(p > 0.5));
        let truth = Array2::from_shape_fn((48, 64), |(y, x)| {
            u32::from((x as f32 - 32.0).hypot(y as f32 - 24.0) < 16.0)
        });
        let errors = |m: &Array2<u32>| m.iter().zip(&truth).filter(|(a, b)| a != b).count();
        assert!(
            errors(&map) * 3 < errors(&noisy),
            "CRF errors {} vs threshold errors {}",
            errors(&map),
            errors(&noisy)
        );
    }

    #[test]
    fn marginals_sum_to_one_with_three_labels() {
        let (image, _) = scene(40, 30);
        let p = Array3::from_shape_fn((3, 30, 40), |(l, y, x)| ((l + x + y) % 3 + 1) as f32 / 6.0);
        let u = unary_from_softmax(p.view(), None, Some(DEFAULT_CLIP)).unwrap();
        let mut crf = DenseCrf2d::new(40, 30, 3).unwrap();
        crf.set_unary_energy(u.view()).unwrap();
        crf.add_pairwise_bilateral(10.0, 13.0, image.view(), 5.0)
            .unwrap();
        let q = crf.inference(3).unwrap();
        for y in 0..30 {
            for x in 0..40 {
                let s: f32 = (0..3).map(|l| q[[l, y, x]]).sum();
                assert!((s - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn missing_unary_is_an_error() {
        let crf = DenseCrf2d::new(4, 4, 2).unwrap();
        assert_eq!(crf.inference(1).unwrap_err(), CrfError::MissingUnary);
    }
}
