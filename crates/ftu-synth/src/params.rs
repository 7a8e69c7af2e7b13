//! What a slide and a data set are made from.

use serde::{Deserialize, Serialize};

/// Parameters of one synthetic slide. Everything else (tissue outline,
/// objects, stain colours, blur, noise) follows from `seed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlideParams {
    /// Slide width in pixels (full resolution, ~0.5 µm per pixel).
    pub width: usize,
    /// Slide height in pixels.
    pub height: usize,
    /// Seed: the same parameters give the same slide, pixel for pixel.
    pub seed: u64,
    /// Nominal glomerulus diameter range `[min, max]` in pixels. Each
    /// glomerulus's area-equivalent diameter lies in `[0.99 · min, 1.005 ·
    /// max]`: the outline is a slightly oval circle of nominal diameter in
    /// the range, stored as a 96-gon with whole-pixel vertices. The HuBMAP
    /// glomeruli are 150–250 µm, i.e. 300–500 px.
    pub glomerulus_diameter: [f64; 2],
    /// Glomeruli per megapixel of cortex (real slides: roughly 0.5–1).
    pub glomerulus_density: f64,
    /// Glomerulus-sized distractors (round dilated tubules and arteries) per
    /// megapixel of tissue.
    pub distractor_density: f64,
}

impl Default for SlideParams {
    fn default() -> Self {
        SlideParams {
            width: 4096,
            height: 4096,
            seed: 0,
            glomerulus_diameter: [300.0, 500.0],
            glomerulus_density: 0.9,
            distractor_density: 1.6,
        }
    }
}

/// Parameters of a whole synthetic data set in the competition layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetParams {
    /// Number of training slides (`train/<id>.tiff` with labels).
    pub train: usize,
    /// Number of test slides (`test/<id>.tiff`, labels in `test_truth.csv`).
    pub test: usize,
    /// Slide width in pixels.
    pub width: usize,
    /// Slide height in pixels.
    pub height: usize,
    /// Data-set seed; each slide's seed and id derive from it.
    pub seed: u64,
}

impl Default for DatasetParams {
    fn default() -> Self {
        DatasetParams {
            train: 4,
            test: 2,
            width: 4096,
            height: 4096,
            seed: 0,
        }
    }
}
