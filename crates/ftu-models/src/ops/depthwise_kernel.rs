//! Depthwise 2-d convolution as a candle `CustomOp2` with its own backward:
//! direct loops over each `(image, channel)` plane, planes in parallel.
//!
//! The first custom kernel of issue 6. CPU, f32 / f64, contiguous NCHW; other
//! devices use the shifted-view composition in [`super::depthwise`].

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{Float, Part, float_kernel};
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

    /// Rows and columns of the zero-padded plane that the taps reach.
    fn padded(&self) -> (usize, usize) {
        (
            (self.ho - 1) * self.stride + self.k,
            (self.wo - 1) * self.stride + self.k,
        )
    }

    /// Width of one column phase of a padded row.
    fn phase_w(&self) -> usize {
        self.padded().1.div_ceil(self.stride)
    }

    /// Length of a padded row: `stride` phases.
    fn row_len(&self) -> usize {
        self.stride * self.phase_w()
    }

    /// Offset in a padded row of padded column `pc`. Columns are stored by
    /// phase (`pc % stride`), so the inputs that tap `j` meets along an
    /// output row are one contiguous run starting at `at(j)`.
    fn at(&self, pc: usize) -> usize {
        (pc % self.stride) * self.phase_w() + pc / self.stride
    }

    fn padded_len(&self) -> usize {
        self.padded().0 * self.row_len()
    }
}

/// One input plane into its zero-padded, phase-split layout.
fn pad_plane<T: Float>(g: &Geometry, src: &[T], dst: &mut [T]) {
    dst.fill(T::default());
    let (rows, cols) = g.padded();
    let rl = g.row_len();
    for (iy, row) in src.chunks(g.w).enumerate().take(rows.saturating_sub(g.top)) {
        let d = &mut dst[(iy + g.top) * rl..(iy + g.top + 1) * rl];
        let n = g.w.min(cols.saturating_sub(g.left));
        if g.stride == 1 {
            d[g.left..g.left + n].copy_from_slice(&row[..n]);
        } else {
            for (ix, &v) in row[..n].iter().enumerate() {
                d[g.at(ix + g.left)] = v;
            }
        }
    }
}

// Zero padding adds `0 · tap` terms where the unpadded loops skipped a tap;
// each sum still adds its other terms in the same order, so results are
// those of bounds-tested loops (up to the sign of an exact zero).

fn forward<T: Float>(x: &[T], wt: &[T], g: Geometry) -> Vec<T> {
    let (plane_in, plane_out, kk) = (g.h * g.w, g.ho * g.wo, g.k * g.k);
    let (rl, s) = (g.row_len(), g.stride);
    let mut out = vec![T::default(); g.n * g.c * plane_out];
    out.par_chunks_mut(plane_out)
        .enumerate()
        .for_each(|(p, o)| {
            let xp = &x[p * plane_in..(p + 1) * plane_in];
            let wc = &wt[(p % g.c) * kk..(p % g.c + 1) * kk];
            T::with_scratch(g.padded_len(), |pad| {
                pad_plane(&g, xp, pad);
                for (oy, orow) in o.chunks_mut(g.wo).enumerate() {
                    for i in 0..g.k {
                        let prow = &pad[(oy * s + i) * rl..(oy * s + i + 1) * rl];
                        for j in 0..g.k {
                            let tap = wc[i * g.k + j];
                            let run = &prow[g.at(j)..g.at(j) + g.wo];
                            for (d, &v) in orow.iter_mut().zip(run) {
                                *d += v * tap;
                            }
                        }
                    }
                }
            })
        });
    out
}

fn input_grad<T: Float>(grad: &[T], wt: &[T], g: Geometry) -> Vec<T> {
    let (plane_in, plane_out, kk) = (g.h * g.w, g.ho * g.wo, g.k * g.k);
    let (rl, s) = (g.row_len(), g.stride);
    let (rows, cols) = g.padded();
    let mut gx = vec![T::default(); g.n * g.c * plane_in];
    gx.par_chunks_mut(plane_in)
        .enumerate()
        .for_each(|(p, gxp)| {
            let gp = &grad[p * plane_out..(p + 1) * plane_out];
            let wc = &wt[(p % g.c) * kk..(p % g.c + 1) * kk];
            T::with_scratch(g.padded_len(), |pad| {
                // Scatter into the padded plane, then keep the image part.
                pad.fill(T::default());
                for (oy, grow) in gp.chunks(g.wo).enumerate() {
                    for i in 0..g.k {
                        let prow = &mut pad[(oy * s + i) * rl..(oy * s + i + 1) * rl];
                        for j in 0..g.k {
                            let tap = wc[i * g.k + j];
                            let run = &mut prow[g.at(j)..g.at(j) + g.wo];
                            for (d, &v) in run.iter_mut().zip(grow) {
                                *d += v * tap;
                            }
                        }
                    }
                }
                let n = g.w.min(cols.saturating_sub(g.left));
                for (iy, row) in gxp
                    .chunks_mut(g.w)
                    .enumerate()
                    .take(rows.saturating_sub(g.top))
                {
                    let prow = &pad[(iy + g.top) * rl..(iy + g.top + 1) * rl];
                    if s == 1 {
                        row[..n].copy_from_slice(&prow[g.left..g.left + n]);
                    } else {
                        for (ix, d) in row[..n].iter_mut().enumerate() {
                            *d = prow[g.at(ix + g.left)];
                        }
                    }
                }
            })
        });
    gx
}

/// Adds one output row's weight-gradient terms: for each tap, the dot
/// product of the gradient row with the input run the tap meets, summed in
/// column order. All `K x K` sums advance together (independent chains the
/// CPU overlaps) while each keeps the order of a tap-by-tap loop.
#[inline(always)]
fn weight_row<T: Float, const K: usize>(
    g: &Geometry,
    pad: &[T],
    oy: usize,
    grow: &[T],
    gwc: &mut [T],
) {
    let rl = g.row_len();
    let base = oy * g.stride * rl;
    let mut acc = [[T::default(); K]; K];
    let starts: [usize; K] = std::array::from_fn(|j| g.at(j));
    for (ox, &d) in grow.iter().enumerate() {
        for (i, acc_i) in acc.iter_mut().enumerate() {
            let prow = &pad[base + i * rl..base + (i + 1) * rl];
            for (a, &st) in acc_i.iter_mut().zip(&starts) {
                *a += d * prow[st + ox];
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (j, &a) in acc_i.iter().enumerate() {
            gwc[i * K + j] += a;
        }
    }
}

fn weight_grad<T: Float>(x: &[T], grad: &[T], g: Geometry) -> Vec<T> {
    let (plane_in, plane_out, kk) = (g.h * g.w, g.ho * g.wo, g.k * g.k);
    let rl = g.row_len();
    let mut gw = vec![T::default(); g.c * kk];
    gw.par_chunks_mut(kk).enumerate().for_each(|(c, gwc)| {
        T::with_scratch(g.padded_len(), |pad| {
            for b in 0..g.n {
                let p = b * g.c + c;
                pad_plane(&g, &x[p * plane_in..(p + 1) * plane_in], pad);
                let gp = &grad[p * plane_out..(p + 1) * plane_out];
                for (oy, grow) in gp.chunks(g.wo).enumerate() {
                    match g.k {
                        3 => weight_row::<T, 3>(&g, pad, oy, grow, gwc),
                        5 => weight_row::<T, 5>(&g, pad, oy, grow, gwc),
                        _ => {
                            for i in 0..g.k {
                                let r = (oy * g.stride + i) * rl;
                                let prow = &pad[r..r + rl];
                                for j in 0..g.k {
                                    let run = &prow[g.at(j)..g.at(j) + g.wo];
                                    let mut acc = T::default();
                                    for (&d, &v) in grow.iter().zip(run) {
                                        acc += d * v;
                                    }
                                    gwc[i * g.k + j] += acc;
                                }
                            }
                        }
                    }
                }
            }
        })
    });
    gw
}

struct DepthwiseOp {
    part: Part,
    geometry: Geometry,
    stride: usize,
    pad: Pad,
}

impl DepthwiseOp {
    fn run<T: Float>(&self, a: &[T], b: &[T]) -> Vec<T> {
        let g = self.geometry;
        match self.part {
            Part::Forward => forward(a, b, g),
            Part::InputGrad => input_grad(a, b, g),
            Part::WeightGrad => weight_grad(a, b, g),
        }
    }

    fn shape(&self) -> Shape {
        let g = self.geometry;
        match self.part {
            Part::Forward => Shape::from((g.n, g.c, g.ho, g.wo)),
            Part::InputGrad => Shape::from((g.n, g.c, g.h, g.w)),
            Part::WeightGrad => Shape::from((g.c, 1, g.k, g.k)),
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
        let storage = float_kernel!("depthwise", [(a, s1, l1), (b, s2, l2)], self.run(a, b));
        Ok((storage, self.shape()))
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
    use candle_core::Var;

    use super::super::depthwise::depthwise_conv2d;
    use super::super::testing::{assert_gradients, assert_same_gradients, wave};
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
            let label = format!("k{k} s{stride} {pad:?}");
            assert_same_gradients(ours, reference, &probe, &[&x, &w], 1e-12, &label);
        }
    }

    /// Gradients against central finite differences (f64).
    #[test]
    fn gradient_matches_finite_differences() {
        let probe = wave((1, 2, 3, 3), 0.29, 2.0);
        assert_gradients(
            |t| {
                let y = depthwise_conv2d_kernel(&t[0], &t[1], 2, [1, 1, 1, 1]).unwrap();
                (y * &probe).unwrap().sum_all().unwrap()
            },
            &[wave((1, 2, 5, 5), 0.53, 0.3), wave((2, 1, 3, 3), 0.91, 1.1)],
            1e-6,
            1e-7,
        );
    }
}
