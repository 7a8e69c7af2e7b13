//! Windowed whole-slide reading, tiling and stitching for ftu.
//!
//! Real slides are 20k–50k pixels a side; nothing here needs a whole slide in
//! memory.
//!
//! - [`Slide`] opens TIFF and BigTIFF, striped or tiled, uncompressed / LZW /
//!   Deflate / PackBits / JPEG, chunky, planar or one page per channel, and
//!   [`Slide::read_region`] decodes only the chunks a window overlaps (safe
//!   from many rayon workers at once). Bad files are errors naming the file
//!   and chunk; declared sizes above [`MAX_CHUNK_BYTES`] / [`MAX_SIDE`] are
//!   refused before allocating.
//! - [`TileGrid`] covers a slide with overlapping tiles; [`resize_rgb`] /
//!   [`resize_mask`] downscale them (area averaging; masks area + 0.5
//!   threshold); [`TissueMap`] skips background tiles using a thumbnail.
//! - [`Labels`] gives the mask of any window from RLE, polygon JSON or PNG.
//! - [`Stitcher`] / [`RleStitcher`] merge weighted patch predictions band by
//!   band into a probability map or straight into the competition RLE.
//! - [`preprocess()`] turns slides and tile sets into a tile dataset with folds.
//! - [`write_tiff`] writes small slides in every supported storage variant.
//!
//! ```
//! use ftu_tiling::{Slide, TileGrid, Stitcher, Weighting, WriteOptions, write_tiff};
//! use ndarray::Array3;
//!
//! # fn main() -> Result<(), ftu_tiling::TilingError> {
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("slide.tiff");
//! let pixels = Array3::from_shape_fn((300, 500, 3), |(y, x, c)| (x + 2 * y + 50 * c) as u8);
//! write_tiff(&path, pixels.view(), &WriteOptions::default())?; // tiled Deflate BigTIFF
//!
//! let slide = Slide::open(&path)?;
//! assert_eq!((slide.width(), slide.height()), (500, 300));
//! // A window across the right edge: the outside part is FILL (white).
//! let window = slide.read_region(450, 10, 100, 20)?;
//! assert_eq!(window[[0, 0, 1]], pixels[[10, 450, 1]]);
//! assert_eq!(window[[0, 99, 0]], ftu_tiling::FILL);
//!
//! // Stitching identical predictions over an overlapping grid gives them back.
//! let grid = TileGrid::new(500, 300, 128, 32)?;
//! let probs = pixels.map_axis(ndarray::Axis(2), |p| f32::from(p[0]) / 255.0);
//! let mut stitcher = Stitcher::new(300, 500, Weighting::Gaussian { sigma: 0.125 });
//! let mut rows = 0;
//! for t in grid.iter() {
//!     let (x, y) = (t.x as usize, t.y as usize);
//!     let patch = probs.slice(ndarray::s![y..y + 128, x..x + 128]);
//!     if let Some(band) = stitcher.add(x as i64, y as i64, patch)? {
//!         assert_eq!(band.probs, probs.slice(ndarray::s![band.y..band.y + band.probs.nrows(), ..]));
//!         rows += band.probs.nrows();
//!     }
//! }
//! rows += stitcher.finish().map_or(0, |b| b.probs.nrows());
//! assert_eq!(rows, 300);
//! # Ok(())
//! # }
//! ```

pub mod error;
pub mod grid;
pub mod labels;
pub mod png;
pub mod preprocess;
pub mod resize;
pub mod slide;
pub mod stitch;
pub mod tissue;
pub mod write;

pub use error::{Result, TilingError};
pub use grid::{Tile, TileGrid};
pub use labels::Labels;
pub use preprocess::{
    FoldConfig, FoldMode, ManifestRow, PreprocessConfig, SourceConfig, TissueFrom, preprocess,
};
pub use resize::{resize_mask, resize_probs, resize_rgb};
pub use slide::{
    ChannelLayout, FILL, MAX_CHUNK_BYTES, MAX_REGION_BYTES, MAX_SIDE, Slide, SlideInfo, Storage,
};
pub use stitch::{Band, RleStitcher, Stitcher, Weighting};
pub use tissue::{TissueMap, TissueParams, is_tissue, tissue_fraction};
pub use write::{Chunking, Codec, WriteOptions, write_tiff};
