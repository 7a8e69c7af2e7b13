//! Renders a window of a synthetic slide, and its glomerulus mask, as
//! binary PPM/PGM images for a quick look:
//!
//! `cargo run -p ftu-synth --release --example preview -- OUT_PREFIX SEED SIZE X Y W H`
//!
//! writes `OUT_PREFIX.ppm` (RGB) and `OUT_PREFIX-mask.pgm` (0/255).

use std::io::Write;

use ftu_synth::{SlideGenerator, SlideParams};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: preview OUT_PREFIX SEED SIZE X Y W H";
    if args.len() != 7 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let num = |i: usize| -> usize {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!(
                "argument {}: `{}` is not a whole number; {usage}",
                i + 1,
                args[i]
            );
            std::process::exit(2)
        })
    };
    let (seed, size, x, y, w, h) = (num(1) as u64, num(2), num(3), num(4), num(5), num(6));
    let slide = SlideGenerator::new(SlideParams {
        width: size,
        height: size,
        seed,
        ..Default::default()
    });
    eprintln!("{} glomeruli", slide.glomeruli().len());
    let rgb = slide.region(x, y, w, h);
    let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{}.ppm", args[0]))?);
    write!(f, "P6\n{w} {h}\n255\n")?;
    f.write_all(rgb.as_slice().expect("contiguous"))?;
    let mask = slide.mask_region(x, y, w, h).mapv(|v| v * 255);
    let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{}-mask.pgm", args[0]))?);
    write!(f, "P5\n{w} {h}\n255\n")?;
    f.write_all(mask.as_slice().expect("contiguous"))?;
    Ok(())
}
