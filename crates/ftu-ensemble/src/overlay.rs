//! Thumbnail overlays: prediction against truth (true positive, false
//! positive, false negative in three colours) or the prediction alone.

use ndarray::{Array3, ArrayView2, ArrayView3};

/// True positive: green.
pub const TP: [u8; 3] = [0, 200, 0];
/// False positive: magenta.
pub const FP: [u8; 3] = [230, 0, 200];
/// False negative: blue.
pub const FN: [u8; 3] = [0, 90, 255];
/// Prediction when no truth is known: yellow.
pub const PRED: [u8; 3] = [255, 220, 0];

/// Blends the classes into the thumbnail (60% colour). `pred` / `truth` are
/// block fractions (0..=255) at the thumbnail's scale; a block is
/// foreground from half covered.
pub fn render(
    thumbnail: ArrayView3<u8>,
    pred: ArrayView2<u8>,
    truth: Option<ArrayView2<u8>>,
) -> Array3<u8> {
    let mut out = thumbnail.to_owned();
    let (h, w, _) = out.dim();
    let (h, w) = (h.min(pred.nrows()), w.min(pred.ncols()));
    for y in 0..h {
        for x in 0..w {
            let p = pred[[y, x]] >= 128;
            let colour = match truth.map(|t| t[[y, x]] >= 128) {
                Some(t) => match (p, t) {
                    (true, true) => Some(TP),
                    (true, false) => Some(FP),
                    (false, true) => Some(FN),
                    (false, false) => None,
                },
                None => p.then_some(PRED),
            };
            if let Some(c) = colour {
                for k in 0..3 {
                    let v = &mut out[[y, x, k]];
                    *v = ((u16::from(*v) * 2 + u16::from(c[k]) * 3) / 5) as u8;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array3};

    #[test]
    fn classes_get_their_colours() {
        let thumb = Array3::from_elem((1, 4, 3), 0u8);
        let pred = Array2::from_shape_vec((1, 4), vec![255, 255, 0, 0]).unwrap();
        let truth = Array2::from_shape_vec((1, 4), vec![255, 0, 255, 0]).unwrap();
        let out = render(thumb.view(), pred.view(), Some(truth.view()));
        let px = |x: usize| [out[[0, x, 0]], out[[0, x, 1]], out[[0, x, 2]]];
        assert_eq!(px(0), TP.map(|c| (u16::from(c) * 3 / 5) as u8));
        assert_eq!(px(1), FP.map(|c| (u16::from(c) * 3 / 5) as u8));
        assert_eq!(px(2), FN.map(|c| (u16::from(c) * 3 / 5) as u8));
        assert_eq!(px(3), [0, 0, 0]);
        let only = render(thumb.view(), pred.view(), None);
        assert_eq!(only[[0, 1, 0]], (255u16 * 3 / 5) as u8);
    }
}
