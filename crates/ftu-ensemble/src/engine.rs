//! The sliding-window engine: every window geometry's tiles go through its
//! members x TTA views once; each *variant* (a subset of members, with or
//! without TTA, threshold or CRF) combines those cached logits per patch,
//! stitches, and hands merged probability bands to its sink. Inference runs
//! one variant; the ablation runs all of its rows in the same pass.

use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Device};
use ftu_augment::tta::{forward_tensor, inverse_tensor};
use ftu_tiling::{Band, Slide, Tile, TissueMap};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::config::{InferConfig, PostKind};
use crate::error::{EnsembleError, Result};
use crate::merge::{Merger, STEP_ROWS, StitchStream};
use crate::model::TileModel;
use crate::post::{combine, crf_patch};
use crate::window::{Batch, Geometry, spawn_reader, tissue_tiles};

/// One way of turning the cached predictions into a mask.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Indices into the config's members.
    pub members: Vec<usize>,
    /// All views of the config's TTA set, or the identity only.
    pub tta: bool,
    /// Threshold or DenseCRF per patch.
    pub post: PostKind,
}

/// Receives the merged, stitched probability map band by band, top to bottom.
pub trait BandSink {
    /// Rows `y..y + probs.nrows()`, full slide width.
    fn band(&mut self, y: usize, probs: ArrayView2<f32>) -> Result<()>;
}

impl<F: FnMut(usize, ArrayView2<f32>) -> Result<()>> BandSink for F {
    fn band(&mut self, y: usize, probs: ArrayView2<f32>) -> Result<()> {
        self(y, probs)
    }
}

/// Progress of one slide, reported after each batch.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub slide: &'a str,
    /// Tiles predicted so far (all geometries).
    pub done: usize,
    /// Tissue tiles to predict.
    pub total: usize,
}

/// A progress callback (the xtask draws a bar with it).
pub type ProgressFn<'a> = &'a (dyn Fn(Progress<'_>) + Sync);

/// What the engine did on one slide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlideStats {
    pub width: usize,
    pub height: usize,
    /// Tiles predicted (tissue), summed over window geometries.
    pub tiles: usize,
    /// Tiles of the grids, background included.
    pub tiles_total: usize,
    /// Wall-clock seconds of the sliding window (reading, models, stitching).
    pub seconds: f64,
}

struct Group {
    geometry: Geometry,
    tiles: Vec<Tile>,
    /// Members of this geometry that some variant uses.
    members: Vec<usize>,
}

fn tensor_err(context: &str) -> impl FnOnce(candle_core::Error) -> EnsembleError + '_ {
    move |source| EnsembleError::tensor(context, source)
}

/// Runs every member of `group` on the batch under each TTA view in `views`;
/// `out[m][v]` holds `N * size * size` logits on the batch's own grid.
fn run_models(
    batch: &Batch,
    group: &Group,
    models: &[Arc<dyn TileModel>],
    views: &[ftu_augment::D4],
) -> Result<Vec<Vec<Vec<f32>>>> {
    let size = group.geometry.size;
    let refs: Vec<&[u8]> = batch
        .rgb
        .iter()
        .map(|a| a.as_slice().expect("resized tiles are contiguous"))
        .collect();
    let x = ftu_models::input::batch_tensor(&refs, size, size, &Device::Cpu)
        .map_err(|source| EnsembleError::model("building the input batch", source))?;
    let n = batch.tiles.len();
    let mut out = vec![Vec::new(); models.len()];
    for &m in &group.members {
        for &g in views {
            let y = models[m].logits(&forward_tensor(&x, g)?)?;
            if y.dims() != [n, 1, size, size] {
                return Err(EnsembleError::Config(format!(
                    "member {m}: model output {:?}, expected [{n}, 1, {size}, {size}]",
                    y.dims()
                )));
            }
            let y = inverse_tensor(&y, g)?;
            let v = y
                .to_dtype(DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(tensor_err("reading model output"))?;
            out[m].push(v);
        }
    }
    Ok(out)
}

/// Per variant: its stitch streams by group and the merger across groups.
struct VariantState {
    /// `streams[g]` for groups holding some of the variant's members.
    streams: Vec<Option<StitchStream>>,
    /// Merger source index of each group.
    source: Vec<usize>,
    merger: Merger,
}

impl VariantState {
    /// Moves every stream to row `y` (rows above are final for all groups).
    fn advance(&mut self, y: usize, sink: &mut dyn BandSink) -> Result<()> {
        for g in 0..self.streams.len() {
            let VariantState {
                streams,
                source,
                merger,
            } = self;
            if let Some(s) = streams[g].as_mut() {
                s.advance_to(y, &mut |b| emit(merger, source[g], b, sink))?;
            }
        }
        Ok(())
    }
}

/// Hands a group's band to the merger and what it completes to the sink.
fn emit(merger: &mut Merger, source: usize, band: Band, sink: &mut dyn BandSink) -> Result<()> {
    if let Some(m) = merger.push(source, band) {
        sink.band(m.y, m.probs.view())?;
    }
    Ok(())
}

/// Runs `variants` over one slide; `sinks[i]` gets variant `i`'s bands.
#[allow(clippy::too_many_arguments)]
pub fn run_variants(
    slide: &Slide,
    id: &str,
    tissue: &TissueMap,
    cfg: &InferConfig,
    models: &[Arc<dyn TileModel>],
    variants: &[Variant],
    sinks: &mut [&mut dyn BandSink],
    progress: Option<ProgressFn<'_>>,
) -> Result<SlideStats> {
    let start = Instant::now();
    if models.len() != cfg.members.len() {
        return Err(EnsembleError::Config(format!(
            "{} models for {} members",
            models.len(),
            cfg.members.len()
        )));
    }
    if variants.len() != sinks.len() {
        return Err(EnsembleError::Config(format!(
            "{} variants but {} sinks: one sink per variant",
            variants.len(),
            sinks.len()
        )));
    }
    let (width, height) = (slide.width() as usize, slide.height() as usize);

    // Window geometries of the members some variant uses.
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of = vec![usize::MAX; cfg.members.len()];
    for v in variants {
        for &m in &v.members {
            if m >= cfg.members.len() {
                return Err(EnsembleError::Config(format!(
                    "variant uses member {m}, not in the config"
                )));
            }
            let (tile, size, overlap) = cfg.members[m].geometry();
            let geometry = Geometry {
                tile,
                size,
                overlap,
            };
            let g = match groups.iter().position(|g| g.geometry == geometry) {
                Some(g) => g,
                None => {
                    let (tiles, _) =
                        tissue_tiles(width as u64, height as u64, geometry, tissue, &cfg.tissue)?;
                    groups.push(Group {
                        geometry,
                        tiles,
                        members: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            if !groups[g].members.contains(&m) {
                groups[g].members.push(m);
            }
            group_of[m] = g;
        }
    }
    let tiles_total = groups
        .iter()
        .map(|g| {
            ftu_tiling::TileGrid::new(
                width as u64,
                height as u64,
                g.geometry.tile,
                g.geometry.overlap,
            )
            .map(|grid| grid.len())
        })
        .sum::<std::result::Result<usize, _>>()?;
    let total: usize = groups.iter().map(|g| g.tiles.len()).sum();

    let mut states: Vec<VariantState> = variants
        .iter()
        .map(|v| {
            let mut weights = vec![0f32; groups.len()];
            for &m in &v.members {
                weights[group_of[m]] += 1.0;
            }
            let mut source = vec![usize::MAX; groups.len()];
            let mut w = Vec::new();
            let streams = (0..groups.len())
                .map(|g| {
                    (weights[g] > 0.0).then(|| {
                        source[g] = w.len();
                        w.push(weights[g]);
                        StitchStream::new(height, width, cfg.weighting)
                    })
                })
                .collect();
            VariantState {
                streams,
                source,
                merger: Merger::new(width, w),
            }
        })
        .collect();

    let all_views = cfg.tta.elements();
    let views = if variants.iter().any(|v| v.tta) {
        all_views
    } else {
        &all_views[..1]
    };
    let crf = cfg.crf.params();
    let pool = match cfg.reader_threads {
        0 => None,
        n => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| EnsembleError::Config(format!("reader_threads: {e}")))?,
        ),
    };

    std::thread::scope(|scope| -> Result<()> {
        let receivers: Vec<_> = groups
            .iter()
            .map(|g| {
                spawn_reader(
                    scope,
                    slide,
                    &g.tiles,
                    g.geometry.size,
                    cfg.batch_size,
                    2,
                    pool.as_ref(),
                )
            })
            .collect();
        let mut next: Vec<Option<Batch>> = Vec::with_capacity(groups.len());
        for rx in &receivers {
            next.push(rx.recv().ok().transpose()?);
        }
        let mut done = 0;
        // The group whose next batch starts highest goes first, so all
        // groups move down the slide together.
        while let Some(g) = (0..groups.len())
            .filter(|&g| next[g].is_some())
            .min_by_key(|&g| next[g].as_ref().map(|b| b.tiles[0].y))
        {
            let batch = next[g].take().expect("chosen group has a batch");
            let y0 = batch.tiles[0].y as usize;
            for (state, sink) in states.iter_mut().zip(sinks.iter_mut()) {
                state.advance(y0, &mut **sink)?;
            }
            let logits = run_models(&batch, &groups[g], models, views)?;
            let size = groups[g].geometry.size;
            let plane = size * size;
            for ((v, state), sink) in variants.iter().zip(&mut states).zip(sinks.iter_mut()) {
                if state.streams[g].is_none() {
                    continue;
                }
                let n_views = if v.tta { views.len() } else { 1 };
                let patches: Vec<Array2<f32>> = (0..batch.tiles.len())
                    .into_par_iter()
                    .map(|i| {
                        let planes: Vec<&[f32]> = v
                            .members
                            .iter()
                            .filter(|&&m| group_of[m] == g)
                            .flat_map(|&m| logits[m][..n_views].iter())
                            .map(|l| &l[i * plane..(i + 1) * plane])
                            .collect();
                        let p = combine(&planes, size, cfg.combine);
                        match v.post {
                            PostKind::Threshold => Ok(p),
                            PostKind::Crf => {
                                crf_patch(batch.rgb[i].view(), &p, &crf).map_err(|source| {
                                    EnsembleError::Crf {
                                        slide: id.to_owned(),
                                        source: Box::new(source),
                                    }
                                })
                            }
                        }
                    })
                    .collect::<Result<_>>()?;
                let VariantState {
                    streams,
                    source,
                    merger,
                } = state;
                let stream = streams[g].as_mut().expect("checked above");
                for (tile, patch) in batch.tiles.iter().zip(&patches) {
                    stream.add(
                        tile.x as usize,
                        tile.y as usize,
                        tile.size,
                        patch.view(),
                        &mut |b| emit(merger, source[g], b, &mut **sink),
                    )?;
                }
            }
            done += batch.tiles.len();
            if let Some(p) = progress {
                p(Progress {
                    slide: id,
                    done,
                    total,
                });
            }
            next[g] = receivers[g].recv().ok().transpose()?;
        }
        Ok(())
    })?;

    // All groups descend to the bottom together, STEP_ROWS at a time, so
    // the merger never holds more than a step of any group.
    for (state, sink) in states.iter_mut().zip(sinks.iter_mut()) {
        let mut y = 0;
        while y < height {
            y = (y + STEP_ROWS).min(height);
            state.advance(y, &mut **sink)?;
        }
        let VariantState {
            streams,
            source,
            merger,
        } = state;
        for g in 0..streams.len() {
            if let Some(s) = streams[g].take() {
                s.finish(&mut |b| emit(merger, source[g], b, &mut **sink))?;
            }
        }
    }
    Ok(SlideStats {
        width,
        height,
        tiles: total,
        tiles_total,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The full ensemble of a config as one variant (what `infer` predicts).
pub fn ensemble_variant(cfg: &InferConfig) -> Variant {
    Variant {
        members: (0..cfg.members.len()).collect(),
        tta: true,
        post: cfg.post,
    }
}
