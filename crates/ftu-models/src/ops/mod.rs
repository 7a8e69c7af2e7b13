//! Convolution kernels written for this network's shapes, each file with its
//! own checks. `depthwise` is the plain candle composition (any device, and
//! the reference in tests); `depthwise_kernel` is a CPU `CustomOp2` with its
//! own backward that the model uses on CPU; `conv2d_kernel` does the same for
//! dense and transposed convolutions, `batch_norm` for batch norm fused with
//! its activation (`group_norm` likewise), `se_gate` for
//! squeeze-and-excitation's sigmoid gate, `upsample` for nearest and bilinear
//! upsampling; `vector_act` holds batch norm's vectorised f32 elementwise
//! passes (activation forward, its slope backward). Off the CPU the layers
//! fall back to candle's own ops.

pub(crate) mod batch_norm;
pub(crate) mod conv2d_kernel;
mod cpu;
pub(crate) mod depthwise;
pub(crate) mod depthwise_kernel;
pub(crate) mod group_norm;
pub(crate) mod se_gate;
#[cfg(test)]
mod testing;
pub(crate) mod upsample;
mod vector_act;
