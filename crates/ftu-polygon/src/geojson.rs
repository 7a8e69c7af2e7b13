//! QuPath's GeoJSON form: a JSON list of `Feature`s (or a `FeatureCollection`).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{Annotation, Polygon};

/// What can go wrong reading or writing annotations. Every variant names the
/// file (or `<string>` for in-memory text) and where in it.
#[derive(Debug, thiserror::Error)]
pub enum PolygonError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: invalid JSON at line {line}, column {column}: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: feature {feature}: {message}")]
    Format {
        path: PathBuf,
        feature: usize,
        message: String,
    },
}

/// Reads a QuPath GeoJSON annotation file.
pub fn read_geojson(path: impl AsRef<Path>) -> Result<Vec<Annotation>, PolygonError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|error| PolygonError::Io {
        path: path.to_owned(),
        error,
    })?;
    parse_at(&text, path)
}

/// Parses QuPath GeoJSON text: a list of features or a `FeatureCollection`.
/// Features without a classification get the class `""`.
pub fn parse_geojson(text: &str) -> Result<Vec<Annotation>, PolygonError> {
    parse_at(text, Path::new("<string>"))
}

fn parse_at(text: &str, path: &Path) -> Result<Vec<Annotation>, PolygonError> {
    let root: Value = serde_json::from_str(text).map_err(|e| PolygonError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let features = match &root {
        Value::Array(items) => items.as_slice(),
        Value::Object(map) => match map.get("features") {
            Some(Value::Array(items)) => items.as_slice(),
            _ => std::slice::from_ref(&root),
        },
        _ => {
            return Err(PolygonError::Format {
                path: path.to_owned(),
                feature: 0,
                message: "expected a list of features or a FeatureCollection".into(),
            });
        }
    };
    features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            parse_feature(f).map_err(|message| PolygonError::Format {
                path: path.to_owned(),
                feature: i,
                message,
            })
        })
        .collect()
}

fn parse_feature(f: &Value) -> Result<Annotation, String> {
    let geometry = f.get("geometry").ok_or("no \"geometry\"")?;
    let kind = geometry
        .get("type")
        .and_then(Value::as_str)
        .ok_or("geometry has no \"type\"")?;
    let coords = geometry
        .get("coordinates")
        .ok_or("geometry has no \"coordinates\"")?;
    let polygons = match kind {
        "Polygon" => vec![parse_polygon(coords)?],
        "MultiPolygon" => coords
            .as_array()
            .ok_or("MultiPolygon coordinates are not a list")?
            .iter()
            .map(parse_polygon)
            .collect::<Result<_, _>>()?,
        other => return Err(format!("unsupported geometry type {other:?}")),
    };
    let class = f
        .pointer("/properties/classification/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok(Annotation { class, polygons })
}

fn parse_polygon(v: &Value) -> Result<Polygon, String> {
    let rings = v.as_array().ok_or("polygon coordinates are not a list")?;
    let mut rings = rings.iter().map(parse_ring);
    let exterior = rings.next().ok_or("polygon has no rings")??;
    let holes = rings.collect::<Result<_, _>>()?;
    Ok(Polygon { exterior, holes })
}

fn parse_ring(v: &Value) -> Result<Vec<[f64; 2]>, String> {
    let pts = v.as_array().ok_or("ring is not a list")?;
    let mut ring: Vec<[f64; 2]> = pts
        .iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([x, y, ..]) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok([x, y]),
                _ => Err(format!("non-numeric vertex {p}")),
            },
            _ => Err(format!("vertex {p} is not [x, y]")),
        })
        .collect::<Result<_, _>>()?;
    // GeoJSON closes rings by repeating the first vertex; keep rings open.
    if ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return Err(format!("ring has {} distinct vertices, need 3", ring.len()));
    }
    Ok(ring)
}

/// Serialises annotations as QuPath writes them (closed rings).
pub fn to_geojson(annotations: &[Annotation]) -> String {
    let ring = |r: &[[f64; 2]]| -> Value {
        let mut pts: Vec<Value> = r.iter().map(|p| json!([p[0], p[1]])).collect();
        if let Some(first) = pts.first().cloned() {
            pts.push(first);
        }
        Value::Array(pts)
    };
    let polygon = |p: &Polygon| -> Value { Value::Array(p.rings().map(ring).collect()) };
    let features: Vec<Value> = annotations
        .iter()
        .map(|a| {
            let geometry = if a.polygons.len() == 1 {
                json!({"type": "Polygon", "coordinates": polygon(&a.polygons[0])})
            } else {
                json!({"type": "MultiPolygon",
                       "coordinates": a.polygons.iter().map(polygon).collect::<Vec<_>>()})
            };
            json!({
                "type": "Feature",
                "id": "PathAnnotationObject",
                "geometry": geometry,
                "properties": {
                    "classification": {"name": a.class, "colorRGB": -3140401},
                    "isLocked": true,
                    "measurements": []
                }
            })
        })
        .collect();
    serde_json::to_string_pretty(&features).expect("JSON values always serialise")
}

/// Writes annotations as QuPath GeoJSON, atomically (temp file + rename).
pub fn write_geojson(
    path: impl AsRef<Path>,
    annotations: &[Annotation],
) -> Result<(), PolygonError> {
    let path = path.as_ref();
    let io = |error| PolygonError::Io {
        path: path.to_owned(),
        error,
    };
    let out = ftu_outfile::AtomicFile::create(path).map_err(io)?;
    out.file()
        .write_all(to_geojson(annotations).as_bytes())
        .map_err(io)?;
    out.commit().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUPATH: &str = r#"[{"type":"Feature","id":"PathAnnotationObject",
      "geometry":{"type":"Polygon","coordinates":[[[10,20],[30,20],[30,40],[10,20]]]},
      "properties":{"classification":{"name":"glomerulus","colorRGB":-3140401},"isLocked":true,"measurements":[]}},
     {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[
        [[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]],
        [[[9,9],[12,9],[12,12]]]]},
      "properties":{"classification":{"name":"Cortex"}}}]"#;

    #[test]
    fn parses_polygon_and_multipolygon() {
        let a = parse_geojson(QUPATH).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].class, "glomerulus");
        assert_eq!(
            a[0].polygons[0].exterior,
            vec![[10.0, 20.0], [30.0, 20.0], [30.0, 40.0]]
        );
        assert_eq!(a[1].class, "Cortex");
        assert_eq!(a[1].polygons.len(), 2);
        assert_eq!(a[1].polygons[0].holes.len(), 1);
    }

    #[test]
    fn feature_collection_and_round_trip() {
        let a = parse_geojson(QUPATH).unwrap();
        let fc = format!(r#"{{"type":"FeatureCollection","features":{QUPATH}}}"#);
        assert_eq!(parse_geojson(&fc).unwrap(), a);
        assert_eq!(parse_geojson(&to_geojson(&a)).unwrap(), a);
    }

    #[test]
    fn errors_name_the_feature_and_problem() {
        let bad = r#"[{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,"x"],[2,2]]]}}]"#;
        let e = parse_geojson(bad).unwrap_err().to_string();
        assert!(e.contains("feature 0") && e.contains("non-numeric"), "{e}");
        let e = parse_geojson("[{]").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse_geojson(r#"[{"geometry":{"type":"Point","coordinates":[1,2]}}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Point"), "{e}");
        let e = parse_geojson(r#"[{"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}}]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("need 3"), "{e}");
    }

    #[test]
    fn reads_the_real_competition_file_when_present() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/hubmap-kidney-tiles/annotations/aaa6a05cc.json");
        if !path.exists() {
            eprintln!("skipped: {} is absent", path.display());
            return;
        }
        let a = read_geojson(&path).unwrap();
        assert_eq!(a.len(), 96);
        assert!(a.iter().all(|x| x.class == "glomerulus"));
    }

    #[test]
    fn write_is_atomic_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let a = parse_geojson(QUPATH).unwrap();
        write_geojson(&path, &a).unwrap();
        assert_eq!(read_geojson(&path).unwrap(), a);
        let e = read_geojson(dir.path().join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.json"), "{e}");
    }
}
