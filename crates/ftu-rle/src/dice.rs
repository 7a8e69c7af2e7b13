//! Dice scores, from masks or straight from two encodings.

use ndarray::ArrayView2;

use crate::RleError;
use crate::runs::parse_runs;

fn dice_from(intersection: u64, a: u64, b: u64) -> f64 {
    // Both empty scores 1.0, as the competition scored it.
    if a + b == 0 {
        1.0
    } else {
        2.0 * intersection as f64 / (a + b) as f64
    }
}

/// Dice of two masks of the same shape (nonzero = foreground).
pub fn dice_masks(a: ArrayView2<u8>, b: ArrayView2<u8>) -> f64 {
    assert_eq!(a.dim(), b.dim(), "dice of masks with different shapes");
    let (mut inter, mut na, mut nb) = (0u64, 0u64, 0u64);
    ndarray::Zip::from(&a).and(&b).for_each(|&x, &y| {
        let (x, y) = (x != 0, y != 0);
        na += x as u64;
        nb += y as u64;
        inter += (x && y) as u64;
    });
    dice_from(inter, na, nb)
}

/// Dice of two RLE strings by run intersection, never decoding to pixels.
pub fn dice_rle(a: &str, b: &str) -> Result<f64, RleError> {
    let (ra, rb) = (parse_runs(a, None)?, parse_runs(b, None)?);
    let (mut i, mut j, mut inter) = (0, 0, 0u64);
    while i < ra.len() && j < rb.len() {
        let (sa, ea) = (ra[i].0, ra[i].0 + ra[i].1);
        let (sb, eb) = (rb[j].0, rb[j].0 + rb[j].1);
        inter += ea.min(eb).saturating_sub(sa.max(sb));
        if ea <= eb {
            i += 1;
        } else {
            j += 1;
        }
    }
    let area = |r: &[(u64, u64)]| r.iter().map(|x| x.1).sum::<u64>();
    Ok(dice_from(inter, area(&ra), area(&rb)))
}

/// Mean of per-image scores (the competition's leaderboard metric); 0 images
/// give NaN.
pub fn mean_dice(scores: &[f64]) -> f64 {
    scores.iter().sum::<f64>() / scores.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode;
    use ndarray::{Array2, array};
    use proptest::prelude::*;

    #[test]
    fn empty_and_known_values() {
        assert_eq!(dice_rle("", "").unwrap(), 1.0);
        assert_eq!(dice_rle("1 4", "").unwrap(), 0.0);
        assert_eq!(dice_rle("1 4", "3 4").unwrap(), 2.0 * 2.0 / 8.0);
        let a = array![[1u8, 1], [0, 0]];
        let b = array![[1u8, 0], [1, 0]];
        assert_eq!(dice_masks(a.view(), b.view()), 0.5);
        assert!(dice_rle("1 4 2 1", "").is_err());
        assert_eq!(mean_dice(&[1.0, 0.5]), 0.75);
    }

    proptest! {
        #[test]
        fn rle_dice_equals_pixel_dice(seed in any::<u64>(), h in 1usize..30, w in 1usize..30) {
            let mut s = seed | 1;
            let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s };
            let a = Array2::from_shape_fn((h, w), |_| (next() % 3 == 0) as u8);
            let b = Array2::from_shape_fn((h, w), |_| (next() % 4 == 0) as u8);
            let d = dice_rle(&encode(a.view()), &encode(b.view())).unwrap();
            prop_assert!((d - dice_masks(a.view(), b.view())).abs() < 1e-12);
        }
    }
}
