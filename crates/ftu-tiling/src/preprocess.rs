//! Turning slides and tile sets into a training tile dataset:
//! `images/*.png`, `masks/*.png` and `manifest.csv`, with k-fold assignment.
//!
//! Parallel over the tiles of each slide (rayon), resumable (a tile whose
//! image and mask are both present is not cut again), and every file is
//! written atomically, so an interrupted run leaves only whole files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{Array3, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TilingError};
use crate::grid::TileGrid;
use crate::labels::Labels;
use crate::slide::{FILL, Slide, block_mean};
use crate::tissue::{TissueMap, TissueParams};

/// The `[preprocess]` table of a run configuration. Relative paths are taken
/// from the current directory. Unknown keys are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessConfig {
    /// Output folder: `images/`, `masks/` and `manifest.csv` go here.
    pub out_dir: PathBuf,
    /// Tile side at full resolution (e.g. 1024).
    #[serde(default = "default_tile")]
    pub tile: usize,
    /// Tile side written (e.g. 256): images area-averaged, masks area + 0.5 threshold.
    #[serde(default = "default_out_size")]
    pub out_size: usize,
    /// Minimum overlap of neighbouring tiles at full resolution.
    #[serde(default)]
    pub overlap: usize,
    /// Downscale factor of the thumbnail the tissue filter runs on.
    #[serde(default = "default_thumbnail_factor")]
    pub thumbnail_factor: u32,
    /// Where the tissue test looks (see [`TissueFrom`]).
    #[serde(default)]
    pub tissue_from: TissueFrom,
    /// Tissue test; slide tiles below `tissue.min_fraction` are skipped
    /// unless they hold glomerulus pixels.
    #[serde(default)]
    pub tissue: TissueParams,
    /// How tiles are split into folds.
    #[serde(default)]
    pub folds: FoldConfig,
    /// Where tiles come from.
    pub sources: Vec<SourceConfig>,
}

fn default_tile() -> usize {
    1024
}
fn default_out_size() -> usize {
    256
}
fn default_thumbnail_factor() -> u32 {
    32
}

/// What the tissue test of a slide tile is computed on. Both measure the
/// same pixels: `thumbnail_factor`-sized block means of the slide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TissueFrom {
    /// A whole-slide thumbnail made first: background tiles are never read
    /// at full resolution, but kept tiles' chunks are decoded twice (once
    /// for the thumbnail). Best when most of the slide is glass.
    #[default]
    Thumbnail,
    /// Each tile as it is read: every chunk is decoded once, background
    /// tiles included. Faster when most tiles hold tissue.
    Tile,
}

/// k-fold split settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FoldConfig {
    /// Number of folds (3 to 5 in the recipe).
    pub k: usize,
    pub mode: FoldMode,
    pub seed: u64,
}

impl Default for FoldConfig {
    fn default() -> Self {
        FoldConfig {
            k: 4,
            mode: FoldMode::Stratified,
            seed: 42,
        }
    }
}

/// How folds are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldMode {
    /// Each fold gets the same share of tiles with and without glomeruli
    /// (the recipe's StratifiedKFold on has_glomerulus).
    Stratified,
    /// All tiles of a slide share a fold (no slide in two folds); slides are
    /// spread so folds hold about the same number of tiles.
    Grouped,
}

/// Where slide labels come from in the competition layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompetitionLabels {
    /// `train.csv` (`id,encoding`).
    #[default]
    Csv,
    /// `train/<id>.json` glomerulus polygons.
    Json,
}

/// One source of tiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    /// `dir/train/<id>.tiff` with `dir/train.csv` or `dir/train/<id>.json`.
    Competition {
        dir: PathBuf,
        #[serde(default)]
        labels: CompetitionLabels,
        #[serde(default)]
        name: Option<String>,
    },
    /// An external tile set: `dir/images/*.png` with `dir/masks/*.png` of the
    /// same name. Every tile is kept (no tissue filter: such sets are curated).
    Tiles {
        dir: PathBuf,
        #[serde(default)]
        name: Option<String>,
    },
    /// Pseudo-labelled slides: `slides/<id>.tiff` and a submission-style CSV
    /// (`id,predicted`) of the predicted masks.
    Pseudo {
        slides: PathBuf,
        csv: PathBuf,
        #[serde(default)]
        name: Option<String>,
    },
}

impl SourceConfig {
    fn name(&self) -> &str {
        match self {
            SourceConfig::Competition { name, .. } => name.as_deref().unwrap_or("competition"),
            SourceConfig::Tiles { name, .. } => name.as_deref().unwrap_or("tiles"),
            SourceConfig::Pseudo { name, .. } => name.as_deref().unwrap_or("pseudo"),
        }
    }
}

impl PreprocessConfig {
    /// Parses the `[preprocess]` table of a TOML document.
    pub fn from_toml(text: &str, origin: &Path) -> Result<PreprocessConfig> {
        #[derive(Deserialize)]
        struct Doc {
            preprocess: Option<PreprocessConfig>,
        }
        let bad = |what: String| TilingError::Label {
            path: origin.to_owned(),
            what,
        };
        let doc: Doc = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let cfg = doc
            .preprocess
            .ok_or_else(|| bad("no [preprocess] table".into()))?;
        cfg.validate().map_err(|e| bad(e.to_string()))?;
        Ok(cfg)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<()> {
        let invalid = |m: String| Err(TilingError::Invalid(m));
        if self.tile == 0 || self.out_size == 0 || self.overlap >= self.tile {
            return invalid(format!(
                "tile {} / out_size {} / overlap {}: need tile > overlap and sizes > 0",
                self.tile, self.out_size, self.overlap
            ));
        }
        if self.folds.k < 2 {
            return invalid(format!("folds.k = {}: need at least 2", self.folds.k));
        }
        if self.thumbnail_factor == 0 {
            return invalid("thumbnail_factor must be > 0".into());
        }
        if self.sources.is_empty() {
            return invalid("no sources".into());
        }
        Ok(())
    }
}

/// One row of `manifest.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRow {
    pub tile_id: String,
    pub source: String,
    pub slide_id: String,
    pub x: u64,
    pub y: u64,
    /// Tile side at full resolution.
    pub size: usize,
    /// Foreground fraction of the written (resized) mask.
    pub glomerulus_fraction: f64,
    pub has_glomerulus: bool,
    pub fold: usize,
}

/// Progress reporting, implemented by the command line (a progress bar).
pub trait Progress: Sync {
    /// A slide (or tile set) starts; `tiles` tiles will be visited.
    fn start(&self, slide: &str, tiles: usize);
    /// One tile is done (written, skipped as background, or found on disk).
    fn tile_done(&self);
}

/// No progress output.
impl Progress for () {
    fn start(&self, _: &str, _: usize) {}
    fn tile_done(&self) {}
}

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreprocessSummary {
    /// Tiles cut and written by this run.
    pub written: usize,
    /// Tiles already on disk from an earlier run.
    pub reused: usize,
    /// Slide tiles skipped as background.
    pub background: usize,
}

/// Pixels of one unit of work: a slide read in windows, or an in-memory tile.
enum Pixels {
    Slide(Slide),
    Image(Array3<u8>),
}

impl Pixels {
    fn dims(&self) -> (u64, u64) {
        match self {
            Pixels::Slide(s) => (u64::from(s.width()), u64::from(s.height())),
            Pixels::Image(a) => (a.shape()[1] as u64, a.shape()[0] as u64),
        }
    }

    fn region(&self, x: u64, y: u64, size: usize) -> Result<Array3<u8>> {
        match self {
            Pixels::Slide(s) => s.read_region(x as i64, y as i64, size, size),
            Pixels::Image(a) => {
                let mut out = Array3::from_elem((size, size, 3), FILL);
                let (h, w) = (a.shape()[0], a.shape()[1]);
                let (x, y) = (x as usize, y as usize);
                let (x1, y1) = ((x + size).min(w), (y + size).min(h));
                out.slice_mut(s![..y1 - y, ..x1 - x, ..])
                    .assign(&a.slice(s![y..y1, x..x1, ..]));
                Ok(out)
            }
        }
    }
}

/// One slide or tile of a source, with its labels and whether to filter tissue.
struct Unit {
    source: String,
    slide_id: String,
    pixels: Pixels,
    labels: Labels,
    filter_tissue: bool,
}

fn list_dir(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| TilingError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        })
        .collect();
    paths.sort();
    Ok(paths)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Opens one unit when called.
type UnitFn = Box<dyn FnOnce() -> Result<Unit> + Send>;

/// `(id, slide path, rle)` for every row of an `id,encoding` / `id,predicted` CSV.
fn rle_rows(slides: &Path, csv: &Path) -> Result<Vec<(String, PathBuf, String)>> {
    let rows = ftu_rle::csv::read_encodings(csv)?;
    Ok(rows
        .into_iter()
        .map(|(id, rle)| {
            let path = slides.join(format!("{id}.tiff"));
            (id, path, rle)
        })
        .collect())
}

/// The units of one source as deferred constructors, so that only one slide
/// is open (and one tile set image in memory) at a time.
fn source_units(cfg: &SourceConfig) -> Result<Vec<UnitFn>> {
    let name = cfg.name().to_owned();
    let mut units: Vec<UnitFn> = Vec::new();
    let rle_unit =
        |name: String, id: String, path: PathBuf, rle: String, origin: String| -> UnitFn {
            Box::new(move || {
                let slide = Slide::open(&path)?;
                let labels = Labels::from_rle(
                    &rle,
                    slide.height() as usize,
                    slide.width() as usize,
                    &origin,
                )?;
                Ok(Unit {
                    source: name,
                    slide_id: id,
                    pixels: Pixels::Slide(slide),
                    labels,
                    filter_tissue: true,
                })
            })
        };
    match cfg {
        SourceConfig::Competition { dir, labels, .. } => {
            let train = dir.join("train");
            match labels {
                CompetitionLabels::Csv => {
                    let csv = dir.join("train.csv");
                    for (id, path, rle) in rle_rows(&train, &csv)? {
                        let origin = format!("{}, id {id}", csv.display());
                        units.push(rle_unit(name.clone(), id, path, rle, origin));
                    }
                }
                CompetitionLabels::Json => {
                    for path in list_dir(&train, "tiff")? {
                        let id = stem(&path);
                        let json = train.join(format!("{id}.json"));
                        let name = name.clone();
                        units.push(Box::new(move || {
                            Ok(Unit {
                                source: name,
                                slide_id: id,
                                pixels: Pixels::Slide(Slide::open(&path)?),
                                labels: Labels::from_geojson(&json)?,
                                filter_tissue: true,
                            })
                        }));
                    }
                }
            }
        }
        SourceConfig::Pseudo { slides, csv, .. } => {
            for (id, path, rle) in rle_rows(slides, csv)? {
                let origin = format!("{}, id {id}", csv.display());
                units.push(rle_unit(name.clone(), id, path, rle, origin));
            }
        }
        SourceConfig::Tiles { dir, .. } => {
            for image in list_dir(&dir.join("images"), "png")? {
                let id = stem(&image);
                let mask = dir.join("masks").join(format!("{id}.png"));
                let name = name.clone();
                units.push(Box::new(move || {
                    let pixels = crate::png::read_rgb(&image)?;
                    let labels = Labels::from_png(&mask)?;
                    if let Labels::Mask(m) = &labels
                        && m.dim() != (pixels.shape()[0], pixels.shape()[1])
                    {
                        return Err(TilingError::Label {
                            path: mask.clone(),
                            what: format!(
                                "mask is {:?}, image {} is {:?}",
                                m.dim(),
                                image.display(),
                                (pixels.shape()[0], pixels.shape()[1])
                            ),
                        });
                    }
                    Ok(Unit {
                        source: name,
                        slide_id: id,
                        pixels: Pixels::Image(pixels),
                        labels,
                        filter_tissue: false,
                    })
                }));
            }
        }
    }
    Ok(units)
}

/// How slide tiles are tested for tissue.
enum TissueTest {
    /// No test (curated tile sets).
    None,
    /// Look the tile up in the thumbnail's tissue map.
    Map(TissueMap),
    /// Test the tile's own block means after reading it.
    PerTile,
}

/// What happened to one tile.
enum Outcome {
    Row(ManifestRow),
    Background,
}

/// Runs the whole preprocessing: cuts, filters, resizes and writes every
/// tile, assigns folds and writes `manifest.csv`. Returns the manifest rows.
pub fn preprocess(
    cfg: &PreprocessConfig,
    progress: &dyn Progress,
) -> Result<(Vec<ManifestRow>, PreprocessSummary)> {
    cfg.validate()?;
    let images = cfg.out_dir.join("images");
    let masks = cfg.out_dir.join("masks");
    for d in [&images, &masks] {
        std::fs::create_dir_all(d).map_err(|e| TilingError::io(d, e))?;
    }
    let mut rows = Vec::new();
    let mut summary = PreprocessSummary::default();
    for source in &cfg.sources {
        for unit in source_units(source)? {
            let unit = unit()?;
            let (width, height) = unit.pixels.dims();
            let grid = TileGrid::new(width, height, cfg.tile, cfg.overlap)?;
            let tissue = match (&unit.pixels, unit.filter_tissue) {
                (_, false) => TissueTest::None,
                (_, true) if cfg.tissue_from == TissueFrom::Tile => TissueTest::PerTile,
                (Pixels::Slide(s), true) => TissueTest::Map(TissueMap::new(
                    s.thumbnail(cfg.thumbnail_factor)?.view(),
                    cfg.thumbnail_factor,
                    &cfg.tissue,
                )),
                (Pixels::Image(a), true) => {
                    let t = block_mean(
                        a,
                        cfg.thumbnail_factor as usize,
                        (width as usize).div_ceil(cfg.thumbnail_factor as usize),
                    );
                    TissueTest::Map(TissueMap::new(t.view(), cfg.thumbnail_factor, &cfg.tissue))
                }
            };
            progress.start(&format!("{}:{}", unit.source, unit.slide_id), grid.len());
            let tiles: Vec<_> = grid.iter().collect();
            let outcomes: Vec<(Outcome, bool)> = tiles
                .par_iter()
                .map(|t| {
                    let r = cut_tile(cfg, &unit, &tissue, t.x, t.y, &images, &masks);
                    progress.tile_done();
                    r
                })
                .collect::<Result<_>>()?;
            for (outcome, reused) in outcomes {
                match outcome {
                    Outcome::Row(row) => {
                        if reused {
                            summary.reused += 1;
                        } else {
                            summary.written += 1;
                        }
                        rows.push(row);
                    }
                    Outcome::Background => summary.background += 1,
                }
            }
        }
    }
    assign_folds(&mut rows, &cfg.folds);
    write_manifest(&cfg.out_dir.join("manifest.csv"), &rows)?;
    Ok((rows, summary))
}

fn cut_tile(
    cfg: &PreprocessConfig,
    unit: &Unit,
    tissue: &TissueTest,
    x: u64,
    y: u64,
    images: &Path,
    masks: &Path,
) -> Result<(Outcome, bool)> {
    let tile_id = format!("{}_{}_{x}_{y}", unit.source, unit.slide_id);
    let image_path = images.join(format!("{tile_id}.png"));
    let mask_path = masks.join(format!("{tile_id}.png"));
    let row = |mask: &ndarray::Array2<u8>| {
        let fg = mask.iter().filter(|&&v| v != 0).count();
        let fraction = fg as f64 / mask.len().max(1) as f64;
        ManifestRow {
            tile_id: tile_id.clone(),
            source: unit.source.clone(),
            slide_id: unit.slide_id.clone(),
            x,
            y,
            size: cfg.tile,
            glomerulus_fraction: fraction,
            has_glomerulus: fg > 0,
            fold: 0,
        }
    };
    // Resume: both files exist only once the tile was completely written
    // (the mask is written after the image, each atomically).
    if image_path.exists() && mask_path.exists() {
        let mask = crate::png::read_mask(&mask_path)?;
        return Ok((Outcome::Row(row(&mask)), true));
    }
    let full_mask = unit.labels.window(x as i64, y as i64, cfg.tile, cfg.tile)?;
    let has_label = full_mask.iter().any(|&v| v != 0);
    let size = cfg.tile as u64;
    if let TissueTest::Map(map) = tissue
        && !has_label
        && map.fraction(x, y, size, size) < cfg.tissue.min_fraction
    {
        return Ok((Outcome::Background, false));
    }
    let image = unit.pixels.region(x, y, cfg.tile)?;
    if let TissueTest::PerTile = tissue
        && !has_label
    {
        let f = cfg.thumbnail_factor as usize;
        let blocks = block_mean(&image, f, cfg.tile.div_ceil(f));
        if crate::tissue::tissue_fraction(blocks.view(), &cfg.tissue) < cfg.tissue.min_fraction {
            return Ok((Outcome::Background, false));
        }
    }
    let image = crate::resize::resize_rgb(image.view(), cfg.out_size, cfg.out_size)?;
    let mask = crate::resize::resize_mask(full_mask.view(), cfg.out_size, cfg.out_size)?;
    crate::png::write_rgb(&image_path, image.view())?;
    crate::png::write_mask(&mask_path, mask.view())?;
    Ok((Outcome::Row(row(&mask)), false))
}

/// Assigns `fold` to every row, deterministically for a given seed and row set.
pub fn assign_folds(rows: &mut [ManifestRow], folds: &FoldConfig) {
    rows.sort_by(|a, b| a.tile_id.cmp(&b.tile_id));
    let mut rng = ChaCha8Rng::seed_from_u64(folds.seed);
    match folds.mode {
        FoldMode::Stratified => {
            for positive in [true, false] {
                let mut idx: Vec<usize> = (0..rows.len())
                    .filter(|&i| rows[i].has_glomerulus == positive)
                    .collect();
                idx.shuffle(&mut rng);
                for (n, i) in idx.into_iter().enumerate() {
                    rows[i].fold = n % folds.k;
                }
            }
        }
        FoldMode::Grouped => {
            let mut sizes: BTreeMap<(String, String), usize> = BTreeMap::new();
            for r in rows.iter() {
                *sizes
                    .entry((r.source.clone(), r.slide_id.clone()))
                    .or_default() += 1;
            }
            let mut slides: Vec<((String, String), usize)> = sizes.into_iter().collect();
            slides.shuffle(&mut rng);
            // Largest slides first, each into the currently smallest fold.
            slides.sort_by_key(|s| std::cmp::Reverse(s.1));
            let mut load = vec![0usize; folds.k];
            let mut fold_of = BTreeMap::new();
            for (slide, n) in slides {
                let f = (0..folds.k).min_by_key(|&f| (load[f], f)).expect("k >= 2");
                load[f] += n;
                fold_of.insert(slide, f);
            }
            for r in rows.iter_mut() {
                r.fold = fold_of[&(r.source.clone(), r.slide_id.clone())];
            }
        }
    }
}

/// Writes `manifest.csv` atomically.
pub fn write_manifest(path: &Path, rows: &[ManifestRow]) -> Result<()> {
    let tmp = ftu_outfile::AtomicFile::create(path).map_err(|e| TilingError::io(path, e))?;
    {
        let mut w = csv::Writer::from_writer(tmp.file());
        for r in rows {
            w.serialize(r).map_err(|e| TilingError::Label {
                path: path.to_owned(),
                what: e.to_string(),
            })?;
        }
        w.flush().map_err(|e| TilingError::io(path, e))?;
    }
    tmp.commit().map_err(|e| TilingError::io(path, e))
}

/// Reads a `manifest.csv` written by [`write_manifest`].
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestRow>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| TilingError::Label {
        path: path.to_owned(),
        what: e.to_string(),
    })?;
    r.deserialize()
        .map(|row| {
            row.map_err(|e| TilingError::Label {
                path: path.to_owned(),
                what: e.to_string(),
            })
        })
        .collect()
}
