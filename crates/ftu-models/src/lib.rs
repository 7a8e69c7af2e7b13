//! EfficientNet-B0…B7 encoders with Unet, FPN and Linknet decoders in
//! [candle](https://github.com/huggingface/candle), interchangeable with
//! [segmentation_models_pytorch](https://github.com/qubvel-org/segmentation_models.pytorch)
//! (smp) 0.6: the same layers, the same `state_dict()` names and layouts,
//! the same logits (tested against smp within 1e-4).
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use ftu_models::{Arch, Encoder, ModelConfig, SegmentationModel};
//!
//! let config = ModelConfig::new(Arch::Linknet, Encoder::B0);
//! // smp: sum(p.numel() for p in smp.Linknet("efficientnet-b0").parameters())
//! assert_eq!(config.parameter_count()?, 4_167_169);
//!
//! let model = SegmentationModel::new(&config, &Device::Cpu, 42)?;
//! let tile = Tensor::zeros((1, 3, 64, 64), DType::F32, &Device::Cpu)?;
//! let logits = model.forward(&tile)?.mask;
//! assert_eq!(logits.dims(), &[1, 1, 64, 64]);
//!
//! // Height and width must be multiples of 32, unless padding is asked for.
//! let odd = Tensor::zeros((1, 3, 50, 64), DType::F32, &Device::Cpu)?;
//! assert!(model.forward(&odd).is_err());
//!
//! // Weights round-trip under smp's names.
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("linknet-b0.safetensors");
//! model.save_safetensors(&path)?;
//! let again = SegmentationModel::new(&config, &Device::Cpu, 7)?;
//! again.load_safetensors(&path)?;
//! let same = again.forward(&tile)?.mask;
//! assert_eq!((logits - same)?.abs()?.max_all()?.to_scalar::<f32>()?, 0.0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout: [`config`] (what to build), [`device`] (CPU or CUDA, chosen once
//! for the whole pipeline), [`encoder::efficientnet`],
//! [`decoder`] (`unet`, `fpn`, `linknet`), [`head`], [`input`] (ImageNet
//! normalisation of RGB tiles into a batch), `weights` (safetensors
//! I/O, methods on [`SegmentationModel`]); `layers` and `ops` hold the
//! PyTorch-equivalent building blocks; [`kernels`] exposes the CPU kernels
//! behind them (for the per-kernel benches).

pub mod config;
pub mod decoder;
pub mod device;
pub mod encoder;
pub mod error;
pub mod head;
pub mod input;
pub mod kernels;
mod layers;
pub mod model;
mod ops;
mod params;
mod rng;
mod weights;

pub use config::{Arch, Attention, AuxHead, Encoder, ModelConfig};
pub use error::{ModelError, ShapeMismatch};
pub use model::{ModelOutput, OUTPUT_STRIDE, SegmentationModel};
pub use params::{Entry, Slot};
