//! Glomerulus masks for any window of a slide, from the three label forms the
//! competition and external data sets use: run-length encoding (only the
//! window is decoded), polygon JSON (only the window is rasterised), or a PNG
//! mask (small tiles, loaded whole).

use std::path::{Path, PathBuf};

use ftu_polygon::Polygon;
use ftu_rle::Rle;
use ndarray::{Array2, s};

use crate::error::{Result, TilingError};

/// Labels of one slide or tile, answering window queries.
#[derive(Debug, Clone)]
pub enum Labels {
    /// A parsed RLE of the whole slide.
    Rle(Rle),
    /// Glomerulus polygons in full-resolution coordinates, with their bounding
    /// boxes so a window only rasterises the polygons that can touch it.
    Polygons {
        polygons: Vec<Polygon>,
        bboxes: Vec<[f64; 4]>,
    },
    /// A mask held in memory (from a PNG), 0/1.
    Mask(Array2<u8>),
}

impl Labels {
    /// Parses an RLE (competition format) of a `height` x `width` slide;
    /// `source` names it in errors (e.g. `train.csv, id aaa6a05cc`).
    pub fn from_rle(text: &str, height: usize, width: usize, source: &str) -> Result<Labels> {
        let rle = Rle::parse(text, height, width).map_err(|e| TilingError::Label {
            path: PathBuf::from(source),
            what: e.to_string(),
        })?;
        Ok(Labels::Rle(rle))
    }

    /// Polygons given directly.
    pub fn from_polygons(polygons: Vec<Polygon>) -> Labels {
        let bboxes = polygons
            .iter()
            .map(|p| {
                p.bbox().unwrap_or([
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ])
            })
            .collect();
        Labels::Polygons { polygons, bboxes }
    }

    /// All polygons of a QuPath GeoJSON file (Polygon and MultiPolygon, with holes).
    pub fn from_geojson(path: impl AsRef<Path>) -> Result<Labels> {
        let path = path.as_ref();
        let annotations = ftu_polygon::read_geojson(path).map_err(|e| TilingError::Label {
            path: path.to_owned(),
            what: e.to_string(),
        })?;
        Ok(Labels::from_polygons(
            annotations.into_iter().flat_map(|a| a.polygons).collect(),
        ))
    }

    /// A PNG mask: any nonzero value (in any channel's first sample) is foreground.
    pub fn from_png(path: impl AsRef<Path>) -> Result<Labels> {
        Ok(Labels::Mask(crate::png::read_mask(path.as_ref())?))
    }

    /// The 0/1 mask of the `w` x `h` window at (`x`, `y`); outside the labelled
    /// area it is 0.
    pub fn window(&self, x: i64, y: i64, w: usize, h: usize) -> Result<Array2<u8>> {
        let mut out = Array2::zeros((h, w));
        let (lh, lw) = match self {
            Labels::Rle(rle) => (rle.height(), rle.width()),
            Labels::Mask(m) => m.dim(),
            Labels::Polygons { .. } => (usize::MAX / 4, usize::MAX / 4),
        };
        let x0 = x.max(0) as usize;
        let y0 = y.max(0) as usize;
        let x1 = (x.saturating_add(w as i64).max(0) as usize).min(lw);
        let y1 = (y.saturating_add(h as i64).max(0) as usize).min(lh);
        if x0 >= x1 || y0 >= y1 {
            return Ok(out);
        }
        let (ox, oy) = ((x0 as i64 - x) as usize, (y0 as i64 - y) as usize);
        let mut dst = out.slice_mut(s![oy..oy + (y1 - y0), ox..ox + (x1 - x0)]);
        match self {
            Labels::Rle(rle) => {
                let win = rle.window(y0..y1, x0..x1).map_err(|e| TilingError::Label {
                    path: PathBuf::from("<rle>"),
                    what: e.to_string(),
                })?;
                dst.assign(&win);
            }
            Labels::Mask(m) => dst.assign(&m.slice(s![y0..y1, x0..x1]).mapv(|v| u8::from(v != 0))),
            Labels::Polygons { polygons, bboxes } => {
                let (fx0, fy0, fx1, fy1) = (x0 as f64, y0 as f64, x1 as f64, y1 as f64);
                let touching: Vec<Polygon> = polygons
                    .iter()
                    .zip(bboxes)
                    .filter(|(_, b)| b[0] < fx1 && b[2] > fx0 && b[1] < fy1 && b[3] > fy0)
                    .map(|(p, _)| p.clone())
                    .collect();
                ftu_polygon::rasterize_into(dst, &touching, x0, y0);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_past_the_edges_are_zero_padded() {
        // A 4 x 6 mask with the 2 x 2 block at rows 1..3, cols 2..4.
        let mut m = Array2::zeros((4, 6));
        m.slice_mut(s![1..3, 2..4]).fill(1);
        let rle = ftu_rle::encode(m.view());
        let labels = [
            Labels::Mask(m.clone()),
            Labels::from_rle(&rle, 4, 6, "test").unwrap(),
            Labels::from_polygons(vec![Polygon {
                exterior: vec![[2.0, 1.0], [4.0, 1.0], [4.0, 3.0], [2.0, 3.0]],
                holes: vec![],
            }]),
        ];
        for l in &labels {
            assert_eq!(l.window(0, 0, 6, 4).unwrap(), m, "{l:?}");
            let w = l.window(1, -1, 3, 3).unwrap();
            assert_eq!(
                w,
                ndarray::arr2(&[[0, 0, 0], [0, 0, 0], [0, 1, 1]]),
                "{l:?}"
            );
            assert_eq!(l.window(-5, -5, 3, 3).unwrap().sum(), 0);
        }
        assert!(Labels::from_rle("1 2 3", 4, 6, "train.csv id x").is_err());
    }
}
