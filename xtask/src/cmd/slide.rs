//! `cargo xtask slide info|region`: inspect a slide, cut a window out of it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ftu_tiling::{ChannelLayout, Slide, Storage};

#[derive(Subcommand)]
pub enum SlideCommand {
    /// Print width, height, channels, storage, compression, planar layout and
    /// page count, one `key=value` per line.
    Info {
        /// The slide (TIFF or BigTIFF).
        slide: PathBuf,
    },
    /// Write a full-resolution window as an RGB PNG (outside the slide: white).
    Region(RegionArgs),
}

#[derive(Args)]
pub struct RegionArgs {
    /// The slide (TIFF or BigTIFF).
    slide: PathBuf,
    /// Left edge of the window (may be negative).
    #[arg(long, allow_negative_numbers = true)]
    x: i64,
    /// Top edge of the window (may be negative).
    #[arg(long, allow_negative_numbers = true)]
    y: i64,
    /// Width of the window.
    #[arg(long)]
    w: usize,
    /// Height of the window.
    #[arg(long)]
    h: usize,
    /// Output PNG.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(command: SlideCommand) -> Result<()> {
    match command {
        SlideCommand::Info { slide } => {
            let s = Slide::open(&slide)?;
            let i = s.info();
            println!("width={}", i.width);
            println!("height={}", i.height);
            println!("channels={}", i.channels);
            match i.storage {
                Storage::Tiled {
                    tile_width,
                    tile_height,
                } => {
                    println!("storage=tiled");
                    println!("tile_width={tile_width}");
                    println!("tile_height={tile_height}");
                }
                Storage::Striped { rows_per_strip } => {
                    println!("storage=striped");
                    println!("rows_per_strip={rows_per_strip}");
                }
            }
            println!("compression={}", i.compression);
            let planar = match i.layout {
                ChannelLayout::Chunky => "chunky",
                ChannelLayout::Planar => "separate",
                ChannelLayout::Pages => "pages",
            };
            println!("planar={planar}");
            println!("photometric={}", i.photometric);
            println!("pages={}", i.pages);
            println!("bigtiff={}", i.bigtiff);
            let others: Vec<String> = i
                .other_pages
                .iter()
                .map(|(w, h)| format!("{w}x{h}"))
                .collect();
            println!("other_pages={}", others.join(","));
        }
        SlideCommand::Region(a) => {
            let s = Slide::open(&a.slide)?;
            let region = s.read_region(a.x, a.y, a.w, a.h)?;
            ftu_tiling::png::write_rgb(&a.out, region.view())
                .with_context(|| format!("writing the window of {}", a.slide.display()))?;
        }
    }
    Ok(())
}
