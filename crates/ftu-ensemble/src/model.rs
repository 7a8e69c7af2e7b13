//! What the sliding window needs from a network, and loading members.

use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use ftu_models::{ModelConfig, SegmentationModel};

use crate::config::MemberConfig;
use crate::error::{EnsembleError, Result, io_err};

/// A segmentation network as the sliding window sees it: a `(N, 3, H, W)`
/// batch normalised with [`ftu_models::input`] in, `(N, 1, H, W)` logits out.
///
/// Implemented by [`SegmentationModel`]; tests plug in oracles or a 1x1
/// convolution.
pub trait TileModel: Send + Sync {
    /// Foreground logits of a normalised batch.
    fn logits(&self, batch: &Tensor) -> Result<Tensor>;
}

/// The engine builds batches and reads logits on the CPU (TTA views,
/// stitching); the network runs on its own device. Both moves are no-ops
/// on the CPU.
impl TileModel for SegmentationModel {
    fn logits(&self, batch: &Tensor) -> Result<Tensor> {
        let batch = batch
            .to_device(self.device())
            .map_err(|source| EnsembleError::tensor("moving the batch to the model", source))?;
        let out = self
            .forward(&batch)
            .map_err(|source| EnsembleError::model("forward pass", source))?;
        out.mask
            .to_device(&Device::Cpu)
            .map_err(|source| EnsembleError::tensor("reading the logits back", source))
    }
}

/// The `[model]` table of a training run's `config.toml`.
#[derive(serde::Deserialize)]
struct RunFile {
    model: ModelConfig,
}

/// Reads `run/config.toml`'s `[model]` table (other tables are ignored).
pub fn read_run_model(run: &Path) -> Result<ModelConfig> {
    let path = run.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let file: RunFile = toml::from_str(&text).map_err(|e| EnsembleError::ConfigFile {
        path: path.clone(),
        message: format!("[model] table: {e}"),
    })?;
    Ok(file.model)
}

/// The model config and weights file of a member (`run` or explicit).
pub fn member_source(member: &MemberConfig) -> Result<(ModelConfig, std::path::PathBuf)> {
    match (&member.run, &member.model, &member.checkpoint) {
        (Some(run), None, None) => Ok((read_run_model(run)?, run.join("best.safetensors"))),
        (None, Some(model), Some(ckpt)) => Ok((model.clone(), ckpt.clone())),
        _ => Err(EnsembleError::Config(format!(
            "member {}: give either `run` or both `model` and `checkpoint`",
            member.name()
        ))),
    }
}

/// Builds a member's network on [`ftu_models::device::select`]'s device and
/// loads its weights (strict).
pub fn load_member(member: &MemberConfig) -> Result<Arc<dyn TileModel>> {
    let (config, weights) = member_source(member)?;
    let device = ftu_models::device::select()
        .map_err(|source| EnsembleError::tensor("choosing the device", source))?;
    let model = SegmentationModel::new(&config, &device, 0).map_err(|source| {
        EnsembleError::model(
            format!("member {}: building the network", member.name()),
            source,
        )
    })?;
    model.load_safetensors(&weights).map_err(|source| {
        EnsembleError::model(format!("{}: loading weights", weights.display()), source)
    })?;
    Ok(Arc::new(model))
}

/// Loads every member of a config, in order.
pub fn load_members(members: &[MemberConfig]) -> Result<Vec<Arc<dyn TileModel>>> {
    members.iter().map(load_member).collect()
}

/// Sigmoid, stable for large |x|.
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Logit of a probability, clamped so an oracle can return exact 0 / 1.
pub fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folder_gives_model_and_weights() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[train]\nepochs = 1\n[model]\narch = \"fpn\"\nencoder = \"efficientnet-b0\"\n",
        )
        .unwrap();
        let m = MemberConfig {
            run: Some(dir.path().to_owned()),
            model: None,
            checkpoint: None,
            tile: 256,
            size: 256,
            overlap: 0,
        };
        let (cfg, w) = member_source(&m).unwrap();
        assert_eq!(cfg.arch, ftu_models::Arch::Fpn);
        assert_eq!(w, dir.path().join("best.safetensors"));
        // Weights are missing: a clear error naming the file.
        let err = load_member(&m).err().unwrap().to_string();
        assert!(err.contains("best.safetensors"), "{err}");
    }

    #[test]
    fn sigmoid_and_logit_invert() {
        for p in [0.01f32, 0.4, 0.5, 0.93] {
            assert!((sigmoid(logit(p)) - p).abs() < 1e-5);
        }
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
    }
}
