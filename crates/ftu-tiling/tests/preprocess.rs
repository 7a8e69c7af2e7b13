//! End to end: a competition layout (RLE and JSON labels), an external tile
//! set and a pseudo-label CSV become a tile dataset; a rerun resumes; folds
//! follow the configured rule.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use ftu_polygon::Annotation;
use ftu_synth::{SlideGenerator, SlideParams};
use ftu_tiling::preprocess::{PreprocessSummary, read_manifest};
use ftu_tiling::{FoldMode, PreprocessConfig, TissueFrom, preprocess, resize_mask};

fn generator(seed: u64) -> SlideGenerator {
    SlideGenerator::new(SlideParams {
        width: 1536,
        height: 1024,
        seed,
        glomerulus_density: 4.0,
        glomerulus_diameter: [150.0, 250.0],
        ..Default::default()
    })
}

/// Writes the sources and returns the config text for them.
fn setup(root: &Path, mode: &str) -> String {
    let comp = root.join("comp");
    std::fs::create_dir_all(comp.join("train")).unwrap();
    let mut csv = String::from("id,encoding\n");
    for (id, seed) in [("slide_a", 1), ("slide_b", 2)] {
        let g = generator(seed);
        ftu_synth::write_tiff(&g, &comp.join(format!("train/{id}.tiff")), |_, _| {}).unwrap();
        let mask = g.mask_region(0, 0, 1536, 1024);
        csv += &format!("{id},{}\n", ftu_rle::encode(mask.view()));
        let ann = vec![Annotation {
            class: "glomerulus".into(),
            polygons: g.glomeruli().to_vec(),
        }];
        ftu_polygon::write_geojson(comp.join(format!("train/{id}.json")), &ann).unwrap();
    }
    std::fs::write(comp.join("train.csv"), &csv).unwrap();

    let tiles = root.join("ext");
    std::fs::create_dir_all(tiles.join("images")).unwrap();
    std::fs::create_dir_all(tiles.join("masks")).unwrap();
    let g = generator(3);
    for (i, (x, y)) in [(300, 200), (900, 500)].into_iter().enumerate() {
        let img = g.region(x, y, 512, 512);
        let mask = g.mask_region(x, y, 512, 512);
        ftu_tiling::png::write_rgb(&tiles.join(format!("images/t{i}.png")), img.view()).unwrap();
        ftu_tiling::png::write_mask(&tiles.join(format!("masks/t{i}.png")), mask.view()).unwrap();
    }
    format!(
        r#"
[preprocess]
out_dir = "{out}"
tile = 512
out_size = 128
overlap = 64
thumbnail_factor = 16

[preprocess.tissue]
min_fraction = 0.3

[preprocess.folds]
k = 3
mode = "{mode}"
seed = 7

[[preprocess.sources]]
kind = "competition"
dir = "{comp}"

[[preprocess.sources]]
kind = "competition"
dir = "{comp}"
labels = "json"
name = "json"

[[preprocess.sources]]
kind = "tiles"
dir = "{tiles}"
name = "ext"

[[preprocess.sources]]
kind = "pseudo"
slides = "{train}"
csv = "{csv}"
"#,
        out = root.join("out").display(),
        comp = comp.display(),
        tiles = tiles.display(),
        train = comp.join("train").display(),
        csv = comp.join("train.csv").display(),
    )
}

#[test]
fn sources_become_a_resumable_tile_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let text = setup(dir.path(), "grouped");
    let cfg = PreprocessConfig::from_toml(&text, Path::new("test.toml")).unwrap();
    let (rows, summary) = preprocess(&cfg, &()).unwrap();
    assert_eq!(summary.reused, 0);
    assert_eq!(summary.written, rows.len());
    // Corner tiles hold about 25 % tissue (glass around a round section).
    assert!(summary.background > 0, "mostly-glass tiles are skipped");

    let by_source = |s: &str| rows.iter().filter(|r| r.source == s).count();
    assert_eq!(by_source("ext"), 2);
    // The same slides with RLE, JSON or "pseudo" labels give the same tiles and masks.
    assert_eq!(by_source("competition"), by_source("json"));
    assert_eq!(by_source("competition"), by_source("pseudo"));
    let out = dir.path().join("out");
    let frac: HashMap<(String, u64, u64, String), f64> = rows
        .iter()
        .map(|r| {
            (
                (r.slide_id.clone(), r.x, r.y, r.source.clone()),
                r.glomerulus_fraction,
            )
        })
        .collect();
    for r in rows.iter().filter(|r| r.source == "competition") {
        let json = frac[&(r.slide_id.clone(), r.x, r.y, "json".to_string())];
        assert!(
            (json - r.glomerulus_fraction).abs() < 1e-3,
            "{r:?} vs json {json}"
        );
        assert_eq!(
            frac[&(r.slide_id.clone(), r.x, r.y, "pseudo".to_string())],
            r.glomerulus_fraction
        );
    }
    assert!(rows.iter().any(|r| r.has_glomerulus) && rows.iter().any(|r| !r.has_glomerulus));

    // Written files: 128 x 128, the mask is the resized label window.
    let r = rows
        .iter()
        .find(|r| r.source == "competition" && r.has_glomerulus)
        .unwrap();
    let img = image::open(out.join(format!("images/{}.png", r.tile_id))).unwrap();
    assert_eq!((img.width(), img.height()), (128, 128));
    let mask = ftu_tiling::png::read_mask(&out.join(format!("masks/{}.png", r.tile_id))).unwrap();
    let seed = if r.slide_id == "slide_a" { 1 } else { 2 };
    let full = generator(seed).mask_region(r.x as usize, r.y as usize, 512, 512);
    assert_eq!(mask, resize_mask(full.view(), 128, 128).unwrap());

    // Grouped folds: no slide in two folds.
    let mut fold_of: HashMap<(String, String), usize> = HashMap::new();
    for r in &rows {
        assert!(r.fold < 3);
        let f = *fold_of
            .entry((r.source.clone(), r.slide_id.clone()))
            .or_insert(r.fold);
        assert_eq!(f, r.fold, "slide {} split across folds", r.slide_id);
    }
    assert_eq!(read_manifest(&out.join("manifest.csv")).unwrap(), rows);

    // A rerun cuts nothing and gives the same manifest.
    let (again, summary) = preprocess(&cfg, &()).unwrap();
    assert_eq!(
        summary,
        PreprocessSummary {
            written: 0,
            reused: rows.len(),
            background: summary.background
        }
    );
    assert_eq!(again, rows);
}

#[test]
fn stratified_folds_balance_positives_and_configs_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    let text = setup(dir.path(), "stratified");
    let cfg = PreprocessConfig::from_toml(&text, Path::new("test.toml")).unwrap();
    assert_eq!(cfg.folds.mode, FoldMode::Stratified);
    let (rows, _) = preprocess(&cfg, &()).unwrap();
    for positive in [true, false] {
        let mut counts = [0usize; 3];
        for r in rows.iter().filter(|r| r.has_glomerulus == positive) {
            counts[r.fold] += 1;
        }
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(hi - lo <= 1, "has_glomerulus={positive}: {counts:?}");
    }
    let slides: HashSet<_> = rows.iter().map(|r| &r.slide_id).collect();
    assert!(slides.len() >= 3);

    // Testing tissue on each tile as read instead of on a thumbnail: still
    // skips glass, still keeps every tile that holds glomerulus pixels.
    let per_tile = text
        .replace(
            "thumbnail_factor = 16",
            "thumbnail_factor = 16\ntissue_from = \"tile\"",
        )
        .replace("/out\"", "/out-per-tile\"");
    let cfg = PreprocessConfig::from_toml(&per_tile, Path::new("test.toml")).unwrap();
    assert_eq!(cfg.tissue_from, TissueFrom::Tile);
    let (tile_rows, summary) = preprocess(&cfg, &()).unwrap();
    assert!(summary.background > 0);
    let positives = |rs: &[ftu_tiling::ManifestRow]| rs.iter().filter(|r| r.has_glomerulus).count();
    assert_eq!(positives(&tile_rows), positives(&rows));

    let typo = text.replace("overlap = 64", "overlapp = 64");
    let err = PreprocessConfig::from_toml(&typo, Path::new("bad.toml")).unwrap_err();
    assert!(
        err.to_string().contains("bad.toml") && err.to_string().contains("overlapp"),
        "{err}"
    );
    let bad_kind = text.replace("kind = \"tiles\"", "kind = \"tilez\"");
    assert!(PreprocessConfig::from_toml(&bad_kind, Path::new("bad.toml")).is_err());
    let bad_key = text.replace("name = \"ext\"", "name = \"ext\"\nfoo = 1");
    assert!(PreprocessConfig::from_toml(&bad_key, Path::new("bad.toml")).is_err());
}

#[test]
fn the_example_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/preprocess-example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = PreprocessConfig::from_toml(&text, &path).unwrap();
    assert_eq!((cfg.tile, cfg.out_size), (1024, 256));
    assert_eq!(cfg.tissue_from, TissueFrom::Thumbnail);
    assert_eq!(cfg.sources.len(), 1);
}
