//! Whole-slide prediction: slides in, RLE + overlay + GeoJSON out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ftu_rle::{BandEncoder, Rle};
use ftu_tiling::{Slide, TissueMap};
use ndarray::{Array3, ArrayView2};

use crate::blocks::BlockMask;
use crate::config::InferConfig;
use crate::contour::trace_polygons;
use crate::engine::{BandSink, ProgressFn, SlideStats, Variant, ensemble_variant, run_variants};
use crate::error::{EnsembleError, Result, io_err};
use crate::model::{TileModel, load_members};

/// One slide to predict, with its truth RLE when known.
#[derive(Debug, Clone, PartialEq)]
pub struct SlideInput {
    pub id: String,
    pub path: PathBuf,
    pub truth: Option<String>,
}

impl SlideInput {
    /// Every `*.tiff` / `*.tif` in `dir` (sorted by id), truth attached from
    /// `truth_csv` (`id,encoding` or `id,predicted`) when given.
    pub fn list(dir: &Path, truth_csv: Option<&Path>) -> Result<Vec<SlideInput>> {
        let entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
        let mut slides = Vec::new();
        for e in entries {
            let path = e.map_err(io_err(dir))?.path();
            let is_tiff = path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("tiff") || x.eq_ignore_ascii_case("tif"));
            if !is_tiff {
                continue;
            }
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| {
                    EnsembleError::Config(format!("{}: file name is not UTF-8", path.display()))
                })?
                .to_owned();
            slides.push(SlideInput {
                id,
                path,
                truth: None,
            });
        }
        if slides.is_empty() {
            return Err(EnsembleError::Config(format!(
                "{}: no *.tiff slides",
                dir.display()
            )));
        }
        slides.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(csv) = truth_csv {
            let rows = ftu_rle::csv::read_encodings(csv)?;
            for s in &mut slides {
                s.truth = rows
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map(|(_, r)| r.clone());
            }
        }
        Ok(slides)
    }
}

/// Switches of [`predict_slides`].
#[derive(Clone, Copy)]
pub struct PredictOptions<'a> {
    /// Write `overlays/<id>.png`.
    pub overlays: bool,
    /// Write `geojson/<id>.geojson`.
    pub geojson: bool,
    /// Reuse `rle/<id>.rle` written by an earlier run with the same config.
    pub resume: bool,
    /// Called after each batch.
    pub progress: Option<ProgressFn<'a>>,
}

impl Default for PredictOptions<'_> {
    fn default() -> Self {
        PredictOptions {
            overlays: true,
            geojson: true,
            resume: true,
            progress: None,
        }
    }
}

/// The prediction of one slide.
#[derive(Debug, Clone, PartialEq)]
pub struct SlidePrediction {
    pub id: String,
    /// Competition RLE of the predicted mask.
    pub rle: String,
    pub width: usize,
    pub height: usize,
    /// Dice against the truth, when known.
    pub dice: Option<f64>,
    /// Sliding-window statistics; `None` when resumed from an earlier run.
    pub stats: Option<SlideStats>,
    pub overlay: Option<PathBuf>,
    pub geojson: Option<PathBuf>,
    /// Polygons written to the GeoJSON.
    pub polygons: usize,
}

/// Thresholds merged bands into the RLE and keeps downscaled copies of the
/// prediction (and truth) for the overlay and polygons.
pub(crate) struct MaskSink {
    threshold: f32,
    encoder: Option<BandEncoder>,
    pred_thumb: Option<BlockMask>,
    pred_poly: Option<BlockMask>,
    truth: Option<(Rle, BlockMask)>,
}

impl MaskSink {
    pub(crate) fn new(height: usize, width: usize, threshold: f32) -> MaskSink {
        MaskSink {
            threshold,
            encoder: Some(BandEncoder::new(height, width)),
            pred_thumb: None,
            pred_poly: None,
            truth: None,
        }
    }

    pub(crate) fn finish(&mut self) -> Result<String> {
        Ok(self.encoder.take().expect("finish once").finish()?)
    }
}

impl BandSink for MaskSink {
    fn band(&mut self, y: usize, probs: ArrayView2<f32>) -> Result<()> {
        let t = self.threshold;
        let mask = probs.mapv(|p| u8::from(p > t));
        self.encoder
            .as_mut()
            .expect("band before finish")
            .push_band(mask.view())?;
        for b in [&mut self.pred_thumb, &mut self.pred_poly]
            .into_iter()
            .flatten()
        {
            b.push(mask.view());
        }
        if let Some((rle, blocks)) = &mut self.truth {
            let window = rle.window(y..y + probs.nrows(), 0..rle.width())?;
            blocks.push(window.view());
        }
        Ok(())
    }
}

/// FNV-1a of the config and slide path: a resumed result must come from the
/// same setup.
fn fingerprint(cfg: &InferConfig, slide: &Path) -> String {
    let text = format!(
        "{}|{}",
        serde_json::to_string(cfg).unwrap_or_default(),
        slide.display()
    );
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let out = ftu_outfile::AtomicFile::create(path).map_err(io_err(path))?;
    out.file()
        .write_all(text.as_bytes())
        .map_err(io_err(path))?;
    out.commit().map_err(io_err(path))
}

/// Opens a slide and builds its thumbnail and tissue map.
pub(crate) fn open_slide(path: &Path, cfg: &InferConfig) -> Result<(Slide, Array3<u8>, TissueMap)> {
    let slide = Slide::open(path)?;
    let thumb = slide.thumbnail(cfg.thumbnail_factor)?;
    let tissue = TissueMap::new(thumb.view(), cfg.thumbnail_factor, &cfg.tissue);
    Ok((slide, thumb, tissue))
}

/// The truth of a slide parsed for its size, or an error naming the slide.
pub(crate) fn parse_truth(id: &str, rle: &str, height: usize, width: usize) -> Result<Rle> {
    Rle::parse(rle, height, width).map_err(|e| EnsembleError::Truth {
        slide: id.to_owned(),
        message: e.to_string(),
    })
}

/// The full ensemble's stitched probability map of one slide, band by band
/// (before any threshold); for callers that want the map itself.
pub fn stitch_slide(
    path: &Path,
    cfg: &InferConfig,
    models: &[Arc<dyn TileModel>],
    sink: &mut dyn BandSink,
) -> Result<SlideStats> {
    cfg.validate()?;
    let (slide, _, tissue) = open_slide(path, cfg)?;
    let id = path.display().to_string();
    run_variants(
        &slide,
        &id,
        &tissue,
        cfg,
        models,
        &[ensemble_variant(cfg)],
        &mut [sink],
        None,
    )
}

/// Predicts one slide with loaded `models` (one per member, in order); writes
/// `rle/<id>.rle` (for resuming) and, as asked, the overlay and GeoJSON
/// under `out_dir`.
pub fn predict_slide(
    input: &SlideInput,
    cfg: &InferConfig,
    models: &[Arc<dyn TileModel>],
    out_dir: &Path,
    opts: &PredictOptions<'_>,
) -> Result<SlidePrediction> {
    let stamp = fingerprint(cfg, &input.path);
    let rle_path = out_dir.join("rle").join(format!("{}.rle", input.id));
    if opts.resume
        && let Ok(text) = std::fs::read_to_string(&rle_path)
        && let Some((head, rle)) = text.split_once('\n')
        && let Some(rest) = head.strip_prefix(&format!("{stamp} "))
        && let Some((w, h)) = rest.split_once('x')
        && let (Ok(width), Ok(height)) = (w.parse::<usize>(), h.parse::<usize>())
    {
        let rle = rle.trim_end().to_owned();
        let dice = input
            .truth
            .as_deref()
            .map(|t| ftu_rle::dice_rle(t, &rle))
            .transpose()?;
        return Ok(SlidePrediction {
            id: input.id.clone(),
            rle,
            width,
            height,
            dice,
            stats: None,
            overlay: None,
            geojson: None,
            polygons: 0,
        });
    }

    let (slide, thumb, tissue) = open_slide(&input.path, cfg)?;
    let (width, height) = (slide.width() as usize, slide.height() as usize);
    let mut sink = MaskSink::new(height, width, cfg.final_threshold(cfg.post));
    if opts.overlays {
        sink.pred_thumb = Some(BlockMask::new(height, width, cfg.thumbnail_factor as usize));
        if let Some(t) = &input.truth {
            sink.truth = Some((
                parse_truth(&input.id, t, height, width)?,
                BlockMask::new(height, width, cfg.thumbnail_factor as usize),
            ));
        }
    }
    if opts.geojson {
        sink.pred_poly = Some(BlockMask::new(height, width, cfg.polygon_factor as usize));
    }
    let variant: Variant = ensemble_variant(cfg);
    let stats = run_variants(
        &slide,
        &input.id,
        &tissue,
        cfg,
        models,
        std::slice::from_ref(&variant),
        &mut [&mut sink],
        opts.progress,
    )?;
    let rle = sink.finish()?;
    let dice = input
        .truth
        .as_deref()
        .map(|t| ftu_rle::dice_rle(t, &rle))
        .transpose()?;

    let mut overlay = None;
    if let Some(pred) = sink.pred_thumb.take() {
        let pred = pred.finish();
        let truth = sink.truth.take().map(|(_, b)| b.finish());
        let image =
            crate::overlay::render(thumb.view(), pred.view(), truth.as_ref().map(|t| t.view()));
        let dir = out_dir.join("overlays");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(format!("{}.png", input.id));
        ftu_tiling::png::write_rgb(&path, image.view())?;
        overlay = Some(path);
    }
    let mut geojson = None;
    let mut polygons = 0;
    if let Some(poly) = sink.pred_poly.take() {
        let fg = poly.finish().mapv(|v| v >= 128);
        let anns = trace_polygons(
            fg.view(),
            cfg.polygon_factor,
            height,
            width,
            cfg.min_polygon_area,
        );
        polygons = anns.len();
        let dir = out_dir.join("geojson");
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(format!("{}.geojson", input.id));
        ftu_polygon::write_geojson(&path, &anns)?;
        geojson = Some(path);
    }
    write_text(&rle_path, &format!("{stamp} {width}x{height}\n{rle}\n"))?;
    Ok(SlidePrediction {
        id: input.id.clone(),
        rle,
        width,
        height,
        dice,
        stats: Some(stats),
        overlay,
        geojson,
        polygons,
    })
}

/// Predicts every slide with the given models.
pub fn predict_slides_with(
    slides: &[SlideInput],
    cfg: &InferConfig,
    models: &[Arc<dyn TileModel>],
    out_dir: &Path,
    opts: &PredictOptions<'_>,
) -> Result<Vec<SlidePrediction>> {
    cfg.validate()?;
    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    slides
        .iter()
        .map(|s| predict_slide(s, cfg, models, out_dir, opts))
        .collect()
}

/// Loads the config's members and predicts every slide.
pub fn predict_slides(
    slides: &[SlideInput],
    cfg: &InferConfig,
    out_dir: &Path,
    opts: &PredictOptions<'_>,
) -> Result<Vec<SlidePrediction>> {
    cfg.validate()?;
    let models = load_members(&cfg.members)?;
    predict_slides_with(slides, cfg, &models, out_dir, opts)
}

/// Writes `submission.csv` (`id,predicted`), atomically.
pub fn write_submission(path: &Path, predictions: &[SlidePrediction]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let rows: Vec<(String, String)> = predictions
        .iter()
        .map(|p| (p.id.clone(), p.rle.clone()))
        .collect();
    Ok(ftu_rle::csv::write_encodings(path, "predicted", &rows)?)
}
