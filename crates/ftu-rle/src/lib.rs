//! Run-length encoding of masks, as the HuBMAP "Hacking the Kidney"
//! competition scored them, and the Dice score.
//!
//! The convention: the mask is flattened in column-major order (top to
//! bottom, then left to right), foreground runs are written as
//! `start length` pairs with 1-indexed starts, space separated. A run that
//! reaches the bottom of a column continues at the top of the next.
//!
//! Slides are up to 50000 x 35000 pixels, so nothing here needs a whole mask:
//! [`BandEncoder`] takes row bands top to bottom, [`Rle::window`] decodes any
//! window, and [`Rle::dice`] scores two encodings by run intersection.
//!
//! ```
//! use ndarray::array;
//!
//! // Column-major: column 0 holds rows 1..3 => pixels 2 and 3 (1-indexed).
//! let mask = array![[0u8, 0, 1], [1, 0, 1], [1, 0, 0]];
//! let rle = ftu_rle::encode(mask.view());
//! assert_eq!(rle, "2 2 7 2");
//! assert_eq!(ftu_rle::decode(&rle, 3, 3).unwrap(), mask);
//!
//! // The same from two row bands, as a slide would be streamed.
//! let mut enc = ftu_rle::BandEncoder::new(3, 3);
//! enc.push_band(mask.slice(ndarray::s![..1, ..])).unwrap();
//! enc.push_band(mask.slice(ndarray::s![1.., ..])).unwrap();
//! assert_eq!(enc.finish().unwrap(), rle);
//!
//! // Dice straight from two encodings: 2 * |A ∩ B| / (|A| + |B|).
//! assert_eq!(ftu_rle::dice_rle("2 2 7 2", "3 5").unwrap(), 2.0 * 2.0 / 9.0);
//! ```

pub mod csv;
mod dice;
mod encode;
mod error;
mod runs;

pub use dice::{dice_masks, dice_rle, mean_dice};
pub use encode::{BandEncoder, encode};
pub use error::RleError;
pub use runs::{Rle, decode, decode_window};
