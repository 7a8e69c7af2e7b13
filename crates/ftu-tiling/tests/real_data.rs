//! Real HuBMAP material from `../shared/data/hubmap-kidney-tiles` (not in the
//! repository; skipped with a message when absent): tissue fraction, mask
//! resizing and polygon JSON windows on real data, against values OpenCV and
//! numpy give for the same rules.

use std::path::PathBuf;

use ftu_tiling::{Labels, TissueParams, resize_mask, tissue_fraction};

fn data_dir() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/hubmap-kidney-tiles");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

#[test]
fn real_tiles_tissue_and_mask_fractions() {
    let Some(dir) = data_dir() else { return };
    let p = TissueParams::default();
    // Expected values: cv2.cvtColor(RGB2HSV) saturation > 40 and not all
    // channels > 220; masks INTER_AREA to 256 then >= 0.5.
    for (name, tissue, fg, fg_small) in [
        ("positive_000096", 0.6097, 0.027_844, 0.028_000),
        ("negative_000097", 0.7237, 0.0, 0.0),
    ] {
        let image =
            ftu_tiling::png::read_rgb(&dir.join(format!("patches/0486052bb_{name}_image.png")))
                .unwrap();
        let mask =
            ftu_tiling::png::read_mask(&dir.join(format!("patches/0486052bb_{name}_mask.png")))
                .unwrap();
        let t = tissue_fraction(image.view(), &p);
        assert!(
            (f64::from(t) - tissue).abs() < 0.002,
            "{name}: tissue {t} vs OpenCV {tissue}"
        );
        let f = mask.iter().map(|&v| f64::from(v)).sum::<f64>() / mask.len() as f64;
        assert!((f - fg).abs() < 1e-5, "{name}: {f}");
        let small = resize_mask(mask.view(), 256, 256).unwrap();
        let fs = small.iter().map(|&v| f64::from(v)).sum::<f64>() / small.len() as f64;
        assert!(
            (fs - fg_small).abs() < 0.001,
            "{name}: resized {fs} vs OpenCV {fg_small}"
        );
    }
}

#[test]
fn real_polygon_json_windows() {
    let Some(dir) = data_dir() else { return };
    let labels = Labels::from_geojson(dir.join("annotations/aaa6a05cc.json")).unwrap();
    let Labels::Polygons { polygons, .. } = &labels else {
        panic!("polygons expected")
    };
    assert_eq!(polygons.len(), 96);
    // The window around the first glomerulus holds it; rasterised alone, its
    // mask area matches the polygon area to within the boundary pixels.
    let p = &polygons[0];
    let b = p.bbox().unwrap();
    let (x, y) = (b[0].floor() as i64 - 8, b[1].floor() as i64 - 8);
    let (w, h) = ((b[2] - b[0]) as usize + 16, (b[3] - b[1]) as usize + 16);
    assert!(labels.window(x, y, w, h).unwrap().iter().any(|&v| v == 1));
    let alone = Labels::from_polygons(vec![p.clone()]);
    let win = alone.window(x, y, w, h).unwrap();
    let area = win.iter().map(|&v| f64::from(v)).sum::<f64>();
    let perimeter = p
        .exterior
        .windows(2)
        .map(|s| (s[1][0] - s[0][0]).hypot(s[1][1] - s[0][1]))
        .sum::<f64>();
    assert!(
        (area - p.area()).abs() < perimeter,
        "area {area} vs polygon {}",
        p.area()
    );
}
