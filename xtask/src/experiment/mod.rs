//! Experiments: one TOML file drives preprocess → train → select → infer →
//! ablation (stage 1), then pseudo labels → the same again (stage 2).
//! Glue only: every algorithm lives in a library crate.

pub mod adapters;
pub mod config;
pub mod demo;
mod preflight;
pub mod report;
pub mod stage;
pub mod state;
