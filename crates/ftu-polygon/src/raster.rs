//! Even-odd scanline rasterising of a window.

use ndarray::{Array2, ArrayViewMut2};

use crate::Polygon;

/// The 0/1 mask of the `width` x `height` window whose top-left pixel is
/// `(x0, y0)` in slide coordinates. A pixel is 1 when its centre is inside any
/// polygon (even-odd over that polygon's rings). Cost is proportional to the
/// window rows each polygon spans, not to the slide.
pub fn rasterize(
    polygons: &[Polygon],
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
) -> Array2<u8> {
    let mut mask = Array2::zeros((height, width));
    rasterize_into(mask.view_mut(), polygons, x0, y0);
    mask
}

/// Like [`rasterize`], setting pixels to 1 in an existing window view (union
/// with what is there).
pub fn rasterize_into(mut mask: ArrayViewMut2<u8>, polygons: &[Polygon], x0: usize, y0: usize) {
    let (height, width) = mask.dim();
    let mut crossings: Vec<f64> = Vec::new();
    for polygon in polygons {
        // Row span over all rings: even-odd makes a stray hole count too.
        let (min_y, max_y) = polygon
            .rings()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[1]), hi.max(p[1]))
            });
        if min_y > max_y {
            continue;
        }
        // Rows whose centre y = y0 + r + 0.5 lies in [min_y, max_y].
        let first = ((min_y - 0.5 - y0 as f64).ceil().max(0.0)) as usize;
        let last = ((max_y - 0.5 - y0 as f64).floor() + 1.0).clamp(0.0, height as f64) as usize;
        for r in first..last {
            let yc = (y0 + r) as f64 + 0.5;
            crossings.clear();
            for ring in polygon.rings() {
                let n = ring.len();
                for i in 0..n {
                    let (a, b) = (ring[i], ring[(i + 1) % n]);
                    // Half-open rule: a vertex on the scanline counts once.
                    if (a[1] <= yc) != (b[1] <= yc) {
                        crossings.push(a[0] + (yc - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
                    }
                }
            }
            crossings.sort_by(f64::total_cmp);
            let mut row = mask.row_mut(r);
            for pair in crossings.chunks_exact(2) {
                // Columns whose centre x = x0 + c + 0.5 lies in [pair[0], pair[1]).
                let col = |x: f64| (x - 0.5 - x0 as f64).ceil().clamp(0.0, width as f64) as usize;
                let (c0, c1) = (col(pair[0]), col(pair[1]));
                if c0 < c1 {
                    row.slice_mut(ndarray::s![c0..c1]).fill(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Brute force: test every pixel centre with a crossing-number count.
    fn inside(p: &Polygon, x: f64, y: f64) -> bool {
        let mut odd = false;
        for ring in p.rings() {
            let n = ring.len();
            for i in 0..n {
                let (a, b) = (ring[i], ring[(i + 1) % n]);
                if (a[1] <= y) != (b[1] <= y)
                    && x < a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                {
                    odd = !odd;
                }
            }
        }
        odd
    }

    fn brute(polys: &[Polygon], x0: usize, y0: usize, w: usize, h: usize) -> Array2<u8> {
        Array2::from_shape_fn((h, w), |(r, c)| {
            let (x, y) = ((x0 + c) as f64 + 0.5, (y0 + r) as f64 + 0.5);
            polys.iter().any(|p| inside(p, x, y)) as u8
        })
    }

    fn star(cx: f64, cy: f64, r: f64, spikes: usize) -> Polygon {
        let exterior = (0..spikes * 2)
            .map(|i| {
                let a = i as f64 * std::f64::consts::PI / spikes as f64;
                let rr = if i % 2 == 0 { r } else { r * 0.45 };
                [cx + rr * a.cos(), cy + rr * a.sin()]
            })
            .collect();
        Polygon {
            exterior,
            holes: vec![],
        }
    }

    #[test]
    fn axis_aligned_square_covers_exact_pixels() {
        let sq = Polygon {
            exterior: vec![[1.0, 1.0], [3.0, 1.0], [3.0, 4.0], [1.0, 4.0]],
            holes: vec![],
        };
        let m = rasterize(&[sq], 0, 0, 5, 5);
        let expected: Vec<u8> = [
            [0, 0, 0, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 1, 1, 0, 0],
            [0, 0, 0, 0, 0],
        ]
        .concat();
        assert_eq!(m.iter().copied().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn windows_tile_the_whole() {
        let polys = vec![star(40.0, 30.0, 25.0, 7), star(70.0, 60.0, 15.0, 5)];
        let whole = rasterize(&polys, 0, 0, 100, 90);
        assert!(whole.iter().filter(|&&v| v == 1).count() > 100);
        for (x0, y0, w, h) in [
            (0, 0, 33, 17),
            (33, 17, 50, 60),
            (90, 80, 10, 10),
            (13, 71, 1, 19),
        ] {
            let win = rasterize(&polys, x0, y0, w, h);
            assert_eq!(win, whole.slice(ndarray::s![y0..y0 + h, x0..x0 + w]));
        }
    }

    #[test]
    fn overlapping_polygons_are_unioned() {
        let a = star(20.0, 20.0, 15.0, 6);
        let b = star(25.0, 22.0, 15.0, 6);
        let both = rasterize(&[a.clone(), b.clone()], 0, 0, 50, 50);
        let union = &rasterize(&[a], 0, 0, 50, 50) | &rasterize(&[b], 0, 0, 50, 50);
        assert_eq!(both, union);
    }

    proptest! {
        #[test]
        fn matches_brute_force(
            pts in prop::collection::vec((0.0f64..40.0, 0.0f64..30.0), 3..12),
            hole in prop::collection::vec((10.0f64..20.0, 10.0f64..20.0), 3..6),
            x0 in 0usize..20, y0 in 0usize..15,
        ) {
            let p = Polygon {
                exterior: pts.iter().map(|&(x, y)| [x, y]).collect(),
                holes: vec![hole.iter().map(|&(x, y)| [x, y]).collect()],
            };
            let polys = [p];
            prop_assert_eq!(rasterize(&polys, x0, y0, 25, 20), brute(&polys, x0, y0, 25, 20));
        }
    }
}
