//! Polygon and annotation types.

/// A polygon in full-resolution pixel coordinates `[x, y]`: one outer ring and
/// any number of holes. Rings need not repeat their first vertex at the end.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Polygon {
    pub exterior: Vec<[f64; 2]>,
    pub holes: Vec<Vec<[f64; 2]>>,
}

/// One annotated object: a class name (QuPath's `classification.name`) and its
/// polygons (one for a GeoJSON `Polygon`, several for a `MultiPolygon`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Annotation {
    pub class: String,
    pub polygons: Vec<Polygon>,
}

impl Polygon {
    /// All rings, exterior first.
    pub fn rings(&self) -> impl Iterator<Item = &[[f64; 2]]> {
        std::iter::once(self.exterior.as_slice()).chain(self.holes.iter().map(Vec::as_slice))
    }

    /// Bounding box `[min_x, min_y, max_x, max_y]`; `None` for an empty polygon.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        let mut pts = self.exterior.iter();
        let first = pts.next()?;
        let init = [first[0], first[1], first[0], first[1]];
        Some(pts.fold(init, |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        }))
    }

    /// Enclosed area (shoelace), holes subtracted.
    pub fn area(&self) -> f64 {
        fn ring_area(r: &[[f64; 2]]) -> f64 {
            let n = r.len();
            let twice: f64 = (0..n)
                .map(|i| {
                    let (a, b) = (r[i], r[(i + 1) % n]);
                    a[0] * b[1] - b[0] * a[1]
                })
                .sum();
            (twice / 2.0).abs()
        }
        ring_area(&self.exterior) - self.holes.iter().map(|h| ring_area(h)).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_and_bbox() {
        let p = Polygon {
            exterior: vec![[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]],
            holes: vec![vec![[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0]]],
        };
        assert_eq!(p.area(), 49.0);
        assert_eq!(p.bbox(), Some([0.0, 0.0, 10.0, 5.0]));
        assert_eq!(Polygon::default().bbox(), None);
    }
}
