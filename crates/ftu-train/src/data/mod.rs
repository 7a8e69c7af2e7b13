//! The tile dataset written by `cargo xtask preprocess` (`manifest.csv`,
//! `images/<tile_id>.png`, `masks/<tile_id>.png`): fold splits
//! ([`TileSet`]), seeded batch plans ([`sampler`]) and the prefetching
//! loader ([`loader`]).

pub mod loader;
pub mod sampler;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ftu_tiling::ManifestRow;
use ndarray::{Array2, Array3};

use crate::error::TrainError;

/// The tiles of a preprocessed dataset.
#[derive(Debug, Clone)]
pub struct TileSet {
    dir: PathBuf,
    rows: Vec<ManifestRow>,
    side: usize,
}

/// Indices into [`TileSet::rows`] of one fold's training and validation tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Every other fold, plus train-only sources.
    pub train: Vec<usize>,
    /// The held-out fold.
    pub val: Vec<usize>,
}

impl TileSet {
    /// Reads `dir/manifest.csv` and the size of the first tile.
    pub fn open(dir: &Path) -> Result<Self, TrainError> {
        let manifest = dir.join("manifest.csv");
        if !manifest.is_file() {
            return Err(TrainError::Data {
                path: manifest,
                message: "no manifest.csv (run `cargo xtask preprocess` first)".into(),
            });
        }
        let rows = ftu_tiling::preprocess::read_manifest(&manifest)?;
        let Some(first) = rows.first() else {
            return Err(TrainError::Data {
                path: manifest,
                message: "the manifest lists no tiles".into(),
            });
        };
        let path = dir.join("images").join(format!("{}.png", first.tile_id));
        let image = ftu_tiling::png::read_rgb(&path)?;
        let (h, w, _) = image.dim();
        if h != w || h % ftu_models::OUTPUT_STRIDE != 0 {
            return Err(TrainError::Data {
                path,
                message: format!(
                    "tiles must be square with a side that is a multiple of 32, got {w}x{h}"
                ),
            });
        }
        Ok(Self {
            dir: dir.to_owned(),
            rows,
            side: h,
        })
    }

    /// The dataset folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest rows.
    pub fn rows(&self) -> &[ManifestRow] {
        &self.rows
    }

    /// Tile side in pixels (as written).
    pub fn side(&self) -> usize {
        self.side
    }

    /// Tile side at full slide resolution (the manifest's `size`).
    pub fn source_side(&self) -> usize {
        self.rows[0].size
    }

    /// The folds that have validation tiles.
    pub fn folds(&self, train_only: &[String]) -> BTreeSet<usize> {
        self.rows
            .iter()
            .filter(|r| !train_only.contains(&r.source))
            .map(|r| r.fold)
            .collect()
    }

    /// Fold `fold` held out; tiles from `train_only` sources always train.
    pub fn split(&self, fold: usize, train_only: &[String]) -> Result<Split, TrainError> {
        let mut split = Split {
            train: Vec::new(),
            val: Vec::new(),
        };
        for (i, r) in self.rows.iter().enumerate() {
            if r.fold == fold && !train_only.contains(&r.source) {
                split.val.push(i);
            } else {
                split.train.push(i);
            }
        }
        if split.val.is_empty() || split.train.is_empty() {
            return Err(TrainError::Data {
                path: self.dir.join("manifest.csv"),
                message: format!(
                    "fold {fold} has {} validation and {} training tiles; folds present: {:?}",
                    split.val.len(),
                    split.train.len(),
                    self.folds(train_only)
                ),
            });
        }
        Ok(split)
    }

    /// Decodes tile `index`: RGB image and 0/1 mask, both checked to be
    /// `side x side`.
    pub fn load(&self, index: usize) -> Result<(Array3<u8>, Array2<u8>), TrainError> {
        let id = &self.rows[index].tile_id;
        let image_path = self.dir.join("images").join(format!("{id}.png"));
        let mask_path = self.dir.join("masks").join(format!("{id}.png"));
        let image = ftu_tiling::png::read_rgb(&image_path)?;
        let mask = ftu_tiling::png::read_mask(&mask_path)?;
        let s = self.side;
        for (path, dim) in [
            (&image_path, (image.dim().0, image.dim().1)),
            (&mask_path, mask.dim()),
        ] {
            if dim != (s, s) {
                return Err(TrainError::Data {
                    path: path.clone(),
                    message: format!("is {}x{}, the dataset's tiles are {s}x{s}", dim.1, dim.0),
                });
            }
        }
        Ok((image, mask))
    }
}
