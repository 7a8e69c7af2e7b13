//! What tissue structure lies at a point: the classification every pixel
//! and every nucleus candidate asks for.

use crate::noise::{floor_i, hash2, mix, unit, unit2, value};
use crate::scene::{HALO, Object, ObjectKind, Scene, TubuleLayer};

/// The structure at one point, with what its texture needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Site {
    Glass,
    Stroma {
        infiltrate: bool,
    },
    /// PAS-positive basement membrane (tubules, vessel laminae).
    Membrane {
        strength: f32,
    },
    /// Tubular epithelium; `edge` is the distance to the lumen and `base`
    /// the distance to the basement membrane, in pixels. `crowded` marks a
    /// nucleus-packed (regenerating) tubule, a glomerulus look-alike.
    Epithelium {
        tone: f32,
        edge: f32,
        base: f32,
        brush: bool,
        crowded: bool,
    },
    Lumen {
        debris: f32,
        seed: u64,
    },
    /// A PAS-positive protein cast filling a tubule lumen.
    Cast {
        seed: u64,
    },
    /// Bowman's capsule; `(tx, ty)` is the tangent direction.
    Capsule {
        tx: f32,
        ty: f32,
    },
    Bowman,
    /// Glomerular tuft; `cellularity` (0.55–1) scales its nuclear density.
    Tuft {
        capillary: f32,
        cellularity: f32,
        seed: u64,
    },
    VesselWall {
        radial: f32,
        tx: f32,
        ty: f32,
    },
    VesselLumen {
        seed: u64,
    },
}

/// Coarse grid spacing of the slowly varying fields.
const COARSE: f32 = 16.0;

/// Slowly varying fields, sampled on the coarse grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Coarse {
    pub depth: f32,
    pub intensity: f32,
    pub medulla: f32,
    /// Displacement of the tubule lattice lookup, so membranes wave.
    pub warp_x: f32,
    pub warp_y: f32,
}

/// Per-window caches that make classification cheap: the tissue depth on a
/// coarse grid, the lattice points of both tubule layers, and the objects
/// that reach the window. Every cached value depends only on absolute
/// lattice indices, so results never depend on the window.
pub(crate) struct SiteContext<'a> {
    scene: &'a Scene,
    objects: Vec<&'a Object>,
    coarse_x0: i64,
    coarse_y0: i64,
    coarse_w: usize,
    /// Slowly varying fields at the coarse nodes: tissue depth, stain
    /// intensity, and the signed medulla side (> 0 in medulla).
    coarse: Vec<Coarse>,
    cortex: LatticeCache,
    medulla: LatticeCache,
}

struct LatticeCache {
    layer: TubuleLayer,
    i0: i64,
    j0: i64,
    cols: usize,
    /// Jittered point (layer space) and its attribute hash, row-major.
    points: Vec<(f32, f32, u64)>,
}

impl LatticeCache {
    fn new(layer: &TubuleLayer, x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        let corners = [
            layer.to_layer(x0, y0),
            layer.to_layer(x1, y0),
            layer.to_layer(x0, y1),
            layer.to_layer(x1, y1),
        ];
        let (mut qx0, mut qy0, mut qx1, mut qy1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (qx, qy) in corners {
            (qx0, qy0, qx1, qy1) = (qx0.min(qx), qy0.min(qy), qx1.max(qx), qy1.max(qy));
        }
        let i0 = floor_i(qx0 / layer.cell) - 2;
        let j0 = floor_i(qy0 / layer.cell) - 2;
        let i1 = floor_i(qx1 / layer.cell) + 2;
        let j1 = floor_i(qy1 / layer.cell) + 2;
        let cols = (i1 - i0 + 1) as usize;
        let mut points = Vec::with_capacity(cols * (j1 - j0 + 1) as usize);
        for j in j0..=j1 {
            for i in i0..=i1 {
                let h = hash2(layer.seed, i, j);
                let px = (i as f32 + 0.1 + 0.8 * unit(h)) * layer.cell;
                let py = (j as f32 + 0.1 + 0.8 * unit2(h)) * layer.cell;
                points.push((px, py, mix(h)));
            }
        }
        LatticeCache {
            layer: layer.clone(),
            i0,
            j0,
            cols,
            points,
        }
    }

    /// Nearest two lattice points: (distance 1, distance 2, hash of nearest).
    #[inline]
    fn nearest(&self, x: f32, y: f32) -> (f32, f32, u64) {
        let (qx, qy) = self.layer.to_layer(x, y);
        let inv = 1.0 / self.layer.cell;
        let ci = floor_i(qx * inv) - self.i0;
        let cj = floor_i(qy * inv) - self.j0;
        let (mut d1, mut d2, mut best) = (f32::MAX, f32::MAX, 0u64);
        for dj in -1..=1 {
            let row = ((cj + dj) as usize) * self.cols;
            for di in -1..=1 {
                let (px, py, h) = self.points[row + (ci + di) as usize];
                let d = (px - qx) * (px - qx) + (py - qy) * (py - qy);
                if d < d1 {
                    (d2, d1, best) = (d1, d, h);
                } else if d < d2 {
                    d2 = d;
                }
            }
        }
        (d1.sqrt(), d2.sqrt(), best)
    }
}

impl<'a> SiteContext<'a> {
    /// A context valid for points in `[x0, x1) x [y0, y1)` (slide pixels).
    pub fn new(scene: &'a Scene, x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        let objects = scene.objects_in(x0 as f64, y0 as f64, x1 as f64, y1 as f64);
        let coarse_x0 = floor_i(x0 / COARSE);
        let coarse_y0 = floor_i(y0 / COARSE);
        let coarse_x1 = floor_i(x1 / COARSE) + 1;
        let coarse_y1 = floor_i(y1 / COARSE) + 1;
        let coarse_w = (coarse_x1 - coarse_x0 + 1) as usize;
        let mut coarse = Vec::with_capacity(coarse_w * (coarse_y1 - coarse_y0 + 1) as usize);
        for j in coarse_y0..=coarse_y1 {
            for i in coarse_x0..=coarse_x1 {
                let (x, y) = (i as f32 * COARSE, j as f32 * COARSE);
                let depth = scene.tissue.depth(x as f64, y as f64) as f32;
                // Section thickness varies slowly: stain intensity 0.85–1.15.
                let intensity = 0.85 + 0.3 * value(scene.seed ^ 0x7A1C, x, y, 700.0);
                // The cortico-medullary boundary wobbles around its line.
                let [a, b, c] = scene.medulla;
                let medulla = (a as f32) * x + (b as f32) * y - c as f32
                    + 60.0 * (value(scene.seed ^ 0x3ED, x, y, 250.0) - 0.5);
                let warp_x = 16.0 * (value(scene.seed ^ 0x3A1, x, y, 48.0) - 0.5);
                let warp_y = 16.0 * (value(scene.seed ^ 0x3A2, x, y, 48.0) - 0.5);
                coarse.push(Coarse {
                    depth,
                    intensity,
                    medulla,
                    warp_x,
                    warp_y,
                });
            }
        }
        SiteContext {
            scene,
            objects,
            coarse_x0,
            coarse_y0,
            coarse_w,
            coarse,
            cortex: LatticeCache::new(&scene.cortex_layer, x0, y0, x1, y1),
            medulla: LatticeCache::new(&scene.medulla_layer, x0, y0, x1, y1),
        }
    }

    /// The coarse fields at a point, interpolated bilinearly.
    #[inline]
    pub fn coarse(&self, x: f32, y: f32) -> Coarse {
        let (gx, gy) = (x / COARSE, y / COARSE);
        let (fx, fy) = (floor_i(gx), floor_i(gy));
        let (tx, ty) = (gx - fx as f32, gy - fy as f32);
        let i = (fx - self.coarse_x0) as usize;
        let j = (fy - self.coarse_y0) as usize;
        let at = |i: usize, j: usize| self.coarse[j * self.coarse_w + i];
        let (a, b, c, d) = (at(i, j), at(i + 1, j), at(i, j + 1), at(i + 1, j + 1));
        let lerp2 = |a: f32, b: f32, c: f32, d: f32| {
            let top = a + (b - a) * tx;
            top + (c + (d - c) * tx - top) * ty
        };
        Coarse {
            depth: lerp2(a.depth, b.depth, c.depth, d.depth),
            intensity: lerp2(a.intensity, b.intensity, c.intensity, d.intensity),
            medulla: lerp2(a.medulla, b.medulla, c.medulla, d.medulla),
            warp_x: lerp2(a.warp_x, b.warp_x, c.warp_x, d.warp_x),
            warp_y: lerp2(a.warp_y, b.warp_y, c.warp_y, d.warp_y),
        }
    }

    /// The structure at slide position `(x, y)` given its coarse fields.
    #[inline]
    pub fn site(&self, x: f32, y: f32, coarse: &Coarse) -> Site {
        let seed = self.scene.seed;
        let depth = coarse.depth;
        // A frayed tissue edge: only evaluate the noise near the outline.
        let depth = if depth.abs() < 48.0 {
            depth
                + 34.0 * (value(seed ^ 0xED6E, x, y, 45.0) - 0.5)
                + 14.0 * (value(seed ^ 0xED6F, x, y, 9.0) - 0.5)
        } else {
            depth
        };
        if depth <= 0.0 {
            return Site::Glass;
        }
        for o in &self.objects {
            if let Some(site) = object_site(o, x as f64, y as f64) {
                return site;
            }
        }
        let cache = if coarse.medulla > 0.0 {
            &self.medulla
        } else {
            &self.cortex
        };
        tubule_site(cache, x + coarse.warp_x, y + coarse.warp_y, seed)
    }
}

/// Classifies a point inside a tubule layer's Voronoi cells.
#[inline]
fn tubule_site(cache: &LatticeCache, x: f32, y: f32, seed: u64) -> Site {
    let (f1, f2, h) = cache.nearest(x, y);
    let s = cache.layer.cell;
    let (u1, u2, u3) = (unit(h), unit2(h), unit(mix(h)));
    // Tubules fill their cells up to a thin strand of interstitium; a few
    // cells are left as wider interstitial patches.
    if u1 < 0.06 {
        return Site::Stroma { infiltrate: false };
    }
    let radius = s * (0.58 + 0.14 * u1);
    let gap = 1.5 + 3.0 * unit2(mix(h));
    let db = (radius - f1).min(0.5 * (f2 - f1) - gap);
    if db < 0.0 {
        return Site::Stroma { infiltrate: false };
    }
    // Tubule types: proximal (granular pink, brush border), distal (pale,
    // wide lumen), atrophic (thick membrane, closed lumen); medullary ducts.
    let (membrane, epithelium, tone, brush, debris) = if cache.layer.medulla {
        (
            2.5 + 1.5 * u2,
            s * (0.13 + 0.1 * u3),
            0.65 + 0.15 * u2,
            false,
            0.15 * u3,
        )
    } else if u2 < 0.6 {
        (
            2.5 + 1.5 * u3,
            s * (0.16 + 0.08 * u3),
            1.0 + 0.25 * u1,
            true,
            0.2 + 0.5 * u3,
        )
    } else if u2 < 0.9 {
        (
            2.5 + 1.0 * u3,
            s * (0.13 + 0.07 * u3),
            0.7 + 0.15 * u1,
            false,
            0.2 * u3,
        )
    } else {
        (5.0 + 2.0 * u3, s * (0.3 + 0.15 * u3), 0.9, false, 0.0)
    };
    // A ragged apical surface: the lumen edge frays by a few pixels.
    let epithelium = epithelium + 7.0 * (value(seed ^ 0x3A3, x, y, 5.0) - 0.5);
    if db < membrane {
        Site::Membrane { strength: 0.8 }
    } else if db < membrane + epithelium {
        Site::Epithelium {
            tone,
            edge: membrane + epithelium - db,
            base: db - membrane,
            brush,
            crowded: false,
        }
    } else {
        Site::Lumen { debris, seed: h }
    }
}

/// The structure of an explicit object at a point, or `None` when the point
/// is beyond its halo.
#[inline]
fn object_site(o: &Object, x: f64, y: f64) -> Option<Site> {
    let (dx, dy) = (x - o.shape.cx, y - o.shape.cy);
    let d2 = dx * dx + dy * dy;
    if d2 > o.reach * o.reach {
        return None;
    }
    let d = d2.sqrt().max(1e-6);
    let (c, s) = (dx / d, dy / d);
    let t = o.shape.radius_towards(c, s) - d;
    if t < -HALO {
        return None;
    }
    if t < 0.0 {
        return Some(Site::Stroma { infiltrate: false });
    }
    let (tx, ty) = (-s as f32, c as f32);
    Some(match &o.kind {
        ObjectKind::Glomerulus {
            capsule,
            bowman,
            pole,
            lobes,
            lobe_amp,
            lobe_phase,
            capillary,
            cellularity,
        } => {
            // Lobules: two scalloping harmonics, so the tuft is not a polygon.
            if t < *capsule {
                Site::Capsule { tx, ty }
            } else {
                // Bowman's space narrows to nothing at the vascular pole.
                let toward_pole = c * pole.0 + s * pole.1;
                let bow = bowman * ((1.0 - toward_pole) * 0.6).clamp(0.0, 1.0);
                let (ck, sk) = power(c, s, *lobes);
                let (c2, s2) = power(c, s, lobes + 3);
                let lobe = lobe_amp
                    * (0.5
                        + 0.3 * (ck * lobe_phase.0 - sk * lobe_phase.1)
                        + 0.2 * (c2 * lobe_phase.1 + s2 * lobe_phase.0));
                if t < capsule + bow + lobe {
                    Site::Bowman
                } else {
                    Site::Tuft {
                        capillary: *capillary,
                        cellularity: *cellularity,
                        seed: o.seed,
                    }
                }
            }
        }
        ObjectKind::Vessel { media } => {
            let media = media * o.shape.radius;
            if t < 4.0 {
                Site::Membrane { strength: 0.75 }
            } else if t < media {
                Site::VesselWall {
                    radial: t as f32,
                    tx,
                    ty,
                }
            } else if t < media + 3.0 {
                Site::Membrane { strength: 1.0 }
            } else {
                Site::VesselLumen { seed: o.seed }
            }
        }
        ObjectKind::Tubule {
            epithelium,
            debris,
            crowded,
            cast,
        } => {
            if t < 4.0 {
                Site::Membrane { strength: 1.1 }
            } else if t < 4.0 + epithelium {
                Site::Epithelium {
                    tone: if *crowded { 1.6 } else { 0.9 },
                    edge: (4.0 + epithelium - t) as f32,
                    base: (t - 4.0) as f32,
                    brush: false,
                    crowded: *crowded,
                }
            } else if *cast {
                Site::Cast { seed: o.seed }
            } else {
                Site::Lumen {
                    debris: *debris,
                    seed: o.seed,
                }
            }
        }
        ObjectKind::Infiltrate => Site::Stroma { infiltrate: true },
    })
}

/// `(cos kθ, sin kθ)` from `(cos θ, sin θ)`.
#[inline]
fn power(c: f64, s: f64, k: u32) -> (f64, f64) {
    let (mut ck, mut sk) = (1.0, 0.0);
    for _ in 0..k {
        (ck, sk) = (ck * c - sk * s, sk * c + ck * s);
    }
    (ck, sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_is_the_angle_multiple() {
        let t: f64 = 0.7;
        let (c, s) = power(t.cos(), t.sin(), 5);
        assert!((c - (5.0 * t).cos()).abs() < 1e-12 && (s - (5.0 * t).sin()).abs() < 1e-12);
    }
}
