//! Glomerulus annotations as polygons.
//!
//! The competition ships glomerulus outlines as QuPath GeoJSON (`<id>.json`):
//! a list of `Feature`s whose geometry is a `Polygon` or `MultiPolygon` in
//! full-resolution pixel coordinates. This crate reads and writes that form
//! and rasterises any window of it, so a 50000-pixel slide's labels never
//! need to exist as a whole mask.
//!
//! One rasterising convention serves the whole project (the synthetic slide
//! generator, tile labels, overlays): a pixel is foreground when its centre
//! lies inside a polygon by the even-odd rule over that polygon's rings, and
//! polygons are unioned.
//!
//! ```
//! use ftu_polygon::{rasterize, Annotation, Polygon};
//!
//! // A 4x4 square with a 2x2 hole, at (2, 2).
//! let square = Polygon {
//!     exterior: vec![[2.0, 2.0], [6.0, 2.0], [6.0, 6.0], [2.0, 6.0]],
//!     holes: vec![vec![[3.0, 3.0], [5.0, 3.0], [5.0, 5.0], [3.0, 5.0]]],
//! };
//! let mask = rasterize(std::slice::from_ref(&square), 0, 0, 8, 8);
//! assert_eq!(mask.iter().filter(|&&v| v == 1).count(), 16 - 4);
//! assert_eq!(mask[[2, 2]], 1);
//! assert_eq!(mask[[3, 3]], 0); // in the hole
//!
//! // Round trip through QuPath's GeoJSON form.
//! let ann = vec![Annotation { class: "glomerulus".into(), polygons: vec![square] }];
//! let text = ftu_polygon::to_geojson(&ann);
//! assert_eq!(ftu_polygon::parse_geojson(&text).unwrap(), ann);
//! ```

mod geojson;
mod polygon;
mod raster;

pub use geojson::{PolygonError, parse_geojson, read_geojson, to_geojson, write_geojson};
pub use polygon::{Annotation, Polygon};
pub use raster::{rasterize, rasterize_into};
