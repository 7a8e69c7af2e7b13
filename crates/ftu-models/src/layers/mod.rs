//! Building blocks shared by the encoder, decoders and heads, each mirroring
//! the PyTorch module it replaces (names and tensor layouts included).

pub(crate) mod conv;
pub(crate) mod dropout;
pub(crate) mod norm;
pub(crate) mod resample;

use std::cell::RefCell;

use crate::rng::SplitMix64;

/// Per-call state of a forward pass: the mode and the mask generator.
pub(crate) struct Ctx {
    /// Training mode: batch statistics, dropout, drop-connect.
    pub(crate) train: bool,
    pub(crate) rng: RefCell<SplitMix64>,
}

impl Ctx {
    pub(crate) fn new(train: bool, seed: u64) -> Self {
        Self {
            train,
            rng: RefCell::new(SplitMix64::new(seed)),
        }
    }

    /// `n` uniform draws in `[0, 1)`.
    pub(crate) fn uniform(&self, n: usize) -> Vec<f64> {
        let mut rng = self.rng.borrow_mut();
        (0..n).map(|_| rng.next_f64()).collect()
    }
}
