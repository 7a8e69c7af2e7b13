//! `last.safetensors`: one file holding everything a resumed run needs, so
//! a single atomic rename keeps it consistent:
//!
//! * the model under smp's `state_dict()` names (parameters, batch-norm
//!   buffers, `num_batches_tracked`),
//! * the AdamW moments as `optim.m.<name>` and `optim.v.<name>`,
//! * `trainer.state`: a `u8` tensor holding [`TrainerState`] as JSON
//!   (epoch, batch, step, the model's forward-call count that positions
//!   its dropout stream, the partial epoch's loss, the metric history, the
//!   best epoch so far).
//!
//! `best.safetensors` is the model alone ([`SegmentationModel::save_safetensors`]),
//! loadable by [`SegmentationModel::load_safetensors`].

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use ftu_models::SegmentationModel;
use serde::{Deserialize, Serialize};

use crate::error::TrainError;
use crate::optim::AdamW;

/// The key of the trainer state in `last.safetensors`.
pub const STATE_KEY: &str = "trainer.state";

/// One epoch's line of `metrics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean validation loss over validation batches (tile-weighted).
    pub val_loss: f64,
    /// Global validation Dice at the configured threshold.
    pub val_dice: f64,
    /// The grid threshold with the best global Dice.
    pub best_threshold: f64,
    /// The global Dice at that threshold.
    pub best_threshold_dice: f64,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// The best epoch so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BestEpoch {
    /// 0-based epoch.
    pub epoch: usize,
    /// The score it was chosen on.
    pub score: f64,
}

/// Where a fold's training stands.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// The epoch in progress (the next to start when `batch == 0`).
    pub epoch: usize,
    /// The next batch of that epoch.
    pub batch: usize,
    /// Optimiser steps taken.
    pub step: u64,
    /// [`SegmentationModel::forward_calls`] at this point.
    pub forward_calls: u64,
    /// Sum and count of the current epoch's batch losses so far.
    pub loss_sum: f64,
    pub loss_count: usize,
    /// Seconds already spent on the current epoch before the checkpoint.
    pub epoch_seconds: f64,
    /// Finished epochs.
    pub history: Vec<EpochMetrics>,
    /// The best epoch so far.
    pub best: Option<BestEpoch>,
    /// Training of the fold is over (epochs done or early stop).
    pub finished: bool,
}

/// Writes `last.safetensors` atomically.
pub fn save_last(
    path: &Path,
    model: &SegmentationModel,
    optimizer: &AdamW,
    state: &TrainerState,
) -> Result<(), TrainError> {
    let mut tensors = model.state_dict()?;
    tensors.extend(optimizer.state_tensors());
    let json = serde_json::to_vec(state).map_err(|e| TrainError::Checkpoint {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let n = json.len();
    tensors.insert(STATE_KEY.into(), Tensor::from_vec(json, n, &Device::Cpu)?);
    let out = ftu_outfile::AtomicFile::create(path).map_err(|e| TrainError::io(path, e))?;
    candle_core::safetensors::save(&tensors, out.temp_path()).map_err(|e| {
        TrainError::Checkpoint {
            path: path.to_owned(),
            message: e.to_string(),
        }
    })?;
    out.commit().map_err(|e| TrainError::io(path, e))
}

/// Restores model, optimiser and state from `last.safetensors`.
pub fn load_last(
    path: &Path,
    model: &SegmentationModel,
    optimizer: &mut AdamW,
) -> Result<TrainerState, TrainError> {
    let bad = |message: String| TrainError::Checkpoint {
        path: path.to_owned(),
        message,
    };
    let mut tensors: HashMap<String, Tensor> =
        candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| bad(format!("not a readable checkpoint: {e}")))?;
    let state = tensors
        .remove(STATE_KEY)
        .ok_or_else(|| bad(format!("no {STATE_KEY}: not a `last` checkpoint")))?;
    if state.dtype() != DType::U8 {
        return Err(bad(format!("{STATE_KEY} is not u8")));
    }
    let state: TrainerState = serde_json::from_slice(&state.to_vec1::<u8>()?)
        .map_err(|e| bad(format!("{STATE_KEY}: {e}")))?;
    let optim: HashMap<String, Tensor> =
        tensors.extract_if(|k, _| k.starts_with("optim.")).collect();
    model.load_tensors(&tensors, path)?;
    optimizer.load_state(&optim, state.step).map_err(bad)?;
    model.set_forward_calls(state.forward_calls);
    Ok(state)
}

/// True when every parameter and buffer of `model` is finite.
pub fn weights_finite(model: &SegmentationModel) -> Result<bool, TrainError> {
    for e in model.entries() {
        if let ftu_models::Slot::Param(v) | ftu_models::Slot::Buffer(v) = &e.slot {
            // 0 * x is 0 for finite x and NaN for NaN and ±Inf.
            let s = (v.as_tensor().detach() * 0.0)?
                .sum_all()?
                .to_dtype(DType::F64)?
                .to_scalar::<f64>()?;
            if s != 0.0 {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed run must see the very bits it saved: the loss sum feeds the
    /// epoch's mean and the seconds feed the report a finished fold returns.
    #[test]
    fn trainer_state_json_round_trips_every_float_bit() {
        // Spread over many exponents and mantissas, including values whose
        // shortest decimal form sits next to a rounding boundary.
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits((x >> 12) | (1023 << 52)) - 1.0; // [0, 1)
            v * 10f64.powi((x % 9) as i32 - 3)
        };
        let history = (0..500)
            .map(|epoch| EpochMetrics {
                epoch,
                train_loss: next(),
                val_loss: next(),
                val_dice: next(),
                best_threshold: next(),
                best_threshold_dice: next(),
                lr: next(),
                seconds: next(),
            })
            .collect();
        let state = TrainerState {
            loss_sum: 1.763_190_762_999_999_9,
            epoch_seconds: next(),
            history,
            best: Some(BestEpoch {
                epoch: 3,
                score: next(),
            }),
            ..Default::default()
        };
        let back: TrainerState =
            serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
        // PartialEq on f64 is bitwise here: no NaN, and the signs agree.
        let first = (back.history.iter().zip(&state.history)).find(|(b, s)| b != s);
        assert!(first.is_none(), "changed in the round trip: {first:?}");
        assert!(back == state, "a state float changed in the round trip");
    }
}
