//! What the CPU kernels share: the float types they run on and their view of
//! a contiguous candle buffer.

use candle_core::{Layout, Result};

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
    fn f64(self) -> f64;
    fn from(v: f64) -> Self;
}

impl Float for f32 {
    fn f64(self) -> f64 {
        self as f64
    }
    fn from(v: f64) -> Self {
        v as f32
    }
}

impl Float for f64 {
    fn f64(self) -> f64 {
        self
    }
    fn from(v: f64) -> Self {
        v
    }
}

/// The elements `l` covers; the kernels index them densely, so the layout
/// must be contiguous.
pub(crate) fn slice<'a, T>(data: &'a [T], l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("CPU kernel needs contiguous tensors, got {:?}", l.shape()),
    }
}
