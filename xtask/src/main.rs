//! `cargo xtask <command>`: the ftu orchestrator.
//!
//! Thin glue: parse arguments, read configs, show progress, call the library
//! crates. Each command lives in its own module under `cmd/`.

mod alloc;
mod cmd;
mod experiment;
mod io;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "ftu: glomerulus segmentation in kidney whole-slide images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Competition run-length encoding of PNG masks.
    #[command(subcommand)]
    Rle(cmd::rle::RleCommand),
    /// Score a submission: `id dice` per image, then `mean_dice=<value>`.
    Eval(cmd::eval::EvalArgs),
    /// Write a synthetic PAS kidney data set in the competition layout.
    Synth(cmd::synth::SynthArgs),
    /// Eval-mode logits of an smp-compatible model: `input` in, `output` out.
    Forward(cmd::forward::ForwardArgs),
    /// Time a forward pass (and with --train a training step): one JSON line.
    BenchModel(cmd::bench_model::BenchModelArgs),
    /// Inspect a slide (`info`) or cut a full-resolution window out of it (`region`).
    #[command(subcommand)]
    Slide(cmd::slide::SlideCommand),
    /// Cut slides and tile sets into a tile dataset: images/, masks/, manifest.csv.
    Preprocess(cmd::preprocess::PreprocessArgs),
    /// Refine a foreground probability PNG with the dense CRF into a 0/255 mask.
    Crf(cmd::crf::CrfArgs),
    /// k-fold training from a tile dataset: fold<k>/ run dirs and cv.json.
    Train(cmd::train::TrainArgs),
    /// Predict slides with an ensemble x TTA: submission.csv, overlays, GeoJSON.
    Infer(cmd::infer::InferArgs),
    /// The recipe's inference ablation table on slides with known truth.
    Ablation(cmd::ablation::AblationArgs),
    /// Stage 1: preprocess, train folds, select, infer the test slides, ablation, report.
    Stage1(cmd::stage::StageArgs),
    /// Stage 2: stage 1, then pseudo-label, retrain on all sources, infer, compare.
    Stage2(cmd::stage::StageArgs),
    /// Synthetic slides through stage 1 and stage 2; ends with `mean_dice=<value>`.
    Demo(cmd::stage::DemoArgs),
}

fn main() {
    alloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rle(c) => cmd::rle::run(c),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Synth(a) => cmd::synth::run(a),
        Command::Forward(a) => cmd::forward::run(a),
        Command::BenchModel(a) => cmd::bench_model::run(a),
        Command::Slide(c) => cmd::slide::run(c),
        Command::Preprocess(a) => cmd::preprocess::run(a),
        Command::Crf(a) => cmd::crf::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Infer(a) => cmd::infer::run(a),
        Command::Ablation(a) => cmd::ablation::run(a),
        Command::Stage1(a) => cmd::stage::run(a, experiment::stage::Stage::One),
        Command::Stage2(a) => cmd::stage::run(a, experiment::stage::Stage::Two),
        Command::Demo(a) => cmd::stage::demo(a),
    };
    if let Err(err) = result {
        // One line on stderr naming the file and the problem; scripts read it.
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
