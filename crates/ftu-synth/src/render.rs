//! Pixels: stain concentrations per structure, nuclei, blur, Beer–Lambert
//! colour and sensor noise, for one rectangular window.

use crate::noise::{floor_i, hash2, mix, tri, unit, unit2, value};
use crate::scene::Scene;
use crate::site::{Site, SiteContext};
use crate::stain::Transmission;

/// Nucleus candidate lattice spacing in pixels.
const NUCLEUS_CELL: f32 = 13.0;
/// Largest nucleus semi-axis, plus a pixel of soft edge.
const NUCLEUS_REACH: f32 = 10.0;

/// A nucleus: centre, unit major-axis direction, semi-axes, darkness.
struct Nucleus {
    cx: f32,
    cy: f32,
    ux: f32,
    uy: f32,
    major: f32,
    minor: f32,
    dark: f32,
}

/// Per-thread working fields, reused from window to window: fresh pages
/// cost more than the arithmetic on them (page faults showed in profiles).
#[derive(Default)]
struct Scratch {
    hem: Vec<f32>,
    pas: Vec<f32>,
    nuc_h: Vec<f32>,
    nuc_w: Vec<f32>,
    across: Vec<f32>,
    hem_blurred: Vec<f32>,
    pas_blurred: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Clears `v` and refills it with `n` zeros, keeping its allocation.
fn zeroed(v: &mut Vec<f32>, n: usize) {
    v.clear();
    v.resize(n, 0.0);
}

/// Renders the window `[x0, x0 + w) x [y0, y0 + h)` as interleaved RGB into
/// `out` (`w * h * 3` bytes). Pixels outside the slide are black.
pub(crate) fn render_window(
    scene: &Scene,
    table: &Transmission,
    x0: i64,
    y0: i64,
    w: usize,
    h: usize,
    out: &mut [u8],
) {
    debug_assert_eq!(out.len(), w * h * 3);
    SCRATCH.with_borrow_mut(|scratch| render_with(scene, table, x0, y0, w, h, out, scratch));
}

#[allow(clippy::too_many_arguments)]
fn render_with(
    scene: &Scene,
    table: &Transmission,
    x0: i64,
    y0: i64,
    w: usize,
    h: usize,
    out: &mut [u8],
    scratch: &mut Scratch,
) {
    let kernel = scene.stain.blur_kernel();
    let m = (kernel.len() / 2) as i64;
    // The concentration fields cover the window plus the blur margin.
    let (rx0, ry0) = (x0 - m, y0 - m);
    let (rw, rh) = (w + 2 * m as usize, h + 2 * m as usize);
    let pad = NUCLEUS_CELL + NUCLEUS_REACH + 2.0;
    let ctx = SiteContext::new(
        scene,
        rx0 as f32 - pad,
        ry0 as f32 - pad,
        (rx0 + rw as i64) as f32 + pad,
        (ry0 + rh as i64) as f32 + pad,
    );

    let Scratch {
        hem,
        pas,
        nuc_h,
        nuc_w,
        across,
        hem_blurred,
        pas_blurred,
    } = scratch;
    zeroed(hem, rw * rh);
    zeroed(pas, rw * rh);
    for j in 0..rh {
        let y = (ry0 + j as i64) as f32 + 0.5;
        for i in 0..rw {
            let x = (rx0 + i as i64) as f32 + 0.5;
            let coarse = ctx.coarse(x, y);
            let site = ctx.site(x, y, &coarse);
            let (hh, pp) = shade(scene.seed, site, x, y);
            hem[j * rw + i] = hh * coarse.intensity;
            pas[j * rw + i] = pp * coarse.intensity;
        }
    }
    zeroed(nuc_h, rw * rh);
    zeroed(nuc_w, rw * rh);
    stamp_nuclei(scene, &ctx, rx0, ry0, rw, rh, hem, pas, nuc_h, nuc_w);

    blur(hem, rw, rh, &kernel, across, hem_blurred);
    blur(pas, rw, rh, &kernel, across, pas_blurred);
    let (hem, pas) = (&*hem_blurred, &*pas_blurred);
    // After blurring both fields are w x h.
    let st = &scene.stain;
    let noise_seed = mix(scene.seed ^ 0x0153);
    let common_sd = st.noise_sd * 0.7;
    let own_scale = st.noise_sd * 1.2 / 255.0;
    let own_offset = st.noise_sd * 0.6;
    for j in 0..h {
        let y = y0 + j as i64;
        for i in 0..w {
            let x = x0 + i as i64;
            let o = (j * w + i) * 3;
            if x < 0 || y < 0 || x >= scene.width as i64 || y >= scene.height as i64 {
                out[o..o + 3].fill(0);
                continue;
            }
            let (hh, pp) = (hem[j * w + i], pas[j * w + i]);
            let hn = hash2(noise_seed, x, y);
            // Sensor noise: a shared (luminance) part and a per-channel part.
            let common = tri(hn) * common_sd + 0.5;
            for c in 0..3 {
                let od = hh * st.od_nuclear[c] + pp * st.od_pas[c];
                let own = ((hn >> (8 * c)) & 0xFF) as f32 * own_scale - own_offset;
                let v = st.glass[c] * table.of(od) + common + own;
                // `as u8` saturates to 0..=255: no clamp needed.
                out[o + c] = v as u8;
            }
        }
    }
}

/// Nuclear-stain and PAS concentrations of a structure at a point.
#[inline]
fn shade(seed: u64, site: Site, x: f32, y: f32) -> (f32, f32) {
    match site {
        Site::Glass => (0.0, 0.012),
        Site::Stroma { infiltrate } => {
            let fibres =
                0.16 * value(seed ^ 0x51, x, y, 6.0) + 0.08 * value(seed ^ 0x52, x, y, 2.5);
            (0.08, if infiltrate { 0.06 } else { 0.08 } + fibres)
        }
        Site::Membrane { strength } => (
            0.05,
            strength * (0.95 + 0.25 * value(seed ^ 0x53, x, y, 4.0)),
        ),
        Site::Epithelium {
            tone, edge, brush, ..
        } => {
            let grain = 0.2 * value(seed ^ 0x54, x, y, 2.2) + 0.1 * value(seed ^ 0x55, x, y, 7.0);
            let border = if brush && edge < 3.5 { 0.4 } else { 0.0 };
            (0.12, tone * (0.07 + grain) + border)
        }
        Site::Lumen { debris, seed: cell } => {
            // Two octaves, so the thresholded fluff has no lattice squares.
            let n =
                0.6 * value(seed ^ cell, x, y, 9.0) + 0.4 * value(seed ^ cell ^ 0x77, x, y, 3.3);
            let fluff = (n - 0.45).max(0.0) * 1.2 * debris;
            (0.01, 0.03 + fluff)
        }
        Site::Cast { seed: obj } => {
            // Glassy, with a few cracks.
            let crack = value(obj ^ 0xCA, x, y, 14.0);
            let p = if (crack - 0.5).abs() < 0.03 {
                0.1
            } else {
                0.6 + 0.25 * value(obj ^ 0xCB, x, y, 30.0)
            };
            (0.04, p)
        }
        Site::Capsule { .. } => (0.05, 0.95),
        Site::Bowman => (0.0, 0.025),
        Site::Tuft {
            capillary,
            seed: obj,
            ..
        } => {
            // Capillary loops: a warped cell pattern whose cells open into
            // lumens of varied size (some collapsed), walled by PAS+
            // basement membrane, in a mesangial matrix.
            let wx = x + 7.0 * (value(obj ^ 0x3E6, x, y, 11.0) - 0.5);
            let wy = y + 7.0 * (value(obj ^ 0x3E7, x, y, 11.0) - 0.5);
            let (f1, f2, h) = worley(obj, wx, wy, capillary);
            let lumen = capillary * (0.12 + 0.36 * unit(mix(h)));
            if f1 < lumen - 1.5 && f2 - f1 > 2.0 {
                // Capillary lumen, sometimes with a red cell.
                let rbc = value(obj ^ 0xBC, x, y, 5.0) > 0.68;
                if rbc { (0.02, 0.5) } else { (0.02, 0.08) }
            } else if f1 < lumen + 1.2 {
                (0.1, 0.95)
            } else {
                (0.2, 0.35 + 0.25 * value(obj ^ 0x3E5, x, y, 3.0))
            }
        }
        Site::VesselWall { radial, .. } => {
            let layers = 0.12 * (radial * 0.9).sin();
            (0.08, 0.48 + layers + 0.12 * value(seed ^ 0x56, x, y, 3.0))
        }
        Site::VesselLumen { seed: obj } => {
            let n = 0.6 * value(obj ^ 0xBD, x, y, 11.0) + 0.4 * value(obj ^ 0xBE, x, y, 3.7);
            if n > 0.62 { (0.02, 0.55) } else { (0.0, 0.03) }
        }
    }
}

/// Distances to the nearest two points of a jittered lattice (hashed, no
/// cache), and the nearest point's hash.
#[inline]
fn worley(seed: u64, x: f32, y: f32, cell: f32) -> (f32, f32, u64) {
    let (ci, cj) = (floor_i(x / cell), floor_i(y / cell));
    let (mut d1, mut d2, mut best) = (f32::MAX, f32::MAX, 0);
    for j in cj - 1..=cj + 1 {
        for i in ci - 1..=ci + 1 {
            let h = hash2(seed, i, j);
            let px = (i as f32 + 0.15 + 0.7 * unit(h)) * cell;
            let py = (j as f32 + 0.15 + 0.7 * unit2(h)) * cell;
            let d = (px - x) * (px - x) + (py - y) * (py - y);
            if d < d1 {
                (d2, d1, best) = (d1, d, h);
            } else if d < d2 {
                d2 = d;
            }
        }
    }
    (d1.sqrt(), d2.sqrt(), best)
}

/// Which nucleus, if any, a candidate at this site becomes. Lattice `b` is a
/// second, denser layer used only where nuclei crowd (tufts, infiltrates).
fn nucleus_at(site: Site, h: u64, b: bool, cx: f32, cy: f32) -> Option<Nucleus> {
    let (keep, size, angle) = (
        unit(mix(h ^ 0x11)),
        unit(mix(h ^ 0x22)),
        unit(mix(h ^ 0x33)) * std::f32::consts::TAU,
    );
    let (ax, ay) = (angle.cos(), angle.sin());
    let n = |ux: f32, uy: f32, major: f32, minor: f32, dark: f32| {
        Some(Nucleus {
            cx,
            cy,
            ux,
            uy,
            major,
            minor,
            dark,
        })
    };
    match site {
        Site::Stroma { infiltrate: true } if keep < if b { 0.7 } else { 0.9 } => {
            let r = 3.2 + 1.0 * size;
            n(ax, ay, r * 1.1, r, 1.3)
        }
        Site::Stroma { infiltrate: false } if !b && keep < 0.12 => {
            n(ax, ay, 5.5 + 2.0 * size, 2.6, 1.2)
        }
        Site::Epithelium {
            crowded: true,
            edge,
            ..
        } if edge > 3.0 && keep < if b { 0.45 } else { 0.85 } => {
            let r = 3.8 + 1.2 * size;
            n(ax, ay, r * 1.15, r, 1.15)
        }
        // Tubular nuclei: large, pale, kept off the lumen.
        Site::Epithelium { edge, base, .. }
            if !b && edge > 5.0 && (2.0..16.0).contains(&base) && keep < 0.55 =>
        {
            let r = 4.6 + 1.2 * size;
            n(ax, ay, r * 1.1, r, 0.95)
        }
        Site::Capsule { tx, ty } if !b && keep < 0.3 => n(tx, ty, 5.5 + 1.5 * size, 2.2, 1.0),
        Site::Tuft { cellularity, .. } if keep < cellularity * if b { 0.25 } else { 0.6 } => {
            let r = 3.5 + 1.2 * size;
            n(ax, ay, r * 1.2, r, 1.2)
        }
        Site::VesselWall { tx, ty, .. } if !b && keep < 0.45 => {
            n(tx, ty, 6.0 + 2.0 * size, 2.2, 1.05)
        }
        _ => None,
    }
}

/// Scatters nuclei over the window and darkens the fields under them. The
/// composition takes maxima, so the result does not depend on the order
/// in which nuclei are visited.
#[allow(clippy::too_many_arguments)]
fn stamp_nuclei(
    scene: &Scene,
    ctx: &SiteContext,
    rx0: i64,
    ry0: i64,
    rw: usize,
    rh: usize,
    hem: &mut [f32],
    pas: &mut [f32],
    nuc_h: &mut [f32],
    nuc_w: &mut [f32],
) {
    let (x0, y0) = (rx0 as f32 - NUCLEUS_REACH, ry0 as f32 - NUCLEUS_REACH);
    let (x1, y1) = (
        (rx0 + rw as i64) as f32 + NUCLEUS_REACH,
        (ry0 + rh as i64) as f32 + NUCLEUS_REACH,
    );
    let (i0, i1) = (floor_i(x0 / NUCLEUS_CELL), floor_i(x1 / NUCLEUS_CELL));
    let (j0, j1) = (floor_i(y0 / NUCLEUS_CELL), floor_i(y1 / NUCLEUS_CELL));
    let chroma_seed = mix(scene.seed ^ 0xC4);
    for (lattice, b) in [
        (mix(scene.seed ^ 0xA), false),
        (mix(scene.seed ^ 0xB), true),
    ] {
        for j in j0..=j1 {
            for i in i0..=i1 {
                let h = hash2(lattice, i, j);
                let cx = (i as f32 + 0.1 + 0.8 * unit(h)) * NUCLEUS_CELL;
                let cy = (j as f32 + 0.1 + 0.8 * unit2(h)) * NUCLEUS_CELL;
                let Some(nu) = nucleus_at(ctx.site(cx, cy, &ctx.coarse(cx, cy)), h, b, cx, cy)
                else {
                    continue;
                };
                let px0 = (floor_i(nu.cx - nu.major - 1.0) - rx0).max(0);
                let px1 = ((nu.cx + nu.major + 1.0).ceil() as i64 - rx0).min(rw as i64 - 1);
                let py0 = (floor_i(nu.cy - nu.major - 1.0) - ry0).max(0);
                let py1 = ((nu.cy + nu.major + 1.0).ceil() as i64 - ry0).min(rh as i64 - 1);
                for py in py0..=py1 {
                    let y = (ry0 + py) as f32 + 0.5;
                    for px in px0..=px1 {
                        let x = (rx0 + px) as f32 + 0.5;
                        let (dx, dy) = (x - nu.cx, y - nu.cy);
                        let (a, bb) = (
                            (dx * nu.ux + dy * nu.uy) / nu.major,
                            (-dx * nu.uy + dy * nu.ux) / nu.minor,
                        );
                        let e = (a * a + bb * bb).sqrt();
                        let wgt = ((1.0 - e) * nu.minor + 0.5).clamp(0.0, 1.0);
                        if wgt <= 0.0 {
                            continue;
                        }
                        // Speckled chromatin from a cheap multiplicative hash.
                        let speckle = ((rx0 + px) as u64).wrapping_mul(0x9E37_79B1)
                            ^ ((ry0 + py) as u64).wrapping_mul(0x85EB_CA77)
                            ^ chroma_seed;
                        let chromatin = 0.8
                            + 0.35
                                * ((speckle.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) >> 40) as f32
                                    / 16_777_216.0);
                        let k = py as usize * rw + px as usize;
                        nuc_h[k] = nuc_h[k].max(wgt * nu.dark * chromatin);
                        nuc_w[k] = nuc_w[k].max(wgt);
                    }
                }
            }
        }
    }
    for k in 0..rw * rh {
        let wgt = nuc_w[k];
        if wgt > 0.0 {
            hem[k] = hem[k] * (1.0 - wgt) + nuc_h[k];
            pas[k] = pas[k] * (1.0 - 0.95 * wgt) + 0.04 * wgt;
        }
    }
}

/// Separable blur of an `rw x rh` field with a normalised odd kernel into
/// `out`: the interior `(rw - 2m) x (rh - 2m)` where every tap is valid.
/// `across` holds the horizontal pass.
fn blur(
    field: &[f32],
    rw: usize,
    rh: usize,
    kernel: &[f32],
    across: &mut Vec<f32>,
    out: &mut Vec<f32>,
) {
    let m = kernel.len() / 2;
    if m == 0 {
        out.clear();
        out.extend_from_slice(field);
        return;
    }
    let w = rw - 2 * m;
    let h = rh - 2 * m;
    zeroed(across, w * rh);
    for j in 0..rh {
        let row = &field[j * rw..(j + 1) * rw];
        for i in 0..w {
            across[j * w + i] = kernel
                .iter()
                .zip(&row[i..i + kernel.len()])
                .map(|(k, v)| k * v)
                .sum();
        }
    }
    zeroed(out, w * h);
    for (t, &k) in kernel.iter().enumerate() {
        let src = &across[t * w..(t + h) * w];
        for (o, s) in out.iter_mut().zip(src) {
            *o += k * s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_constants_and_shrinks_by_the_margin() {
        let field = vec![2.5f32; 10 * 8];
        let mut out = Vec::new();
        blur(&field, 10, 8, &[0.25, 0.5, 0.25], &mut Vec::new(), &mut out);
        assert_eq!(out.len(), 8 * 6);
        assert!(out.iter().all(|v| (v - 2.5).abs() < 1e-6));
    }

    #[test]
    fn blur_spreads_an_impulse_by_the_kernel() {
        let mut field = vec![0f32; 5 * 5];
        field[2 * 5 + 2] = 1.0;
        let mut out = Vec::new();
        blur(&field, 5, 5, &[0.25, 0.5, 0.25], &mut Vec::new(), &mut out);
        assert_eq!(
            out,
            vec![
                0.0625, 0.125, 0.0625, 0.125, 0.25, 0.125, 0.0625, 0.125, 0.0625
            ]
        );
    }
}
