//! Unary energies, as pydensecrf's `utils.unary_from_softmax` and
//! `utils.unary_from_labels` make them: arrays of shape `(labels, height, width)`
//! holding `-ln p`.

use ndarray::{Array3, ArrayView2, ArrayView3, Zip};

use crate::error::CrfError;

/// The clip pydensecrf applies to probabilities before the logarithm.
pub const DEFAULT_CLIP: f32 = 1e-5;

fn check_finite3(what: &'static str, a: &ArrayView3<f32>) -> Result<(), CrfError> {
    if let Some(((label, row, col), &value)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(CrfError::NonFinite {
            what,
            label,
            row,
            col,
            value,
        });
    }
    Ok(())
}

/// `-ln(clip(p, clip, 1))` per label, from probabilities of shape
/// `(labels, height, width)` (pydensecrf's `unary_from_softmax`).
///
/// With `scale = Some(s)` the probabilities are first blended with the
/// uniform distribution, `s * p + (1 - s) / labels`, `s` in `(0, 1]`.
/// `clip = None` takes the log unclipped (zeros give infinite energies).
pub fn unary_from_softmax(
    probabilities: ArrayView3<f32>,
    scale: Option<f32>,
    clip: Option<f32>,
) -> Result<Array3<f32>, CrfError> {
    check_finite3("probability", &probabilities)?;
    let labels = probabilities.dim().0;
    if labels == 0 {
        return Err(CrfError::InvalidParameter {
            name: "labels",
            value: 0.0,
            reason: "need at least one label",
        });
    }
    if let Some(s) = scale
        && !(s > 0.0 && s <= 1.0)
    {
        return Err(CrfError::InvalidParameter {
            name: "scale",
            value: s as f64,
            reason: "must be in (0, 1]",
        });
    }
    if let Some(c) = clip
        && !(c > 0.0 && c <= 1.0)
    {
        return Err(CrfError::InvalidParameter {
            name: "clip",
            value: c as f64,
            reason: "must be in (0, 1]",
        });
    }
    let uniform = 1.0 / labels as f32;
    Ok(probabilities.mapv(|p| {
        let p = scale.map_or(p, |s| s * p + (1.0 - s) * uniform);
        let p = clip.map_or(p, |c| p.clamp(c, 1.0));
        -p.ln()
    }))
}

/// The two-label unary from a foreground probability map of shape
/// `(height, width)`: label 0 is background (`1 - p`), label 1 foreground (`p`).
pub fn unary_from_foreground(
    foreground: ArrayView2<f32>,
    clip: Option<f32>,
) -> Result<Array3<f32>, CrfError> {
    let (h, w) = foreground.dim();
    let mut probabilities = Array3::<f32>::zeros((2, h, w));
    Zip::from(probabilities.index_axis_mut(ndarray::Axis(0), 0))
        .and(&foreground)
        .for_each(|b, &p| *b = 1.0 - p);
    probabilities
        .index_axis_mut(ndarray::Axis(0), 1)
        .assign(&foreground);
    // NaN in p gives NaN in both channels; the check reports it as label 0.
    unary_from_softmax(probabilities.view(), None, clip)
}

/// Unary from hard labels, trusting each given label with probability
/// `gt_prob` and spreading the rest evenly (pydensecrf's `unary_from_labels`).
///
/// With `zero_unsure`, label 0 means "unknown" (uniform energy) and labels
/// `1..=n_labels` map to CRF labels `0..n_labels`; otherwise labels must be
/// in `0..n_labels`. Returns shape `(n_labels, height, width)`.
pub fn unary_from_labels(
    labels: ArrayView2<u32>,
    n_labels: usize,
    gt_prob: f32,
    zero_unsure: bool,
) -> Result<Array3<f32>, CrfError> {
    if !(gt_prob > 0.0 && gt_prob < 1.0) {
        return Err(CrfError::InvalidParameter {
            name: "gt_prob",
            value: gt_prob as f64,
            reason: "must be in (0, 1)",
        });
    }
    if n_labels < 2 {
        return Err(CrfError::InvalidParameter {
            name: "n_labels",
            value: n_labels as f64,
            reason: "need at least two labels",
        });
    }
    // pydensecrf computes these in float64 and stores float32.
    let n_energy = (-((1.0 - gt_prob as f64) / (n_labels as f64 - 1.0)).ln()) as f32;
    let p_energy = (-(gt_prob as f64).ln()) as f32;
    let unsure = (-(1.0 / n_labels as f64).ln()) as f32;
    let (h, w) = labels.dim();
    let mut energy = Array3::<f32>::from_elem((n_labels, h, w), n_energy);
    for ((row, col), &label) in labels.indexed_iter() {
        let index = if zero_unsure {
            if label == 0 {
                for l in 0..n_labels {
                    energy[[l, row, col]] = unsure;
                }
                continue;
            }
            label as usize - 1
        } else {
            label as usize
        };
        if index >= n_labels {
            return Err(CrfError::LabelOutOfRange {
                label,
                row,
                col,
                n_labels,
            });
        }
        energy[[index, row, col]] = p_energy;
    }
    Ok(energy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn softmax_unary_clips_both_ends() {
        let p = array![[[0.0f32, 0.5, 1.5]]];
        let u = unary_from_softmax(p.view(), None, Some(DEFAULT_CLIP)).unwrap();
        assert!((u[[0, 0, 0]] - 11.512925).abs() < 1e-4, "{}", u[[0, 0, 0]]);
        assert!((u[[0, 0, 1]] - std::f32::consts::LN_2).abs() < 1e-6);
        assert_eq!(u[[0, 0, 2]], 0.0, "p > 1 is clipped to 1");
        let unclipped = unary_from_softmax(p.view(), None, None).unwrap();
        assert!(unclipped[[0, 0, 0]].is_infinite());
    }

    #[test]
    fn softmax_unary_scale_blends_with_uniform() {
        let p = array![[[1.0f32]], [[0.0]]];
        let u = unary_from_softmax(p.view(), Some(0.5), None).unwrap();
        assert!((u[[0, 0, 0]] - -(0.75f32).ln()).abs() < 1e-6);
        assert!((u[[1, 0, 0]] - -(0.25f32).ln()).abs() < 1e-6);
        assert!(unary_from_softmax(p.view(), Some(0.0), None).is_err());
    }

    #[test]
    fn nan_probability_is_an_error_with_its_position() {
        let mut p = Array3::<f32>::from_elem((2, 3, 4), 0.5);
        p[[1, 2, 3]] = f32::NAN;
        let err = unary_from_softmax(p.view(), None, Some(DEFAULT_CLIP)).unwrap_err();
        assert!(matches!(
            err,
            CrfError::NonFinite {
                label: 1,
                row: 2,
                col: 3,
                ..
            }
        ));
    }

    #[test]
    fn foreground_unary_has_background_first() {
        let fg = array![[0.9f32, 0.0]];
        let u = unary_from_foreground(fg.view(), Some(DEFAULT_CLIP)).unwrap();
        assert!((u[[0, 0, 0]] - -(0.1f32).ln()).abs() < 1e-5);
        assert!((u[[1, 0, 0]] - -(0.9f32).ln()).abs() < 1e-6);
        assert_eq!(u[[0, 0, 1]], 0.0);
        assert!((u[[1, 0, 1]] - 11.512925).abs() < 1e-4);
    }

    #[test]
    fn label_unary_matches_pydensecrf_semantics() {
        let labels = array![[0u32, 1, 2]];
        let u = unary_from_labels(labels.view(), 2, 0.7, true).unwrap();
        let (sure, other, unsure) = (-(0.7f32).ln(), -(0.3f32).ln(), -(0.5f32).ln());
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(u[[0, 0, 0]], unsure) && close(u[[1, 0, 0]], unsure));
        assert!(close(u[[0, 0, 1]], sure) && close(u[[1, 0, 1]], other));
        assert!(close(u[[0, 0, 2]], other) && close(u[[1, 0, 2]], sure));

        let u = unary_from_labels(labels.view(), 3, 0.7, false).unwrap();
        let spread = -(0.15f32).ln();
        assert!(close(u[[0, 0, 0]], sure) && close(u[[1, 0, 0]], spread));
        assert!(close(u[[2, 0, 2]], sure) && close(u[[0, 0, 2]], spread));
    }

    #[test]
    fn label_unary_rejects_out_of_range_labels() {
        let labels = array![[0u32, 3]];
        let err = unary_from_labels(labels.view(), 2, 0.7, true).unwrap_err();
        assert_eq!(
            err,
            CrfError::LabelOutOfRange {
                label: 3,
                row: 0,
                col: 1,
                n_labels: 2
            }
        );
        assert!(unary_from_labels(labels.view(), 2, 1.0, true).is_err());
    }
}
