//! `cargo xtask rle encode|decode`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::io::{read_mask_png, write_mask_png};

#[derive(Subcommand)]
pub enum RleCommand {
    /// Print the RLE of a PNG mask (nonzero = foreground) on stdout.
    Encode {
        /// The mask image.
        mask: PathBuf,
    },
    /// Read RLE from stdin and write it as a 0/255 PNG.
    Decode {
        #[arg(long)]
        width: usize,
        #[arg(long)]
        height: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(command: RleCommand) -> Result<()> {
    match command {
        RleCommand::Encode { mask } => {
            let m = read_mask_png(&mask)?;
            println!("{}", ftu_rle::encode(m.view()));
        }
        RleCommand::Decode { width, height, out } => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("<stdin>: cannot read")?;
            let mask = ftu_rle::decode(&text, height, width).context("<stdin>")?;
            write_mask_png(&out, mask.view())?;
        }
    }
    Ok(())
}
