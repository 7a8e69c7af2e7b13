//! File helpers shared by commands: PNG masks in and out, atomic writes.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use ndarray::{Array2, ArrayView2};

/// Reads a PNG (any colour type) as a 0/1 mask: nonzero luma = foreground.
pub fn read_mask_png(path: &Path) -> Result<Array2<u8>> {
    let img = image::open(path)
        .with_context(|| format!("{}: cannot read image", path.display()))?
        .into_luma8();
    let (w, h) = img.dimensions();
    let pixels = img.into_raw().into_iter().map(|v| (v != 0) as u8).collect();
    Ok(
        Array2::from_shape_vec((h as usize, w as usize), pixels)
            .expect("buffer matches dimensions"),
    )
}

/// Writes a 0/1 (or any nonzero) mask as a 0/255 grey PNG, atomically.
pub fn write_mask_png(path: &Path, mask: ArrayView2<u8>) -> Result<()> {
    let (h, w) = mask.dim();
    let pixels: Vec<u8> = mask.iter().map(|&v| if v != 0 { 255 } else { 0 }).collect();
    let img =
        image::GrayImage::from_raw(w as u32, h as u32, pixels).expect("buffer matches dimensions");
    write_atomic(path, |file| {
        img.write_to(file, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
}

/// Writes through a temp file in the destination folder, then renames, so a
/// failed or interrupted write never replaces a good file with a broken one.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let ctx = || format!("{}: cannot write", path.display());
    let file = ftu_outfile::AtomicFile::create(path).with_context(ctx)?;
    {
        let mut out = std::io::BufWriter::new(file.file());
        write(&mut out).with_context(ctx)?;
        out.flush().with_context(ctx)?;
    }
    file.commit().with_context(ctx)
}
