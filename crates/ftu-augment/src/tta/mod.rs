//! Test-time augmentation: D4 symmetries on NCHW batches, each with its exact
//! inverse for mapping predictions back onto the input grid.
//!
//! ```
//! use ftu_augment::tta::{TtaSet, forward, inverse};
//! use ndarray::Array4;
//!
//! let batch = Array4::from_shape_fn((2, 3, 5, 4), |(n, c, y, x)| (n + c + 7 * y + x) as f32);
//! let mut mean = Array4::<f32>::zeros((2, 1, 5, 4));
//! let set = TtaSet::Flips;
//! for &g in set.elements() {
//!     let view = forward(&batch, g)?;
//!     // A "model" that returns channel 0; real code runs the network here.
//!     let pred = view.slice(ndarray::s![.., 0..1, .., ..]).to_owned();
//!     mean += &inverse(&pred, g)?;
//! }
//! mean /= set.elements().len() as f32;
//! assert_eq!(mean, batch.slice(ndarray::s![.., 0..1, .., ..]));
//! # Ok::<(), ftu_augment::AugmentError>(())
//! ```

mod d4;
#[cfg(feature = "candle")]
mod tensor;

pub use d4::{D4, TtaSet};
#[cfg(feature = "candle")]
pub use tensor::{forward_tensor, inverse_tensor};

use ndarray::{Array, ArrayBase, Data, Dimension};

use crate::error::{AugmentError, Result};

/// Applies `g` to the last two axes (H, W) of an NCHW batch, returning a
/// contiguous array.
pub fn forward<S, A, D>(batch: &ArrayBase<S, D>, g: D4) -> Result<Array<A, D>>
where
    S: Data<Elem = A>,
    A: Clone,
    D: Dimension,
{
    let n = batch.ndim();
    if n != 4 {
        return Err(AugmentError::TtaRank(n));
    }
    Ok(g.view(batch, 2, 3).as_standard_layout().into_owned())
}

/// Maps a prediction made on `forward(x, g)` back onto the grid of `x`.
pub fn inverse<S, A, D>(pred: &ArrayBase<S, D>, g: D4) -> Result<Array<A, D>>
where
    S: Data<Elem = A>,
    A: Clone,
    D: Dimension,
{
    forward(pred, g.inverse())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array3, Array4, IxDyn};

    #[test]
    fn inverse_of_forward_is_identity_for_odd_and_even_sizes() {
        for (h, w) in [(4, 6), (5, 7), (6, 5), (1, 3), (8, 8)] {
            let x = Array4::from_shape_fn((2, 3, h, w), |(n, c, y, xx)| {
                (n * 1000 + c * 100 + y * 10 + xx) as f32 * 0.37 - 5.0
            });
            for g in D4::ALL {
                let f = forward(&x, g).unwrap();
                let expect = if g.swaps_axes() {
                    (2, 3, w, h)
                } else {
                    (2, 3, h, w)
                };
                assert_eq!(f.dim(), expect, "{g} {h}x{w}");
                if g != D4::Identity && (h, w) != (1, 3) {
                    assert_ne!(
                        f.as_slice().unwrap(),
                        x.as_slice().unwrap(),
                        "{g} moved nothing"
                    );
                }
                let back = inverse(&f, g).unwrap();
                assert_eq!(back, x, "{g} {h}x{w}");
            }
        }
    }

    #[test]
    fn rejects_other_ranks() {
        let x = Array3::<f32>::zeros((3, 4, 4));
        assert!(matches!(
            forward(&x, D4::HFlip),
            Err(AugmentError::TtaRank(3))
        ));
        let y = Array::<f32, _>::zeros(IxDyn(&[1, 1, 2, 2, 1]));
        assert!(matches!(
            inverse(&y, D4::Rot90),
            Err(AugmentError::TtaRank(5))
        ));
    }
}
