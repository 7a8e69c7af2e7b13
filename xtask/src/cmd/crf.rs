//! `cargo xtask crf`: refine a foreground probability PNG with the dense CRF
//! and write a 0/255 mask.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use ftu_crf::{BinaryCrfParams, Tiling, refine_foreground};
use ndarray::{Array2, Array3};

#[derive(Args, Debug)]
pub struct CrfArgs {
    /// RGB image (PNG or any format the `image` crate reads).
    #[arg(long)]
    pub image: PathBuf,
    /// Foreground probability as 8-bit grey: p = value / 255.
    #[arg(long)]
    pub prob: PathBuf,
    /// Output mask PNG, 0 = background, 255 = foreground.
    #[arg(long)]
    pub out: PathBuf,
    /// Gaussian (smoothness) kernel width in pixels.
    #[arg(long, default_value_t = 3.0)]
    pub gaussian_sxy: f32,
    /// Gaussian Potts weight.
    #[arg(long, default_value_t = 3.0)]
    pub gaussian_compat: f32,
    /// Bilateral (appearance) kernel spatial width in pixels.
    #[arg(long, default_value_t = 80.0)]
    pub bilateral_sxy: f32,
    /// Bilateral kernel colour width (8-bit intensity units).
    #[arg(long, default_value_t = 13.0)]
    pub bilateral_srgb: f32,
    /// Bilateral Potts weight.
    #[arg(long, default_value_t = 10.0)]
    pub bilateral_compat: f32,
    /// Mean-field iterations.
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Solve in tiles of this side (with --overlap context) instead of the
    /// whole image at once; for very large inputs.
    #[arg(long)]
    pub tile: Option<usize>,
    /// Context margin around each tile, in pixels.
    #[arg(long, default_value_t = 128)]
    pub overlap: usize,
}

fn read_rgb(path: &Path) -> Result<Array3<u8>> {
    let img = image::open(path)
        .with_context(|| format!("{}: cannot read image", path.display()))?
        .into_rgb8();
    let (w, h) = img.dimensions();
    Ok(
        Array3::from_shape_vec((h as usize, w as usize, 3), img.into_raw())
            .expect("buffer matches dimensions"),
    )
}

fn read_probability(path: &Path) -> Result<Array2<f32>> {
    let img = image::open(path)
        .with_context(|| format!("{}: cannot read probability map", path.display()))?
        .into_luma8();
    let (w, h) = img.dimensions();
    let p = img
        .into_raw()
        .into_iter()
        .map(|v| v as f32 / 255.0)
        .collect();
    Ok(Array2::from_shape_vec((h as usize, w as usize), p).expect("buffer matches dimensions"))
}

pub fn run(args: CrfArgs) -> Result<()> {
    let image = read_rgb(&args.image)?;
    let prob = read_probability(&args.prob)?;
    let (ih, iw, _) = image.dim();
    let (ph, pw) = prob.dim();
    if (ih, iw) != (ph, pw) {
        bail!(
            "{}: probability map is {pw}x{ph} but image {} is {iw}x{ih}",
            args.prob.display(),
            args.image.display()
        );
    }
    let params = BinaryCrfParams {
        gaussian_sxy: args.gaussian_sxy,
        gaussian_compat: args.gaussian_compat,
        bilateral_sxy: args.bilateral_sxy,
        bilateral_srgb: args.bilateral_srgb,
        bilateral_compat: args.bilateral_compat,
        iterations: args.iters,
        tiling: args.tile.map(|tile| Tiling {
            tile,
            overlap: args.overlap,
        }),
        ..BinaryCrfParams::default()
    };
    let q = refine_foreground(image.view(), prob.view(), &params).with_context(|| {
        format!(
            "CRF on {} with {}",
            args.image.display(),
            args.prob.display()
        )
    })?;
    // Foreground where it beats background (a tie stays background, as argmax).
    let mask = q.mapv(|p| u8::from(p > 0.5));
    crate::io::write_mask_png(&args.out, mask.view())?;
    let fg = mask.iter().filter(|&&v| v != 0).count();
    println!(
        "{}: {iw}x{ih}, {} iterations, foreground {:.2}%",
        args.out.display(),
        args.iters,
        100.0 * fg as f64 / mask.len() as f64
    );
    Ok(())
}
