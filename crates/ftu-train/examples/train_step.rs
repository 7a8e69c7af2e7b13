//! Training-step throughput of the real loop on a tile dataset: the loader
//! (PNG decode + ImageNet normalisation on rayon workers, prefetched),
//! forward, BCE + Dice, backward, AdamW. One warm-up step, then `--steps`
//! timed ones; prints one JSON line with seconds per step and tiles/s.
//! `scripts/train_reference.py` runs the same loop in PyTorch + smp.
//!
//! ```text
//! MIMALLOC_PURGE_DELAY=-1 cargo run --release -p ftu-train --example train_step -- \
//!     --data data/tiles-synth-1024-256 --arch unet --batch 8 --steps 3
//! ```
//!
//! The allocator is xtask's (mimalloc); `MIMALLOC_PURGE_DELAY=-1` keeps freed
//! memory as `xtask` does by default (see `xtask/src/alloc.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use candle_core::Device;
use ftu_models::{ModelConfig, SegmentationModel, Slot};
use ftu_train::data::{TileSet, loader, sampler};
use ftu_train::optim::AdamW;
use ftu_train::{Loss, LossConfig, OptimizerConfig, Sampling};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut data = None;
    let (mut arch, mut encoder, mut batch, mut steps) = (
        "unet".to_string(),
        "efficientnet-b0".to_string(),
        8usize,
        3usize,
    );
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--data" => data = Some(PathBuf::from(value()?)),
            "--arch" => arch = value()?,
            "--encoder" => encoder = value()?,
            "--batch" => batch = value()?.parse()?,
            "--steps" => steps = value()?.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let data = data.ok_or("--data DIR (a preprocessed tile dataset) is required")?;
    let set = Arc::new(TileSet::open(&data)?);
    let cfg = ModelConfig::new(arch.parse()?, encoder.parse()?);
    let model = SegmentationModel::new(&cfg, &Device::Cpu, 0)?;
    let params = model
        .entries()
        .iter()
        .filter_map(|e| match &e.slot {
            Slot::Param(v) => Some((e.name.clone(), v.clone())),
            _ => None,
        })
        .collect();
    let mut opt = AdamW::new(params, OptimizerConfig::default())?;
    let loss = Loss(LossConfig::default());
    let all: Vec<usize> = (0..set.rows().len()).collect();
    let flags = vec![false; all.len()];
    let plan = sampler::epoch_batches(&all, &flags, Sampling::All, batch, Some(steps + 1), 0, 0);
    let pool = Arc::new(rayon::ThreadPoolBuilder::new().build()?);
    let (rx, feeder) = loader::spawn(set.clone(), plan, 0, None, pool, 2);
    let mut started = None;
    for b in rx {
        let b = b?;
        if b.index == 1 {
            started = Some(Instant::now());
        }
        let logits = model.forward_t(&b.images, true)?.mask;
        let grads = loss.forward(&logits, &b.masks)?.backward()?;
        opt.step(&grads, 1e-3)?;
    }
    feeder.join().expect("loader thread");
    let seconds = started.ok_or("no timed steps")?.elapsed().as_secs_f64() / steps as f64;
    println!(
        "{{\"arch\": \"{arch}\", \"encoder\": \"{encoder}\", \"batch\": {batch}, \"size\": {}, \"step_s\": {seconds:.3}, \"tiles_per_s\": {:.2}}}",
        set.side(),
        batch as f64 / seconds
    );
    Ok(())
}
