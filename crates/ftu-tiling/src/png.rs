//! PNG tiles and masks: atomic writes (temporary file, then rename) and reads
//! that name the file on error.

use std::path::Path;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3};

use crate::error::{Result, TilingError};

fn png_err(path: &Path) -> impl FnOnce(image::ImageError) -> TilingError + '_ {
    move |source| TilingError::Png {
        path: path.to_owned(),
        source,
    }
}

/// Encodes 8-bit pixels as PNG with fast compression (like OpenCV's default
/// level 1: tiles are written once and read many times, size matters less).
fn encode(
    path: &Path,
    raw: &[u8],
    w: usize,
    h: usize,
    color: image::ExtendedColorType,
) -> Result<()> {
    let file = ftu_outfile::AtomicFile::create(path).map_err(|e| TilingError::io(path, e))?;
    {
        let mut out = std::io::BufWriter::new(file.file());
        PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
            .write_image(raw, w as u32, h as u32, color)
            .map_err(png_err(path))?;
        std::io::Write::flush(&mut out).map_err(|e| TilingError::io(path, e))?;
    }
    file.commit().map_err(|e| TilingError::io(path, e))
}

/// Writes an HWC RGB image as PNG, atomically.
pub fn write_rgb(path: &Path, image: ArrayView3<u8>) -> Result<()> {
    let (h, w, c) = image.dim();
    if c != 3 {
        return Err(TilingError::Invalid(format!(
            "write_rgb: {c} channels, expected 3"
        )));
    }
    let std = image.as_standard_layout();
    let raw = std.as_slice().expect("standard layout is contiguous");
    encode(path, raw, w, h, image::ExtendedColorType::Rgb8)
}

/// Writes a 0/1 mask as an 8-bit grey PNG holding 0 and 255, atomically.
pub fn write_mask(path: &Path, mask: ArrayView2<u8>) -> Result<()> {
    let (h, w) = mask.dim();
    let raw: Vec<u8> = mask.iter().map(|&v| if v != 0 { 255 } else { 0 }).collect();
    encode(path, &raw, w, h, image::ExtendedColorType::L8)
}

/// Reads a PNG as HWC RGB (grey expanded, alpha dropped).
pub fn read_rgb(path: &Path) -> Result<Array3<u8>> {
    let img = image::open(path).map_err(png_err(path))?.to_rgb8();
    let (w, h) = img.dimensions();
    Ok(
        Array3::from_shape_vec((h as usize, w as usize, 3), img.into_raw())
            .expect("buffer matches its dimensions"),
    )
}

/// Reads a PNG mask: a pixel is foreground (1) when its grey value is nonzero.
pub fn read_mask(path: &Path) -> Result<Array2<u8>> {
    let img = image::open(path).map_err(png_err(path))?.to_luma8();
    let (w, h) = img.dimensions();
    let raw = img
        .into_raw()
        .into_iter()
        .map(|v| u8::from(v != 0))
        .collect();
    Ok(Array2::from_shape_vec((h as usize, w as usize), raw)
        .expect("buffer matches its dimensions"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let img = Array3::from_shape_fn((5, 7, 3), |(y, x, c)| (y * 40 + x * 5 + c) as u8);
        let p = dir.path().join("a.png");
        write_rgb(&p, img.view()).unwrap();
        assert_eq!(read_rgb(&p).unwrap(), img);
        let mask = Array2::from_shape_fn((5, 7), |(y, x)| u8::from(x > y));
        let p = dir.path().join("m.png");
        write_mask(&p, mask.view()).unwrap();
        assert_eq!(read_mask(&p).unwrap(), mask);
        let err = read_rgb(&dir.path().join("missing.png")).unwrap_err();
        assert!(err.to_string().contains("missing.png"), "{err}");
    }
}
