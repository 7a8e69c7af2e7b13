//! Convolution kernels written for this network's shapes, each file with its
//! own checks. `depthwise` is the plain candle composition (any device, and
//! the reference in tests); `depthwise_kernel` is a CPU `CustomOp2` with its
//! own backward that the model uses on CPU. Further issue-6 kernels slot in
//! here the same way.

pub(crate) mod depthwise;
pub(crate) mod depthwise_kernel;
