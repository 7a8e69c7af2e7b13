//! Dense 2-d convolution (`groups == 1`) and its transpose as a candle
//! `CustomOp2` with its own backward: im2col + `gemm` per image, col2im for
//! the input gradient.
//!
//! candle 0.11's CPU backward of `conv2d` runs the input gradient through
//! `conv_transpose2d` (direct dot-product loops) and the weight gradient
//! through a `conv2d` whose kernel is the whole output plane; both dominate a
//! training step. Here all three products are one gemm per image, and 1x1
//! stride-1 convolutions (most of EfficientNet) skip im2col entirely.
//!
//! The three products are each other's adjoints, so the same op also gives
//! `conv_transpose2d` (Linknet's decoder): its forward is a convolution's input
//! gradient, its input gradient a convolution's forward.
//!
//! CPU, f32 / f64; other devices keep candle's ops (see [`supported`]).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::cpu::{Float, Part, float_kernel};
use crate::layers::conv::Pad;

/// Geometry of the convolution `x (n, cin, h, w) * w (cout, cin, k, k) -> (n, cout, ho, wo)`
/// with stride `stride` after zero padding `pad`.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
    stride: usize,
    top: usize,
    left: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(x: &[usize], cout: usize, k: usize, stride: usize, pad: Pad) -> Result<Self> {
        let [n, cin, h, w] = x else {
            candle_core::bail!("conv2d input must be NCHW, got {x:?}")
        };
        let (hp, wp) = (h + pad[0] + pad[1], w + pad[2] + pad[3]);
        if hp < k || wp < k || stride == 0 {
            candle_core::bail!("conv2d input {h}x{w} (padded {hp}x{wp}) smaller than kernel {k}")
        }
        Ok(Self {
            n: *n,
            cin: *cin,
            h: *h,
            w: *w,
            cout,
            k,
            stride,
            top: pad[0],
            left: pad[2],
            ho: (hp - k) / stride + 1,
            wo: (wp - k) / stride + 1,
        })
    }

    /// Rows of the im2col matrix: `cin * k * k`.
    fn patch(&self) -> usize {
        self.cin * self.k * self.k
    }

    fn plane_in(&self) -> usize {
        self.h * self.w
    }

    fn plane_out(&self) -> usize {
        self.ho * self.wo
    }

    /// A 1x1, stride-1, unpadded convolution: the input plane is already the
    /// im2col matrix.
    fn pointwise(&self) -> bool {
        self.k == 1 && self.stride == 1 && self.ho == self.h && self.wo == self.w
    }

    /// For output `o` and tap `i`: the input index, if inside the image.
    fn src(o: usize, i: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
        (o * stride + i).checked_sub(pad).filter(|&v| v < size)
    }

    /// The output columns `ox` whose tap `j` lands inside the image, as a range.
    fn valid_cols(&self, j: usize) -> std::ops::Range<usize> {
        // ox * s + j - left in [0, w)  <=>  ox in [ceil((left - j) / s), ceil((w + left - j) / s))
        let lo = self.left.saturating_sub(j).div_ceil(self.stride);
        let hi = (self.w + self.left).saturating_sub(j).div_ceil(self.stride);
        lo.min(self.wo)..hi.min(self.wo)
    }
}

/// A row-major or transposed view of a matrix in a slice.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub(crate) data: &'a [T],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl<'a, T> Mat<'a, T> {
    /// A contiguous row-major `rows x cols` matrix.
    pub(crate) fn rm(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst (a.rows x b.cols, row-major) = [dst +] a * b`; `threaded` lets gemm
/// split the product over rayon's threads (otherwise the caller parallelises).
pub(crate) fn matmul<T: Float>(
    dst: &mut [T],
    accumulate: bool,
    a: Mat<T>,
    b: Mat<T>,
    threaded: bool,
) {
    assert!(a.cols == b.rows && a.fits() && b.fits());
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(dst.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::default());
        }
        return;
    }
    let threads = rayon::current_num_threads();
    let parallelism = if threaded && threads > 1 && m * n * k > 1 << 14 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: every index gemm touches, (m-1)·rs + (n-1)·cs for each operand,
    // was bounds-checked above against the slices it points into.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// One image `(cin, h, w)` into its `(cin k k, ho wo)` patch matrix.
fn im2col<T: Float>(x: &[T], g: &Geometry, cols: &mut [T]) {
    let (kk, po) = (g.k * g.k, g.plane_out());
    cols.par_chunks_mut(kk * po)
        .zip(x.par_chunks(g.plane_in()))
        .for_each(|(cc, xc)| {
            for i in 0..g.k {
                for j in 0..g.k {
                    let dst = &mut cc[(i * g.k + j) * po..(i * g.k + j + 1) * po];
                    let valid = g.valid_cols(j);
                    for oy in 0..g.ho {
                        let row = &mut dst[oy * g.wo..(oy + 1) * g.wo];
                        let Some(iy) = Geometry::src(oy, i, g.stride, g.top, g.h) else {
                            row.fill(T::default());
                            continue;
                        };
                        let src = &xc[iy * g.w..(iy + 1) * g.w];
                        row[..valid.start].fill(T::default());
                        row[valid.end..].fill(T::default());
                        if valid.is_empty() {
                            continue;
                        }
                        let first = valid.start * g.stride + j - g.left;
                        if g.stride == 1 {
                            row[valid.clone()].copy_from_slice(&src[first..first + valid.len()]);
                        } else {
                            for (d, s) in row[valid.clone()]
                                .iter_mut()
                                .zip(src[first..].iter().step_by(g.stride))
                            {
                                *d = *s;
                            }
                        }
                    }
                }
            }
        });
}

/// Adds a `(cin k k, ho wo)` patch-matrix gradient back onto its image `(cin, h, w)`.
fn col2im<T: Float>(cols: &[T], g: &Geometry, x: &mut [T]) {
    let (kk, po) = (g.k * g.k, g.plane_out());
    x.par_chunks_mut(g.plane_in())
        .zip(cols.par_chunks(kk * po))
        .for_each(|(xc, cc)| {
            xc.fill(T::default());
            for i in 0..g.k {
                for j in 0..g.k {
                    let src = &cc[(i * g.k + j) * po..(i * g.k + j + 1) * po];
                    let valid = g.valid_cols(j);
                    for oy in 0..g.ho {
                        let Some(iy) = Geometry::src(oy, i, g.stride, g.top, g.h) else {
                            continue;
                        };
                        if valid.is_empty() {
                            continue;
                        }
                        let row = &src[oy * g.wo..(oy + 1) * g.wo];
                        let dst = &mut xc[iy * g.w..(iy + 1) * g.w];
                        let first = valid.start * g.stride + j - g.left;
                        if g.stride == 1 {
                            for (d, s) in dst[first..first + valid.len()]
                                .iter_mut()
                                .zip(&row[valid.clone()])
                            {
                                *d += *s;
                            }
                        } else {
                            for (d, s) in dst[first..]
                                .iter_mut()
                                .step_by(g.stride)
                                .zip(&row[valid.clone()])
                            {
                                *d += *s;
                            }
                        }
                    }
                }
            }
        });
}

/// How a batch is spread over the threads: whole images per thread when
/// there are at least as many images as threads (no synchronisation inside
/// the small per-image products), otherwise threads inside each gemm.
fn per_image_threads(n: usize) -> bool {
    n >= rayon::current_num_threads()
}

/// Run `f` on this thread's im2col scratch matrix (empty for pointwise
/// convolutions, which multiply the image directly).
fn with_cols<T: Float, R>(g: &Geometry, f: impl FnOnce(&mut [T]) -> R) -> R {
    let len = if g.pointwise() {
        0
    } else {
        g.patch() * g.plane_out()
    };
    T::with_scratch(len, f)
}

/// Run `image(cols, pair, threaded)` over the per-image pairs, with this
/// thread's im2col scratch: whole images spread over the threads, or one
/// image after another with threads inside each gemm (see
/// [`per_image_threads`]).
fn each_image<T: Float, P: Send>(
    g: &Geometry,
    pairs: impl Iterator<Item = P> + Send,
    image: impl Fn(&mut [T], P, bool) + Sync,
) {
    if per_image_threads(g.n) {
        pairs
            .par_bridge()
            .for_each(|p| with_cols(g, |cols| image(cols, p, false)));
    } else {
        with_cols(g, |cols| pairs.for_each(|p| image(cols, p, true)));
    }
}

/// `y_b = W · cols(x_b)` for every image.
fn forward<T: Float>(x: &[T], wt: &[T], g: Geometry) -> Vec<T> {
    let (kp, pi, po) = (g.patch(), g.plane_in(), g.plane_out());
    let mut y = vec![T::default(); g.n * g.cout * po];
    let w = Mat::rm(wt, g.cout, kp);
    let image = |cols: &mut [T], (yb, xb): (&mut [T], &[T]), threaded: bool| {
        if g.pointwise() {
            matmul(yb, false, w, Mat::rm(xb, g.cin, pi), threaded);
        } else {
            im2col(xb, &g, cols);
            matmul(yb, false, w, Mat::rm(cols, kp, po), threaded);
        }
    };
    let pairs = y
        .chunks_mut((g.cout * po).max(1))
        .zip(x.chunks((g.cin * pi).max(1)));
    each_image(&g, pairs, image);
    y
}

/// `grad_x_b = col2im(Wᵀ · grad_y_b)` for every image.
fn input_grad<T: Float>(grad: &[T], wt: &[T], g: Geometry) -> Vec<T> {
    let (kp, pi, po) = (g.patch(), g.plane_in(), g.plane_out());
    let mut gx = vec![T::default(); g.n * g.cin * pi];
    let wt_t = Mat::rm(wt, g.cout, kp).t();
    let image = |cols: &mut [T], (xb, gb): (&mut [T], &[T]), threaded: bool| {
        let gb = Mat::rm(gb, g.cout, po);
        if g.pointwise() {
            matmul(xb, false, wt_t, gb, threaded);
        } else {
            matmul(cols, false, wt_t, gb, threaded);
            col2im(cols, &g, xb);
        }
    };
    let pairs = gx
        .chunks_mut((g.cin * pi).max(1))
        .zip(grad.chunks((g.cout * po).max(1)));
    each_image(&g, pairs, image);
    gx
}

/// `grad_W = Σ_b grad_y_b · cols(x_b)ᵀ`: per thread over its share of the
/// images, then the partial sums added.
fn weight_grad<T: Float>(x: &[T], grad: &[T], g: Geometry) -> Vec<T> {
    let (kp, pi, po) = (g.patch(), g.plane_in(), g.plane_out());
    let images = |range: std::ops::Range<usize>, threaded: bool| {
        let mut gw = vec![T::default(); g.cout * kp];
        with_cols(&g, |cols: &mut [T]| {
            for (i, b) in range.enumerate() {
                let gb = Mat::rm(&grad[b * g.cout * po..(b + 1) * g.cout * po], g.cout, po);
                let xb = &x[b * g.cin * pi..(b + 1) * g.cin * pi];
                if g.pointwise() {
                    matmul(&mut gw, i > 0, gb, Mat::rm(xb, g.cin, pi).t(), threaded);
                } else {
                    im2col(xb, &g, cols);
                    matmul(&mut gw, i > 0, gb, Mat::rm(cols, kp, po).t(), threaded);
                }
            }
        });
        gw
    };
    if !per_image_threads(g.n) {
        return images(0..g.n, true);
    }
    let share = g.n.div_ceil(rayon::current_num_threads());
    let partials: Vec<Vec<T>> = (0..g.n)
        .step_by(share.max(1))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| images(start..(start + share).min(g.n), false))
        .collect();
    let mut partials = partials.into_iter();
    let mut gw = partials
        .next()
        .unwrap_or_else(|| vec![T::default(); g.cout * kp]);
    for p in partials {
        gw.iter_mut().zip(&p).for_each(|(a, b)| *a += *b);
    }
    gw
}

struct ConvOp {
    part: Part,
    geometry: Geometry,
}

impl ConvOp {
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
            Part::Forward => Shape::from((g.n, g.cout, g.ho, g.wo)),
            Part::InputGrad => Shape::from((g.n, g.cin, g.h, g.w)),
            Part::WeightGrad => Shape::from((g.cout, g.cin, g.k, g.k)),
        }
    }

    fn with(&self, part: Part) -> Self {
        Self {
            part,
            geometry: self.geometry,
        }
    }
}

impl CustomOp2 for ConvOp {
    fn name(&self) -> &'static str {
        match self.part {
            Part::Forward => "conv2d-gemm",
            Part::InputGrad => "conv2d-gemm-input-grad",
            Part::WeightGrad => "conv2d-gemm-weight-grad",
        }
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let storage = float_kernel!("conv2d", [(a, s1, l1), (b, s2, l2)], self.run(a, b));
        Ok((storage, self.shape()))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        match self.part {
            // y = conv(x, w): grad_x = InputGrad(grad, w), grad_w = WeightGrad(x, grad).
            Part::Forward => {
                let gx = grad.apply_op2_no_bwd(b, &self.with(Part::InputGrad))?;
                let gw = a.apply_op2_no_bwd(&grad, &self.with(Part::WeightGrad))?;
                Ok((Some(gx), Some(gw)))
            }
            // y = conv_transpose(x, w) = InputGrad(x, w): its adjoint in x is the
            // convolution, in w the weight gradient with grad as the "input".
            Part::InputGrad => {
                let gx = grad.apply_op2_no_bwd(b, &self.with(Part::Forward))?;
                let gw = grad.apply_op2_no_bwd(a, &self.with(Part::WeightGrad))?;
                Ok((Some(gx), Some(gw)))
            }
            Part::WeightGrad => Err(candle_core::Error::BackwardNotSupported {
                op: "conv2d-gemm-weight-grad",
            }),
        }
    }
}

/// Whether the kernels handle this input (CPU, f32 or f64); elsewhere the
/// callers use candle's own convolutions.
pub fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
}

/// `F.conv2d(F.pad(x, pad), weight, stride=stride)`: `weight` is
/// `(cout, cin, k, k)`, `pad` is `(top, bottom, left, right)`.
pub fn conv2d_kernel(x: &Tensor, weight: &Tensor, stride: usize, pad: Pad) -> Result<Tensor> {
    let (cout, cin, k, k2) = weight.dims4()?;
    if x.dim(1)? != cin || k != k2 {
        candle_core::bail!(
            "conv2d weight {:?} does not fit input {:?}",
            weight.dims(),
            x.dims()
        )
    }
    let geometry = Geometry::new(x.dims(), cout, k, stride, pad)?;
    let (x, weight) = (x.contiguous()?, weight.contiguous()?);
    x.apply_op2(
        &weight,
        ConvOp {
            part: Part::Forward,
            geometry,
        },
    )
}

/// `F.conv_transpose2d(x, weight, stride=stride, padding=padding,
/// output_padding=output_padding)`: `weight` is `(cin, cout, k, k)`.
pub fn conv_transpose2d_kernel(
    x: &Tensor,
    weight: &Tensor,
    stride: usize,
    padding: usize,
    output_padding: usize,
) -> Result<Tensor> {
    let (n, cin, h, w) = x.dims4()?;
    let (wcin, cout, k, k2) = weight.dims4()?;
    if wcin != cin || k != k2 || stride == 0 || output_padding >= stride.max(1) {
        candle_core::bail!(
            "conv_transpose2d weight {:?} does not fit input {:?}",
            weight.dims(),
            x.dims()
        )
    }
    let size = |s: usize| ((s - 1) * stride + k + output_padding).checked_sub(2 * padding);
    let (Some(oh), Some(ow)) = (size(h), size(w)) else {
        candle_core::bail!("conv_transpose2d: padding {padding} too large for kernel {k}")
    };
    // The convolution (cout -> cin) whose input gradient this is; the
    // output-padding rows and columns are read by no window of it.
    let pad = [padding; 4];
    let geometry = Geometry::new(&[n, cout, oh, ow], cin, k, stride, pad)?;
    if (geometry.ho, geometry.wo) != (h, w) {
        candle_core::bail!("conv_transpose2d: inconsistent geometry {geometry:?} for {h}x{w}")
    }
    let (x, weight) = (x.contiguous()?, weight.contiguous()?);
    x.apply_op2(
        &weight,
        ConvOp {
            part: Part::InputGrad,
            geometry,
        },
    )
}

#[cfg(test)]
mod tests {
    use candle_core::{DType, Var};

    use super::super::testing::{assert_gradients, assert_same_gradients, max_diff, wave};
    use super::*;

    /// candle's reference path for the same convolution.
    fn reference(x: &Tensor, w: &Tensor, stride: usize, pad: Pad) -> Tensor {
        let [t, b, l, r] = pad;
        x.pad_with_zeros(2, t, b)
            .unwrap()
            .pad_with_zeros(3, l, r)
            .unwrap()
            .conv2d(w, 0, stride, 1, 1)
            .unwrap()
    }

    /// Forward and both gradients equal candle's conv2d for the shapes the
    /// models use: 1x1, 3x3 "same", the stem's asymmetric stride-2 padding.
    #[test]
    fn matches_candle_forward_and_backward() {
        for (cin, cout, k, stride, pad, size) in [
            (4, 3, 1, 1, [0, 0, 0, 0], 5),
            (3, 5, 3, 1, [1, 1, 1, 1], 6),
            (3, 4, 3, 2, [0, 1, 0, 1], 8),
            (2, 3, 3, 2, [1, 1, 1, 1], 7),
            (2, 2, 5, 2, [1, 2, 1, 2], 8),
            (3, 2, 1, 2, [0, 0, 0, 0], 6),
        ] {
            let x = Var::from_tensor(&wave((2, cin, size, size), 0.37, 0.1)).unwrap();
            let w = Var::from_tensor(&wave((cout, cin, k, k), 0.71, 0.4)).unwrap();
            let ours = conv2d_kernel(x.as_tensor(), w.as_tensor(), stride, pad).unwrap();
            let theirs = reference(x.as_tensor(), w.as_tensor(), stride, pad);
            assert_eq!(ours.dims(), theirs.dims());
            let d = max_diff(&ours, &theirs);
            assert!(d < 1e-12, "k{k} s{stride} {pad:?}: forward diff {d}");
            let probe = wave(ours.dims4().unwrap(), 0.13, 2.0);
            assert_same_gradients(
                ours,
                theirs,
                &probe,
                &[&x, &w],
                1e-11,
                &format!("k{k} s{stride} {pad:?}"),
            );
        }
    }

    #[test]
    fn transpose_matches_candle_forward_and_backward() {
        let x = Var::from_tensor(&wave((2, 3, 4, 5), 0.37, 0.1)).unwrap();
        let w = Var::from_tensor(&wave((3, 2, 4, 4), 0.71, 0.4)).unwrap();
        let ours = conv_transpose2d_kernel(x.as_tensor(), w.as_tensor(), 2, 1, 0).unwrap();
        let theirs = x
            .as_tensor()
            .conv_transpose2d(w.as_tensor(), 1, 0, 2, 1)
            .unwrap();
        assert_eq!(ours.dims(), &[2, 2, 8, 10]);
        assert!(max_diff(&ours, &theirs) < 1e-12);
        let probe = wave((2, 2, 8, 10), 0.13, 2.0);
        assert_same_gradients(ours, theirs, &probe, &[&x, &w], 1e-11, "transpose");
        // Output padding widens bottom/right.
        let y = conv_transpose2d_kernel(x.as_tensor(), w.as_tensor(), 2, 1, 1).unwrap();
        let r = x
            .as_tensor()
            .conv_transpose2d(w.as_tensor(), 1, 1, 2, 1)
            .unwrap();
        assert_eq!(y.dims(), r.dims());
        assert!(max_diff(&y, &r) < 1e-12);
    }

    /// Checks the gradients of `loss(x, w)` against central finite differences.
    #[test]
    fn gradients_match_finite_differences() {
        let probe = wave((2, 3, 3, 3), 0.29, 2.0);
        assert_gradients(
            |t| {
                let y = conv2d_kernel(&t[0], &t[1], 2, [0, 1, 0, 1]).unwrap();
                (y * &probe).unwrap().sum_all().unwrap()
            },
            &[wave((2, 2, 6, 6), 0.53, 0.3), wave((3, 2, 3, 3), 0.91, 1.1)],
            1e-6,
            1e-7,
        );
        let probe = wave((1, 2, 6, 6), 0.29, 2.0);
        assert_gradients(
            |t| {
                let y = conv_transpose2d_kernel(&t[0], &t[1], 2, 1, 0).unwrap();
                (y * &probe).unwrap().sum_all().unwrap()
            },
            &[wave((1, 3, 3, 3), 0.53, 0.3), wave((3, 2, 4, 4), 0.91, 1.1)],
            1e-6,
            1e-7,
        );
    }

    #[test]
    fn f32_matches_f64() {
        let x = wave((2, 3, 6, 6), 0.37, 0.1);
        let w = wave((4, 3, 3, 3), 0.71, 0.4);
        let y64 = conv2d_kernel(&x, &w, 1, [1, 1, 1, 1]).unwrap();
        let y32 = conv2d_kernel(
            &x.to_dtype(DType::F32).unwrap(),
            &w.to_dtype(DType::F32).unwrap(),
            1,
            [1, 1, 1, 1],
        )
        .unwrap();
        assert!(max_diff(&y64, &y32.to_dtype(DType::F64).unwrap()) < 1e-5);
    }
}
