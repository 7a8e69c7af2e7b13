//! The planned slide: tissue outline, cortex/medulla split, tubule lattices
//! and the explicit objects (glomeruli, distractors). Planning is cheap and
//! holds no pixels.

use ftu_polygon::Polygon;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::noise::mix;
use crate::params::SlideParams;
use crate::shape::StarShape;
use crate::stain::Stain;

/// Stroma kept around every explicit object, so that the packed tubules
/// stop short of it instead of being cut by its outline.
pub(crate) const HALO: f64 = 10.0;

/// Side of the buckets of the object index, in pixels.
const BUCKET: f64 = 512.0;

/// A packed field of tubules: jittered lattice points in a (rotated,
/// stretched) space; each point's Voronoi cell is one tubule cross-section.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TubuleLayer {
    pub seed: u64,
    /// Lattice spacing, in layer units (pixels across the tubules).
    pub cell: f32,
    pub cos: f32,
    pub sin: f32,
    /// Elongation along the rotated x axis (1 = round cross-sections).
    pub stretch: f32,
    pub medulla: bool,
}

impl TubuleLayer {
    /// Slide pixel position to layer space.
    #[inline]
    pub fn to_layer(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (self.cos * x + self.sin * y) * (1.0 / self.stretch),
            -self.sin * x + self.cos * y,
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ObjectKind {
    /// Capsule, Bowman's space and a lobed tuft of capillaries and nuclei.
    Glomerulus {
        capsule: f64,
        bowman: f64,
        /// Unit direction of the vascular pole, where the tuft meets the capsule.
        pole: (f64, f64),
        lobes: u32,
        lobe_amp: f64,
        lobe_phase: (f64, f64),
        /// Capillary loop spacing in pixels.
        capillary: f32,
        /// Scales the tuft's nuclear density: glomeruli vary from
        /// hypercellular to open, pale tufts.
        cellularity: f32,
    },
    /// An artery: adventitia, a thick muscular media, a pale lumen.
    Vessel { media: f64 },
    /// A dilated tubule of glomerular size: membrane, epithelium, lumen;
    /// `crowded` ones have a thick, nucleus-packed epithelium and a narrow
    /// lumen, so they are as dark as a glomerulus.
    Tubule {
        epithelium: f64,
        debris: f32,
        crowded: bool,
        /// The lumen is filled with a PAS-positive cast.
        cast: bool,
    },
    /// A patch of interstitial inflammation: stroma packed with small nuclei.
    Infiltrate,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Object {
    pub shape: StarShape,
    /// Largest distance from the centre that the object touches (halo included).
    pub reach: f64,
    pub seed: u64,
    pub kind: ObjectKind,
}

/// Everything needed to render any window of the slide.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    pub width: usize,
    pub height: usize,
    pub seed: u64,
    pub stain: Stain,
    pub tissue: StarShape,
    /// Medulla where `a·x + b·y > c`.
    pub medulla: [f64; 3],
    pub cortex_layer: TubuleLayer,
    pub medulla_layer: TubuleLayer,
    pub objects: Vec<Object>,
    pub glomeruli: Vec<Polygon>,
    buckets: Vec<Vec<u32>>,
    bucket_cols: usize,
    bucket_rows: usize,
}

impl Scene {
    pub fn plan(params: &SlideParams) -> Scene {
        let (w, h) = (params.width as f64, params.height as f64);
        let mut rng = ChaCha8Rng::seed_from_u64(mix(params.seed ^ 0x5EED_511DE));
        let stain = Stain::random(&mut rng);

        // Tissue: a lobed blob filling most of the slide, sometimes cut by its edge.
        let side = w.min(h);
        let tissue = StarShape::new(
            w * (0.5 + 0.06 * (rng.random::<f64>() - 0.5)),
            h * (0.5 + 0.06 * (rng.random::<f64>() - 0.5)),
            side * rng.random_range(0.40..0.47),
            &(2..=6)
                .map(|k| {
                    (
                        k,
                        rng.random_range(0.0..0.16) / k as f64,
                        rng.random_range(0.0..std::f64::consts::TAU),
                    )
                })
                .collect::<Vec<_>>(),
        );
        // Medulla: the cap of tissue beyond a line, 15–40 % of it.
        let phi: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        let (a, b) = (phi.cos(), phi.sin());
        let c = a * tissue.cx + b * tissue.cy + tissue.radius * rng.random_range(0.2..0.55);
        let cortex_layer = TubuleLayer {
            seed: rng.random(),
            cell: rng.random_range(95.0..125.0),
            cos: 1.0,
            sin: 0.0,
            stretch: rng.random_range(1.0..1.25),
            medulla: false,
        };
        let (cortex_layer, medulla_layer) = {
            let theta: f32 = rng.random_range(0.0..std::f32::consts::TAU);
            let cortex = TubuleLayer {
                cos: theta.cos(),
                sin: theta.sin(),
                ..cortex_layer
            };
            // Medullary tubules run along the line's normal (radially).
            let medulla = TubuleLayer {
                seed: rng.random(),
                cell: rng.random_range(55.0..75.0),
                cos: a as f32,
                sin: b as f32,
                stretch: rng.random_range(2.2..3.2),
                medulla: true,
            };
            (cortex, medulla)
        };

        let mut scene = Scene {
            width: params.width,
            height: params.height,
            seed: params.seed,
            stain,
            tissue,
            medulla: [a, b, c],
            cortex_layer,
            medulla_layer,
            objects: Vec::new(),
            glomeruli: Vec::new(),
            buckets: Vec::new(),
            bucket_cols: 0,
            bucket_rows: 0,
        };
        scene.place_objects(params, &mut rng);
        scene.index_objects();
        scene
    }

    pub fn in_medulla(&self, x: f64, y: f64) -> bool {
        let [a, b, c] = self.medulla;
        a * x + b * y > c
    }

    /// Tissue and cortex areas in megapixels, estimated on a regular grid.
    fn areas_mpx(&self) -> (f64, f64) {
        let n = 96;
        let (mut tissue, mut cortex) = (0usize, 0usize);
        for j in 0..n {
            for i in 0..n {
                let x = (i as f64 + 0.5) * self.width as f64 / n as f64;
                let y = (j as f64 + 0.5) * self.height as f64 / n as f64;
                if self.tissue.depth(x, y) > 0.0 {
                    tissue += 1;
                    cortex += usize::from(!self.in_medulla(x, y));
                }
            }
        }
        let cell = self.width as f64 * self.height as f64 / (n * n) as f64 / 1e6;
        (tissue as f64 * cell, cortex as f64 * cell)
    }

    fn place_objects(&mut self, params: &SlideParams, rng: &mut ChaCha8Rng) {
        let (tissue_mpx, cortex_mpx) = self.areas_mpx();
        let [dmin, dmax] = sanitize_diameters(params.glomerulus_diameter);
        let count = |rng: &mut ChaCha8Rng, expected: f64| -> usize {
            let expected = expected.max(0.0);
            expected.floor() as usize + usize::from(rng.random::<f64>() < expected.fract())
        };
        let n_glom = count(rng, params.glomerulus_density * cortex_mpx);
        let n_distract = count(rng, params.distractor_density * tissue_mpx);
        let n_infiltrate = count(rng, 0.4 * tissue_mpx);

        for _ in 0..n_glom {
            let radius = rng.random_range(dmin / 2.0..=dmax / 2.0);
            let shape_h = [
                (2, rng.random_range(0.0..0.12), rng.random_range(0.0..6.3)),
                (3, rng.random_range(0.0..0.04), rng.random_range(0.0..6.3)),
            ];
            let pole: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let lobe_phase: f64 = rng.random_range(0.0..std::f64::consts::TAU);
            let kind = ObjectKind::Glomerulus {
                capsule: rng.random_range(4.0..7.0),
                bowman: rng.random_range(8.0..22.0) * radius / 200.0,
                pole: (pole.cos(), pole.sin()),
                lobes: rng.random_range(5..=9),
                lobe_amp: rng.random_range(6.0..14.0) * radius / 200.0,
                lobe_phase: (lobe_phase.cos(), lobe_phase.sin()),
                capillary: rng.random_range(15.0..20.0),
                cellularity: rng.random_range(0.55..1.0),
            };
            self.try_place(rng, radius, &shape_h, kind, true);
        }
        for _ in 0..n_distract {
            let (radius, shape_h, kind) = if rng.random::<f64>() < 0.55 {
                let r = rng.random_range(dmin * 0.4..=dmax / 2.0);
                let h = [
                    (2, rng.random_range(0.0..0.2), rng.random_range(0.0..6.3)),
                    (3, rng.random_range(0.0..0.05), rng.random_range(0.0..6.3)),
                ];
                let crowded = rng.random::<f64>() < 0.5;
                let epithelium = if crowded {
                    r * rng.random_range(0.55..0.8)
                } else {
                    rng.random_range(28.0..55.0)
                };
                let kind = ObjectKind::Tubule {
                    epithelium,
                    debris: rng.random_range(0.0..0.8),
                    crowded,
                    cast: rng.random::<f64>() < 0.5,
                };
                (r, h, kind)
            } else {
                let r = rng.random_range(60.0f64.min(dmax / 2.0)..=dmax / 2.0);
                let h = [
                    (2, rng.random_range(0.0..0.15), rng.random_range(0.0..6.3)),
                    (3, rng.random_range(0.0..0.03), rng.random_range(0.0..6.3)),
                ];
                (
                    r,
                    h,
                    ObjectKind::Vessel {
                        media: rng.random_range(0.2..0.4),
                    },
                )
            };
            self.try_place(rng, radius, &shape_h, kind, false);
        }
        for _ in 0..n_infiltrate {
            let r = rng.random_range(80.0..dmax / 2.0);
            let h = [
                (2, rng.random_range(0.0..0.2), rng.random_range(0.0..6.3)),
                (3, rng.random_range(0.0..0.12), rng.random_range(0.0..6.3)),
            ];
            self.try_place(rng, r, &h, ObjectKind::Infiltrate, false);
        }
    }

    /// Rejection-samples a centre in tissue (cortex for glomeruli), wholly
    /// inside the slide and clear of every other object.
    fn try_place(
        &mut self,
        rng: &mut ChaCha8Rng,
        radius: f64,
        harmonics: &[(u32, f64, f64)],
        kind: ObjectKind,
        glomerulus: bool,
    ) {
        let (w, h) = (self.width as f64, self.height as f64);
        let probe = StarShape::new(0.0, 0.0, radius, harmonics);
        let reach = probe.max_radius() + HALO;
        if 2.0 * reach >= w || 2.0 * reach >= h {
            return;
        }
        let seed: u64 = rng.random();
        for _ in 0..60 {
            let cx = rng.random_range(reach..w - reach);
            let cy = rng.random_range(reach..h - reach);
            if self.tissue.depth(cx, cy) < reach + 40.0 {
                continue;
            }
            if glomerulus {
                let [a, b, c] = self.medulla;
                if a * cx + b * cy > c - reach {
                    continue;
                }
            }
            let clear = self.objects.iter().all(|o| {
                let (dx, dy) = (o.shape.cx - cx, o.shape.cy - cy);
                (dx * dx + dy * dy).sqrt() >= o.reach + reach
            });
            if !clear {
                continue;
            }
            let shape = StarShape {
                cx,
                cy,
                ..probe.clone()
            };
            if glomerulus {
                self.glomeruli.push(Polygon {
                    exterior: shape.polygon(96),
                    holes: Vec::new(),
                });
            }
            self.objects.push(Object {
                shape,
                reach,
                seed,
                kind,
            });
            return;
        }
    }

    fn index_objects(&mut self) {
        self.bucket_cols = (self.width as f64 / BUCKET).ceil().max(1.0) as usize;
        self.bucket_rows = (self.height as f64 / BUCKET).ceil().max(1.0) as usize;
        self.buckets = vec![Vec::new(); self.bucket_cols * self.bucket_rows];
        for (idx, o) in self.objects.iter().enumerate() {
            let (c0, c1) =
                self.bucket_span(o.shape.cx - o.reach, o.shape.cx + o.reach, self.bucket_cols);
            let (r0, r1) =
                self.bucket_span(o.shape.cy - o.reach, o.shape.cy + o.reach, self.bucket_rows);
            for r in r0..=r1 {
                for c in c0..=c1 {
                    self.buckets[r * self.bucket_cols + c].push(idx as u32);
                }
            }
        }
    }

    fn bucket_span(&self, lo: f64, hi: f64, n: usize) -> (usize, usize) {
        let clamp = |v: f64| ((v / BUCKET).floor().max(0.0) as usize).min(n - 1);
        (clamp(lo), clamp(hi))
    }

    /// Objects whose reach meets the rectangle `[x0, x1) x [y0, y1)`, in
    /// planning order.
    pub fn objects_in(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<&Object> {
        let (c0, c1) = self.bucket_span(x0, x1, self.bucket_cols);
        let (r0, r1) = self.bucket_span(y0, y1, self.bucket_rows);
        let mut ids: Vec<u32> = Vec::new();
        for r in r0..=r1 {
            for c in c0..=c1 {
                ids.extend_from_slice(&self.buckets[r * self.bucket_cols + c]);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|i| &self.objects[i as usize])
            .filter(|o| {
                o.shape.cx + o.reach >= x0
                    && o.shape.cx - o.reach <= x1
                    && o.shape.cy + o.reach >= y0
                    && o.shape.cy - o.reach <= y1
            })
            .collect()
    }
}

/// Orders the diameter range and keeps it positive.
pub(crate) fn sanitize_diameters([a, b]: [f64; 2]) -> [f64; 2] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let lo = if lo.is_finite() { lo.max(20.0) } else { 300.0 };
    let hi = if hi.is_finite() {
        hi.max(lo)
    } else {
        lo.max(500.0)
    };
    [lo, hi]
}
