//! Synthetic PAS-stained kidney whole-slide images with exact glomerulus
//! labels.
//!
//! Real HuBMAP slides cannot be downloaded everywhere ftu is built, so
//! tests and the demo use these: pale glass around an irregular tissue
//! outline; cortex of packed tubules (rings of nuclei around pale lumens,
//! magenta basement membranes, brush borders), interstitium and round
//! arteries; a medulla of long parallel ducts; glomeruli as lobed tufts
//! dense with nuclei and capillary loops inside a pale Bowman's space and a
//! thin capsule. Glomerulus-sized distractors (nucleus-packed tubules,
//! tubules holding PAS-positive casts, arteries, patches of inflammation)
//! defeat colour thresholding: the best threshold on smoothed colour,
//! chosen with the labels, reaches a Dice of 0.58–0.70 on three 4096-pixel
//! slides (a test holds it below 0.8), while the capsule, Bowman's space
//! and capillary texture remain for a model to learn. Stain colours, blur
//! and noise vary per slide.
//!
//! A [`SlideGenerator`] plans a slide cheaply and renders any window on
//! demand; each pixel depends only on its position and the seed, so a
//! window equals the same window of the written TIFF exactly. Labels are the
//! glomerulus polygons, rasterised with [`ftu_polygon::rasterize`].
//!
//! ```
//! use ftu_synth::{SlideGenerator, SlideParams};
//!
//! let slide = SlideGenerator::new(SlideParams { width: 2048, height: 2048, seed: 7, ..Default::default() });
//! let rgb = slide.region(600, 600, 256, 256);
//! assert_eq!(rgb.dim(), (256, 256, 3));
//! // Same seed, same pixels.
//! let again = SlideGenerator::new(slide.params().clone());
//! assert_eq!(again.region(600, 600, 256, 256), rgb);
//! // The mask is the polygons rasterised.
//! let mask = slide.mask_region(0, 0, 2048, 2048);
//! assert_eq!(mask, ftu_polygon::rasterize(slide.glomeruli(), 0, 0, 2048, 2048));
//! assert!(!slide.glomeruli().is_empty());
//! ```
//!
//! [`write_tiff`] writes a slide as tiled Deflate BigTIFF; [`write_dataset`]
//! writes a whole data set in the HuBMAP competition layout.

mod dataset;
mod error;
mod generator;
mod noise;
mod params;
mod render;
mod scene;
mod shape;
mod site;
mod stain;
mod tiff_out;

pub use dataset::{
    DATASET_INFO_COLUMNS, DatasetProgress, DatasetSlide, plan_dataset, write_dataset,
    write_dataset_with_progress,
};
pub use error::SynthError;
pub use generator::SlideGenerator;
pub use params::{DatasetParams, SlideParams};
pub use tiff_out::{TILE, write_tiff};
