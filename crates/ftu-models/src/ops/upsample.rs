//! Integer-factor upsampling of NCHW maps as candle `CustomOp1`s with their
//! own backward: nearest (Unet's and FPN's decoders) and bilinear with
//! aligned corners (FPN's segmentation blocks and head).
//!
//! As candle ops, nearest is a broadcast plus a strided copy whose backward
//! is candle's single-threaded strided sum, and bilinear is two batched
//! matmuls by small interpolation matrices (one copy of the matrix per plane)
//! with two more per gradient. Here each is one pass per plane, planes in
//! parallel. Nearest's backward adds each block's gradients in the order
//! candle's sum does, so it is bit-identical to the candle composition.
//! CPU, f32 / f64, rank 4; elsewhere the layers use candle's ops.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{Float, float_kernel};

fn dims(l: &Layout) -> Result<(usize, usize, usize, usize)> {
    match l.dims() {
        &[n, c, h, w] => Ok((n, c, h, w)),
        d => candle_core::bail!("upsample expects NCHW, got {d:?}"),
    }
}

/// Run `f(src_plane, dst_plane)` over the planes of `src` (`src_plane`
/// elements each) into a new buffer of `dst_plane` elements per plane.
fn per_plane<T: Float>(
    src: &[T],
    src_plane: usize,
    dst_plane: usize,
    f: impl Fn(&[T], &mut [T]) + Sync,
) -> Vec<T> {
    let planes = src.len() / src_plane.max(1);
    let mut dst = vec![T::default(); planes * dst_plane];
    dst.par_chunks_mut(dst_plane.max(1))
        .zip(src.par_chunks(src_plane.max(1)))
        .for_each(|(d, s)| f(s, d));
    dst
}

/// Nearest upsampling by integer factors `(fh, fw)`.
struct Nearest {
    fh: usize,
    fw: usize,
}

impl Nearest {
    fn run<T: Float>(&self, x: &[T], h: usize, w: usize) -> Vec<T> {
        let (fh, fw) = (self.fh, self.fw);
        let tw = w * fw;
        per_plane(x, h * w, h * fh * tw, |src, dst| {
            for (r, row) in src.chunks(w).enumerate() {
                let first = &mut dst[r * fh * tw..(r * fh + 1) * tw];
                for (o, &v) in first.chunks_mut(fw).zip(row) {
                    o.fill(v);
                }
                for k in 1..fh {
                    dst.copy_within(r * fh * tw..(r * fh + 1) * tw, (r * fh + k) * tw);
                }
            }
        })
    }
}

impl CustomOp1 for Nearest {
    fn name(&self) -> &'static str {
        "upsample-nearest"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = dims(l)?;
        let out = float_kernel!("upsample-nearest", [(x, s, l)], self.run(x, h, w));
        Ok((out, Shape::from((n, c, h * self.fh, w * self.fw))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = NearestGrad {
            fh: self.fh,
            fw: self.fw,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

/// The gradient of [`Nearest`]: each input pixel sums its `fh x fw` block.
struct NearestGrad {
    fh: usize,
    fw: usize,
}

impl NearestGrad {
    fn run<T: Float>(&self, g: &[T], th: usize, tw: usize) -> Vec<T> {
        let (fh, fw) = (self.fh, self.fw);
        let w = tw / fw;
        per_plane(g, th * tw, (th / fh) * w, |src, dst| {
            // Block rows then columns, each added to a zero start: the order
            // of candle's sum over the broadcast dimensions.
            for (r, out) in dst.chunks_mut(w).enumerate() {
                for k in 0..fh {
                    let row = &src[(r * fh + k) * tw..(r * fh + k + 1) * tw];
                    for (o, block) in out.iter_mut().zip(row.chunks(fw)) {
                        for &v in block {
                            *o += v;
                        }
                    }
                }
            }
        })
    }
}

impl CustomOp1 for NearestGrad {
    fn name(&self) -> &'static str {
        "upsample-nearest-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, th, tw) = dims(l)?;
        if th % self.fh != 0 || tw % self.fw != 0 {
            candle_core::bail!("nearest gradient {th}x{tw} is not a multiple of the factors")
        }
        let out = float_kernel!("upsample-nearest-grad", [(g, s, l)], self.run(g, th, tw));
        Ok((out, Shape::from((n, c, th / self.fh, tw / self.fw))))
    }
}

/// Source taps of aligned-corner bilinear resampling from `inp` to `out`
/// samples: `(i0, i1, weight of i1)` per output index.
pub(crate) fn taps(out: usize, inp: usize) -> Vec<(usize, usize, f64)> {
    let scale = if out > 1 {
        (inp as f64 - 1.0) / (out as f64 - 1.0)
    } else {
        0.0
    };
    (0..out)
        .map(|o| {
            let src = scale * o as f64;
            let i0 = (src.floor() as usize).min(inp - 1);
            let i1 = (i0 + 1).min(inp - 1);
            (i0, i1, src - i0 as f64)
        })
        .collect()
}

/// Bilinear upsampling by an integer factor with `align_corners=True`.
struct Bilinear {
    factor: usize,
}

impl Bilinear {
    fn run<T: Float>(&self, x: &[T], h: usize, w: usize) -> Vec<T> {
        let (th, tw) = (h * self.factor, w * self.factor);
        let rows = taps(th, h);
        let cols: Vec<_> = taps(tw, w)
            .into_iter()
            .map(|(a, b, l)| (a, b, T::from(1.0 - l), T::from(l)))
            .collect();
        per_plane(x, h * w, th * tw, |src, dst| {
            // Width pass into a scratch of h rows, then blend row pairs.
            let mut wide = vec![T::default(); h * tw];
            for (srow, wrow) in src.chunks(w).zip(wide.chunks_mut(tw)) {
                for (o, &(a, b, wa, wb)) in wrow.iter_mut().zip(&cols) {
                    *o = srow[a] * wa + srow[b] * wb;
                }
            }
            for (drow, &(a, b, l)) in dst.chunks_mut(tw).zip(&rows) {
                let (wa, wb) = (T::from(1.0 - l), T::from(l));
                let (ra, rb) = (&wide[a * tw..(a + 1) * tw], &wide[b * tw..(b + 1) * tw]);
                for ((o, &va), &vb) in drow.iter_mut().zip(ra).zip(rb) {
                    *o = va * wa + vb * wb;
                }
            }
        })
    }
}

impl CustomOp1 for Bilinear {
    fn name(&self) -> &'static str {
        "upsample-bilinear"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = dims(l)?;
        let out = float_kernel!("upsample-bilinear", [(x, s, l)], self.run(x, h, w));
        Ok((out, Shape::from((n, c, h * self.factor, w * self.factor))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = BilinearGrad {
            factor: self.factor,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

/// The gradient of [`Bilinear`]: the transposed blends, rows then columns.
struct BilinearGrad {
    factor: usize,
}

impl BilinearGrad {
    fn run<T: Float>(&self, g: &[T], th: usize, tw: usize) -> Vec<T> {
        let (h, w) = (th / self.factor, tw / self.factor);
        let rows = taps(th, h);
        let cols: Vec<_> = taps(tw, w)
            .into_iter()
            .map(|(a, b, l)| (a, b, T::from(1.0 - l), T::from(l)))
            .collect();
        per_plane(g, th * tw, h * w, |src, dst| {
            let mut wide = vec![T::default(); h * tw];
            for (grow, &(a, b, l)) in src.chunks(tw).zip(&rows) {
                let (wa, wb) = (T::from(1.0 - l), T::from(l));
                for (o, &v) in wide[a * tw..(a + 1) * tw].iter_mut().zip(grow) {
                    *o += v * wa;
                }
                for (o, &v) in wide[b * tw..(b + 1) * tw].iter_mut().zip(grow) {
                    *o += v * wb;
                }
            }
            for (wrow, drow) in wide.chunks(tw).zip(dst.chunks_mut(w)) {
                for (&v, &(a, b, wa, wb)) in wrow.iter().zip(&cols) {
                    drow[a] += v * wa;
                    drow[b] += v * wb;
                }
            }
        })
    }
}

impl CustomOp1 for BilinearGrad {
    fn name(&self) -> &'static str {
        "upsample-bilinear-grad"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, th, tw) = dims(l)?;
        let f = self.factor;
        if th % f != 0 || tw % f != 0 {
            candle_core::bail!("bilinear gradient {th}x{tw} is not a multiple of {f}")
        }
        let out = float_kernel!("upsample-bilinear-grad", [(g, s, l)], self.run(g, th, tw));
        Ok((out, Shape::from((n, c, th / f, tw / f))))
    }
}

/// Whether the upsampling kernels run for this input.
pub fn supported(x: &Tensor) -> bool {
    x.device().is_cpu()
        && x.rank() == 4
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
}

/// Nearest upsampling of an NCHW tensor by integer factors `(fh, fw)` with
/// the kernel; callers check [`supported`] first.
pub fn upsample_nearest(x: &Tensor, fh: usize, fw: usize) -> Result<Tensor> {
    if fh == 0 || fw == 0 {
        candle_core::bail!("nearest upsampling factors must be positive, got {fh}x{fw}")
    }
    x.contiguous()?.apply_op1(Nearest { fh, fw })
}

/// Bilinear upsampling (`align_corners=True`) of an NCHW tensor by an
/// integer factor with the kernel; callers check [`supported`] first.
pub fn upsample_bilinear_aligned(x: &Tensor, factor: usize) -> Result<Tensor> {
    if factor == 0 {
        candle_core::bail!("bilinear upsampling factor must be positive")
    }
    x.contiguous()?.apply_op1(Bilinear { factor })
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Var};

    use super::super::testing::{assert_gradients, assert_same_gradients, max_diff, wave};
    use super::*;
    use crate::layers::resample::{bilinear_composed, nearest_composed};

    fn bits(t: &Tensor) -> Vec<u32> {
        t.flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .unwrap()
            .into_iter()
            .map(f32::to_bits)
            .collect()
    }

    #[test]
    fn nearest_is_bit_identical_to_the_candle_composition() {
        for (fh, fw) in [(2, 2), (1, 3), (4, 2)] {
            let x0 = wave(&[2, 3, 5, 4], 0.37, 0.1).to_dtype(DType::F32).unwrap();
            let x = Var::from_tensor(&x0).unwrap();
            let ours = upsample_nearest(x.as_tensor(), fh, fw).unwrap();
            let theirs = nearest_composed(x.as_tensor(), fh, fw).unwrap();
            assert_eq!(bits(&ours), bits(&theirs));
            let probe = wave(&[2, 3, 5 * fh, 4 * fw], 0.131, 2.0)
                .to_dtype(DType::F32)
                .unwrap();
            let grad = |y: Tensor| {
                let g = (y * &probe).unwrap().sum_all().unwrap().backward().unwrap();
                g.get(x.as_tensor()).unwrap().clone()
            };
            assert_eq!(bits(&grad(ours)), bits(&grad(theirs)), "{fh}x{fw}");
        }
    }

    #[test]
    fn bilinear_matches_the_matmul_composition() {
        for (h, w, f) in [(4, 4, 2), (3, 5, 4), (1, 2, 2), (8, 8, 1)] {
            let x = Var::from_tensor(&wave(&[2, 3, h, w], 0.41, 0.3)).unwrap();
            let ours = upsample_bilinear_aligned(x.as_tensor(), f).unwrap();
            let theirs = bilinear_composed(x.as_tensor(), f).unwrap();
            assert!(max_diff(&ours, &theirs) < 1e-12, "{h}x{w} x{f}");
            let probe = wave(&[2, 3, h * f, w * f], 0.173, 1.0);
            let label = format!("{h}x{w} x{f}");
            assert_same_gradients(ours, theirs, &probe, &[&x], 1e-12, &label);
        }
        // The corners are the input's corners (align_corners=True).
        let x = wave(&[1, 1, 3, 3], 0.7, 0.2);
        let y = upsample_bilinear_aligned(&x, 4).unwrap();
        let at = |t: &Tensor, i: usize, j: usize| {
            t.get(0)
                .unwrap()
                .get(0)
                .unwrap()
                .get(i)
                .unwrap()
                .get(j)
                .unwrap()
        };
        for (i, j, oi, oj) in [(0, 0, 0, 0), (2, 2, 11, 11), (0, 2, 0, 11)] {
            let d = max_diff(&at(&x, i, j), &at(&y, oi, oj));
            assert!(d < 1e-15);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = wave(&[1, 2, 3, 4], 0.53, 0.3);
        let probe = wave(&[1, 2, 6, 8], 0.29, 2.0);
        assert_gradients(
            |t| {
                (upsample_bilinear_aligned(&t[0], 2).unwrap() * &probe)
                    .and_then(|y| y.sum_all())
                    .unwrap()
            },
            std::slice::from_ref(&x),
            1e-6,
            1e-8,
        );
        let probe = wave(&[1, 2, 6, 12], 0.31, 0.7);
        assert_gradients(
            |t| {
                (upsample_nearest(&t[0], 2, 3).unwrap() * &probe)
                    .and_then(|y| y.sum_all())
                    .unwrap()
            },
            &[x],
            1e-6,
            1e-8,
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        let x = wave(&[2, 3, 4], 0.1, 0.0);
        assert!(upsample_nearest(&x, 2, 2).is_err());
        let x = wave(&[1, 1, 2, 2], 0.1, 0.0);
        assert!(upsample_nearest(&x, 0, 2).is_err());
        assert!(upsample_bilinear_aligned(&x, 0).is_err());
        let u32s = Tensor::zeros((1, 1, 2, 2), DType::U32, &candle_core::Device::Cpu).unwrap();
        assert!(!supported(&u32s));
    }
}
