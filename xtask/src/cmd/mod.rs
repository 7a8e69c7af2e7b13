//! One module per `cargo xtask` command.

pub mod ablation;
pub mod bench_model;
pub mod crf;
pub mod eval;
pub mod forward;
pub mod infer;
pub mod preprocess;
pub mod rle;
pub mod slide;
pub mod stage;
pub mod synth;
pub mod train;
