//! Pairwise terms: a Gaussian kernel over features with Potts compatibility,
//! symmetrically normalised (pydensecrf's `DIAG_KERNEL`, `NORMALIZE_SYMMETRIC`).

use crate::error::CrfError;
use crate::lattice::{Lattice, Scratch};

/// What a pairwise term measures distance in.
#[derive(Clone, Debug)]
pub(crate) enum Features {
    /// Pixel position only: `(x / sxy, y / sxy)`.
    Gaussian { sxy: f32 },
    /// Position and colour: `(x / sxy, y / sxy, r / srgb, g / srgb, b / srgb)`.
    Bilateral {
        sxy: f32,
        srgb: f32,
        /// The full image, row-major RGB.
        rgb: Vec<u8>,
        /// Full image width, to index `rgb`.
        image_width: usize,
    },
}

/// One pairwise term as specified by the user; the lattice is built per
/// inference window.
#[derive(Clone, Debug)]
pub(crate) struct PairwiseTerm {
    pub features: Features,
    /// Potts weight `w`: the message adds `w * (K Q)_l` to label `l`'s logit.
    pub compat: f32,
}

/// A rectangle of the full image, in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub x0: usize,
    pub y0: usize,
    pub width: usize,
    pub height: usize,
}

impl Window {
    pub(crate) fn pixels(&self) -> usize {
        self.width * self.height
    }
}

/// A built kernel: the lattice and the symmetric normalisation `1/sqrt(K 1)`.
pub(crate) struct Kernel {
    lattice: Lattice,
    norm: Vec<f32>,
    pub compat: f32,
    scratch: Scratch,
}

impl PairwiseTerm {
    /// Builds the kernel over `window`. Features use full-image coordinates,
    /// so a tile's lattice lines up with the whole image's.
    pub(crate) fn build(&self, window: Window) -> Result<Kernel, CrfError> {
        let Window {
            x0, y0, width: w, ..
        } = window;
        let n = window.pixels();
        let origin = (y0, x0);
        let lattice = match &self.features {
            Features::Gaussian { sxy } => {
                let sxy = *sxy;
                Lattice::build::<2, _>(w, n, origin, |row, col| {
                    [(x0 + col) as f32 / sxy, (y0 + row) as f32 / sxy]
                })?
            }
            Features::Bilateral {
                sxy,
                srgb,
                rgb,
                image_width,
            } => {
                let (sxy, srgb, iw) = (*sxy, *srgb, *image_width);
                Lattice::build::<5, _>(w, n, origin, |row, col| {
                    let (y, x) = (y0 + row, x0 + col);
                    let px = &rgb[(y * iw + x) * 3..][..3];
                    [
                        x as f32 / sxy,
                        y as f32 / sxy,
                        px[0] as f32 / srgb,
                        px[1] as f32 / srgb,
                        px[2] as f32 / srgb,
                    ]
                })?
            }
        };
        let mut scratch = Scratch::default();
        let mut norm = vec![0.0f32; n];
        lattice.filter(&vec![1.0; n], 1, None, None, &mut norm, &mut scratch);
        // DenseCRF: norm = 1 / sqrt(K 1 + 1e-20), in double.
        for v in &mut norm {
            *v = (1.0 / (*v as f64 + 1e-20).sqrt()) as f32;
        }
        Ok(Kernel {
            lattice,
            norm,
            compat: self.compat,
            scratch,
        })
    }
}

impl Kernel {
    /// `out = D^-1/2 K D^-1/2 q` for `channels` interleaved channels.
    pub(crate) fn apply(&mut self, q: &[f32], channels: usize, out: &mut [f32]) {
        self.lattice.filter(
            q,
            channels,
            Some(&self.norm),
            Some(&self.norm),
            out,
            &mut self.scratch,
        );
    }
}
