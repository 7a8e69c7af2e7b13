//! One patch: averaging member x TTA logits, then threshold-ready
//! probabilities or the DenseCRF's foreground marginal.

use ftu_crf::{BinaryCrfParams, refine_foreground};
use ndarray::{Array2, ArrayView3};

use crate::config::Combine;
use crate::model::sigmoid;

/// Averages the predictions of one patch. `views` are logit planes
/// (`size * size` each, on the patch's own grid).
pub fn combine(views: &[&[f32]], size: usize, how: Combine) -> Array2<f32> {
    let n = views.len() as f32;
    let mut acc = vec![0f32; size * size];
    for v in views {
        match how {
            Combine::Probability => acc
                .iter_mut()
                .zip(v.iter())
                .for_each(|(a, &l)| *a += sigmoid(l)),
            Combine::Logit => acc.iter_mut().zip(v.iter()).for_each(|(a, &l)| *a += l),
        }
    }
    let out = acc.into_iter().map(|a| match how {
        Combine::Probability => a / n,
        Combine::Logit => sigmoid(a / n),
    });
    Array2::from_shape_vec((size, size), out.collect()).expect("patch is size x size")
}

/// The DenseCRF foreground marginal of a patch against its resized RGB.
pub fn crf_patch(
    rgb: ArrayView3<u8>,
    probs: &Array2<f32>,
    params: &BinaryCrfParams,
) -> Result<Array2<f32>, ftu_crf::CrfError> {
    refine_foreground(rgb, probs.view(), params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::logit;

    #[test]
    fn combine_means_probabilities_or_logits() {
        let a = vec![logit(0.2); 4];
        let b = vec![logit(0.8); 4];
        let p = combine(&[&a, &b], 2, Combine::Probability);
        assert!((p[[1, 1]] - 0.5).abs() < 1e-6);
        let c = vec![logit(0.9); 4];
        let l = combine(&[&a, &c], 2, Combine::Logit);
        // mean of logit(0.2) and logit(0.9) is above 0: between the two probabilities, above 0.5.
        assert!(l[[0, 0]] > 0.5 && l[[0, 0]] < 0.9);
        assert!((combine(&[&a], 2, Combine::Logit)[[0, 0]] - 0.2).abs() < 1e-6);
    }
}
