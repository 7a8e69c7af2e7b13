//! The public face of a planned slide: windows of pixels and labels.

use ftu_polygon::{Annotation, Polygon, rasterize};
use ndarray::{Array2, Array3};
use rayon::prelude::*;

use crate::params::SlideParams;
use crate::scene::Scene;
use crate::shape::{clip_half_plane, clip_rect, polygon_of, round_ring};
use crate::stain::Transmission;

/// Side of the chunks a large window is rendered in, in parallel.
const CHUNK: usize = 512;

/// A planned synthetic slide. [`SlideGenerator::new`] places every object
/// (cheap, no pixels); [`region`](SlideGenerator::region) renders any window
/// on demand. Every pixel is a function of its slide position and the seed,
/// so overlapping windows agree exactly.
pub struct SlideGenerator {
    params: SlideParams,
    scene: Scene,
    table: Transmission,
}

impl SlideGenerator {
    /// Plans the slide: tissue outline, cortex/medulla, glomeruli, tubules,
    /// vessels. Deterministic per `params`. Out-of-range parameters are
    /// tamed rather than refused: a reversed diameter range is reordered,
    /// diameters below 20 px are raised to 20, and objects that cannot fit
    /// the slide are simply not placed.
    pub fn new(params: SlideParams) -> SlideGenerator {
        let scene = Scene::plan(&params);
        SlideGenerator {
            params,
            scene,
            table: Transmission::new(),
        }
    }

    pub fn params(&self) -> &SlideParams {
        &self.params
    }

    pub fn width(&self) -> usize {
        self.params.width
    }

    pub fn height(&self) -> usize {
        self.params.height
    }

    /// The glomerulus outlines (whole-pixel vertices), in placement order.
    /// They lie wholly inside the slide and do not overlap one another.
    pub fn glomeruli(&self) -> &[Polygon] {
        &self.scene.glomeruli
    }

    /// RGB pixels (HWC) of the window whose top-left is `(x, y)`. Pixels
    /// beyond the slide's right or bottom edge are black (0, 0, 0).
    pub fn region(&self, x: usize, y: usize, w: usize, h: usize) -> Array3<u8> {
        let mut out = Array3::<u8>::zeros((h, w, 3));
        if w == 0 || h == 0 {
            return out;
        }
        let chunks: Vec<(usize, usize)> = (0..h.div_ceil(CHUNK))
            .flat_map(|cj| (0..w.div_ceil(CHUNK)).map(move |ci| (ci * CHUNK, cj * CHUNK)))
            .collect();
        let rendered: Vec<Vec<u8>> = chunks
            .par_iter()
            .map(|&(cx, cy)| {
                let (cw, ch) = (CHUNK.min(w - cx), CHUNK.min(h - cy));
                let mut buf = vec![0u8; cw * ch * 3];
                self.render_into(x + cx, y + cy, cw, ch, &mut buf);
                buf
            })
            .collect();
        let data = out.as_slice_mut().expect("fresh array is contiguous");
        for (&(cx, cy), buf) in chunks.iter().zip(&rendered) {
            let cw = CHUNK.min(w - cx);
            for (r, src) in buf.chunks_exact(cw * 3).enumerate() {
                let start = ((cy + r) * w + cx) * 3;
                data[start..start + cw * 3].copy_from_slice(src);
            }
        }
        out
    }

    /// Renders a window as interleaved RGB into `out` (`w * h * 3` bytes),
    /// single-threaded: the TIFF writer parallelises over tiles instead.
    pub fn render_into(&self, x: usize, y: usize, w: usize, h: usize, out: &mut [u8]) {
        assert_eq!(
            out.len(),
            w * h * 3,
            "render_into: buffer is not w * h * 3 bytes"
        );
        crate::render::render_window(&self.scene, &self.table, x as i64, y as i64, w, h, out);
    }

    /// The 0/1 glomerulus mask of a window: exactly
    /// `ftu_polygon::rasterize(self.glomeruli(), x, y, w, h)`.
    pub fn mask_region(&self, x: usize, y: usize, w: usize, h: usize) -> Array2<u8> {
        rasterize(&self.scene.glomeruli, x, y, w, h)
    }

    /// Cortex and Medulla outlines, as in `<id>-anatomical-structure.json`:
    /// the tissue outline clipped to the slide and split by the
    /// cortico-medullary line. A class with no area is left out.
    pub fn anatomical_structures(&self) -> Vec<Annotation> {
        let (w, h) = (self.params.width as f64, self.params.height as f64);
        let outline = clip_rect(&self.scene.tissue.polygon(240), w, h);
        let [a, b, c] = self.scene.medulla;
        let cortex = polygon_of(round_ring(&clip_half_plane(&outline, a, b, c)));
        let medulla = polygon_of(round_ring(&clip_half_plane(&outline, -a, -b, -c)));
        [("Cortex", cortex), ("Medulla", medulla)]
            .into_iter()
            .filter_map(|(class, p)| {
                p.map(|p| Annotation {
                    class: class.to_string(),
                    polygons: vec![p],
                })
            })
            .collect()
    }
}
