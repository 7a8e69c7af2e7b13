//! `.safetensors` weights under segmentation_models_pytorch's exact
//! `state_dict()` names and layouts, in both directions.
//!
//! * [`SegmentationModel::load_safetensors`] is strict like PyTorch's
//!   `load_state_dict(strict=True)`: every missing, unexpected or wrongly
//!   shaped tensor is listed in one error, and nothing is changed unless the
//!   whole file fits. `num_batches_tracked` may be absent.
//! * [`SegmentationModel::save_safetensors`] writes every parameter and
//!   buffer (`num_batches_tracked` as an `i64` scalar, as PyTorch does), so
//!   `model.load_state_dict(safetensors.torch.load_file(path))` accepts it.
//! * [`SegmentationModel::load_encoder_safetensors`] loads an ImageNet
//!   backbone only (smp `encoder.` keys, or the bare lukemelas / smp-hub
//!   names with the classifier `_fc.*` ignored); the decoder keeps its init.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;

use candle_core::{DType, Tensor};

use crate::error::{ModelError, ShapeMismatch};
use crate::model::SegmentationModel;
use crate::params::{Entry, Slot};

const COUNTER_SUFFIX: &str = "num_batches_tracked";

fn file_error(path: &Path, message: impl std::fmt::Display) -> ModelError {
    ModelError::WeightsFile {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Checks `tensors` against `entries`, then copies them in (all or nothing).
fn assign(
    entries: &[&Entry],
    tensors: &HashMap<String, Tensor>,
    path: &Path,
) -> Result<usize, ModelError> {
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let known: std::collections::HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    for e in entries {
        match tensors.get(&e.name) {
            None if e.name.ends_with(COUNTER_SUFFIX) => {}
            None => missing.push(e.name.clone()),
            Some(t) => {
                let found = t.dims().to_vec();
                let scalar_ok = e.shape.is_empty() && t.elem_count() == 1;
                if found != e.shape && !scalar_ok {
                    mismatched.push(ShapeMismatch {
                        name: e.name.clone(),
                        expected: e.shape.clone(),
                        found,
                    });
                }
            }
        }
    }
    let mut unexpected: Vec<String> = tensors
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    unexpected.sort();
    if !missing.is_empty() || !unexpected.is_empty() || !mismatched.is_empty() {
        return Err(ModelError::WeightsMismatch {
            path: path.to_path_buf(),
            missing,
            unexpected,
            mismatched,
        });
    }
    let mut loaded = 0;
    for e in entries {
        let Some(t) = tensors.get(&e.name) else {
            continue;
        };
        match &e.slot {
            Slot::Param(v) | Slot::Buffer(v) => {
                if !t.dtype().is_float() {
                    return Err(file_error(
                        path,
                        format!(
                            "{} has dtype {:?}, expected a float type",
                            e.name,
                            t.dtype()
                        ),
                    ));
                }
                v.set(&t.to_dtype(v.dtype())?.to_device(v.device())?)?;
            }
            Slot::Counter(c) => {
                let n = t.flatten_all()?.to_dtype(DType::I64)?.to_vec1::<i64>()?[0];
                c.store(n, Ordering::Relaxed);
            }
        }
        loaded += 1;
    }
    Ok(loaded)
}

fn read(path: &Path, device: &candle_core::Device) -> Result<HashMap<String, Tensor>, ModelError> {
    if !path.is_file() {
        return Err(file_error(path, "no such weights file"));
    }
    candle_core::safetensors::load(path, device)
        .map_err(|e| file_error(path, format!("not a readable safetensors file: {e}")))
}

impl SegmentationModel {
    /// Loads a complete smp `state_dict()` saved as safetensors (strict).
    pub fn load_safetensors(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let tensors = read(path, self.device())?;
        self.load_tensors(&tensors, path)
    }

    /// Strict load from tensors already in memory; `origin` names them in errors.
    pub fn load_tensors(
        &self,
        tensors: &HashMap<String, Tensor>,
        origin: &Path,
    ) -> Result<(), ModelError> {
        let entries: Vec<&Entry> = self.entries().iter().collect();
        assign(&entries, tensors, origin).map(|_| ())
    }

    /// Loads encoder weights only and returns how many tensors were set.
    /// Keys may be smp's (`encoder._conv_stem.weight`; other keys of a full
    /// model file are then ignored) or the bare encoder names
    /// (`_conv_stem.weight`); the ImageNet classifier `_fc.*` is skipped.
    pub fn load_encoder_safetensors(&self, path: impl AsRef<Path>) -> Result<usize, ModelError> {
        let path = path.as_ref();
        let tensors = read(path, self.device())?;
        let prefixed = tensors.keys().any(|k| k.starts_with("encoder."));
        let renamed: HashMap<String, Tensor> = tensors
            .into_iter()
            .filter_map(|(k, t)| {
                let bare = if prefixed {
                    k.strip_prefix("encoder.")?.to_string()
                } else {
                    k
                };
                (!bare.starts_with("_fc.")).then(|| (format!("encoder.{bare}"), t))
            })
            .collect();
        let entries: Vec<&Entry> = self
            .entries()
            .iter()
            .filter(|e| e.name.starts_with("encoder."))
            .collect();
        assign(&entries, &renamed, path)
    }

    /// Every parameter and buffer by smp name, as PyTorch's `state_dict()`.
    pub fn state_dict(&self) -> Result<HashMap<String, Tensor>, ModelError> {
        let mut out = HashMap::new();
        for e in self.entries() {
            let t = match &e.slot {
                Slot::Param(v) | Slot::Buffer(v) => v.as_tensor().detach(),
                Slot::Counter(c) => Tensor::new(c.load(Ordering::Relaxed), self.device())?,
            };
            out.insert(e.name.clone(), t);
        }
        Ok(out)
    }

    /// Writes [`Self::state_dict`] to `path` (via a temporary file, then rename).
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        let tensors = self.state_dict()?;
        if path.file_name().is_none() {
            return Err(file_error(path, "not a file path"));
        }
        let out = ftu_outfile::AtomicFile::create(path).map_err(|e| file_error(path, e))?;
        // candle writes by name: it reopens (truncates) the temporary file.
        candle_core::safetensors::save(&tensors, out.temp_path())
            .map_err(|e| file_error(path, e))?;
        out.commit().map_err(|e| file_error(path, e))
    }
}
