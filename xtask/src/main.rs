//! `cargo xtask <command>`: the ftu orchestrator.
//!
//! Thin glue: parse arguments, read configs, show progress, call the library
//! crates. Each command lives in its own module under `cmd/`.

mod cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "ftu: glomerulus segmentation in kidney whole-slide images")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {};
    if let Err(err) = result {
        // One line on stderr naming the file and the problem; scripts read it.
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}
