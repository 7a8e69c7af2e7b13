//! Star-shaped outlines (a radius that varies smoothly with angle) and the
//! polygon operations the labels need.

use ftu_polygon::Polygon;

/// A closed outline `r(θ) = radius · (1 + Σ amp_k cos(kθ + phase_k))` around
/// a centre. Evaluated from a direction vector, so no `atan2` per pixel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StarShape {
    pub cx: f64,
    pub cy: f64,
    pub radius: f64,
    /// `(k, amp, cos phase, sin phase)`, k >= 1.
    pub harmonics: Vec<(u32, f64, f64, f64)>,
}

impl StarShape {
    pub fn new(cx: f64, cy: f64, radius: f64, harmonics: &[(u32, f64, f64)]) -> Self {
        StarShape {
            cx,
            cy,
            radius,
            harmonics: harmonics
                .iter()
                .map(|&(k, a, ph)| (k, a, ph.cos(), ph.sin()))
                .collect(),
        }
    }

    /// Radius towards the unit direction `(c, s) = (cos θ, sin θ)`.
    #[inline]
    pub fn radius_towards(&self, c: f64, s: f64) -> f64 {
        let mut sum = 1.0;
        // cos kθ, sin kθ by repeated complex multiplication; harmonics are
        // sorted by k, so one pass serves them all.
        let (mut ck, mut sk, mut k) = (1.0, 0.0, 0u32);
        for &(hk, amp, cp, sp) in &self.harmonics {
            while k < hk {
                (ck, sk) = (ck * c - sk * s, sk * c + ck * s);
                k += 1;
            }
            sum += amp * (ck * cp - sk * sp);
        }
        self.radius * sum
    }

    /// The largest radius the outline can reach.
    pub fn max_radius(&self) -> f64 {
        self.radius * (1.0 + self.harmonics.iter().map(|h| h.1.abs()).sum::<f64>())
    }

    /// Signed radial depth of a point: positive inside (distance to the
    /// outline along the ray from the centre), negative outside.
    #[inline]
    pub fn depth(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let d = (dx * dx + dy * dy).sqrt();
        if d < 1e-9 {
            return self.radius_towards(1.0, 0.0);
        }
        self.radius_towards(dx / d, dy / d) - d
    }

    /// The outline as a polygon of `n` vertices rounded to whole pixels (as
    /// QuPath stores them), counter-clockwise in image coordinates.
    pub fn polygon(&self, n: usize) -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = Vec::with_capacity(n);
        for i in 0..n {
            let theta = std::f64::consts::TAU * i as f64 / n as f64;
            let (s, c) = theta.sin_cos();
            let r = self.radius_towards(c, s);
            let p = [(self.cx + r * c).round(), (self.cy + r * s).round()];
            if ring.last() != Some(&p) {
                ring.push(p);
            }
        }
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        ring
    }
}

/// Keeps the part of a ring where `a·x + b·y <= c` (Sutherland–Hodgman).
pub(crate) fn clip_half_plane(ring: &[[f64; 2]], a: f64, b: f64, c: f64) -> Vec<[f64; 2]> {
    let n = ring.len();
    let mut out = Vec::with_capacity(n + 4);
    for i in 0..n {
        let (p, q) = (ring[i], ring[(i + 1) % n]);
        let (fp, fq) = (a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c);
        if fp <= 0.0 {
            out.push(p);
        }
        if (fp <= 0.0) != (fq <= 0.0) {
            let t = fp / (fp - fq);
            out.push([p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])]);
        }
    }
    out
}

/// Clips a ring to the rectangle `[0, w] x [0, h]`.
pub(crate) fn clip_rect(ring: &[[f64; 2]], w: f64, h: f64) -> Vec<[f64; 2]> {
    let r = clip_half_plane(ring, -1.0, 0.0, 0.0);
    let r = clip_half_plane(&r, 1.0, 0.0, w);
    let r = clip_half_plane(&r, 0.0, -1.0, 0.0);
    clip_half_plane(&r, 0.0, 1.0, h)
}

/// Rounds vertices to whole pixels and drops repeats, so annotation files
/// hold QuPath-style integer coordinates that read back exactly.
pub(crate) fn round_ring(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(ring.len());
    for p in ring {
        let q = [p[0].round(), p[1].round()];
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// A polygon with no holes, or `None` when clipping left nothing of area.
pub(crate) fn polygon_of(ring: Vec<[f64; 2]>) -> Option<Polygon> {
    let p = Polygon {
        exterior: ring,
        holes: Vec::new(),
    };
    (p.exterior.len() >= 3 && p.area() > 0.0).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_radius_and_depth() {
        let s = StarShape::new(10.0, 20.0, 5.0, &[]);
        assert_eq!(s.radius_towards(0.6, 0.8), 5.0);
        assert!((s.depth(13.0, 20.0) - 2.0).abs() < 1e-12);
        assert!((s.depth(10.0, 27.0) + 2.0).abs() < 1e-12);
    }

    #[test]
    fn harmonics_match_the_closed_form() {
        let s = StarShape::new(0.0, 0.0, 100.0, &[(2, 0.1, 0.3), (5, 0.05, -1.0)]);
        for i in 0..50 {
            let t = i as f64 * 0.13;
            let want = 100.0 * (1.0 + 0.1 * (2.0 * t + 0.3).cos() + 0.05 * (5.0 * t - 1.0).cos());
            assert!((s.radius_towards(t.cos(), t.sin()) - want).abs() < 1e-9);
        }
        assert!((s.max_radius() - 115.0).abs() < 1e-12);
    }

    #[test]
    fn polygon_area_approximates_the_disc() {
        let s = StarShape::new(500.0, 500.0, 200.0, &[]);
        let p = polygon_of(s.polygon(128)).unwrap();
        let disc = std::f64::consts::PI * 200.0 * 200.0;
        assert!((p.area() / disc - 1.0).abs() < 0.01);
    }

    #[test]
    fn clipping_a_square_by_half_planes() {
        let sq = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        let left = polygon_of(clip_half_plane(&sq, 1.0, 0.0, 4.0)).unwrap();
        assert!((left.area() - 40.0).abs() < 1e-12);
        let inside = polygon_of(clip_rect(
            &[[-5.0, -5.0], [5.0, -5.0], [5.0, 5.0], [-5.0, 5.0]],
            20.0,
            20.0,
        ));
        assert!((inside.unwrap().area() - 25.0).abs() < 1e-12);
        assert!(polygon_of(clip_half_plane(&sq, 1.0, 0.0, -1.0)).is_none());
    }
}
