//! Depthwise 2-d convolution as a candle `CustomOp2` with its own backward:
//! direct loops over each `(image, channel)` plane, planes in parallel.
//!
//! The first custom kernel of issue 6. CPU, f32 / f64, contiguous NCHW; other
//! devices use the shifted-view composition in [`super::depthwise`].

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{Float, slice};
use crate::layers::conv::Pad;

/// Geometry shared by the forward and both gradients.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
    top: usize,
    left: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(x: &[usize], k: usize, stride: usize, pad: Pad) -> Result<Self> {
        let [n, c, h, w] = x else {
            candle_core::bail!("depthwise input must be NCHW, got {x:?}")
        };
        let (hp, wp) = (h + pad[0] + pad[1], w + pad[2] + pad[3]);
        if hp < k || wp < k {
            candle_core::bail!("depthwise input {h}x{w} (padded {hp}x{wp}) smaller than kernel {k}")
        }
        Ok(Self {
            n: *n,
            c: *c,
            h: *h,
            w: *w,
            k,
            stride,
            top: pad[0],
            left: pad[2],
            ho: (hp - k) / stride + 1,
            wo: (wp - k) / stride + 1,
        })
    }

    /// Input row/column of output `o` and tap `i`, if inside the image.
    fn src(o: usize, i: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
        (o * stride + i).checked_sub(pad).filter(|&v| v < size)
    }

    /// The output columns whose tap `j` falls inside the input row, and the
    /// input column of the first: inner loops run over this range without a
    /// bounds test per element (and vectorise at stride 1). The elements and
    /// the order they are added in are those of a test per element.
    fn cols(&self, j: usize) -> (std::ops::Range<usize>, usize) {
        let s = self.stride;
        let start = self.left.saturating_sub(j).div_ceil(s);
        let end = if self.w + self.left > j {
            ((self.w - 1 + self.left - j) / s + 1).min(self.wo)
        } else {
            0
        };
        if start >= end {
            return (0..0, 0);
        }
        (start..end, start * s + j - self.left)
    }
}

/// `dst[k] += src[first + k·stride] · tap` over `dst`.
#[inline(always)]
fn axpy<T: Float>(dst: &mut [T], src: &[T], first: usize, stride: usize, tap: T) {
    if stride == 1 {
        let n = dst.len();
        for (d, &v) in dst.iter_mut().zip(&src[first..first + n]) {
            *d += v * tap;
        }
    } else {
        for (d, &v) in dst.iter_mut().zip(src[first..].iter().step_by(stride)) {
            *d += v * tap;
        }
    }
}

fn forward<T: Float>(x: &[T], wt: &[T], g: Geometry) -> Vec<T> {
    let (plane_in, plane_out, kk) = (g.h * g.w, g.ho * g.wo, g.k * g.k);
    let mut out = vec![T::default(); g.n * g.c * plane_out];
    out.par_chunks_mut(plane_out)
        .enumerate()
        .for_each(|(p, o)| {
            let xp = &x[p * plane_in..(p + 1) * plane_in];
            let wc = &wt[(p % g.c) * kk..(p % g.c + 1) * kk];
            for oy in 0..g.ho {
                for i in 0..g.k {
                    let Some(iy) = Geometry::src(oy, i, g.stride, g.top, g.h) else {
                        continue;
                    };
                    let row = &xp[iy * g.w..(iy + 1) * g.w];
                    let orow = &mut o[oy * g.wo..(oy + 1) * g.wo];
                    for j in 0..g.k {
                        let (valid, first) = g.cols(j);
                        axpy(&mut orow[valid], row, first, g.stride, wc[i * g.k + j]);
                    }
                }
            }
        });
    out
}

fn input_grad<T: Float>(grad: &[T], wt: &[T], g: Geometry) -> Vec<T> {
    let (plane_in, plane_out, kk) = (g.h * g.w, g.ho * g.wo, g.k * g.k);
    let mut gx = vec![T::default(); g.n * g.c * plane_in];
    gx.par_chunks_mut(plane_in)
        .enumerate()
        .for_each(|(p, gxp)| {
            let gp = &grad[p * plane_out..(p + 1) * plane_out];
            let wc = &wt[(p % g.c) * kk..(p % g.c + 1) * kk];
            for oy in 0..g.ho {
                for i in 0..g.k {
                    let Some(iy) = Geometry::src(oy, i, g.stride, g.top, g.h) else {
                        continue;
                    };
                    let grow = &gp[oy * g.wo..(oy + 1) * g.wo];
                    let xrow = &mut gxp[iy * g.w..(iy + 1) * g.w];
                    for j in 0..g.k {
                        let tap = wc[i * g.k + j];
                        let (valid, first) = g.cols(j);
                        let src = &grow[valid];
                        if g.stride == 1 {
                            for (d, &v) in xrow[first..first + src.len()].iter_mut().zip(src) {
                                *d += v * tap;
                            }
                        } else {
                            for (d, &v) in xrow[first..].iter_mut().step_by(g.stride).zip(src) {
                                *d += v * tap;
                            }
                        }
                    }
                }
            }
        });
    gx
}

fn weight_grad<T: Float>(x: &[T], grad: &[T], g: Geometry) -> Vec<T> {
    let (plane_in, plane_out, kk) = (g.h * g.w, g.ho * g.wo, g.k * g.k);
    let mut gw = vec![T::default(); g.c * kk];
    gw.par_chunks_mut(kk).enumerate().for_each(|(c, gwc)| {
        for b in 0..g.n {
            let p = b * g.c + c;
            let xp = &x[p * plane_in..(p + 1) * plane_in];
            let gp = &grad[p * plane_out..(p + 1) * plane_out];
            for oy in 0..g.ho {
                for i in 0..g.k {
                    let Some(iy) = Geometry::src(oy, i, g.stride, g.top, g.h) else {
                        continue;
                    };
                    let grow = &gp[oy * g.wo..(oy + 1) * g.wo];
                    let xrow = &xp[iy * g.w..(iy + 1) * g.w];
                    for j in 0..g.k {
                        let (valid, first) = g.cols(j);
                        let mut acc = T::default();
                        if g.stride == 1 {
                            let src = &grow[valid];
                            for (&d, &v) in src.iter().zip(&xrow[first..first + src.len()]) {
                                acc += d * v;
                            }
                        } else {
                            for (&d, &v) in grow[valid]
                                .iter()
                                .zip(xrow[first..].iter().step_by(g.stride))
                            {
                                acc += d * v;
                            }
                        }
                        gwc[i * g.k + j] += acc;
                    }
                }
            }
        }
    });
    gw
}

/// Which of the three computations an op instance performs.
#[derive(Clone, Copy)]
enum Part {
    /// `(x, w) -> y`
    Forward,
    /// `(grad_y, w) -> grad_x`
    InputGrad,
    /// `(x, grad_y) -> grad_w`
    WeightGrad,
}

struct DepthwiseOp {
    part: Part,
    geometry: Geometry,
    stride: usize,
    pad: Pad,
}

impl DepthwiseOp {
    fn run<T: Float>(&self, a: &[T], b: &[T]) -> (Vec<T>, Shape) {
        let g = self.geometry;
        match self.part {
            Part::Forward => (forward(a, b, g), Shape::from((g.n, g.c, g.ho, g.wo))),
            Part::InputGrad => (input_grad(a, b, g), Shape::from((g.n, g.c, g.h, g.w))),
            Part::WeightGrad => (weight_grad(a, b, g), Shape::from((g.c, 1, g.k, g.k))),
        }
    }
}

impl CustomOp2 for DepthwiseOp {
    fn name(&self) -> &'static str {
        "depthwise-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        match (s1, s2) {
            (CpuStorage::F32(a), CpuStorage::F32(b)) => {
                let (v, s) = self.run(slice(a, l1)?, slice(b, l2)?);
                Ok((CpuStorage::F32(v), s))
            }
            (CpuStorage::F64(a), CpuStorage::F64(b)) => {
                let (v, s) = self.run(slice(a, l1)?, slice(b, l2)?);
                Ok((CpuStorage::F64(v), s))
            }
            _ => candle_core::bail!("depthwise kernel supports f32 and f64 only"),
        }
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let op = |part| DepthwiseOp {
            part,
            geometry: self.geometry,
            stride: self.stride,
            pad: self.pad,
        };
        let gx = grad.apply_op2_no_bwd(w, &op(Part::InputGrad))?;
        let gw = x.apply_op2_no_bwd(&grad, &op(Part::WeightGrad))?;
        Ok((Some(gx), Some(gw)))
    }
}

/// Whether [`depthwise_conv2d_kernel`] handles this input.
pub fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
}

/// Same contract as [`super::depthwise::depthwise_conv2d`], through the kernel.
pub fn depthwise_conv2d_kernel(
    x: &Tensor,
    weight: &Tensor,
    stride: usize,
    pad: Pad,
) -> Result<Tensor> {
    let (c, one, k, k2) = weight.dims4()?;
    if x.dim(1)? != c || one != 1 || k != k2 {
        candle_core::bail!(
            "depthwise weight {:?} does not fit input {:?}",
            weight.dims(),
            x.dims()
        )
    }
    let geometry = Geometry::new(x.dims(), k, stride, pad)?;
    let (x, weight) = (x.contiguous()?, weight.contiguous()?);
    x.apply_op2(
        &weight,
        DepthwiseOp {
            part: Part::Forward,
            geometry,
            stride,
            pad,
        },
    )
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::super::depthwise::depthwise_conv2d;
    use super::super::testing::wave;
    use super::*;

    /// Forward and both gradients equal the shifted-view composition's.
    #[test]
    fn matches_the_composed_op_forward_and_backward() {
        for (k, stride, pad, size) in [
            (3, 1, [1, 1, 1, 1], 9),
            (5, 2, [1, 2, 1, 2], 8),
            (5, 2, [2, 2, 2, 2], 7),
            (3, 2, [0, 1, 0, 1], 8),
            // Taps that fall wholly in the padding.
            (5, 2, [2, 2, 2, 2], 2),
            (3, 1, [1, 1, 1, 1], 1),
        ] {
            let x = Var::from_tensor(&wave((2, 3, size, size), 0.37, 0.1)).unwrap();
            let w = Var::from_tensor(&wave((3, 1, k, k), 0.71, 0.4)).unwrap();
            let ours = depthwise_conv2d_kernel(x.as_tensor(), w.as_tensor(), stride, pad).unwrap();
            let reference = depthwise_conv2d(x.as_tensor(), w.as_tensor(), stride, pad).unwrap();
            let probe = wave(ours.dims4().unwrap(), 0.13, 2.0);
            let diff = (&ours - &reference)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f64>()
                .unwrap();
            assert!(diff < 1e-12, "k{k} s{stride} {pad:?}: forward diff {diff}");
            let g1 = (ours * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let g2 = (reference * &probe)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for v in [&x, &w] {
                let (a, b) = (
                    g1.get(v.as_tensor()).unwrap(),
                    g2.get(v.as_tensor()).unwrap(),
                );
                let d = (a - b)
                    .unwrap()
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar::<f64>()
                    .unwrap();
                assert!(d < 1e-12, "k{k} s{stride} {pad:?}: gradient diff {d}");
            }
        }
    }

    /// Gradients against central finite differences (f64).
    #[test]
    fn gradient_matches_finite_differences() {
        let x0 = wave((1, 2, 5, 5), 0.53, 0.3);
        let w0 = wave((2, 1, 3, 3), 0.91, 1.1);
        let probe = wave((1, 2, 3, 3), 0.29, 2.0);
        let loss = |x: &Tensor, w: &Tensor| {
            let y = depthwise_conv2d_kernel(x, w, 2, [1, 1, 1, 1]).unwrap();
            (y * &probe).unwrap().sum_all().unwrap()
        };
        let (x, w) = (
            Var::from_tensor(&x0).unwrap(),
            Var::from_tensor(&w0).unwrap(),
        );
        let grads = loss(x.as_tensor(), w.as_tensor()).backward().unwrap();
        let eps = 1e-6;
        for (var, is_x) in [(&x, true), (&w, false)] {
            let g = grads
                .get(var.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let base = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            for i in 0..base.len() {
                let shifted = |d: f64| {
                    let mut v = base.clone();
                    v[i] += d;
                    let t = Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap();
                    let l = if is_x { loss(&t, &w0) } else { loss(&x0, &t) };
                    l.to_scalar::<f64>().unwrap()
                };
                let fd = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
                assert!((fd - g[i]).abs() < 1e-7, "element {i}: fd {fd} vs {}", g[i]);
            }
        }
    }
}
