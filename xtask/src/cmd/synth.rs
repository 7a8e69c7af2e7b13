//! `cargo xtask synth --out DIR [--train N] [--test N] [--size WxH] [--seed S]`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use ftu_synth::{DatasetParams, write_dataset_with_progress};
use indicatif::{ProgressBar, ProgressStyle};

/// Write a synthetic data set (PAS kidney slides with exact glomerulus
/// labels) in the HuBMAP competition layout: train/<id>.tiff (+ .json
/// polygons, -anatomical-structure.json), test/<id>.tiff, train.csv,
/// test_truth.csv, sample_submission.csv, HuBMAP-20-dataset_information.csv.
#[derive(Args)]
pub struct SynthArgs {
    /// Output folder (created if missing; existing files of the same names
    /// are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Number of training slides.
    #[arg(long, default_value_t = 4)]
    train: usize,
    /// Number of test slides.
    #[arg(long, default_value_t = 2)]
    test: usize,
    /// Slide size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "4096x4096", value_parser = parse_size)]
    size: (usize, usize),
    /// Seed: the same seed writes the same data set.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let bad =
        || format!("size `{text}` is not WIDTHxHEIGHT with both sides at least 1, e.g. 4096x4096");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (usize, usize) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if w == 0 || h == 0 {
        return Err(bad());
    }
    Ok((w, h))
}

pub fn run(args: SynthArgs) -> Result<()> {
    let params = DatasetParams {
        train: args.train,
        test: args.test,
        width: args.size.0,
        height: args.size.1,
        seed: args.seed,
    };
    let bar = ProgressBar::new(((args.train + args.test) * args.size.1) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {percent:>3}% rows, {elapsed} elapsed, eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let start = Instant::now();
    let slides = write_dataset_with_progress(&args.out, &params, |p| {
        bar.set_message(p.id.clone());
        bar.set_position(p.rows_done);
    })
    .with_context(|| format!("synth into {}", args.out.display()))?;
    bar.finish_and_clear();
    for s in &slides {
        println!(
            "{} {} {}x{}",
            if s.train { "train" } else { "test" },
            s.id,
            s.params.width,
            s.params.height
        );
    }
    println!(
        "wrote {} slides to {} in {:.1} s",
        slides.len(),
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_and_bad_sizes_say_why() {
        assert_eq!(parse_size("4096x2048"), Ok((4096, 2048)));
        assert_eq!(parse_size("10X20"), Ok((10, 20)));
        for bad in ["4096", "0x10", "ax10", "10x", "-1x5"] {
            assert!(parse_size(bad).unwrap_err().contains(bad), "{bad}");
        }
    }
}
