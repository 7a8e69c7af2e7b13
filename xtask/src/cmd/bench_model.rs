//! `cargo xtask bench-model --arch A --encoder E --batch B --size S [--train]`:
//! one JSON line `{"forward_s": …, "train_step_s": …, "peak_rss_mib": …}`,
//! medians after a warm-up, and the process's peak resident memory (`VmHWM`,
//! as `scripts/models_bench_reference.py` reports PyTorch's `ru_maxrss`).
//! Threads follow `RAYON_NUM_THREADS` (candle's CPU kernels and ftu-models'
//! own kernels read it).

use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use clap::Args;
use ftu_models::{Arch, Encoder, ModelConfig, SegmentationModel};
use ftu_train::BceDiceLoss;

#[derive(Args)]
pub struct BenchModelArgs {
    /// unet | fpn | linknet
    #[arg(long)]
    arch: Arch,
    /// efficientnet-b0 … efficientnet-b7
    #[arg(long)]
    encoder: Encoder,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Tile height and width (a multiple of 32).
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Also time a training step (forward, BCE + Dice, backward, AdamW).
    #[arg(long)]
    train: bool,
    /// Timed repetitions after one warm-up run.
    #[arg(long, default_value_t = 3)]
    iters: usize,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn time(iters: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?; // warm-up
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        f()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(median(times))
}

pub fn run(args: BenchModelArgs) -> Result<()> {
    let device = ftu_models::device::select()?;
    let cfg = ModelConfig::new(args.arch, args.encoder);
    let model = SegmentationModel::new(&cfg, &device, 0)?;
    let shape = (args.batch, 3, args.size, args.size);
    let x = Tensor::randn(0f32, 1.0, shape, &device)?;
    let forward_s = time(args.iters, || {
        let out = model.forward(&x)?;
        // Detach so the graph (and its activations) is freed at once.
        std::hint::black_box(out.mask.detach());
        // CUDA kernels run asynchronously: wait for them (no-op on the CPU).
        device.synchronize()?;
        Ok(())
    })?;
    let train_step_s = if args.train {
        let target = Tensor::rand(
            0f32,
            1.0,
            (args.batch, cfg.classes, args.size, args.size),
            &device,
        )?
        .ge(0.5)?;
        let loss_fn = BceDiceLoss::default();
        let mut opt = AdamW::new(
            model.trainable_vars(),
            ParamsAdamW {
                lr: 1e-4,
                weight_decay: 1e-2,
                ..Default::default()
            },
        )?;
        let s = time(args.iters, || {
            let logits = model.forward_t(&x, true)?.mask;
            let loss = loss_fn.forward(&logits, &target)?;
            let grads = loss.backward()?;
            opt.step(&grads)?;
            device.synchronize()?;
            Ok(())
        })?;
        format!("{s:.4}")
    } else {
        "null".to_string()
    };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    eprintln!(
        "bench-model: {} {} batch {} size {} on {:?}, threads {threads}, median of {} after \
         warm-up, mimalloc purge delay {} ms",
        args.arch.name(),
        args.encoder.name(),
        args.batch,
        args.size,
        device.location(),
        args.iters,
        crate::alloc::purge_delay()
    );
    let peak = match peak_rss_mib()? {
        Some(mib) => format!("{mib:.1}"),
        None => "null".to_string(),
    };
    println!(
        "{{\"forward_s\": {forward_s:.4}, \"train_step_s\": {train_step_s}, \"peak_rss_mib\": {peak}}}"
    );
    Ok(())
}

/// The process's peak resident set (`VmHWM` in `/proc/self/status`) in MiB;
/// `None` where there is no procfs.
fn peak_rss_mib() -> Result<Option<f64>> {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Ok(None);
    };
    let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) else {
        return Ok(None);
    };
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("/proc/self/status: unreadable line {line:?}"))?;
    Ok(Some(kib / 1024.0))
}
