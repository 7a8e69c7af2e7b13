//! Training for ftu's segmentation models. For now: the recipe's loss,
//! binary cross-entropy on logits plus soft Dice ([`BceDiceLoss`]); the
//! k-fold training loop will join it here.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use ftu_train::BceDiceLoss;
//!
//! let logits = Tensor::zeros((2, 1, 8, 8), DType::F32, &Device::Cpu)?;
//! let target = Tensor::ones((2, 1, 8, 8), DType::F32, &Device::Cpu)?;
//! let loss = BceDiceLoss::default().forward(&logits, &target)?.to_scalar::<f32>()?;
//! // ln 2 from BCE, plus 1 - (2 * 64 + 1) / (64 + 128 + 1) from Dice (p = 1/2).
//! assert!((loss - (2f32.ln() + 1.0 - 129.0 / 193.0)).abs() < 1e-6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod loss;

pub use error::TrainError;
pub use loss::{BceDiceLoss, bce_with_logits, soft_dice_loss};
