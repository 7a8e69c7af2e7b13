//! Batches assembled ahead of the model: a feeder thread walks a batch plan
//! and, for each batch, has a rayon pool decode the PNGs, augment each tile
//! with its own seeded stream and normalise it into the batch buffer; the
//! finished `(N, 3, H, W)` images and `(N, 1, H, W)` masks go through a
//! bounded channel, so at most `prefetch` batches wait in memory.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use candle_core::{Device, Tensor};
use ftu_augment::Pipeline;
use rayon::prelude::*;

use super::TileSet;
use crate::error::TrainError;

/// One batch, ready for the model.
#[derive(Debug)]
pub struct Batch {
    /// Position in the plan.
    pub index: usize,
    /// Normalised images `(N, 3, S, S)`.
    pub images: Tensor,
    /// 0/1 masks `(N, 1, S, S)`.
    pub masks: Tensor,
}

/// Augmentation of a plan: the pipeline, its seed and the epoch, so tile
/// `i` of batch `b` uses stream `(epoch << 32) | (b * batch + i)`.
#[derive(Clone)]
pub struct AugmentPlan {
    /// The pipeline.
    pub pipeline: Arc<Pipeline>,
    /// Seed of the augmentation streams.
    pub seed: u64,
    /// The epoch the plan belongs to.
    pub epoch: usize,
}

/// Builds batch `index` of `tiles` (no threads of its own: runs on the
/// calling rayon pool).
pub fn build_batch(
    set: &TileSet,
    tiles: &[usize],
    index: usize,
    augment: Option<&AugmentPlan>,
) -> Result<Batch, TrainError> {
    let s = set.side();
    let plane = s * s;
    let mut images = vec![0f32; tiles.len() * 3 * plane];
    let mut masks = vec![0f32; tiles.len() * plane];
    images
        .par_chunks_mut(3 * plane)
        .zip(masks.par_chunks_mut(plane))
        .zip(tiles.par_iter().enumerate())
        .try_for_each(|((img_out, mask_out), (i, &tile))| {
            let (mut image, mut mask) = set.load(tile)?;
            if let Some(a) = augment {
                let sample = ((a.epoch as u64) << 32) | (index * tiles.len() + i) as u64;
                a.pipeline
                    .apply_seeded(&mut image, &mut mask, a.seed, sample)?;
            }
            let rgb = image.as_standard_layout();
            ftu_models::input::normalize_into(rgb.as_slice().expect("standard layout"), img_out);
            for (o, &m) in mask_out.iter_mut().zip(mask.iter()) {
                *o = f32::from(m != 0);
            }
            Ok::<(), TrainError>(())
        })?;
    let n = tiles.len();
    Ok(Batch {
        index,
        images: Tensor::from_vec(images, (n, 3, s, s), &Device::Cpu)?,
        masks: Tensor::from_vec(masks, (n, 1, s, s), &Device::Cpu)?,
    })
}

/// Starts a feeder thread producing batches `start..plan.len()` of `plan`.
/// Dropping the receiver stops it after the batch in progress.
pub fn spawn(
    set: Arc<TileSet>,
    plan: Vec<Vec<usize>>,
    start: usize,
    augment: Option<AugmentPlan>,
    pool: Arc<rayon::ThreadPool>,
    prefetch: usize,
) -> (Receiver<Result<Batch, TrainError>>, JoinHandle<()>) {
    let (tx, rx) = sync_channel(prefetch.max(1));
    let handle = std::thread::spawn(move || {
        for (index, tiles) in plan.iter().enumerate().skip(start) {
            let batch = pool.install(|| build_batch(&set, tiles, index, augment.as_ref()));
            let failed = batch.is_err();
            if tx.send(batch).is_err() || failed {
                return;
            }
        }
    });
    (rx, handle)
}
