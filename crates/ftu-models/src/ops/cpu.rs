//! What the CPU kernels share: the float types they run on, per-thread
//! scratch buffers, their view of a contiguous candle buffer, and which
//! product a convolution op computes.

use std::cell::RefCell;

use candle_core::{Layout, Result};

use super::batch_norm::Act;

/// `f32` or `f64`, with conversions through `f64` for accumulation and the
/// arithmetic that kernels do in the storage type.
pub(crate) trait Float:
    Copy
    + Default
    + Send
    + Sync
    + 'static
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
{
    const ONE: Self;
    fn f64(self) -> f64;
    fn from(v: f64) -> Self;
    /// Run `f` on this thread's scratch buffer of `len` elements. The
    /// contents are whatever the previous user left: callers overwrite it.
    /// Reusing it spares a zeroed allocation of up to ~100 MB per image per
    /// convolution (im2col matrices).
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R;
    /// `out[i] = act(xs[i] · a + b)`: in f64 for f64, and in f32 with a
    /// vectorised `exp` for f32 (batch norm's output pass, eval and
    /// training).
    fn scale_shift_act(xs: &[Self], a: f64, b: f64, act: Act, out: &mut [Self]);
    /// `out[i] = dy[i] · act'(xs[i] · a + b)`, returning
    /// `(Σ out · (xs − m), Σ out)`: the first pass of batch norm's backward.
    fn act_grad(
        xs: &[Self],
        dy: &[Self],
        abm: (f64, f64, f64),
        act: Act,
        out: &mut [Self],
    ) -> (f64, f64);
}

thread_local! {
    static SCRATCH_F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static SCRATCH_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Take the buffer out of its cell while `f` runs, so a nested call on the
/// same thread (rayon work-stealing inside `f`) gets a buffer of its own;
/// the larger one is kept afterwards.
fn with_cell<T: Copy + Default, R>(
    cell: &RefCell<Vec<T>>,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    let mut buf = cell.take();
    if buf.len() < len {
        buf.resize(len, T::default());
    }
    let r = f(&mut buf[..len]);
    let mut kept = cell.borrow_mut();
    if buf.len() > kept.len() {
        *kept = buf;
    }
    r
}

impl Float for f32 {
    const ONE: Self = 1.0;
    fn f64(self) -> f64 {
        self as f64
    }
    fn from(v: f64) -> Self {
        v as f32
    }
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
        SCRATCH_F32.with(|c| with_cell(c, len, f))
    }
    fn scale_shift_act(xs: &[Self], a: f64, b: f64, act: Act, out: &mut [Self]) {
        super::vector_act::scale_shift_act(xs, a as f32, b as f32, act, out)
    }
    fn act_grad(
        xs: &[Self],
        dy: &[Self],
        (a, b, m): (f64, f64, f64),
        act: Act,
        out: &mut [Self],
    ) -> (f64, f64) {
        super::vector_act::act_grad(xs, dy, (a as f32, b as f32, m), act, out)
    }
}

impl Float for f64 {
    const ONE: Self = 1.0;
    fn f64(self) -> f64 {
        self
    }
    fn from(v: f64) -> Self {
        v
    }
    fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [Self]) -> R) -> R {
        SCRATCH_F64.with(|c| with_cell(c, len, f))
    }
    fn scale_shift_act(xs: &[Self], a: f64, b: f64, act: Act, out: &mut [Self]) {
        for (o, &v) in out.iter_mut().zip(xs) {
            *o = act.apply(v * a + b);
        }
    }
    fn act_grad(
        xs: &[Self],
        dy: &[Self],
        (a, b, m): (f64, f64, f64),
        act: Act,
        out: &mut [Self],
    ) -> (f64, f64) {
        let (mut s_xc, mut s_dz) = (0.0, 0.0);
        for ((o, &x), &d) in out.iter_mut().zip(xs).zip(dy) {
            let dz = d * act.slope(x * a + b);
            s_xc += dz * (x - m);
            s_dz += dz;
            *o = dz;
        }
        (s_xc, s_dz)
    }
}

/// Which product a convolution op instance computes (dense or depthwise);
/// the geometry is always that of the forward convolution.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// `(x, w) -> y`: the convolution.
    Forward,
    /// `(grad_y, w) -> grad_x` (for the dense op, also the transposed
    /// convolution's forward).
    InputGrad,
    /// `(x, grad_y) -> grad_w`
    WeightGrad,
}

/// The elements `l` covers; the kernels index them densely, so the layout
/// must be contiguous.
pub(crate) fn slice<'a, T>(data: &'a [T], l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("CPU kernel needs contiguous tensors, got {:?}", l.shape()),
    }
}

/// The storage a CPU kernel computes from same-typed f32 or f64 inputs:
/// each `(name, storage, layout)` is bound to its contiguous slice under
/// `name`, then `$body` runs (written once, compiled for both types).
/// Mixed or other dtypes are an error naming `$kernel`.
macro_rules! float_kernel {
    ($kernel:expr, [$(($v:ident, $s:expr, $l:expr)),+ $(,)?], $body:expr) => {
        match ($($s,)+) {
            ($(candle_core::CpuStorage::F32($v),)+) => {
                $(let $v = $crate::ops::cpu::slice($v, $l)?;)+
                candle_core::CpuStorage::F32($body)
            }
            ($(candle_core::CpuStorage::F64($v),)+) => {
                $(let $v = $crate::ops::cpu::slice($v, $l)?;)+
                candle_core::CpuStorage::F64($body)
            }
            _ => candle_core::bail!("{} kernel supports f32 and f64 only", $kernel),
        }
    };
}
pub(crate) use float_kernel;
