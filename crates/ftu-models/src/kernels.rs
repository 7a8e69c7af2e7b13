//! The CPU kernels the layers run on (f32 / f64, contiguous NCHW), each a
//! candle custom op with its own backward, so `candle_core::backprop`
//! differentiates through them. The layers fall back to candle's own ops for
//! tensors off the CPU; these functions are for the per-kernel benches and
//! for callers who want the ops directly.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use ftu_models::kernels;
//!
//! let x = Tensor::randn(0f32, 1.0, (2, 3, 8, 8), &Device::Cpu)?;
//! let w = Tensor::randn(0f32, 1.0, (4, 3, 3, 3), &Device::Cpu)?;
//! // 3x3 "same" convolution: padding (top, bottom, left, right).
//! let y = kernels::conv2d(&x, &w, 1, [1, 1, 1, 1])?;
//! let reference = x.conv2d(&w, 1, 1, 1, 1)?;
//! let diff = (y - reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
//! assert!(diff < 1e-4);
//! # Ok::<(), candle_core::Error>(())
//! ```

pub use crate::ops::batch_norm::{
    Act, BatchStats, batch_norm_train, scale_shift_act, supported as batch_norm_supported,
};
pub use crate::ops::conv2d_kernel::{
    conv_transpose2d_kernel as conv_transpose2d, conv2d_kernel as conv2d,
    supported as conv_supported,
};
pub use crate::ops::depthwise_kernel::{
    depthwise_conv2d_kernel as depthwise_conv2d, supported as depthwise_supported,
};
pub use crate::ops::group_norm::group_norm_act;
pub use crate::ops::se_gate::{se_gate, supported as se_gate_supported};
pub use crate::ops::upsample::{
    supported as upsample_supported, upsample_bilinear_aligned, upsample_nearest,
};

/// The candle compositions the layers use off the CPU (and the references
/// the kernels are tested and benched against).
pub mod composed {
    pub use crate::layers::norm::{
        batch_norm_composed as batch_norm, group_norm_composed as group_norm,
    };
    pub use crate::layers::resample::{
        bilinear_composed as bilinear_aligned, nearest_composed as nearest,
    };
}
