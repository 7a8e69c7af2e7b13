//! One-call refinement of a foreground probability map, with the settings
//! the HuBMAP recipe (and pydensecrf's examples) use.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};

use crate::crf::{DenseCrf2d, Tiling};
use crate::error::CrfError;
use crate::unary::{DEFAULT_CLIP, unary_from_foreground};

/// Parameters of [`refine_foreground`]; the defaults are pydensecrf's
/// example settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryCrfParams {
    /// Gaussian (smoothness) kernel width in pixels.
    pub gaussian_sxy: f32,
    /// Gaussian Potts weight.
    pub gaussian_compat: f32,
    /// Bilateral (appearance) kernel spatial width in pixels.
    pub bilateral_sxy: f32,
    /// Bilateral kernel colour width in 8-bit intensity units.
    pub bilateral_srgb: f32,
    /// Bilateral Potts weight.
    pub bilateral_compat: f32,
    /// Mean-field iterations.
    pub iterations: usize,
    /// Probability clip before the logarithm.
    pub clip: f32,
    /// Solve in tiles (for very large inputs); `None` solves the whole image.
    pub tiling: Option<Tiling>,
}

impl Default for BinaryCrfParams {
    fn default() -> Self {
        Self {
            gaussian_sxy: 3.0,
            gaussian_compat: 3.0,
            bilateral_sxy: 80.0,
            bilateral_srgb: 13.0,
            bilateral_compat: 10.0,
            iterations: 5,
            clip: DEFAULT_CLIP,
            tiling: None,
        }
    }
}

/// Refines a foreground probability map (`(height, width)`, values in
/// `[0, 1]`) against its RGB image (`(height, width, 3)`) and returns the
/// CRF's foreground marginal, same shape. Threshold it at 0.5 for a mask.
pub fn refine_foreground(
    image: ArrayView3<u8>,
    foreground: ArrayView2<f32>,
    params: &BinaryCrfParams,
) -> Result<Array2<f32>, CrfError> {
    let (h, w) = foreground.dim();
    if image.dim() != (h, w, 3) {
        return Err(CrfError::ShapeMismatch {
            what: "image vs probability map",
            expected: vec![h, w, 3],
            found: image.shape().to_vec(),
        });
    }
    let mut crf = DenseCrf2d::new(w, h, 2)?;
    let unary = unary_from_foreground(foreground, Some(params.clip))?;
    crf.set_unary_energy(unary.view())?;
    crf.add_pairwise_gaussian(params.gaussian_sxy, params.gaussian_compat)?;
    crf.add_pairwise_bilateral(
        params.bilateral_sxy,
        params.bilateral_srgb,
        image,
        params.bilateral_compat,
    )?;
    let q = match params.tiling {
        Some(tiling) => crf.inference_tiled(params.iterations, tiling)?,
        None => crf.inference(params.iterations)?,
    };
    Ok(q.index_axis_move(Axis(0), 1))
}
