//! Polygons of a mask by crack following: every boundary edge between a
//! foreground and a background pixel becomes a directed unit edge with the
//! foreground on its right; edges are chained into closed rings, turning
//! right first at a corner shared by two diagonal pixels (so foreground is
//! 4-connected). Outer rings run clockwise on screen (positive shoelace
//! area in y-down coordinates), holes the other way.
//!
//! Vertices lie on pixel corners: traced on a mask downscaled by `factor`,
//! the polygons are exact for that mask, and within `factor` full-resolution
//! pixels of the full mask.

use std::collections::HashMap;

use ftu_polygon::{Annotation, Polygon};
use ndarray::ArrayView2;

/// Unit steps east, south, west, north (y down).
const STEP: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

fn signed_area(ring: &[[f64; 2]]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

fn contains(ring: &[[f64; 2]], p: [f64; 2]) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// The closed rings of `mask` (nonzero = foreground) in mask pixel corners,
/// each with a point strictly inside the pixel on its left (for holes: a
/// background pixel of the hole).
fn rings(mask: ArrayView2<bool>) -> Vec<(Vec<[f64; 2]>, [f64; 2])> {
    let (h, w) = mask.dim();
    let fg = |r: i64, c: i64| {
        r >= 0 && c >= 0 && (r as usize) < h && (c as usize) < w && mask[[r as usize, c as usize]]
    };
    // Outgoing edge directions per corner, as a bit set.
    let mut out: HashMap<(i64, i64), u8> = HashMap::new();
    let mut starts = Vec::new();
    for r in 0..h as i64 {
        for c in 0..w as i64 {
            if !fg(r, c) {
                continue;
            }
            // (start corner, direction) of each exposed side, fg on the right.
            let sides = [
                (!fg(r - 1, c), (c, r), 0u8),
                (!fg(r, c + 1), (c + 1, r), 1),
                (!fg(r + 1, c), (c + 1, r + 1), 2),
                (!fg(r, c - 1), (c, r + 1), 3),
            ];
            for (exposed, corner, dir) in sides {
                if exposed {
                    *out.entry(corner).or_default() |= 1 << dir;
                    starts.push((corner, dir));
                }
            }
        }
    }
    let mut result = Vec::new();
    for (start, dir0) in starts {
        if out.get(&start).is_none_or(|bits| bits & (1 << dir0) == 0) {
            continue;
        }
        let mut ring = Vec::new();
        let (mut v, mut dir) = (start, dir0);
        let probe = {
            // Left of the first edge's midpoint, a quarter pixel in.
            let (dx, dy) = STEP[dir0 as usize];
            let (lx, ly) = (dy, -dx);
            [
                start.0 as f64 + 0.5 * dx as f64 + 0.25 * lx as f64,
                start.1 as f64 + 0.5 * dy as f64 + 0.25 * ly as f64,
            ]
        };
        let mut prev_dir = u8::MAX;
        loop {
            if (v, dir) != (start, dir0) {
                // The first edge stays available until the ring closes on it.
                if let Some(bits) = out.get_mut(&v) {
                    *bits &= !(1 << dir);
                }
            }
            if dir != prev_dir {
                ring.push([v.0 as f64, v.1 as f64]);
            }
            prev_dir = dir;
            let (dx, dy) = STEP[dir as usize];
            v = (v.0 + dx, v.1 + dy);
            // Right turn, straight on, left turn: the first edge still unused.
            let bits = out.get(&v).copied().unwrap_or(0);
            let Some(next) = [(dir + 1) % 4, dir, (dir + 3) % 4]
                .into_iter()
                .find(|d| bits & (1 << d) != 0)
            else {
                break;
            };
            if v == start && next == dir0 {
                break;
            }
            dir = next;
        }
        if let Some(bits) = out.get_mut(&start) {
            *bits &= !(1 << dir0);
        }
        // The start corner is a vertex only when the ring turns there.
        if ring.len() > 1 && prev_dir == dir0 {
            ring.remove(0);
        }
        if ring.len() >= 3 {
            result.push((ring, probe));
        }
    }
    result
}

/// Glomerulus polygons of a mask downscaled by `factor` from a
/// `height x width` slide: one annotation per connected region (with its
/// holes), coordinates in full-resolution pixels, regions smaller than
/// `min_area` full-resolution pixels dropped.
pub fn trace_polygons(
    mask: ArrayView2<bool>,
    factor: u32,
    height: usize,
    width: usize,
    min_area: f64,
) -> Vec<Annotation> {
    let f = f64::from(factor.max(1));
    let scale = |ring: Vec<[f64; 2]>| -> Vec<[f64; 2]> {
        let mut out: Vec<[f64; 2]> = ring
            .into_iter()
            .map(|[x, y]| [(x * f).min(width as f64), (y * f).min(height as f64)])
            .collect();
        out.dedup();
        out
    };
    let mut outers = Vec::new();
    let mut holes = Vec::new();
    for (ring, probe) in rings(mask) {
        if signed_area(&ring) > 0.0 {
            outers.push(ring);
        } else {
            holes.push((ring, probe));
        }
    }
    let areas: Vec<f64> = outers.iter().map(|r| signed_area(r)).collect();
    let mut polygons: Vec<Polygon> = outers.iter().map(|_| Polygon::default()).collect();
    for (hole, probe) in holes {
        let owner = (0..outers.len())
            .filter(|&i| contains(&outers[i], probe))
            .min_by(|&a, &b| areas[a].total_cmp(&areas[b]));
        if let Some(i) = owner {
            polygons[i].holes.push(scale(hole));
        }
    }
    outers
        .into_iter()
        .zip(polygons)
        .filter_map(|(outer, mut p)| {
            p.exterior = scale(outer);
            (p.exterior.len() >= 3 && p.area() >= min_area).then(|| Annotation {
                class: "glomerulus".into(),
                polygons: vec![p],
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn trace(mask: &Array2<bool>, f: u32) -> Vec<Annotation> {
        let (h, w) = mask.dim();
        trace_polygons(mask.view(), f, h * f as usize, w * f as usize, 0.0)
    }

    #[test]
    fn a_square_with_a_hole_and_a_separate_blob() {
        let mut m = Array2::from_elem((8, 10), false);
        m.slice_mut(ndarray::s![1..6, 1..6]).fill(true);
        m[[3, 3]] = false;
        m[[7, 8]] = true;
        let anns = trace(&m, 1);
        assert_eq!(anns.len(), 2);
        let big = anns.iter().find(|a| a.polygons[0].area() > 10.0).unwrap();
        let p = &big.polygons[0];
        assert_eq!(
            p.exterior,
            vec![[1.0, 1.0], [6.0, 1.0], [6.0, 6.0], [1.0, 6.0]]
        );
        assert_eq!(p.holes.len(), 1);
        assert_eq!(p.area(), 24.0);
        let small = anns.iter().find(|a| a.polygons[0].area() < 10.0).unwrap();
        assert_eq!(small.polygons[0].area(), 1.0);
    }

    #[test]
    fn diagonal_pixels_are_separate_and_rasterise_back() {
        let mut m = Array2::from_elem((6, 6), false);
        m[[1, 1]] = true;
        m[[2, 2]] = true;
        m.slice_mut(ndarray::s![3..6, 3..5]).fill(true);
        m[[4, 5]] = true;
        let anns = trace(&m, 2);
        assert_eq!(anns.len(), 3);
        // Rasterising the polygons gives the upscaled mask back exactly.
        let polys: Vec<Polygon> = anns.into_iter().flat_map(|a| a.polygons).collect();
        let back = ftu_polygon::rasterize(&polys, 0, 0, 12, 12);
        let up = Array2::from_shape_fn((12, 12), |(y, x)| u8::from(m[[y / 2, x / 2]]));
        assert_eq!(back, up);
    }
}
